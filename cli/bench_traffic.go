package cli

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/bench"
)

// runTraffic measures traffic ingest (samples per second through the HTTP API) and the
// network report of many waypoints over --days days and over 12 months of one data set
// (their ratio measured in turns in one run), and prints the figures.
func (c *BenchCmd) runTraffic(g *Globals) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"--waypoints", c.Waypoints}, {"--days", c.Days}, {"--ingest-hours", c.IngestHours}, {"--reports", c.Reports}, {"--runs", c.Runs}, {"--clients", c.Clients}} {
		if f.v <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: must be a whole number above 0, not %d", f.name, f.v)
		}
	}
	ctx, out := g.Ctx, g.Stdout
	fmt.Fprintf(out, "cloudmeter bench --traffic on %s\n", bench.DescribeMachine())
	tmp, err := os.MkdirTemp("", "cloudmeter-bench-traffic-*")
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	dir := func(name string) string { return tmp + string(os.PathSeparator) + name }

	samples := 2 * c.Waypoints * c.IngestHours
	var rates, cpuRates []float64
	for run := 1; run <= c.Runs; run++ {
		bar := newProgress(g.Stderr, int64(samples), fmt.Sprintf("traffic ingest through HTTP, run %d of %d", run, c.Runs))
		res, err := bench.IngestTraffic(ctx, dir(fmt.Sprintf("ingest-%d", run)), c.Waypoints, c.IngestHours, c.Clients, func(n int) { bar.Add(n) })
		bar.Finish()
		if err != nil {
			return fmt.Errorf("traffic ingest: %w", err)
		}
		rates, cpuRates = append(rates, res.PerSecond()), append(cpuRates, res.PerCPUSecond())
	}

	// The network report over --days days and over 12 months of one data set, in turns.
	total := c.Waypoints + 2*c.Waypoints*bench.TrafficYearDays
	bar := newProgress(g.Stderr, int64(total), fmt.Sprintf("preparing %d waypoints x %d days of daily readings (not timed)", c.Waypoints, bench.TrafficYearDays))
	prev := 0
	d, err := bench.PrepareTrafficWindows(ctx, dir("report"), "", c.Waypoints, c.Days, func(done, _ int) {
		bar.Add(done - prev)
		prev = done
	})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("traffic report set-up: %w", err)
	}
	built, err := d.Measure(ctx, c.Reports, false)
	if err != nil {
		return fmt.Errorf("traffic report: %w", err)
	}
	encoded, err := d.Measure(ctx, c.Reports, true)
	if err != nil {
		return fmt.Errorf("traffic report: %w", err)
	}
	srv, err := bench.StartServer(ctx, d.DataDir, 0)
	if err != nil {
		return err
	}
	var rpc bench.WindowsResult
	rpc.Short, err = d.Short.RPC(ctx, srv, c.Reports)
	if err == nil {
		rpc.Long, err = d.Long.RPC(ctx, srv, c.Reports)
	}
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("traffic report over JSON-RPC: %w", err)
	}

	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tRESULT\tPER CPU TIME\tDETAIL")
	fmt.Fprintf(tw, "traffic ingest, HTTP API\t%s samples/s\t%s samples/CPU-s\t%s samples: %d waypoints x %d hours, one batch of %s per hour, %d client(s), median of %d\n",
		thousands(bench.MedianFloat(rates)), thousands(bench.MedianFloat(cpuRates)), thousands(float64(samples)), c.Waypoints, c.IngestHours,
		thousands(float64(2*c.Waypoints)), c.Clients, c.Runs)
	short, long := fmt.Sprintf("%d days", c.Days), "12 months"
	window := func(r *bench.ReportData) string {
		return cloudmeter.FormatTime(r.From)[:10] + " to " + cloudmeter.FormatTime(r.To)[:10]
	}
	for _, f := range []struct {
		name string
		data *bench.ReportData
		b, e bench.ReportResult
		rpc  bench.ReportResult
	}{{short, &d.Short, built.Short, encoded.Short, rpc.Short}, {long, &d.Long, built.Long, encoded.Long, rpc.Long}} {
		fmt.Fprintf(tw, "network report, %s, service.Utilization\t%s\tCPU %s\t%d waypoints, %s of %d days of daily readings (%s events), %s records, median of %d in turns\n",
			f.name, ms(f.b.Median()), ms(f.b.CPU), c.Waypoints, window(f.data), bench.TrafficYearDays, thousands(float64(d.Events)), thousands(float64(f.b.Records)), c.Reports)
		fmt.Fprintf(tw, "network report, %s + JSON\t%s\tCPU %s\tmetalsoft.DetailedJSON: %s bytes\n", f.name, ms(f.e.Median()), ms(f.e.CPU), thousands(float64(f.e.Bytes)))
		fmt.Fprintf(tw, "network report, %s, JSON-RPC over HTTP\t%s\tCPU %s\tresource_utilization_detailed, %s bytes read, median of %d\n",
			f.name, ms(f.rpc.Median()), ms(f.rpc.CPU), thousands(float64(f.rpc.Bytes)), c.Reports)
	}
	fmt.Fprintf(tw, "network report, %s over %s\tx%.2f\tCPU x%.2f\tservice.Utilization medians, in turns in one run (target: at most x2)\n", long, short, built.Ratio(), built.CPURatio())
	fmt.Fprintf(tw, "network report + JSON, %s over %s\tx%.2f\tCPU x%.2f\t\n", long, short, encoded.Ratio(), encoded.CPURatio())
	fmt.Fprintf(tw, "network report JSON-RPC, %s over %s\tx%.2f\tCPU x%.2f\t\n", long, short, rpc.Ratio(), rpc.CPURatio())
	if err := tw.Flush(); err != nil {
		return err
	}
	writeDurations(out, "network report, "+short+", build runs", built.Short.Runs)
	writeDurations(out, "network report, "+long+", build runs", built.Long.Runs)
	writeDurations(out, "network report, "+short+", JSON-RPC runs", rpc.Short.Runs)
	writeDurations(out, "network report, "+long+", JSON-RPC runs", rpc.Long.Runs)
	return nil
}

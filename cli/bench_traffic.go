package cli

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/bench"
)

// runTraffic measures traffic ingest (samples per second through the HTTP API) and the
// network report of many waypoints over days of hourly samples, and prints the figures.
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

	total := c.Waypoints + 2*c.Waypoints*24*c.Days
	bar := newProgress(g.Stderr, int64(total), fmt.Sprintf("preparing %d waypoints x %d days of hourly samples (not timed)", c.Waypoints, c.Days))
	prev := 0
	d, err := bench.PrepareTraffic(ctx, dir("report"), c.Waypoints, c.Days, func(done, _ int) {
		bar.Add(done - prev)
		prev = done
	})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("traffic report set-up: %w", err)
	}
	built, err := d.BuildTraffic(ctx, c.Reports, false)
	if err != nil {
		return fmt.Errorf("traffic report: %w", err)
	}
	encoded, err := d.BuildTraffic(ctx, c.Reports, true)
	if err != nil {
		return fmt.Errorf("traffic report: %w", err)
	}
	srv, err := bench.StartServer(ctx, d.DataDir, 0)
	if err != nil {
		return err
	}
	rpc, err := d.RPC(ctx, srv, c.Reports)
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
	fmt.Fprintf(tw, "network report, service.Utilization\t%s\tCPU %s\t%d waypoints x %d days of hourly samples (%s events), %s records, median of %d\n",
		ms(built.Median()), ms(built.CPU), c.Waypoints, c.Days, thousands(float64(d.Events)), thousands(float64(built.Records)), c.Reports)
	fmt.Fprintf(tw, "network report + JSON\t%s\tCPU %s\tmetalsoft.DetailedJSON: %s bytes\n", ms(encoded.Median()), ms(encoded.CPU), thousands(float64(encoded.Bytes)))
	fmt.Fprintf(tw, "network report, JSON-RPC over HTTP\t%s\tCPU %s\tresource_utilization_detailed, %s bytes read, median of %d\n",
		ms(rpc.Median()), ms(rpc.CPU), thousands(float64(rpc.Bytes)), c.Reports)
	if err := tw.Flush(); err != nil {
		return err
	}
	writeDurations(out, "network report build runs", built.Runs)
	writeDurations(out, "network report JSON-RPC runs", rpc.Runs)
	return nil
}

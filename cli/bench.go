package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/demo"
)

// BenchCmd runs the benchmarks.
type BenchCmd struct {
	Events    int `default:"100000" help:"Events to ingest through the HTTP API, in batches of --batch."`
	Batch     int `default:"1000" help:"Events per request."`
	Resources int `default:"10000" help:"Resources of the one user whose month is reported."`
	Reports   int `default:"20" help:"How many times to build the report."`
	Runs      int `default:"1" help:"Repeat the ingest and raw insert measurements this many times (each on a fresh database) and show the median."`
	Clients   int `default:"1" help:"Concurrent HTTP clients posting the ingest batches."`
	// Traffic benchmarks (bench_traffic.go).
	Traffic     bool `help:"Measure traffic instead: ingest of waypoint samples through the HTTP API and the network report of --waypoints waypoints over --days days of hourly samples."`
	Waypoints   int  `default:"1000" help:"With --traffic: network waypoints of user 1, each metering an upload and a download counter reading every hour."`
	Days        int  `default:"30" help:"With --traffic: days of hourly samples behind the network report."`
	IngestHours int  `default:"48" help:"With --traffic: hours of samples (2 per waypoint and hour, one batch per hour) posted in the timed ingest."`
}

// Run measures ingest through the HTTP API, the raw SQLite insert rate of the same rows,
// and the detailed report of one user, then prints the figures against the targets.
func (c *BenchCmd) Run(g *Globals) error {
	if c.Traffic {
		return c.runTraffic(g)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--events", c.Events}, {"--batch", c.Batch}, {"--resources", c.Resources}, {"--reports", c.Reports}, {"--runs", c.Runs}, {"--clients", c.Clients}} {
		if f.v <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: must be a whole number above 0, not %d", f.name, f.v)
		}
	}
	ctx := g.Ctx
	out := g.Stdout
	m := bench.DescribeMachine()
	fmt.Fprintf(out, "cloudmeter bench on %s\n", m)
	tmp, err := os.MkdirTemp("", "cloudmeter-bench-*")
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	dir := func(name string) string { return tmp + string(os.PathSeparator) + name }

	// Ingest and raw insert of the same events, --runs times each.
	batches := demo.Batches(bench.Events(1, c.Events), c.Batch)
	rows, err := bench.Rows(batches)
	if err != nil {
		return cloudmeter.Internal(err)
	}
	var ingests, inserts, ingestsCPU, insertsCPU []float64
	var ingestRuns, insertRuns []string
	for run := 1; run <= c.Runs; run++ {
		bar := newProgress(g.Stderr, int64(c.Events), fmt.Sprintf("ingest through HTTP, run %d of %d", run, c.Runs))
		ing, err := bench.IngestHTTP(ctx, dir(fmt.Sprintf("ingest-%d", run)), batches, c.Clients, func(n int) { bar.Add(n) })
		bar.Finish()
		if err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		ingests, ingestsCPU = append(ingests, ing.PerSecond()), append(ingestsCPU, ing.PerCPUSecond())
		ingestRuns = append(ingestRuns, fmt.Sprintf("%.0f", ing.PerSecond()))
		ins, err := bench.RawInsert(ctx, dir(fmt.Sprintf("insert-%d", run)), rows, c.Batch)
		if err != nil {
			return fmt.Errorf("raw insert: %w", err)
		}
		inserts, insertsCPU = append(inserts, ins.PerSecond()), append(insertsCPU, ins.PerCPUSecond())
		insertRuns = append(insertRuns, fmt.Sprintf("%.0f", ins.PerSecond()))
	}
	ingest, insert := bench.MedianFloat(ingests), bench.MedianFloat(inserts)
	ingestCPU, insertCPU := bench.MedianFloat(ingestsCPU), bench.MedianFloat(insertsCPU)

	// The report of one user's month.
	var bar progress
	prev := 0
	d, err := bench.PrepareReport(ctx, dir("report"), 1, c.Resources, func(done, total int) {
		if bar == nil {
			bar = newProgress(g.Stderr, int64(total), fmt.Sprintf("preparing %d resources for the report (not timed)", c.Resources))
		}
		bar.Add(done - prev)
		prev = done
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("report set-up: %w", err)
	}
	built, err := d.Build(ctx, c.Reports, false)
	if err != nil {
		return fmt.Errorf("report build: %w", err)
	}
	encoded, err := d.Build(ctx, c.Reports, true)
	if err != nil {
		return fmt.Errorf("report build: %w", err)
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
		return fmt.Errorf("report over JSON-RPC: %w", err)
	}

	runs := ""
	if c.Runs > 1 {
		runs = fmt.Sprintf(", median of %d runs", c.Runs)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tRESULT\tPER CPU TIME\tTARGET\tMET\tDETAIL")
	fmt.Fprintf(tw, "ingest, HTTP API\t%s events/s\t%s events/CPU-s\t>= %s events/s\t%s\t%s events in batches of %s, %d client(s)%s\n",
		thousands(ingest), thousands(ingestCPU), thousands(bench.TargetIngestPerSecond), yesNo(ingest >= bench.TargetIngestPerSecond),
		thousands(float64(c.Events)), thousands(float64(c.Batch)), c.Clients, runs)
	fmt.Fprintf(tw, "raw SQLite insert, same rows\t%s rows/s\t%s rows/CPU-s\t\t\tmulti-row INSERT (%d rows each) into events, transactions of %s rows%s\n",
		thousands(insert), thousands(insertCPU), min(bench.RowsPerStatement, c.Batch), thousands(float64(c.Batch)), runs)
	fmt.Fprintf(tw, "ingest / raw insert\t%.1f %%\t%.1f %%\t\t\t\n", 100*ingest/insert, 100*ingestCPU/insertCPU)
	fmt.Fprintf(tw, "report, service.Utilization\t%s\tCPU %s\t\t\t%s resources, %s records, median of %d\n",
		ms(built.Median()), ms(built.CPU), thousands(float64(d.Resources)), thousands(float64(built.Records)), c.Reports)
	fmt.Fprintf(tw, "report, Utilization + JSON\t%s\tCPU %s\t\t\tmetalsoft.DetailedJSON: %s bytes\n", ms(encoded.Median()), ms(encoded.CPU), thousands(float64(encoded.Bytes)))
	fmt.Fprintf(tw, "report, JSON-RPC over HTTP\t%s\tCPU %s\t<= %s\t%s\tresource_utilization_detailed, %s records, %s bytes read, median of %d\n",
		ms(rpc.Median()), ms(rpc.CPU), ms(bench.TargetReport), yesNo(rpc.Median() <= bench.TargetReport),
		thousands(float64(rpc.Records)), thousands(float64(rpc.Bytes)), c.Reports)
	if err := tw.Flush(); err != nil {
		return err
	}
	if c.Runs > 1 {
		fmt.Fprintf(out, "\nruns: ingest %s events/s; raw insert %s rows/s\n", strings.Join(ingestRuns, ", "), strings.Join(insertRuns, ", "))
	}
	writeDurations(out, "report build runs", built.Runs)
	writeDurations(out, "report JSON-RPC runs", rpc.Runs)
	return nil
}

func writeDurations(w io.Writer, what string, ds []time.Duration) {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
	}
	fmt.Fprintf(w, "%s (ms): %s\n", what, strings.Join(s, " "))
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// thousands formats a number rounded to a whole, with commas between thousands.
func thousands(x float64) string {
	s := strconv.FormatFloat(x, 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

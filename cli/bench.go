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
	"github.com/cloudmeter/cloudmeter/postgres"
)

// BenchCmd runs the benchmarks.
type BenchCmd struct {
	Events      int    `default:"100000" help:"Events to ingest through the HTTP API, in batches of --batch."`
	Batch       int    `default:"1000" help:"Events per request."`
	Resources   int    `default:"10000" help:"Resources of the one user whose month is reported."`
	Reports     int    `default:"20" help:"How many times to build the report."`
	Runs        int    `default:"1" help:"Repeat the ingest and raw insert measurements this many times (each on a fresh database) and show the median."`
	Clients     int    `default:"1" help:"Concurrent HTTP clients posting the ingest batches (on SQLite, batches that arrive together share one commit)."`
	PostgresURL string `name:"postgres-url" placeholder:"URL" help:"Also measure ingest and the report on this PostgreSQL server, beside SQLite, in fresh databases the benchmark creates and drops (the user needs CREATEDB). Not read from CLOUDMETER_DATABASE_URL, so that no benchmark writes to a server by accident."`
	// Traffic benchmarks (bench_traffic.go).
	Traffic     bool `help:"Measure traffic instead: ingest of hourly waypoint samples through the HTTP API (--ingest-hours), and the network report of --waypoints waypoints with 13 months of daily readings, over the last --days days and over 12 months, in turns."`
	Waypoints   int  `default:"1000" help:"With --traffic: network waypoints of user 1, each metering an upload and a download counter."`
	Days        int  `default:"30" help:"With --traffic: the short report window, in days ending with December 2024 (the long one is 12 months)."`
	IngestHours int  `default:"48" help:"With --traffic: hours of samples (2 per waypoint and hour, one batch per hour) posted in the timed ingest."`
	// PostgreSQL ingest as clients and instances are added (bench_clients.go).
	BenchClients `embed:""`
	// The Hyperstack usage endpoint beside the MetalSoft report (bench_hyperstack.go).
	BenchHyperstack `embed:""`
	// Cost against history (bench_history.go).
	BenchHistory `embed:""`
	// Mixed load benchmark (bench_mixed.go).
	Mixed         bool          `help:"Measure the mixed load instead: --report-clients clients requesting reports over JSON-RPC alone, then --clients clients posting batches of --batch events of new products alone, then both at once, each phase for --duration, on a data set of --resources resources of users 1 to 5; prints the p50, p99 and max latency of each kind, alone and under load, and the peak memory."`
	ReportClients int           `name:"report-clients" default:"4" help:"With --mixed: concurrent clients requesting reports."`
	Duration      time.Duration `default:"10s" help:"With --mixed: how long each of the three phases sends requests."`
}

// engineFigures are the figures of one storage engine.
type engineFigures struct {
	name                string
	ingest, ingestCPU   float64
	ingestRuns          []string
	report              *bench.ReportData
	built, encoded, rpc bench.ReportResult
	insert, insertCPU   float64 // SQLite only
	insertRuns          []string
}

// Run measures ingest through the HTTP API, the raw SQLite insert rate of the same rows,
// and the detailed report of one user, then prints the figures against the targets; on
// SQLite, and also on PostgreSQL when --postgres-url is set.
func (c *BenchCmd) Run(g *Globals) error {
	if c.Traffic {
		return c.runTraffic(g)
	}
	if len(c.ClientCounts) > 0 {
		return c.runClients(g)
	}
	if c.Hyperstack {
		return c.runHyperstack(g)
	}
	if c.History {
		return c.runHistory(g)
	}
	if c.Mixed {
		return c.runMixed(g)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--events", c.Events}, {"--batch", c.Batch}, {"--resources", c.Resources}, {"--reports", c.Reports}, {"--runs", c.Runs}, {"--clients", c.Clients}} {
		if f.v <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: must be a whole number above 0, not %d", f.name, f.v)
		}
	}
	if c.PostgresURL != "" && !postgres.IsURL(c.PostgresURL) {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--postgres-url: must start with postgres://, not %s", postgres.Redact(c.PostgresURL))
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

	batches := demo.Batches(bench.Events(1, c.Events), c.Batch)
	rows, err := bench.Rows(batches)
	if err != nil {
		return cloudmeter.Internal(err)
	}
	engines := []string{"sqlite"}
	if c.PostgresURL != "" {
		engines = append(engines, "postgres")
	}
	var figs []*engineFigures
	for _, eng := range engines {
		f := &engineFigures{name: eng}
		figs = append(figs, f)
		// fresh returns a new empty store: a data directory, and on PostgreSQL a database.
		fresh := func(name string) (string, string, func(), error) {
			if eng == "sqlite" {
				return dir(eng + "-" + name), "", func() {}, nil
			}
			u, drop, err := bench.FreshDatabase(ctx, c.PostgresURL)
			if err != nil {
				return "", "", nil, err
			}
			return dir(eng + "-" + name), u, func() {
				if err := drop(); err != nil {
					fmt.Fprintf(g.Stderr, "cloudmeter bench: the benchmark database was not dropped: %v\n", err)
				}
			}, nil
		}
		var ingests, ingestsCPU, inserts, insertsCPU []float64
		for run := 1; run <= c.Runs; run++ {
			dataDir, dbURL, drop, err := fresh(fmt.Sprintf("ingest-%d", run))
			if err != nil {
				return err
			}
			bar := newProgress(g.Stderr, int64(c.Events), fmt.Sprintf("%s: ingest through HTTP, run %d of %d", eng, run, c.Runs))
			ing, err := bench.IngestHTTPOn(ctx, dataDir, dbURL, batches, c.Clients, func(n int) { bar.Add(n) })
			bar.Finish()
			drop()
			if err != nil {
				return fmt.Errorf("%s ingest: %w", eng, err)
			}
			ingests, ingestsCPU = append(ingests, ing.PerSecond()), append(ingestsCPU, ing.PerCPUSecond())
			f.ingestRuns = append(f.ingestRuns, fmt.Sprintf("%.0f", ing.PerSecond()))
			if eng != "sqlite" {
				continue
			}
			ins, err := bench.RawInsert(ctx, dir(fmt.Sprintf("insert-%d", run)), rows, c.Batch)
			if err != nil {
				return fmt.Errorf("raw insert: %w", err)
			}
			inserts, insertsCPU = append(inserts, ins.PerSecond()), append(insertsCPU, ins.PerCPUSecond())
			f.insertRuns = append(f.insertRuns, fmt.Sprintf("%.0f", ins.PerSecond()))
		}
		f.ingest, f.ingestCPU = bench.MedianFloat(ingests), bench.MedianFloat(ingestsCPU)
		f.insert, f.insertCPU = bench.MedianFloat(inserts), bench.MedianFloat(insertsCPU)

		// The report of one user's month.
		dataDir, dbURL, drop, err := fresh("report")
		if err != nil {
			return err
		}
		err = c.measureReport(g, f, dataDir, dbURL)
		drop()
		if err != nil {
			return err
		}
	}

	runs := ""
	if c.Runs > 1 {
		runs = fmt.Sprintf(", median of %d runs", c.Runs)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tENGINE\tRESULT\tPER CPU TIME\tTARGET\tMET\tDETAIL")
	for _, f := range figs {
		fmt.Fprintf(tw, "ingest, HTTP API\t%s\t%s events/s\t%s events/CPU-s\t>= %s events/s\t%s\t%s events in batches of %s, %d client(s)%s\n",
			f.name, thousands(f.ingest), thousands(f.ingestCPU), thousands(bench.TargetIngestPerSecond), yesNo(f.ingest >= bench.TargetIngestPerSecond),
			thousands(float64(c.Events)), thousands(float64(c.Batch)), c.Clients, runs)
		if f.name == "sqlite" {
			fmt.Fprintf(tw, "raw SQLite insert, same rows\t%s\t%s rows/s\t%s rows/CPU-s\t\t\tmulti-row INSERT (%d rows each) into events, transactions of %s rows%s\n",
				f.name, thousands(f.insert), thousands(f.insertCPU), min(bench.RowsPerStatement, c.Batch), thousands(float64(c.Batch)), runs)
			fmt.Fprintf(tw, "ingest / raw insert\t%s\t%.1f %%\t%.1f %%\t\t\t\n", f.name, 100*f.ingest/f.insert, 100*f.ingestCPU/f.insertCPU)
		}
		fmt.Fprintf(tw, "report, service.Utilization\t%s\t%s\tCPU %s\t\t\t%s resources, %s records, median of %d\n",
			f.name, ms(f.built.Median()), ms(f.built.CPU), thousands(float64(f.report.Resources)), thousands(float64(f.built.Records)), c.Reports)
		fmt.Fprintf(tw, "report, Utilization + JSON\t%s\t%s\tCPU %s\t\t\tmetalsoft.DetailedJSON: %s bytes\n",
			f.name, ms(f.encoded.Median()), ms(f.encoded.CPU), thousands(float64(f.encoded.Bytes)))
		fmt.Fprintf(tw, "report, JSON-RPC over HTTP\t%s\t%s\tCPU %s\t<= %s\t%s\tresource_utilization_detailed, %s records, %s bytes read, median of %d\n",
			f.name, ms(f.rpc.Median()), ms(f.rpc.CPU), ms(bench.TargetReport), yesNo(f.rpc.Median() <= bench.TargetReport),
			thousands(float64(f.rpc.Records)), thousands(float64(f.rpc.Bytes)), c.Reports)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range figs {
		if c.Runs > 1 {
			fmt.Fprintf(out, "\n%s runs: ingest %s events/s", f.name, strings.Join(f.ingestRuns, ", "))
			if f.name == "sqlite" {
				fmt.Fprintf(out, "; raw insert %s rows/s", strings.Join(f.insertRuns, ", "))
			}
			fmt.Fprintln(out)
		}
		writeDurations(out, f.name+" report build runs", f.built.Runs)
		writeDurations(out, f.name+" report JSON-RPC runs", f.rpc.Runs)
	}
	return nil
}

// measureReport fills a fresh store with one user's cloud and measures its month's report:
// built in process, built and encoded, and requested over JSON-RPC.
func (c *BenchCmd) measureReport(g *Globals, f *engineFigures, dataDir, dbURL string) error {
	ctx := g.Ctx
	var bar progress
	prev := 0
	d, err := bench.PrepareReportOn(ctx, dataDir, dbURL, 1, c.Resources, func(done, total int) {
		if bar == nil {
			bar = newProgress(g.Stderr, int64(total), fmt.Sprintf("%s: preparing %d resources for the report (not timed)", f.name, c.Resources))
		}
		bar.Add(done - prev)
		prev = done
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("%s report set-up: %w", f.name, err)
	}
	f.report = d
	if f.built, err = d.Build(ctx, c.Reports, false); err != nil {
		return fmt.Errorf("%s report build: %w", f.name, err)
	}
	if f.encoded, err = d.Build(ctx, c.Reports, true); err != nil {
		return fmt.Errorf("%s report build: %w", f.name, err)
	}
	srv, err := bench.StartServerOn(ctx, d.DataDir, d.DatabaseURL, 0)
	if err != nil {
		return err
	}
	f.rpc, err = d.RPC(ctx, srv, c.Reports)
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s report over JSON-RPC: %w", f.name, err)
	}
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

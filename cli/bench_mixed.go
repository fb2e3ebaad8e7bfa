package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/postgres"
)

// mixedFigures are the mixed-load figures of one storage engine.
type mixedFigures struct {
	name string
	data *bench.MixedData
	res  bench.MixedResult
}

// runMixed measures the mixed load: reports alone, ingest alone, then both at once on the
// same server, on SQLite and also on PostgreSQL when --postgres-url is set, and prints
// the latencies of each kind alone and under load and the peak memory of each phase.
func (c *BenchCmd) runMixed(g *Globals) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"--resources", c.Resources}, {"--batch", c.Batch}, {"--clients", c.Clients}, {"--report-clients", c.ReportClients}} {
		if f.v <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: must be a whole number above 0, not %d", f.name, f.v)
		}
	}
	if c.Duration <= 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--duration: must be above 0, not %v", c.Duration)
	}
	if c.PostgresURL != "" && !postgres.IsURL(c.PostgresURL) {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--postgres-url: must start with postgres://, not %s", postgres.Redact(c.PostgresURL))
	}
	ctx, out := g.Ctx, g.Stdout
	fmt.Fprintf(out, "cloudmeter bench --mixed on %s\n", bench.DescribeMachine())
	tmp, err := os.MkdirTemp("", "cloudmeter-bench-mixed-*")
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)

	engines := []string{"sqlite"}
	if c.PostgresURL != "" {
		engines = append(engines, "postgres")
	}
	var figs []*mixedFigures
	for _, eng := range engines {
		f := &mixedFigures{name: eng}
		dataDir, dbURL, drop := tmp+string(os.PathSeparator)+eng, "", func() {}
		if eng == "postgres" {
			u, dropDB, err := bench.FreshDatabase(ctx, c.PostgresURL)
			if err != nil {
				return err
			}
			dbURL, drop = u, func() {
				if err := dropDB(); err != nil {
					fmt.Fprintf(g.Stderr, "cloudmeter bench: the benchmark database was not dropped: %v\n", err)
				}
			}
		}
		err := c.measureMixed(g, f, dataDir, dbURL)
		drop()
		if err != nil {
			return err
		}
		figs = append(figs, f)
	}
	return c.writeMixed(out, figs)
}

// measureMixed prepares the data set in a fresh store and runs the three phases on it.
func (c *BenchCmd) measureMixed(g *Globals, f *mixedFigures, dataDir, dbURL string) error {
	ctx := g.Ctx
	var bar progress
	prev := 0
	d, err := bench.PrepareMixedOn(ctx, dataDir, dbURL, 1, c.Resources, func(done, total int) {
		if bar == nil {
			bar = newProgress(g.Stderr, int64(total), fmt.Sprintf("%s: loading %d resources of users 1 to %d (not timed)", f.name, c.Resources, bench.MixedUsers))
		}
		bar.Add(done - prev)
		prev = done
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("%s mixed load set-up: %w", f.name, err)
	}
	f.data = d
	phases := newPhaseProgress(g.Stderr, c.Duration)
	f.res, err = bench.MixedOn(ctx, d, bench.MixedOptions{IngestClients: c.Clients, ReportClients: c.ReportClients, Batch: c.Batch, Duration: c.Duration,
		Progress: func(phase string, elapsed time.Duration, events, reports int) {
			phases.show(fmt.Sprintf("%s: %s, %s events, %d reports", f.name, phase, thousands(float64(events)), reports), elapsed)
		}})
	phases.finish()
	if err != nil {
		return fmt.Errorf("%s mixed load: %w", f.name, err)
	}
	return nil
}

func (c *BenchCmd) writeMixed(out io.Writer, figs []*mixedFigures) error {
	fmt.Fprintln(out)
	for _, f := range figs {
		recs := make([]string, len(f.res.Records))
		for i, n := range f.res.Records {
			recs[i] = thousands(float64(n))
		}
		fmt.Fprintf(out, "%s: %s resources of users 1 to %d (%s events, loaded through the service); reports of users 1 to %d: %s records (%s to %s bytes of JSON-RPC)\n",
			f.name, thousands(float64(f.data.Resources)), bench.MixedUsers, thousands(float64(f.data.Events)), bench.MixedUsers, strings.Join(recs, " / "),
			thousands(float64(minInt(f.res.ReportBytes))), thousands(float64(maxInt(f.res.ReportBytes))))
	}
	fmt.Fprintf(out, "Each phase %v; ingest: batches of %s events of new products (users 100 to 109), %d client(s); reports: resource_utilization_detailed of the month, users in turn, %d client(s).\n\n",
		c.Duration, thousands(float64(c.Batch)), c.Clients, c.ReportClients)

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tENGINE\tREQUESTS\tP50\tP99\tMAX\tTHROUGHPUT\tCPU OF THE PHASE")
	for _, f := range figs {
		r := f.res
		row := func(what string, ph bench.MixedPhase, l bench.Latencies, unit string) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s %s/s (%.1f requests/s)\t%s in %s\n", what, f.name, thousands(float64(l.Requests)),
				ms(l.P50), ms(l.P99), ms(l.Max), thousands(l.UnitsPerSecond()), unit, l.PerSecond(), secs(ph.CPU), secs(ph.Elapsed))
		}
		row("reports alone", r.ReportsAlone, r.ReportsAlone.Reports, "records")
		row("reports under ingest", r.Mixed, r.Mixed.Reports, "records")
		row("ingest alone", r.IngestAlone, r.IngestAlone.Ingest, "events")
		row("ingest under reports", r.Mixed, r.Mixed.Ingest, "events")
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UNDER LOAD / ALONE\tENGINE\tP50\tP99\tMAX\tTHROUGHPUT")
	for _, f := range figs {
		r := f.res
		ratios := func(what string, load, alone bench.Latencies) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", what, f.name, ratio(load.P50, alone.P50), ratio(load.P99, alone.P99), ratio(load.Max, alone.Max),
				ratioFloat(load.UnitsPerSecond(), alone.UnitsPerSecond()))
		}
		ratios("reports", r.Mixed.Reports, r.ReportsAlone.Reports)
		ratios("ingest", r.Mixed.Ingest, r.IngestAlone.Ingest)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PEAK MEMORY (sampled every %v)\tENGINE\tGO RUNTIME TOTAL\tGO HEAP IN USE\tRSS OF THE PROCESS\tRSS, ANONYMOUS\tGC CYCLES\n", bench.MemorySampleInterval)
	for _, f := range figs {
		for _, ph := range []bench.MixedPhase{f.res.ReportsAlone, f.res.IngestAlone, f.res.Mixed} {
			rss, anon := "n/a", "n/a"
			if ph.Memory.RSS > 0 {
				rss, anon = bench.FormatBytes(ph.Memory.RSS), bench.FormatBytes(ph.Memory.RSSAnon)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", ph.Name, f.name, bench.FormatBytes(ph.Memory.GoTotal), bench.FormatBytes(ph.Memory.HeapInuse), rss, anon, ph.Memory.GCs)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rss := figs[len(figs)-1].res.MaxRSS; rss > 0 {
		fmt.Fprintf(out, "Peak RSS of the process over the whole run, set-up included (getrusage): %s\n", bench.FormatBytes(rss))
	}
	fmt.Fprintln(out, "The process is the server and its clients; a PostgreSQL server's own memory is not counted.")
	return nil
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

func ratioFloat(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func minInt(xs []int) int {
	m := 0
	for i, x := range xs {
		if i == 0 || x < m {
			m = x
		}
	}
	return m
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// phaseProgress shows how far a timed phase has come, on a terminal; nothing elsewhere.
type phaseProgress struct {
	bar *progressbar.ProgressBar
}

func newPhaseProgress(w io.Writer, d time.Duration) *phaseProgress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &phaseProgress{}
	}
	return &phaseProgress{bar: progressbar.NewOptions64(d.Milliseconds(),
		progressbar.OptionSetWriter(w),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
	)}
}

func (p *phaseProgress) show(what string, elapsed time.Duration) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(what)
	p.bar.Set64(min(elapsed.Milliseconds(), p.bar.GetMax64()))
}

func (p *phaseProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

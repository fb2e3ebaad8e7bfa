package cli

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/postgres"
)

// BenchHyperstack is the flag of the Hyperstack benchmark, embedded in BenchCmd.
type BenchHyperstack struct {
	Hyperstack bool `help:"Measure the Hyperstack-compatible usage endpoint instead: GET /v1/billing/billing/usage for a user (organization) with --resources resources, with a customer's key, beside the MetalSoft detailed report of the same data over its month and over the whole lives the usage covers; --reports runs each, on SQLite (and PostgreSQL with --postgres-url)."`
}

// hyperstackFigures are the figures of one engine.
type hyperstackFigures struct {
	name              string
	data              *bench.ReportData
	life              *bench.ReportData
	usage, month, all bench.ReportResult
}

// runHyperstack measures the usage endpoint beside the MetalSoft report of the same data.
func (c *BenchCmd) runHyperstack(g *Globals) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"--resources", c.Resources}, {"--reports", c.Reports}} {
		if f.v <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: must be a whole number above 0, not %d", f.name, f.v)
		}
	}
	if c.PostgresURL != "" && !postgres.IsURL(c.PostgresURL) {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--postgres-url: must start with postgres://, not %s", postgres.Redact(c.PostgresURL))
	}
	ctx, out := g.Ctx, g.Stdout
	fmt.Fprintf(out, "cloudmeter bench --hyperstack on %s\n", bench.DescribeMachine())
	tmp, err := os.MkdirTemp("", "cloudmeter-bench-hyperstack-*")
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	engines := []string{"sqlite"}
	if c.PostgresURL != "" {
		engines = append(engines, "postgres")
	}
	var figs []*hyperstackFigures
	for _, eng := range engines {
		f := &hyperstackFigures{name: eng}
		dbURL, drop := "", func() error { return nil }
		if eng == "postgres" {
			if dbURL, drop, err = bench.FreshDatabase(ctx, c.PostgresURL); err != nil {
				return err
			}
		}
		err := c.measureHyperstack(g, f, tmp+string(os.PathSeparator)+eng, dbURL)
		if derr := drop(); derr != nil {
			fmt.Fprintf(g.Stderr, "cloudmeter bench: the benchmark database was not dropped: %v\n", derr)
		}
		if err != nil {
			return err
		}
		figs = append(figs, f)
	}

	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tENGINE\tRESULT\tPER CPU TIME\tDETAIL")
	for _, f := range figs {
		fmt.Fprintf(tw, "Hyperstack usage, GET %s\t%s\t%s\tCPU %s\t%s VMs and volumes of %s resources (whole lives up to now), %s bytes, customer's key, median of %d\n",
			bench.HyperstackUsagePath, f.name, ms(f.usage.Median()), ms(f.usage.CPU), thousands(float64(f.usage.Records)), thousands(float64(f.data.Resources)),
			thousands(float64(f.usage.Bytes)), c.Reports)
		fmt.Fprintf(tw, "MetalSoft detailed report, same lives\t%s\t%s\tCPU %s\t%s, %s records, %s bytes, median of %d\n",
			f.name, ms(f.all.Median()), ms(f.all.CPU), f.life.WindowText(), thousands(float64(f.all.Records)), thousands(float64(f.all.Bytes)), c.Reports)
		fmt.Fprintf(tw, "MetalSoft detailed report, the month\t%s\t%s\tCPU %s\t%s, %s records, %s bytes, median of %d\n",
			f.name, ms(f.month.Median()), ms(f.month.CPU), f.data.WindowText(), thousands(float64(f.month.Records)), thousands(float64(f.month.Bytes)), c.Reports)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range figs {
		writeDurations(out, f.name+" Hyperstack usage runs", f.usage.Runs)
		writeDurations(out, f.name+" MetalSoft same lives runs", f.all.Runs)
	}
	return nil
}

// measureHyperstack fills a fresh store with one user's cloud and measures the usage
// endpoint and the MetalSoft reports of it over one server.
func (c *BenchCmd) measureHyperstack(g *Globals, f *hyperstackFigures, dataDir, dbURL string) error {
	ctx := g.Ctx
	var bar progress
	prev := 0
	d, err := bench.PrepareReportOn(ctx, dataDir, dbURL, 1, c.Resources, func(done, total int) {
		if bar == nil {
			bar = newProgress(g.Stderr, int64(total), fmt.Sprintf("%s: preparing %d resources (not timed)", f.name, c.Resources))
		}
		bar.Add(done - prev)
		prev = done
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("%s set-up: %w", f.name, err)
	}
	f.data, f.life = d, d.Lifetime(time.Now())
	key, err := bench.CustomerKey(ctx, d.DataDir, d.DatabaseURL, 1)
	if err != nil {
		return err
	}
	srv, err := bench.StartServerOn(ctx, d.DataDir, d.DatabaseURL, 0)
	if err != nil {
		return err
	}
	defer srv.Close()
	if f.usage, err = bench.HyperstackUsage(ctx, srv, key, c.Reports); err != nil {
		return fmt.Errorf("%s Hyperstack usage: %w", f.name, err)
	}
	if f.all, err = f.life.RPC(ctx, srv, c.Reports); err != nil {
		return fmt.Errorf("%s MetalSoft report of whole lives: %w", f.name, err)
	}
	if f.month, err = d.RPC(ctx, srv, c.Reports); err != nil {
		return fmt.Errorf("%s MetalSoft report of the month: %w", f.name, err)
	}
	return nil
}

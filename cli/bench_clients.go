package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/postgres"
)

// BenchClients are the flags of the PostgreSQL scaling benchmark (embedded in BenchCmd).
type BenchClients struct {
	ClientCounts []int `name:"client-counts" placeholder:"N" help:"Measure PostgreSQL ingest (--postgres-url) instead, with each of these numbers of concurrent clients, in one run: --events events in batches of --batch, a fresh database each time, --runs rounds that each measure every number once; prints events/s and the ratio to the first number, measured within each round."`
	Instances    int   `default:"3" help:"With --client-counts: also measure this many server instances on one database, sharing the most clients of the list, against one instance (1: not measured)."`
}

// runClients measures PostgreSQL ingest as clients, then instances, are added, and prints
// the figures and their ratios.
func (c *BenchCmd) runClients(g *Globals) error {
	if c.PostgresURL == "" {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--client-counts: measures PostgreSQL: give --postgres-url too")
	}
	if !postgres.IsURL(c.PostgresURL) {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--postgres-url: must start with postgres://, not %s", postgres.Redact(c.PostgresURL))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--events", c.Events}, {"--batch", c.Batch}, {"--runs", c.Runs}, {"--instances", c.Instances}} {
		if f.v <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: must be a whole number above 0, not %d", f.name, f.v)
		}
	}
	for _, n := range c.ClientCounts {
		if n <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "--client-counts: each must be a whole number above 0, not %d", n)
		}
	}
	ctx, out := g.Ctx, g.Stdout
	var scales []bench.Scale
	for _, n := range c.ClientCounts {
		scales = append(scales, bench.Scale{Instances: 1, Clients: n})
	}
	most := slices.Max(c.ClientCounts)
	if c.Instances > 1 {
		scales = append(scales, bench.Scale{Instances: c.Instances, Clients: most})
	}
	fmt.Fprintf(out, "cloudmeter bench --client-counts on %s\n", bench.DescribeMachine())
	fmt.Fprintf(out, "PostgreSQL %s: %s events in batches of %s, a fresh database for each measurement, %d round(s) each measuring every line once, in order\n",
		postgres.Redact(c.PostgresURL), thousands(float64(c.Events)), thousands(float64(c.Batch)), c.Runs)
	tmp, err := os.MkdirTemp("", "cloudmeter-bench-clients-*")
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	batches := demo.Batches(bench.Events(1, c.Events), c.Batch)

	var bar progress
	res, err := bench.IngestScaling(ctx, c.PostgresURL, tmp, batches, scales, c.Runs, func(round int, s bench.Scale) func(int) {
		if bar != nil {
			bar.Finish()
		}
		bar = newProgress(g.Stderr, int64(c.Events), fmt.Sprintf("round %d of %d: %s", round, c.Runs, s))
		return func(n int) { bar.Add(n) }
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}

	// Ratios are taken within each round, then their median is shown.
	ratio := func(r, base bench.ScaleResult) float64 {
		xs := make([]float64, len(r.Runs))
		for i := range r.Runs {
			xs[i] = r.Round(i) / base.Round(i)
		}
		return bench.MedianFloat(xs)
	}
	one := func(clients int) (bench.ScaleResult, bool) {
		for _, r := range res {
			if r.Instances == 1 && r.Clients == clients {
				return r, true
			}
		}
		return bench.ScaleResult{}, false
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENTS\tINSTANCES\tINGEST\tPER CPU TIME\tRATIO TO FIRST\tRATIO TO PREVIOUS\tROUNDS (events/s)")
	for i, r := range res {
		prev := ""
		if i > 0 {
			prev = fmt.Sprintf("%.2f", ratio(r, res[i-1]))
			if r.Instances > 1 {
				b, _ := one(r.Clients)
				prev = fmt.Sprintf("%.2f (to 1 instance)", ratio(r, b))
			}
		}
		rounds := make([]string, len(r.Runs))
		for j := range r.Runs {
			rounds[j] = thousands(r.Round(j))
		}
		fmt.Fprintf(tw, "%d\t%d\t%s events/s\t%s events/CPU-s\t%.2f\t%s\t%s\n", r.Clients, r.Instances, thousands(r.PerSecond()),
			thousands(r.PerCPUSecond()), ratio(r, res[0]), prev, strings.Join(rounds, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nRatios: the median over the rounds of the ratio of two lines' events/s within a round.")
	fmt.Fprintln(out, "PER CPU TIME counts this process (the servers and the clients), not the database server.")
	// The targets: adding clients or instances never lowers total throughput.
	falls := 0
	for i := 1; i < len(res) && res[i].Instances == 1; i++ {
		if ratio(res[i], res[i-1]) < 1 {
			falls++
		}
	}
	fmt.Fprintf(out, "\nmore clients, never a lower throughput: %s (%d fall(s) from one line to the next)\n", yesNo(falls == 0), falls)
	if b, ok := one(1); ok {
		if r, ok := one(4); ok {
			fmt.Fprintf(out, "4 clients against 1: %.2f (target >= 1): %s\n", ratio(r, b), yesNo(ratio(r, b) >= 1))
		}
	}
	if last := res[len(res)-1]; last.Instances > 1 {
		b, _ := one(last.Clients)
		fmt.Fprintf(out, "%d instances against 1, %d clients: %.2f (target >= 1): %s\n", last.Instances, last.Clients, ratio(last, b), yesNo(ratio(last, b) >= 1))
	}
	return nil
}

package cli

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/demo"
)

// BenchHistory is `cloudmeter bench --history`: cost against what is stored
// (bench/history.go, docs/benchmarks.md "Cost against history").
type BenchHistory struct {
	History       bool `help:"Measure cost against history instead: ingest per event of an instance with --history-events events against one without, the month's report of that instance against a 10-event one's, user 1's month among --history-users users of --resources resources each against alone, and ingest of --events events through HTTP with one client over the write floor (--runs times in turns, 3 at least)."`
	HistoryEvents int  `name:"history-events" default:"100000" help:"With --history: events of the long history."`
	HistoryUsers  int  `name:"history-users" default:"10" help:"With --history: users in the database of the users report."`
}

// runHistory measures cost against history and prints each figure as a ratio against
// its target.
func (c *BenchCmd) runHistory(g *Globals) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"--history-events", c.HistoryEvents}, {"--history-users", c.HistoryUsers}, {"--resources", c.Resources}, {"--events", c.Events}, {"--batch", c.Batch}} {
		if f.v <= 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: must be a whole number above 0, not %d", f.name, f.v)
		}
	}
	ctx, out := g.Ctx, g.Stdout
	fmt.Fprintf(out, "cloudmeter bench --history on %s\n", bench.DescribeMachine())
	tmp, err := os.MkdirTemp("", "cloudmeter-bench-history-*")
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "temporary directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	dir := func(name string) string { return tmp + string(os.PathSeparator) + name }
	say := func(what string) { fmt.Fprintf(g.Stderr, "%s: %s\n", time.Now().Format("15:04:05"), what) }

	cfg := bench.DefaultHistory
	cfg.History = c.HistoryEvents
	h, err := bench.History(ctx, dir("history"), cfg, say)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	u, err := bench.UsersReport(ctx, dir("alone"), dir("among"), c.HistoryUsers, c.Resources, 20, say)
	if err != nil {
		return fmt.Errorf("users report: %w", err)
	}
	fl, err := bench.IngestOverFloor(ctx, dir("floor"), demo.Batches(bench.Events(1, c.Events), c.Batch), max(c.Runs, 3), say)
	if err != nil {
		return fmt.Errorf("ingest over the write floor: %w", err)
	}

	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "figure\tratio\tmeasured\ttarget\tmet")
	fmt.Fprintf(w, "ingest per event, history of %d events / none (in turns)\t%.2f\t%s / %s\t<= 1.2\t%s\n",
		cfg.History, h.IngestRatio(), h.AtHistory, h.Fresh, met(h.IngestRatio() <= 1.2))
	fmt.Fprintf(w, "ingest per event, one product's last %d events / its first\t%.2f\t%s / %s\t\t\n", cfg.Measure, h.PhaseRatio(), h.Last, h.First)
	fmt.Fprintf(w, "month's report, product of %d events / of %d\t%.2f\t%s (%d records) / %s (%d records)\t<= 1.2\t%s\n",
		cfg.History+cfg.Measure, cfg.Quiet, h.ReportRatio(), h.Busy.Median(), h.BusyRecords, h.Quiet.Median(), h.QuietRecords, met(h.ReportRatio() <= 1.2))
	fmt.Fprintf(w, "user 1's month, among %d users of %d resources / alone\t%.2f\t%s / %s (%d records)\t<= 1.2\t%s\n",
		u.Users, u.Resources, u.Ratio(), u.Among.Median(), u.Alone.Median(), u.Records, met(u.Ratio() <= 1.2))
	fmt.Fprintf(w, "ingest through HTTP, 1 client / write floor (medians of %d in turns)\t%.2f\t%.0f / %.0f events/s\t>= 0.9\t%s\n",
		max(c.Runs, 3), fl.Ratio(), fl.Ingest, fl.Floor, met(fl.Ratio() >= 0.9))
	fmt.Fprintf(w, "the same per CPU-second\t%.2f\t%.0f / %.0f events/s\t\t\n", fl.CPURatio(), fl.IngestCPU, fl.FloorCPU)
	return w.Flush()
}

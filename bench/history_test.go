package bench_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/demo"
)

// The benchmarks of cost against history (bench/history.go, docs/benchmarks.md "Cost
// against history"). Each op is one whole measurement: run them with -benchtime 1x.
//
//	go test ./bench -run '^$' -bench 'History|UsersReport|IngestOverFloor' -benchtime 1x
var (
	flagHistory       = flag.Int("bench.history", bench.DefaultHistory.History, "events of the long history of BenchmarkHistory")
	flagUsers         = flag.Int("bench.users", 10, "users in the database of BenchmarkUsersReport")
	flagUserResources = flag.Int("bench.userresources", 10000, "resources of each user of BenchmarkUsersReport")
	flagFloorEvents   = flag.Int("bench.floorevents", 100000, "events of BenchmarkIngestOverFloor")
)

func historyMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkHistory reports the cost per event of ingest at a history of -bench.history
// events over its cost at none (ingest-ratio, target at most 1.2), and the month's report
// of a product with that history over one of a product with 10 events (report-ratio,
// target at most 1.2).
func BenchmarkHistory(b *testing.B) {
	cfg := bench.DefaultHistory
	cfg.History = *flagHistory
	var res bench.HistoryResult
	for range b.N {
		dir := b.TempDir()
		var err error
		if res, err = bench.History(context.Background(), dir, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Fresh.Nanoseconds())/1000, "µs/event-fresh")
	b.ReportMetric(float64(res.AtHistory.Nanoseconds())/1000, "µs/event-at-history")
	b.ReportMetric(res.IngestRatio(), "ingest-ratio")
	b.ReportMetric(res.PhaseRatio(), "last/first")
	b.ReportMetric(historyMS(res.Busy.Median()), "ms/report-busy")
	b.ReportMetric(historyMS(res.Quiet.Median()), "ms/report-quiet")
	b.ReportMetric(res.ReportRatio(), "report-ratio")
	fmt.Fprintf(os.Stderr, "history %d: per event %s at history %d against %s without history, in turns (x%.2f); first %d events %s, last %s (x%.2f); "+
		"report %s (%d records) against %s (%d records) (x%.2f)\n",
		cfg.History, res.AtHistory, cfg.History, res.Fresh, res.IngestRatio(), cfg.Measure, res.First, res.Last, res.PhaseRatio(),
		res.Busy.Median(), res.BusyRecords, res.Quiet.Median(), res.QuietRecords, res.ReportRatio())
}

// BenchmarkUsersReport reports one user's month in a database of -bench.users users of
// -bench.userresources resources each over the same report with the user alone
// (users-ratio, target at most 1.2).
func BenchmarkUsersReport(b *testing.B) {
	var res bench.UsersResult
	for range b.N {
		var err error
		if res, err = bench.UsersReport(context.Background(), b.TempDir(), b.TempDir(), *flagUsers, *flagUserResources, 20, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(historyMS(res.Alone.Median()), "ms/report-alone")
	b.ReportMetric(historyMS(res.Among.Median()), "ms/report-among")
	b.ReportMetric(res.Ratio(), "users-ratio")
	fmt.Fprintf(os.Stderr, "user 1's month (%d records): %s alone, %s among %d users (x%.2f)\n",
		res.Records, res.Alone.Median(), res.Among.Median(), res.Users, res.Ratio())
}

// BenchmarkIngestOverFloor reports ingest through HTTP with one client over the write
// floor of the same events (floor-ratio, about 0.9 in docs/benchmarks.md), each run 3
// times in turns, medians.
func BenchmarkIngestOverFloor(b *testing.B) {
	batches := demo.Batches(bench.Events(1, *flagFloorEvents), demo.BatchSize)
	var res bench.FloorRatio
	for range b.N {
		var err error
		if res, err = bench.IngestOverFloor(context.Background(), b.TempDir(), batches, 3, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(res.Ingest, "ingest-events/s")
	b.ReportMetric(res.Floor, "floor-events/s")
	b.ReportMetric(res.Ratio(), "floor-ratio")
	b.ReportMetric(res.CPURatio(), "floor-ratio-cpu")
	fmt.Fprintf(os.Stderr, "ingest %.0f events/s, write floor %.0f events/s (x%.2f); per CPU-second %.0f and %.0f (x%.2f)\n",
		res.Ingest, res.Floor, res.Ratio(), res.IngestCPU, res.FloorCPU, res.CPURatio())
}

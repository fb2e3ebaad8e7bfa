package bench_test

import (
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/ledger"
)

var (
	flagMixedResources = flag.Int("bench.mixed-resources", 10000, "resources of users 1 to 5 that BenchmarkMixed reports on")
	flagIngestClients  = flag.Int("bench.ingest-clients", 4, "ingest clients of BenchmarkMixed")
	flagReportClients  = flag.Int("bench.report-clients", 4, "report clients of BenchmarkMixed")
)

func ms(d time.Duration) []time.Duration {
	out := make([]time.Duration, 0)
	for i := time.Duration(1); i <= d; i++ {
		out = append(out, i*time.Millisecond)
	}
	return out
}

func TestPercentileTable(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 99, 7},
		{[]time.Duration{2, 1}, 50, 1}, // rank ceil(1) = 1: the lower of two
		{[]time.Duration{2, 1}, 51, 2},
		{[]time.Duration{2, 1}, 100, 2},
		{[]time.Duration{3, 1, 2}, 0, 1},
		{ms(100), 50, 50 * time.Millisecond},
		{ms(100), 99, 99 * time.Millisecond},
		{ms(100), 100, 100 * time.Millisecond},
		{ms(100), 1, 1 * time.Millisecond},
		{ms(10), 99, 10 * time.Millisecond}, // 9.9 rounds up to rank 10
		{ms(10), 90, 9 * time.Millisecond},
		{ms(1000), 99.9, 999 * time.Millisecond}, // 99.9 % of 1,000 is rank 999 exactly
		{ms(200), 99, 198 * time.Millisecond},
		{ms(201), 99, 199 * time.Millisecond}, // 198.99 -> 199
		{ms(101), 50, 51 * time.Millisecond},  // 50.5 -> 51: the middle
	} {
		in := slices.Clone(c.in)
		if got := bench.Percentile(c.in, c.p); got != c.want {
			t.Errorf("Percentile(%d values, %v) = %v; want %v", len(c.in), c.p, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("Percentile changed its input")
		}
	}
}

// The nearest-rank percentile r of n values is the one value with at least p % of the
// values at or below it and fewer than p % strictly below it: checked in integers on
// random values with many ties.
func TestPercentileProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(300)
		ds := make([]time.Duration, n)
		for i := range ds {
			ds[i] = time.Duration(r.IntN(1 + r.IntN(50)))
		}
		p := 1 + r.IntN(100)
		got := bench.Percentile(ds, float64(p))
		atOrBelow, below := 0, 0
		for _, d := range ds {
			if d <= got {
				atOrBelow++
			}
			if d < got {
				below++
			}
		}
		if atOrBelow*100 < p*n || below*100 >= p*n {
			t.Fatalf("Percentile(%v, %d) = %v: %d of %d values at or below, %d below", ds, p, got, atOrBelow, n, below)
		}
	}
}

func TestSummarize(t *testing.T) {
	l := bench.Summarize([]time.Duration{5, 1, 4, 2, 3}, 50, 2*time.Second)
	if l.Requests != 5 || l.P50 != 3 || l.P99 != 5 || l.Max != 5 || l.PerSecond() != 2.5 || l.UnitsPerSecond() != 25 {
		t.Errorf("Summarize: %+v", l)
	}
	if l := bench.Summarize(nil, 0, 0); l.Requests != 0 || l.P99 != 0 || l.PerSecond() != 0 {
		t.Errorf("Summarize(nil): %+v", l)
	}
}

// The ingest stream's batches decode, hold the events they say, and never repeat a
// product or an event id.
func TestMixedIngestBatch(t *testing.T) {
	for _, size := range []int{1, 7, 1000} {
		seen := map[int64]bool{}
		ids := map[string]bool{}
		for k := range 5 {
			b := bench.MixedIngestBatch(k, size)
			evs, err := ledger.DecodeBatch(bench.BatchMedia, b.JSON, ledger.Limits{})
			if err != nil {
				t.Fatalf("batch %d of %d: %v", k, size, err)
			}
			if len(evs) != size || b.Events != size {
				t.Fatalf("batch of %d: %d events decoded, %d said", size, len(evs), b.Events)
			}
			products := map[int64]bool{}
			for _, e := range evs {
				if ids[e.Source+"/"+e.ID] {
					t.Fatalf("event %s/%s twice", e.Source, e.ID)
				}
				ids[e.Source+"/"+e.ID] = true
				products[e.ProductID] = true
			}
			for p := range products {
				if seen[p] || p < bench.MixedFirstProductID {
					t.Fatalf("product %d in two batches, or in the data set's range", p)
				}
				seen[p] = true
			}
		}
	}
}

// TestMixedSmall runs the three phases briefly on a small data set: every phase answers,
// the ratios have something to divide, and the memory is sampled.
func TestMixedSmall(t *testing.T) {
	ctx := context.Background()
	d, err := bench.PrepareMixedOn(ctx, t.TempDir(), "", 1, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := bench.MixedOn(ctx, d, bench.MixedOptions{IngestClients: 2, ReportClients: 2, Batch: 50, Duration: 300 * time.Millisecond, MaxRequests: 20})
	if err != nil {
		t.Fatal(err)
	}
	checkMixed(t, res, 20)
}

// TestMixedSmallPostgres is TestMixedSmall on a fresh PostgreSQL database.
func TestMixedSmallPostgres(t *testing.T) {
	ctx := context.Background()
	d, err := bench.PrepareMixedOn(ctx, t.TempDir(), pgtest.URL(t), 1, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := bench.MixedOn(ctx, d, bench.MixedOptions{IngestClients: 2, ReportClients: 2, Batch: 50, Duration: 300 * time.Millisecond, MaxRequests: 20})
	if err != nil {
		t.Fatal(err)
	}
	checkMixed(t, res, 20)
}

// TestBenchCommandMixed runs `cloudmeter bench --mixed` small: it prints the latencies of
// each kind alone and under load, their ratios and the peak memory; flags out of range
// are refused.
func TestBenchCommandMixed(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"bench", "--mixed", "--resources", "100", "--batch", "100", "--clients", "2", "--report-clients", "2", "--duration", "300ms"}
	if code := cli.Main(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("bench --mixed: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, re := range []string{`CPUs`, `reports of users 1 to 5: [\d,]+ / [\d,]+ / [\d,]+ / [\d,]+ / [\d,]+ records`,
		`(?m)^reports alone\s+sqlite\s+[\d,]+\s+[\d.]+ ms\s+[\d.]+ ms`, `(?m)^reports under ingest\s+sqlite\s+[\d,]+\s+[\d.]+ ms`,
		`(?m)^ingest alone\s+sqlite\s+[\d,]+\s+[\d.]+ ms`, `(?m)^ingest under reports\s+sqlite\s+[\d,]+\s+[\d.]+ ms.*events/s`,
		`(?m)^reports\s+sqlite\s+[\d.]+x\s+[\d.]+x`, `(?m)^ingest\s+sqlite\s+[\d.]+x\s+[\d.]+x`,
		`(?m)^ingest and reports\s+sqlite\s+[\d.]+ MiB\s+[\d.]+ MiB`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("output lacks %s\n%s", re, out.String())
		}
	}
	for _, bad := range [][]string{{"--duration", "0s"}, {"--report-clients", "0"}, {"--clients", "0"}} {
		var o, e bytes.Buffer
		if code := cli.Main(context.Background(), append([]string{"bench", "--mixed"}, bad...), &o, &e); code == 0 {
			t.Errorf("bench --mixed %v: exit 0\n%s", bad, o.String())
		}
	}
}

func checkMixed(t testing.TB, res bench.MixedResult, maxRequests int) {
	t.Helper()
	if len(res.Records) != bench.MixedUsers || slices.Min(res.Records) == 0 {
		t.Errorf("records per user: %v", res.Records)
	}
	for _, c := range []struct {
		ph             bench.MixedPhase
		ingest, report bool
	}{{res.ReportsAlone, false, true}, {res.IngestAlone, true, false}, {res.Mixed, true, true}} {
		if (c.ph.Ingest.Requests > 0) != c.ingest || (c.ph.Reports.Requests > 0) != c.report {
			t.Errorf("%s: %d ingest requests, %d reports", c.ph.Name, c.ph.Ingest.Requests, c.ph.Reports.Requests)
		}
		for _, l := range []bench.Latencies{c.ph.Ingest, c.ph.Reports} {
			if l.Requests == 0 {
				continue
			}
			if l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max || l.Units <= 0 || l.PerSecond() <= 0 {
				t.Errorf("%s: %+v", c.ph.Name, l)
			}
			if maxRequests > 0 && l.Requests > 2*maxRequests {
				t.Errorf("%s: %d requests, more than %d clients x %d", c.ph.Name, l.Requests, 2, maxRequests)
			}
		}
		if c.ph.Memory.HeapInuse == 0 || c.ph.Memory.GoTotal < c.ph.Memory.HeapInuse {
			t.Errorf("%s: memory %+v", c.ph.Name, c.ph.Memory)
		}
	}
	if res.Mixed.Ingest.Units%50 != 0 && res.Mixed.Ingest.Units%demo.BatchSize != 0 {
		t.Errorf("ingested %d events, not whole batches", res.Mixed.Ingest.Units)
	}
}

// BenchmarkMixed measures the mixed load on a data set of -bench.mixed-resources
// resources of users 1 to 5: b.N reports (per report client) under
// -bench.ingest-clients ingest clients, after the same alone. It reports the p50 and p99
// of each kind under load, and their ratio to the same alone. ns/op means little.
//
//	go test ./bench -run '^$' -bench Mixed -benchtime 40x
func BenchmarkMixed(b *testing.B) {
	ctx := context.Background()
	d, err := bench.PrepareMixedOn(ctx, b.TempDir(), "", 1, *flagMixedResources, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := bench.StartServerOn(ctx, d.DataDir, "", 0)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	// Phases end after b.N requests per client (the minute is only a bound).
	r, err := bench.NewMixedRunner(ctx, d, srv, bench.MixedOptions{IngestClients: *flagIngestClients, ReportClients: *flagReportClients,
		Duration: time.Minute, MaxRequests: b.N})
	if err != nil {
		b.Fatal(err)
	}
	alone, err := r.Phase(ctx, "reports alone", 0, *flagReportClients)
	if err != nil {
		b.Fatal(err)
	}
	ingest, err := r.Phase(ctx, "ingest alone", *flagIngestClients, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	mixed, err := r.Phase(ctx, "ingest and reports", *flagIngestClients, *flagReportClients)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	msf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(msf(mixed.Reports.P50), "report-p50-ms")
	b.ReportMetric(msf(mixed.Reports.P99), "report-p99-ms")
	b.ReportMetric(msf(mixed.Ingest.P50), "ingest-p50-ms")
	b.ReportMetric(msf(mixed.Ingest.P99), "ingest-p99-ms")
	b.ReportMetric(float64(mixed.Reports.P50)/float64(alone.Reports.P50), "report-p50-x-alone")
	b.ReportMetric(float64(mixed.Reports.P99)/float64(alone.Reports.P99), "report-p99-x-alone")
	b.ReportMetric(float64(mixed.Ingest.P99)/float64(ingest.Ingest.P99), "ingest-p99-x-alone")
	b.ReportMetric(float64(mixed.Memory.RSS)/(1<<20), "peak-rss-MiB")
}

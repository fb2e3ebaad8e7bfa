package bench_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/metalsoft"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

var (
	flagResources = flag.Int("bench.resources", 10000, "resources of the user whose month BenchmarkReport* report")
	flagClients   = flag.Int("bench.clients", 1, "concurrent HTTP clients of BenchmarkIngestHTTP")
)

// The data directory of the report benchmarks is prepared once per test binary run.
var (
	reportOnce sync.Once
	reportData *bench.ReportData
	reportErr  error
	reportDir  string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	pgtest.Stop()
	if reportDir != "" {
		os.RemoveAll(reportDir)
	}
	if trafficDir != "" { // traffic_test.go
		os.RemoveAll(trafficDir)
	}
	if windowsDir != "" { // traffic_test.go
		os.RemoveAll(windowsDir)
	}
	os.Exit(code)
}

func prepared(b *testing.B) *bench.ReportData {
	b.Helper()
	reportOnce.Do(func() {
		reportDir, reportErr = os.MkdirTemp("", "cloudmeter-bench-report-*")
		if reportErr == nil {
			start := time.Now()
			reportData, reportErr = bench.PrepareReport(context.Background(), reportDir, 1, *flagResources, nil)
			if reportErr == nil {
				fmt.Fprintf(os.Stderr, "prepared %d resources (%d events) in %s\n", reportData.Resources, reportData.Events, time.Since(start).Round(time.Millisecond))
			}
		}
	})
	if reportErr != nil {
		b.Fatal(reportErr)
	}
	return reportData
}

// TestSmall runs every measurement at a small scale: the code paths of `cloudmeter
// bench` work and agree with each other (no timing is asserted).
func TestSmall(t *testing.T) {
	ctx := context.Background()
	batches := demo.Batches(bench.Events(3, 2500), demo.BatchSize)
	if got := bench.Count(batches); got != 2500 {
		t.Fatalf("Events(3, 2500) gave %d events", got)
	}
	ing, err := bench.IngestHTTP(ctx, t.TempDir(), batches, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ing.Events != 2500 || ing.Batches != 3 || ing.PerSecond() <= 0 {
		t.Errorf("IngestHTTP: %+v", ing)
	}

	rows, err := bench.Rows(batches)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := bench.RawInsert(ctx, t.TempDir(), rows, demo.BatchSize)
	if err != nil {
		t.Fatal(err)
	}
	if ins.Rows != 2500 || ins.PerSecond() <= 0 {
		t.Errorf("RawInsert: %+v", ins)
	}

	d, err := bench.PrepareReport(ctx, t.TempDir(), 1, 150, nil)
	if err != nil {
		t.Fatal(err)
	}
	built, err := d.Build(ctx, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(built.Runs) != 3 || built.Records < 150 || built.Bytes == 0 {
		t.Errorf("Build: %d runs, %d records, %d bytes", len(built.Runs), built.Records, built.Bytes)
	}
	srv, err := bench.StartServer(ctx, d.DataDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rpc, err := d.RPC(ctx, srv, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rpc.Runs) != 2 || rpc.Records != built.Records || rpc.Bytes == 0 {
		t.Errorf("RPC: %d runs, %d records (build: %d), %d bytes", len(rpc.Runs), rpc.Records, built.Records, rpc.Bytes)
	}
}

// TestBenchCommand runs `cloudmeter bench` small: it prints every figure of the table.
func TestBenchCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"bench", "--events", "1500", "--batch", "500", "--resources", "100", "--reports", "2", "--runs", "2"}
	if code := cli.Main(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"CPUs", "ingest, HTTP API", "events/s", "raw SQLite insert", "rows/s", "ingest / raw insert",
		"report, service.Utilization", "report, JSON-RPC over HTTP", "median of 2 runs"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q\n%s", want, out.String())
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{{nil, 0}, {[]time.Duration{3}, 3}, {[]time.Duration{5, 1, 3}, 3}, {[]time.Duration{4, 1, 3, 2}, 2}} {
		if got := bench.Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v; want %v", c.in, got, c.want)
		}
	}
}

// BenchmarkIngestHTTP posts b.N batches of 1,000 events of one user's cloud to a real
// server (POST /api/v1/events) over a fresh database; ns/op is per batch.
func BenchmarkIngestHTTP(b *testing.B) { benchmarkIngest(b, "") }

// benchmarkIngest is BenchmarkIngestHTTP on SQLite, or on the PostgreSQL database at
// dbURL when it is set.
func benchmarkIngest(b *testing.B, dbURL string) {
	ctx := context.Background()
	srv, err := bench.StartServerOn(ctx, b.TempDir(), dbURL, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	batches := demo.Batches(bench.Events(1, b.N*demo.BatchSize), demo.BatchSize)
	b.ResetTimer()
	elapsed, err := srv.Ingest(ctx, batches, *flagClients, nil)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*demo.BatchSize)/elapsed.Seconds(), "events/s")
}

// BenchmarkRawInsert inserts the rows of b.N batches of 1,000 events into the events
// table directly, in transactions of 1,000 rows; ns/op is per transaction.
func BenchmarkRawInsert(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rows, err := bench.Rows(demo.Batches(bench.Events(1, b.N*demo.BatchSize), demo.BatchSize))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	elapsed, err := bench.InsertRows(ctx, st.DB(), rows, demo.BatchSize)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(rows))/elapsed.Seconds(), "rows/s")
}

// BenchmarkReportBuild builds the month's report of one user with -bench.resources
// resources with service.Utilization; ns/op is per report.
func BenchmarkReportBuild(b *testing.B) {
	d := prepared(b)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, d.DataDir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	req := service.ReportRequest{UserID: 1, Start: d.From, End: d.To}
	if _, err := svc.Utilization(ctx, service.SystemKey, req); err != nil { // parses the price book once
		b.Fatal(err)
	}
	records := 0
	b.ResetTimer()
	for range b.N {
		u, err := svc.Utilization(ctx, service.SystemKey, req)
		if err != nil {
			b.Fatal(err)
		}
		records = len(u.Records)
	}
	b.ReportMetric(float64(records), "records")
}

// BenchmarkReportRPC requests the same report over HTTP as the MetalSoft-compatible
// JSON-RPC method resource_utilization_detailed and reads the whole response; ns/op is
// per request.
func BenchmarkReportRPC(b *testing.B) {
	d := prepared(b)
	ctx := context.Background()
	srv, err := bench.StartServer(ctx, d.DataDir, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	body := fmt.Sprintf(`{"id":1,"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[1,%q,%q]}`,
		time.Unix(d.From, 0).UTC().Format(time.RFC3339), time.Unix(d.To, 0).UTC().Format(time.RFC3339))
	do := func() int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+metalsoft.Path, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+srv.Key)
		resp, err := srv.Client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s, %v", resp.Status, err)
		}
		return int(n)
	}
	size := do()
	b.ResetTimer()
	for range b.N {
		size = do()
	}
	b.ReportMetric(float64(size), "response-bytes")
}

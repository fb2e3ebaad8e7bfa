package bench_test

import (
	"bytes"
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
)

// TestBenchCommandPostgres runs `cloudmeter bench --postgres-url` small against a
// PostgreSQL server of its own: both engines' figures are printed, the report has the
// same records on both, and the databases the benchmark created are dropped.
func TestBenchCommandPostgres(t *testing.T) {
	srv := pgtest.NewServer(t)
	var out, errOut bytes.Buffer
	args := []string{"bench", "--events", "1000", "--batch", "500", "--resources", "60", "--reports", "2", "--postgres-url", srv.URL()}
	if code := cli.Main(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	// Both engines report the same month of the same cloud: the same records, the same bytes.
	re := regexp.MustCompile(`report, JSON-RPC over HTTP\s+(\w+)\s.*resource_utilization_detailed, (\S+) records, (\S+) bytes read`)
	found := re.FindAllStringSubmatch(out.String(), -1)
	if len(found) != 2 || found[0][1] != "sqlite" || found[1][1] != "postgres" {
		t.Fatalf("want one JSON-RPC report line per engine, sqlite then postgres\n%s", out.String())
	}
	if found[0][2] != found[1][2] || found[0][3] != found[1][3] || found[0][2] == "0" {
		t.Errorf("sqlite reports %s records in %s bytes, postgres %s in %s", found[0][2], found[0][3], found[1][2], found[1][3])
	}
	if !regexp.MustCompile(`ingest, HTTP API\s+postgres\s+[\d,]+ events/s`).MatchString(out.String()) {
		t.Errorf("no PostgreSQL ingest figure\n%s", out.String())
	}
	db, err := sql.Open("pgx", strings.Replace(srv.URL(), "/cloudmeter?", "/postgres?", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'cloudmeter_bench_%'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d benchmark databases left behind (%v)", left, err)
	}
}

// BenchmarkIngestHTTPPostgres is BenchmarkIngestHTTP on a fresh PostgreSQL database of
// the test server (started from the system's binaries, fsync off: compare with care).
func BenchmarkIngestHTTPPostgres(b *testing.B) { benchmarkIngest(b, pgtest.URL(b)) }

// BenchmarkReportRPCPostgres is BenchmarkReportRPC on PostgreSQL; the data is prepared
// (not timed) in a fresh database for each run of the benchmark function.
func BenchmarkReportRPCPostgres(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	d, err := bench.PrepareReportOn(ctx, b.TempDir(), pgtest.URL(b), 1, *flagResources, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("prepared %d resources (%d events) in %s", d.Resources, d.Events, time.Since(start).Round(time.Millisecond))
	srv, err := bench.StartServerOn(ctx, d.DataDir, d.DatabaseURL, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	b.ResetTimer()
	res, err := d.RPC(ctx, srv, b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(res.Bytes), "response-bytes")
	b.ReportMetric(float64(res.Median().Microseconds())/1000, "median-ms")
}

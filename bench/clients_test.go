package bench_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
)

// TestIngestInstancesPostgres ingests one cloud into PostgreSQL three times: with one
// client, with four clients on one server, and with four clients spread over three
// servers on one database. The three databases end up the same (every event once, every
// product rated from all its events), whatever the batches that met on the same
// products.
func TestIngestInstancesPostgres(t *testing.T) {
	ctx := context.Background()
	batches := demo.Batches(bench.Events(5, 6000), 250)
	var dumps []string
	for _, s := range []bench.Scale{{Instances: 1, Clients: 1}, {Instances: 1, Clients: 4}, {Instances: 3, Clients: 4}} {
		u := pgtest.URL(t)
		res, err := bench.IngestInstancesOn(ctx, t.TempDir(), u, batches, s.Instances, s.Clients, nil)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if res.Events != 6000 || res.Clients != s.Clients || res.PerSecond() <= 0 {
			t.Errorf("%s: %+v", s, res)
		}
		dumps = append(dumps, dumpRatings(t, u))
	}
	if dumps[0] != dumps[1] || dumps[0] != dumps[2] {
		t.Errorf("the stored ratings differ:\n1 client: %.600s\n4 clients: %.600s\n3 instances: %.600s", dumps[0], dumps[1], dumps[2])
	}
}

// dumpRatings returns what the database holds of the events and their ratings, in key
// order: the events, the resources rows (but the count of their writes) and the
// anomalies, users, infrastructures and datacenters.
func dumpRatings(t *testing.T, u string) string {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b strings.Builder
	for _, q := range []string{
		`SELECT source, id, product_id, digest FROM events ORDER BY source, id`,
		`SELECT * FROM resources ORDER BY product_id`,
		`SELECT * FROM anomalies ORDER BY product_id, seq`,
		`SELECT * FROM users ORDER BY user_id`,
		`SELECT * FROM infrastructures ORDER BY user_id, infrastructure_id`,
		`SELECT * FROM datacenters ORDER BY name`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, c := range cols {
				if c != "rated_generation" {
					fmt.Fprintf(&b, "%v|", vals[i])
				}
			}
			b.WriteByte('\n')
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if n == 0 && !strings.Contains(q, "anomalies") {
			t.Errorf("%s: no rows", q)
		}
	}
	return b.String()
}

// TestBenchCommandClients runs `cloudmeter bench --client-counts` small against a
// PostgreSQL server of its own: a line per number of clients and one for the instances,
// the ratios and the targets, and no database left behind.
func TestBenchCommandClients(t *testing.T) {
	srv := pgtest.NewServer(t)
	var out, errOut bytes.Buffer
	args := []string{"bench", "--client-counts", "1,2", "--instances", "2", "--events", "1000", "--batch", "250", "--runs", "2", "--postgres-url", srv.URL()}
	if code := cli.Main(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("bench: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, re := range []string{
		`(?m)^1 +1 +[\d,]+ events/s +[\d,]+ events/CPU-s +1\.00 +[\d,]+, [\d,]+$`,
		`(?m)^2 +1 +[\d,]+ events/s +[\d,]+ events/CPU-s +\d+\.\d\d +\d+\.\d\d +[\d,]+, [\d,]+$`,
		`(?m)^2 +2 +[\d,]+ events/s +[\d,]+ events/CPU-s +\d+\.\d\d +\d+\.\d\d \(to 1 instance\) +[\d,]+, [\d,]+$`,
		`more clients, never a lower throughput: (yes|NO)`,
		`2 instances against 1, 2 clients: \d+\.\d\d \(target >= 1\): (yes|NO)`,
	} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("output lacks %s\n%s", re, out.String())
		}
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

	// Without --postgres-url it says what is missing.
	out.Reset()
	errOut.Reset()
	if code := cli.Main(context.Background(), []string{"bench", "--client-counts", "1,2"}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "--postgres-url") {
		t.Errorf("without --postgres-url: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// BenchmarkIngestClientsPostgres measures ingest on the test harness's PostgreSQL (fsync
// off) with 1, 2, 4 and 8 clients on one server, and with 8 clients over 3 servers on
// one database: b.N batches of 1,000 events each time, on a fresh database, the five
// one after the other. It reports each one's events/s and the ratios measured in the
// run: x2/x1 and so on against one client, and 3inst/1inst against one server with 8
// clients.
//
//	go test ./bench -run '^$' -bench IngestClientsPostgres -benchtime 100x
func BenchmarkIngestClientsPostgres(b *testing.B) {
	ctx := context.Background()
	u := pgtest.URL(b)
	batches := demo.Batches(bench.Events(1, b.N*demo.BatchSize), demo.BatchSize)
	scales := []bench.Scale{{Instances: 1, Clients: 1}, {Instances: 1, Clients: 2}, {Instances: 1, Clients: 4}, {Instances: 1, Clients: 8}, {Instances: 3, Clients: 8}}
	b.ResetTimer()
	res, err := bench.IngestScaling(ctx, u, b.TempDir(), batches, scales, 1, nil)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		name := fmt.Sprintf("events/s-%dc", r.Clients)
		if r.Instances > 1 {
			name = fmt.Sprintf("events/s-%dc%di", r.Clients, r.Instances)
		}
		b.ReportMetric(r.PerSecond(), name)
	}
	for _, r := range res[1:4] {
		b.ReportMetric(r.PerSecond()/res[0].PerSecond(), fmt.Sprintf("x%d/x1", r.Clients))
	}
	b.ReportMetric(res[4].PerSecond()/res[3].PerSecond(), "3inst/1inst")
}

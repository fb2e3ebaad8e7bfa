package storeopen_test

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// t0 is 2024-01-01T00:00:00Z.
const t0 int64 = 1704067200

const maxBytes = int64(math.MaxInt64)

func decodeEvents(t *testing.T, body string) []cloudmeter.Event {
	t.Helper()
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", []byte(body), ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// waypoint31 is network 31 of user 3, provisioned at t0 with hourly periods.
const waypoint31 = `{"specversion":"1.0","id":"p31","source":"up","type":"cloudmeter.resource.provisioned","time":"2024-01-01T00:00:00Z",
	 "data":{"product_id":31,"resource_type":"network","user_id":3,"infrastructure_id":30,"infrastructure_label":"i30",
	 "datacenter":"dc-a","label":"wan","subdomain":"wan.example","attributes":{"measurement_period":3600}}}`

func reading(id, at string, v string) string {
	return `{"specversion":"1.0","id":"` + id + `","source":"meter","type":"cloudmeter.traffic.metered","time":"` + at + `",
	 "data":{"product_id":31,"direction":"upload","counter":` + v + `}}`
}

// storeWith makes a data directory holding events, stored by this version.
func storeWith(t *testing.T, events []cloudmeter.Event) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := storeopen.Open(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendEvents(ctx, events, rating.Rate); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rawDB opens the data directory's database with database/sql alone.
func rawDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// notIntegers counts the traffic totals whose bytes are not an integer.
func notIntegers(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM traffic_periods WHERE typeof(bytes) <> 'integer') +
		(SELECT COUNT(*) FROM traffic_days WHERE typeof(bytes) <> 'integer')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A data directory whose traffic totals hold a REAL (what SQLite stored for a sum past
// 2^63-1 bytes before ingest refused one) is repaired when it is opened: the waypoint's
// traffic is rebuilt from its stored samples, and reads answer with the right totals.
func TestOpenRepairsTrafficTotalsStoredAsReal(t *testing.T) {
	ctx := context.Background()
	evs := decodeEvents(t, `[`+waypoint31+`,`+
		reading("r1", "2024-01-01T00:10:00Z", "1000")+`,`+reading("r2", "2024-01-01T00:20:00Z", "5000")+`,`+
		reading("r3", "2024-01-01T01:10:00Z", "2000")+`,`+reading("r4", "2024-01-02T00:10:00Z", "9000")+`]`)
	dir := storeWith(t, evs)
	want := []cloudmeter.TrafficPeriod{
		{ProductID: 31, Direction: "upload", Start: t0, Bytes: 5000, Samples: 2},
		{ProductID: 31, Direction: "upload", Start: t0 + 3600, Bytes: 2000, Samples: 1}, // a reset
		{ProductID: 31, Direction: "upload", Start: t0 + 86400, Bytes: 7000, Samples: 1},
	}

	db := rawDB(t, dir)
	exec(t, db, `UPDATE traffic_periods SET bytes = 1.8446744073709552e19 WHERE period_start = ?`, t0)
	exec(t, db, `UPDATE traffic_days SET bytes = bytes + 9223372036854775807`) // the arithmetic of the old upsert
	exec(t, db, `UPDATE traffic_samples SET bytes = 0 WHERE id = 'r2'`)        // a contribution is recomputed too
	if n := notIntegers(t, db); n != 3 {
		t.Fatalf("%d totals are not integers before the repair; the test means 3", n)
	}
	var plan string
	rows, err := db.Query(`EXPLAIN QUERY PLAN SELECT product_id, COUNT(*) FROM traffic_periods WHERE typeof(bytes) <> 'integer' GROUP BY product_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "\n"
	}
	rows.Close()
	if !strings.Contains(plan, "traffic_periods_not_integer") {
		t.Errorf("looking for totals that are not integers scans the table:\n%s", plan)
	}
	db.Close()

	st, err := storeopen.Open(ctx, dir, "")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	got, err := st.TrafficPeriods(ctx, 31)
	if err != nil {
		t.Fatalf("TrafficPeriods after the repair: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("periods after the repair (-want +got):\n%s", diff)
	}
	sums, err := st.TrafficSums(ctx, cloudmeter.TrafficQuery{UserID: 3, From: t0, To: t0 + 2*86400 - 1})
	if err != nil || len(sums) != 1 || sums[0].Bytes != 14000 {
		t.Errorf("TrafficSums after the repair = %+v, %v; want 14000 upload bytes", sums, err)
	}
	if n := notIntegers(t, rawDB(t, dir)); n != 0 {
		t.Errorf("%d totals are still not integers after the repair", n)
	}
	// The counter chain goes on from the right reading.
	if _, err := st.AppendEvents(ctx, decodeEvents(t, `[`+reading("r5", "2024-01-02T00:20:00Z", "9500")+`]`), rating.Rate); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.TrafficPeriods(ctx, 31); len(got) != 3 || got[2].Bytes != 7500 {
		t.Errorf("periods after one more reading: %+v; want the last at 7500 bytes", got)
	}
}

// A data directory whose stored samples themselves total more than 2^63-1 bytes in a
// period (accepted before ingest refused such sums) cannot be repaired: opening it fails
// with an error that names the waypoint, direction and period and says what to do, and
// changes nothing. Once the sample that should have been refused is removed, as
// docs/operations.md says, it opens and the totals are rebuilt.
func TestOpenReportsTrafficTotalsThatCannotBeRepaired(t *testing.T) {
	ctx := context.Background()
	dir := storeWith(t, decodeEvents(t, `[`+waypoint31+`,`+
		reading("r1", "2024-01-01T00:10:00Z", "9223372036854775807")+`,`+reading("r2", "2024-01-01T00:20:00Z", "0")+`]`))

	// What an earlier version stored for a third reading, 2^63-1 again, in its own batch.
	third := decodeEvents(t, `[`+reading("r3", "2024-01-01T00:30:00Z", "9223372036854775807")+`]`)[0]
	db := rawDB(t, dir)
	exec(t, db, `INSERT INTO events (source, id, product_id, type, occurred_at, subject, digest, data, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		third.Source, third.ID, third.ProductID, string(third.Type), third.Time, third.Subject, third.Digest, string(third.Data))
	exec(t, db, `INSERT INTO traffic_samples (product_id, direction, counter, occurred_at, value, source, id, bytes, period_start)
		VALUES (31, 'upload', 1, ?, ?, 'meter', 'r3', ?, ?)`, third.Time, maxBytes, maxBytes, t0)
	exec(t, db, `UPDATE traffic_counters SET occurred_at = ?, value = ?, id = 'r3'`, third.Time, maxBytes)
	exec(t, db, `UPDATE traffic_periods SET bytes = bytes + 9223372036854775807, samples = samples + 1`)
	exec(t, db, `UPDATE traffic_days SET bytes = bytes + 9223372036854775807, samples = samples + 1`)
	if n := notIntegers(t, db); n != 2 {
		t.Fatalf("%d totals are not integers; the test means 2", n)
	}
	db.Close()

	_, err := storeopen.Open(ctx, dir, "")
	if cloudmeter.KindOf(err) != cloudmeter.KindUnavailable {
		t.Fatalf("open: %v (kind %s); want the store refused as unavailable", err, cloudmeter.KindOf(err))
	}
	for _, part := range []string{"waypoint 31", "upload", "2024-01-01T00:00:00Z", "2^63-1", "docs/operations.md"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("the error %q does not name %q", err, part)
		}
	}
	db = rawDB(t, dir)
	if n := notIntegers(t, db); n != 2 {
		t.Errorf("%d totals are not integers after the refused open; want the 2 left as they were", n)
	}

	// The fix of docs/operations.md: remove the sample that should have been refused (here
	// the reset to 0, which made the third reading count in full) and open again.
	exec(t, db, `DELETE FROM traffic_samples WHERE product_id = 31 AND source = 'meter' AND id = 'r2'`)
	exec(t, db, `DELETE FROM events WHERE source = 'meter' AND id = 'r2'`)
	db.Close()
	st, err := storeopen.Open(ctx, dir, "")
	if err != nil {
		t.Fatalf("open after removing the sample: %v", err)
	}
	defer st.Close()
	got, err := st.TrafficPeriods(ctx, 31)
	want := []cloudmeter.TrafficPeriod{{ProductID: 31, Direction: "upload", Start: t0, Bytes: maxBytes, Samples: 2}}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("periods after the fix (-want +got):\n%s", diff)
	}
	if evs, err := st.ProductEvents(ctx, 31); err != nil || len(evs) != 3 {
		t.Errorf("ProductEvents(31) = %d events, %v; want the provision and 2 readings", len(evs), err)
	}
}

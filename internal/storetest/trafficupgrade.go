package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/metalsoft"
	"github.com/cloudmeter/cloudmeter/service"
)

// The upgrade to month totals of traffic (migration 00009) is tested from a database
// whose rows the code before it made: a store of the current schema ingests
// TrafficHistory, and the rows of every table the schema before 00009 has are copied
// into a database migrated to version 8 (CopyRows); migrating it up must fill
// traffic_months with what ingest keeps (MonthRows), and the opened store must answer
// the reports of the reference store byte for byte (CompareTrafficReports). These are
// the helpers the SQLite and the PostgreSQL test share.

// TrafficHistory returns the events of four waypoints of users 61 and 62 (and an
// instance of user 61) metered from November 2023 to January 2025: hourly periods;
// 3-hour periods from 22:00, across midnights, deleted in November 2024; daily periods
// from noon, provisioned on a leap day; deltas of up to 2^34 bytes (many of 2^32-1 to
// 2^32+1) and counter readings with resets, about every 13 hours. Products start at
// first, sources and ids at prefix.
func TrafficHistory(tb testing.TB, first int64, prefix string) []cloudmeter.Event {
	tb.Helper()
	return decode(tb, trafficHistoryEvents(rand.New(rand.NewSource(first)), first, prefix, 61, 62)...)
}

// trafficHistoryEvents are the events of TrafficHistory, as JSON, for users u and v.
func trafficHistoryEvents(rng *rand.Rand, first int64, prefix string, u, v int64) []string {
	d := func(y int, m time.Month, day, h int) int64 {
		return time.Date(y, m, day, h, 0, 0, 0, time.UTC).Unix() - t0
	}
	type wp struct {
		p, u, period int64
		prov, del    int64
	}
	wps := []wp{
		{first, u, 3600, d(2023, 11, 20, 7) + 13*60, 0},
		{first + 1, u, 10800, d(2023, 12, 31, 22), d(2024, 11, 3, 5)},
		{first + 2, u, 86400, d(2024, 2, 29, 12), 0},
		{first + 3, v, 3600, d(2023, 11, 20, 7), 0},
	}
	all := []string{prov(prefix+"-i", d(2023, 11, 1, 0), first+4, u, 30, "instance", "dc-a", `{"server_type_id": 1}`)}
	for _, w := range wps {
		all = append(all, waypoint(fmt.Sprint(prefix, w.p, "-p"), w.prov, w.p, w.u, w.period))
		if w.del != 0 {
			all = append(all, del(fmt.Sprint(prefix, w.p, "-d"), w.del, w.p))
		}
		var counter int64
		for i, s := 0, w.prov-86400; s < d(2025, 1, 20, 0); i, s = i+1, s+int64(9*3600+rng.Intn(8*3600)) {
			v := rng.Int63n(1 << 34)
			if rng.Intn(7) == 0 {
				v = 1<<32 - 1 + rng.Int63n(3)
			}
			all = append(all, sample(fmt.Sprint(prefix, w.p, "-u", i), s, w.p, "upload", false, v))
			if rng.Intn(40) == 0 {
				counter = 0 // a reset
			}
			counter += rng.Int63n(1 << 36)
			all = append(all, sample(fmt.Sprint(prefix, w.p, "-c", i), s+rng.Int63n(3600), w.p, "download", true, counter))
		}
	}
	rng.Shuffle(len(all), func(i, j int) {
		if rng.Intn(20) == 0 { // mostly in order, some late
			all[i], all[j] = all[j], all[i]
		}
	})
	return all
}

// TrafficHistoryLater returns events sent after the upgrade to TrafficHistory's
// waypoints (first as there): late counter readings inside stored months (one a reset),
// a late delta, and samples of February 2025.
func TrafficHistoryLater(tb testing.TB, first int64, prefix string) []cloudmeter.Event {
	tb.Helper()
	d := func(y int, m time.Month, day, h int) int64 {
		return time.Date(y, m, day, h, 0, 0, 0, time.UTC).Unix() - t0
	}
	return decode(tb,
		sample(prefix+"-l1", d(2024, 3, 31, 23)+1800, first, "download", true, 1),
		sample(prefix+"-l2", d(2024, 8, 15, 4), first+3, "download", true, 1<<40),
		sample(prefix+"-l3", d(2024, 2, 29, 23), first+2, "upload", false, 1<<33),
		sample(prefix+"-l4", d(2025, 2, 3, 10), first, "upload", false, 12345),
		sample(prefix+"-l5", d(2025, 2, 3, 11), first+1, "upload", false, 999)) // after its delete: not billed
}

// TrafficPrices is a price book whose traffic prices change in the middle of a month and
// of a day (2024-03-17T15:00:00Z), on a month (2024-07-01) and at the midnight of a
// 10th (2024-10-10).
var TrafficPrices = []byte(`{"currency": "GBP", "entries": [
	{"resource_type": "instance", "price": "0.31", "unit": "item", "period_seconds": 3600},
	{"resource_type": "network", "direction": "upload", "price": "0.06", "unit": "gb", "valid_until": "2024-03-17T15:00:00Z"},
	{"resource_type": "network", "direction": "upload", "price": "0.07", "unit": "gb", "valid_from": "2024-03-17T15:00:00Z", "valid_until": "2024-07-01T00:00:00Z"},
	{"resource_type": "network", "direction": "upload", "price": "0.05", "unit": "gb", "valid_from": "2024-07-01T00:00:00Z"},
	{"resource_type": "network", "direction": "download", "price": "0.01", "unit": "gb", "valid_until": "2024-10-10T00:00:00Z"},
	{"resource_type": "network", "direction": "download", "price": "0.02", "unit": "gb", "valid_from": "2024-10-10T00:00:00Z"}]}`)

// TrafficReportWindows are the windows CompareTrafficReports reports: those of the
// storage suite's month cases.
func TrafficReportWindows() []TrafficWindow { return trafficWindows() }

// CompareTrafficReports compares the MetalSoft detailed reports (native JSON, byte for
// byte) of users 61 and 62 over each of TrafficReportWindows in got with those in want;
// both stores hold TrafficPrices.
func CompareTrafficReports(t *testing.T, want, got cloudmeter.Store, when string) {
	t.Helper()
	ctx := context.Background()
	a, b := service.New(want, service.Options{}), service.New(got, service.Options{})
	for _, user := range []int64{61, 62} {
		for _, w := range TrafficReportWindows() {
			req := service.ReportRequest{UserID: user, Start: w.From, End: w.To}
			ua, err := a.Utilization(ctx, service.SystemKey, req)
			if err != nil {
				t.Fatalf("%s: the reference report of user %d: %v", when, user, err)
			}
			ub, err := b.Utilization(ctx, service.SystemKey, req)
			if err != nil {
				t.Fatalf("%s: the report of user %d: %v", when, user, err)
			}
			if len(ua.Traffic) == 0 && w.To-w.From > 86400 {
				t.Fatalf("%s: user %d, %s to %s: no traffic records: the test reports nothing", when, user, cloudmeter.FormatTime(w.From), cloudmeter.FormatTime(w.To))
			}
			if diff := cmp.Diff(string(metalsoft.DetailedJSON(ua)), string(metalsoft.DetailedJSON(ub))); diff != "" {
				t.Errorf("%s: user %d, %s to %s (-reference +upgraded):\n%s", when, user, cloudmeter.FormatTime(w.From), cloudmeter.FormatTime(w.To), diff)
			}
		}
	}
}

// MonthRows returns every row of traffic_months, in key order.
func MonthRows(t *testing.T, db *sql.DB) [][6]any {
	t.Helper()
	rows, err := db.Query(`SELECT product_id, direction, month_start, bytes_hi, bytes_lo, samples FROM traffic_months ORDER BY product_id, direction, month_start`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][6]any
	for rows.Next() {
		var r [6]any
		var p, ms, hi, lo, n int64
		var dir string
		if err := rows.Scan(&p, &dir, &ms, &hi, &lo, &n); err != nil {
			t.Fatal(err)
		}
		r = [6]any{p, dir, ms, hi, lo, n}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// CopyRows copies the rows of every table of from that to has too (but goose's), the
// columns to has, and returns how many it copied. dollar says to numbers its
// placeholders $1, $2 (PostgreSQL) rather than ?.
func CopyRows(t *testing.T, from, to *sql.DB, tables []string, dollar bool) int {
	t.Helper()
	tx, err := to.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	n := 0
	for _, table := range tables {
		var exists bool
		if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM `+tablesOf(dollar)+` = `+mark(dollar, 1)+`)`, table).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			continue // a table of a later schema
		}
		probe, err := tx.Query(`SELECT * FROM ` + table + ` WHERE 1 = 0`)
		if err != nil {
			t.Fatal(err)
		}
		cols, err := probe.Columns()
		probe.Close()
		if err != nil {
			t.Fatal(err)
		}
		rows, err := from.Query(`SELECT ` + strings.Join(cols, ", ") + ` FROM ` + table)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		marks := make([]string, len(cols))
		for i := range marks {
			marks[i] = mark(dollar, i+1)
		}
		insert := fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, table, strings.Join(cols, ", "), strings.Join(marks, ", "))
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(insert, vals...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			n++
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return n
}

// tablesOf is the catalog of tables of an engine, with the name column to compare.
func tablesOf(dollar bool) string {
	if dollar {
		return `information_schema.tables WHERE table_schema = current_schema() AND table_name`
	}
	return `sqlite_schema WHERE type = 'table' AND name`
}

func mark(dollar bool, i int) string {
	if dollar {
		return fmt.Sprintf("$%d", i)
	}
	return "?"
}

// SQLiteTables lists the tables of an SQLite database but goose's.
func SQLiteTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// calendarProduct is the product whose day totals AddCalendarDays writes: not a
// waypoint of any user, so no report reads them.
const calendarProduct = 999999

// calendarDays is the number of days AddCalendarDays writes: 1970-01-01 to 2299-12-31.
var calendarDays = int64(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400)

// AddCalendarDays writes an upload day total of calendarProduct for every day from 1970
// to 2299, of 2^62 + the day's number of bytes, into a database at schema 8: migration
// 9 must put each in its month (CheckCalendarMonths).
func AddCalendarDays(t *testing.T, db *sql.DB) {
	t.Helper()
	if _, err := db.Exec(fmt.Sprintf(`WITH RECURSIVE d(x) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT x + 1 FROM d WHERE x < %d)
		INSERT INTO traffic_days (product_id, direction, day_start, bytes, samples) SELECT %d, 'upload', x * 86400, %d + x, 1 FROM d`,
		calendarDays-1, calendarProduct, int64(1)<<62)); err != nil {
		t.Fatal(err)
	}
}

// CheckCalendarMonths checks the month totals migration 9 made of AddCalendarDays' days:
// one per month, each the exact sum of its days in two halves, and deletes the
// product's totals.
func CheckCalendarMonths(t *testing.T, db *sql.DB) {
	t.Helper()
	var want [][6]any
	for m := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC); m.Year() < 2300; m = m.AddDate(0, 1, 0) {
		first, next := m.Unix()/86400, m.AddDate(0, 1, 0).Unix()/86400
		sum := new(big.Int)
		for x := first; x < next; x++ {
			sum.Add(sum, big.NewInt(1<<62+x))
		}
		lo := new(big.Int).And(sum, big.NewInt(1<<32-1))
		hi := new(big.Int).Rsh(sum, 32)
		want = append(want, [6]any{int64(calendarProduct), "upload", m.Unix(), hi.Int64(), lo.Int64(), next - first})
	}
	var got [][6]any
	for _, r := range MonthRows(t, db) {
		if r[0] == int64(calendarProduct) {
			got = append(got, r)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("month totals of every day from 1970 to 2299 (-want +migrated):\n%s", diff)
	}
	for _, table := range []string{"traffic_days", "traffic_months"} {
		if _, err := db.Exec(fmt.Sprintf(`DELETE FROM %s WHERE product_id = %d`, table, calendarProduct)); err != nil {
			t.Fatal(err)
		}
	}
}

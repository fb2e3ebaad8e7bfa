package storeopen_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/internal/storetest"
	"github.com/cloudmeter/cloudmeter/migrations"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// referenceStore is a store of the current schema holding the price book and events.
func referenceStore(t *testing.T, events []cloudmeter.Event) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	ref, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Close() })
	if _, err := service.New(ref, service.Options{}).PutPrices(ctx, service.SystemKey, storetest.TrafficPrices); err != nil {
		t.Fatal(err)
	}
	for start := 0; start < len(events); start += 300 {
		if _, err := ref.AppendEvents(ctx, events[start:min(start+300, len(events))], rating.Rate); err != nil {
			t.Fatal(err)
		}
	}
	return ref
}

// A data directory at schema version 8 (before the month totals of traffic), holding
// the rows the code of that version made, is upgraded when it is opened: migration 9
// fills traffic_months from the day totals with exactly what ingest keeps, the reports of
// every window answer byte for byte as those of the store that ingested the same events,
// and go on doing so after more events (late readings among them). Migrating down to 8
// and up again gives the same month totals. Day totals of every day from 1970 to 2299
// land in their months (the migration computes them with integers alone).
func TestOpenUpgradesToTrafficMonths(t *testing.T) {
	ctx := context.Background()
	events := storetest.TrafficHistory(t, 1301, "up")
	ref := referenceStore(t, events)
	wantMonths := storetest.MonthRows(t, ref.DB())
	if len(wantMonths) < 50 {
		t.Fatalf("the reference store holds %d month totals; the test means more", len(wantMonths))
	}

	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if n := storetest.CopyRows(t, ref.DB(), db, storetest.SQLiteTables(t, ref.DB()), false); n < len(events) {
		t.Fatalf("copied %d rows, fewer than the %d events", n, len(events))
	}
	storetest.AddCalendarDays(t, db)
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatalf("migration 9: %v", err)
	}
	storetest.CheckCalendarMonths(t, db)
	if diff := cmp.Diff(wantMonths, storetest.MonthRows(t, db)); diff != "" {
		t.Errorf("traffic_months filled by migration 9 (-kept by ingest +migrated):\n%s", diff)
	}
	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatalf("migration 9 down: %v", err)
	}
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatalf("migration 9 again: %v", err)
	}
	if diff := cmp.Diff(wantMonths, storetest.MonthRows(t, db)); diff != "" {
		t.Errorf("traffic_months after migrating down and up (-kept by ingest +migrated):\n%s", diff)
	}
	db.Close()

	st, err := storeopen.Open(ctx, dir, "")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	storetest.CompareTrafficReports(t, ref, st, "after the upgrade")
	later := storetest.TrafficHistoryLater(t, 1301, "up")
	for _, s := range []cloudmeter.Store{ref, st} {
		if _, err := s.AppendEvents(ctx, later, rating.Rate); err != nil {
			t.Fatal(err)
		}
	}
	storetest.CompareTrafficReports(t, ref, st, "after more events")
	if diff := cmp.Diff(storetest.MonthRows(t, ref.DB()), storetest.MonthRows(t, st.DB())); diff != "" {
		t.Errorf("traffic_months after more events (-reference +upgraded):\n%s", diff)
	}
}

// Opening a data directory whose day totals hold a REAL (an overflowed sum stored by a
// version before the 2^63-1 rule) rebuilds the waypoint's month totals too, from its
// samples, whatever its month rows held.
func TestOpenRepairsTrafficMonths(t *testing.T) {
	ctx := context.Background()
	events := storetest.TrafficHistory(t, 1401, "rp")
	ref := referenceStore(t, events)
	dir := t.TempDir()
	st, err := storeopen.Open(ctx, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := storetest.CopyRows(t, ref.DB(), st.DB(), storetest.SQLiteTables(t, ref.DB()), false); n < len(events) {
		t.Fatalf("copied %d rows", n)
	}
	st.Close()
	db := rawDB(t, dir)
	exec(t, db, `UPDATE traffic_days SET bytes = bytes + 9223372036854775807 WHERE product_id = 1401 AND direction = 'upload' AND day_start = 1715126400`) // 2024-05-08
	exec(t, db, `UPDATE traffic_months SET bytes_hi = bytes_hi + 7 WHERE product_id = 1401`)
	if n := notIntegers(t, db); n != 1 {
		t.Fatalf("%d totals are not integers; the test means 1", n)
	}
	db.Close()
	st, err = storeopen.Open(ctx, dir, "")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	if diff := cmp.Diff(storetest.MonthRows(t, ref.DB()), storetest.MonthRows(t, st.DB())); diff != "" {
		t.Errorf("traffic_months after the repair (-reference +repaired):\n%s", diff)
	}
	storetest.CompareTrafficReports(t, ref, st, "after the repair")
}

package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/internal/storetest"
	"github.com/cloudmeter/cloudmeter/migrations"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// A PostgreSQL database at schema version 8 (before the month totals of traffic) is
// upgraded when it is opened. It is made of the rows a store of the current schema wrote
// for storetest.TrafficHistory (the rows of every table version 8 has; the code before
// migration 9 wrote the same), copied into a database migrated down to 8 (so the down
// migration runs too). Migration 9 fills traffic_months with exactly what ingest keeps,
// and puts the day totals of every day from 1970 to 2299 in their months; the opened
// store answers every report of the SQLite store that ingested the events byte for byte,
// before and after more events.
func TestOpenUpgradesToTrafficMonths(t *testing.T) {
	ctx := context.Background()
	events := storetest.TrafficHistory(t, 1501, "pg")
	ref, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if _, err := service.New(ref, service.Options{}).PutPrices(ctx, service.SystemKey, storetest.TrafficPrices); err != nil {
		t.Fatal(err)
	}
	for start := 0; start < len(events); start += 300 {
		if _, err := ref.AppendEvents(ctx, events[start:min(start+300, len(events))], rating.Rate); err != nil {
			t.Fatal(err)
		}
	}
	wantMonths := storetest.MonthRows(t, ref.DB())

	url := pgtest.URL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 8); err != nil {
		t.Fatalf("migrating down to 8: %v", err)
	}
	if n := storetest.CopyRows(t, ref.DB(), db, storetest.SQLiteTables(t, ref.DB()), true); n < len(events) {
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

	st, err := storeopen.Open(ctx, "", url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	storetest.CompareTrafficReports(t, ref, st, "after the upgrade")
	later := storetest.TrafficHistoryLater(t, 1501, "pg")
	for _, s := range []cloudmeter.Store{ref, st} {
		if _, err := s.AppendEvents(ctx, later, rating.Rate); err != nil {
			t.Fatal(err)
		}
	}
	storetest.CompareTrafficReports(t, ref, st, "after more events")
	if diff := cmp.Diff(storetest.MonthRows(t, ref.DB()), storetest.MonthRows(t, st.DB())); diff != "" {
		t.Errorf("traffic_months after more events (-SQLite +PostgreSQL):\n%s", diff)
	}
}

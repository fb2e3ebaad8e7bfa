package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/internal/storetest"
	"github.com/cloudmeter/cloudmeter/migrations"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// fixture is a data directory made by the version before span chunks (migration 8).
const fixture = "../internal/storeopen/testdata/before-span-chunks"

// A PostgreSQL database of the version before span chunks is upgraded when it is opened.
// It is made of the fixture's rows, copied into a database migrated down to version 7
// (so the down migration runs too), then opened: every product reads back as rating its
// events from scratch gives, before and after more events (late ones included) arrive.
func TestOpenUpgradesToSpanChunks(t *testing.T) {
	ctx := context.Background()
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
	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatalf("migrating down to 7: %v", err)
	}
	old, err := sql.Open("sqlite", "file:"+filepath.Join(fixture, sqlite.FileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	tables, err := old.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	copied := 0
	for _, table := range names {
		copied += copyTable(t, old, db, table)
	}
	if copied < 200 {
		t.Fatalf("copied %d rows from the fixture, want its events and more", copied)
	}

	st, err := storeopen.Open(ctx, "", url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	evs := storetest.FixtureEvents(t, fixture)
	storetest.CompareAll(t, st, evs, "after the upgrade")
	var stateless, chunks int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE rating_state IS NULL`).Scan(&stateless); err != nil || stateless != 0 {
		t.Errorf("%d products (%v) without a rating state after the upgrade, want none", stateless, err)
	}
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM span_chunks WHERE product_id = 101`).Scan(&chunks); err != nil || chunks != 2 {
		t.Errorf("product 101 has %d chunks in span_chunks (%v) after the upgrade, want those of January and February", chunks, err)
	}
	later := storetest.LaterEvents(t)
	if _, err := st.AppendEvents(ctx, later, rating.Rate); err != nil {
		t.Fatal(err)
	}
	storetest.CompareAll(t, st, append(evs, later...), "after more events")
}

// copyTable copies the rows of a table from the fixture into PostgreSQL and returns how
// many it copied.
func copyTable(t *testing.T, from, to *sql.DB, table string) int {
	t.Helper()
	rows, err := from.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	marks := make([]string, len(cols))
	for i := range marks {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	insert := fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, table, strings.Join(cols, ", "), strings.Join(marks, ", "))
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		if _, err := to.Exec(insert, vals...); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		n++
	}
	return n
}

package sqlite_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/migrations"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// Migration 6 turns resources into a rowid table on SQLite: what a store rated under
// migration 5 reads back the same after it, and after migrating down and up again.
//
// The rows of migration 5 are made as the code of that schema made them (one resources
// row per product with every span of it; the spans encoding has not changed since): by
// rating the same events in a store of the current schema, whose rows of products with a
// few spans hold all of them, and copying the columns migration 5 has. The current code
// does not run on migration 5's schema; it reads the data once the store is opened and
// migrated to the end.
func TestResourcesInArrivalOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	schema := func() string {
		var s string
		if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'resources'`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if !strings.Contains(schema(), "WITHOUT ROWID") {
		t.Fatalf("before migration 6, resources is %q; want WITHOUT ROWID", schema())
	}
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", []byte(`[
	{"specversion":"1.0","id":"p1","source":"up","type":"cloudmeter.resource.provisioned","time":"2024-01-01T00:00:00Z",
	 "data":{"product_id":7,"resource_type":"instance","user_id":3,"infrastructure_id":30,"infrastructure_label":"i30",
	 "datacenter":"dc-a","label":"vm-7","subdomain":"vm-7.example","attributes":{"server_type_id":1}}},
	{"specversion":"1.0","id":"c1","source":"up","type":"cloudmeter.resource.changed","time":"2024-01-01T01:00:00Z",
	 "data":{"product_id":7,"attributes":{"server_type_id":2}}},
	{"specversion":"1.0","id":"p2","source":"up","type":"cloudmeter.resource.provisioned","time":"2024-01-01T00:00:00Z",
	 "data":{"product_id":5,"resource_type":"drive","user_id":3,"infrastructure_id":30,"infrastructure_label":"i30",
	 "datacenter":"dc-a","label":"d-5","subdomain":"d-5.example","attributes":{"drive_size_mbytes":2048}}}]`), ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ref.AppendEvents(ctx, evs, rating.Rate); err != nil {
		t.Fatal(err)
	}
	const v5 = `user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label, subdomain, exclude_billing, attributes,
		state, provisioned_at, deleted_at, rated_generation, spans`
	rowsOf := func(db *sql.DB) [][]any {
		t.Helper()
		rows, err := db.QueryContext(ctx, `SELECT `+v5+` FROM resources ORDER BY product_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][]any
		for rows.Next() {
			vals := make([]any, 15)
			ptrs := make([]any, 15)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, vals)
		}
		return out
	}
	rated := rowsOf(ref.DB())
	ref.Close()
	for _, e := range evs {
		if _, err := db.ExecContext(ctx, `INSERT INTO events (source, id, product_id, type, occurred_at, subject, digest, data, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`, e.Source, e.ID, e.ProductID, string(e.Type), e.Time, e.Subject, e.Digest, string(e.Data)); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rated {
		if _, err := db.ExecContext(ctx, `INSERT INTO resources (`+v5+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r...); err != nil {
			t.Fatal(err)
		}
	}
	checkRows := func(when string) {
		t.Helper()
		if diff := cmp.Diff(rated, rowsOf(db)); diff != "" {
			t.Errorf("%s: resources rows (-rated under migration 5 +now):\n%s", when, diff)
		}
	}
	check := func(st *sqlite.Store, when string) {
		t.Helper()
		for _, pid := range []int64{5, 7} {
			var mine []cloudmeter.Event
			for _, e := range evs {
				if e.ProductID == pid {
					mine = append(mine, e)
				}
			}
			want := rating.Rate(pid, mine)
			res, spans, err := st.Resource(ctx, pid)
			if err != nil {
				t.Fatalf("%s: Resource(%d): %v", when, pid, err)
			}
			if diff := cmp.Diff(*want.Resource, res); diff != "" {
				t.Errorf("%s: resource %d (-rated +stored):\n%s", when, pid, diff)
			}
			if diff := cmp.Diff(want.Spans, spans); diff != "" {
				t.Errorf("%s: spans of %d (-rated +stored):\n%s", when, pid, diff)
			}
		}
		got, err := st.Spans(ctx, cloudmeter.SpanQuery{UserID: 3, From: 1704067200, To: 1704067200 + 7200})
		if err != nil || len(got) != 3 {
			t.Errorf("%s: Spans of user 3: %d spans, %v; want 3", when, len(got), err)
		}
	}
	if _, err := p.UpTo(ctx, 6); err != nil {
		t.Fatalf("migration 6: %v", err)
	}
	if s := schema(); strings.Contains(s, "WITHOUT ROWID") {
		t.Errorf("after migration 6, resources is %q; want a rowid table", s)
	}
	checkRows("after migration 6")
	if _, err := p.DownTo(ctx, 5); err != nil {
		t.Fatalf("migration 6 down: %v", err)
	}
	if s := schema(); !strings.Contains(s, "WITHOUT ROWID") {
		t.Errorf("after migrating down, resources is %q; want WITHOUT ROWID", s)
	}
	checkRows("after migrating down")
	db.Close()

	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	check(st, "after opening")
	var version int64
	if err := st.DB().QueryRowContext(ctx, `SELECT MAX(version_id) FROM goose_db_version`).Scan(&version); err != nil || version != lastMigration(t) {
		t.Errorf("schema version %d (%v) after opening; want %d", version, err, lastMigration(t))
	}
}

// lastMigration is the number of the newest migration.
func lastMigration(t *testing.T) int64 {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v, %d files", err, len(names))
	}
	n, err := strconv.ParseInt(strings.SplitN(names[len(names)-1], "_", 2)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

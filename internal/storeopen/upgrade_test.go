package storeopen_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/migrations"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// A data directory whose schema predates encoded spans (migration 3) is upgraded when it
// is opened: its products are rated again from the ledger, so their spans, resources
// and datacenters read back as rating them now gives, and the task is not left behind.
func TestOpenUpgradesSpansFromTheLedger(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 3); err != nil {
		t.Fatal(err)
	}
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", []byte(`[
	{"specversion":"1.0","id":"p1","source":"up","type":"cloudmeter.resource.provisioned","time":"2024-01-01T00:00:00Z",
	 "data":{"product_id":7,"resource_type":"instance","user_id":3,"infrastructure_id":30,"infrastructure_label":"i30",
	 "datacenter":"dc-old","label":"vm-7","subdomain":"vm-7.example","attributes":{"server_type_id":1,"server_type_name":"M.8.8"}}},
	{"specversion":"1.0","id":"c1","source":"up","type":"cloudmeter.resource.changed","time":"2024-01-01T01:00:00Z",
	 "data":{"product_id":7,"attributes":{"server_type_id":2,"server_type_name":"M.16.16"}}}]`), ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if _, err := db.ExecContext(ctx, `INSERT INTO events (source, id, product_id, type, occurred_at, subject, digest, data, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.Source, e.ID, e.ProductID, string(e.Type), e.Time, e.Subject, e.Digest, string(e.Data), time.Now().Unix()); err != nil {
			t.Fatal(err)
		}
	}
	// The derived rows as the old schema held them (one stale span is enough).
	if _, err := db.ExecContext(ctx, `INSERT INTO resources (user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label,
		subdomain, exclude_billing, attributes, state, provisioned_at, deleted_at, rated_generation)
		VALUES (3, 7, 30, 'i30', 'dc-old', 'instance', 'vm-7', 'vm-7.example', 0, '{}', 'active', 1704067200, 0, 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO spans (user_id, product_id, starts_at, ends_at, infrastructure_id, datacenter, type, label,
		subdomain, exclude_billing, state) VALUES (3, 7, 1704067200, 4611686018427387903, 30, 'dc-old', 'instance', 'vm-7', 'vm-7.example', 0, 'active')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := storeopen.Open(ctx, dir, "")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	want := rating.Rate(7, evs)
	res, spans, err := st.Resource(ctx, 7)
	if err != nil {
		t.Fatalf("resource after the upgrade: %v", err)
	}
	if diff := cmp.Diff(*want.Resource, res); diff != "" {
		t.Errorf("resource (-rated +stored):\n%s", diff)
	}
	if len(want.Spans) != 2 {
		t.Fatalf("rating gave %d spans, the test expects 2 (a type change)", len(want.Spans))
	}
	if diff := cmp.Diff(want.Spans, spans); diff != "" {
		t.Errorf("spans (-rated +stored):\n%s", diff)
	}
	if ok, err := st.DatacenterExists(ctx, "dc-old"); err != nil || !ok {
		t.Errorf("DatacenterExists(dc-old) = %v, %v after the upgrade", ok, err)
	}
	var tasks int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM store_tasks`).Scan(&tasks); err != nil || tasks != 0 {
		t.Errorf("store_tasks holds %d rows (%v) after the upgrade, want none", tasks, err)
	}
	got, err := st.Spans(ctx, cloudmeter.SpanQuery{UserID: 3, From: 1704067200, To: 1704067200 + 7200})
	if err != nil || len(got) != 2 {
		t.Errorf("Spans after the upgrade: %d spans, %v; want 2", len(got), err)
	}
}

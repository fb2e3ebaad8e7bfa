package pgtest_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestURL checks that each call gives a database of its own, already migrated.
func TestURL(t *testing.T) {
	a, b := pgtest.URL(t), pgtest.URL(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	da, db := open(t, a), open(t, b)
	var migrated bool
	if err := da.QueryRow(`SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'events')`).Scan(&migrated); err != nil || !migrated {
		t.Fatalf("the database has no events table (%v): not migrated", err)
	}
	if _, err := da.Exec(`CREATE TABLE only_in_a (x INT)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'only_in_a'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a table made in one test database is seen in another (%d, %v)", n, err)
	}
}

// TestServerStopStart checks a server of the test's own: unreachable while stopped, and
// after an immediate stop and a start, it still holds what was committed.
func TestServerStopStart(t *testing.T) {
	s := pgtest.NewServer(t)
	db := open(t, s.URL())
	if _, err := db.Exec(`CREATE TABLE ledger (id INT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		if _, err := db.Exec(`INSERT INTO ledger VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	s.Stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("the stopped server answered a ping")
	}
	s.Start(t)
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ledger`).Scan(&n); err != nil || n != 100 {
		t.Fatalf("after an immediate stop and a start: %d rows (%v), want the 100 committed", n, err)
	}
}

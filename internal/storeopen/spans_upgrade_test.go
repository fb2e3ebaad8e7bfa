package storeopen_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/internal/storetest"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// fixture is the data directory the version before span chunks made (testdata/README.md).
const fixture = "testdata/before-span-chunks"

// copyFixture copies the fixture's database into a new data directory.
func copyFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(fixture, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sqlite.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A data directory made before span chunks (migration 8) is upgraded when it is opened:
// every product is rated again into chunks with a state, and reads back as rating its
// events from scratch gives, before and after more events (late ones included) arrive.
func TestOpenUpgradesToSpanChunks(t *testing.T) {
	ctx := context.Background()
	evs := storetest.FixtureEvents(t, fixture)
	st, err := storeopen.Open(ctx, copyFixture(t), "")
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	storetest.CompareAll(t, st, evs, "after the upgrade")
	var tasks, stateless, chunks int
	db := st.DB()
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM store_tasks`).Scan(&tasks); err != nil || tasks != 0 {
		t.Errorf("store_tasks holds %d rows (%v) after the upgrade, want none", tasks, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE rating_state IS NULL`).Scan(&stateless); err != nil || stateless != 0 {
		t.Errorf("%d products (%v) without a rating state after the upgrade, want none", stateless, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM span_chunks WHERE product_id = 101`).Scan(&chunks); err != nil || chunks != 2 {
		t.Errorf("product 101 (150 power events from January to March) has %d chunks in span_chunks (%v) after the upgrade, want those of January and February", chunks, err)
	}
	later := storetest.LaterEvents(t)
	if _, err := st.AppendEvents(ctx, later, rating.Rate); err != nil {
		t.Fatal(err)
	}
	storetest.CompareAll(t, st, append(evs, later...), "after more events")
}

// Without the re-rating the upgrade leaves to code (a store opened by the engine
// alone), products keep every span in their resources row and no state: they read back
// the same, and their next events rate them from their whole history.
func TestSpanChunksReadRowsNotYetRated(t *testing.T) {
	ctx := context.Background()
	evs := storetest.FixtureEvents(t, fixture)
	st, err := sqlite.Open(ctx, copyFixture(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer st.Close()
	var stateless int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE rating_state IS NULL`).Scan(&stateless); err != nil || stateless != 5 {
		t.Errorf("%d products (%v) without a rating state, want the 5 the fixture rated", stateless, err)
	}
	storetest.CompareAll(t, st, evs, "migrated, not rated again")
	later := storetest.LaterEvents(t)
	if _, err := st.AppendEvents(ctx, later, rating.Rate); err != nil {
		t.Fatal(err)
	}
	storetest.CompareAll(t, st, append(evs, later...), "after more events")
}

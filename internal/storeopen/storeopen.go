// Package storeopen opens the store and chooses the storage engine: PostgreSQL when a database URL is given,
// otherwise the embedded SQLite database in the data directory.
package storeopen

import (
	"context"
	"log/slog"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/postgres"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/sqlite"
	"github.com/cloudmeter/cloudmeter/sqlstore"
)

// Open opens the store: PostgreSQL at databaseURL when it is set, SQLite in dataDir
// otherwise. Pending migrations are applied, and the work they leave to code is done.
// Traffic totals that an earlier version stored past 2^63-1 bytes (a REAL on SQLite) are
// rebuilt from the stored samples, each repaired waypoint logged as a warning by the
// default slog logger (docs/operations.md, "Traffic totals").
//
// Errors: KindInvalid for a URL that is not a postgres:// URL; KindUnavailable when the
// database cannot be reached or migrated, or holds traffic totals that cannot be
// repaired (the message names them and says what to do).
func Open(ctx context.Context, dataDir, databaseURL string) (*sqlstore.Store, error) {
	var st *sqlstore.Store
	var err error
	switch {
	case databaseURL == "":
		st, err = sqlite.Open(ctx, dataDir)
	case !postgres.IsURL(databaseURL):
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "database URL %s: must start with postgres:// (leave it unset for SQLite in the data directory)", postgres.Redact(databaseURL))
	default:
		st, err = postgres.Open(ctx, databaseURL)
	}
	if err != nil {
		return nil, err
	}
	// Work a migration left to code, such as re-rating products whose derived rows
	// changed shape, is done before anyone reads them.
	if err := st.FinishMigrations(ctx, rating.Rate); err != nil {
		st.Close()
		return nil, err
	}
	repaired, err := st.RepairTraffic(ctx)
	for _, r := range repaired {
		slog.Default().Warn("repaired the traffic totals of a waypoint: they held sums past 2^63-1 bytes stored by an earlier version; rebuilt from its stored samples",
			"product_id", r.ProductID, "periods", r.Periods, "days", r.Days)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// Describe names where the store lives, without secrets.
func Describe(dataDir, databaseURL string) string {
	if databaseURL != "" {
		return postgres.Redact(databaseURL)
	}
	return "sqlite in " + dataDir
}

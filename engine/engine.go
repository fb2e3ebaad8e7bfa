// Package engine chooses the storage engine: PostgreSQL when a database URL is given,
// otherwise the embedded SQLite database in the data directory.
package engine

import (
	"context"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/postgres"
	"github.com/cloudmeter/cloudmeter/sqlite"
	"github.com/cloudmeter/cloudmeter/sqlstore"
)

// Open opens the store: PostgreSQL at databaseURL when it is set, SQLite in dataDir
// otherwise. Pending migrations are applied.
//
// Errors: KindInvalid for a URL that is not a postgres:// URL; KindUnavailable when the
// database cannot be reached or migrated.
func Open(ctx context.Context, dataDir, databaseURL string) (*sqlstore.Store, error) {
	if databaseURL == "" {
		return sqlite.Open(ctx, dataDir)
	}
	if !postgres.IsURL(databaseURL) {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "database URL %s: must start with postgres:// (leave it unset for SQLite in the data directory)", postgres.Redact(databaseURL))
	}
	return postgres.Open(ctx, databaseURL)
}

// Describe names where the store lives, without secrets.
func Describe(dataDir, databaseURL string) string {
	if databaseURL != "" {
		return postgres.Redact(databaseURL)
	}
	return "sqlite in " + dataDir
}

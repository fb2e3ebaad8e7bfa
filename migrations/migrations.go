// Package migrations holds the database schema of cloudmeter as goose migrations, one
// source of truth for every engine. The SQL stays within what SQLite, PostgreSQL and
// PostgreSQL-compatible distributed engines accept: BIGINT and TEXT columns, composite
// primary keys that lead with the user where a user is known, no sequences, no
// engine-only functions.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS

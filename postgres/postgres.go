// Package postgres opens cloudmeter's store on a PostgreSQL server (jackc/pgx/v5 through
// database/sql), for several instances on one database. The SQL is the shared sqlstore
// SQL, kept within what PostgreSQL-compatible distributed engines accept.
//
// Several instances may write at once, and several batches of one instance (sqlstore,
// locks.go): batches of one instance that share a product run one after the other,
// waiting in the process; in the database a batch reads and rates its products without
// locks, then locks them (rows of rating_locks, in ascending order) and rates again,
// from the events stored now, those another transaction wrote meanwhile. A transaction
// is run again after a serialization failure or a deadlock. Migrations take a
// session-level advisory lock, so instances that start together apply them once.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/migrations"
	"github.com/cloudmeter/cloudmeter/sqlstore"
)

// IsURL reports whether s names a PostgreSQL database.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact hides the password of a database URL for messages and logs.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Open connects to the database at dbURL and applies pending migrations. It fails with a
// clear KindUnavailable error, within the URL's connect_timeout (5 s when absent), when
// the server cannot be reached, and with KindInvalid when the URL is malformed.
func Open(ctx context.Context, dbURL string) (*sqlstore.Store, error) {
	cfg, err := pgconn.ParseConfig(dbURL)
	if err != nil || !IsURL(dbURL) {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "database URL %s: must look like postgres://user:password@host:5432/dbname?sslmode=disable", Redact(dbURL))
	}
	if cfg.ConnectTimeout == 0 {
		dbURL = withParam(dbURL, "connect_timeout", "5")
	}
	connCfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "database URL %s: %v", Redact(dbURL), err)
	}
	db := stdlib.OpenDB(*connCfg, stdlib.OptionAfterConnect(genericPlans))
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, cloudmeter.Errorf(cloudmeter.KindUnavailable, "database %s cannot be reached: %v", Redact(dbURL), connMessage(err))
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		db.Close()
		return nil, cloudmeter.Internal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, cloudmeter.Internal(fmt.Errorf("migrations: %w", err))
	}
	if _, err := p.Up(ctx); err != nil {
		db.Close()
		return nil, cloudmeter.Errorf(cloudmeter.KindUnavailable, "database %s: migration failed: %v", Redact(dbURL), err)
	}
	return sqlstore.New(db, Dialect{}), nil
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver

// genericPlans makes a new connection plan each prepared statement once, for any values
// of its parameters (PostgreSQL 12 and later; an engine without the setting goes on
// without it). PostgreSQL otherwise plans a statement anew for each execution while
// those plans look cheaper than a generic one, and a list of 128 or 256 product ids
// against a table that has not yet been analyzed (a new database, the first minutes of
// ingest) is planned as a sequential scan: each batch then reads the whole events table,
// a cost that grows with what is stored and more so with more clients, whose
// connections each make that choice (docs/benchmarks.md, "PostgreSQL with more
// clients"). Every statement of cloudmeter looks rows up by key, which an index serves
// whatever the values.
func genericPlans(ctx context.Context, conn *pgx.Conn) error {
	_, _ = conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan")
	return nil
}

func withParam(u, k, v string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + k + "=" + v
}

// connMessage keeps the useful part of a connection error.
func connMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message + " (SQLSTATE " + pe.Code + ")"
	}
	return err.Error()
}

// Dialect is PostgreSQL's sqlstore.Dialect.
type Dialect struct{}

// Name implements sqlstore.Dialect.
func (Dialect) Name() string { return "postgres" }

// NumberedPlaceholders implements sqlstore.Dialect: PostgreSQL takes $1, $2 ...
func (Dialect) NumberedPlaceholders() bool { return true }

// LockProducts implements sqlstore.Dialect: instances write concurrently.
func (Dialect) LockProducts() bool { return true }

// OneWriter implements sqlstore.Dialect: PostgreSQL runs writers side by side.
func (Dialect) OneWriter() bool { return false }

// Retryable implements sqlstore.Dialect: serialization failures and deadlocks.
func (Dialect) Retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Translate implements sqlstore.Dialect, by SQLSTATE class.
func (Dialect) Translate(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return &cloudmeter.Error{Kind: cloudmeter.KindConflict, Message: "the record already exists", Err: err}
		case pe.Code == "40001" || pe.Code == "40P01":
			return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database aborted a conflicting transaction; retry", Err: err}
		case pe.Code == "22003": // numeric_value_out_of_range
			return &cloudmeter.Error{Kind: cloudmeter.KindInvalid, Message: sqlstore.TrafficTooLarge, Err: err}
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57"):
			return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database is unavailable: " + pe.Message, Err: err}
		}
		return nil
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.Is(err, sql.ErrConnDone) || pgconn.SafeToRetry(err) || isNetErr(err) {
		return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database cannot be reached", Err: err}
	}
	return nil
}

func isNetErr(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "conn closed")
}

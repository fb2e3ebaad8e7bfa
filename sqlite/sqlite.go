// Package sqlite implements cloudmeter.Store on an embedded SQLite database (pure Go,
// modernc.org/sqlite) in a data directory. It is the zero-set-up default.
//
// Writers take the database lock at BEGIN (_txlock=immediate) and wait for it up to the
// busy timeout, so concurrent requests queue instead of failing with SQLITE_BUSY. WAL
// with synchronous=NORMAL keeps every committed transaction across a crash of the
// process (kill -9); a power loss may lose the last transactions before a checkpoint.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/migrations"
)

// FileName is the database file inside the data directory.
const FileName = "cloudmeter.db"

// Store is a cloudmeter.Store on SQLite.
type Store struct {
	db *sql.DB
}

var _ cloudmeter.Store = (*Store)(nil)

// Open opens (creating it if needed) the database in dataDir and applies pending
// migrations.
func Open(ctx context.Context, dataDir string) (*Store, error) {
	if dataDir == "" {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "data directory: must be set (--data-dir or CLOUDMETER_DATA_DIR)")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, cloudmeter.Errorf(cloudmeter.KindUnavailable, "data directory %s cannot be created: %v", dataDir, err)
	}
	path := filepath.Join(dataDir, FileName)
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, cloudmeter.Errorf(cloudmeter.KindUnavailable, "database %s: %v", path, err)
	}
	// One writer at a time is all SQLite allows; a few connections let reads run beside it.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, migrations.FS)
	if err != nil {
		return cloudmeter.Internal(fmt.Errorf("migrations: %w", err))
	}
	if _, err := p.Up(ctx); err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "database migration failed: %v", err)
	}
	return nil
}

// DB exposes the database handle for benchmarks that measure raw insert rates.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return storeErr(err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// storeErr translates driver errors into domain errors, by SQLite result code.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var ce *cloudmeter.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the request was cancelled or timed out", Err: err}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT:
			return &cloudmeter.Error{Kind: cloudmeter.KindConflict, Message: "the record already exists", Err: err}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database is busy; retry", Err: err}
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
			return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database cannot be written", Err: err}
		}
	}
	return cloudmeter.Internal(err)
}

// Package sqlite opens cloudmeter's store on an embedded SQLite database (pure Go,
// modernc.org/sqlite) in a data directory. It is the zero-set-up default.
//
// Writers take the database lock at BEGIN (_txlock=immediate) and wait for it up to the
// busy timeout, so concurrent requests queue instead of failing with SQLITE_BUSY, and two
// transactions never rate the same product at once. WAL with synchronous=NORMAL keeps
// every committed transaction across a crash of the process (kill -9); a power loss may
// lose the last transactions before a checkpoint.
//
// The page cache is 64 MiB, and the WAL is copied back into the database every 10,000
// pages (about 40 MiB) rather than every 1,000: index pages that many batches touch are
// then written back once instead of many times (about 8 % more ingest, measured).
//
// Reads run beside the writer on connections of their own (WAL readers never wait for
// it), and read the database file through a memory map (mmap_size, the first GiB of the
// file). Without the map, every commit empties the page cache of every other connection,
// so under ingest each report read its pages again with read calls, into buffers
// allocated under the one mutex that all connections' page caches share in this build of
// SQLite (SQLITE_ENABLE_MEMORY_MANAGEMENT), the writer's included. Through the map a
// reader copies and caches nothing, and holds that mutex only for pages still in the WAL.
// A read error of the disk under the map stops the process (SIGBUS) instead of failing
// the query.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/migrations"
	"github.com/cloudmeter/cloudmeter/sqlstore"
)

// FileName is the database file inside the data directory.
const FileName = "cloudmeter.db"

// maxConns is the most connections a store opens: the writer's and readers'.
const maxConns = 8

// Store is the SQL store opened on SQLite.
type Store = sqlstore.Store

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
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(10000)&_pragma=temp_store(MEMORY)&_pragma=mmap_size(1073741824)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, cloudmeter.Errorf(cloudmeter.KindUnavailable, "database %s: %v", path, err)
	}
	// One writer at a time is all SQLite allows (sqlstore queues writers in the process);
	// the other connections let reads run beside it. With 4, four reports reading their
	// spans left the writer's transaction and the key lookups of other requests waiting
	// for a connection (measured with cloudmeter bench --mixed).
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
	if err != nil {
		db.Close()
		return nil, cloudmeter.Internal(fmt.Errorf("migrations: %w", err))
	}
	if _, err := p.Up(ctx); err != nil {
		db.Close()
		return nil, cloudmeter.Errorf(cloudmeter.KindUnavailable, "database %s: migration failed: %v", path, err)
	}
	return sqlstore.New(db, Dialect{}), nil
}

// Dialect is SQLite's sqlstore.Dialect.
type Dialect struct{}

// Name implements sqlstore.Dialect.
func (Dialect) Name() string { return "sqlite" }

// NumberedPlaceholders implements sqlstore.Dialect: SQLite takes ?.
func (Dialect) NumberedPlaceholders() bool { return false }

// LockProducts implements sqlstore.Dialect: immediate transactions already serialize
// every writer.
func (Dialect) LockProducts() bool { return false }

// OneWriter implements sqlstore.Dialect: SQLite lets one transaction write at a time.
func (Dialect) OneWriter() bool { return true }

// Retryable implements sqlstore.Dialect.
func (Dialect) Retryable(err error) bool { return false }

// Translate implements sqlstore.Dialect, by SQLite result code.
func (Dialect) Translate(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_ERROR:
		if strings.Contains(se.Error(), "integer overflow") {
			return &cloudmeter.Error{Kind: cloudmeter.KindInvalid, Message: sqlstore.TrafficTooLarge, Err: err}
		}
	case sqlite3.SQLITE_CONSTRAINT:
		return &cloudmeter.Error{Kind: cloudmeter.KindConflict, Message: "the record already exists", Err: err}
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database is busy; retry", Err: err}
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
		return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database cannot be written", Err: err}
	}
	return nil
}

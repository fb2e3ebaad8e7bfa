// Package sqlstore implements cloudmeter.Store over database/sql with SQL that SQLite,
// PostgreSQL and PostgreSQL-compatible distributed engines all accept. Each engine
// package (sqlite, postgres) opens the database, applies the migrations and supplies a
// Dialect: how to write placeholders, how to read its error codes, and whether
// concurrent writers must lock the products they re-rate.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cloudmeter/cloudmeter"
)

// Dialect is what differs between engines.
type Dialect interface {
	// Name names the engine in messages ("sqlite", "postgres").
	Name() string
	// NumberedPlaceholders reports whether queries use $1, $2 ... instead of ?.
	NumberedPlaceholders() bool
	// LockProducts reports whether concurrent transactions can rate the same product, so
	// that AppendEvents must lock the products it rates (locks.go).
	LockProducts() bool
	// OneWriter reports whether the engine lets one transaction write at a time. The
	// store then queues its writers in the process, in arrival order, instead of leaving
	// them to poll the database lock, and commits the ingest batches that queued together
	// in one transaction (group.go).
	OneWriter() bool
	// Translate turns a driver error into a domain error by the engine's error codes, or
	// returns nil when it does not know the error.
	Translate(err error) error
	// Retryable reports whether a transaction that failed with err can be run again
	// (serialization failures, deadlocks).
	Retryable(err error) bool
}

// Store is a cloudmeter.Store on one SQL database.
type Store struct {
	db *sql.DB
	d  Dialect

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt // prepared statements by query text (see prepared)
	pending map[string]bool      // query texts to prepare once their transaction is over

	// writer is the writer lock (a semaphore of one) taken by AppendEvents and Rerate
	// when the dialect has OneWriter; queue holds the batches waiting for the next group
	// commit (group.go).
	writer  chan struct{}
	queueMu sync.Mutex
	queue   []*appendRequest

	commits, committedBatches atomic.Uint64 // see IngestStats

	gate gate // on engines with several writers, who may ingest now (locks.go)
}

var _ cloudmeter.Store = (*Store)(nil)

// New returns a Store over an open, migrated database.
func New(db *sql.DB, d Dialect) *Store {
	return &Store{db: db, d: d, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}, writer: make(chan struct{}, 1)}
}

// DB exposes the database handle for benchmarks that measure raw insert rates.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the engine's dialect.
func (s *Store) Dialect() Dialect { return s.d }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.err(err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.mu.Unlock()
	return s.db.Close()
}

// rb rewrites ? placeholders for engines that number them. The queries of this
// package hold no ? inside string literals.
func (s *Store) rb(q string) string {
	if !s.d.NumberedPlaceholders() || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + len(q)/4)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// err translates a driver error into a domain error.
func (s *Store) err(err error) error {
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
	if t := s.d.Translate(err); t != nil {
		return t
	}
	return cloudmeter.Internal(err)
}

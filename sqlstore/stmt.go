package sqlstore

import (
	"context"
	"database/sql"
	"strings"
)

// maxRows bounds the rows of one multi-row statement. Statements are prepared once per
// distinct text and kept (see prepared), so a batch of n rows is written by statements of
// power-of-two sizes: at most log2(maxRows)+1 distinct texts per table, each parsed once
// per connection instead of once per batch.
const maxRows = 256

// rowCounts splits n rows into statement sizes: as many maxRows as fit, then the powers
// of two of the rest, largest first.
func rowCounts(n int) []int {
	var out []int
	for n > 0 {
		k := maxRows
		for k > n {
			k >>= 1
		}
		out = append(out, k)
		n -= k
	}
	return out
}

// placeholders returns "(?,?,?),(?,?,?)" for n rows of cols columns.
func placeholders(n, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	var b strings.Builder
	b.Grow(n * (len(row) + 1))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

// rowsStatement is a statement over a variable number of rows: head, then n rows of cols
// placeholders each ("(?,?),(?,?)"), or with in set, one list of n placeholders
// ("(?,?,?)"), then tail.
type rowsStatement struct {
	head, tail string
	cols       int
	in         bool
}

func (r rowsStatement) text(n int) string {
	if r.in {
		return r.head + inList(n) + r.tail
	}
	return r.head + placeholders(n, r.cols) + r.tail
}

// prepared returns the statement for query (written with ? placeholders) bound to tx:
// the store's prepared statement when it has one (reused on the transaction's
// connection). Otherwise the statement is prepared in the transaction, for its length,
// and noted: preparePending prepares it for the store once the transaction is over. It
// must not be prepared through the pool here: that takes a second connection while the
// transaction holds one, and with every connection held by a waiting writer it would
// wait forever.
func (s *Store) prepared(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st, ok := s.stmts[query]
	if !ok {
		s.pending[query] = true
	}
	s.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	st, err := tx.PrepareContext(ctx, s.rb(query))
	if err != nil {
		return nil, s.err(err)
	}
	return st, nil
}

// preparePending prepares, for the store, the statements transactions met unprepared.
// It runs outside any transaction of the caller; a statement that fails to prepare is
// tried again next time it is met.
func (s *Store) preparePending(ctx context.Context) {
	s.mu.Lock()
	queries := make([]string, 0, len(s.pending))
	for q := range s.pending {
		queries = append(queries, q)
	}
	clear(s.pending)
	s.mu.Unlock()
	for _, q := range queries {
		st, err := s.db.PrepareContext(ctx, s.rb(q))
		if err != nil {
			continue
		}
		s.mu.Lock()
		if _, ok := s.stmts[q]; ok || s.stmts == nil {
			st.Close() // prepared meanwhile, or the store was closed
		} else {
			s.stmts[q] = st
		}
		s.mu.Unlock()
	}
}

// execRows runs r over rows of r.cols values each (args holds them row after row).
func (s *Store) execRows(ctx context.Context, tx *sql.Tx, r rowsStatement, args []any) error {
	for _, n := range rowCounts(len(args) / r.cols) {
		st, err := s.prepared(ctx, tx, r.text(n))
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, args[:n*r.cols]...); err != nil {
			return s.err(err)
		}
		args = args[n*r.cols:]
	}
	return nil
}

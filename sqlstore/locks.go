package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"

	"github.com/cloudmeter/cloudmeter"
)

// Product locks, on engines where several transactions write at once (Dialect.LockProducts).
//
// Two transactions must never rate one product from different sets of its events, so a
// transaction that rates a product holds the product's row of rating_locks, locked,
// until it commits, and every transaction that stores an event of a product adds one to
// the row's generation. A batch takes those locks as late as it can: it reads the
// generations of its products, then what rating them needs (their stored state or
// events), stores its own events and rates its products, all without a lock, and only
// then locks the products (in ascending order, waiting for the transactions that hold
// them to end) and compares each generation with the one it read. A product whose
// generation moved was written by a transaction that committed in between: it is rated
// again, from what is stored now (rerateMoved). Two batches that share a few products
// therefore wait on each other only for the time one of them takes from its locks to
// its commit, not for its whole transaction.
//
// Batches of one process that share products do not even meet there: the gate below
// lets one of them read and rate while the one before holds its locks, and holds the
// others back, holding nothing, until then. (Locking every product first, as before,
// made every batch of one cloud sent by several clients wait for the whole transaction
// of the one before, about 20 shared products in 1,000 being enough, while holding the
// locks it had taken so far, so that the next ones waited on it in turn: ingest with 8
// clients ran at 0.6 of one client's. docs/benchmarks.md, "PostgreSQL with more
// clients".)
//
// Locks are taken in one order by every transaction: the keys of the events it inserts
// (a concurrent insert of the same key waits for the first) in one order (insertOrder);
// then the products, in ascending order; then the rows of users, infrastructures and
// datacenters, in key order (owners.go). No two transactions can wait on each other in a
// cycle, and a batch waits at the gate before its transaction begins, holding nothing.

var lockRating = rowsStatement{head: `INSERT INTO rating_locks (product_id, generation) VALUES `,
	tail: ` ON CONFLICT (product_id) DO UPDATE SET generation = rating_locks.generation + 1`, cols: 2}

// lockMoved returns the statement that locks n products, given as n rows of (product,
// generation read), in ascending order, and returns those whose generation was not the
// one read: another transaction wrote them since.
func lockMoved(n int) string {
	var b strings.Builder
	b.WriteString(`WITH v (product_id, generation) AS (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(CAST(? AS BIGINT), CAST(? AS BIGINT))`)
	}
	b.WriteString(`), locked AS (INSERT INTO rating_locks (product_id, generation) SELECT product_id, 1 FROM v ORDER BY product_id
		ON CONFLICT (product_id) DO UPDATE SET generation = rating_locks.generation + 1 RETURNING product_id, generation)
		SELECT locked.product_id FROM locked JOIN v ON v.product_id = locked.product_id WHERE locked.generation <> v.generation + 1`)
	return b.String()
}

// generations are the rating_locks generations of a batch's products as read before they
// were locked (0 for a product without a row).
type generations map[int64]int64

// readGenerations returns the generations of products, or nil on an engine that does
// not lock products. It must run before the products' events are read.
func (s *Store) readGenerations(ctx context.Context, tx *sql.Tx, products []int64) (generations, error) {
	if !s.d.LockProducts() {
		return nil, nil
	}
	out := make(generations, len(products))
	for _, p := range products {
		out[p] = 0
	}
	// One array parameter rather than lists of placeholders: PostgreSQL plans a list of
	// 256 values against a table of some ten thousand rows as a sequential scan.
	rows, err := tx.QueryContext(ctx, s.rb(`SELECT product_id, generation FROM rating_locks WHERE product_id = ANY(?)`), products)
	if err != nil {
		return nil, s.err(err)
	}
	if err := scanGenerations(rows, out); err != nil {
		return nil, s.err(err)
	}
	return out, nil
}

// lockProducts locks the rows of products, which must be in ascending order (Rerate
// locks them before it reads their events).
func (s *Store) lockProducts(ctx context.Context, tx *sql.Tx, products []int64) error {
	args := make([]any, 0, len(products)*2)
	for _, p := range products {
		args = append(args, p, 1)
	}
	return s.execRows(ctx, tx, lockRating, args)
}

// scanGenerations reads (product_id, generation) rows into into and closes them.
func scanGenerations(rows *sql.Rows, into generations) error {
	defer rows.Close()
	for rows.Next() {
		var p, g int64
		if err := rows.Scan(&p, &g); err != nil {
			return err
		}
		into[p] = g
	}
	return rows.Err()
}

// lockRated locks the batch's products, whose generations were read as read, and calls
// rerate with those of rated (in ascending order) that another transaction wrote since
// they were read: their ratings must be made again from what is stored now.
func (s *Store) lockRated(ctx context.Context, tx *sql.Tx, read generations, rated []int64, rerate func(moved []int64) error) error {
	written := map[int64]bool{}
	rest := keys(read)
	for _, n := range rowCounts(len(rest)) {
		args := make([]any, 0, n*2)
		for _, p := range rest[:n] {
			args = append(args, p, read[p])
		}
		rest = rest[n:]
		st, err := s.prepared(ctx, tx, lockMoved(n))
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return s.err(err)
		}
		for rows.Next() {
			var p int64
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return s.err(err)
			}
			written[p] = true
		}
		if err := rows.Close(); err != nil {
			return s.err(err)
		}
	}
	if t, ok := ctx.Value(ticketKey{}).(*ticket); ok {
		t.locked() // the next batch of these products may begin (gate, below)
	}
	var moved []int64
	for _, p := range rated {
		if written[p] {
			moved = append(moved, p)
		}
	}
	if len(moved) == 0 {
		return nil
	}
	return rerate(moved)
}

// rerateMoved returns the function lockRated calls with the products another transaction
// wrote between the batch's reading and locking them. It rates each again from what is
// stored now, as the first rating did: from the product's stored state, read again, with
// the batch's events (news), or from all its stored events (the batch's included) when
// it has no state or the rate function is not rating.Rate; and it replaces the product's
// write and rating (rated, writes and ratings are in product order, one per rated
// product).
func (r *rater) rerateMoved(ctx context.Context, rated []int64, news map[int64][]cloudmeter.Event, writes []productWrite,
	ratings []cloudmeter.Rating) func(moved []int64) error {
	return func(moved []int64) error {
		again := &rater{s: r.s, tx: r.tx, rate: r.rate, incremental: r.incremental, existing: map[int64][]cloudmeter.Event{}}
		if r.incremental {
			var err error
			if again.rows, err = r.s.loadRows(ctx, r.tx, moved); err != nil {
				return err
			}
		}
		var replay []int64
		for _, p := range moved {
			if row := again.rows[p]; row == nil || row.state == nil {
				replay = append(replay, p)
			}
		}
		stored, err := r.s.loadEvents(ctx, r.tx, replay)
		if err != nil {
			return err
		}
		for _, p := range moved {
			i, found := slices.BinarySearch(rated, p)
			if !found {
				continue
			}
			if row := again.rows[p]; row == nil || row.state == nil {
				writes[i], ratings[i] = again.rateAll(p, stored[p])
			} else if writes[i], ratings[i], err = again.product(ctx, p, news[p]); err != nil {
				return err
			}
		}
		return nil
	}
}

// insertOrder returns the batch's events to insert (indexes into events) in one order of
// their keys (id, then source) on an engine that locks products, so that two
// transactions inserting the same keys take them in one order; elsewhere as they are.
func (s *Store) insertOrder(events []cloudmeter.Event, candidates []int) []int {
	if !s.d.LockProducts() {
		return candidates
	}
	out := slices.Clone(candidates)
	slices.SortFunc(out, func(a, b int) int {
		return cmp.Or(cmp.Compare(events[a].ID, events[b].ID), cmp.Compare(events[a].Source, events[b].Source))
	})
	return out
}

// gate admits a store's ingest transactions so that, for each product, at most one
// transaction of this process that has not yet locked its products rates it: a batch
// that shares a product with one still before its locks (or with an earlier waiting
// batch) waits, holding no connection and no lock, until that one holds its locks. So
// batches of one process that share products form a pipeline of two: one writes and
// commits under its locks while the next reads and rates, and waits in the database only
// for the first one's commit, never behind a chain of batches that each hold part of
// their locks while waiting for the next. Batches of other processes still meet at the
// locks above.
type gate struct {
	mu       sync.Mutex
	unlocked map[int64]bool // the products of the admitted batches that do not hold their locks yet
	waiting  []*ticket      // in arrival order
	wanted   map[int64]bool // admit's scratch: the products of the batches it leaves waiting
}

// ticket is one batch's passage through the gate.
type ticket struct {
	g        *gate
	products []int64
	admitted chan struct{}
	unlocked bool // admitted and not yet holding its locks
}

type ticketKey struct{}

// gated returns ctx carrying the ticket of the batch of events through the store's gate,
// on an engine that locks products (ctx as it is elsewhere).
func (s *Store) gated(ctx context.Context, events []cloudmeter.Event) context.Context {
	if !s.d.LockProducts() {
		return ctx
	}
	seen := make(map[int64]bool, len(events))
	t := &ticket{g: &s.gate}
	for i := range events {
		if p := events[i].ProductID; !seen[p] {
			seen[p] = true
			t.products = append(t.products, p)
		}
	}
	return context.WithValue(ctx, ticketKey{}, t)
}

// enterGate waits until the batch whose ticket ctx carries may begin a transaction (see
// gate), and returns the function to call once it has ended, committed or rolled back.
// Without a ticket it returns at once.
func enterGate(ctx context.Context) (leave func(), err error) {
	t, ok := ctx.Value(ticketKey{}).(*ticket)
	if !ok {
		return func() {}, nil
	}
	if err := t.enter(ctx); err != nil {
		return nil, err
	}
	return t.locked, nil
}

// enter waits until the batch may begin a transaction.
func (t *ticket) enter(ctx context.Context) error {
	g := t.g
	g.mu.Lock()
	t.admitted = make(chan struct{})
	g.waiting = append(g.waiting, t)
	g.admit()
	g.mu.Unlock()
	select {
	case <-t.admitted:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting = slices.DeleteFunc(g.waiting, func(w *ticket) bool { return w == t })
	t.release()
	g.admit()
	return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the request was cancelled or timed out", Err: ctx.Err()}
}

// locked notes that the batch holds its locks, or that its transaction has ended: the
// next batches of its products may begin.
func (t *ticket) locked() {
	t.g.mu.Lock()
	if t.unlocked {
		t.release()
		t.g.admit()
	}
	t.g.mu.Unlock()
}

// release gives back the products of an admitted batch that does not hold its locks.
// g.mu must be held.
func (t *ticket) release() {
	if !t.unlocked {
		return
	}
	for _, p := range t.products {
		delete(t.g.unlocked, p)
	}
	t.unlocked = false
}

// admit lets in, in arrival order, every waiting batch none of whose products is held
// by an admitted batch without its locks or wanted by an earlier waiting batch (so that
// no batch waits forever behind later ones). g.mu must be held.
func (g *gate) admit() {
	if g.unlocked == nil {
		g.unlocked, g.wanted = map[int64]bool{}, map[int64]bool{}
	}
	clear(g.wanted)
	kept := g.waiting[:0]
	for i, t := range g.waiting {
		free := true
		for _, p := range t.products {
			if g.unlocked[p] || g.wanted[p] {
				free = false
				break
			}
		}
		if free {
			for _, p := range t.products {
				g.unlocked[p] = true
			}
			t.unlocked = true
			close(t.admitted)
			continue
		}
		if i < len(g.waiting)-1 { // a later batch may still be let in
			for _, p := range t.products {
				g.wanted[p] = true
			}
		}
		kept = append(kept, t)
	}
	clear(g.waiting[len(kept):])
	g.waiting = kept
}

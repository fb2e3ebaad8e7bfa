package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"sync"

	"github.com/cloudmeter/cloudmeter"
)

// Product locks, on engines where several transactions write at once (Dialect.LockProducts).
//
// Two transactions must never rate one product from different sets of its events, so a
// transaction that rates a product holds the product's row of rating_locks, locked,
// until it commits, and every transaction that stores an event of a product or rates it
// adds one to the row's generation. A batch takes those locks as late as it can: it reads
// the generations of its products, then their stored events, stores its own events and
// rates its products without any lock, and only then locks the products (ascending,
// waiting for the transactions that hold them to end) and compares each generation with
// the one it read. A product whose generation moved meanwhile was written by a
// transaction that committed in between: its events are read again, now under the lock,
// and it is rated again. Two batches that share a few products therefore wait on each
// other only for the time one of them takes from its locks to its commit, not for its
// whole transaction (locking first, batches of one cloud sent by several clients queued
// behind each other, about 20 shared products in 1,000 being enough to make every
// batch wait for the one before: docs/benchmarks.md, "PostgreSQL with more clients").
//
// Locks are taken in one order by every transaction: the keys of the events it inserts
// (a concurrent insert of the same key waits for the first), in key order; then the
// products, in ascending order; then the rows of users, infrastructures and datacenters,
// in key order (owners.go). No two transactions can wait on each other in a cycle.

var (
	lockRating = rowsStatement{head: `INSERT INTO rating_locks (product_id, generation) VALUES `,
		tail: ` ON CONFLICT (product_id) DO UPDATE SET generation = rating_locks.generation + 1 RETURNING product_id, generation`, cols: 2}
)

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
	_, err := s.lockGenerations(ctx, tx, products)
	return err
}

// lockGenerations locks the rows of products, which must be in ascending order, and
// returns their new generations.
func (s *Store) lockGenerations(ctx context.Context, tx *sql.Tx, products []int64) (generations, error) {
	out := make(generations, len(products))
	rest := products
	for _, n := range rowCounts(len(products)) {
		args := make([]any, 0, n*2)
		for _, p := range rest[:n] {
			args = append(args, p, 1)
		}
		rest = rest[n:]
		st, err := s.prepared(ctx, tx, lockRating.text(n))
		if err != nil {
			return nil, err
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, s.err(err)
		}
		if err := scanGenerations(rows, out); err != nil {
			return nil, s.err(err)
		}
	}
	return out, nil
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

// lockRated locks the batch's products, whose generations were read as read, and rates
// again, from their events as stored now (this transaction's own included), the rated
// products that another transaction wrote since: rated[i] is rated by ratings[i]. A
// product rated again is no longer fresh (the other transaction may have given it rows).
func (s *Store) lockRated(ctx context.Context, tx *sql.Tx, read generations, rated []int64, ratings []cloudmeter.Rating,
	fresh map[int64]bool, rate cloudmeter.RateFunc) error {
	locked, err := s.lockGenerations(ctx, tx, keys(read))
	if err != nil {
		return err
	}
	var moved []int64
	for _, p := range rated {
		if locked[p] != read[p]+1 {
			moved = append(moved, p)
		}
	}
	if len(moved) == 0 {
		return nil
	}
	evs, err := s.loadEvents(ctx, tx, moved)
	if err != nil {
		return err
	}
	for i, p := range rated {
		if locked[p] != read[p]+1 {
			ratings[i] = rate(p, evs[p])
			delete(fresh, p)
		}
	}
	return nil
}

// insertOrder returns the batch's events to insert (indexes into events) in key order on
// an engine that locks products, so that two transactions inserting the same keys take
// them in one order; elsewhere as they are.
func (s *Store) insertOrder(events []cloudmeter.Event, candidates []int) []int {
	if !s.d.LockProducts() {
		return candidates
	}
	out := slices.Clone(candidates)
	slices.SortFunc(out, func(a, b int) int {
		return cmp.Or(cmp.Compare(events[a].Source, events[b].Source), cmp.Compare(events[a].ID, events[b].ID))
	})
	return out
}

// gate admits a store's ingest transactions so that those running at once in this
// process share no product: a batch that shares one with a running or an earlier waiting
// batch waits, holding no connection and no lock, until they are done. Batches of one
// process then never wait on each other in the database, where a waiting transaction
// holds the locks it took so far and every transaction behind it waits too; batches of
// other processes still meet at the locks above.
type gate struct {
	mu      sync.Mutex
	busy    map[int64]bool // the products of the admitted batches
	waiting []*gateEntry   // in arrival order
}

type gateEntry struct {
	products []int64
	admitted chan struct{}
}

// enterProducts waits until the batch of events may run (see gate) and returns the
// function that lets the next ones in; at once on an engine that does not lock products.
func (s *Store) enterProducts(ctx context.Context, events []cloudmeter.Event) (leave func(), err error) {
	if !s.d.LockProducts() {
		return func() {}, nil
	}
	seen := make(map[int64]bool, len(events))
	products := make([]int64, 0, len(events))
	for i := range events {
		if p := events[i].ProductID; !seen[p] {
			seen[p] = true
			products = append(products, p)
		}
	}
	g := &s.gate
	e := &gateEntry{products: products, admitted: make(chan struct{})}
	g.mu.Lock()
	g.waiting = append(g.waiting, e)
	g.admit()
	g.mu.Unlock()
	leave = func() {
		g.mu.Lock()
		for _, p := range e.products {
			delete(g.busy, p)
		}
		g.admit()
		g.mu.Unlock()
	}
	select {
	case <-e.admitted:
		return leave, nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-e.admitted: // admitted meanwhile: let the next ones in
		for _, p := range e.products {
			delete(g.busy, p)
		}
	default:
		g.waiting = slices.DeleteFunc(g.waiting, func(w *gateEntry) bool { return w == e })
	}
	g.admit()
	return nil, s.err(ctx.Err())
}

// admit lets in, in arrival order, every waiting batch whose products are neither held
// by an admitted batch nor wanted by an earlier waiting one (so that no batch waits
// forever behind later ones). g.mu must be held.
func (g *gate) admit() {
	if g.busy == nil {
		g.busy = map[int64]bool{}
	}
	var wanted map[int64]bool
	kept := g.waiting[:0]
	for _, e := range g.waiting {
		free := true
		for _, p := range e.products {
			if g.busy[p] || wanted[p] {
				free = false
				break
			}
		}
		if free {
			for _, p := range e.products {
				g.busy[p] = true
			}
			close(e.admitted)
			continue
		}
		if wanted == nil {
			wanted = map[int64]bool{}
		}
		for _, p := range e.products {
			wanted[p] = true
		}
		kept = append(kept, e)
	}
	clear(g.waiting[len(kept):])
	g.waiting = kept
}

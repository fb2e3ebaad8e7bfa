package sqlstore

import (
	"context"
	"database/sql"

	"github.com/cloudmeter/cloudmeter"
)

// Group commit, for engines that let one transaction write at a time (Dialect.OneWriter).
//
// Each batch is queued; whoever holds the writer lock takes the queued batches, oldest
// first, and stores them in one transaction; a batch with a conflict or an error is
// answered with it and left out, and the transaction runs again without it. Every batch
// is answered only once the transaction that holds it has committed, so an
// acknowledgement means what it means for a batch alone (the events are in the database,
// rated), and each batch is still stored whole or not at all. Batches that
// arrive together share one commit: the pages that several of them touch (index pages,
// above all) are written to the log once instead of once per batch.

// maxGroupEvents bounds the events of one group commit. A group always takes at least
// the oldest queued batch, whatever its size.
const maxGroupEvents = 16384

// appendRequest is one queued batch and, once done is closed, its outcome.
type appendRequest struct {
	ctx    context.Context
	events []cloudmeter.Event
	rate   cloudmeter.RateFunc
	res    cloudmeter.AppendResult
	err    error
	// panicked holds what the batch's rate function panicked with, raised again in the
	// batch's own goroutine.
	panicked any
	done     chan struct{}
}

// answer returns the outcome of a done request, panicking where its rating panicked.
func (r *appendRequest) answer() (cloudmeter.AppendResult, error) {
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.res, r.err
}

// lockWriter takes the writer lock, or gives up when ctx ends.
func (s *Store) lockWriter(ctx context.Context) error {
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return s.err(ctx.Err())
	}
}

func (s *Store) unlockWriter() { <-s.writer }

// appendGrouped queues a batch for the next group commit and waits for its outcome,
// carrying out group commits itself while it holds the writer lock.
func (s *Store) appendGrouped(ctx context.Context, events []cloudmeter.Event, rate cloudmeter.RateFunc) (cloudmeter.AppendResult, error) {
	req := &appendRequest{ctx: ctx, events: events, rate: rate, done: make(chan struct{})}
	s.queueMu.Lock()
	s.queue = append(s.queue, req)
	s.queueMu.Unlock()
	for {
		select {
		case <-req.done: // stored (or refused) by another writer's group
			return req.answer()
		case s.writer <- struct{}{}:
		case <-ctx.Done():
			if s.withdraw(req) {
				return cloudmeter.AppendResult{}, s.err(ctx.Err())
			}
			<-req.done // a group holds it already: its outcome is the answer
			return req.answer()
		}
		// The writer lock is ours: commit groups until our own batch is done.
		for {
			select {
			case <-req.done:
				s.unlockWriter()
				return req.answer()
			default:
			}
			group := s.takeGroup()
			if len(group) == 0 {
				break // cannot happen while req is queued and not done; wait again
			}
			s.commitGroup(group)
		}
		s.unlockWriter()
	}
}

// withdraw takes req out of the queue; it reports false when a group took it already.
func (s *Store) withdraw(req *appendRequest) bool {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	for i, r := range s.queue {
		if r == req {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return true
		}
	}
	return false
}

// takeGroup takes the oldest queued batches, up to maxGroupEvents events (at least one
// batch).
func (s *Store) takeGroup() []*appendRequest {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	n, events := 0, 0
	for n < len(s.queue) && (n == 0 || events+len(s.queue[n].events) <= maxGroupEvents) {
		events += len(s.queue[n].events)
		n++
	}
	group := make([]*appendRequest, n)
	copy(group, s.queue)
	s.queue = append(s.queue[:0], s.queue[n:]...)
	return group
}

// commitGroup stores the batches of group in one transaction and answers each of them.
// A batch that ends in conflicts, an error or a panic is answered with that outcome and
// the transaction is rolled back and run again without it (savepoints would isolate it
// too, but on SQLite they copy every page a batch touches to a statement journal: more
// work for every group than running one again now and then).
func (s *Store) commitGroup(group []*appendRequest) {
	defer func() {
		for _, r := range group {
			close(r.done)
		}
	}()
	// The transaction outlives any one request's cancellation: a batch whose request
	// ended before its turn is left out, not the group.
	ctx := context.WithoutCancel(group[0].ctx)
	pending := make([]*appendRequest, 0, len(group))
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = s.err(err)
			continue
		}
		pending = append(pending, r)
	}
	for len(pending) > 0 {
		failed, err := s.tryGroup(ctx, pending)
		if err != nil { // the transaction itself failed: no batch of it is stored
			for _, r := range pending {
				r.res, r.err = cloudmeter.AppendResult{}, err
			}
			return
		}
		if failed < 0 {
			return
		}
		pending = append(pending[:failed], pending[failed+1:]...)
	}
}

// tryGroup stores batches in one transaction and commits it, or stops at the first batch
// that fails (conflicts, an error, a panic), rolls back and returns its index.
func (s *Store) tryGroup(ctx context.Context, batches []*appendRequest) (failed int, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return -1, s.err(err)
	}
	defer tx.Rollback()
	for i, r := range batches {
		s.appendOne(ctx, tx, r)
		if r.err != nil || len(r.res.Conflicts) > 0 {
			return i, nil // rolled back: nothing of the batch is stored
		}
	}
	if err := tx.Commit(); err != nil {
		return -1, s.err(err)
	}
	s.committed(len(batches))
	return -1, nil
}

// appendOne writes r's batch in tx. A panic of its rate function is kept for r's own
// goroutine (answer raises it again) and fails the batch alone.
func (s *Store) appendOne(ctx context.Context, tx *sql.Tx, r *appendRequest) {
	r.panicked = nil
	defer func() {
		if v := recover(); v != nil {
			r.panicked = v
			r.res, r.err = cloudmeter.AppendResult{}, cloudmeter.Errorf(cloudmeter.KindInternal, "rating failed: %v", v)
		}
	}()
	r.res, r.err = s.appendEvents(ctx, tx, r.events, r.rate)
}

// HoldWriter takes the writer lock and returns the function that gives it back. While
// it is held no batch is written; batches that arrive meanwhile queue and are committed
// together once it is given back. On engines with several writers it holds back only
// Rerate. The storage tests use it to line batches up for one group commit.
func (s *Store) HoldWriter(ctx context.Context) (release func(), err error) {
	if err := s.lockWriter(ctx); err != nil {
		return nil, err
	}
	return s.unlockWriter, nil
}

// QueuedBatches is the number of batches waiting for a group commit.
func (s *Store) QueuedBatches() int {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	return len(s.queue)
}

// IngestStats counts the transactions that stored ingest batches since the store was
// opened: Batches / Commits is how many batches a commit held on average.
type IngestStats struct {
	Commits uint64 // committed transactions that stored at least one batch
	Batches uint64 // batches they stored
	Queued  int    // batches waiting for a group commit now
}

// IngestStats returns the store's ingest counters.
func (s *Store) IngestStats() IngestStats {
	return IngestStats{Commits: s.commits.Load(), Batches: s.committedBatches.Load(), Queued: s.QueuedBatches()}
}

// committed counts a committed transaction that stored n batches.
func (s *Store) committed(n int) {
	s.commits.Add(1)
	s.committedBatches.Add(uint64(n))
}

// GroupsCommits reports whether concurrent batches are committed together (the engine
// has one writer).
func (s *Store) GroupsCommits() bool { return s.d.OneWriter() }

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// How a product's rating is stored so that its cost follows the work asked for, not the
// history stored (docs/scaling.md, "How spans are stored"; migration 00008).
//
// Spans are kept in chunks: walking a product's spans in time order, a span starts a new
// chunk when it starts in another UTC month than the chunk's first span, or when the
// chunk holds chunkSpans spans already. The rule looks only at the spans, so a product
// rated from scratch and one rated batch by batch are stored alike. The last chunk is
// the open part, kept in the product's resources row (spans, from spans_from on) beside
// the product's rating state (rating_state, a rating.State); every earlier chunk is a
// span_chunks row. Each chunk but the first also keeps a checkpoint: the number of
// anomalies of the events before its first second and the span before its first, which
// with the view is the state rating had just before that second (rating.StateBefore).
//
// Rating a batch (with rating.Rate, what the service passes) then costs what the batch
// asks for:
//
//   - events later in ledger order than everything rated for their product resume the
//     stored state (rating.Resume): the open part is decoded, its tail replaced and the
//     row written again. A chunk that fills up or ends with its month moves to
//     span_chunks. No stored event is read.
//   - a late event resumes from the checkpoint of the last chunk that starts before it
//     (not the first chunk): the events from that chunk's first second on are read back
//     (index events_product is (product_id, occurred_at)), the chunks from there on and
//     the anomalies past the checkpoint's are rewritten.
//   - a product without a state (never provisioned, a late event in its first chunk, a
//     stored event that no longer decodes, rated by another function or before the
//     migration) is replayed from all its events, as every product was before.
//
// A report reads, for its user, the open parts and the span_chunks rows whose
// [chunk_start, chunk_end] overlaps its window: at most one chunk per product starts
// before the window, and none of the chunks after it is read.
//
// A rate function other than rating.Rate (tests, a change of the rules through Rerate)
// rates every product it touches from all its events, as before, and leaves no state:
// the next batch replays the product.

// chunkSpans bounds the spans of one chunk: the work of decoding the chunk that a window
// starts in, and of rating from a checkpoint, whatever the month holds.
const chunkSpans = 64

// monthOf numbers the UTC month holding t.
func monthOf(t int64) int64 {
	y, m, _ := time.Unix(t, 0).UTC().Date()
	return int64(y)*12 + int64(m)
}

// spanChunk is a run of a product's spans stored together.
type spanChunk struct {
	spans      []cloudmeter.Span
	checkpoint []byte // nil for the first chunk, or when not known
}

// chunkify splits spans, of which spans[0] starts a chunk with the checkpoint first, into
// chunks. marks[i], when known (>= 0), is the number of anomalies of the events before
// the second spans[i] starts: what the checkpoint of a chunk starting there holds.
func chunkify(spans []cloudmeter.Span, marks []int, first []byte) []spanChunk {
	var out []spanChunk
	lo := 0
	for i := 1; i <= len(spans); i++ {
		if i < len(spans) && i-lo < chunkSpans && monthOf(spans[i].Start) == monthOf(spans[lo].Start) {
			continue
		}
		cp := first
		if lo > 0 {
			cp = nil
			if lo < len(marks) && marks[lo] >= 0 {
				cp = encodeCheckpoint(nil, &checkpoint{anomalies: marks[lo], prev: spans[lo-1]})
			}
		}
		out = append(out, spanChunk{spans: spans[lo:i], checkpoint: cp})
		lo = i
	}
	return out
}

// storedRow is what rating reads of a product's resources row.
type storedRow struct {
	view       cloudmeter.Resource // its State and Attributes are the state's
	spansFrom  int64
	spans      []byte // the open part, encoded
	state      []byte // nil: the product cannot be resumed
	checkpoint []byte // the open part's
}

var selectRows = rowsStatement{head: `SELECT product_id, user_id, infrastructure_id, infrastructure_label, datacenter, type, label, subdomain,
	exclude_billing, provisioned_at, deleted_at, spans_from, spans, rating_state, checkpoint FROM resources WHERE product_id IN `, cols: 1, in: true}

// loadRows reads the resources rows of products, by product.
func (s *Store) loadRows(ctx context.Context, tx *sql.Tx, products []int64) (map[int64]*storedRow, error) {
	out := make(map[int64]*storedRow, len(products))
	rest := products
	for _, n := range rowCounts(len(products)) {
		part := rest[:n]
		rest = rest[n:]
		st, err := s.prepared(ctx, tx, selectRows.text(n))
		if err != nil {
			return nil, err
		}
		args := make([]any, len(part))
		for i, p := range part {
			args[i] = p
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, s.err(err)
		}
		for rows.Next() {
			r := &storedRow{}
			v := &r.view
			var typ string
			var excl int64
			if err := rows.Scan(&v.ProductID, &v.UserID, &v.InfrastructureID, &v.InfrastructureLabel, &v.Datacenter, &typ, &v.Label, &v.Subdomain,
				&excl, &v.ProvisionedAt, &v.DeletedAt, &r.spansFrom, &r.spans, &r.state, &r.checkpoint); err != nil {
				rows.Close()
				return nil, s.err(err)
			}
			v.Type, v.ExcludeBilling = cloudmeter.ResourceType(typ), excl != 0
			if r.spans == nil {
				r.state = nil // rated before spans were encoded: replayed
			}
			out[v.ProductID] = r
		}
		if err := rows.Close(); err != nil {
			return nil, s.err(err)
		}
	}
	return out, nil
}

// productWrite is what storing one product's rating changes.
type productWrite struct {
	pid   int64
	res   *cloudmeter.Resource // nil: never provisioned (its row and chunks go)
	state []byte               // nil: no state to resume
	fresh bool                 // nothing was stored for it: nothing to delete
	// The span_chunks rows from chunksFrom on are replaced (none when keepChunks), and
	// chunks stored from there: the last is the open part.
	keepChunks bool
	chunksFrom int64
	chunks     []spanChunk
	// The anomalies past the first anomaliesFrom are replaced by anomalies (none are
	// deleted when appendOnly).
	appendOnly    bool
	anomaliesFrom int
	anomalies     []cloudmeter.Anomaly
}

// isRate reports whether rate is rating.Rate, which storage rates incrementally.
func isRate(rate cloudmeter.RateFunc) bool {
	return reflect.ValueOf(rate).Pointer() == reflect.ValueOf(rating.Rate).Pointer()
}

// rater rates the products of one batch (or of one part of Rerate) in a transaction.
type rater struct {
	s           *Store
	tx          *sql.Tx
	rate        cloudmeter.RateFunc
	incremental bool
	rows        map[int64]*storedRow
	existing    map[int64][]cloudmeter.Event // the stored events of products that are replayed
}

// newRater reads, before a batch's events are stored, what rating its products needs:
// their rows, and the stored events of those that must be replayed (or of all, for a rate
// function other than rating.Rate).
func (s *Store) newRater(ctx context.Context, tx *sql.Tx, products []int64, rate cloudmeter.RateFunc) (*rater, error) {
	r := &rater{s: s, tx: tx, rate: rate, incremental: isRate(rate)}
	need := products
	if r.incremental {
		var err error
		if r.rows, err = s.loadRows(ctx, tx, products); err != nil {
			return nil, err
		}
		need = nil
		for _, p := range products {
			if row := r.rows[p]; row == nil || row.state == nil {
				need = append(need, p)
			}
		}
	}
	var err error
	r.existing, err = s.loadEvents(ctx, tx, need)
	return r, err
}

// product rates product pid with the batch's new events of it (stored by now) and returns
// what to write and its rating (its view, for the traffic tables).
func (r *rater) product(ctx context.Context, pid int64, news []cloudmeter.Event) (productWrite, cloudmeter.Rating, error) {
	row := r.rows[pid]
	fresh := row == nil && len(r.existing[pid]) == 0
	if !r.incremental {
		rt := r.rate(pid, append(r.existing[pid], news...))
		return r.whole(pid, rt, nil, nil, fresh), rt, nil
	}
	if row == nil || row.state == nil {
		st, ok := rating.Replay(pid, append(r.existing[pid], news...))
		return r.replayed(pid, st, ok, fresh)
	}
	state, err := decodeState(row.state, row.view)
	if err != nil {
		return r.replay(ctx, pid)
	}
	if st, ok := rating.Resume(state, pid, news); ok {
		return r.extend(ctx, pid, row, st)
	}
	return r.late(ctx, pid, row, news)
}

// whole is the write of a product rated from all its events: every stored span, chunk
// and anomaly of it is replaced.
func (r *rater) whole(pid int64, rt cloudmeter.Rating, marks []int, state []byte, fresh bool) productWrite {
	return productWrite{pid: pid, res: rt.Resource, state: state, fresh: fresh, keepChunks: fresh, chunksFrom: math.MinInt64,
		chunks: chunkify(rt.Spans, marks, nil), appendOnly: fresh, anomalies: rt.Anomalies}
}

// replayed is the write of a replayed product.
func (r *rater) replayed(pid int64, st rating.Step, ok, fresh bool) (productWrite, cloudmeter.Rating, error) {
	rt := st.Rating(pid)
	var state []byte
	if ok && st.State.Resource != nil {
		state = encodeState(nil, &st.State)
	}
	return r.whole(pid, rt, st.Marks, state, fresh), rt, nil
}

// replay replays a product from every stored event of it (the batch's included).
func (r *rater) replay(ctx context.Context, pid int64) (productWrite, cloudmeter.Rating, error) {
	evs, err := r.s.loadEvents(ctx, r.tx, []int64{pid})
	if err != nil {
		return productWrite{}, cloudmeter.Rating{}, err
	}
	st, ok := rating.Replay(pid, evs[pid])
	return r.replayed(pid, st, ok, false)
}

// extend writes a step that resumed the stored state with events later than all of the
// product's history: the spans from the span in progress on replace the stored ones.
func (r *rater) extend(ctx context.Context, pid int64, row *storedRow, st rating.Step) (productWrite, cloudmeter.Rating, error) {
	w := productWrite{pid: pid, res: st.State.Resource, state: encodeState(nil, &st.State), keepChunks: true,
		appendOnly: true, anomaliesFrom: st.AnomaliesFrom, anomalies: st.Anomalies}
	start, encoded, cp := row.spansFrom, row.spans, row.checkpoint
	if st.From < row.spansFrom {
		// The span in progress began in an earlier chunk (the open part starts with the
		// last second rated, and more events of that second came): that chunk is
		// rewritten too.
		err := r.tx.QueryRowContext(ctx, r.s.rb(`SELECT chunk_start, spans, checkpoint FROM span_chunks WHERE product_id = ? AND chunk_start <= ?
			ORDER BY chunk_start DESC LIMIT 1`), pid, st.From).Scan(&start, &encoded, &cp)
		if errors.Is(err, sql.ErrNoRows) {
			return r.replay(ctx, pid)
		}
		if err != nil {
			return w, cloudmeter.Rating{}, r.s.err(err)
		}
		w.keepChunks, w.chunksFrom = false, start
	}
	old, err := decodeSpans(nil, encoded)
	if err != nil {
		return r.replay(ctx, pid)
	}
	keep := 0
	for keep < len(old) && old[keep].Start < st.From {
		keep++
	}
	spans := append(old[:keep:keep], st.Spans...)
	marks := make([]int, keep, len(spans))
	for i := range marks {
		marks[i] = -1 // chunks never start among them (they are the start of one chunk's spans)
	}
	marks = append(marks, st.Marks...)
	if len(spans) == 0 || spans[0].Start != start {
		return r.replay(ctx, pid)
	}
	w.chunks = chunkify(spans, marks, cp)
	return w, st.Rating(pid), nil
}

// late rates a batch holding an event earlier than the last one rated: from the
// checkpoint of the last chunk (not the first) that starts before every event of the
// batch, with the events stored from that chunk's first second on. A product without
// such a chunk is replayed.
func (r *rater) late(ctx context.Context, pid int64, row *storedRow, news []cloudmeter.Event) (productWrite, cloudmeter.Rating, error) {
	u := int64(math.MaxInt64)
	for i := range news {
		if news[i].Type != cloudmeter.EventTrafficMetered {
			u = min(u, news[i].Time)
		}
	}
	prov := row.view.ProvisionedAt
	at, cp := row.spansFrom, row.checkpoint
	if !(at > prov && at < u && cp != nil) {
		err := r.tx.QueryRowContext(ctx, r.s.rb(`SELECT chunk_start, checkpoint FROM span_chunks WHERE product_id = ? AND chunk_start < ?
			AND chunk_start > ? AND checkpoint IS NOT NULL ORDER BY chunk_start DESC LIMIT 1`), pid, u, prov).Scan(&at, &cp)
		if errors.Is(err, sql.ErrNoRows) {
			return r.replay(ctx, pid)
		}
		if err != nil {
			return productWrite{}, cloudmeter.Rating{}, r.s.err(err)
		}
	}
	c, err := decodeCheckpoint(cp, at)
	if err != nil {
		return r.replay(ctx, pid)
	}
	evs, err := r.s.loadEventsFrom(ctx, r.tx, pid, at)
	if err != nil {
		return productWrite{}, cloudmeter.Rating{}, err
	}
	from := rating.StateBefore(row.view, c.prev, at, c.anomalies)
	st, ok := rating.Resume(from, pid, evs)
	if !ok {
		return r.replay(ctx, pid)
	}
	// The span before the checkpoint comes back as it was stored: the chunks from the
	// checkpoint on are what changes.
	k := 0
	for k < len(st.Spans) && st.Spans[k].Start < at {
		k++
	}
	if k == len(st.Spans) || st.Spans[k].Start != at {
		return r.replay(ctx, pid)
	}
	w := productWrite{pid: pid, res: st.State.Resource, state: encodeState(nil, &st.State), chunksFrom: at,
		chunks: chunkify(st.Spans[k:], st.Marks[k:], cp), anomaliesFrom: st.AnomaliesFrom, anomalies: st.Anomalies}
	return w, st.Rating(pid), nil
}

var selectEventsFrom = `SELECT source, id, product_id, type, occurred_at, subject, digest, data FROM events
	WHERE product_id = ? AND occurred_at >= ? AND type <> '` + string(cloudmeter.EventTrafficMetered) + `'`

// loadEventsFrom returns the stored events of a product from second from on but its
// traffic samples, as loadEvents does.
func (s *Store) loadEventsFrom(ctx context.Context, tx *sql.Tx, product, from int64) ([]cloudmeter.Event, error) {
	st, err := s.prepared(ctx, tx, selectEventsFrom)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, product, from)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.Event
	for rows.Next() {
		var e cloudmeter.Event
		var typ, data string
		if err := rows.Scan(&e.Source, &e.ID, &e.ProductID, &typ, &e.Time, &e.Subject, &e.Digest, &data); err != nil {
			return nil, s.err(err)
		}
		e.Type = cloudmeter.EventType(typ)
		e.Data = []byte(data)
		out = append(out, e)
	}
	return out, s.err(rows.Err())
}

// The statements that write chunks.
var (
	deleteChunks  = rowsStatement{head: `DELETE FROM span_chunks WHERE product_id IN `, cols: 1, in: true}
	insertChunks  = rowsStatement{head: `INSERT INTO span_chunks (product_id, chunk_start, chunk_end, user_id, infrastructure_id, datacenter, spans, checkpoint) VALUES `, cols: 8}
	deleteChunkAt = `DELETE FROM span_chunks WHERE product_id = ? AND chunk_start >= ?`
	deleteAnomAt  = `DELETE FROM anomalies WHERE product_id = ? AND seq > ?`
)

// writeChunks deletes the chunks and anomalies the writes replace and stores their
// chunks but the last (the open part, which goes in the resources row). It returns the
// rows of the products that are no longer provisioned, to delete.
func (s *Store) writeChunks(ctx context.Context, tx *sql.Tx, writes []productWrite) error {
	var whole, wholeAnomalies []any
	for i := range writes {
		w := &writes[i]
		if w.fresh {
			continue
		}
		switch {
		case w.keepChunks:
		case w.chunksFrom == math.MinInt64:
			whole = append(whole, w.pid)
		default:
			st, err := s.prepared(ctx, tx, deleteChunkAt)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, w.pid, w.chunksFrom); err != nil {
				return s.err(err)
			}
		}
		switch {
		case w.appendOnly:
		case w.anomaliesFrom == 0:
			wholeAnomalies = append(wholeAnomalies, w.pid)
		default:
			st, err := s.prepared(ctx, tx, deleteAnomAt)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, w.pid, w.anomaliesFrom); err != nil {
				return s.err(err)
			}
		}
	}
	if err := s.execRows(ctx, tx, deleteChunks, whole); err != nil {
		return err
	}
	if err := s.execRows(ctx, tx, deleteAnomalies, wholeAnomalies); err != nil {
		return err
	}
	var args []any
	var buf []byte
	for i := range writes {
		w := &writes[i]
		if w.res == nil || len(w.chunks) < 2 {
			continue
		}
		res := w.res
		shared := sharedOf(res)
		for _, c := range w.chunks[:len(w.chunks)-1] {
			buf = appendSpans(buf[:0], &shared, c.spans)
			args = append(args, w.pid, c.spans[0].Start, c.spans[len(c.spans)-1].End, res.UserID, res.InfrastructureID, res.Datacenter,
				slices.Clone(buf), c.checkpoint)
		}
	}
	return s.execRows(ctx, tx, insertChunks, args)
}

// sharedOf returns the fields every span of a product shares.
func sharedOf(res *cloudmeter.Resource) cloudmeter.Span {
	return cloudmeter.Span{UserID: res.UserID, ProductID: res.ProductID, InfrastructureID: res.InfrastructureID, Datacenter: res.Datacenter,
		Type: res.Type, Label: res.Label, Subdomain: res.Subdomain, ExcludeBilling: res.ExcludeBilling}
}

// openPart returns the open part of a write: its first second, its spans and checkpoint.
func (w *productWrite) openPart() (from int64, spans []cloudmeter.Span, cp []byte) {
	if len(w.chunks) == 0 {
		return w.res.ProvisionedAt, nil, nil
	}
	last := w.chunks[len(w.chunks)-1]
	return last.spans[0].Start, last.spans, last.checkpoint
}

// rateAll rates a product from all its events (stored, the batch's included) and
// returns the write that replaces everything stored of its rating.
func (r *rater) rateAll(pid int64, evs []cloudmeter.Event) (productWrite, cloudmeter.Rating) {
	if r.incremental {
		st, ok := rating.Replay(pid, evs)
		w, rt, _ := r.replayed(pid, st, ok, false)
		return w, rt
	}
	rt := r.rate(pid, evs)
	return r.whole(pid, rt, nil, nil, false), rt
}

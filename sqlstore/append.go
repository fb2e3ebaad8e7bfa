package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
)

// chunk bounds the products handled by one transaction of Rerate.
const chunk = 200

// The statements of the write path, prepared for the store on first use (see prepared).
var (
	insertEvents = rowsStatement{head: `INSERT INTO events (source, id, product_id, type, occurred_at, subject, digest, data, received_at) VALUES `,
		tail: ` ON CONFLICT (source, id) DO NOTHING RETURNING source, id`, cols: 9}
	selectEvents = rowsStatement{head: `SELECT source, id, product_id, type, occurred_at, subject, digest, data FROM events WHERE product_id IN `,
		tail: ` AND type <> '` + string(cloudmeter.EventTrafficMetered) + `'`, cols: 1, in: true}
	deleteAnomalies = rowsStatement{head: `DELETE FROM anomalies WHERE product_id IN `, cols: 1, in: true}
	deleteResources = rowsStatement{head: `DELETE FROM resources WHERE product_id IN `, cols: 1, in: true}
	upsertResources = rowsStatement{head: `INSERT INTO resources (user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label,
		subdomain, exclude_billing, attributes, state, provisioned_at, deleted_at, rated_generation, spans, spans_from, rating_state, checkpoint) VALUES `, tail: `
		ON CONFLICT (product_id) DO UPDATE SET user_id = excluded.user_id, infrastructure_id = excluded.infrastructure_id,
		infrastructure_label = excluded.infrastructure_label, datacenter = excluded.datacenter, type = excluded.type, label = excluded.label,
		subdomain = excluded.subdomain, exclude_billing = excluded.exclude_billing, attributes = excluded.attributes, state = excluded.state,
		provisioned_at = excluded.provisioned_at, deleted_at = excluded.deleted_at, rated_generation = resources.rated_generation + 1,
		spans = excluded.spans, spans_from = excluded.spans_from, rating_state = excluded.rating_state, checkpoint = excluded.checkpoint`, cols: 18}
	insertUsers       = rowsStatement{head: `INSERT INTO users (user_id) VALUES `, tail: ` ON CONFLICT (user_id) DO NOTHING`, cols: 1}
	insertDatacenters = rowsStatement{head: `INSERT INTO datacenters (name) VALUES `, tail: ` ON CONFLICT (name) DO NOTHING`, cols: 1}
	insertAnomalies   = rowsStatement{head: `INSERT INTO anomalies (product_id, seq, user_id, kind, message, event_source, event_id, occurred_at) VALUES `, cols: 8}
)

type eventKey struct{ source, id string }

// AppendEvents stores a batch atomically and re-rates the products it touches. On an
// engine with one writer the batch joins the next group commit (group.go); elsewhere it
// has a transaction of its own, run again when it fails on a serialization failure or a
// deadlock.
func (s *Store) AppendEvents(ctx context.Context, events []cloudmeter.Event, rate cloudmeter.RateFunc) (cloudmeter.AppendResult, error) {
	defer s.preparePending(ctx) // after the transaction, and after the writer lock is given back
	if s.d.OneWriter() {
		return s.appendGrouped(ctx, events, rate)
	}
	ctx = s.gated(ctx, events) // locks.go
	for attempt := 1; ; attempt++ {
		res, err := s.appendAlone(ctx, events, rate)
		if err == nil || attempt == 5 || !s.d.Retryable(err) {
			return res, err
		}
	}
}

// appendAlone stores one batch in a transaction of its own.
func (s *Store) appendAlone(ctx context.Context, events []cloudmeter.Event, rate cloudmeter.RateFunc) (cloudmeter.AppendResult, error) {
	leave, err := enterGate(ctx) // locks.go
	if err != nil {
		return cloudmeter.AppendResult{}, err
	}
	defer leave()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return cloudmeter.AppendResult{}, s.err(err)
	}
	defer tx.Rollback()
	res, err := s.appendEvents(ctx, tx, events, rate)
	if err != nil || len(res.Conflicts) > 0 {
		return res, err // rolled back: nothing of the batch is stored
	}
	if err := tx.Commit(); err != nil {
		return cloudmeter.AppendResult{}, s.err(err)
	}
	s.committed(1)
	return res, nil
}

// appendEvents writes one batch in tx and re-rates the products it touches. When it
// returns an error or conflicts, the caller must roll tx back: nothing of the batch may
// be stored.
func (s *Store) appendEvents(ctx context.Context, tx *sql.Tx, events []cloudmeter.Event, rate cloudmeter.RateFunc) (cloudmeter.AppendResult, error) {
	var res cloudmeter.AppendResult
	// Within the batch: the first copy of a key is the candidate, later equal copies are
	// duplicates, later different copies are conflicts.
	first := make(map[eventKey]int, len(events))
	var candidates []int
	for i := range events {
		k := eventKey{events[i].Source, events[i].ID}
		if j, ok := first[k]; ok {
			if events[j].Digest != events[i].Digest {
				res.Conflicts = append(res.Conflicts, cloudmeter.EventConflict{Index: i, Source: k.source, ID: k.id,
					Reason: "the batch holds this source and id twice with different content"})
			} else {
				res.Duplicates++
			}
			continue
		}
		first[k] = i
		candidates = append(candidates, i)
	}
	if len(res.Conflicts) > 0 {
		res.Duplicates = 0
		return res, nil
	}

	products := map[int64]bool{}
	rated := map[int64]bool{} // products with lifecycle events to rate; traffic samples rate none
	for _, i := range candidates {
		products[events[i].ProductID] = true
		if events[i].Type != cloudmeter.EventTrafficMetered {
			rated[events[i].ProductID] = true
		}
	}
	gens, err := s.readGenerations(ctx, tx, keys(products)) // the products are locked once rated (locks.go)
	if err != nil {
		return res, err
	}
	rt, err := s.newRater(ctx, tx, keys(rated), rate) // chunks.go
	if err != nil {
		return res, err
	}

	now := time.Now().Unix()
	inserted := make(map[eventKey]bool, len(candidates))
	rest := s.insertOrder(events, candidates)
	for _, n := range rowCounts(len(candidates)) {
		part := rest[:n]
		rest = rest[n:]
		args := make([]any, 0, n*9)
		for _, i := range part {
			e := &events[i]
			args = append(args, e.Source, e.ID, e.ProductID, string(e.Type), e.Time, e.Subject, e.Digest, string(e.Data), now)
		}
		st, err := s.prepared(ctx, tx, insertEvents.text(n))
		if err != nil {
			return res, err
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return res, s.err(err)
		}
		for rows.Next() {
			var k eventKey
			if err := rows.Scan(&k.source, &k.id); err != nil {
				rows.Close()
				return res, s.err(err)
			}
			inserted[k] = true
		}
		if err := rows.Close(); err != nil {
			return res, s.err(err)
		}
	}

	// Keys that were already stored: the same content is a duplicate, other content a conflict.
	touched := map[int64][]cloudmeter.Event{}
	var traffic []cloudmeter.Event // traffic samples go to the traffic tables (traffic.go), not to rating
	for _, i := range candidates {
		e := events[i]
		k := eventKey{e.Source, e.ID}
		if inserted[k] {
			res.Accepted++
			if e.Type == cloudmeter.EventTrafficMetered {
				traffic = append(traffic, e)
				continue
			}
			touched[e.ProductID] = append(touched[e.ProductID], e)
			continue
		}
		var digest string
		if err := tx.QueryRowContext(ctx, s.rb(`SELECT digest FROM events WHERE source = ? AND id = ?`), e.Source, e.ID).Scan(&digest); err != nil {
			return res, s.err(err)
		}
		if digest == e.Digest {
			res.Duplicates++
			continue
		}
		res.Conflicts = append(res.Conflicts, cloudmeter.EventConflict{Index: i, Source: e.Source, ID: e.ID,
			Reason: "an event with this source and id is already stored with different content"})
	}
	if len(res.Conflicts) > 0 {
		sort.Slice(res.Conflicts, func(a, b int) bool { return res.Conflicts[a].Index < res.Conflicts[b].Index })
		res.Accepted, res.Duplicates = 0, 0
		return res, nil // the caller rolls back: nothing of the batch is stored
	}

	ratings := make([]cloudmeter.Rating, 0, len(touched))
	writes := make([]productWrite, 0, len(touched))
	for _, pid := range keys(touched) {
		w, r, err := rt.product(ctx, pid, touched[pid])
		if err != nil {
			return res, err
		}
		writes = append(writes, w)
		ratings = append(ratings, r)
		res.Rated = append(res.Rated, pid)
	}
	if gens != nil {
		if err := s.lockRated(ctx, tx, gens, res.Rated, rt.rerateMoved(ctx, res.Rated, touched, writes, ratings)); err != nil {
			return res, err
		}
	}
	if err := s.writeRatings(ctx, tx, writes); err != nil {
		return res, err
	}
	if err := s.applyTraffic(ctx, tx, ratings, traffic); err != nil { // traffic.go
		return res, err
	}
	return res, nil
}

func keys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadEvents returns the stored events of the given products but their traffic samples
// (the traffic tables rate those, traffic.go), with Data but without the typed fields
// (the rate function decodes them). Within a transaction it uses the store's prepared
// statements.
func (s *Store) loadEvents(ctx context.Context, q querier, products []int64) (map[int64][]cloudmeter.Event, error) {
	out := map[int64][]cloudmeter.Event{}
	rest := products
	for _, n := range rowCounts(len(products)) {
		part := rest[:n]
		rest = rest[n:]
		args := make([]any, n)
		for i, p := range part {
			args[i] = p
		}
		var rows *sql.Rows
		var err error
		if tx, ok := q.(*sql.Tx); ok {
			var st *sql.Stmt
			if st, err = s.prepared(ctx, tx, selectEvents.text(n)); err != nil {
				return nil, err
			}
			rows, err = st.QueryContext(ctx, args...)
		} else {
			rows, err = q.QueryContext(ctx, s.rb(selectEvents.text(n)), args...)
		}
		if err != nil {
			return nil, s.err(err)
		}
		for rows.Next() {
			var e cloudmeter.Event
			var typ, data string
			if err := rows.Scan(&e.Source, &e.ID, &e.ProductID, &typ, &e.Time, &e.Subject, &e.Digest, &data); err != nil {
				rows.Close()
				return nil, s.err(err)
			}
			e.Type = cloudmeter.EventType(typ)
			e.Data = []byte(data)
			out[e.ProductID] = append(out[e.ProductID], e)
		}
		if err := rows.Close(); err != nil {
			return nil, s.err(err)
		}
	}
	return out, nil
}

// writeRatings stores the ratings of the rated products: their chunks and anomalies
// (chunks.go), their resources rows (with the open part of their spans and their rating
// state), users, infrastructures and datacenters. Fresh products had no stored event
// before, so they have no rows to delete.
func (s *Store) writeRatings(ctx context.Context, tx *sql.Tx, writes []productWrite) error {
	var unprovisioned []any
	for _, w := range writes {
		if !w.fresh && w.res == nil {
			unprovisioned = append(unprovisioned, w.pid)
		}
	}
	if err := s.writeChunks(ctx, tx, writes); err != nil {
		return err
	}
	if err := s.execRows(ctx, tx, deleteResources, unprovisioned); err != nil {
		return err
	}

	var resources, anomalies []any
	type infraKey struct{ user, id int64 }
	users := map[int64]bool{}
	infras := map[infraKey][2]string{}
	datacenters := map[string]bool{}
	var buf []byte
	for i := range writes {
		w := &writes[i]
		if w.res == nil {
			continue
		}
		res := w.res
		attrs, err := json.Marshal(res.Attributes)
		if err != nil {
			return cloudmeter.Internal(err)
		}
		shared := sharedOf(res)
		from, spans, cp := w.openPart()
		buf = appendSpans(buf[:0], &shared, spans)
		resources = append(resources, res.UserID, res.ProductID, res.InfrastructureID, res.InfrastructureLabel, res.Datacenter, string(res.Type),
			res.Label, res.Subdomain, boolInt(res.ExcludeBilling), string(attrs), string(res.State), res.ProvisionedAt, res.DeletedAt, 1,
			slices.Clone(buf), from, w.state, cp)
		users[res.UserID] = true
		infras[infraKey{res.UserID, res.InfrastructureID}] = [2]string{res.InfrastructureLabel, res.Datacenter}
		datacenters[res.Datacenter] = true
	}
	for _, w := range writes {
		for i, a := range w.anomalies {
			anomalies = append(anomalies, a.ProductID, int64(w.anomaliesFrom+i+1), a.UserID, string(a.Kind), a.Message, a.EventSource, a.EventID, a.Time)
		}
	}

	if err := s.execRows(ctx, tx, upsertResources, resources); err != nil {
		return err
	}

	userArgs := make([]any, 0, len(users))
	for _, u := range keys(users) {
		userArgs = append(userArgs, u)
	}
	if err := s.execRows(ctx, tx, insertUsers, userArgs); err != nil {
		return err
	}
	// In key order, like every multi-row write here, so that concurrent writers lock rows
	// in one order.
	infraKeys := make([]infraKey, 0, len(infras))
	for k := range infras {
		infraKeys = append(infraKeys, k)
	}
	slices.SortFunc(infraKeys, func(a, b infraKey) int { return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.id, b.id)) })
	infraArgs := make([]any, 0, len(infras)*4)
	for _, k := range infraKeys {
		v := infras[k]
		infraArgs = append(infraArgs, k.user, k.id, v[0], v[1])
	}
	if err := s.writeInfrastructures(ctx, tx, infraArgs); err != nil { // owners.go
		return err
	}
	dcArgs := make([]any, 0, len(datacenters))
	for d := range datacenters {
		dcArgs = append(dcArgs, d)
	}
	slices.SortFunc(dcArgs, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	if err := s.execRows(ctx, tx, insertDatacenters, dcArgs); err != nil {
		return err
	}
	return s.execRows(ctx, tx, insertAnomalies, anomalies)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

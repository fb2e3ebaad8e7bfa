package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
)

// chunk bounds the rows of one multi-row statement (SQLite allows 32766 variables).
const chunk = 200

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

type eventKey struct{ source, id string }

// AppendEvents stores a batch atomically and re-rates the products it touches. A
// transaction that fails on a serialization failure or a deadlock is run again.
func (s *Store) AppendEvents(ctx context.Context, events []cloudmeter.Event, rate cloudmeter.RateFunc) (cloudmeter.AppendResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := s.appendEvents(ctx, events, rate)
		if err == nil || attempt == 5 || !s.d.Retryable(err) {
			return res, err
		}
	}
}

func (s *Store) appendEvents(ctx context.Context, events []cloudmeter.Event, rate cloudmeter.RateFunc) (cloudmeter.AppendResult, error) {
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

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return res, s.err(err)
	}
	defer tx.Rollback()

	products := map[int64]bool{}
	rated := map[int64]bool{} // products with lifecycle events to rate; traffic samples rate none
	for _, i := range candidates {
		products[events[i].ProductID] = true
		if events[i].Type != cloudmeter.EventTrafficMetered {
			rated[events[i].ProductID] = true
		}
	}
	if s.d.LockProducts() {
		if err := s.lockProducts(ctx, tx, keys(products)); err != nil {
			return res, err
		}
	}
	existing, err := s.loadEvents(ctx, tx, keys(rated))
	if err != nil {
		return res, err
	}

	now := time.Now().Unix()
	inserted := map[eventKey]bool{}
	for start := 0; start < len(candidates); start += chunk {
		part := candidates[start:min(start+chunk, len(candidates))]
		args := make([]any, 0, len(part)*9)
		for _, i := range part {
			e := &events[i]
			args = append(args, e.Source, e.ID, e.ProductID, string(e.Type), e.Time, e.Subject, e.Digest, string(e.Data), now)
		}
		rows, err := tx.QueryContext(ctx, s.rb(`INSERT INTO events (source, id, product_id, type, occurred_at, subject, digest, data, received_at) VALUES `+
			placeholders(len(part), 9)+` ON CONFLICT (source, id) DO NOTHING RETURNING source, id`), args...)
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
		return res, nil // rolled back: nothing of the batch is stored
	}

	ratings := make([]cloudmeter.Rating, 0, len(touched))
	for _, pid := range keys(touched) {
		evs := append(existing[pid], touched[pid]...)
		ratings = append(ratings, rate(pid, evs))
		res.Rated = append(res.Rated, pid)
	}
	if err := s.writeRatings(ctx, tx, ratings); err != nil {
		return res, err
	}
	if err := s.applyTraffic(ctx, tx, ratings, traffic); err != nil { // traffic.go
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, s.err(err)
	}
	return res, nil
}

// lockProducts takes a row lock per product, in ascending order so that two
// transactions never wait on each other in a cycle.
func (s *Store) lockProducts(ctx context.Context, tx *sql.Tx, products []int64) error {
	for start := 0; start < len(products); start += chunk {
		part := products[start:min(start+chunk, len(products))]
		args := make([]any, 0, len(part)*2)
		for _, p := range part {
			args = append(args, p, 1)
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO rating_locks (product_id, generation) VALUES `+placeholders(len(part), 2)+
			` ON CONFLICT (product_id) DO UPDATE SET generation = rating_locks.generation + 1`), args...); err != nil {
			return s.err(err)
		}
	}
	return nil
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

// loadEvents returns the stored events of the given products but their traffic samples,
// with Data but without the typed fields (the rate function decodes them).
func (s *Store) loadEvents(ctx context.Context, q querier, products []int64) (map[int64][]cloudmeter.Event, error) {
	out := map[int64][]cloudmeter.Event{}
	for start := 0; start < len(products); start += chunk {
		part := products[start:min(start+chunk, len(products))]
		args := make([]any, len(part))
		for i, p := range part {
			args[i] = p
		}
		// Traffic samples are rated by the traffic tables (traffic.go), never re-read here.
		rows, err := q.QueryContext(ctx, s.rb(`SELECT source, id, product_id, type, occurred_at, subject, digest, data FROM events WHERE product_id IN `+inList(len(part))+
			` AND type <> '`+string(cloudmeter.EventTrafficMetered)+`'`), args...)
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

// writeRatings replaces the resources, spans and anomalies of the rated products.
func (s *Store) writeRatings(ctx context.Context, tx *sql.Tx, ratings []cloudmeter.Rating) error {
	for start := 0; start < len(ratings); start += chunk {
		part := ratings[start:min(start+chunk, len(ratings))]
		args := make([]any, len(part))
		for i, r := range part {
			args[i] = r.ProductID
		}
		for _, table := range []string{"spans", "anomalies"} {
			if _, err := tx.ExecContext(ctx, s.rb(`DELETE FROM `+table+` WHERE product_id IN `+inList(len(part))), args...); err != nil {
				return s.err(err)
			}
		}
	}

	var resources []*cloudmeter.Resource
	var spans []cloudmeter.Span
	var anomalies []cloudmeter.Anomaly
	for _, r := range ratings {
		if r.Resource != nil {
			resources = append(resources, r.Resource)
		} else if _, err := tx.ExecContext(ctx, s.rb(`DELETE FROM resources WHERE product_id = ?`), r.ProductID); err != nil {
			return s.err(err)
		}
		spans = append(spans, r.Spans...)
		anomalies = append(anomalies, r.Anomalies...)
	}

	for start := 0; start < len(resources); start += chunk {
		part := resources[start:min(start+chunk, len(resources))]
		args := make([]any, 0, len(part)*14)
		users := make([]any, 0, len(part))
		infra := make([]any, 0, len(part)*4)
		for _, r := range part {
			attrs, _ := json.Marshal(r.Attributes)
			args = append(args, r.UserID, r.ProductID, r.InfrastructureID, r.InfrastructureLabel, r.Datacenter, string(r.Type),
				r.Label, r.Subdomain, boolInt(r.ExcludeBilling), string(attrs), string(r.State), r.ProvisionedAt, r.DeletedAt, 1)
			users = append(users, r.UserID)
			infra = append(infra, r.UserID, r.InfrastructureID, r.InfrastructureLabel, r.Datacenter)
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO resources (user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label,
			subdomain, exclude_billing, attributes, state, provisioned_at, deleted_at, rated_generation) VALUES `+placeholders(len(part), 14)+`
			ON CONFLICT (product_id) DO UPDATE SET user_id = excluded.user_id, infrastructure_id = excluded.infrastructure_id,
			infrastructure_label = excluded.infrastructure_label, datacenter = excluded.datacenter, type = excluded.type, label = excluded.label,
			subdomain = excluded.subdomain, exclude_billing = excluded.exclude_billing, attributes = excluded.attributes, state = excluded.state,
			provisioned_at = excluded.provisioned_at, deleted_at = excluded.deleted_at, rated_generation = resources.rated_generation + 1`), args...); err != nil {
			return s.err(err)
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO users (user_id) VALUES `+placeholders(len(part), 1)+` ON CONFLICT (user_id) DO NOTHING`), users...); err != nil {
			return s.err(err)
		}
		// Several resources of one chunk may name the same infrastructure; keep the last.
		infra = dedupeInfra(infra)
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO infrastructures (user_id, infrastructure_id, label, datacenter) VALUES `+placeholders(len(infra)/4, 4)+
			` ON CONFLICT (user_id, infrastructure_id) DO UPDATE SET label = excluded.label, datacenter = excluded.datacenter`), infra...); err != nil {
			return s.err(err)
		}
	}

	for start := 0; start < len(spans); start += chunk {
		part := spans[start:min(start+chunk, len(spans))]
		args := make([]any, 0, len(part)*20)
		for i := range part {
			sp := &part[i]
			a := &sp.Attributes
			args = append(args, sp.UserID, sp.ProductID, sp.Start, sp.End, sp.InfrastructureID, sp.Datacenter, string(sp.Type), sp.Label, sp.Subdomain,
				boolInt(sp.ExcludeBilling), string(sp.State), nullInt(a.ServerTypeID), nullStr(a.ServerTypeName), nullInt(a.DriveSizeMBytes),
				nullInt(a.SharedDriveSizeMBytes), nullStr(a.StorageType), nullStr(a.SubnetType), nullInt(a.SubnetPrefixSize), nullInt(a.MeasurementPeriod),
				nullInt(a.StoredGBytes))
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO spans (user_id, product_id, starts_at, ends_at, infrastructure_id, datacenter, type, label, subdomain,
			exclude_billing, state, server_type_id, server_type_name, drive_size_mbytes, shared_drive_size_mbytes, storage_type, subnet_type,
			subnet_prefix_size, measurement_period, stored_gbytes) VALUES `+placeholders(len(part), 20)), args...); err != nil {
			return s.err(err)
		}
	}

	seq := map[int64]int64{}
	for start := 0; start < len(anomalies); start += chunk {
		part := anomalies[start:min(start+chunk, len(anomalies))]
		args := make([]any, 0, len(part)*8)
		for _, a := range part {
			seq[a.ProductID]++
			args = append(args, a.ProductID, seq[a.ProductID], a.UserID, string(a.Kind), a.Message, a.EventSource, a.EventID, a.Time)
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO anomalies (product_id, seq, user_id, kind, message, event_source, event_id, occurred_at) VALUES `+
			placeholders(len(part), 8)), args...); err != nil {
			return s.err(err)
		}
	}
	return nil
}

func dedupeInfra(rows []any) []any {
	type k struct{ u, i int64 }
	last := map[k]int{}
	for r := 0; r < len(rows); r += 4 {
		last[k{rows[r].(int64), rows[r+1].(int64)}] = r
	}
	out := make([]any, 0, len(rows))
	for r := 0; r < len(rows); r += 4 {
		if last[k{rows[r].(int64), rows[r+1].(int64)}] == r {
			out = append(out, rows[r:r+4]...)
		}
	}
	return out
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func nullStr(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

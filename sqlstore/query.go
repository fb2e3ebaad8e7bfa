package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cloudmeter/cloudmeter"
)

// spanScanner reads rows whose one column is a product's encoded spans and decodes them.
type spanScanner struct {
	spans sql.RawBytes // valid until the next row: decoded at once
	r     spanReader
}

func (sc *spanScanner) scan(rows *sql.Rows, dst []cloudmeter.Span) ([]cloudmeter.Span, error) {
	if err := rows.Scan(&sc.spans); err != nil {
		return dst, err
	}
	if sc.spans == nil {
		return dst, cloudmeter.Errorf(cloudmeter.KindInternal, "a product has not been rated since the store was upgraded: run cloudmeter rerate")
	}
	out, err := sc.r.decode(dst, sc.spans)
	if err != nil {
		return dst, cloudmeter.Internal(err)
	}
	return out, nil
}

// Spans returns the spans of a user that overlap a closed window: from the open parts of
// the user's products (their resources rows) and the earlier chunks (span_chunks) that
// overlap it (chunks.go).
func (s *Store) Spans(ctx context.Context, q cloudmeter.SpanQuery) ([]cloudmeter.Span, error) {
	var b strings.Builder
	var args []any
	filters := func() {
		if len(q.InfrastructureIDs) > 0 {
			b.WriteString(` AND infrastructure_id IN ` + inList(len(q.InfrastructureIDs)))
			for _, id := range q.InfrastructureIDs {
				args = append(args, id)
			}
		}
		if len(q.Datacenters) > 0 {
			b.WriteString(` AND datacenter IN ` + inList(len(q.Datacenters)))
			for _, d := range q.Datacenters {
				args = append(args, d)
			}
		}
	}
	b.WriteString(`SELECT spans FROM resources WHERE user_id = ? AND spans_from <= ? AND (deleted_at = 0 OR deleted_at >= ?)`)
	args = append(args, q.UserID, q.To, q.From)
	filters()
	b.WriteString(` UNION ALL SELECT spans FROM span_chunks WHERE user_id = ? AND chunk_end >= ? AND chunk_start <= ?`)
	args = append(args, q.UserID, q.From, q.To)
	filters()
	rows, err := s.db.QueryContext(ctx, s.rb(b.String()), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	// Rows come in no useful order; reports want infrastructure, type, product and start.
	// Each row's spans are decoded in start order, and the rows of one product do not
	// overlap, so the rows are sorted, not the spans.
	type block struct {
		infra, product, start int64
		typ                   string
		spans                 []cloudmeter.Span
	}
	var (
		arena  []cloudmeter.Span // spans are decoded into blocks of it, never moved
		blocks []block
		total  int
		sc     spanScanner
	)
	byStart := func(a, b cloudmeter.Span) int { return cmp.Compare(a.Start, b.Start) }
	for rows.Next() {
		if cap(arena)-len(arena) < 64 {
			arena = make([]cloudmeter.Span, 0, 4096)
		}
		lo := len(arena)
		if arena, err = sc.scan(rows, arena); err != nil {
			return nil, s.err(err)
		}
		kept := lo
		for _, sp := range arena[lo:] {
			if sp.Start <= q.To && sp.End >= q.From {
				arena[kept] = sp
				kept++
			}
		}
		arena = arena[:kept]
		if kept == lo {
			continue
		}
		spans := arena[lo:kept:kept]
		if !slices.IsSortedFunc(spans, byStart) {
			slices.SortFunc(spans, byStart)
		}
		blocks = append(blocks, block{spans[0].InfrastructureID, spans[0].ProductID, spans[0].Start, string(spans[0].Type), spans})
		total += len(spans)
		if q.MaxSpans > 0 && total > q.MaxSpans {
			return nil, cloudmeter.Errorf(cloudmeter.KindTooLarge, "the report would hold more than %d usage records", q.MaxSpans)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.err(err)
	}
	slices.SortFunc(blocks, func(a, b block) int {
		return cmp.Or(cmp.Compare(a.infra, b.infra), strings.Compare(a.typ, b.typ), cmp.Compare(a.product, b.product), cmp.Compare(a.start, b.start))
	})
	out := make([]cloudmeter.Span, 0, total)
	for _, b := range blocks {
		out = append(out, b.spans...)
	}
	return out, nil
}

// AllSpans calls fn for every span, of one user when userID > 0, by user, product and
// start.
func (s *Store) AllSpans(ctx context.Context, userID int64, fn func(cloudmeter.Span) error) error {
	q := `SELECT spans FROM (SELECT user_id, product_id, spans_from AS start, spans FROM resources UNION ALL
		SELECT user_id, product_id, chunk_start, spans FROM span_chunks) AS c ORDER BY user_id, product_id, start`
	var args []any
	if userID > 0 {
		q = `SELECT spans FROM (SELECT product_id, spans_from AS start, spans FROM resources WHERE user_id = ? UNION ALL
			SELECT product_id, chunk_start, spans FROM span_chunks WHERE user_id = ?) AS c ORDER BY product_id, start`
		args = []any{userID, userID}
	}
	rows, err := s.db.QueryContext(ctx, s.rb(q), args...)
	if err != nil {
		return s.err(err)
	}
	defer rows.Close()
	var sc spanScanner
	var spans []cloudmeter.Span
	for rows.Next() {
		if spans, err = sc.scan(rows, spans[:0]); err != nil {
			return s.err(err)
		}
		for _, sp := range spans {
			if err := fn(sp); err != nil {
				return err
			}
		}
	}
	return s.err(rows.Err())
}

// Resource returns a product's current view and spans.
func (s *Store) Resource(ctx context.Context, productID int64) (cloudmeter.Resource, []cloudmeter.Span, error) {
	var r cloudmeter.Resource
	var typ, state, attrs string
	var excl int64
	var encoded []byte
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label, subdomain,
		exclude_billing, attributes, state, provisioned_at, deleted_at, spans FROM resources WHERE product_id = ?`), productID).
		Scan(&r.UserID, &r.ProductID, &r.InfrastructureID, &r.InfrastructureLabel, &r.Datacenter, &typ, &r.Label, &r.Subdomain, &excl, &attrs, &state,
			&r.ProvisionedAt, &r.DeletedAt, &encoded)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil, cloudmeter.ProductNotFound(productID)
	}
	if err != nil {
		return r, nil, s.err(err)
	}
	r.Type, r.State, r.ExcludeBilling = cloudmeter.ResourceType(typ), cloudmeter.State(state), excl != 0
	if err := json.Unmarshal([]byte(attrs), &r.Attributes); err != nil {
		return r, nil, cloudmeter.Internal(err)
	}
	if encoded == nil {
		return r, nil, cloudmeter.Errorf(cloudmeter.KindInternal, "product %d has not been rated since the store was upgraded: run cloudmeter rerate", productID)
	}
	// The chunks before the open part, in order, then the open part.
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT spans FROM span_chunks WHERE product_id = ? ORDER BY chunk_start`), productID)
	if err != nil {
		return r, nil, s.err(err)
	}
	defer rows.Close()
	var spans []cloudmeter.Span
	var sc spanScanner
	for rows.Next() {
		if spans, err = sc.scan(rows, spans); err != nil {
			return r, nil, s.err(err)
		}
	}
	if err := rows.Err(); err != nil {
		return r, nil, s.err(err)
	}
	spans, err = decodeSpans(spans, encoded)
	if err != nil {
		return r, nil, cloudmeter.Internal(fmt.Errorf("product %d: %w", productID, err))
	}
	return r, spans, nil
}

// Infrastructures returns the infrastructures of a user.
func (s *Store) Infrastructures(ctx context.Context, userID int64) ([]cloudmeter.Infrastructure, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT i.infrastructure_id, i.label, i.datacenter,
		EXISTS (SELECT 1 FROM resources r WHERE r.user_id = i.user_id AND r.infrastructure_id = i.infrastructure_id AND r.deleted_at = 0)
		FROM infrastructures i WHERE i.user_id = ? ORDER BY i.infrastructure_id`), userID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.Infrastructure
	for rows.Next() {
		inf := cloudmeter.Infrastructure{UserID: userID}
		var live bool
		if err := rows.Scan(&inf.ID, &inf.Label, &inf.Datacenter, &live); err != nil {
			return nil, s.err(err)
		}
		inf.ServiceStatus = "deleted"
		if live {
			inf.ServiceStatus = "active"
		}
		out = append(out, inf)
	}
	return out, s.err(rows.Err())
}

// UserExists reports whether a user owns resources or keys.
func (s *Store) UserExists(ctx context.Context, userID int64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT (SELECT COUNT(*) FROM users WHERE user_id = ?) + (SELECT COUNT(*) FROM api_keys WHERE user_id = ?)`), userID, userID).Scan(&n)
	return n > 0, s.err(err)
}

// DatacenterExists reports whether any resource lives in the named datacenter.
func (s *Store) DatacenterExists(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT COUNT(*) FROM datacenters WHERE name = ?`), name).Scan(&n)
	return n > 0, s.err(err)
}

// Anomalies returns stored anomalies.
func (s *Store) Anomalies(ctx context.Context, q cloudmeter.AnomalyQuery) ([]cloudmeter.Anomaly, error) {
	var b strings.Builder
	b.WriteString(`SELECT product_id, user_id, kind, message, event_source, event_id, occurred_at FROM anomalies WHERE 1 = 1`)
	var args []any
	if q.UserID > 0 {
		b.WriteString(` AND user_id = ?`)
		args = append(args, q.UserID)
	}
	if q.ProductID > 0 {
		b.WriteString(` AND product_id = ?`)
		args = append(args, q.ProductID)
	}
	b.WriteString(` ORDER BY product_id DESC, seq`)
	if q.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.rb(b.String()), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.Anomaly
	for rows.Next() {
		var a cloudmeter.Anomaly
		var kind string
		if err := rows.Scan(&a.ProductID, &a.UserID, &kind, &a.Message, &a.EventSource, &a.EventID, &a.Time); err != nil {
			return nil, s.err(err)
		}
		a.Kind = cloudmeter.AnomalyKind(kind)
		out = append(out, a)
	}
	return out, s.err(rows.Err())
}

// ProductEvents returns every stored event of a product, with Data but without the
// typed fields.
func (s *Store) ProductEvents(ctx context.Context, productID int64) ([]cloudmeter.Event, error) {
	return s.ledgerEvents(ctx, productID) // traffic.go: loadEvents leaves traffic samples out
}

// Rerate rates every stored product again, in batches, each in its own transaction.
func (s *Store) Rerate(ctx context.Context, rate cloudmeter.RateFunc) (int, error) {
	var products []int64
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT DISTINCT product_id FROM events ORDER BY product_id`))
	if err != nil {
		return 0, s.err(err)
	}
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return 0, s.err(err)
		}
		products = append(products, p)
	}
	if err := rows.Close(); err != nil {
		return 0, s.err(err)
	}
	n := 0
	for start := 0; start < len(products); start += chunk {
		part := products[start:min(start+chunk, len(products))]
		if s.d.OneWriter() {
			if err := s.lockWriter(ctx); err != nil {
				return n, err
			}
		}
		m, err := s.rerate(ctx, part, rate)
		if s.d.OneWriter() {
			s.unlockWriter()
		}
		s.preparePending(ctx)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// rerate rates products again in one transaction and returns how many it rated.
func (s *Store) rerate(ctx context.Context, part []int64, rate cloudmeter.RateFunc) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.err(err)
	}
	defer tx.Rollback()
	if s.d.LockProducts() {
		if err := s.lockProducts(ctx, tx, part); err != nil {
			return 0, err
		}
	}
	evs, err := s.loadEvents(ctx, tx, part)
	if err != nil {
		return 0, err
	}
	rt := &rater{s: s, tx: tx, rate: rate, incremental: isRate(rate)}
	writes := make([]productWrite, 0, len(part))
	for _, p := range part {
		w, _ := rt.rateAll(p, evs[p])
		writes = append(writes, w)
	}
	if err := s.writeRatings(ctx, tx, writes); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, s.err(err)
	}
	return len(part), nil
}

// FinishMigrations carries out the work migrations leave to code (table store_tasks):
// "rerate" re-rates every product with rate. Opening the store calls it; it does nothing
// when no task is left, and two instances doing it at once do the same work twice, no
// harm done.
func (s *Store) FinishMigrations(ctx context.Context, rate cloudmeter.RateFunc) error {
	var n int
	if err := s.db.QueryRowContext(ctx, s.rb(`SELECT COUNT(*) FROM store_tasks WHERE name = ?`), "rerate").Scan(&n); err != nil {
		return s.err(err)
	}
	if n == 0 {
		return nil
	}
	if _, err := s.Rerate(ctx, rate); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.rb(`DELETE FROM store_tasks WHERE name = ?`), "rerate")
	return s.err(err)
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cloudmeter/cloudmeter"
)

const spanColumns = `user_id, product_id, starts_at, ends_at, infrastructure_id, datacenter, type, label, subdomain, exclude_billing, state,
	server_type_id, server_type_name, drive_size_mbytes, shared_drive_size_mbytes, storage_type, subnet_type, subnet_prefix_size, measurement_period,
	stored_gbytes`

func scanSpan(rows *sql.Rows) (cloudmeter.Span, error) {
	var sp cloudmeter.Span
	var typ, state string
	var excl int64
	var stID, drive, shared, prefix, period, stored sql.NullInt64
	var stName, storage, subnet sql.NullString
	err := rows.Scan(&sp.UserID, &sp.ProductID, &sp.Start, &sp.End, &sp.InfrastructureID, &sp.Datacenter, &typ, &sp.Label, &sp.Subdomain, &excl, &state,
		&stID, &stName, &drive, &shared, &storage, &subnet, &prefix, &period, &stored)
	sp.Type, sp.State, sp.ExcludeBilling = cloudmeter.ResourceType(typ), cloudmeter.State(state), excl != 0
	a := &sp.Attributes
	a.ServerTypeID, a.DriveSizeMBytes, a.SharedDriveSizeMBytes, a.SubnetPrefixSize, a.MeasurementPeriod = ptrInt(stID), ptrInt(drive), ptrInt(shared), ptrInt(prefix), ptrInt(period)
	a.ServerTypeName, a.StorageType, a.SubnetType = ptrStr(stName), ptrStr(storage), ptrStr(subnet)
	a.StoredGBytes = ptrInt(stored) // data lake storage (migration 00004)
	return sp, err
}

func ptrInt(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func ptrStr(n sql.NullString) *string {
	if !n.Valid {
		return nil
	}
	v := n.String
	return &v
}

// Spans returns the spans of a user that overlap a closed window.
func (s *Store) Spans(ctx context.Context, q cloudmeter.SpanQuery) ([]cloudmeter.Span, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + spanColumns + ` FROM spans WHERE user_id = ? AND starts_at <= ? AND ends_at >= ?`)
	args := []any{q.UserID, q.To, q.From}
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
	b.WriteString(` ORDER BY infrastructure_id, type, product_id, starts_at`)
	rows, err := s.db.QueryContext(ctx, s.rb(b.String()), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.Span
	for rows.Next() {
		sp, err := scanSpan(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, sp)
	}
	return out, s.err(rows.Err())
}

// AllSpans calls fn for every span, of one user when userID > 0.
func (s *Store) AllSpans(ctx context.Context, userID int64, fn func(cloudmeter.Span) error) error {
	q, args := `SELECT `+spanColumns+` FROM spans ORDER BY user_id, product_id, starts_at`, []any{}
	if userID > 0 {
		q, args = `SELECT `+spanColumns+` FROM spans WHERE user_id = ? ORDER BY product_id, starts_at`, []any{userID}
	}
	rows, err := s.db.QueryContext(ctx, s.rb(q), args...)
	if err != nil {
		return s.err(err)
	}
	defer rows.Close()
	for rows.Next() {
		sp, err := scanSpan(rows)
		if err != nil {
			return s.err(err)
		}
		if err := fn(sp); err != nil {
			return err
		}
	}
	return s.err(rows.Err())
}

// Resource returns a product's current view and spans.
func (s *Store) Resource(ctx context.Context, productID int64) (cloudmeter.Resource, []cloudmeter.Span, error) {
	var r cloudmeter.Resource
	var typ, state, attrs string
	var excl int64
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label, subdomain,
		exclude_billing, attributes, state, provisioned_at, deleted_at FROM resources WHERE product_id = ?`), productID).
		Scan(&r.UserID, &r.ProductID, &r.InfrastructureID, &r.InfrastructureLabel, &r.Datacenter, &typ, &r.Label, &r.Subdomain, &excl, &attrs, &state,
			&r.ProvisionedAt, &r.DeletedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil, cloudmeter.Errorf(cloudmeter.KindNotFound, "product %d: no provisioned resource has this product_id", productID)
	}
	if err != nil {
		return r, nil, s.err(err)
	}
	r.Type, r.State, r.ExcludeBilling = cloudmeter.ResourceType(typ), cloudmeter.State(state), excl != 0
	if err := json.Unmarshal([]byte(attrs), &r.Attributes); err != nil {
		return r, nil, cloudmeter.Internal(err)
	}
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT `+spanColumns+` FROM spans WHERE user_id = ? AND product_id = ? ORDER BY starts_at`), r.UserID, productID)
	if err != nil {
		return r, nil, s.err(err)
	}
	defer rows.Close()
	var spans []cloudmeter.Span
	for rows.Next() {
		sp, err := scanSpan(rows)
		if err != nil {
			return r, nil, s.err(err)
		}
		spans = append(spans, sp)
	}
	return r, spans, s.err(rows.Err())
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
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT COUNT(*) FROM (SELECT 1 FROM resources WHERE datacenter = ? LIMIT 1) AS d`), name).Scan(&n)
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
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return n, s.err(err)
		}
		if s.d.LockProducts() {
			if err := s.lockProducts(ctx, tx, part); err != nil {
				tx.Rollback()
				return n, err
			}
		}
		evs, err := s.loadEvents(ctx, tx, part)
		if err != nil {
			tx.Rollback()
			return n, err
		}
		ratings := make([]cloudmeter.Rating, 0, len(part))
		for _, p := range part {
			ratings = append(ratings, rate(p, evs[p]))
		}
		if err := s.writeRatings(ctx, tx, ratings); err != nil {
			tx.Rollback()
			return n, err
		}
		if err := tx.Commit(); err != nil {
			return n, s.err(err)
		}
		n += len(part)
	}
	return n, nil
}

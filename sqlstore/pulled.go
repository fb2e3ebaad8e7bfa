package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cloudmeter/cloudmeter"
)

const pulledColumns = `source, user_id, infrastructure_id, infrastructure_label, datacenter, resource_type, direction, product_id, label, subdomain,
	attributes, starts_at, ends_at, quantity, measurement_period, cost_per_unit, cost, currency`

func scanPulled(sc interface{ Scan(...any) error }) (cloudmeter.PulledRecord, error) {
	var r cloudmeter.PulledRecord
	var typ, dir, attrs string
	err := sc.Scan(&r.Source, &r.UserID, &r.InfrastructureID, &r.InfrastructureLabel, &r.Datacenter, &typ, &dir, &r.ProductID, &r.Label, &r.Subdomain,
		&attrs, &r.Start, &r.End, &r.Quantity, &r.MeasurementPeriod, &r.CostPerUnit, &r.Cost, &r.Currency)
	if err != nil {
		return r, err
	}
	r.Type, r.Direction = cloudmeter.ResourceType(typ), cloudmeter.Direction(dir)
	if attrs != "" {
		err = json.Unmarshal([]byte(attrs), &r.Attributes)
	}
	return r, err
}

// PutPullWindow stores (or replaces) one window's records.
func (s *Store) PutPullWindow(ctx context.Context, w cloudmeter.PullWindow, recs []cloudmeter.PulledRecord) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, s.err(err)
	}
	defer tx.Rollback()
	// Another window of the source and user that overlaps this one without being it
	// would count the overlap twice.
	var from, to int64
	err = tx.QueryRowContext(ctx, s.rb(`SELECT from_at, to_at FROM pull_windows WHERE user_id = ? AND source = ? AND from_at <= ? AND to_at >= ?
		AND NOT (from_at = ? AND to_at = ?) LIMIT 1`), w.UserID, w.Source, w.To, w.From, w.From, w.To).Scan(&from, &to)
	if err == nil {
		return false, cloudmeter.Errorf(cloudmeter.KindConflict, "the window %s .. %s overlaps the window %s .. %s already pulled from %s for user %d: pull that window again, or one that does not overlap it",
			cloudmeter.FormatTime(w.From), cloudmeter.FormatTime(w.To), cloudmeter.FormatTime(from), cloudmeter.FormatTime(to), w.Source, w.UserID)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, s.err(err)
	}
	old, err := s.windowRecords(ctx, tx, w)
	if err != nil {
		return false, err
	}
	changed := !sameRecords(old, recs)
	if _, err := tx.ExecContext(ctx, s.rb(`DELETE FROM pulled_records WHERE user_id = ? AND source = ? AND window_from = ?`), w.UserID, w.Source, w.From); err != nil {
		return false, s.err(err)
	}
	if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO pull_windows (user_id, source, from_at, to_at, pulled_at, records, cost) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, source, from_at) DO UPDATE SET pulled_at = excluded.pulled_at, records = excluded.records, cost = excluded.cost`),
		w.UserID, w.Source, w.From, w.To, w.PulledAt, w.Records, int64(w.Cost)); err != nil {
		return false, s.err(err)
	}
	if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO users (user_id) VALUES (?) ON CONFLICT (user_id) DO NOTHING`), w.UserID); err != nil {
		return false, s.err(err)
	}
	for i := range recs {
		r := &recs[i]
		attrs, err := json.Marshal(r.Attributes)
		if err != nil {
			return false, cloudmeter.Internal(err)
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO pulled_records (user_id, source, window_from, idx, infrastructure_id, infrastructure_label, datacenter,
			resource_type, direction, product_id, label, subdomain, attributes, starts_at, ends_at, quantity, measurement_period, cost_per_unit, cost, currency)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			w.UserID, w.Source, w.From, i, r.InfrastructureID, r.InfrastructureLabel, r.Datacenter, string(r.Type), string(r.Direction), r.ProductID,
			r.Label, r.Subdomain, string(attrs), r.Start, r.End, r.Quantity, r.MeasurementPeriod, int64(r.CostPerUnit), int64(r.Cost), r.Currency); err != nil {
			return false, s.err(err)
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO infrastructures (user_id, infrastructure_id, label, datacenter) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, infrastructure_id) DO NOTHING`), w.UserID, r.InfrastructureID, r.InfrastructureLabel, r.Datacenter); err != nil {
			return false, s.err(err)
		}
	}
	return changed, s.err(tx.Commit())
}

func (s *Store) windowRecords(ctx context.Context, tx *sql.Tx, w cloudmeter.PullWindow) ([]cloudmeter.PulledRecord, error) {
	rows, err := tx.QueryContext(ctx, s.rb(`SELECT `+pulledColumns+` FROM pulled_records WHERE user_id = ? AND source = ? AND window_from = ? ORDER BY idx`),
		w.UserID, w.Source, w.From)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.PulledRecord
	for rows.Next() {
		r, err := scanPulled(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, r)
	}
	return out, s.err(rows.Err())
}

func sameRecords(a, b []cloudmeter.PulledRecord) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		ja, _ := json.Marshal(a[i])
		jb, _ := json.Marshal(b[i])
		if !bytes.Equal(ja, jb) {
			return false
		}
	}
	return true
}

// PullWindows lists windows.
func (s *Store) PullWindows(ctx context.Context, source string, userID int64) ([]cloudmeter.PullWindow, error) {
	q := `SELECT source, user_id, from_at, to_at, pulled_at, records, cost FROM pull_windows WHERE 1 = 1`
	var args []any
	if source != "" {
		q += ` AND source = ?`
		args = append(args, source)
	}
	if userID != 0 {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	rows, err := s.db.QueryContext(ctx, s.rb(q+` ORDER BY source, user_id, from_at`), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := []cloudmeter.PullWindow{}
	for rows.Next() {
		var w cloudmeter.PullWindow
		if err := rows.Scan(&w.Source, &w.UserID, &w.From, &w.To, &w.PulledAt, &w.Records, &w.Cost); err != nil {
			return nil, s.err(err)
		}
		out = append(out, w)
	}
	return out, s.err(rows.Err())
}

// PulledRecords returns a user's pulled records that start in the window.
func (s *Store) PulledRecords(ctx context.Context, q cloudmeter.PulledQuery) ([]cloudmeter.PulledRecord, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + pulledColumns + ` FROM pulled_records WHERE user_id = ? AND starts_at >= ? AND starts_at <= ?`)
	args := []any{q.UserID, q.From, q.To}
	if len(q.InfrastructureIDs) > 0 {
		b.WriteString(` AND infrastructure_id IN ` + inList(len(q.InfrastructureIDs)))
		for _, id := range q.InfrastructureIDs {
			args = append(args, id)
		}
	}
	if len(q.Datacenters) > 0 {
		b.WriteString(` AND datacenter IN ` + inList(len(q.Datacenters)))
		for _, dc := range q.Datacenters {
			args = append(args, dc)
		}
	}
	b.WriteString(` ORDER BY infrastructure_id, resource_type, product_id, direction, starts_at, source`)
	if q.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, q.Limit+1)
	}
	rows, err := s.db.QueryContext(ctx, s.rb(b.String()), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.PulledRecord
	for rows.Next() {
		r, err := scanPulled(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, r)
	}
	return out, s.err(rows.Err())
}

// PulledTotals sums a source's records by product.
func (s *Store) PulledTotals(ctx context.Context, source string) (map[int64]cloudmeter.PulledTotal, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT product_id, CAST(SUM(quantity) AS BIGINT), CAST(SUM(cost) AS BIGINT), MAX(ends_at) FROM pulled_records WHERE source = ? GROUP BY product_id`), source)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := map[int64]cloudmeter.PulledTotal{}
	for rows.Next() {
		var id int64
		var t cloudmeter.PulledTotal
		if err := rows.Scan(&id, &t.Quantity, &t.Cost, &t.LastEnd); err != nil {
			return nil, s.err(err)
		}
		out[id] = t
	}
	return out, s.err(rows.Err())
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudmeter/cloudmeter"
)

const targetColumns = `target_id, url, configuration_id, token, users, infrastructures, schedule_seconds, next_run_at, open_period, created_at`

func scanTarget(sc interface{ Scan(...any) error }) (cloudmeter.ExportTarget, error) {
	var t cloudmeter.ExportTarget
	var token, users, infras string
	if err := sc.Scan(&t.ID, &t.URL, &t.ConfigurationID, &token, &users, &infras, &t.Schedule, &t.NextRunAt, &t.OpenPeriod, &t.CreatedAt); err != nil {
		return t, err
	}
	t.Token = cloudmeter.Secret(token)
	if err := json.Unmarshal([]byte(users), &t.Users); err != nil {
		return t, fmt.Errorf("export target %s: users: %w", t.ID, err)
	}
	if err := json.Unmarshal([]byte(infras), &t.Infrastructures); err != nil {
		return t, fmt.Errorf("export target %s: infrastructures: %w", t.ID, err)
	}
	return t, nil
}

func idList(ids []int64) string {
	if ids == nil {
		ids = []int64{}
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func targetNotFound(id string) error {
	return cloudmeter.Errorf(cloudmeter.KindNotFound, "export target %q not found", id)
}

// PutExportTarget creates or replaces a target; a replaced one keeps its round and its
// deliveries.
func (s *Store) PutExportTarget(ctx context.Context, t cloudmeter.ExportTarget) error {
	_, err := s.db.ExecContext(ctx, s.rb(`INSERT INTO export_targets (`+targetColumns+`, next_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
		ON CONFLICT (target_id) DO UPDATE SET url = excluded.url, configuration_id = excluded.configuration_id, token = excluded.token,
		users = excluded.users, infrastructures = excluded.infrastructures, schedule_seconds = excluded.schedule_seconds`),
		t.ID, t.URL, t.ConfigurationID, t.Token.Reveal(), idList(t.Users), idList(t.Infrastructures), t.Schedule, t.NextRunAt, t.OpenPeriod, t.CreatedAt)
	return s.err(err)
}

// ExportTarget returns one target.
func (s *Store) ExportTarget(ctx context.Context, id string) (cloudmeter.ExportTarget, error) {
	t, err := scanTarget(s.db.QueryRowContext(ctx, s.rb(`SELECT `+targetColumns+` FROM export_targets WHERE target_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, targetNotFound(id)
	}
	return t, s.err(err)
}

// ExportTargets lists the targets by ID.
func (s *Store) ExportTargets(ctx context.Context) ([]cloudmeter.ExportTarget, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+targetColumns+` FROM export_targets ORDER BY target_id`)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := []cloudmeter.ExportTarget{}
	for rows.Next() {
		t, err := scanTarget(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, t)
	}
	return out, s.err(rows.Err())
}

// DeleteExportTarget deletes a target and its outbox.
func (s *Store) DeleteExportTarget(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.err(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.rb(`DELETE FROM export_targets WHERE target_id = ?`), id)
	if err != nil {
		return s.err(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return targetNotFound(id)
	}
	if _, err := tx.ExecContext(ctx, s.rb(`DELETE FROM export_deliveries WHERE target_id = ?`), id); err != nil {
		return s.err(err)
	}
	return s.err(tx.Commit())
}

// EnqueueDeliveries appends a round's deliveries if the target's round is still due.
func (s *Store) EnqueueDeliveries(ctx context.Context, targetID string, due, next int64, openPeriod string, ds []cloudmeter.Delivery) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, s.err(err)
	}
	defer tx.Rollback()
	// The compare and set: of two rounds for one due time, the second changes no row.
	var seq int64
	err = tx.QueryRowContext(ctx, s.rb(`UPDATE export_targets SET next_run_at = ?, open_period = ?, next_seq = next_seq + ?
		WHERE target_id = ? AND next_run_at = ? RETURNING next_seq`), next, openPeriod, len(ds), targetID, due).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.err(err)
	}
	seq -= int64(len(ds))
	for i, d := range ds {
		body := d.Body
		if body == nil {
			body = []byte{}
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO export_deliveries (target_id, seq, kind, period, path, body, created_at, state, attempts,
			next_attempt_at, last_error, sent_at, lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, '', 0, '', 0)`),
			targetID, seq+int64(i), string(d.Kind), d.Period, d.Path, body, d.CreatedAt, d.CreatedAt); err != nil {
			return false, s.err(err)
		}
	}
	return true, s.err(tx.Commit())
}

const deliveryColumns = `target_id, seq, kind, period, path, body, created_at, state, attempts, next_attempt_at, last_error, sent_at`

func scanDelivery(sc interface{ Scan(...any) error }) (cloudmeter.Delivery, error) {
	var d cloudmeter.Delivery
	var kind, state string
	err := sc.Scan(&d.TargetID, &d.Seq, &kind, &d.Period, &d.Path, &d.Body, &d.CreatedAt, &state, &d.Attempts, &d.NextAttemptAt, &d.LastError, &d.SentAt)
	d.Kind, d.State = cloudmeter.DeliveryKind(kind), cloudmeter.DeliveryState(state)
	if len(d.Body) == 0 {
		d.Body = nil
	}
	return d, err
}

// ClaimDeliveries leases the first pending delivery of each target that is due. On
// PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED while they are leased, so
// instances that claim at once take different rows and never wait for each other; on
// SQLite the transaction holds the database's write lock.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil int64, limit int) ([]cloudmeter.Delivery, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.err(err)
	}
	defer tx.Rollback()
	q := `SELECT ` + deliveryColumns + ` FROM export_deliveries d
		WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.lease_until <= ?
		AND NOT EXISTS (SELECT 1 FROM export_deliveries e WHERE e.target_id = d.target_id AND e.seq < d.seq AND e.state = 'pending')
		ORDER BY d.next_attempt_at, d.target_id, d.seq LIMIT ?`
	if s.d.Name() == "postgres" {
		q += ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := tx.QueryContext(ctx, s.rb(q), now, now, limit)
	if err != nil {
		return nil, s.err(err)
	}
	var out []cloudmeter.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, s.err(err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.err(err)
	}
	for _, d := range out {
		if _, err := tx.ExecContext(ctx, s.rb(`UPDATE export_deliveries SET lease_owner = ?, lease_until = ? WHERE target_id = ? AND seq = ?`),
			owner, leaseUntil, d.TargetID, d.Seq); err != nil {
			return nil, s.err(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, s.err(err)
	}
	return out, nil
}

// FinishDelivery records an attempt's outcome if owner still holds the lease.
func (s *Store) FinishDelivery(ctx context.Context, owner, targetID string, seq int64, o cloudmeter.DeliveryOutcome) (bool, error) {
	sentAt := int64(0)
	if o.State == cloudmeter.DeliverySent {
		sentAt = o.At
	}
	res, err := s.db.ExecContext(ctx, s.rb(`UPDATE export_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
		sent_at = ?, lease_owner = '', lease_until = 0 WHERE target_id = ? AND seq = ? AND lease_owner = ? AND state = 'pending'`),
		string(o.State), o.NextAttemptAt, o.Error, sentAt, targetID, seq, owner)
	if err != nil {
		return false, s.err(err)
	}
	n, err := res.RowsAffected()
	return n == 1, s.err(err)
}

// ReleaseDelivery gives a lease back.
func (s *Store) ReleaseDelivery(ctx context.Context, owner, targetID string, seq int64) error {
	_, err := s.db.ExecContext(ctx, s.rb(`UPDATE export_deliveries SET lease_owner = '', lease_until = 0
		WHERE target_id = ? AND seq = ? AND lease_owner = ? AND state = 'pending'`), targetID, seq, owner)
	return s.err(err)
}

// Deliveries lists deliveries, newest first.
func (s *Store) Deliveries(ctx context.Context, q cloudmeter.DeliveryQuery) ([]cloudmeter.Delivery, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	query := `SELECT ` + deliveryColumns + ` FROM export_deliveries WHERE 1 = 1`
	var args []any
	if q.TargetID != "" {
		query += ` AND target_id = ?`
		args = append(args, q.TargetID)
	}
	if q.State != "" {
		query += ` AND state = ?`
		args = append(args, string(q.State))
	}
	query += ` ORDER BY created_at DESC, target_id, seq DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, s.rb(query), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := []cloudmeter.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, d)
	}
	return out, s.err(rows.Err())
}

// ExportStatuses sums every target's outbox.
func (s *Store) ExportStatuses(ctx context.Context) ([]cloudmeter.ExportStatus, error) {
	targets, err := s.ExportTargets(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]cloudmeter.ExportStatus, 0, len(targets))
	for _, t := range targets {
		st := cloudmeter.ExportStatus{Target: t}
		err := s.db.QueryRowContext(ctx, s.rb(`SELECT
			COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
			COALESCE(MAX(sent_at), 0),
			COALESCE(MIN(CASE WHEN state = 'pending' THEN created_at END), 0)
			FROM export_deliveries WHERE target_id = ?`), t.ID).Scan(&st.Sent, &st.Failed, &st.Pending, &st.LastSentAt, &st.OldestPendingAt)
		if err != nil {
			return nil, s.err(err)
		}
		if st.Failed > 0 {
			fs, err := s.Deliveries(ctx, cloudmeter.DeliveryQuery{TargetID: t.ID, State: cloudmeter.DeliveryFailed, Limit: 1})
			if err != nil {
				return nil, err
			}
			if len(fs) > 0 {
				st.LastFailure = &fs[0]
			}
		}
		out = append(out, st)
	}
	return out, nil
}

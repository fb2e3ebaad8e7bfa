package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/cloudmeter/cloudmeter"
)

const installationColumns = `id, partner, user_id, currency, token_hash, created_at, uninstalled_at, finalized_at`

func scanInstallation(sc interface{ Scan(...any) error }) (cloudmeter.Installation, error) {
	var in cloudmeter.Installation
	err := sc.Scan(&in.ID, &in.Partner, &in.UserID, &in.Currency, &in.TokenHash, &in.CreatedAt, &in.UninstalledAt, &in.FinalizedAt)
	return in, err
}

func noInstallation(id string) error {
	return cloudmeter.Errorf(cloudmeter.KindNotFound, "installation %q not found", id).About(cloudmeter.SubjectInstallation)
}

// CreateInstallation stores a new installation.
func (s *Store) CreateInstallation(ctx context.Context, in cloudmeter.Installation) error {
	_, err := s.db.ExecContext(ctx, s.rb(`INSERT INTO marketplace_installations (`+installationColumns+`) VALUES (?, ?, ?, ?, ?, ?, 0, 0)`),
		in.ID, in.Partner, in.UserID, in.Currency, in.TokenHash, in.CreatedAt)
	return s.err(err)
}

// Installation returns an installation.
func (s *Store) Installation(ctx context.Context, id string) (cloudmeter.Installation, error) {
	in, err := scanInstallation(s.db.QueryRowContext(ctx, s.rb(`SELECT `+installationColumns+` FROM marketplace_installations WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, noInstallation(id)
	}
	return in, s.err(err)
}

// InstallationByTokenHash returns the installation of a token.
func (s *Store) InstallationByTokenHash(ctx context.Context, hash string) (cloudmeter.Installation, error) {
	in, err := scanInstallation(s.db.QueryRowContext(ctx, s.rb(`SELECT `+installationColumns+` FROM marketplace_installations WHERE token_hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return in, cloudmeter.Errorf(cloudmeter.KindNotFound, "no installation has this access token")
	}
	return in, s.err(err)
}

// Installations lists installations, of one user or all.
func (s *Store) Installations(ctx context.Context, userID int64) ([]cloudmeter.Installation, error) {
	q, args := `SELECT `+installationColumns+` FROM marketplace_installations ORDER BY id`, []any{}
	if userID > 0 {
		q, args = `SELECT `+installationColumns+` FROM marketplace_installations WHERE user_id = ? ORDER BY id`, []any{userID}
	}
	rows, err := s.db.QueryContext(ctx, s.rb(q), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := []cloudmeter.Installation{}
	for rows.Next() {
		in, err := scanInstallation(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, in)
	}
	return out, s.err(rows.Err())
}

// Uninstall marks an installation uninstalled; the first time counts.
func (s *Store) Uninstall(ctx context.Context, id string, now int64) (cloudmeter.Installation, error) {
	if _, err := s.db.ExecContext(ctx, s.rb(`UPDATE marketplace_installations SET uninstalled_at = ? WHERE id = ? AND uninstalled_at = 0`), now, id); err != nil {
		return cloudmeter.Installation{}, s.err(err)
	}
	return s.Installation(ctx, id)
}

// FinalizeBilling records that an installation's billing is final; the first time counts.
func (s *Store) FinalizeBilling(ctx context.Context, id string, now int64) error {
	_, err := s.db.ExecContext(ctx, s.rb(`UPDATE marketplace_installations SET finalized_at = ? WHERE id = ? AND finalized_at = 0`), now, id)
	return s.err(err)
}

// billingAttempts bounds the rounds of one submission that fail on a serialization
// failure or a deadlock (PostgreSQL), which a retry resolves.
const billingAttempts = 5

// tiebreak is the first 63 bits of a hex digest, as a number every engine compares alike.
func tiebreak(digest string) int64 {
	b, err := hex.DecodeString(digest)
	if err != nil || len(b) < 8 {
		return 0
	}
	var v uint64
	for _, x := range b[:8] {
		v = v<<8 | uint64(x)
	}
	return int64(v >> 1)
}

// SubmitBilling keeps a submission in each of its slots where it is the latest: one
// conditional upsert per slot, in one transaction. The upsert's WHERE is evaluated
// against the row as it is when the statement runs (PostgreSQL re-reads a row another
// transaction changed before updating it), so racing submissions cannot overwrite a
// later one whatever their order.
func (s *Store) SubmitBilling(ctx context.Context, b cloudmeter.BillingSubmission) (cloudmeter.BillingOutcome, error) {
	for attempt := 1; ; attempt++ {
		out, err := s.submitBilling(ctx, b)
		if err != nil && cloudmeter.KindOf(err) == cloudmeter.KindInternal && s.d.Retryable(err) && attempt < billingAttempts {
			continue
		}
		return out, s.err(err)
	}
}

func (s *Store) submitBilling(ctx context.Context, b cloudmeter.BillingSubmission) (cloudmeter.BillingOutcome, error) {
	var out cloudmeter.BillingOutcome
	anomalies, err := json.Marshal(nonNilAnomalies(b.Anomalies))
	if err != nil {
		return out, cloudmeter.Internal(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return out, err
	}
	defer tx.Rollback()
	q := s.rb(`INSERT INTO marketplace_billing (installation_id, slot, slot_start, timestamp_ms, tiebreak, digest, eod_ms,
		period_start_ms, period_end_ms, day, items_total, discounts_total, items, usage_metrics, anomalies, billing, usage_json, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (installation_id, slot, slot_start) DO UPDATE SET timestamp_ms = excluded.timestamp_ms, tiebreak = excluded.tiebreak,
		digest = excluded.digest, eod_ms = excluded.eod_ms, period_start_ms = excluded.period_start_ms, period_end_ms = excluded.period_end_ms,
		day = excluded.day, items_total = excluded.items_total, discounts_total = excluded.discounts_total, items = excluded.items,
		usage_metrics = excluded.usage_metrics, anomalies = excluded.anomalies, billing = excluded.billing, usage_json = excluded.usage_json,
		received_at = excluded.received_at
		WHERE excluded.timestamp_ms > marketplace_billing.timestamp_ms
		   OR (excluded.timestamp_ms = marketplace_billing.timestamp_ms AND excluded.tiebreak > marketplace_billing.tiebreak)`)
	won := []*bool{&out.Day, &out.Week, &out.Month}
	for i, slot := range cloudmeter.BillingSlots {
		res, err := tx.ExecContext(ctx, q, b.InstallationID, string(slot), cloudmeter.SlotStart(slot, b.Day), b.Timestamp, tiebreak(b.Digest),
			b.Digest, b.EOD, b.PeriodStart, b.PeriodEnd, b.Day, b.ItemsTotal.String(), b.DiscountsTotal.String(), b.Items, b.Usage,
			string(anomalies), string(b.Billing), string(b.UsageJSON), b.ReceivedAt)
		if err != nil {
			return out, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return out, err
		}
		*won[i] = n > 0
	}
	return out, tx.Commit()
}

func nonNilAnomalies(a []cloudmeter.ItemAnomaly) []cloudmeter.ItemAnomaly {
	if a == nil {
		return []cloudmeter.ItemAnomaly{}
	}
	return a
}

// Billing lists the billing data kept in a slot.
func (s *Store) Billing(ctx context.Context, installationID string, slot cloudmeter.BillingSlot, from, to int64) ([]cloudmeter.StoredBilling, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT slot_start, timestamp_ms, digest, eod_ms, period_start_ms, period_end_ms, day,
		items_total, discounts_total, items, usage_metrics, anomalies, billing, usage_json, received_at
		FROM marketplace_billing WHERE installation_id = ? AND slot = ? AND slot_start >= ? AND slot_start <= ? ORDER BY slot_start`),
		installationID, string(slot), from, to)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := []cloudmeter.StoredBilling{}
	for rows.Next() {
		sb := cloudmeter.StoredBilling{Slot: slot}
		b := &sb.BillingSubmission
		b.InstallationID = installationID
		var itemsTotal, discountsTotal, anomalies, billing, usage string
		if err := rows.Scan(&sb.Start, &b.Timestamp, &b.Digest, &b.EOD, &b.PeriodStart, &b.PeriodEnd, &b.Day, &itemsTotal, &discountsTotal,
			&b.Items, &b.Usage, &anomalies, &billing, &usage, &b.ReceivedAt); err != nil {
			return nil, s.err(err)
		}
		if b.ItemsTotal, err = cloudmeter.ParsePartnerAmount("items_total", itemsTotal); err != nil {
			return nil, cloudmeter.Internal(err)
		}
		if b.DiscountsTotal, err = cloudmeter.ParsePartnerAmount("discounts_total", discountsTotal); err != nil {
			return nil, cloudmeter.Internal(err)
		}
		if err := json.Unmarshal([]byte(anomalies), &b.Anomalies); err != nil {
			return nil, cloudmeter.Internal(err)
		}
		b.Billing, b.UsageJSON = json.RawMessage(billing), json.RawMessage(usage)
		out = append(out, sb)
	}
	return out, s.err(rows.Err())
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/cloudmeter/cloudmeter"
)

const invoiceColumns = `installation_id, id, external_id, invoice_date_ms, period_start_ms, period_end_ms, memo, items, discounts,
	total, refunded, refund_reason, state, final, test, anomalies, created_at, updated_at, version`

func scanInvoice(sc interface{ Scan(...any) error }) (cloudmeter.PartnerInvoice, int64, error) {
	var inv cloudmeter.PartnerInvoice
	var items, discounts, total, refunded, state, anomalies string
	var final, test, version int64
	if err := sc.Scan(&inv.InstallationID, &inv.ID, &inv.ExternalID, &inv.InvoiceDate, &inv.PeriodStart, &inv.PeriodEnd, &inv.Memo,
		&items, &discounts, &total, &refunded, &inv.RefundReason, &state, &final, &test, &anomalies, &inv.CreatedAt, &inv.UpdatedAt, &version); err != nil {
		return inv, 0, err
	}
	inv.Items, inv.Discounts = json.RawMessage(items), json.RawMessage(discounts)
	inv.State, inv.Final, inv.Test = cloudmeter.InvoiceState(state), final != 0, test != 0
	var err error
	if inv.Total, err = cloudmeter.ParsePartnerAmount("total", total); err != nil {
		return inv, 0, cloudmeter.Internal(err)
	}
	if inv.Refunded, err = cloudmeter.ParsePartnerAmount("refunded", refunded); err != nil {
		return inv, 0, cloudmeter.Internal(err)
	}
	if err := json.Unmarshal([]byte(anomalies), &inv.Anomalies); err != nil {
		return inv, 0, cloudmeter.Internal(err)
	}
	return inv, version, nil
}

// CreateInvoice stores a new invoice; its external id is unique per installation.
func (s *Store) CreateInvoice(ctx context.Context, inv cloudmeter.PartnerInvoice) error {
	anomalies, err := json.Marshal(nonNilAnomalies(inv.Anomalies))
	if err != nil {
		return cloudmeter.Internal(err)
	}
	_, err = s.db.ExecContext(ctx, s.rb(`INSERT INTO marketplace_invoices (`+invoiceColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`),
		inv.InstallationID, inv.ID, inv.ExternalID, inv.InvoiceDate, inv.PeriodStart, inv.PeriodEnd, inv.Memo, string(inv.Items),
		string(inv.Discounts), inv.Total.String(), inv.Refunded.String(), inv.RefundReason, string(inv.State), boolInt(inv.Final),
		boolInt(inv.Test), string(anomalies), inv.CreatedAt, inv.UpdatedAt)
	if cloudmeter.KindOf(s.err(err)) == cloudmeter.KindConflict {
		return cloudmeter.Errorf(cloudmeter.KindConflict, "externalId: installation %s already has an invoice with externalId %q", inv.InstallationID, inv.ExternalID)
	}
	return s.err(err)
}

func noInvoice(id string) error {
	return cloudmeter.Errorf(cloudmeter.KindNotFound, "invoice %q not found", id)
}

func (s *Store) invoice(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, installationID, invoiceID string) (cloudmeter.PartnerInvoice, int64, error) {
	inv, v, err := scanInvoice(q.QueryRowContext(ctx, s.rb(`SELECT `+invoiceColumns+` FROM marketplace_invoices WHERE installation_id = ? AND id = ?`),
		installationID, invoiceID))
	if errors.Is(err, sql.ErrNoRows) {
		return inv, 0, noInvoice(invoiceID)
	}
	return inv, v, s.err(err)
}

// Invoice returns an invoice.
func (s *Store) Invoice(ctx context.Context, installationID, invoiceID string) (cloudmeter.PartnerInvoice, error) {
	inv, _, err := s.invoice(ctx, s.db, installationID, invoiceID)
	return inv, err
}

// Invoices lists an installation's invoices.
func (s *Store) Invoices(ctx context.Context, installationID string) ([]cloudmeter.PartnerInvoice, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT `+invoiceColumns+` FROM marketplace_invoices WHERE installation_id = ? ORDER BY created_at, id`), installationID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := []cloudmeter.PartnerInvoice{}
	for rows.Next() {
		inv, _, err := scanInvoice(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, inv)
	}
	return out, s.err(rows.Err())
}

// invoiceAttempts bounds the compare-and-set rounds of one invoice change.
const invoiceAttempts = 20

// changeInvoice reads an invoice, applies change and writes it back if no one changed it
// in between (its version), else starts again: concurrent refunds each see the refunds
// before them, so that together they never pass the total.
func (s *Store) changeInvoice(ctx context.Context, installationID, invoiceID string,
	change func(inv *cloudmeter.PartnerInvoice) error) (cloudmeter.PartnerInvoice, error) {
	for attempt := 1; ; attempt++ {
		inv, v, err := s.invoice(ctx, s.db, installationID, invoiceID)
		if err != nil {
			return inv, err
		}
		if err := change(&inv); err != nil {
			return inv, err
		}
		res, err := s.db.ExecContext(ctx, s.rb(`UPDATE marketplace_invoices SET refunded = ?, refund_reason = ?, state = ?, updated_at = ?,
			version = version + 1 WHERE installation_id = ? AND id = ? AND version = ?`),
			inv.Refunded.String(), inv.RefundReason, string(inv.State), inv.UpdatedAt, installationID, invoiceID, v)
		if err != nil {
			return inv, s.err(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return inv, nil
		}
		if attempt >= invoiceAttempts {
			return inv, cloudmeter.Errorf(cloudmeter.KindUnavailable, "invoice %s is being changed by other requests; retry", invoiceID)
		}
	}
}

// RefundInvoice adds a refund to an invoice.
func (s *Store) RefundInvoice(ctx context.Context, installationID, invoiceID string, r cloudmeter.InvoiceRefund) (cloudmeter.PartnerInvoice, error) {
	return s.changeInvoice(ctx, installationID, invoiceID, func(inv *cloudmeter.PartnerInvoice) error {
		if !cloudmeter.CanMove(inv.State, cloudmeter.InvoiceRefundRequested) {
			return cloudmeter.Errorf(cloudmeter.KindConflict, "invoice %s is %s: only a paid invoice can be refunded", invoiceID, inv.State)
		}
		refunded := inv.Refunded.Add(r.Amount)
		if refunded.Cmp(inv.Total) > 0 {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "total: a refund of %s would bring the refunds of invoice %s to %s, more than its total %s (already refunded: %s)",
				r.Amount, invoiceID, refunded, inv.Total, inv.Refunded)
		}
		inv.Refunded, inv.RefundReason, inv.State, inv.UpdatedAt = refunded, r.Reason, cloudmeter.InvoiceRefundRequested, r.At
		return nil
	})
}

// SetInvoiceState moves an invoice along the state machine.
func (s *Store) SetInvoiceState(ctx context.Context, installationID, invoiceID string, to cloudmeter.InvoiceState, now int64) (cloudmeter.PartnerInvoice, error) {
	return s.changeInvoice(ctx, installationID, invoiceID, func(inv *cloudmeter.PartnerInvoice) error {
		if !cloudmeter.CanMove(inv.State, to) {
			return cloudmeter.Errorf(cloudmeter.KindConflict, "state: invoice %s is %s and cannot become %s", invoiceID, inv.State, to)
		}
		inv.State, inv.UpdatedAt = to, now
		return nil
	})
}

// SubmitBalances keeps each balance unless a later one of its resource is kept.
func (s *Store) SubmitBalances(ctx context.Context, bs []cloudmeter.PartnerBalance) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.err(err)
	}
	defer tx.Rollback()
	for _, b := range bs {
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO marketplace_balances (installation_id, resource_id, timestamp_ms, credit, name_label,
			currency_value_in_cents, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (installation_id, resource_id) DO UPDATE SET timestamp_ms = excluded.timestamp_ms, credit = excluded.credit,
			name_label = excluded.name_label, currency_value_in_cents = excluded.currency_value_in_cents, received_at = excluded.received_at
			WHERE excluded.timestamp_ms >= marketplace_balances.timestamp_ms`),
			b.InstallationID, b.ResourceID, b.Timestamp, b.Credit, b.NameLabel, b.CurrencyValueInCents, b.ReceivedAt); err != nil {
			return s.err(err)
		}
	}
	return s.err(tx.Commit())
}

// Balances lists an installation's balances by resource.
func (s *Store) Balances(ctx context.Context, installationID string) ([]cloudmeter.PartnerBalance, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT installation_id, resource_id, timestamp_ms, credit, name_label, currency_value_in_cents, received_at
		FROM marketplace_balances WHERE installation_id = ? ORDER BY resource_id`), installationID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := []cloudmeter.PartnerBalance{}
	for rows.Next() {
		var b cloudmeter.PartnerBalance
		if err := rows.Scan(&b.InstallationID, &b.ResourceID, &b.Timestamp, &b.Credit, &b.NameLabel, &b.CurrencyValueInCents, &b.ReceivedAt); err != nil {
			return nil, s.err(err)
		}
		out = append(out, b)
	}
	return out, s.err(rows.Err())
}

// UpdatePartnerResource keeps the latest update of a resource.
func (s *Store) UpdatePartnerResource(ctx context.Context, r cloudmeter.PartnerResource) error {
	_, err := s.db.ExecContext(ctx, s.rb(`INSERT INTO marketplace_resources (installation_id, resource_id, status, body, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (installation_id, resource_id) DO UPDATE SET status = excluded.status, body = excluded.body, updated_at = excluded.updated_at`),
		r.InstallationID, r.ResourceID, r.Status, string(r.Body), r.UpdatedAt)
	return s.err(err)
}

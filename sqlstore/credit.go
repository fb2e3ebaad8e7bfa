package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
)

const accountColumns = `organization_id, balance, top_ups, first_top_up_at, threshold, spend_from, settings_at, settings_by`

func scanAccount(sc interface{ Scan(...any) error }) (cloudmeter.CreditAccount, error) {
	var a cloudmeter.CreditAccount
	err := sc.Scan(&a.OrganizationID, &a.Balance, &a.TopUps, &a.FirstTopUpAt, &a.Threshold, &a.SpendFrom, &a.SettingsAt, &a.SettingsBy)
	return a, err
}

// noAccount is the error of an organization without a credit account.
func noAccount(orgID int64) error {
	return cloudmeter.Errorf(cloudmeter.KindNotFound, "organization %d has no credit account: it was never topped up", orgID)
}

// topUpAttempts bounds the compare-and-set rounds of one top-up: each lost round means
// another top-up of the same organization committed meanwhile.
const topUpAttempts = 20

// TopUp adds a top-up to its organization's balance and audit. The account's top_ups is
// compared and set: a transaction that read the account before another top-up committed
// changes no row, and runs again with the new balance, so that concurrent top-ups are all
// kept, in any engine's isolation level.
func (s *Store) TopUp(ctx context.Context, t cloudmeter.CreditTopUp) (cloudmeter.CreditTopUp, cloudmeter.CreditAccount, error) {
	if t.Amount <= 0 {
		return t, cloudmeter.CreditAccount{}, cloudmeter.Errorf(cloudmeter.KindInvalid, "amount: %s must be above 0", t.Amount)
	}
	for attempt := 1; ; attempt++ {
		stored, acc, done, err := s.topUp(ctx, t)
		switch {
		case err != nil && s.d.Retryable(err) && attempt < topUpAttempts:
			continue
		case err != nil:
			return t, acc, s.err(err)
		case done:
			return stored, acc, nil
		case attempt == topUpAttempts:
			return t, acc, cloudmeter.Errorf(cloudmeter.KindUnavailable, "organization %d: too many top-ups at once; retry", t.OrganizationID)
		}
	}
}

// topUp tries one round of TopUp; done is false when another top-up came first.
func (s *Store) topUp(ctx context.Context, t cloudmeter.CreditTopUp) (cloudmeter.CreditTopUp, cloudmeter.CreditAccount, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return t, cloudmeter.CreditAccount{}, false, err
	}
	defer tx.Rollback()
	acc, err := scanAccount(tx.QueryRowContext(ctx, s.rb(`SELECT `+accountColumns+` FROM credit_accounts WHERE organization_id = ?`), t.OrganizationID))
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return t, acc, false, err
	}
	next := acc
	next.OrganizationID = t.OrganizationID
	if next.Balance, err = acc.Balance.Add(t.Amount); err != nil || next.Balance < 0 {
		return t, acc, false, cloudmeter.Errorf(cloudmeter.KindInvalid, "amount: organization %d's balance %s plus %s does not fit the money type (at most %s)",
			t.OrganizationID, acc.Balance, t.Amount, money.Amount(1<<63-1))
	}
	next.TopUps = acc.TopUps + 1
	if next.FirstTopUpAt == 0 {
		next.FirstTopUpAt = t.At
	}
	var res sql.Result
	if found {
		res, err = tx.ExecContext(ctx, s.rb(`UPDATE credit_accounts SET balance = ?, top_ups = ?, first_top_up_at = ? WHERE organization_id = ? AND top_ups = ?`),
			int64(next.Balance), next.TopUps, next.FirstTopUpAt, t.OrganizationID, acc.TopUps)
	} else {
		res, err = tx.ExecContext(ctx, s.rb(`INSERT INTO credit_accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, 0, 0, 0, '')
			ON CONFLICT (organization_id) DO NOTHING`), t.OrganizationID, int64(next.Balance), next.TopUps, next.FirstTopUpAt)
	}
	if err != nil {
		return t, acc, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return t, acc, false, err // another top-up came first: run again
	}
	t.Seq = next.TopUps
	if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO credit_top_ups (organization_id, seq, amount, created_at, by_key, by_user, note) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		t.OrganizationID, t.Seq, int64(t.Amount), t.At, t.ByKey, t.ByUser, t.Note); err != nil {
		return t, acc, false, err
	}
	if err := tx.Commit(); err != nil {
		return t, acc, false, err
	}
	return t, next, true, nil
}

// SetCreditSettings sets an account's threshold and spend start.
func (s *Store) SetCreditSettings(ctx context.Context, orgID int64, set cloudmeter.CreditSettings) (cloudmeter.CreditAccount, error) {
	if _, err := s.db.ExecContext(ctx, s.rb(`INSERT INTO credit_accounts (`+accountColumns+`) VALUES (?, 0, 0, 0, ?, ?, ?, ?)
		ON CONFLICT (organization_id) DO UPDATE SET threshold = excluded.threshold, spend_from = excluded.spend_from,
		settings_at = excluded.settings_at, settings_by = excluded.settings_by`),
		orgID, int64(set.Threshold), set.SpendFrom, set.At, set.By); err != nil {
		return cloudmeter.CreditAccount{}, s.err(err)
	}
	return s.CreditAccount(ctx, orgID)
}

// CreditAccount returns an organization's account.
func (s *Store) CreditAccount(ctx context.Context, orgID int64) (cloudmeter.CreditAccount, error) {
	acc, err := scanAccount(s.db.QueryRowContext(ctx, s.rb(`SELECT `+accountColumns+` FROM credit_accounts WHERE organization_id = ?`), orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return acc, noAccount(orgID)
	}
	return acc, s.err(err)
}

// CreditTopUps returns an organization's top-ups in Seq order.
func (s *Store) CreditTopUps(ctx context.Context, orgID int64) ([]cloudmeter.CreditTopUp, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT organization_id, seq, amount, created_at, by_key, by_user, note FROM credit_top_ups
		WHERE organization_id = ? ORDER BY seq`), orgID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	out := []cloudmeter.CreditTopUp{}
	for rows.Next() {
		var t cloudmeter.CreditTopUp
		if err := rows.Scan(&t.OrganizationID, &t.Seq, &t.Amount, &t.At, &t.ByKey, &t.ByUser, &t.Note); err != nil {
			return nil, s.err(err)
		}
		out = append(out, t)
	}
	return out, s.err(rows.Err())
}

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

// topUpAttempts bounds the rounds of one top-up that fail on a serialization failure or
// a deadlock (PostgreSQL), which a retry resolves.
const topUpAttempts = 5

// TopUp adds a top-up to its organization's balance and audit. The balance is added to
// in the database by one UPDATE, which takes the account's row lock (PostgreSQL) or the
// database's write lock (SQLite) until the commit: concurrent top-ups queue there and
// are all kept, each with its own sequence number, and none can lose a round to another.
func (s *Store) TopUp(ctx context.Context, t cloudmeter.CreditTopUp) (cloudmeter.CreditTopUp, cloudmeter.CreditAccount, error) {
	if t.Amount <= 0 {
		return t, cloudmeter.CreditAccount{}, cloudmeter.Errorf(cloudmeter.KindInvalid, "amount: %s must be above 0", t.Amount)
	}
	for attempt := 1; ; attempt++ {
		stored, acc, err := s.topUp(ctx, t)
		if err != nil && cloudmeter.KindOf(err) == cloudmeter.KindInternal && s.d.Retryable(err) && attempt < topUpAttempts {
			continue
		}
		if cloudmeter.KindOf(err) == cloudmeter.KindInternal {
			err = s.err(err)
		}
		return stored, acc, err
	}
}

// topUp runs one round of TopUp in a transaction of its own.
func (s *Store) topUp(ctx context.Context, t cloudmeter.CreditTopUp) (cloudmeter.CreditTopUp, cloudmeter.CreditAccount, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return t, cloudmeter.CreditAccount{}, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO credit_accounts (`+accountColumns+`) VALUES (?, 0, 0, 0, 0, 0, 0, '')
		ON CONFLICT (organization_id) DO NOTHING`), t.OrganizationID); err != nil {
		return t, cloudmeter.CreditAccount{}, err
	}
	// The balance may not pass the largest amount: the row is updated only when it fits.
	acc, err := scanAccount(tx.QueryRowContext(ctx, s.rb(`UPDATE credit_accounts SET balance = balance + ?, top_ups = top_ups + 1,
		first_top_up_at = CASE WHEN first_top_up_at = 0 THEN ? ELSE first_top_up_at END
		WHERE organization_id = ? AND balance <= ? RETURNING `+accountColumns),
		int64(t.Amount), t.At, t.OrganizationID, int64(money.Amount(1<<63-1)-t.Amount)))
	if errors.Is(err, sql.ErrNoRows) {
		cur, _ := scanAccount(tx.QueryRowContext(ctx, s.rb(`SELECT `+accountColumns+` FROM credit_accounts WHERE organization_id = ?`), t.OrganizationID))
		return t, cur, cloudmeter.Errorf(cloudmeter.KindInvalid, "amount: organization %d's balance %s plus %s does not fit the money type (at most %s)",
			t.OrganizationID, cur.Balance, t.Amount, money.Amount(1<<63-1))
	}
	if err != nil {
		return t, acc, err
	}
	t.Seq = acc.TopUps
	if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO credit_top_ups (organization_id, seq, amount, created_at, by_key, by_user, note) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		t.OrganizationID, t.Seq, int64(t.Amount), t.At, t.ByKey, t.ByUser, t.Note); err != nil {
		return t, acc, err
	}
	if err := tx.Commit(); err != nil {
		return t, acc, err
	}
	return t, acc, nil
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

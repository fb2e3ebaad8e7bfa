package service

// Prepaid credit (DESIGN 3.3, /v1/billing/user-credit/credit): an organization's balance
// is the exact sum of its top-ups (cloudmeter.CreditStore); what it spent is computed
// from the ledger whenever the credit is read, so that the credit never goes stale: a
// late event, a price book change or a user put in the organization shows at once.
//
// The spend is the cost of the organization's users' usage from its spend start up to
// now, as the native utilization report of each user over that window computes it
// (records and traffic, to the last digit). The spend start is the account's setting
// when an administrator set one, else the second of the first top-up: usage before an
// organization went prepaid is not charged to its credit.
//
// What reading it costs: the report of each user of the organization over [spend start,
// now], so it grows with the organization's usage records since the spend start (spans
// that overlap the window, split where prices change), and with its waypoints' traffic
// periods in the window, never with other organizations' data. It is bounded by the report
// record limit (--max-report-records) over the whole organization: past it the credit is
// refused with KindTooLarge, naming the limit, rather than read without bound.

import (
	"context"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
)

// CreditView is an organization's prepaid credit as of now.
type CreditView struct {
	OrganizationID int64
	// Users are the organization's users, whose usage is its spend.
	Users []int64
	// Account is the stored account; Prepaid is false when there is none (no top-up and
	// no settings), and Account then holds zeros.
	Account  cloudmeter.CreditAccount
	Prepaid  bool
	Currency string
	// SpendFrom is the first second charged to the credit: Account.SpendFrom when set,
	// else Account.FirstTopUpAt; 0 when nothing is charged yet (never topped up and no
	// start set).
	SpendFrom int64
	Now       int64
	// Spend is the cost of the users' usage over [SpendFrom, Now]; Credit is
	// Account.Balance - Spend.
	Spend  money.Amount
	Credit money.Amount
	// CanCreateInstance is false once Credit is below Account.Threshold.
	CanCreateInstance bool
	// TopUps is the audit, oldest first, when asked for.
	TopUps []cloudmeter.CreditTopUp
}

// Credit returns an organization's credit as of now (org 0: the key's own organization),
// with its audit when topUps is set. Any key reads its own organization's credit;
// another organization's needs utilization_reports_read.
//
// Errors: those of orgAccess (KindInvalid, KindForbidden, KindNotFound about
// SubjectUser); KindTooLarge when the spend would read more than the report record limit;
// KindInvalid when an amount does not fit the money type.
func (s *Service) Credit(ctx context.Context, key cloudmeter.APIKey, org int64, topUps bool) (*CreditView, error) {
	now := s.Now()
	own, users, err := s.orgAccess(ctx, key, org)
	if err != nil {
		return nil, err
	}
	if org == 0 {
		org = own
	}
	return s.credit(ctx, org, users, now, topUps)
}

func (s *Service) credit(ctx context.Context, org int64, users []int64, now int64, topUps bool) (*CreditView, error) {
	v := &CreditView{OrganizationID: org, Users: users, Now: now, Prepaid: true}
	var err error
	v.Account, err = s.store.CreditAccount(ctx, org)
	switch {
	case cloudmeter.KindOf(err) == cloudmeter.KindNotFound:
		v.Account, v.Prepaid = cloudmeter.CreditAccount{OrganizationID: org}, false
	case err != nil:
		return nil, err
	}
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	v.Currency = book.Currency
	v.SpendFrom = v.Account.SpendFrom
	if v.SpendFrom == 0 {
		v.SpendFrom = v.Account.FirstTopUpAt
	}
	if v.Spend, err = s.spend(ctx, org, users, v.SpendFrom, now, book); err != nil {
		return nil, err
	}
	// Both are 0 or more, so the difference fits.
	v.Credit = v.Account.Balance - v.Spend
	v.CanCreateInstance = v.Credit >= v.Account.Threshold
	if topUps {
		if v.TopUps, err = s.store.CreditTopUps(ctx, org); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// spend is the cost of the users' usage over [from, now] (0 when from is 0 or after
// now), as the native report of each user computes it, with at most the report record
// limit read over all of them.
func (s *Service) spend(ctx context.Context, org int64, users []int64, from, now int64, book *pricebook.Book) (money.Amount, error) {
	if from <= 0 || from > now {
		return 0, nil
	}
	var total money.Amount
	left := s.limits.MaxReportRecords
	for _, u := range users {
		infras, err := s.store.Infrastructures(ctx, u)
		if err != nil {
			return 0, err
		}
		r, err := s.utilization(ctx, ReportRequest{UserID: u, Start: from, End: now}, infras, book, now, max(left, 1))
		if err == nil && len(r.Records) > left {
			err = cloudmeter.Errorf(cloudmeter.KindTooLarge, "more than %d usage records", s.limits.MaxReportRecords)
		}
		if cloudmeter.KindOf(err) == cloudmeter.KindTooLarge {
			return 0, cloudmeter.Errorf(cloudmeter.KindTooLarge, "organization %d's spend since %s would read %s (--max-report-records): raise the limit, or set a later spend start",
				org, cloudmeter.FormatTime(from), cloudmeter.MessageOf(err))
		}
		if err != nil {
			return 0, err
		}
		left -= len(r.Records)
		if total, err = total.Add(r.Total); err != nil {
			return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "organization %d's spend does not fit the money type: %v", org, err)
		}
	}
	return total, nil
}

// TopUpCredit adds amount to an organization's prepaid balance and to its audit, as
// made by key now, and returns the stored top-up and the credit after it. The first
// top-up opens the account; unless a spend start is set, usage is charged from it.
//
// Errors: KindForbidden without admin; KindInvalid for an organization id that is not
// above 0, an amount that is not above 0 or that the balance cannot hold, a note that is
// not text of at most cloudmeter.MaxTextBytes; KindNotFound about SubjectUser for an
// organization that is not known (no user is in it).
func (s *Service) TopUpCredit(ctx context.Context, key cloudmeter.APIKey, org int64, amount money.Amount, note string) (cloudmeter.CreditTopUp, *CreditView, error) {
	now := s.Now()
	if err := key.Require(cloudmeter.PermAdmin); err != nil {
		return cloudmeter.CreditTopUp{}, nil, err
	}
	if amount <= 0 {
		return cloudmeter.CreditTopUp{}, nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "amount: %s must be above 0", amount)
	}
	if err := cloudmeter.CheckText("note", note, cloudmeter.MaxTextBytes); err != nil {
		return cloudmeter.CreditTopUp{}, nil, err
	}
	users, err := s.knownOrganization(ctx, org)
	if err != nil {
		return cloudmeter.CreditTopUp{}, nil, err
	}
	up, _, err := s.store.TopUp(ctx, cloudmeter.CreditTopUp{OrganizationID: org, Amount: amount, At: now, ByKey: key.ID, ByUser: key.UserID, Note: note})
	if err != nil {
		return up, nil, err
	}
	v, err := s.credit(ctx, org, users, now, true)
	return up, v, err
}

// SetCreditSettings sets an organization's credit threshold and spend start (0: from its
// first top-up) and returns its credit.
//
// Errors: KindForbidden without admin; KindInvalid for an organization id that is not
// above 0, a negative threshold or spend start; KindNotFound about SubjectUser for an
// organization that is not known.
func (s *Service) SetCreditSettings(ctx context.Context, key cloudmeter.APIKey, org int64, threshold money.Amount, spendFrom int64) (*CreditView, error) {
	now := s.Now()
	if err := key.Require(cloudmeter.PermAdmin); err != nil {
		return nil, err
	}
	if threshold < 0 {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "threshold: %s must be 0 or more", threshold)
	}
	if spendFrom < 0 {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "spend_from: must be a time in 1970 or later")
	}
	users, err := s.knownOrganization(ctx, org)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.SetCreditSettings(ctx, org, cloudmeter.CreditSettings{Threshold: threshold, SpendFrom: spendFrom, At: now, By: key.ID}); err != nil {
		return nil, err
	}
	return s.credit(ctx, org, users, now, true)
}

// knownOrganization returns the users of an organization an administrator acts on.
func (s *Service) knownOrganization(ctx context.Context, org int64) ([]int64, error) {
	if org <= 0 {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "organization_id: %d must be an organization id above 0", org)
	}
	users, known, err := s.usersOf(ctx, org)
	if err != nil {
		return nil, err
	}
	if !known {
		return nil, organizationNotFound(org)
	}
	return users, nil
}

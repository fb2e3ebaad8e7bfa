package cloudmeter

import "github.com/cloudmeter/cloudmeter/money"

// Organizations (DESIGN 2): each user belongs to one organization, an integer id, which
// is the user's own id unless it was set otherwise. Only the users put in another
// organization than their own are stored; the default needs nothing.

// CreditTopUp is one entry of an organization's credit audit: an amount added to its
// prepaid balance, by whom, when and why. Entries are appended, never edited.
type CreditTopUp struct {
	OrganizationID int64
	// Seq numbers the organization's top-ups from 1, in the order they were stored.
	Seq    int64
	Amount money.Amount // above 0
	At     int64        // unix seconds
	// ByKey is the id of the API key that made the top-up ("system": the command line),
	// ByUser that key's user (0 for the command line).
	ByKey  string
	ByUser int64
	Note   string
}

// CreditAccount is an organization's prepaid credit as stored: the sum of its top-ups and
// its settings. What the organization spent is not stored: it is computed from the ledger
// when it is read (package service), so that it never goes stale.
type CreditAccount struct {
	OrganizationID int64
	// Balance is the sum of the top-ups (exact, like every amount).
	Balance money.Amount
	// TopUps is how many top-ups were made; FirstTopUpAt is when the first was (0: none).
	TopUps       int64
	FirstTopUpAt int64
	// Threshold is the credit below which the organization may not create instances.
	Threshold money.Amount
	// SpendFrom is the second from which the organization's usage is charged to its
	// credit; 0 means the default, FirstTopUpAt.
	SpendFrom int64
	// SettingsAt and SettingsBy say when and by which key the settings (threshold, spend
	// start) were last set; 0 and "" when never.
	SettingsAt int64
	SettingsBy string
}

// CreditSettings are what an administrator sets on a credit account.
type CreditSettings struct {
	Threshold money.Amount
	// SpendFrom: see CreditAccount.SpendFrom (0: from the first top-up).
	SpendFrom int64
	At        int64
	By        string
}

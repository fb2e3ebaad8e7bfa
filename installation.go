package cloudmeter

import (
	"context"
	"encoding/json"
	"math/big"
	"time"
)

// Marketplace installations (DESIGN 3.4): a partner that sells a service to a user of the
// cloud is installed for that user, and reports to cloudmeter what it bills: daily
// billing and usage data, invoices, prepaid balances and the state of its resources.
// cloudmeter keeps them beside its own metering, in the partner's currency.

// Installation is a partner's installation for one user. Its access token is shown once,
// when it is created; only the token's hash is kept.
type Installation struct {
	// ID looks like "icfg_" followed by 24 letters and digits.
	ID      string
	Partner string
	// UserID is the user the partner bills.
	UserID int64
	// Currency is the ISO 4217 code of the partner's amounts (such as "USD").
	Currency  string
	TokenHash string
	CreatedAt int64 // unix seconds
	// UninstalledAt is when the installation was removed (0 while installed); its
	// endpoints then answer 410 Gone.
	UninstalledAt int64
	// FinalizedAt is when the partner said its billing was final (0: not yet).
	FinalizedAt int64
}

// Installed reports whether the installation is still installed.
func (i Installation) Installed() bool { return i.UninstalledAt == 0 }

// Subjects of the marketplace's errors.
const (
	// SubjectInstallation: not found, no installation has the id.
	SubjectInstallation Subject = "installation"
	// SubjectUninstalled: not found, the installation was uninstalled (HTTP 410).
	SubjectUninstalled Subject = "uninstalled"
)

// BillingSlot is a span of time for which only the latest billing data is kept.
type BillingSlot string

// The slots: the UTC day the data is for, its week (from Monday) and its month.
const (
	SlotDay   BillingSlot = "day"
	SlotWeek  BillingSlot = "week"
	SlotMonth BillingSlot = "month"
)

// BillingSlots lists the slots in the order they are stored.
var BillingSlots = []BillingSlot{SlotDay, SlotWeek, SlotMonth}

// BillingDay returns the UTC day a submission with this eod (unix milliseconds) is for:
// the day that ends at eod, so that an eod of 2026-12-02T00:00:00Z and one of
// 2026-12-01T23:59:59Z both mean 1 December. It returns the unix second the day starts.
func BillingDay(eodMillis int64) int64 {
	t := time.UnixMilli(eodMillis - 1).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix()
}

// SlotStart returns the first second of the slot that holds day (a BillingDay).
func SlotStart(slot BillingSlot, day int64) int64 {
	t := time.Unix(day, 0).UTC()
	switch slot {
	case SlotWeek:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return t.AddDate(0, 0, -back).Unix()
	case SlotMonth:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Unix()
	}
	return day
}

// PartnerItem is one billed item of billing data or of an invoice, as the partner sent
// it.
type PartnerItem struct {
	BillingPlanID string
	ResourceID    string
	Name          string
	Price         PartnerAmount
	// Quantity is the JSON number as sent; QuantityRat its exact value.
	Quantity    string
	QuantityRat *big.Rat
	Units       string
	Total       PartnerAmount
}

// PartnerDiscount is one discount, as the partner sent it.
type PartnerDiscount struct {
	BillingPlanID string
	ResourceID    string
	Name          string
	Amount        PartnerAmount
}

// ItemAnomaly flags an item whose total is not its price times its quantity, even
// rounded to the currency's minor unit. The item is kept as sent: its total is the
// partner's figure.
type ItemAnomaly struct {
	Field   string `json:"field"` // such as "billing.items[1].total"
	Message string `json:"message"`
}

// CheckItems flags the items whose total does not agree with price x quantity in
// currency (TotalMatches). field names the list ("billing.items", "items").
func CheckItems(field string, items []PartnerItem, currency string) []ItemAnomaly {
	var out []ItemAnomaly
	for i, it := range items {
		if it.QuantityRat == nil || TotalMatches(it.Price, it.Total, it.QuantityRat, currency) {
			continue
		}
		product := new(big.Rat).Mul(it.Price.Rat(), it.QuantityRat)
		out = append(out, ItemAnomaly{Field: field + "[" + itoa(i) + "].total",
			Message: "total " + it.Total.String() + " is not price " + it.Price.String() + " x quantity " + it.Quantity +
				" = " + product.FloatString(12) + " rounded to the " + currency + " minor unit; kept as sent"})
	}
	return out
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

// SumPartner returns the sum of the items' totals and of the discounts' amounts.
func SumPartner(items []PartnerItem, discounts []PartnerDiscount) (itemsTotal, discountsTotal PartnerAmount) {
	itemsTotal, discountsTotal = ZeroPartnerAmount(), ZeroPartnerAmount()
	for _, it := range items {
		itemsTotal = itemsTotal.Add(it.Total)
	}
	for _, d := range discounts {
		discountsTotal = discountsTotal.Add(d.Amount)
	}
	return itemsTotal, discountsTotal
}

// BillingSubmission is one accepted submission of billing and usage data (seed 001).
// Times of the partner's are unix milliseconds.
type BillingSubmission struct {
	InstallationID string
	// Timestamp is the partner's server time: the latest one wins each slot.
	Timestamp              int64
	EOD                    int64
	PeriodStart, PeriodEnd int64
	// Day is the first second of the UTC day the data is for (BillingDay of EOD).
	Day            int64
	ItemsTotal     PartnerAmount
	DiscountsTotal PartnerAmount
	Items          int // how many items
	Usage          int // how many usage metrics
	Anomalies      []ItemAnomaly
	// Billing and UsageJSON are the submission's billing and usage members as sent.
	Billing   json.RawMessage
	UsageJSON json.RawMessage
	// Digest is the hex SHA-256 of the body as sent; it breaks ties of Timestamp, the
	// larger digest winning, so that every instance and engine keeps the same one.
	Digest     string
	ReceivedAt int64 // unix seconds
}

// Total is what the submission bills: its items less its discounts.
func (b BillingSubmission) Total() PartnerAmount { return b.ItemsTotal.Sub(b.DiscountsTotal) }

// CheckPeriod holds a period, and an instant that must fall inside it, to the rules of
// seed 001: the period ends after it starts, its end is not older than 24 hours before
// now, and at (when atField is not empty) lies inside the period and is not older than
// 24 hours. All in unix milliseconds; periodField names the period ("period").
//
// Errors: KindInvalid naming the field and the rule.
func CheckPeriod(periodField string, start, end int64, atField string, at int64, now int64) error {
	const day = 24 * 3600 * 1000
	if end <= start {
		return Errorf(KindInvalid, "%s.end: %s must be after %s.start %s", periodField, FormatMillis(end), periodField, FormatMillis(start))
	}
	if end < now-day {
		return Errorf(KindInvalid, "%s.end: %s is more than 24 hours before the server's time %s", periodField, FormatMillis(end), FormatMillis(now))
	}
	if atField == "" {
		return nil
	}
	if at < start || at > end {
		return Errorf(KindInvalid, "%s: %s must lie inside the period %s to %s", atField, FormatMillis(at), FormatMillis(start), FormatMillis(end))
	}
	if at < now-day {
		return Errorf(KindInvalid, "%s: %s is more than 24 hours before the server's time %s", atField, FormatMillis(at), FormatMillis(now))
	}
	return nil
}

// FormatMillis formats unix milliseconds as the marketplace's dates:
// 2026-12-01T12:25:45.531Z.
func FormatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// BillingOutcome says which slots a submission now holds: false for a slot whose stored
// data has a later timestamp (the submission is acknowledged and changes nothing there).
type BillingOutcome struct {
	Day, Week, Month bool
}

// StoredBilling is the billing data a slot holds.
type StoredBilling struct {
	Slot  BillingSlot
	Start int64 // the slot's first second
	BillingSubmission
}

// InvoiceState is the state of a partner's invoice.
type InvoiceState string

// The invoice states, as the marketplace names them.
const (
	InvoicePending         InvoiceState = "pending"
	InvoiceScheduled       InvoiceState = "scheduled"
	InvoiceInvoiced        InvoiceState = "invoiced"
	InvoicePaid            InvoiceState = "paid"
	InvoiceNotPaid         InvoiceState = "notpaid"
	InvoiceOverdue         InvoiceState = "overdue"
	InvoiceRefundRequested InvoiceState = "refund_requested"
	InvoiceRefunded        InvoiceState = "refunded"
	InvoiceDraft           InvoiceState = "draft"
)

// invoiceTransitions is the invoice state machine: the states each state may move to.
// An invoice is submitted pending (or, in test mode, straight to the result the test
// asks for); the cloud schedules it, invoices it, and it is then paid, not paid or
// overdue; a paid invoice may have refunds requested, up to its total, which are then
// refunded. draft is a state the marketplace names but cloudmeter never enters.
var invoiceTransitions = map[InvoiceState][]InvoiceState{
	InvoicePending:         {InvoiceScheduled, InvoiceInvoiced, InvoicePaid, InvoiceNotPaid},
	InvoiceScheduled:       {InvoiceInvoiced, InvoicePaid, InvoiceNotPaid},
	InvoiceInvoiced:        {InvoicePaid, InvoiceNotPaid, InvoiceOverdue},
	InvoiceOverdue:         {InvoicePaid, InvoiceNotPaid},
	InvoiceNotPaid:         {InvoicePaid},
	InvoicePaid:            {InvoiceRefundRequested},
	InvoiceRefundRequested: {InvoiceRefundRequested, InvoiceRefunded},
	InvoiceRefunded:        {InvoiceRefundRequested},
	InvoiceDraft:           nil,
}

// InvoiceStates lists every state.
func InvoiceStates() []InvoiceState {
	return []InvoiceState{InvoiceDraft, InvoicePending, InvoiceScheduled, InvoiceInvoiced, InvoicePaid, InvoiceNotPaid,
		InvoiceOverdue, InvoiceRefundRequested, InvoiceRefunded}
}

// CanMove reports whether an invoice in state from may move to state to.
func CanMove(from, to InvoiceState) bool {
	for _, s := range invoiceTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// PartnerInvoice is an invoice a partner submitted. Amounts are the partner's, exact.
type PartnerInvoice struct {
	ID             string // "inv_" and 24 letters and digits
	InstallationID string
	ExternalID     string
	// InvoiceDate, PeriodStart and PeriodEnd are unix milliseconds.
	InvoiceDate            int64
	PeriodStart, PeriodEnd int64
	Memo                   string
	// Items and Discounts are the members as sent (JSON arrays).
	Items     json.RawMessage
	Discounts json.RawMessage
	// Total is the items' totals less the discounts.
	Total PartnerAmount
	// Refunded is the sum of the refunds requested; never above Total.
	Refunded     PartnerAmount
	RefundReason string
	State        InvoiceState
	Final        bool
	// Test marks an invoice of the partner's test mode: kept and shown, never charged.
	Test      bool
	Anomalies []ItemAnomaly
	CreatedAt int64 // unix seconds
	UpdatedAt int64 // unix seconds
}

// InvoiceRefund is a refund a partner requests.
type InvoiceRefund struct {
	Amount PartnerAmount
	Reason string
	At     int64 // unix seconds
}

// PartnerBalance is a prepaid balance a partner reports, per resource ("" for the
// installation as a whole); the latest timestamp wins.
type PartnerBalance struct {
	InstallationID       string
	ResourceID           string
	Timestamp            int64 // unix milliseconds
	Credit               string
	NameLabel            string
	CurrencyValueInCents int64
	ReceivedAt           int64
}

// PartnerResource is the state a partner reported of one of its resources.
type PartnerResource struct {
	InstallationID string
	ResourceID     string
	Status         string
	// Body is the last update as sent.
	Body      json.RawMessage
	UpdatedAt int64
}

// InstallationStore keeps marketplace installations and what their partners report.
//
// Every method may return KindUnavailable when the database cannot be reached.
type InstallationStore interface {
	// CreateInstallation stores a new installation. Errors: KindConflict when its id or
	// token hash is taken.
	CreateInstallation(ctx context.Context, in Installation) error
	// Installation returns an installation, uninstalled ones included. Errors:
	// KindNotFound about SubjectInstallation.
	Installation(ctx context.Context, id string) (Installation, error)
	// InstallationByTokenHash returns the installation whose token has this hash.
	// Errors: KindNotFound.
	InstallationByTokenHash(ctx context.Context, hash string) (Installation, error)
	// Installations lists the installations of a user (all when userID is 0), by id.
	Installations(ctx context.Context, userID int64) ([]Installation, error)
	// Uninstall marks an installation uninstalled at now and returns it. Errors:
	// KindNotFound; uninstalling twice keeps the first time.
	Uninstall(ctx context.Context, id string, now int64) (Installation, error)
	// FinalizeBilling records that the partner's billing is final (the first time
	// counts).
	FinalizeBilling(ctx context.Context, id string, now int64) error

	// SubmitBilling keeps b in each slot (day, week, month) of its day unless the slot
	// holds data with a later Timestamp (or an equal one and a larger Digest). Each slot
	// is decided by one conditional statement, so that racing submissions, on any
	// number of instances, leave the latest in every slot.
	SubmitBilling(ctx context.Context, b BillingSubmission) (BillingOutcome, error)
	// Billing lists the billing data kept for an installation in a slot, by slot start,
	// of the slots that start within [from, to] (unix seconds).
	Billing(ctx context.Context, installationID string, slot BillingSlot, from, to int64) ([]StoredBilling, error)

	// CreateInvoice stores a new invoice. Errors: KindConflict when the installation
	// has an invoice with its ExternalID.
	CreateInvoice(ctx context.Context, inv PartnerInvoice) error
	// Invoice returns an invoice of an installation. Errors: KindNotFound.
	Invoice(ctx context.Context, installationID, invoiceID string) (PartnerInvoice, error)
	// Invoices lists an installation's invoices by creation.
	Invoices(ctx context.Context, installationID string) ([]PartnerInvoice, error)
	// RefundInvoice adds a refund to an invoice and moves it to refund_requested.
	// Errors: KindNotFound; KindConflict when the invoice's state allows no refund;
	// KindInvalid when the refunds would pass its total.
	RefundInvoice(ctx context.Context, installationID, invoiceID string, r InvoiceRefund) (PartnerInvoice, error)
	// SetInvoiceState moves an invoice along the state machine (CanMove). Errors:
	// KindNotFound; KindConflict when the move is not allowed.
	SetInvoiceState(ctx context.Context, installationID, invoiceID string, to InvoiceState, now int64) (PartnerInvoice, error)

	// SubmitBalances keeps each balance unless a later one of its resource is kept.
	SubmitBalances(ctx context.Context, bs []PartnerBalance) error
	// Balances lists an installation's balances by resource.
	Balances(ctx context.Context, installationID string) ([]PartnerBalance, error)
	// UpdatePartnerResource keeps the latest update of a resource.
	UpdatePartnerResource(ctx context.Context, r PartnerResource) error
}

package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"regexp"
	"sort"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// Marketplace installations (DESIGN 3.4). Administration (create, list, uninstall) needs
// the admin permission; a partner acts with its installation's access token, which
// reaches that installation alone; the read side is open to whoever may read the
// installation's user.

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// randomID returns n lowercase letters and digits from a secure source.
func randomID(n int) (string, error) {
	b := make([]byte, (n*5+7)/8+1)
	if _, err := rand.Read(b); err != nil {
		return "", cloudmeter.Internal(err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:n], nil
}

// CreateInstallation installs partner for user, billing in currency, and returns the
// installation's access token, which is shown once and never stored.
//
// Errors: KindForbidden without admin; KindInvalid for a user id not above 0, a partner
// name that is empty or no text, or a currency that is not three capital letters.
func (s *Service) CreateInstallation(ctx context.Context, caller cloudmeter.APIKey, partner string, userID int64, currency string) (string, cloudmeter.Installation, error) {
	var in cloudmeter.Installation
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return "", in, err
	}
	if userID <= 0 {
		return "", in, cloudmeter.Errorf(cloudmeter.KindInvalid, "user: must be a user id above 0")
	}
	if strings.TrimSpace(partner) == "" {
		return "", in, cloudmeter.Errorf(cloudmeter.KindInvalid, "partner: must name the partner")
	}
	if err := cloudmeter.CheckText("partner", partner, cloudmeter.MaxNameBytes); err != nil {
		return "", in, err
	}
	if !currencyPattern.MatchString(currency) {
		return "", in, cloudmeter.Errorf(cloudmeter.KindInvalid, "currency: %q must be an ISO 4217 code of three capital letters, such as USD", currency)
	}
	id, err := randomID(24)
	if err != nil {
		return "", in, err
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", in, cloudmeter.Internal(err)
	}
	token := base64.RawURLEncoding.EncodeToString(secret[:])
	in = cloudmeter.Installation{ID: "icfg_" + id, Partner: partner, UserID: userID, Currency: currency, TokenHash: HashKey(token), CreatedAt: s.Now()}
	if err := s.store.CreateInstallation(ctx, in); err != nil {
		return "", in, err
	}
	return token, in, nil
}

// Installations lists the installations of user (all when 0).
//
// Errors: KindForbidden unless the caller may read user (all users: admin).
func (s *Service) Installations(ctx context.Context, caller cloudmeter.APIKey, userID int64) ([]cloudmeter.Installation, error) {
	if userID == 0 && !caller.Has(cloudmeter.PermAdmin) {
		return nil, caller.Require(cloudmeter.PermAdmin)
	}
	if userID != 0 && !caller.CanReadUser(userID) {
		return nil, cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may not read the installations of user %d", userID)
	}
	return s.store.Installations(ctx, userID)
}

// Uninstall removes an installation: from now on its endpoints answer 410 Gone. What it
// submitted is kept.
//
// Errors: KindForbidden without admin; KindNotFound.
func (s *Service) Uninstall(ctx context.Context, caller cloudmeter.APIKey, id string) (cloudmeter.Installation, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return cloudmeter.Installation{}, err
	}
	if err := cloudmeter.CheckText("id", id, cloudmeter.MaxNameBytes); err != nil {
		return cloudmeter.Installation{}, err
	}
	return s.store.Uninstall(ctx, id, s.Now())
}

// AuthenticateInstallation checks the Authorization header of a partner's request to the
// installation id, in an order a client can rely on:
//
//  1. no token, or not "Bearer <token>": KindUnauthenticated (401);
//  2. a token no installation has: KindUnauthenticated (401);
//  3. the token of installation id, which was uninstalled: KindNotFound about
//     SubjectUninstalled (410);
//  4. the token of another installation, and id is no installation: KindNotFound about
//     SubjectInstallation (404);
//  5. the token of another installation: KindForbidden (403).
//
// Nothing about id is told to a caller without a valid token.
func (s *Service) AuthenticateInstallation(ctx context.Context, authorization, id string) (cloudmeter.Installation, error) {
	raw := strings.TrimSpace(authorization)
	scheme, token, ok := strings.Cut(raw, " ")
	token = strings.TrimSpace(token)
	if raw == "" || !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return cloudmeter.Installation{}, cloudmeter.Errorf(cloudmeter.KindUnauthenticated,
			"not authenticated: send the header Authorization: Bearer <installation access token>")
	}
	in, err := s.store.InstallationByTokenHash(ctx, HashKey(token))
	if cloudmeter.KindOf(err) == cloudmeter.KindNotFound {
		return in, cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "not authenticated: the access token is not an installation's")
	}
	if err != nil {
		return in, err
	}
	reqinfo.SetKey(ctx, in.ID)
	if cloudmeter.CheckText("id", id, cloudmeter.MaxNameBytes) != nil {
		return in, cloudmeter.Errorf(cloudmeter.KindNotFound, "installation %q not found", id).About(cloudmeter.SubjectInstallation)
	}
	if in.ID == id {
		if !in.Installed() {
			return in, cloudmeter.Errorf(cloudmeter.KindNotFound, "installation %s was uninstalled at %s", id, cloudmeter.FormatTime(in.UninstalledAt)).
				About(cloudmeter.SubjectUninstalled)
		}
		return in, nil
	}
	if _, err := s.store.Installation(ctx, id); err != nil {
		return in, err
	}
	return in, cloudmeter.Errorf(cloudmeter.KindForbidden, "this access token is another installation's: it may not act for installation %s", id)
}

// SubmitBilling keeps a partner's billing data (already decoded) where it is the latest
// (InstallationStore.SubmitBilling), after the rules of seed 001: the period ends after
// it starts and not more than 24 hours before now; eod lies inside the period and is not
// older than 24 hours. Items whose total is not price x quantity, even rounded to the
// installation currency's minor unit, are kept and flagged (b.Anomalies).
//
// Errors: KindInvalid naming the field and the rule (nothing is stored).
func (s *Service) SubmitBilling(ctx context.Context, in cloudmeter.Installation, b cloudmeter.BillingSubmission,
	items []cloudmeter.PartnerItem, discounts []cloudmeter.PartnerDiscount) (cloudmeter.BillingSubmission, cloudmeter.BillingOutcome, error) {
	now := s.now()
	if err := cloudmeter.CheckPeriod("period", b.PeriodStart, b.PeriodEnd, "eod", b.EOD, now.UnixMilli()); err != nil {
		return b, cloudmeter.BillingOutcome{}, err
	}
	b.InstallationID, b.ReceivedAt, b.Day = in.ID, now.Unix(), cloudmeter.BillingDay(b.EOD)
	b.ItemsTotal, b.DiscountsTotal = cloudmeter.SumPartner(items, discounts)
	b.Items = len(items)
	b.Anomalies = cloudmeter.CheckItems("billing.items", items, in.Currency)
	out, err := s.store.SubmitBilling(ctx, b)
	return b, out, err
}

// FinalizeBilling records that the partner's billing of the installation is final.
func (s *Service) FinalizeBilling(ctx context.Context, in cloudmeter.Installation) error {
	return s.store.FinalizeBilling(ctx, in.ID, s.Now())
}

// SubmitInvoice keeps a partner's invoice (already decoded): state pending, or in test
// mode the state the test asks for (testResult paid or notpaid; pending when empty).
//
// Errors: KindInvalid naming the field (the period's rules as in SubmitBilling, with
// invoiceDate inside the period; discounts above the items); KindConflict when the
// installation has an invoice with the same externalId.
func (s *Service) SubmitInvoice(ctx context.Context, in cloudmeter.Installation, inv cloudmeter.PartnerInvoice,
	items []cloudmeter.PartnerItem, discounts []cloudmeter.PartnerDiscount, testResult cloudmeter.InvoiceState) (cloudmeter.PartnerInvoice, error) {
	now := s.now()
	if inv.PeriodEnd <= inv.PeriodStart {
		return inv, cloudmeter.Errorf(cloudmeter.KindInvalid, "period.end: %s must be after period.start %s",
			cloudmeter.FormatMillis(inv.PeriodEnd), cloudmeter.FormatMillis(inv.PeriodStart))
	}
	if inv.InvoiceDate < inv.PeriodStart || inv.InvoiceDate > inv.PeriodEnd {
		return inv, cloudmeter.Errorf(cloudmeter.KindInvalid, "invoiceDate: %s must lie inside the period %s to %s",
			cloudmeter.FormatMillis(inv.InvoiceDate), cloudmeter.FormatMillis(inv.PeriodStart), cloudmeter.FormatMillis(inv.PeriodEnd))
	}
	itemsTotal, discountsTotal := cloudmeter.SumPartner(items, discounts)
	if discountsTotal.Cmp(itemsTotal) > 0 {
		return inv, cloudmeter.Errorf(cloudmeter.KindInvalid, "discounts: they sum to %s, more than the items' %s", discountsTotal, itemsTotal)
	}
	id, err := randomID(24)
	if err != nil {
		return inv, err
	}
	inv.ID, inv.InstallationID = "inv_"+id, in.ID
	inv.Total, inv.Refunded = itemsTotal.Sub(discountsTotal), cloudmeter.ZeroPartnerAmount()
	inv.State = cloudmeter.InvoicePending
	if inv.Test && testResult != "" {
		inv.State = testResult
	}
	inv.Anomalies = cloudmeter.CheckItems("items", items, in.Currency)
	inv.CreatedAt, inv.UpdatedAt = now.Unix(), now.Unix()
	if err := s.store.CreateInvoice(ctx, inv); err != nil {
		return inv, err
	}
	return inv, nil
}

// Invoice returns an invoice of the installation. Errors: KindNotFound.
func (s *Service) Invoice(ctx context.Context, in cloudmeter.Installation, invoiceID string) (cloudmeter.PartnerInvoice, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return cloudmeter.PartnerInvoice{}, err
	}
	return s.store.Invoice(ctx, in.ID, invoiceID)
}

// RefundInvoice requests a refund of a paid invoice; together the refunds may not pass
// its total.
//
// Errors: KindInvalid (a refund of 0, or past the total); KindConflict (the invoice is
// not paid); KindNotFound.
func (s *Service) RefundInvoice(ctx context.Context, in cloudmeter.Installation, invoiceID string, r cloudmeter.InvoiceRefund) (cloudmeter.PartnerInvoice, error) {
	if err := checkInvoiceID(invoiceID); err != nil {
		return cloudmeter.PartnerInvoice{}, err
	}
	if r.Amount.Sign() <= 0 {
		return cloudmeter.PartnerInvoice{}, cloudmeter.Errorf(cloudmeter.KindInvalid, "total: a refund must be above 0")
	}
	r.At = s.Now()
	return s.store.RefundInvoice(ctx, in.ID, invoiceID, r)
}

// checkInvoiceID answers an invoice id that is no text as an unknown invoice.
func checkInvoiceID(id string) error {
	if cloudmeter.CheckText("invoiceId", id, cloudmeter.MaxNameBytes) != nil {
		return cloudmeter.Errorf(cloudmeter.KindNotFound, "invoice %q not found", id)
	}
	return nil
}

// SetInvoiceState moves an invoice along the state machine (cloudmeter.CanMove), as the
// cloud's billing does when it schedules, invoices, is paid or refunds.
//
// Errors: KindForbidden without admin; KindInvalid for an unknown state; KindNotFound;
// KindConflict for a move the state machine does not allow.
func (s *Service) SetInvoiceState(ctx context.Context, caller cloudmeter.APIKey, installationID, invoiceID string, to cloudmeter.InvoiceState) (cloudmeter.PartnerInvoice, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return cloudmeter.PartnerInvoice{}, err
	}
	if err := checkInvoiceID(invoiceID); err != nil {
		return cloudmeter.PartnerInvoice{}, err
	}
	if err := cloudmeter.CheckText("installation id", installationID, cloudmeter.MaxNameBytes); err != nil {
		return cloudmeter.PartnerInvoice{}, err
	}
	known := false
	for _, st := range cloudmeter.InvoiceStates() {
		known = known || st == to
	}
	if !known {
		return cloudmeter.PartnerInvoice{}, cloudmeter.Errorf(cloudmeter.KindInvalid, "state: %q is not an invoice state", to)
	}
	return s.store.SetInvoiceState(ctx, installationID, invoiceID, to, s.Now())
}

// SubmitBalances keeps the partner's prepaid balances; for each resource the latest
// timestamp wins.
func (s *Service) SubmitBalances(ctx context.Context, in cloudmeter.Installation, bs []cloudmeter.PartnerBalance) error {
	now := s.Now()
	for i := range bs {
		bs[i].InstallationID, bs[i].ReceivedAt = in.ID, now
	}
	return s.store.SubmitBalances(ctx, bs)
}

// UpdatePartnerResource keeps the state the partner reports of one of its resources.
func (s *Service) UpdatePartnerResource(ctx context.Context, in cloudmeter.Installation, r cloudmeter.PartnerResource) (cloudmeter.PartnerResource, error) {
	r.InstallationID, r.UpdatedAt = in.ID, s.Now()
	return r, s.store.UpdatePartnerResource(ctx, r)
}

// readableInstallation returns an installation the caller may read: its user's, or any
// with utilization_reports_read. Errors: KindNotFound (also for one the caller may not
// read, so that ids cannot be probed).
func (s *Service) readableInstallation(ctx context.Context, caller cloudmeter.APIKey, id string) (cloudmeter.Installation, error) {
	if err := cloudmeter.CheckText("installation id", id, cloudmeter.MaxNameBytes); err != nil {
		return cloudmeter.Installation{}, err
	}
	in, err := s.store.Installation(ctx, id)
	if err != nil {
		return in, err
	}
	if !caller.CanReadUser(in.UserID) {
		return cloudmeter.Installation{}, cloudmeter.Errorf(cloudmeter.KindNotFound, "installation %q not found", id).About(cloudmeter.SubjectInstallation)
	}
	return in, nil
}

// InstallationBilling is what an installation submitted, as kept: per day and per month
// (the latest of each), and its invoices and balances.
type InstallationBilling struct {
	Installation cloudmeter.Installation
	Days         []cloudmeter.StoredBilling
	Months       []cloudmeter.StoredBilling
	Invoices     []cloudmeter.PartnerInvoice
	Balances     []cloudmeter.PartnerBalance
}

// Installation returns an installation and what it submitted over the days in [from, to]
// (unix seconds; the months that start in it or hold from).
//
// Errors: KindNotFound (also for an installation the caller may not read).
func (s *Service) Installation(ctx context.Context, caller cloudmeter.APIKey, id string, from, to int64) (InstallationBilling, error) {
	in, err := s.readableInstallation(ctx, caller, id)
	if err != nil {
		return InstallationBilling{}, err
	}
	out := InstallationBilling{Installation: in}
	if out.Days, err = s.store.Billing(ctx, id, cloudmeter.SlotDay, from, to); err != nil {
		return out, err
	}
	if out.Months, err = s.store.Billing(ctx, id, cloudmeter.SlotMonth, cloudmeter.SlotStart(cloudmeter.SlotMonth, cloudmeter.SlotStart(cloudmeter.SlotDay, from)), to); err != nil {
		return out, err
	}
	if out.Invoices, err = s.store.Invoices(ctx, id); err != nil {
		return out, err
	}
	out.Balances, err = s.store.Balances(ctx, id)
	return out, err
}

// PartnerCharge is what one installation of a user charged over a window, in its
// currency: Invoiced is the total of its invoices (test mode left out) dated in the
// window, Refunded the refunds requested of them, and Interim the billing data of the
// months whose latest submission is for a day in the window (what the partner has
// billed so far and not yet invoiced).
type PartnerCharge struct {
	Installation cloudmeter.Installation
	Invoiced     cloudmeter.PartnerAmount
	Refunded     cloudmeter.PartnerAmount
	Interim      cloudmeter.PartnerAmount
	Invoices     int
}

// CurrencyCharges sums the partner charges of one currency.
type CurrencyCharges struct {
	Currency string
	Invoiced cloudmeter.PartnerAmount
	Refunded cloudmeter.PartnerAmount
	Interim  cloudmeter.PartnerAmount
}

// PartnerCharges returns what the partners installed for user charged over [from, to]
// (unix seconds), per installation and per currency, the currencies in alphabetical
// order. Amounts of different currencies are never added together.
//
// Errors: KindForbidden unless the caller may read the user.
func (s *Service) PartnerCharges(ctx context.Context, caller cloudmeter.APIKey, userID, from, to int64) ([]PartnerCharge, []CurrencyCharges, error) {
	if !caller.CanReadUser(userID) {
		return nil, nil, cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may not read the usage of user %d", userID)
	}
	ins, err := s.store.Installations(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	var charges []PartnerCharge
	byCurrency := map[string]*CurrencyCharges{}
	for _, in := range ins {
		c := PartnerCharge{Installation: in, Invoiced: cloudmeter.ZeroPartnerAmount(), Refunded: cloudmeter.ZeroPartnerAmount(),
			Interim: cloudmeter.ZeroPartnerAmount()}
		invs, err := s.store.Invoices(ctx, in.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, inv := range invs {
			if inv.Test || inv.InvoiceDate < from*1000 || inv.InvoiceDate > to*1000+999 {
				continue
			}
			c.Invoices++
			c.Invoiced, c.Refunded = c.Invoiced.Add(inv.Total), c.Refunded.Add(inv.Refunded)
		}
		months, err := s.store.Billing(ctx, in.ID, cloudmeter.SlotMonth, cloudmeter.SlotStart(cloudmeter.SlotMonth, cloudmeter.SlotStart(cloudmeter.SlotDay, from)), to)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range months {
			if m.Day >= cloudmeter.SlotStart(cloudmeter.SlotDay, from) && m.Day <= to {
				c.Interim = c.Interim.Add(m.Total())
			}
		}
		if c.Invoices == 0 && c.Interim.IsZero() && len(months) == 0 {
			continue
		}
		charges = append(charges, c)
		cc := byCurrency[in.Currency]
		if cc == nil {
			cc = &CurrencyCharges{Currency: in.Currency, Invoiced: cloudmeter.ZeroPartnerAmount(), Refunded: cloudmeter.ZeroPartnerAmount(),
				Interim: cloudmeter.ZeroPartnerAmount()}
			byCurrency[in.Currency] = cc
		}
		cc.Invoiced, cc.Refunded, cc.Interim = cc.Invoiced.Add(c.Invoiced), cc.Refunded.Add(c.Refunded), cc.Interim.Add(c.Interim)
	}
	totals := make([]CurrencyCharges, 0, len(byCurrency))
	for _, cc := range byCurrency {
		totals = append(totals, *cc)
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i].Currency < totals[j].Currency })
	return charges, totals, nil
}

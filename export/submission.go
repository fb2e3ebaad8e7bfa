// Package export pushes usage and interim billing from the ledger into external billing
// systems in the marketplace partner format (seed 001): it builds each target's
// submission from the reports of its users (locally metered and pulled usage alike) and
// delivers it through an outbox in the database, with retries, backoff and no double
// counting. It acts through package service as the system caller.
package export

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/service"
)

// The marketplace's dates: UTC with milliseconds, as its SDK sends them.
const wireTime = "2006-01-02T15:04:05.000Z"

func wireAt(t time.Time) string { return t.UTC().Format(wireTime) }

func wireSec(t int64) string { return wireAt(time.Unix(t, 0)) }

// Period is a billing period on the wire.
type Period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Item is one billing item: a resource's usage over a stretch of the period.
type Item struct {
	BillingPlanID string      `json:"billingPlanId"`
	ResourceID    string      `json:"resourceId,omitempty"`
	Start         string      `json:"start,omitempty"`
	End           string      `json:"end,omitempty"`
	Name          string      `json:"name"`
	Details       string      `json:"details,omitempty"`
	Price         string      `json:"price"`
	Quantity      json.Number `json:"quantity"`
	Units         string      `json:"units"`
	Total         string      `json:"total"`
}

// Usage is one usage metric of a resource.
type Usage struct {
	ResourceID  string      `json:"resourceId,omitempty"`
	Name        string      `json:"name"`
	Type        string      `json:"type"`
	Units       string      `json:"units"`
	DayValue    json.Number `json:"dayValue"`
	PeriodValue json.Number `json:"periodValue"`
}

// Billing is the interim billing of a submission.
type Billing struct {
	Items     []Item `json:"items"`
	Discounts []any  `json:"discounts"`
}

// Submission is the body of POST /v1/installations/{id}/billing.
type Submission struct {
	Timestamp string  `json:"timestamp"`
	EOD       string  `json:"eod"`
	Period    Period  `json:"period"`
	Billing   Billing `json:"billing"`
	Usage     []Usage `json:"usage"`
}

// Invoice is the body of POST /v1/installations/{id}/billing/invoices.
type Invoice struct {
	ExternalID  string `json:"externalId"`
	InvoiceDate string `json:"invoiceDate"`
	Memo        string `json:"memo"`
	Period      Period `json:"period"`
	Items       []Item `json:"items"`
	Discounts   []any  `json:"discounts"`
	// Final says the invoice closes the period: nothing more is billed for it.
	Final bool `json:"final"`
}

// InvoiceID is the externalId of a target's invoice for a period: the same however often
// it is built or sent, so that the receiver keeps it once.
func InvoiceID(targetID, period string) string { return "cloudmeter-" + targetID + "-" + period }

// Paths of the marketplace endpoints under a target's URL.
func billingPath(t cloudmeter.ExportTarget) string {
	return "/v1/installations/" + url.PathEscape(t.ConfigurationID) + "/billing"
}

// Builder builds submissions from the reports of the service.
type Builder struct {
	Service *service.Service
}

// usageOf returns the records of a target's users over [from, to], one report each.
func (b Builder) usageOf(ctx context.Context, t cloudmeter.ExportTarget, from, to int64) ([]*report.Utilization, error) {
	var out []*report.Utilization
	for _, user := range t.Users {
		u, err := b.Service.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: user, Start: from, End: to,
			InfrastructureIDs: t.Infrastructures})
		if cloudmeter.KindOf(err) == cloudmeter.KindNotFound {
			continue // a user with nothing yet, or without these infrastructures: nothing to bill
		}
		if err != nil {
			return nil, fmt.Errorf("user %d: %w", user, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// Round builds the deliveries of one round of a target at now: when now is in a later
// month than the target's open period, the final billing, the invoice and the finalize
// of each month up to the last, then the interim billing of now's month.
func (b Builder) Round(ctx context.Context, t cloudmeter.ExportTarget, now time.Time) ([]cloudmeter.Delivery, string, error) {
	current := service.PeriodOf(now.Unix())
	var out []cloudmeter.Delivery
	period := t.OpenPeriod
	if period == "" {
		period = current
	}
	for period < current {
		ds, err := b.Close(ctx, t, period, now)
		if err != nil {
			return nil, "", err
		}
		out = append(out, ds...)
		start, _, err := service.PeriodBounds(period)
		if err != nil {
			return nil, "", err
		}
		period = time.Unix(start, 0).UTC().AddDate(0, 1, 0).Format("2006-01")
	}
	d, err := b.Interim(ctx, t, now)
	if err != nil {
		return nil, "", err
	}
	return append(out, d), current, nil
}

// Interim builds the billing submission of now's month up to now.
func (b Builder) Interim(ctx context.Context, t cloudmeter.ExportTarget, now time.Time) (cloudmeter.Delivery, error) {
	sec := now.Unix()
	period := service.PeriodOf(sec)
	start, next, err := service.PeriodBounds(period)
	if err != nil {
		return cloudmeter.Delivery{}, err
	}
	day := service.DayStart(sec)
	sub, err := b.submission(ctx, t, start, next, day, sec, now)
	if err != nil {
		return cloudmeter.Delivery{}, err
	}
	return delivery(t, cloudmeter.DeliveryBilling, period, billingPath(t), sub, sec)
}

// Close builds the deliveries that close a past month: its final billing submission
// (eod at the month's end), its invoice (final, when the month has usage: its externalId
// is InvoiceID's, the same however often it is built) and the finalize.
func (b Builder) Close(ctx context.Context, t cloudmeter.ExportTarget, period string, now time.Time) ([]cloudmeter.Delivery, error) {
	start, next, err := service.PeriodBounds(period)
	if err != nil {
		return nil, err
	}
	sec := now.Unix()
	sub, err := b.submission(ctx, t, start, next, next-service.SecondsPerDay, next-1, now)
	if err != nil {
		return nil, err
	}
	final, err := delivery(t, cloudmeter.DeliveryBilling, period, billingPath(t), sub, sec)
	if err != nil {
		return nil, err
	}
	out := []cloudmeter.Delivery{final}
	// A month without usage has nothing to invoice (an invoice holds at least one item).
	if len(sub.Billing.Items) > 0 {
		inv := Invoice{ExternalID: InvoiceID(t.ID, period), InvoiceDate: wireSec(next - 1), Memo: "Usage of " + period,
			Period: sub.Period, Items: sub.Billing.Items, Discounts: []any{}, Final: true}
		invoice, err := delivery(t, cloudmeter.DeliveryInvoice, period, billingPath(t)+"/invoices", inv, sec)
		if err != nil {
			return nil, err
		}
		out = append(out, invoice)
	}
	finalize := cloudmeter.Delivery{TargetID: t.ID, Kind: cloudmeter.DeliveryFinalize, Period: period, Path: billingPath(t) + "/finalize", CreatedAt: sec}
	return append(out, finalize), nil
}

func delivery(t cloudmeter.ExportTarget, kind cloudmeter.DeliveryKind, period, path string, body any, at int64) (cloudmeter.Delivery, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return cloudmeter.Delivery{}, cloudmeter.Internal(err)
	}
	return cloudmeter.Delivery{TargetID: t.ID, Kind: kind, Period: period, Path: path, Body: b, CreatedAt: at}, nil
}

// submission builds the billing submission of the period [start, next) with usage up to
// upTo, the day's values from day (the start of the eod's UTC day) on.
func (b Builder) submission(ctx context.Context, t cloudmeter.ExportTarget, start, next, day, upTo int64, now time.Time) (Submission, error) {
	to := min(upTo, next-1)
	month, err := b.usageOf(ctx, t, start, to)
	if err != nil {
		return Submission{}, err
	}
	today, err := b.usageOf(ctx, t, max(day, start), to)
	if err != nil {
		return Submission{}, err
	}
	sub := Submission{Timestamp: wireAt(now), EOD: wireSec(min(day+service.SecondsPerDay, next)), Period: Period{Start: wireSec(start), End: wireSec(next)},
		Billing: Billing{Items: []Item{}, Discounts: []any{}}, Usage: []Usage{}}
	for _, u := range month {
		sub.Billing.Items = append(sub.Billing.Items, Items(u, start, next)...)
	}
	sub.Usage = UsageMetrics(month, today)
	return sub, nil
}

// Items turns a report into billing items, one per record: its cost as the total, its
// cost per unit as the price, its quantity in measurement periods (or GB).
func Items(u *report.Utilization, start, next int64) []Item {
	var out []Item
	for i := range u.Records {
		r := &u.Records[i]
		it := Item{BillingPlanID: PlanID(r.Type, r.Entry, r.Source), ResourceID: strconv.FormatInt(r.ProductID, 10), Name: name(r.Label, r.Type, r.ProductID),
			Details: details(r.Type, r.ProductID, r.InfrastructureID, r.Source), Price: r.CostPerUnit.String(),
			Quantity: periods(r.Quantity, r.MeasurementPeriod), Units: units(r.MeasurementPeriod), Total: r.Cost.String()}
		it.Start, it.End = stretch(r.Start, r.End, start, next)
		out = append(out, it)
	}
	for i := range u.Traffic {
		r := &u.Traffic[i]
		w := &r.Waypoint
		plan := PlanID(w.Type, r.Entry, r.Source)
		if r.Source != "" || r.Entry == nil || r.Entry.Direction == nil {
			plan += "." + string(r.Direction)
		}
		it := Item{BillingPlanID: plan, ResourceID: strconv.FormatInt(w.ProductID, 10),
			Name: name(w.Label, w.Type, w.ProductID) + " " + string(r.Direction), Details: details(w.Type, w.ProductID, w.InfrastructureID, r.Source) + ", traffic",
			Price: r.CostPerUnit.String(), Quantity: gb(r.Quantity), Units: "GB", Total: r.Cost.String()}
		it.Start, it.End = stretch(r.Start, r.End, start, next)
		out = append(out, it)
	}
	return out
}

// stretch gives an item's start and end (the second after its last) when they differ
// from the period's.
func stretch(from, to, start, next int64) (string, string) {
	if from == start && to+1 == next {
		return "", ""
	}
	return wireSec(from), wireSec(min(to, next-1) + 1)
}

// PlanID names the price book entry that priced a record, as a billingPlanId: the
// resource type and each discriminator of the entry ("instance.server_type_12.dc_uk");
// "pulled.<type>" for pulled records, "unpriced.<type>" when no entry applies.
func PlanID(typ cloudmeter.ResourceType, e *pricebook.Entry, source string) string {
	if source != "" {
		return "pulled." + string(typ)
	}
	if e == nil {
		return "unpriced." + string(typ)
	}
	parts := []string{string(e.ResourceType)}
	if e.ServerTypeID != nil {
		parts = append(parts, "server_type_"+strconv.FormatInt(*e.ServerTypeID, 10))
	}
	for _, p := range []struct {
		prefix string
		v      *string
	}{{"", e.StorageType}, {"", e.SubnetType}, {"", e.State}, {"", e.Direction}, {"dc_", e.Datacenter}} {
		if p.v != nil {
			parts = append(parts, p.prefix+*p.v)
		}
	}
	if e.UserID != nil {
		parts = append(parts, "user_"+strconv.FormatInt(*e.UserID, 10))
	}
	return strings.Join(parts, ".")
}

func name(label string, typ cloudmeter.ResourceType, id int64) string {
	if label != "" {
		return label
	}
	return fmt.Sprintf("%s %d", typ, id)
}

func details(typ cloudmeter.ResourceType, id, infra int64, source string) string {
	d := fmt.Sprintf("%s %d in infrastructure %d", typ, id, infra)
	if source != "" {
		d += ", from " + source
	}
	return d
}

func units(mp int64) string {
	if mp == 3600 {
		return "hour"
	}
	return strconv.FormatInt(mp, 10) + " s"
}

// periods is seconds / measurement period, rounded half-up to 8 places, as a number.
func periods(seconds, mp int64) json.Number {
	if mp <= 0 {
		return "0"
	}
	a, err := money.Cost(seconds, mp, money.Amount(money.AmountScale))
	if err != nil {
		return json.Number(strconv.FormatInt(seconds/mp, 10))
	}
	return number(a)
}

// number writes an amount as a JSON number in its shortest exact form.
func number(a money.Amount) json.Number {
	s := a.String()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return json.Number(s)
}

// gb writes 1e-4 GB units as a number.
func gb(q int64) json.Number {
	s := money.FormatGB4(q)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return json.Number(s)
}

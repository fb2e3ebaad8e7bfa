package marketplace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudmeter/cloudmeter"
)

// The request bodies of seed 001, decoded member by member so that every refusal names
// the member and the rule: a type mismatch, a null where a number is required (Vercel's
// SDK sends Infinity and NaN as null), a negative number, a malformed amount or date.
// Members the marketplace may add later are ignored.

func invalid(format string, args ...any) error {
	return cloudmeter.Errorf(cloudmeter.KindInvalid, format, args...)
}

// object is a JSON object being decoded, and the name of where it is in the body.
type object struct {
	at string
	m  map[string]json.RawMessage
}

func (o object) name(member string) string {
	if o.at == "" {
		return member
	}
	return o.at + "." + member
}

// jsonKind names the JSON type of a raw value.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "a number"
}

func isNull(raw json.RawMessage) bool { return jsonKind(raw) == "null" }

// decodeObject decodes raw as a JSON object found at at.
func decodeObject(at string, raw json.RawMessage) (object, error) {
	what := at
	if what == "" {
		what = "request body"
	}
	if k := jsonKind(raw); k != "an object" {
		return object{}, invalid("%s: must be a JSON object, not %s", what, k)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return object{}, invalid("%s: is not valid JSON: %v", what, err)
	}
	return object{at: at, m: m}, nil
}

// parseBody decodes a whole request body as a JSON object.
func parseBody(body []byte) (object, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return object{}, invalid("request body: empty; send a JSON object")
	}
	if !utf8.Valid(body) {
		return object{}, invalid("request body: must be UTF-8 text")
	}
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		return object{}, invalid("request body: is not valid JSON: %v", err)
	}
	return decodeObject("", body)
}

func (o object) has(member string) bool {
	_, ok := o.m[member]
	return ok
}

// str returns a string member; a missing or null member is "" unless required.
func (o object) str(member string, required bool, maxBytes int) (string, error) {
	raw, ok := o.m[member]
	if !ok || isNull(raw) {
		if required {
			return "", invalid("%s: is required (a string)", o.name(member))
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", invalid("%s: must be a string, not %s", o.name(member), jsonKind(raw))
	}
	if required && strings.TrimSpace(s) == "" {
		return "", invalid("%s: must not be empty", o.name(member))
	}
	if err := cloudmeter.CheckText(o.name(member), s, maxBytes); err != nil {
		return "", err
	}
	return s, nil
}

// date returns a date member as unix milliseconds: RFC 3339 with or without a fraction
// (2026-12-01T12:25:45.531Z). present is false for a missing optional member.
func (o object) date(member string, required bool) (ms int64, present bool, err error) {
	raw, ok := o.m[member]
	if (!ok || isNull(raw)) && !required {
		return 0, false, nil
	}
	s, err := o.str(member, true, 64)
	if err != nil {
		return 0, false, err
	}
	t, perr := time.Parse(time.RFC3339Nano, s)
	if perr != nil {
		return 0, false, invalid("%s: %s is not a date such as 2026-12-01T12:25:45.531Z", o.name(member), strconv.Quote(s))
	}
	if t = t.UTC(); t.Year() < 1970 || t.Year() > 9999 {
		return 0, false, invalid("%s: %s is outside the years 1970 to 9999", o.name(member), strconv.Quote(s))
	}
	return t.UnixMilli(), true, nil
}

// amount returns a money member: a decimal string ^[0-9]+(\.[0-9]+)?$, exact.
func (o object) amount(member string) (cloudmeter.PartnerAmount, error) {
	raw, ok := o.m[member]
	if !ok || isNull(raw) {
		return cloudmeter.PartnerAmount{}, invalid("%s: is required (a decimal string such as \"31.13\")", o.name(member))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return cloudmeter.PartnerAmount{}, invalid("%s: must be a decimal string such as \"31.13\", not %s", o.name(member), jsonKind(raw))
	}
	return cloudmeter.ParsePartnerAmount(o.name(member), s)
}

// maxExponent bounds the exponent of a JSON number (1e40): a number such as 1e999999999
// would otherwise cost its size in memory to hold exactly.
const maxExponent = 40

// number returns a number member as its literal and its exact value. A null is refused
// (the SDK sends Infinity and NaN as null), and so is a negative number.
func (o object) number(member string, required bool) (literal string, v *big.Rat, present bool, err error) {
	raw, ok := o.m[member]
	if !ok {
		if required {
			return "", nil, false, invalid("%s: is required (a number)", o.name(member))
		}
		return "", nil, false, nil
	}
	switch k := jsonKind(raw); k {
	case "null":
		return "", nil, false, invalid("%s: is null where a number is required (a value such as Infinity or NaN cannot be sent as JSON)", o.name(member))
	case "a number":
	default:
		return "", nil, false, invalid("%s: must be a number, not %s", o.name(member), k)
	}
	literal = string(bytes.TrimSpace(raw))
	if strings.HasPrefix(literal, "-") {
		return "", nil, false, invalid("%s: %s must not be negative", o.name(member), literal)
	}
	if i := strings.IndexAny(literal, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(literal[i+1:], "+"))
		if err != nil || exp > maxExponent || exp < -maxExponent {
			return "", nil, false, invalid("%s: %s has an exponent beyond ±%d", o.name(member), literal, maxExponent)
		}
	}
	v, ok = new(big.Rat).SetString(literal)
	if !ok {
		return "", nil, false, invalid("%s: %s is not a number", o.name(member), literal)
	}
	return literal, v, true, nil
}

// array returns an array member's elements; a missing or null member is nil unless
// required.
func (o object) array(member string, required bool) ([]json.RawMessage, bool, error) {
	raw, ok := o.m[member]
	if !ok || (isNull(raw) && !required) {
		if required {
			return nil, false, invalid("%s: is required (an array)", o.name(member))
		}
		return nil, false, nil
	}
	if k := jsonKind(raw); k != "an array" {
		return nil, false, invalid("%s: must be an array, not %s", o.name(member), k)
	}
	var out []json.RawMessage
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, false, invalid("%s: %v", o.name(member), err)
	}
	return out, true, nil
}

// boolean returns an optional boolean member.
func (o object) boolean(member string) (bool, error) {
	raw, ok := o.m[member]
	if !ok || isNull(raw) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, invalid("%s: must be true or false, not %s", o.name(member), jsonKind(raw))
	}
	return b, nil
}

func (o object) object(member string, required bool) (object, bool, error) {
	raw, ok := o.m[member]
	if !ok || (isNull(raw) && !required) {
		if required {
			return object{}, false, invalid("%s: is required (an object)", o.name(member))
		}
		return object{}, false, nil
	}
	obj, err := decodeObject(o.name(member), raw)
	return obj, err == nil, err
}

// period decodes a period member {start, end}: both dates, the end after the start.
func (o object) period(member string) (start, end int64, err error) {
	p, _, err := o.object(member, true)
	if err != nil {
		return 0, 0, err
	}
	if start, _, err = p.date("start", true); err != nil {
		return 0, 0, err
	}
	if end, _, err = p.date("end", true); err != nil {
		return 0, 0, err
	}
	if end <= start {
		return 0, 0, invalid("%s.end: %s must be after %s.start %s", o.name(member), cloudmeter.FormatMillis(end), o.name(member), cloudmeter.FormatMillis(start))
	}
	return start, end, nil
}

// span checks an item's optional start and end.
func (o object) span() error {
	start, hasStart, err := o.date("start", false)
	if err != nil {
		return err
	}
	end, hasEnd, err := o.date("end", false)
	if err != nil {
		return err
	}
	if hasStart && hasEnd && end < start {
		return invalid("%s: %s must not be before %s %s", o.name("end"), cloudmeter.FormatMillis(end), o.name("start"), cloudmeter.FormatMillis(start))
	}
	return nil
}

// parseItem decodes a billing item: billingPlanId, resourceId?, start?, end?, name,
// details?, price, quantity, units, total.
func parseItem(at string, raw json.RawMessage) (cloudmeter.PartnerItem, error) {
	var it cloudmeter.PartnerItem
	o, err := decodeObject(at, raw)
	if err != nil {
		return it, err
	}
	if it.BillingPlanID, err = o.str("billingPlanId", true, cloudmeter.MaxNameBytes); err != nil {
		return it, err
	}
	if it.ResourceID, err = o.str("resourceId", false, cloudmeter.MaxNameBytes); err != nil {
		return it, err
	}
	if err := o.span(); err != nil {
		return it, err
	}
	if it.Name, err = o.str("name", true, cloudmeter.MaxTextBytes); err != nil {
		return it, err
	}
	if _, err = o.str("details", false, cloudmeter.MaxTextBytes); err != nil {
		return it, err
	}
	if it.Price, err = o.amount("price"); err != nil {
		return it, err
	}
	if it.Quantity, it.QuantityRat, _, err = o.number("quantity", true); err != nil {
		return it, err
	}
	if it.Units, err = o.str("units", true, cloudmeter.MaxNameBytes); err != nil {
		return it, err
	}
	if it.Total, err = o.amount("total"); err != nil {
		return it, err
	}
	return it, nil
}

// parseDiscount decodes a discount: billingPlanId, resourceId?, start?, end?, name,
// details?, amount.
func parseDiscount(at string, raw json.RawMessage) (cloudmeter.PartnerDiscount, error) {
	var d cloudmeter.PartnerDiscount
	o, err := decodeObject(at, raw)
	if err != nil {
		return d, err
	}
	if d.BillingPlanID, err = o.str("billingPlanId", true, cloudmeter.MaxNameBytes); err != nil {
		return d, err
	}
	if d.ResourceID, err = o.str("resourceId", false, cloudmeter.MaxNameBytes); err != nil {
		return d, err
	}
	if err := o.span(); err != nil {
		return d, err
	}
	if d.Name, err = o.str("name", true, cloudmeter.MaxTextBytes); err != nil {
		return d, err
	}
	if _, err = o.str("details", false, cloudmeter.MaxTextBytes); err != nil {
		return d, err
	}
	if d.Amount, err = o.amount("amount"); err != nil {
		return d, err
	}
	return d, nil
}

func parseItems(at string, raws []json.RawMessage) ([]cloudmeter.PartnerItem, error) {
	out := make([]cloudmeter.PartnerItem, 0, len(raws))
	for i, raw := range raws {
		it, err := parseItem(at+"["+strconv.Itoa(i)+"]", raw)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func parseDiscounts(at string, raws []json.RawMessage) ([]cloudmeter.PartnerDiscount, error) {
	out := make([]cloudmeter.PartnerDiscount, 0, len(raws))
	for i, raw := range raws {
		d, err := parseDiscount(at+"["+strconv.Itoa(i)+"]", raw)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// usageTypes are the types of a usage metric.
var usageTypes = map[string]bool{"total": true, "interval": true, "rate": true}

func parseUsage(at string, raw json.RawMessage) error {
	o, err := decodeObject(at, raw)
	if err != nil {
		return err
	}
	if _, err := o.str("resourceId", false, cloudmeter.MaxNameBytes); err != nil {
		return err
	}
	if _, err := o.str("name", true, cloudmeter.MaxTextBytes); err != nil {
		return err
	}
	typ, err := o.str("type", true, cloudmeter.MaxNameBytes)
	if err != nil {
		return err
	}
	if !usageTypes[typ] {
		return invalid("%s: %q must be one of total, interval, rate", o.name("type"), typ)
	}
	if _, err := o.str("units", true, cloudmeter.MaxNameBytes); err != nil {
		return err
	}
	for _, m := range []string{"dayValue", "periodValue"} {
		if _, _, _, err := o.number(m, true); err != nil {
			return err
		}
	}
	_, _, _, err = o.number("planValue", false)
	return err
}

// Billing is a decoded submission of billing data (POST .../billing).
type Billing struct {
	Submission cloudmeter.BillingSubmission
	Items      []cloudmeter.PartnerItem
	Discounts  []cloudmeter.PartnerDiscount
}

// ParseBilling decodes the body of POST .../billing (seed 001): timestamp, eod, period,
// billing (an array of items, or {items, discounts}) and usage. It checks every member's
// type and form; the rules that need the server's time are the service's.
//
// Errors: KindInvalid naming the member and the rule.
func ParseBilling(body []byte) (Billing, error) {
	var out Billing
	o, err := parseBody(body)
	if err != nil {
		return out, err
	}
	b := &out.Submission
	if b.Timestamp, _, err = o.date("timestamp", true); err != nil {
		return out, err
	}
	if b.EOD, _, err = o.date("eod", true); err != nil {
		return out, err
	}
	if b.PeriodStart, b.PeriodEnd, err = o.period("period"); err != nil {
		return out, err
	}
	raw, ok := o.m["billing"]
	if !ok || isNull(raw) {
		return out, invalid("billing: is required (an array of items, or an object {items, discounts})")
	}
	switch jsonKind(raw) {
	case "an array":
		items, _, err := o.array("billing", true)
		if err != nil {
			return out, err
		}
		if out.Items, err = parseItems("billing", items); err != nil {
			return out, err
		}
	case "an object":
		bo, _, err := o.object("billing", true)
		if err != nil {
			return out, err
		}
		items, _, err := bo.array("items", true)
		if err != nil {
			return out, err
		}
		if out.Items, err = parseItems("billing.items", items); err != nil {
			return out, err
		}
		discounts, _, err := bo.array("discounts", false)
		if err != nil {
			return out, err
		}
		if out.Discounts, err = parseDiscounts("billing.discounts", discounts); err != nil {
			return out, err
		}
	default:
		return out, invalid("billing: must be an array of items or an object {items, discounts}, not %s", jsonKind(raw))
	}
	usage, _, err := o.array("usage", true)
	if err != nil {
		return out, err
	}
	for i, u := range usage {
		if err := parseUsage("usage["+strconv.Itoa(i)+"]", u); err != nil {
			return out, err
		}
	}
	b.Billing, b.UsageJSON, b.Usage = compact(o.m["billing"]), compact(o.m["usage"]), len(usage)
	sum := sha256.Sum256(body)
	b.Digest = hex.EncodeToString(sum[:])
	return out, nil
}

// compact returns raw without insignificant white space; the values themselves, numbers
// and strings included, are kept byte for byte.
func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// Invoice is a decoded invoice (POST .../billing/invoices).
type Invoice struct {
	Invoice    cloudmeter.PartnerInvoice
	Items      []cloudmeter.PartnerItem
	Discounts  []cloudmeter.PartnerDiscount
	TestResult cloudmeter.InvoiceState // paid, notpaid, or "" (pending)
	Validate   bool
}

// ParseInvoice decodes the body of POST .../billing/invoices: externalId, invoiceDate,
// memo?, period, items, discounts?, final?, test? {validate?, result?}.
//
// Errors: KindInvalid naming the member and the rule.
func ParseInvoice(body []byte) (Invoice, error) {
	var out Invoice
	o, err := parseBody(body)
	if err != nil {
		return out, err
	}
	inv := &out.Invoice
	if inv.ExternalID, err = o.str("externalId", true, cloudmeter.MaxNameBytes); err != nil {
		return out, err
	}
	if inv.InvoiceDate, _, err = o.date("invoiceDate", true); err != nil {
		return out, err
	}
	if inv.Memo, err = o.str("memo", false, cloudmeter.MaxTextBytes); err != nil {
		return out, err
	}
	if inv.PeriodStart, inv.PeriodEnd, err = o.period("period"); err != nil {
		return out, err
	}
	items, _, err := o.array("items", true)
	if err != nil {
		return out, err
	}
	if len(items) == 0 {
		return out, invalid("items: must hold at least one item")
	}
	if out.Items, err = parseItems("items", items); err != nil {
		return out, err
	}
	discounts, _, err := o.array("discounts", false)
	if err != nil {
		return out, err
	}
	if out.Discounts, err = parseDiscounts("discounts", discounts); err != nil {
		return out, err
	}
	if inv.Final, err = o.boolean("final"); err != nil {
		return out, err
	}
	test, isTest, err := o.object("test", false)
	if err != nil {
		return out, err
	}
	if isTest {
		inv.Test = true
		if out.Validate, err = test.boolean("validate"); err != nil {
			return out, err
		}
		result, err := test.str("result", false, cloudmeter.MaxNameBytes)
		if err != nil {
			return out, err
		}
		switch result {
		case "", "paid", "notpaid":
			out.TestResult = cloudmeter.InvoiceState(result)
		default:
			return out, invalid("test.result: %q must be paid or notpaid", result)
		}
	}
	inv.Items = compact(o.m["items"])
	inv.Discounts = json.RawMessage("[]")
	if len(discounts) > 0 {
		inv.Discounts = compact(o.m["discounts"])
	}
	return out, nil
}

// ParseRefund decodes the body of POST .../invoices/{invoiceId}/actions: {action:
// "refund", reason, total}.
//
// Errors: KindInvalid naming the member and the rule.
func ParseRefund(body []byte) (cloudmeter.InvoiceRefund, error) {
	var r cloudmeter.InvoiceRefund
	o, err := parseBody(body)
	if err != nil {
		return r, err
	}
	action, err := o.str("action", true, cloudmeter.MaxNameBytes)
	if err != nil {
		return r, err
	}
	if action != "refund" {
		return r, invalid("action: %q is not an action; the one action is refund", action)
	}
	if r.Reason, err = o.str("reason", true, cloudmeter.MaxTextBytes); err != nil {
		return r, err
	}
	if r.Amount, err = o.amount("total"); err != nil {
		return r, err
	}
	return r, nil
}

// ParseBalances decodes the body of POST .../billing/balance: {timestamp, balances:
// [{resourceId?, credit?, nameLabel?, currencyValueInCents}]}.
//
// Errors: KindInvalid naming the member and the rule (an empty body included).
func ParseBalances(body []byte) ([]cloudmeter.PartnerBalance, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid(`request body: empty; send the prepaid balances as {"timestamp": "2026-12-01T12:32:22.517Z", "balances": [{"currencyValueInCents": 1500}]}`)
	}
	o, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	ts, _, err := o.date("timestamp", true)
	if err != nil {
		return nil, err
	}
	raws, _, err := o.array("balances", true)
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, invalid("balances: must hold at least one balance")
	}
	seen := map[string]int{}
	out := make([]cloudmeter.PartnerBalance, 0, len(raws))
	for i, raw := range raws {
		at := "balances[" + strconv.Itoa(i) + "]"
		bo, err := decodeObject(at, raw)
		if err != nil {
			return nil, err
		}
		b := cloudmeter.PartnerBalance{Timestamp: ts}
		if b.ResourceID, err = bo.str("resourceId", false, cloudmeter.MaxNameBytes); err != nil {
			return nil, err
		}
		if j, dup := seen[b.ResourceID]; dup {
			return nil, invalid("%s.resourceId: %q is also the resource of balances[%d]", at, b.ResourceID, j)
		}
		seen[b.ResourceID] = i
		if b.Credit, err = bo.str("credit", false, cloudmeter.MaxTextBytes); err != nil {
			return nil, err
		}
		if b.NameLabel, err = bo.str("nameLabel", false, cloudmeter.MaxTextBytes); err != nil {
			return nil, err
		}
		lit, v, _, err := bo.number("currencyValueInCents", true)
		if err != nil {
			return nil, err
		}
		if !v.IsInt() || !v.Num().IsInt64() {
			return nil, invalid("%s.currencyValueInCents: %s must be a whole number of cents", at, lit)
		}
		b.CurrencyValueInCents = v.Num().Int64()
		out = append(out, b)
	}
	return out, nil
}

// resourceStatuses are the states a partner may report of a resource.
var resourceStatuses = map[string]bool{"ready": true, "pending": true, "onboarding": true, "suspended": true, "resumed": true,
	"uninstalled": true, "error": true}

// notificationLevels are the levels of a resource's notification.
var notificationLevels = map[string]bool{"info": true, "warn": true, "error": true}

// ParseResourceUpdate decodes the body of PATCH .../resources/{resourceId}: status?,
// notification? {level, title, message?, href?}, and any other member, kept as sent.
//
// Errors: KindInvalid naming the member and the rule.
func ParseResourceUpdate(body []byte) (cloudmeter.PartnerResource, error) {
	var r cloudmeter.PartnerResource
	o, err := parseBody(body)
	if err != nil {
		return r, err
	}
	if r.Status, err = o.str("status", false, cloudmeter.MaxNameBytes); err != nil {
		return r, err
	}
	if r.Status != "" && !resourceStatuses[r.Status] {
		return r, invalid("status: %q must be one of ready, pending, onboarding, suspended, resumed, uninstalled, error", r.Status)
	}
	n, hasN, err := o.object("notification", false)
	if err != nil {
		return r, err
	}
	if hasN {
		level, err := n.str("level", true, cloudmeter.MaxNameBytes)
		if err != nil {
			return r, err
		}
		if !notificationLevels[level] {
			return r, invalid("notification.level: %q must be one of info, warn, error", level)
		}
		if _, err := n.str("title", true, cloudmeter.MaxTextBytes); err != nil {
			return r, err
		}
		for _, m := range []string{"message", "href"} {
			if _, err := n.str(m, false, cloudmeter.MaxTextBytes); err != nil {
				return r, err
			}
		}
	}
	r.Body = compact(body)
	return r, nil
}

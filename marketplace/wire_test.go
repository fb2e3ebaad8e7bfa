package marketplace

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cloudmeter/cloudmeter"
)

// sdkBilling is the body of Vercel's SDK submitting billing data as an object
// (wire/vercel-sdk/001).
const sdkBilling = `{"timestamp":"2026-12-01T12:32:22.517Z","eod":"2026-12-02T00:00:00.000Z","period":{"start":"2026-12-01T00:00:00.000Z","end":"2027-01-01T00:00:00.000Z"},"billing":{"items":[{"billingPlanId":"plan_gpu_payg","resourceId":"res_gpu_pool_1","name":"H100 GPU hours","details":"on-demand, us-east","price":"2.49","quantity":12.5,"units":"hour","total":"31.13"},{"billingPlanId":"plan_gpu_payg","resourceId":"res_gpu_pool_1","start":"2026-12-01T00:00:00.000Z","end":"2026-12-02T00:00:00.000Z","name":"Block storage","price":"0.10","quantity":500,"units":"GB-month","total":"50.00"}],"discounts":[{"billingPlanId":"plan_gpu_payg","resourceId":"res_gpu_pool_1","name":"Launch credit","amount":"5.00"}]},"usage":[{"resourceId":"res_gpu_pool_1","name":"GPU hours","type":"interval","units":"hour","dayValue":4.5,"periodValue":12.5},{"resourceId":"res_gpu_pool_1","name":"Storage","type":"total","units":"GB","dayValue":500,"periodValue":500,"planValue":1000},{"name":"API requests/s","type":"rate","units":"req/s","dayValue":3.2,"periodValue":2.9}]}`

func TestParseBillingSDK(t *testing.T) {
	b, err := ParseBilling([]byte(sdkBilling))
	if err != nil {
		t.Fatal(err)
	}
	s := b.Submission
	if cloudmeter.FormatMillis(s.Timestamp) != "2026-12-01T12:32:22.517Z" || cloudmeter.FormatMillis(s.EOD) != "2026-12-02T00:00:00.000Z" {
		t.Errorf("timestamp %s, eod %s", cloudmeter.FormatMillis(s.Timestamp), cloudmeter.FormatMillis(s.EOD))
	}
	if len(b.Items) != 2 || b.Items[0].Price.String() != "2.49" || b.Items[0].Quantity != "12.5" || b.Items[1].Total.String() != "50.00" {
		t.Errorf("items %+v", b.Items)
	}
	if len(b.Discounts) != 1 || b.Discounts[0].Amount.String() != "5.00" || s.Usage != 3 {
		t.Errorf("discounts %+v, usage %d", b.Discounts, s.Usage)
	}
	items, discounts := cloudmeter.SumPartner(b.Items, b.Discounts)
	if items.String() != "81.13" || discounts.String() != "5.00" || items.Sub(discounts).String() != "76.13" {
		t.Errorf("sums %s - %s", items, discounts)
	}
	if a := cloudmeter.CheckItems("billing.items", b.Items, "USD"); len(a) != 0 {
		t.Errorf("2.49 x 12.5 = 31.125 sent as 31.13 was flagged: %v", a)
	}
	var orig map[string]json.RawMessage
	json.Unmarshal([]byte(sdkBilling), &orig)
	if !bytes.Equal(s.Billing, orig["billing"]) || !bytes.Equal(s.UsageJSON, orig["usage"]) {
		t.Errorf("billing or usage not kept byte for byte:\n%s\n%s", s.Billing, s.UsageJSON)
	}
}

// edit returns sdkBilling with one replacement, which must apply.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(sdkBilling, old) {
		t.Fatalf("%q is not in the body", old)
	}
	return strings.Replace(sdkBilling, old, new, 1)
}

func TestParseBillingRefusals(t *testing.T) {
	for _, c := range []struct {
		name, body, field string
	}{
		{"Empty", "", "request body: empty"},
		{"NotJSON", "{", "request body: is not valid JSON"},
		{"Array", "[]", "request body: must be a JSON object"},
		{"MalformedAmount", edit(t, `"price":"2.49"`, `"price":"2,49"`), "billing.items[0].price"},
		{"AmountAsNumber", edit(t, `"total":"31.13"`, `"total":31.13`), "billing.items[0].total: must be a decimal string"},
		{"NegativeAmount", edit(t, `"amount":"5.00"`, `"amount":"-5.00"`), "billing.discounts[0].amount"},
		{"AmountWithExponent", edit(t, `"total":"50.00"`, `"total":"5e1"`), "billing.items[1].total"},
		{"NegativeQuantity", edit(t, `"quantity":500`, `"quantity":-500`), "billing.items[1].quantity: -500 must not be negative"},
		{"NullQuantity", edit(t, `"quantity":12.5`, `"quantity":null`), "billing.items[0].quantity: is null where a number is required"},
		{"QuantityAsString", edit(t, `"quantity":12.5`, `"quantity":"12.5"`), "billing.items[0].quantity: must be a number"},
		{"HugeExponent", edit(t, `"quantity":12.5`, `"quantity":1e999999999`), "billing.items[0].quantity"},
		{"NullDayValue", edit(t, `"dayValue":4.5`, `"dayValue":null`), "usage[0].dayValue: is null"},
		{"NegativePeriodValue", edit(t, `"periodValue":2.9`, `"periodValue":-2.9`), "usage[2].periodValue"},
		{"NullPlanValue", edit(t, `"planValue":1000`, `"planValue":null`), "usage[1].planValue: is null"},
		{"UsageType", edit(t, `"type":"rate"`, `"type":"gauge"`), "usage[2].type"},
		{"PeriodBackwards", edit(t, `"end":"2027-01-01T00:00:00.000Z"`, `"end":"2026-11-01T00:00:00.000Z"`), "period.end: 2026-11-01T00:00:00.000Z must be after period.start"},
		{"BadTimestamp", edit(t, `"timestamp":"2026-12-01T12:32:22.517Z"`, `"timestamp":"yesterday"`), "timestamp: \"yesterday\" is not a date"},
		{"NoEOD", edit(t, `"eod":"2026-12-02T00:00:00.000Z",`, ``), "eod: is required"},
		{"NoUsage", strings.Replace(sdkBilling, `,"usage":[`, `,"usages":[`, 1), "usage: is required"},
		{"BillingString", edit(t, `"billing":{"items"`, `"billing":"x","b":{"items"`), "billing: must be an array of items or an object"},
		{"ItemWithoutName", edit(t, `"name":"H100 GPU hours",`, ``), "billing.items[0].name: is required"},
		{"ItemEndBeforeStart", edit(t, `"end":"2026-12-02T00:00:00.000Z","name":"Block`, `"end":"2026-11-30T00:00:00.000Z","name":"Block`), "billing.items[1].end"},
		{"InvalidUTF8", edit(t, `"units":"hour"`, "\"units\":\"ho\xffur\""), "request body: must be UTF-8"},
		{"ControlCharacter", edit(t, `"units":"hour"`, `"units":"ho\u0000ur"`), "billing.items[0].units: must not contain control characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseBilling([]byte(c.body))
			if cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
				t.Fatalf("error %v, want invalid", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("message %q does not name %q", err.Error(), c.field)
			}
		})
	}
}

func TestParseBillingArray(t *testing.T) {
	body := `{"timestamp":"2026-12-01T12:32:22.517Z","eod":"2026-12-02T00:00:00.000Z","period":{"start":"2026-12-01T00:00:00.000Z","end":"2027-01-01T00:00:00.000Z"},"billing":[{"billingPlanId":"p","name":"n","price":"1","quantity":3,"units":"u","total":"3"}],"usage":[]}`
	b, err := ParseBilling([]byte(body))
	if err != nil || len(b.Items) != 1 || len(b.Discounts) != 0 {
		t.Fatalf("%+v, %v", b, err)
	}
}

func TestParseBalancesEmptyBody(t *testing.T) {
	for _, body := range []string{"", "  \n"} {
		_, err := ParseBalances([]byte(body))
		if cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.Contains(err.Error(), "request body: empty") {
			t.Errorf("%q: %v", body, err)
		}
	}
	if _, err := ParseBalances([]byte(`{"timestamp":"2026-12-01T12:32:22.517Z","balances":[{"currencyValueInCents":1.5}]}`)); err == nil ||
		!strings.Contains(err.Error(), "balances[0].currencyValueInCents") {
		t.Errorf("cents with a fraction: %v", err)
	}
}

// FuzzParseBilling holds the billing parser to its contract on any body: it never
// panics, it refuses with KindInvalid only, and what it accepts has exact amounts that
// print back as sent and a period that ends after it starts.
func FuzzParseBilling(f *testing.F) {
	f.Add([]byte(sdkBilling))
	f.Add([]byte(`{"timestamp":"2026-12-01T12:32:22.517Z","eod":"2026-12-02T00:00:00.000Z","period":{"start":"2026-12-01T00:00:00Z","end":"2027-01-01T00:00:00Z"},"billing":[],"usage":[]}`))
	f.Add([]byte(`{"billing":{"items":[{"quantity":1e40}]}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseBilling(body)
		if err != nil {
			if cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
				t.Fatalf("error of kind %s: %v", cloudmeter.KindOf(err), err)
			}
			return
		}
		if b.Submission.PeriodEnd <= b.Submission.PeriodStart {
			t.Fatalf("accepted a period of %d to %d", b.Submission.PeriodStart, b.Submission.PeriodEnd)
		}
		for _, it := range b.Items {
			if _, err := cloudmeter.ParsePartnerAmount("x", it.Total.String()); err != nil {
				t.Fatalf("accepted total %q: %v", it.Total, err)
			}
			if it.QuantityRat == nil || it.QuantityRat.Sign() < 0 {
				t.Fatalf("accepted quantity %q", it.Quantity)
			}
		}
		if !json.Valid(b.Submission.Billing) || !json.Valid(b.Submission.UsageJSON) {
			t.Fatal("kept billing or usage that is not JSON")
		}
		if !utf8.Valid(b.Submission.Billing) || !utf8.Valid(b.Submission.UsageJSON) || bytes.IndexByte(b.Submission.Billing, 0) >= 0 {
			t.Fatal("kept billing or usage that a database may refuse (invalid UTF-8 or a NUL byte)")
		}
	})
}

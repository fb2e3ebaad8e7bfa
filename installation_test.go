package cloudmeter_test

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
)

// decimalString draws a partner amount: digits, and sometimes a fraction.
func decimalString(t *rapid.T, label string) string {
	s := rapid.StringMatching(`[0-9]{1,20}`).Draw(t, label+" whole")
	if rapid.Bool().Draw(t, label+" has fraction") {
		s += "." + rapid.StringMatching(`[0-9]{1,20}`).Draw(t, label+" fraction")
	}
	return s
}

// TestPartnerAmountExact holds the partner amounts' arithmetic to exact rational
// arithmetic: parsing keeps the text as sent, sums and differences are exact and print
// back to the same value, and a + b - b is a.
func TestPartnerAmountExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sa, sb := decimalString(t, "a"), decimalString(t, "b")
		a, err := cloudmeter.ParsePartnerAmount("a", sa)
		if err != nil {
			t.Fatal(err)
		}
		b, err := cloudmeter.ParsePartnerAmount("b", sb)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() != sa {
			t.Fatalf("%q printed as %q", sa, a.String())
		}
		ra, _ := new(big.Rat).SetString(sa)
		rb, _ := new(big.Rat).SetString(sb)
		sum, diff := a.Add(b), a.Sub(b)
		if sum.Rat().Cmp(new(big.Rat).Add(ra, rb)) != 0 || diff.Rat().Cmp(new(big.Rat).Sub(ra, rb)) != 0 {
			t.Fatalf("%s + %s = %s, %s - %s = %s", sa, sb, sum, sa, sb, diff)
		}
		if back, _ := new(big.Rat).SetString(sum.String()); back.Cmp(sum.Rat()) != 0 {
			t.Fatalf("the sum %s does not print its value", sum)
		}
		if sum.Sub(b).Cmp(a) != 0 {
			t.Fatalf("%s + %s - %s = %s", sa, sb, sb, sum.Sub(b))
		}
		if got, want := a.Cmp(b), ra.Cmp(rb); got != want {
			t.Fatalf("Cmp(%s, %s) = %d, want %d", sa, sb, got, want)
		}
	})
}

func TestParsePartnerAmountRefuses(t *testing.T) {
	for _, s := range []string{"", "-1", "+1", "1.", ".5", "1,5", "1e3", " 1", "1 ", "0x10", "١", strings.Repeat("9", 65)} {
		if _, err := cloudmeter.ParsePartnerAmount("price", s); cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.HasPrefix(err.Error(), "price: ") {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestTotalMatches(t *testing.T) {
	for _, c := range []struct {
		price, quantity, total, currency string
		want                             bool
	}{
		{"2.49", "12.5", "31.13", "USD", true}, // 31.125 rounded half up
		{"2.49", "12.5", "31.12", "USD", true}, // rounded half even, or down
		{"2.49", "12.5", "31.125", "USD", true},
		{"2.49", "12.5", "31.14", "USD", false},
		{"2.49", "12.5", "31.11", "USD", false},
		{"0.10", "500", "50.00", "USD", true},
		{"150", "2.5", "375", "JPY", true},
		{"100", "3", "290", "JPY", false},
		{"0.3333", "3", "0.999", "BHD", true},
		{"0.3333", "3", "1.000", "BHD", true},
		{"0.3333", "3", "1.001", "BHD", false},
	} {
		p, _ := cloudmeter.ParsePartnerAmount("price", c.price)
		tot, _ := cloudmeter.ParsePartnerAmount("total", c.total)
		q, _ := new(big.Rat).SetString(c.quantity)
		if got := cloudmeter.TotalMatches(p, tot, q, c.currency); got != c.want {
			t.Errorf("%s x %s = %s in %s: %v, want %v", c.price, c.quantity, c.total, c.currency, got, c.want)
		}
	}
}

func TestBillingSlots(t *testing.T) {
	ms := func(s string) int64 {
		tt, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt.UnixMilli()
	}
	day := func(s string) int64 {
		tt, _ := time.Parse("2006-01-02", s)
		return tt.Unix()
	}
	for eod, want := range map[string]string{
		"2026-12-02T00:00:00.000Z": "2026-12-01", // the day that ends at midnight
		"2026-12-01T23:59:59.999Z": "2026-12-01",
		"2026-12-01T05:00:00Z":     "2026-12-01", // a partner's day ending at midnight UTC-5
		"2026-12-01T00:00:00.001Z": "2026-12-01",
	} {
		if got := cloudmeter.BillingDay(ms(eod)); got != day(want) {
			t.Errorf("BillingDay(%s) = %s, want %s", eod, cloudmeter.FormatTime(got), want)
		}
	}
	for d, want := range map[string][2]string{
		"2026-12-01": {"2026-11-30", "2026-12-01"}, // a Tuesday
		"2026-11-30": {"2026-11-30", "2026-11-01"}, // a Monday
		"2026-12-06": {"2026-11-30", "2026-12-01"}, // a Sunday
		"2027-01-01": {"2026-12-28", "2027-01-01"},
	} {
		if w, m := cloudmeter.SlotStart(cloudmeter.SlotWeek, day(d)), cloudmeter.SlotStart(cloudmeter.SlotMonth, day(d)); w != day(want[0]) || m != day(want[1]) {
			t.Errorf("%s: week from %s, month from %s; want %v", d, cloudmeter.FormatTime(w), cloudmeter.FormatTime(m), want)
		}
	}
}

func TestCheckPeriod(t *testing.T) {
	const h = 3600 * 1000
	now := int64(1796128500) * 1000 // 2026-12-01T12:35:00Z
	for _, c := range []struct {
		name              string
		start, end, at    int64
		wantField, substr string
	}{
		{"OK", now - 12*h, now + 100*h, now, "", ""},
		{"EndBeforeStart", now, now - h, now, "period.end", "must be after"},
		{"EmptyPeriod", now, now, now, "period.end", "must be after"},
		{"EndOld", now - 100*h, now - 25*h, now - 26*h, "period.end", "more than 24 hours"},
		{"EndJustInside24h", now - 100*h, now - 24*h, now - 24*h, "", ""},
		{"AtBefore", now - 12*h, now + h, now - 13*h, "eod", "inside the period"},
		{"AtAfter", now - 12*h, now + h, now + 2*h, "eod", "inside the period"},
		{"AtOld", now - 100*h, now + h, now - 25*h, "eod", "more than 24 hours"},
	} {
		err := cloudmeter.CheckPeriod("period", c.start, c.end, "eod", c.at, now)
		if c.wantField == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.HasPrefix(err.Error(), c.wantField+":") || !strings.Contains(err.Error(), c.substr) {
			t.Errorf("%s: %v, want %s ... %s", c.name, err, c.wantField, c.substr)
		}
	}
}

// TestInvoiceStateMachine pins the state machine: every state is known, draft is never
// entered, a refund needs a paid invoice, and no state moves back to pending.
func TestInvoiceStateMachine(t *testing.T) {
	states := cloudmeter.InvoiceStates()
	if len(states) != 9 {
		t.Fatalf("%d states", len(states))
	}
	for _, from := range states {
		if cloudmeter.CanMove(from, cloudmeter.InvoiceDraft) || cloudmeter.CanMove(from, cloudmeter.InvoicePending) {
			t.Errorf("%s may move to draft or pending", from)
		}
		refundable := from == cloudmeter.InvoicePaid || from == cloudmeter.InvoiceRefundRequested || from == cloudmeter.InvoiceRefunded
		if cloudmeter.CanMove(from, cloudmeter.InvoiceRefundRequested) != refundable {
			t.Errorf("%s to refund_requested: %v", from, !refundable)
		}
	}
	for _, path := range [][]cloudmeter.InvoiceState{
		{cloudmeter.InvoicePending, cloudmeter.InvoiceScheduled, cloudmeter.InvoiceInvoiced, cloudmeter.InvoiceOverdue, cloudmeter.InvoicePaid,
			cloudmeter.InvoiceRefundRequested, cloudmeter.InvoiceRefunded},
		{cloudmeter.InvoicePending, cloudmeter.InvoiceNotPaid, cloudmeter.InvoicePaid},
	} {
		for i := 1; i < len(path); i++ {
			if !cloudmeter.CanMove(path[i-1], path[i]) {
				t.Errorf("%s may not move to %s", path[i-1], path[i])
			}
		}
	}
	if cloudmeter.CanMove(cloudmeter.InvoiceRefunded, cloudmeter.InvoicePaid) || cloudmeter.CanMove(cloudmeter.InvoicePending, cloudmeter.InvoiceRefunded) {
		t.Error("a refund is undone, or made without a payment")
	}
}

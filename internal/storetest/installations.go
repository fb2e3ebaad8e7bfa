package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/cloudmeter/cloudmeter"
)

// RunInstallations runs the cases of the InstallationStore role: installations by id
// and token hash, latest-wins billing per day, week and month (in any arrival order and
// concurrently), invoices with their unique external ids, refunds up to the total and
// the state machine, balances and resources. open must return a new, empty store each
// time it is called.
func RunInstallations(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"Installations", testInstallations},
		{"BillingLatestWins", testBillingLatestWins},
		{"BillingConcurrentLatestWins", testBillingConcurrent},
		{"Invoices", testInvoices},
		{"InvoiceConcurrentRefunds", testInvoiceConcurrentRefunds},
		{"BalancesAndResources", testBalancesAndResources},
	})
}

func mustPartnerAmount(t *testing.T, s string) cloudmeter.PartnerAmount {
	t.Helper()
	a, err := cloudmeter.ParsePartnerAmount("amount", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func testInstallations(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	a := cloudmeter.Installation{ID: "icfg_a", Partner: "GPU Co", UserID: 7, Currency: "USD", TokenHash: "h-a", CreatedAt: t0}
	b := cloudmeter.Installation{ID: "icfg_b", Partner: "DB Co", UserID: 8, Currency: "EUR", TokenHash: "h-b", CreatedAt: t0 + 1}
	for _, in := range []cloudmeter.Installation{a, b} {
		if err := s.CreateInstallation(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, "same id", s.CreateInstallation(ctx, cloudmeter.Installation{ID: "icfg_a", TokenHash: "h-c"}), cloudmeter.KindConflict)
	wantKind(t, "same token hash", s.CreateInstallation(ctx, cloudmeter.Installation{ID: "icfg_c", TokenHash: "h-a"}), cloudmeter.KindConflict)
	got, err := s.InstallationByTokenHash(ctx, "h-b")
	if err != nil || got != b {
		t.Errorf("InstallationByTokenHash = %+v, %v; want %+v", got, err, b)
	}
	_, err = s.InstallationByTokenHash(ctx, "h-none")
	wantKind(t, "unknown token hash", err, cloudmeter.KindNotFound)
	_, err = s.Installation(ctx, "icfg_none")
	wantKind(t, "unknown id", err, cloudmeter.KindNotFound)
	if cloudmeter.SubjectOf(err) != cloudmeter.SubjectInstallation {
		t.Errorf("unknown id: subject %q", cloudmeter.SubjectOf(err))
	}
	if list, err := s.Installations(ctx, 7); err != nil || len(list) != 1 || list[0] != a {
		t.Errorf("Installations(7) = %+v, %v", list, err)
	}
	if list, err := s.Installations(ctx, 0); err != nil || len(list) != 2 {
		t.Errorf("Installations(0) = %+v, %v", list, err)
	}
	un, err := s.Uninstall(ctx, "icfg_a", t0+100)
	if err != nil || un.UninstalledAt != t0+100 || un.Installed() {
		t.Errorf("Uninstall = %+v, %v", un, err)
	}
	if un, _ := s.Uninstall(ctx, "icfg_a", t0+200); un.UninstalledAt != t0+100 {
		t.Errorf("a second uninstall moved the time to %d", un.UninstalledAt)
	}
	_, err = s.Uninstall(ctx, "icfg_none", t0)
	wantKind(t, "uninstall unknown", err, cloudmeter.KindNotFound)
	if err := s.FinalizeBilling(ctx, "icfg_b", t0+5); err != nil {
		t.Fatal(err)
	}
	s.FinalizeBilling(ctx, "icfg_b", t0+6)
	if got, _ := s.Installation(ctx, "icfg_b"); got.FinalizedAt != t0+5 {
		t.Errorf("FinalizedAt %d, want %d", got.FinalizedAt, t0+5)
	}
}

// day1 is 2026-12-01 (a Tuesday) in milliseconds.
const day1 = int64(1796083200) * 1000

func submission(ts, eod int64, total string) cloudmeter.BillingSubmission {
	digest := fmt.Sprintf("%064x", ts*7919+eod)
	return cloudmeter.BillingSubmission{InstallationID: "icfg_a", Timestamp: ts, EOD: eod, PeriodStart: day1, PeriodEnd: day1 + 31*86400000,
		Day: cloudmeter.BillingDay(eod), ItemsTotal: cloudmeter.ZeroPartnerAmount(), DiscountsTotal: cloudmeter.ZeroPartnerAmount(),
		Billing: json.RawMessage(`[{"total":"` + total + `"}]`), UsageJSON: json.RawMessage(`[]`), Digest: digest, ReceivedAt: ts / 1000}
}

func slotTotals(t *testing.T, s cloudmeter.Store, slot cloudmeter.BillingSlot) map[int64]string {
	t.Helper()
	rows, err := s.Billing(ctxOf(t), "icfg_a", slot, 0, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]string{}
	for _, r := range rows {
		out[r.Start] = string(r.Billing)
	}
	return out
}

func testBillingLatestWins(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	eod1 := day1 + 86400000 // the end of 1 December
	eod2 := eod1 + 86400000 // of 2 December
	steps := []struct {
		b    cloudmeter.BillingSubmission
		want cloudmeter.BillingOutcome
	}{
		{submission(day1+5000, eod1, "5"), cloudmeter.BillingOutcome{Day: true, Week: true, Month: true}},
		{submission(day1+9000, eod1, "9"), cloudmeter.BillingOutcome{Day: true, Week: true, Month: true}},
		// older, arriving later: acknowledged, changes nothing
		{submission(day1+7000, eod1, "7"), cloudmeter.BillingOutcome{}},
		// another day of the same week and month, older than what they hold: its day only
		{submission(day1+8000, eod2, "8"), cloudmeter.BillingOutcome{Day: true}},
		{submission(day1+9500, eod2, "9.5"), cloudmeter.BillingOutcome{Day: true, Week: true, Month: true}},
	}
	for i, st := range steps {
		got, err := s.SubmitBilling(ctx, st.b)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != st.want {
			t.Errorf("step %d: outcome %+v, want %+v", i, got, st.want)
		}
	}
	d1, d2 := cloudmeter.BillingDay(eod1), cloudmeter.BillingDay(eod2)
	if d1 != day1/1000 || d2 != d1+86400 {
		t.Fatalf("BillingDay: %d, %d", d1, d2)
	}
	if got := slotTotals(t, s, cloudmeter.SlotDay); got[d1] != `[{"total":"9"}]` || got[d2] != `[{"total":"9.5"}]` || len(got) != 2 {
		t.Errorf("days: %v", got)
	}
	week := cloudmeter.SlotStart(cloudmeter.SlotWeek, d1) // Monday 30 November
	if week != d1-86400 {
		t.Errorf("week of 1 December starts at %d, want %d", week, d1-86400)
	}
	if got := slotTotals(t, s, cloudmeter.SlotWeek); got[week] != `[{"total":"9.5"}]` || len(got) != 1 {
		t.Errorf("weeks: %v", got)
	}
	if got := slotTotals(t, s, cloudmeter.SlotMonth); got[d1] != `[{"total":"9.5"}]` || len(got) != 1 {
		t.Errorf("months: %v", got)
	}
	// A tie of timestamps is decided by the larger digest, whichever arrives first.
	x, y := submission(day1+20000, eod1, "x"), submission(day1+20000, eod1, "y")
	x.Digest, y.Digest = "1"+x.Digest[1:], "f"+y.Digest[1:]
	if _, err := s.SubmitBilling(ctx, y); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.SubmitBilling(ctx, x); out.Day {
		t.Error("the smaller digest of a tie won the day")
	}
	if got := slotTotals(t, s, cloudmeter.SlotDay); got[d1] != `[{"total":"y"}]` {
		t.Errorf("tie: day holds %s", got[d1])
	}
}

func testBillingConcurrent(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	eod := day1 + 86400000
	const n = 24
	subs := make([]cloudmeter.BillingSubmission, n)
	for i := range subs {
		subs[i] = submission(day1+int64(i)*1000, eod, fmt.Sprint(i))
	}
	rand.New(rand.NewSource(3)).Shuffle(n, func(i, j int) { subs[i], subs[j] = subs[j], subs[i] })
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, b := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.SubmitBilling(ctx, b); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`[{"total":"%d"}]`, n-1)
	for _, slot := range cloudmeter.BillingSlots {
		for start, got := range slotTotals(t, s, slot) {
			if got != want {
				t.Errorf("%s %d holds %s, want the latest %s", slot, start, got, want)
			}
		}
	}
}

func invoice(id, external string, total string) cloudmeter.PartnerInvoice {
	return cloudmeter.PartnerInvoice{ID: id, InstallationID: "icfg_a", ExternalID: external, InvoiceDate: day1 + 1000, PeriodStart: day1,
		PeriodEnd: day1 + 86400000, Items: json.RawMessage(`[{"total":"` + total + `"}]`), Discounts: json.RawMessage(`[]`),
		Total:    func() cloudmeter.PartnerAmount { a, _ := cloudmeter.ParsePartnerAmount("t", total); return a }(),
		Refunded: cloudmeter.ZeroPartnerAmount(), State: cloudmeter.InvoicePending, CreatedAt: t0, UpdatedAt: t0}
}

func testInvoices(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	inv := invoice("inv_1", "ext-1", "76.13")
	if err := s.CreateInvoice(ctx, inv); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "same externalId", s.CreateInvoice(ctx, invoice("inv_2", "ext-1", "1")), cloudmeter.KindConflict)
	other := invoice("inv_3", "ext-1", "1")
	other.InstallationID = "icfg_b"
	if err := s.CreateInvoice(ctx, other); err != nil {
		t.Errorf("the same externalId of another installation: %v", err)
	}
	got, err := s.Invoice(ctx, "icfg_a", "inv_1")
	if err != nil || got.Total.String() != "76.13" || string(got.Items) != `[{"total":"76.13"}]` || got.State != cloudmeter.InvoicePending {
		t.Errorf("Invoice = %+v, %v", got, err)
	}
	_, err = s.Invoice(ctx, "icfg_b", "inv_1")
	wantKind(t, "another installation's invoice", err, cloudmeter.KindNotFound)
	_, err = s.RefundInvoice(ctx, "icfg_a", "inv_1", cloudmeter.InvoiceRefund{Amount: mustPartnerAmount(t, "1"), Reason: "r", At: t0})
	wantKind(t, "refund of a pending invoice", err, cloudmeter.KindConflict)
	_, err = s.SetInvoiceState(ctx, "icfg_a", "inv_1", cloudmeter.InvoiceRefunded, t0)
	wantKind(t, "pending to refunded", err, cloudmeter.KindConflict)
	for _, st := range []cloudmeter.InvoiceState{cloudmeter.InvoiceScheduled, cloudmeter.InvoiceInvoiced, cloudmeter.InvoicePaid} {
		if _, err := s.SetInvoiceState(ctx, "icfg_a", "inv_1", st, t0+1); err != nil {
			t.Fatalf("to %s: %v", st, err)
		}
	}
	got, err = s.RefundInvoice(ctx, "icfg_a", "inv_1", cloudmeter.InvoiceRefund{Amount: mustPartnerAmount(t, "70.1"), Reason: "outage", At: t0 + 2})
	if err != nil || got.Refunded.String() != "70.1" || got.State != cloudmeter.InvoiceRefundRequested {
		t.Errorf("refund = %+v, %v", got, err)
	}
	_, err = s.RefundInvoice(ctx, "icfg_a", "inv_1", cloudmeter.InvoiceRefund{Amount: mustPartnerAmount(t, "6.04"), Reason: "more", At: t0 + 3})
	wantKind(t, "refunds past the total", err, cloudmeter.KindInvalid)
	got, err = s.RefundInvoice(ctx, "icfg_a", "inv_1", cloudmeter.InvoiceRefund{Amount: mustPartnerAmount(t, "6.03"), Reason: "rest", At: t0 + 3})
	if err != nil || got.Refunded.String() != "76.13" {
		t.Errorf("refund of the rest = %+v, %v", got, err)
	}
	if got, _ := s.Invoice(ctx, "icfg_a", "inv_1"); got.Refunded.Cmp(got.Total) != 0 || got.RefundReason != "rest" {
		t.Errorf("stored refunds %s of %s, reason %q", got.Refunded, got.Total, got.RefundReason)
	}
	if list, err := s.Invoices(ctx, "icfg_a"); err != nil || len(list) != 1 {
		t.Errorf("Invoices = %d, %v", len(list), err)
	}
}

func testInvoiceConcurrentRefunds(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	inv := invoice("inv_1", "ext-1", "10")
	inv.State = cloudmeter.InvoicePaid
	if err := s.CreateInvoice(ctx, inv); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.RefundInvoice(ctx, "icfg_a", "inv_1", cloudmeter.InvoiceRefund{Amount: mustPartnerAmount(t, "1.5"), Reason: "r", At: t0})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
			case cloudmeter.KindOf(err) != cloudmeter.KindInvalid:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, _ := s.Invoice(ctx, "icfg_a", "inv_1")
	if accepted != 6 || got.Refunded.String() != "9.0" {
		t.Errorf("%d refunds of 1.5 accepted against a total of 10, refunded %s; want 6 and 9.0", accepted, got.Refunded)
	}
}

func testBalancesAndResources(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	put := func(ts int64, cents int64) {
		t.Helper()
		if err := s.SubmitBalances(ctx, []cloudmeter.PartnerBalance{{InstallationID: "icfg_a", ResourceID: "r1", Timestamp: ts, CurrencyValueInCents: cents, Credit: "c"},
			{InstallationID: "icfg_a", Timestamp: ts, CurrencyValueInCents: cents + 1}}); err != nil {
			t.Fatal(err)
		}
	}
	put(day1+10, 100)
	put(day1+5, 50) // older: kept out
	got, err := s.Balances(ctx, "icfg_a")
	if err != nil || len(got) != 2 || got[0].ResourceID != "" || got[0].CurrencyValueInCents != 101 || got[1].CurrencyValueInCents != 100 {
		t.Errorf("Balances = %+v, %v", got, err)
	}
	for _, st := range []string{"suspended", "resumed"} {
		if err := s.UpdatePartnerResource(ctx, cloudmeter.PartnerResource{InstallationID: "icfg_a", ResourceID: "r1", Status: st,
			Body: json.RawMessage(`{"status":"` + st + `"}`), UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
}

package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
)

// RunCredit runs the cases of the CreditStore role: top-ups added exactly and audited in
// order, settings, refusals, and concurrent top-ups that all count. open must return a
// new, empty store each time it is called.
func RunCredit(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"CreditTopUps", testCreditTopUps},
		{"CreditSettings", testCreditSettings},
		{"CreditRefusals", testCreditRefusals},
		{"CreditConcurrentTopUps", testCreditConcurrentTopUps},
	})
}

func amount(t *testing.T, s string) money.Amount {
	t.Helper()
	a, err := money.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func testCreditTopUps(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	_, err := s.CreditAccount(ctx, 7)
	wantKind(t, "CreditAccount before any top-up", err, cloudmeter.KindNotFound)
	if got, err := s.CreditTopUps(ctx, 7); err != nil || len(got) != 0 {
		t.Errorf("CreditTopUps before any = %v, %v; want none", got, err)
	}

	ups := []cloudmeter.CreditTopUp{
		{OrganizationID: 7, Amount: amount(t, "1000.00"), At: t0, ByKey: "kadmin", ByUser: 1, Note: "prepaid: PO 42"},
		{OrganizationID: 7, Amount: amount(t, "0.00000001"), At: t0 + 10, ByKey: "system", Note: ""},
		{OrganizationID: 8, Amount: amount(t, "5"), At: t0 + 20, ByKey: "kother", ByUser: 2, Note: "é, ü: any text"},
		{OrganizationID: 7, Amount: amount(t, "92233710000.12345678"), At: t0 + 30, ByKey: "kadmin", ByUser: 1},
	}
	var want []cloudmeter.CreditTopUp
	for i, up := range ups {
		got, acc, err := s.TopUp(ctx, up)
		if err != nil {
			t.Fatalf("TopUp %d: %v", i, err)
		}
		if up.OrganizationID == 7 {
			up.Seq = int64(len(want) + 1)
			want = append(want, up)
		} else {
			up.Seq = 1
		}
		if diff := cmp.Diff(up, got); diff != "" {
			t.Errorf("TopUp %d: stored (-want +got):\n%s", i, diff)
		}
		if acc.OrganizationID != up.OrganizationID || acc.TopUps != up.Seq {
			t.Errorf("TopUp %d: account %+v", i, acc)
		}
	}
	acc, err := s.CreditAccount(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	// Exact to the last digit: 1000 + 0.00000001 + 92233710000.12345678.
	wantAcc := cloudmeter.CreditAccount{OrganizationID: 7, Balance: amount(t, "92233711000.12345679"), TopUps: 3, FirstTopUpAt: t0}
	if diff := cmp.Diff(wantAcc, acc); diff != "" {
		t.Errorf("CreditAccount(7) (-want +got):\n%s", diff)
	}
	got, err := s.CreditTopUps(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CreditTopUps(7) (-want +got):\n%s", diff)
	}
	if acc8, err := s.CreditAccount(ctx, 8); err != nil || acc8.Balance != amount(t, "5") || acc8.FirstTopUpAt != t0+20 {
		t.Errorf("CreditAccount(8) = %+v, %v", acc8, err)
	}
}

func testCreditSettings(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	// Settings before any top-up open the account.
	acc, err := s.SetCreditSettings(ctx, 7, cloudmeter.CreditSettings{Threshold: amount(t, "50.5"), SpendFrom: t0 - 86400, At: t0, By: "kadmin"})
	if err != nil {
		t.Fatal(err)
	}
	want := cloudmeter.CreditAccount{OrganizationID: 7, Threshold: amount(t, "50.5"), SpendFrom: t0 - 86400, SettingsAt: t0, SettingsBy: "kadmin"}
	if diff := cmp.Diff(want, acc); diff != "" {
		t.Errorf("SetCreditSettings (-want +got):\n%s", diff)
	}
	// A top-up keeps the settings; the settings keep the balance.
	if _, _, err := s.TopUp(ctx, cloudmeter.CreditTopUp{OrganizationID: 7, Amount: amount(t, "10"), At: t0 + 5, ByKey: "kadmin"}); err != nil {
		t.Fatal(err)
	}
	acc, err = s.SetCreditSettings(ctx, 7, cloudmeter.CreditSettings{Threshold: 0, SpendFrom: 0, At: t0 + 6, By: "system"})
	if err != nil {
		t.Fatal(err)
	}
	want = cloudmeter.CreditAccount{OrganizationID: 7, Balance: amount(t, "10"), TopUps: 1, FirstTopUpAt: t0 + 5, SettingsAt: t0 + 6, SettingsBy: "system"}
	if diff := cmp.Diff(want, acc); diff != "" {
		t.Errorf("account after a top-up and new settings (-want +got):\n%s", diff)
	}
	if got, err := s.CreditAccount(ctx, 7); err != nil || got != want {
		t.Errorf("CreditAccount(7) = %+v, %v; want %+v", got, err, want)
	}
}

func testCreditRefusals(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	for _, a := range []money.Amount{0, -1} {
		_, _, err := s.TopUp(ctx, cloudmeter.CreditTopUp{OrganizationID: 7, Amount: a, At: t0, ByKey: "kadmin"})
		wantKind(t, fmt.Sprintf("TopUp of %s", a), err, cloudmeter.KindInvalid)
	}
	largest := money.Amount(1<<63 - 1)
	if _, _, err := s.TopUp(ctx, cloudmeter.CreditTopUp{OrganizationID: 7, Amount: largest, At: t0, ByKey: "kadmin"}); err != nil {
		t.Fatalf("TopUp of the largest amount: %v", err)
	}
	_, _, err := s.TopUp(ctx, cloudmeter.CreditTopUp{OrganizationID: 7, Amount: 1, At: t0 + 1, ByKey: "kadmin"})
	wantKind(t, "TopUp past the largest balance", err, cloudmeter.KindInvalid)
	// Nothing of the refused top-up is kept.
	acc, err := s.CreditAccount(ctx, 7)
	if err != nil || acc.Balance != largest || acc.TopUps != 1 {
		t.Errorf("account after a refused top-up: %+v, %v", acc, err)
	}
	if ups, err := s.CreditTopUps(ctx, 7); err != nil || len(ups) != 1 {
		t.Errorf("audit after a refused top-up: %d entries, %v; want 1", len(ups), err)
	}
	_, err = s.CreditAccount(ctx, 8)
	wantKind(t, "CreditAccount of an organization never topped up", err, cloudmeter.KindNotFound)
}

// testCreditConcurrentTopUps: top-ups of one organization made at once are all kept,
// each with its own seq, and the balance is their exact sum.
func testCreditConcurrentTopUps(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, _, err := s.TopUp(ctx, cloudmeter.CreditTopUp{OrganizationID: 7, Amount: money.Amount(w*each + i + 1), At: t0 + int64(i),
					ByKey: fmt.Sprintf("k%d", w)})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("TopUp: %v", err)
	}
	n := writers * each
	acc, err := s.CreditAccount(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := money.Amount(n * (n + 1) / 2); acc.Balance != want || acc.TopUps != int64(n) {
		t.Errorf("account %+v; want balance %s over %d top-ups", acc, want, n)
	}
	ups, err := s.CreditTopUps(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	var sum money.Amount
	for i, up := range ups {
		if up.Seq != int64(i+1) {
			t.Errorf("top-up %d has seq %d", i, up.Seq)
		}
		sum += up.Amount
	}
	if len(ups) != n || sum != acc.Balance {
		t.Errorf("audit: %d entries summing to %s; want %d summing to %s", len(ups), sum, n, acc.Balance)
	}
}

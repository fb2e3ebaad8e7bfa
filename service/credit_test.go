package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

// creditEnv is a service on a SQLite store with a clock the test moves.
type creditEnv struct {
	svc *service.Service
	now atomic.Int64
}

func newCreditEnv(t *testing.T, start int64) *creditEnv {
	t.Helper()
	return newCreditEnvWith(t, start, service.Limits{})
}

func newCreditEnvWith(t *testing.T, start int64, limits service.Limits) *creditEnv {
	t.Helper()
	ctx := context.Background()
	st, err := storeopen.Open(ctx, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &creditEnv{}
	e.now.Store(start)
	e.svc = service.New(st, service.Options{Now: func() time.Time { return time.Unix(e.now.Load(), 0) }, Limits: limits})
	if _, err := e.svc.PutPrices(ctx, service.SystemKey, []byte(`{"currency": "GBP", "entries": [
		{"resource_type": "instance", "price": "0.36", "unit": "item", "period_seconds": 3600},
		{"resource_type": "instance", "user_id": 8, "price": "0.72", "unit": "item", "period_seconds": 3600}]}`)); err != nil {
		t.Fatal(err)
	}
	return e
}

// provision provisions an instance of user at t (unix seconds).
func (e *creditEnv) provision(t *testing.T, product, user, at int64) {
	t.Helper()
	body := fmt.Sprintf(`{"specversion":"1.0","id":"p-%d","source":"test/credit","type":"cloudmeter.resource.provisioned","time":%q,
		"data":{"product_id":%d,"resource_type":"instance","user_id":%d,"infrastructure_id":1,"infrastructure_label":"i","datacenter":"dc",
		"label":"vm","subdomain":"vm.i","attributes":{}}}`, product, cloudmeter.FormatTime(at), product, user)
	events, err := ledger.DecodeBatch("application/cloudevents+json", []byte(body), ledger.Limits{MaxEvents: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Ingest(context.Background(), service.SystemKey, events); err != nil {
		t.Fatal(err)
	}
}

func mustAmount(t *testing.T, s string) money.Amount {
	t.Helper()
	a, err := money.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// reportTotal is the sum of the native reports of users over [from, now].
func (e *creditEnv) reportTotal(t *testing.T, from int64, users ...int64) money.Amount {
	t.Helper()
	var sum money.Amount
	for _, u := range users {
		r, err := e.svc.Utilization(context.Background(), service.SystemKey, service.ReportRequest{UserID: u, Start: from, End: e.now.Load()})
		if err != nil {
			t.Fatal(err)
		}
		sum += r.Total
	}
	return sum
}

// TestCreditSpendsFromTheFirstTopUp: without a spend start, usage is charged from the
// second of the first top-up; the credit is the balance less the native reports' total
// over [first top-up, now] to the last digit, at every now; a user put in the
// organization brings its usage; the threshold decides can_create_instance.
func TestCreditSpendsFromTheFirstTopUp(t *testing.T) {
	ctx := context.Background()
	const t0 = 1767225600 // 2026-01-01T00:00:00Z
	e := newCreditEnv(t, t0)
	e.provision(t, 1, 7, t0-86400) // a day before: not charged
	e.provision(t, 2, 8, t0-3600)
	customer, _, err := e.svc.CreateKey(ctx, service.SystemKey, 7, nil, "customer")
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.svc.AuthenticateKey(ctx, customer)
	if err != nil {
		t.Fatal(err)
	}

	v, err := e.svc.Credit(ctx, key, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if v.Prepaid || v.Credit != 0 || v.Spend != 0 || v.SpendFrom != 0 || !v.CanCreateInstance || v.OrganizationID != 7 {
		t.Errorf("credit of an organization never topped up: %+v; want not prepaid, 0, can create", v)
	}

	e.now.Store(t0 + 100)
	up, v, err := e.svc.TopUpCredit(ctx, service.SystemKey, 7, mustAmount(t, "100.00"), "first")
	if err != nil {
		t.Fatal(err)
	}
	if up.Seq != 1 || up.At != t0+100 || up.ByKey != "system" || v.SpendFrom != t0+100 || len(v.TopUps) != 1 {
		t.Errorf("top-up %+v, credit %+v", up, v)
	}
	for _, dt := range []int64{0, 1, 3599, 86400 * 3} {
		e.now.Store(t0 + 100 + dt)
		v, err := e.svc.Credit(ctx, key, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		want := e.reportTotal(t, t0+100, 7)
		if v.Spend != want || v.Credit != mustAmount(t, "100")-want {
			t.Errorf("after %d s: spend %s, credit %s; want the report's %s and 100 - it", dt, v.Spend, v.Credit, want)
		}
		// 0.36 an hour is 0.0001 a second, and the second of the top-up is charged.
		if got := money.Amount(dt+1) * 10000; v.Spend != got {
			t.Errorf("after %d s: spend %s, want %s", dt, v.Spend, got)
		}
	}

	// User 8 joins: its usage since the spend start is the organization's too.
	if _, err := e.svc.SetOrganization(ctx, service.SystemKey, 8, 7); err != nil {
		t.Fatal(err)
	}
	v, err = e.svc.Credit(ctx, key, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	want := e.reportTotal(t, t0+100, 7, 8)
	// 3 days and a second at 0.36 and at 0.72 an hour: 25.9201 + 51.8402.
	if v.Spend != want || want != mustAmount(t, "77.7603") || v.Credit != mustAmount(t, "22.2397") || !v.CanCreateInstance {
		t.Errorf("with user 8: %+v; want spend %s = 77.7603", v, want)
	}

	// The threshold: can_create_instance is false once the credit is below it.
	if v, err = e.svc.SetCreditSettings(ctx, service.SystemKey, 7, mustAmount(t, "22.2397"), 0); err != nil || !v.CanCreateInstance {
		t.Errorf("credit at the threshold: %+v, %v; want can create", v, err)
	}
	e.now.Add(1)
	if v, err = e.svc.Credit(ctx, key, 0, true); err != nil || v.CanCreateInstance || v.Credit != mustAmount(t, "22.2394") || len(v.TopUps) != 1 {
		t.Errorf("credit below the threshold: %+v, %v; want 22.2394 and no instance", v, err)
	}

	// A spend start set before the first top-up charges the usage since then.
	if v, err = e.svc.SetCreditSettings(ctx, service.SystemKey, 7, 0, t0); err != nil || v.SpendFrom != t0 || v.Spend != e.reportTotal(t, t0, 7, 8) {
		t.Errorf("spend from %d: %+v, %v", t0, v, err)
	}

	// Refusals.
	if _, _, err := e.svc.TopUpCredit(ctx, key, 7, 1, ""); cloudmeter.KindOf(err) != cloudmeter.KindForbidden {
		t.Errorf("top-up by a customer: %v, want forbidden", err)
	}
	if _, _, err := e.svc.TopUpCredit(ctx, service.SystemKey, 424242, 1, ""); cloudmeter.KindOf(err) != cloudmeter.KindNotFound {
		t.Errorf("top-up of an unknown organization: %v, want not found", err)
	}
	if _, _, err := e.svc.TopUpCredit(ctx, service.SystemKey, 8, 1, ""); cloudmeter.KindOf(err) != cloudmeter.KindNotFound {
		t.Errorf("top-up of organization 8, whose user is in 7: %v, want not found", err)
	}
	for _, a := range []money.Amount{0, -1} {
		if _, _, err := e.svc.TopUpCredit(ctx, service.SystemKey, 7, a, ""); cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
			t.Errorf("top-up of %s: %v, want invalid", a, err)
		}
	}
	if _, err := e.svc.SetCreditSettings(ctx, service.SystemKey, 7, -1, 0); cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
		t.Errorf("negative threshold: %v, want invalid", err)
	}
	if _, err := e.svc.Credit(ctx, key, 8, false); cloudmeter.KindOf(err) != cloudmeter.KindForbidden {
		t.Errorf("a customer reading another organization's credit: %v, want forbidden", err)
	}
}

// TestCreditSpendIsBounded: the spend reads at most the report record limit over the
// whole organization, and so does the organization's Hyperstack usage: past it, both are
// refused as too large, naming the limit, whichever users hold the records.
func TestCreditSpendIsBounded(t *testing.T) {
	ctx := context.Background()
	const t0 = 1767225600
	e := newCreditEnvWith(t, t0, service.Limits{MaxReportRecords: 3})
	e.provision(t, 1, 7, t0-86400)
	e.provision(t, 2, 7, t0-86400)
	e.provision(t, 3, 8, t0-86400)
	if _, err := e.svc.SetOrganization(ctx, service.SystemKey, 8, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetCreditSettings(ctx, service.SystemKey, 7, 0, t0-86400); err != nil {
		t.Fatal(err)
	}
	if v, err := e.svc.Credit(ctx, service.SystemKey, 7, false); err != nil || v.Spend != 86401*10000*2+86401*20000 {
		t.Fatalf("three records: %+v, %v; want a day and a second of three instances (user 8 at 0.72 an hour)", v, err)
	}
	e.provision(t, 4, 8, t0-86400)
	_, err := e.svc.Credit(ctx, service.SystemKey, 7, false)
	if cloudmeter.KindOf(err) != cloudmeter.KindTooLarge || !strings.Contains(cloudmeter.MessageOf(err), "--max-report-records") {
		t.Errorf("four records over a limit of three: %v; want too large, naming --max-report-records", err)
	}
	key, err := e.svc.AuthenticateKey(ctx, mustKey(t, e, 7))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Usage(ctx, key, service.UsageQuery{Types: []cloudmeter.ResourceType{cloudmeter.ResourceInstance}, Unbounded: true})
	if cloudmeter.KindOf(err) != cloudmeter.KindTooLarge {
		t.Errorf("the organization's usage of four records over a limit of three: %v; want too large", err)
	}
	// A later spend start reads fewer records: here, none.
	if v, err := e.svc.SetCreditSettings(ctx, service.SystemKey, 7, 0, t0+1); err != nil || v.Spend != 0 {
		t.Errorf("spend from after now: %+v, %v", v, err)
	}
}

func mustKey(t *testing.T, e *creditEnv, user int64) string {
	t.Helper()
	plain, _, err := e.svc.CreateKey(context.Background(), service.SystemKey, user, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

// setOrganization puts user in org through the native API, as the admin.
func setOrganization(t *testing.T, e *hsEnv, user, org int64) {
	t.Helper()
	r := e.Do(t, http.MethodPut, fmt.Sprintf("/api/v1/users/%d/organization", user), e.AdminKey, "application/json",
		[]byte(fmt.Sprintf(`{"organization_id": %d}`, org)))
	e2etest.MustStatus(t, r, http.StatusOK, "PUT organization")
	if got := numberOf(t, r.Object(t)["organization_id"]); got != org {
		t.Fatalf("PUT organization: %s", r.Body)
	}
}

// usageIDs returns the resource ids of a Hyperstack usage answer, with their organization.
func usageIDs(t *testing.T, e *hsEnv, key, query string) map[int64]int64 {
	t.Helper()
	r := hsGet(t, e.Server, key, "/v1/billing/billing/usage"+query)
	checkHyperstackAnswer(t, "/v1/billing/billing/usage"+query, r)
	out := map[int64]int64{}
	for _, item := range dig(t, hsObject(t, r, "usage"), "data").([]any) {
		out[numberOf(t, dig(t, item, "resource_id"))] = numberOf(t, dig(t, item, "organization_id"))
	}
	return out
}

// nativeTotal is the total_cost of a user's native utilization report over [from, to].
func nativeTotal(t *testing.T, e *hsEnv, user int64, from, to string) *big.Rat {
	t.Helper()
	r := e.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/users/%d/utilization?from=%s&to=%s", user, from, to), e.AdminKey, "", nil)
	e2etest.MustStatus(t, r, http.StatusOK, "native utilization")
	return decimal(t, r.Object(t)["total_cost"])
}

// orgBill is the incurred bill of one organization in a history answer.
func orgBill(t *testing.T, body map[string]any, org int64) *big.Rat {
	t.Helper()
	for _, item := range dig(t, body, "billing_history", "billing_history").([]any) {
		if str(dig(t, item, "attributes", "id")) == fmt.Sprint(org) {
			return decimal(t, dig(t, item, "metrics", "incurred_bill"))
		}
	}
	t.Fatalf("no organization %d in the history", org)
	return nil
}

// TestHyperstackOrganizations: a user put in another organization brings its resources
// into what the organization's customer keys see in the Hyperstack API (usage, details,
// the organization's bill), and takes them back when put back; the reports of one user
// (native, MetalSoft) stay per user; only an admin may set an organization.
func TestHyperstackOrganizations(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startHyperstack(t, eng)
		own := map[int64]int64{4242: 7, 4243: 7, 4300: 7, 777: 7, 778: 7}
		if got := usageIDs(t, e, e.Customer, ""); !mapsEqual(got, own) {
			t.Fatalf("organization 7 before: %v, want %v", got, own)
		}
		before := hsObject(t, hsGet(t, e.Server, e.AdminKey, "/v1/billing/billing/history?"+hsQuery), "history")
		bill := new(big.Rat).Add(orgBill(t, before, 7), orgBill(t, before, 8))
		native7 := nativeTotal(t, e, 7, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z")
		e2etest.MustStatus(t, hsGet(t, e.Server, e.Customer, hsVMPath+"/5000?"+hsQuery), 404, "user 8's VM before")

		setOrganization(t, e, 8, 7)
		joined := map[int64]int64{4242: 7, 4243: 7, 4300: 7, 777: 7, 778: 7, 5000: 7}
		for name, key := range map[string]string{"user 7's key": e.Customer, "user 8's key": e.Other} {
			if got := usageIDs(t, e, key, ""); !mapsEqual(got, joined) {
				t.Errorf("%s after user 8 joined organization 7: %v, want %v", name, got, joined)
			}
		}
		r := hsGet(t, e.Server, e.Customer, hsVMPath+"/5000?"+hsQuery)
		checkHyperstackAnswer(t, hsVMPath+"/5000", r)
		if org := numberOf(t, dig(t, hsObject(t, r, "VM 5000"), "billing_history_vm_details", "org_id")); org != 7 {
			t.Errorf("VM 5000's org_id %d, want 7", org)
		}
		after := hsObject(t, hsGet(t, e.Server, e.Customer, "/v1/billing/billing/history?"+hsQuery), "history")
		if got := orgBill(t, after, 7); got.Cmp(bill) != 0 {
			t.Errorf("organization 7's bill with user 8: %s, want organizations 7 and 8's before, %s", fixed8(got), fixed8(bill))
		}
		// Organization 8 has no user left.
		e2etest.MustStatus(t, hsGet(t, e.Server, e.AdminKey, "/v1/billing/billing/usage?organization_id=8"), 404, "organization 8, empty")

		// One user's reports stay that user's.
		if got := nativeTotal(t, e, 7, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z"); got.Cmp(native7) != 0 {
			t.Errorf("user 7's native report: %s, was %s", fixed8(got), fixed8(native7))
		}
		res := rpcResult(t, e.RPC(t, e.Customer, detailed(hsOrg, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z")))
		for _, types := range res["detailed_report"].(map[string]any) {
			for _, list := range types.(map[string]any) {
				for _, rec := range list.([]any) {
					if id := numberOf(t, dig(t, rec, "product_id")); id == 5000 {
						t.Errorf("user 7's MetalSoft report holds user 8's VM 5000")
					}
				}
			}
		}
		r = e.RPC(t, e.Customer, detailed(hsOtherOrg, "2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z"))
		if !bytes.Contains(r.Body, []byte(`"code":71`)) {
			t.Errorf("user 7's key reading user 8's MetalSoft report (one organization, another user): %s, want code 71", r.Body)
		}

		// Only an admin sets an organization; bad input is refused in the native shape.
		for _, c := range []struct {
			key, path, body string
			status          int
			code            string
		}{
			{e.Customer, "/api/v1/users/8/organization", `{"organization_id": 8}`, 403, "forbidden"},
			{e.Other, "/api/v1/users/8/organization", `{"organization_id": 8}`, 403, "forbidden"},
			{e.AdminKey, "/api/v1/users/8/organization", `{"organization_id": -8}`, 400, "bad_request"},
			{e.AdminKey, "/api/v1/users/8/organization", `{"organization_id": 8.5}`, 400, "bad_request"},
			{e.AdminKey, "/api/v1/users/8/organization", `{"organization": 8}`, 400, "bad_request"},
			{e.AdminKey, "/api/v1/users/0/organization", `{"organization_id": 8}`, 400, "bad_request"},
			{e.AdminKey, "/api/v1/users/424242/organization", `{"organization_id": 8}`, 404, "not_found"},
		} {
			r := e.Do(t, http.MethodPut, c.path, c.key, "application/json", []byte(c.body))
			if r.Status != c.status || str(dig(t, r.Object(t), "error", "code")) != c.code {
				t.Errorf("PUT %s %s: %d %s; want %d %s", c.path, c.body, r.Status, r.Body, c.status, c.code)
			}
		}

		// Back in its own organization.
		setOrganization(t, e, 8, 8)
		if got := usageIDs(t, e, e.Customer, ""); !mapsEqual(got, own) {
			t.Errorf("organization 7 after user 8 left: %v, want %v", got, own)
		}
		if got := usageIDs(t, e, e.Other, ""); !mapsEqual(got, map[int64]int64{5000: 8}) {
			t.Errorf("organization 8 after user 8 came back: %v", got)
		}
	})
}

func mapsEqual(a, b map[int64]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// hsCredit reads the Hyperstack credit answer of key (strictly decoded).
func hsCredit(t *testing.T, e *hsEnv, key, query string) (*e2etest.Response, map[string]any) {
	t.Helper()
	r := hsGet(t, e.Server, key, "/v1/billing/user-credit/credit"+query)
	checkHyperstackAnswer(t, "/v1/billing/user-credit/credit"+query, r)
	return r, dig(t, hsObject(t, r, "credit"), "data").(map[string]any)
}

// topUp posts a top-up as key and returns the answer.
func topUp(t *testing.T, e *hsEnv, key string, org int64, body string) *e2etest.Response {
	t.Helper()
	return e.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/organizations/%d/credit", org), key, "application/json", []byte(body))
}

// TestHyperstackCredit: an organization's prepaid credit is its top-ups less its users'
// usage since its spend start, to the last digit the native reports' total of the same
// users and window; the Hyperstack answer is pinned and strictly decoded; the threshold
// decides can_create_instance; the command line tops up and shows; bad input is refused
// in each API's shape.
func TestHyperstackCredit(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startHyperstack(t, eng)
		setOrganization(t, e, 8, 7)

		// The first top-up opens the account; the data set's usage all lies before it.
		r := topUp(t, e, e.AdminKey, 7, `{"amount": "2000.00", "note": "prepaid, PO 4711"}`)
		e2etest.MustStatus(t, r, http.StatusCreated, "top-up")
		c := dig(t, r.Object(t), "credit").(map[string]any)
		if c["spend_from_source"] != "first_top_up" || str(c["credit"]) != "2000.00000000" || str(c["spend"]) != "0.00000000" {
			t.Errorf("after the first top-up: %s", r.Body)
		}
		if _, data := hsCredit(t, e, e.Customer, ""); str(data["credit"]) != "2000.00000000" || data["can_create_instance"] != true {
			t.Errorf("Hyperstack credit after the first top-up: %v", data)
		}

		// A second top-up, and a spend start before the data set: its usage is charged.
		e2etest.MustStatus(t, topUp(t, e, e.AdminKey, 7, `{"amount": "0.12345678"}`), http.StatusCreated, "second top-up")
		const from = "2026-10-01T00:00:00Z"
		r = e.Do(t, http.MethodPut, "/api/v1/organizations/7/credit/settings", e.AdminKey, "application/json",
			[]byte(`{"threshold": "50.00", "spend_from": "`+from+`"}`))
		e2etest.MustStatus(t, r, http.StatusOK, "credit settings")

		to := time.Now().UTC().Format(time.RFC3339)
		cost := new(big.Rat).Add(nativeTotal(t, e, 7, from, to), nativeTotal(t, e, 8, from, to))
		want := new(big.Rat).Sub(decimal(t, "2000.12345678"), cost)
		for name, key := range map[string]string{"user 7's key": e.Customer, "user 8's key": e.Other} {
			resp, data := hsCredit(t, e, key, "")
			if got := decimal(t, data["credit"]); got.Cmp(want) != 0 || str(data["credit"]) != fixed8(want) {
				t.Errorf("%s: credit %s, want 2000.12345678 - the native reports' %s = %s", name, str(data["credit"]), fixed8(cost), fixed8(want))
			}
			if str(data["threshold"]) != "50.00000000" || data["can_create_instance"] != true {
				t.Errorf("%s: %s", name, resp.Body)
			}
			testutil.Golden(t, filepath.Join("testdata", "hyperstack", "credit_funded.golden"), resp.Body)
		}
		// The native view says the same, with the audit.
		r = e.Do(t, http.MethodGet, "/api/v1/organizations/7/credit", e.Customer, "", nil)
		e2etest.MustStatus(t, r, http.StatusOK, "native credit")
		native := r.Object(t)
		if str(native["spend"]) != fixed8(cost) || str(native["credit"]) != fixed8(want) || str(native["balance"]) != "2000.12345678" ||
			native["spend_from"] != from || native["spend_from_source"] != "setting" {
			t.Errorf("native credit: %s; want spend %s", r.Body, fixed8(cost))
		}
		ups := native["top_ups"].([]any)
		if len(ups) != 2 || str(dig(t, ups[0], "amount")) != "2000.00000000" || dig(t, ups[0], "note") != "prepaid, PO 4711" ||
			numberOf(t, dig(t, ups[0], "by_user")) != 1 || str(dig(t, ups[1], "amount")) != "0.12345678" || numberOf(t, dig(t, ups[1], "seq")) != 2 {
			t.Errorf("audit: %v", ups)
		}
		if u := native["users"].([]any); len(u) != 2 || numberOf(t, u[0]) != 7 || numberOf(t, u[1]) != 8 {
			t.Errorf("users %v, want 7 and 8", u)
		}

		// Above the threshold... then below it.
		r = e.Do(t, http.MethodPut, "/api/v1/organizations/7/credit/settings", e.AdminKey, "application/json",
			[]byte(`{"threshold": "100000", "spend_from": "`+from+`"}`))
		e2etest.MustStatus(t, r, http.StatusOK, "credit settings")
		resp, data := hsCredit(t, e, e.Customer, "")
		if data["can_create_instance"] != false || str(data["credit"]) != fixed8(want) {
			t.Errorf("credit below the threshold: %s", resp.Body)
		}
		testutil.Golden(t, filepath.Join("testdata", "hyperstack", "credit_below_threshold.golden"), resp.Body)
		// A key with utilization_reports_read reads any organization's.
		reader := e.CreateKey(t, 2, "utilization_reports_read")
		if _, d := hsCredit(t, e, reader, "?organization_id=7"); str(d["credit"]) != fixed8(want) {
			t.Errorf("organization 7's credit read by a reporting key: %v", d)
		}

		// The command line tops up and shows, as the system caller.
		out := runCLI(t, e, "credit", "top-up", "--organization", "7", "--amount", "1.5", "--note", "from the CLI")
		if !strings.Contains(out, "topped up organization 7 with 1.50000000 (top-up 3)") {
			t.Errorf("credit top-up printed:\n%s", out)
		}
		out = runCLI(t, e, "credit", "show", "--organization", "7")
		if !strings.Contains(out, "2001.62345678") || !strings.Contains(out, "from the CLI") || !strings.Contains(out, "system") {
			t.Errorf("credit show printed:\n%s", out)
		}
		out = runCLI(t, e, "users", "show", "--user", "8")
		if !strings.Contains(out, "user 8 is in organization 7 (users: 7, 8)") {
			t.Errorf("users show printed:\n%s", out)
		}

		// Bad input: the native shape, or Hyperstack's.
		for _, c := range []struct {
			key  string
			org  int64
			body string
			want int
		}{
			{e.AdminKey, 7, `{"amount": "-5"}`, 400},
			{e.AdminKey, 7, `{"amount": "-0.00000001"}`, 400},
			{e.AdminKey, 7, `{"amount": "0"}`, 400},
			{e.AdminKey, 7, `{"amount": "abc"}`, 400},
			{e.AdminKey, 7, `{"amount": "1,5"}`, 400},
			{e.AdminKey, 7, `{"amount": " 5"}`, 400},
			{e.AdminKey, 7, `{"amount": "5.123456789"}`, 400},
			{e.AdminKey, 7, `{"amount": "100000000000"}`, 400},
			{e.AdminKey, 7, `{"amount": 5}`, 400},
			{e.AdminKey, 7, `{"amount": null}`, 400},
			{e.AdminKey, 7, `{"amount": "5", "currency": "GBP"}`, 400},
			{e.AdminKey, 7, `{"amount": "5", "note": "a\u0000b"}`, 400},
			{e.AdminKey, 7, `not json`, 400},
			{e.AdminKey, 424242, `{"amount": "5"}`, 404},
			{e.AdminKey, 8, `{"amount": "5"}`, 404}, // user 8 is in organization 7
			{e.Customer, 7, `{"amount": "5"}`, 403},
			{reader, 7, `{"amount": "5"}`, 403},
			{"", 7, `{"amount": "5"}`, 401},
		} {
			r := topUp(t, e, c.key, c.org, c.body)
			if r.Status != c.want {
				t.Errorf("top-up of organization %d with %s: %d, want %d: %s", c.org, c.body, r.Status, c.want, r.Body)
				continue
			}
			if m := r.Object(t); dig(t, m, "error", "code") == nil || str(dig(t, m, "error", "message")) == "" {
				t.Errorf("top-up of organization %d with %s: not the native error shape: %s", c.org, c.body, r.Body)
			}
		}
		for _, c := range []struct {
			key, body string
			want      int
		}{
			{e.AdminKey, `{"threshold": "-1"}`, 400},
			{e.AdminKey, `{"threshold": "x"}`, 400},
			{e.AdminKey, `{"threshold": 5}`, 400},
			{e.AdminKey, `{}`, 400},
			{e.AdminKey, `{"threshold": "1", "spend_from": "2026-10-01"}`, 400},
			{e.Customer, `{"threshold": "0"}`, 403},
		} {
			r := e.Do(t, http.MethodPut, "/api/v1/organizations/7/credit/settings", c.key, "application/json", []byte(c.body))
			if r.Status != c.want || dig(t, r.Object(t), "error", "code") == nil {
				t.Errorf("settings %s: %d, want %d: %s", c.body, r.Status, c.want, r.Body)
			}
		}
		// Nothing refused was kept: three top-ups.
		r = e.Do(t, http.MethodGet, "/api/v1/organizations/7/credit", e.AdminKey, "", nil)
		if m := hsObject(t, r, "native credit"); len(m["top_ups"].([]any)) != 3 || str(m["balance"]) != "2001.62345678" {
			t.Errorf("after the refusals: %s", r.Body)
		}
		e2etest.MustStatus(t, e.Do(t, http.MethodGet, "/api/v1/organizations/8/credit", e.Other, "", nil), http.StatusForbidden,
			"user 8's key reading organization 8, which it left")
	})
}

// runCLI runs a cloudmeter command on the server's database and returns its output.
func runCLI(t *testing.T, e *hsEnv, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--data-dir", e.DataDir, "--database-url="+e.DatabaseURL)
	if code := cli.Main(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("cloudmeter %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

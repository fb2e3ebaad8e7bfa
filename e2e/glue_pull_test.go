package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/server"
)

// otherPrices is a price book unlike the one the source rates with: pulled records must
// keep the source's costs whatever the local book says.
var otherPrices = []byte(`{"currency":"GBP","entries":[{"resource_type":"instance","price":"9.99","unit":"item","period_seconds":3600},
 {"resource_type":"drive","price":"1","unit":"gib","period_seconds":3600},{"resource_type":"network","direction":"upload","price":"5","unit":"gb"}]}`)

// reportParts returns user 1's detailed_report and network_report of srv over [from, to].
func reportParts(t *testing.T, srv *e2etest.Server, from, to int64) (detailedReport, networkReport any) {
	t.Helper()
	res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, ts(from), ts(to))))
	return res["detailed_report"], res["network_report"]
}

// TestGluePullMetalSoft: `cloudmeter pull metalsoft` imports another cloudmeter's
// MetalSoft report; the puller's own report of the window is then the source's, record
// for record, whatever its own price book; pulling the same window again changes
// nothing, an overlapping window is refused, and the pulled usage is exported.
func TestGluePullMetalSoft(t *testing.T) { e2etest.OnEachEngine(t, testGluePullMetalSoft) }

func testGluePullMetalSoft(t *testing.T, eng e2etest.Engine) {
	a := e2etest.StartServerWith(t, eng, server.Config{})
	_, end := glueCloud(t, a)
	b := e2etest.StartServerWith(t, eng, server.Config{})
	b.PutPrices(t, otherPrices)
	monthStart, _ := monthOf(end)
	to := time.Now().Unix()
	pullArgs := append([]string{"pull", "metalsoft", "--endpoint", a.URL, "--api-key", a.AdminKey, "--user", "1",
		"--from", ts(monthStart), "--to", ts(to)}, dbArgs(b)...)
	want := reportTotal(t, a, monthStart, to)
	out, _ := glueCLI(t, 0, pullArgs...)
	if !strings.Contains(out, "1 window(s), 1 changed, 5 record(s), cost "+want.String()) {
		t.Fatalf("pull metalsoft: %s (want 5 records costing %s)", out, want)
	}
	if strings.Contains(out, a.AdminKey) {
		t.Errorf("pull printed the source's API key")
	}
	wantDetailed, wantNetwork := reportParts(t, a, monthStart, to)
	gotDetailed, gotNetwork := reportParts(t, b, monthStart, to)
	if diff := cmp.Diff(wantDetailed, gotDetailed); diff != "" {
		t.Errorf("the puller's detailed_report is not the source's (-source +puller):\n%s", diff)
	}
	if diff := cmp.Diff(wantNetwork, gotNetwork); diff != "" {
		t.Errorf("the puller's network_report is not the source's (-source +puller):\n%s", diff)
	}

	// The same window again: nothing changes.
	out, _ = glueCLI(t, 0, pullArgs...)
	if !strings.Contains(out, "1 window(s), 0 changed, 5 record(s)") || !strings.Contains(out, "(nothing changed)") {
		t.Errorf("pulling the same window again: %s", out)
	}
	if got := reportTotal(t, b, monthStart, to); got != want {
		t.Errorf("after pulling twice the puller's total is %s, want %s", got, want)
	}
	// A window that overlaps it is refused, and nothing of it is kept.
	_, errOut := glueCLI(t, 1, append([]string{"pull", "metalsoft", "--endpoint", a.URL, "--api-key", a.AdminKey, "--user", "1",
		"--from", ts(monthStart + 60), "--to", ts(to)}, dbArgs(b)...)...)
	if !strings.Contains(errOut, "overlaps the window") {
		t.Errorf("an overlapping window: %s", errOut)
	}
	if got := reportTotal(t, b, monthStart, to); got != want {
		t.Errorf("after a refused pull the puller's total is %s, want %s", got, want)
	}
	// A wrong key: the source's error, not a crash, and nothing stored.
	_, errOut = glueCLI(t, 1, append([]string{"pull", "metalsoft", "--endpoint", a.URL, "--api-key", "1:wrong", "--user", "1",
		"--from", ts(to + 1), "--to", ts(to + 10)}, dbArgs(b)...)...)
	if !strings.Contains(errOut, "error") || strings.Contains(errOut, "panic") {
		t.Errorf("a wrong key: %s", errOut)
	}

	windows, _ := glueCLI(t, 0, append([]string{"pull", "windows"}, dbArgs(b)...)...)
	if !strings.Contains(windows, ts(monthStart)) || !strings.Contains(windows, want.String()) {
		t.Errorf("pull windows:\n%s", windows)
	}
}

// hyperstackTotal sums total_bill of srv's /v1/billing/billing/usage, exactly.
func hyperstackTotal(t *testing.T, srv *e2etest.Server) (money.Amount, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/billing/billing/usage", nil)
	req.Header.Set("api_key", srv.AdminKey)
	r := srv.Send(t, req)
	e2etest.MustStatus(t, r, http.StatusOK, "GET /v1/billing/billing/usage")
	var ans struct {
		Data []struct {
			TotalBill json.Number `json:"total_bill"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &ans); err != nil {
		t.Fatal(err)
	}
	var xs []money.Amount
	for _, d := range ans.Data {
		xs = append(xs, mustAmount(t, d.TotalBill.String()))
	}
	total, err := money.SumAmounts(xs...)
	if err != nil || total == 0 {
		t.Fatalf("usage total %s, %v: %s", total, err, r.Body)
	}
	return total, len(ans.Data)
}

// TestGluePullHyperstack: `cloudmeter pull hyperstack` imports each resource's totals;
// pulling again from an unchanged source imports nothing; the puller's report holds the
// source's totals exactly.
func TestGluePullHyperstack(t *testing.T) { e2etest.OnEachEngine(t, testGluePullHyperstack) }

func testGluePullHyperstack(t *testing.T, eng e2etest.Engine) {
	a := e2etest.StartServerWith(t, eng, server.Config{})
	_, end := glueCloud(t, a)
	b := e2etest.StartServerWith(t, eng, server.Config{})
	b.PutPrices(t, otherPrices)
	want, n := hyperstackTotal(t, a)
	args := append([]string{"pull", "hyperstack", "--endpoint", a.URL + "/v1", "--api-key", a.AdminKey}, dbArgs(b)...)
	out, _ := glueCLI(t, 0, args...)
	if !strings.Contains(out, fmt.Sprintf("1 window(s), 1 changed, %d record(s), cost %s", n, want)) {
		t.Fatalf("pull hyperstack: %s (want %d records costing %s)", out, n, want)
	}
	out, _ = glueCLI(t, 0, args...)
	if !strings.Contains(out, "0 record(s), cost 0.00000000 (nothing changed)") {
		t.Errorf("pulling again from an unchanged source: %s", out)
	}
	monthStart, _ := monthOf(end)
	if got := reportTotal(t, b, monthStart, time.Now().Unix()); got != want {
		t.Errorf("the puller's report of the month costs %s; the source's usage totals %s", got, want)
	}
}

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// TestMarketplaceSDKRequests replays every request of Vercel's SDK (testdata/marketplace/
// vercel-sdk/) as it arrived, in order: billing data as an object and as an array, an
// invoice in test mode (paid), reading it, refunding part of it, prepaid balances, a
// resource update and finalize with no body. Each answer has the status the SDK takes as
// success and a golden body; then the native read side shows what was kept.
func TestMarketplaceSDKRequests(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startMarketplace(t, eng)
		caps := loadCaptures(t)
		want := []struct {
			status int
			golden string
		}{
			{201, "sdk_001_billing_object"},
			{201, "sdk_002_billing_array"},
			{200, "sdk_003_invoice_submit"},
			{200, "sdk_004_invoice_get"},
			{204, ""},
			{201, "sdk_006_balance"},
			{200, "sdk_007_resource"},
			{204, ""},
		}
		invoiceID := ""
		for i, c := range caps {
			r := e.replay(t, c, invoiceID)
			if r.Status != want[i].status {
				t.Fatalf("%s %s: status %d, want %d: %s", c.Method, c.RawPath, r.Status, want[i].status, r.Body)
			}
			if want[i].status == http.StatusNoContent {
				if len(r.Body) != 0 {
					t.Errorf("%s %s: 204 with a body %q", c.Method, c.RawPath, r.Body)
				}
				continue
			}
			if i == 2 {
				var out struct {
					InvoiceID string `json:"invoiceId"`
				}
				if err := json.Unmarshal(r.Body, &out); err != nil || !strings.HasPrefix(out.InvoiceID, "inv_") {
					t.Fatalf("invoice answer %s (%v)", r.Body, err)
				}
				invoiceID = out.InvoiceID
			}
			e.mpGolden(t, want[i].golden, r, invoiceID)
		}

		// The invoice after the refund of 10.00 of its 76.13.
		r := e.mpRequest(t, http.MethodGet, "/v1/installations/"+e.ID+"/billing/invoices/"+invoiceID, e.Token, nil)
		e2etest.MustStatus(t, r, http.StatusOK, "GET invoice")
		e.mpGolden(t, "sdk_invoice_refunded", r, invoiceID)

		// The native read side: the one day, week and month hold one of the two
		// submissions of the same timestamp, the same one on both engines (the larger
		// digest); the invoice, its refund; the balances.
		r = e.Do(t, http.MethodGet, "/api/v1/installations/"+e.ID+"/billing?from=2026-12-01T00:00:00Z&to=2026-12-01T23:59:59Z", e.AdminKey, "", nil)
		e2etest.MustStatus(t, r, http.StatusOK, "GET native billing")
		e.mpGolden(t, "native_billing", r, invoiceID)

		// Partner charges in user 7's report, apart from its total.
		r = e.Do(t, http.MethodGet, "/api/v1/users/7/partner-charges?from=2026-12-01T00:00:00Z&to=2026-12-31T23:59:59Z", e.AdminKey, "", nil)
		e2etest.MustStatus(t, r, http.StatusOK, "GET partner charges")
		e.mpGolden(t, "native_partner_charges", r, invoiceID)
	})
}

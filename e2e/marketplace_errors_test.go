package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/httpapi"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/server"
)

// sdkBody returns the body of the SDK's capture n (1-based), with each pair of
// replacements applied (each must apply).
func sdkBody(t *testing.T, n int, pairs ...string) []byte {
	t.Helper()
	s := loadCaptures(t)[n-1].BodyRaw
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%q is not in capture %d", pairs[i], n)
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return []byte(s)
}

// TestMarketplaceStatuses sends each kind of request the marketplace refuses, and those
// the SDK sends in forms of its own (a percent-encoded id, header names in lower case),
// and checks the status, that the message names the member or the reason, and the body
// against a golden file; then that nothing of a refused request was kept.
func TestMarketplaceStatuses(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startMarketplace(t, eng)
		billing := func(id string) string { return "/v1/installations/" + id + "/billing" }
		invoices := func(id string) string { return "/v1/installations/" + id + "/billing/invoices" }
		ok := sdkBody(t, 1)

		// An accepted invoice (not in test mode: pending) of the third installation, and
		// the third installation uninstalled.
		r := e.mpRequest(t, http.MethodPost, invoices(e.ID), e.Token, sdkBody(t, 3, `,"test":{"validate":false,"result":"paid"}`, ``))
		e2etest.MustStatus(t, r, http.StatusOK, "the first invoice")
		var created struct {
			InvoiceID string `json:"invoiceId"`
		}
		json.Unmarshal(r.Body, &created)
		r = e.Do(t, http.MethodDelete, "/api/v1/installations/"+e.ThirdID, e.AdminKey, "", nil)
		e2etest.MustStatus(t, r, http.StatusOK, "uninstall")

		for _, c := range []struct {
			name, method, path, token string
			body                      []byte
			status                    int
			message                   string
		}{
			{"error_401_no_token", "POST", billing(e.ID), "", ok, 401, "not authenticated"},
			{"error_401_unknown_token", "POST", billing(e.ID), "no-such-token", ok, 401, "not an installation's"},
			{"error_401_api_key", "POST", billing(e.ID), e.AdminKey, ok, 401, "not an installation's"},
			{"error_403_other_installation", "POST", billing(e.ID), e.OtherToken, ok, 403, "another installation's"},
			{"error_404_unknown_installation", "POST", billing("icfg_none"), e.Token, ok, 404, "installation \"icfg_none\" not found"},
			{"error_410_uninstalled", "POST", billing(e.ThirdID), e.ThirdToken, ok, 410, "was uninstalled"},
			{"error_410_uninstalled_finalize", "POST", "/v1/installations/" + e.ThirdID + "/billing/finalize", e.ThirdToken, nil, 410, "was uninstalled"},
			{"error_404_id_not_text", "POST", billing("icfg%00x"), e.Token, ok, 404, "not found"},
			{"error_404_invoice_id_not_text", "GET", invoices(e.ID) + "/inv%00x", e.Token, nil, 404, "not found"},
			{"error_404_route", "POST", "/v1/installations/" + e.ID + "/billing/nothing", e.Token, ok, 404, "no such route"},
			{"error_405_method", "GET", billing(e.ID), e.Token, nil, 405, "method not allowed"},
			{"error_400_malformed_amount", "POST", billing(e.ID), e.Token, sdkBody(t, 1, `"price":"2.49"`, `"price":"2.4.9"`), 400, "billing.items[0].price"},
			{"error_400_negative_quantity", "POST", billing(e.ID), e.Token, sdkBody(t, 1, `"quantity":500`, `"quantity":-500`), 400, "billing.items[1].quantity"},
			{"error_400_null_number", "POST", billing(e.ID), e.Token, sdkBody(t, 1, `"dayValue":3.2`, `"dayValue":null`), 400, "usage[2].dayValue: is null"},
			{"error_400_period_backwards", "POST", billing(e.ID), e.Token,
				sdkBody(t, 1, `"end":"2027-01-01T00:00:00.000Z"}`, `"end":"2026-11-30T00:00:00.000Z"}`), 400, "period.end"},
			{"error_400_eod_outside_period", "POST", billing(e.ID), e.Token,
				sdkBody(t, 1, `"eod":"2026-12-02T00:00:00.000Z"`, `"eod":"2027-01-02T00:00:00.000Z"`), 400, "eod: 2027-01-02T00:00:00.000Z must lie inside the period"},
			{"error_400_period_end_old", "POST", billing(e.ID), e.Token,
				sdkBody(t, 1, `"eod":"2026-12-02T00:00:00.000Z"`, `"eod":"2026-11-29T00:00:00.000Z"`,
					`"period":{"start":"2026-12-01T00:00:00.000Z","end":"2027-01-01T00:00:00.000Z"}`,
					`"period":{"start":"2026-11-01T00:00:00.000Z","end":"2026-11-30T12:00:00.000Z"}`), 400, "period.end: 2026-11-30T12:00:00.000Z is more than 24 hours before"},
			{"error_400_eod_old", "POST", billing(e.ID), e.Token,
				sdkBody(t, 1, `"eod":"2026-12-02T00:00:00.000Z"`, `"eod":"2026-11-29T00:00:00.000Z"`,
					`"period":{"start":"2026-12-01T00:00:00.000Z"`, `"period":{"start":"2026-11-01T00:00:00.000Z"`), 400, "eod: 2026-11-29T00:00:00.000Z is more than 24 hours before"},
			{"error_400_empty_body", "POST", billing(e.ID), e.Token, []byte{}, 400, "request body: empty"},
			{"error_400_balance_empty_body", "POST", "/v1/installations/" + e.ID + "/billing/balance", e.Token, []byte{}, 400, "request body: empty"},
			{"error_409_external_id", "POST", invoices(e.ID), e.Token, sdkBody(t, 3), 409, "externalId"},
			{"error_400_invoice_date", "POST", invoices(e.ID), e.Token,
				sdkBody(t, 3, `"externalId":"cm-inv-2026-12"`, `"externalId":"x"`, `"invoiceDate":"2026-12-31T23:59:59.000Z"`, `"invoiceDate":"2027-02-01T00:00:00.000Z"`),
				400, "invoiceDate"},
			{"error_404_invoice", "GET", invoices(e.ID) + "/inv_none", e.Token, nil, 404, "invoice \"inv_none\" not found"},
			{"error_404_other_installations_invoice", "GET", invoices(e.OtherID) + "/" + created.InvoiceID, e.OtherToken, nil, 404, "not found"},
			{"error_409_refund_not_paid", "POST", invoices(e.ID) + "/" + created.InvoiceID + "/actions", e.Token, sdkBody(t, 5), 409, "only a paid invoice"},
			{"error_400_refund_negative", "POST", invoices(e.ID) + "/" + created.InvoiceID + "/actions", e.Token,
				sdkBody(t, 5, `"total":"10.00"`, `"total":"-10.00"`), 400, "total"},
			{"error_400_resource_status", "PATCH", "/v1/installations/" + e.ID + "/resources/r1", e.Token, []byte(`{"status":"melted"}`), 400, "status"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.mpRequest(t, c.method, c.path, c.token, c.body)
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
				}
				var body struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if err := json.Unmarshal(r.Body, &body); err != nil || body.Error.Code == "" {
					t.Fatalf("not the marketplace's error shape: %s (%v)", r.Body, err)
				}
				if !strings.Contains(body.Error.Message, c.message) {
					t.Errorf("message %q does not say %q", body.Error.Message, c.message)
				}
				e.mpGolden(t, c.name, r, created.InvoiceID)
			})
		}

		// A refund past the total, once the invoice is paid.
		r = e.Do(t, http.MethodPut, "/api/v1/installations/"+e.ID+"/invoices/"+created.InvoiceID+"/state", e.AdminKey, "application/json", []byte(`{"state":"paid"}`))
		e2etest.MustStatus(t, r, http.StatusOK, "the invoice paid")
		r = e.mpRequest(t, http.MethodPost, invoices(e.ID)+"/"+created.InvoiceID+"/actions", e.Token, sdkBody(t, 5, `"total":"10.00"`, `"total":"76.14"`))
		e2etest.MustStatus(t, r, http.StatusBadRequest, "a refund past the total")
		e.mpGolden(t, "error_400_refund_past_total", r, created.InvoiceID)

		// Nothing of a refused request was kept.
		r = e.Do(t, http.MethodGet, "/api/v1/installations/"+e.ID+"/billing?from=2026-11-01T00:00:00Z&to=2027-01-31T00:00:00Z", e.AdminKey, "", nil)
		e2etest.MustStatus(t, r, http.StatusOK, "native billing")
		var kept struct {
			Days     []any `json:"days"`
			Months   []any `json:"months"`
			Invoices []struct {
				Refunded string `json:"refunded"`
			} `json:"invoices"`
			Balances []any `json:"balances"`
		}
		if err := json.Unmarshal(r.Body, &kept); err != nil {
			t.Fatal(err)
		}
		if len(kept.Days) != 0 || len(kept.Months) != 0 || len(kept.Invoices) != 1 || kept.Invoices[0].Refunded != "0" || len(kept.Balances) != 0 {
			t.Errorf("refused requests left data behind: %s", r.Body)
		}
	})
}

// TestMarketplaceSDKForms checks the forms Vercel's SDK may send requests in: a
// percent-encoded installation id, header names in lower case and the scheme in any
// case, dates with and without milliseconds, finalize with no body and no Content-Type.
func TestMarketplaceSDKForms(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startMarketplace(t, eng)
		encoded := strings.ReplaceAll(strings.ReplaceAll(e.ID, "_", "%5F"), "a", "%61")
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/v1/installations/"+encoded+"/billing",
			strings.NewReader(string(sdkBody(t, 2, `"timestamp":"2026-12-01T12:32:22.517Z"`, `"timestamp":"2026-12-01T12:32:23Z"`))))
		req.Header["authorization"] = []string{"bearer " + e.Token}
		req.Header["content-type"] = []string{"application/json"}
		r := e.Send(t, req)
		e2etest.MustStatus(t, r, http.StatusCreated, "percent-encoded id, lower-case headers")
		if !strings.Contains(string(r.Body), `"day":true`) {
			t.Errorf("a later submission did not take its day: %s", r.Body)
		}

		req, _ = http.NewRequest(http.MethodPost, e.URL+"/v1/installations/"+e.ID+"/billing/finalize", nil)
		req.Header["authorization"] = []string{"Bearer " + e.Token}
		r = e.Send(t, req)
		e2etest.MustStatus(t, r, http.StatusNoContent, "finalize with no body")
	})
}

// TestMarketplaceBodyLimit checks a body over --max-body-bytes is refused with 413 in the
// marketplace's shape, before anything is stored.
func TestMarketplaceBodyLimit(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		srv := e2etest.StartServerWith(t, eng, server.Config{Now: func() time.Time { return mpNow }, Limits: httpapi.Limits{MaxBodyBytes: 512}})
		e := &mpEnv{Server: srv}
		e.ID, e.Token = createInstallation(t, srv, "GPU Co", 7, "USD")
		r := e.mpRequest(t, http.MethodPost, "/v1/installations/"+e.ID+"/billing", e.Token, sdkBody(t, 1))
		e2etest.MustStatus(t, r, http.StatusRequestEntityTooLarge, "a body over the limit")
		e.mpGolden(t, "error_413_body", r)
	})
}

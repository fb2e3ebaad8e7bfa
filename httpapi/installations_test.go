package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/marketplace"
)

// installationCases exercise the installation routes of the native API: an installation
// of user 3 (the key "stranger") is created by the admin, given billing data and an
// invoice through the marketplace parser and the service, then read, moved along the
// invoice state machine, charged in user 3's report and uninstalled.
func installationCases() []tcase {
	const (
		list     = "GET /api/v1/installations"
		create   = "POST /api/v1/installations"
		uninst   = "DELETE /api/v1/installations/{installation_id}"
		billing  = "GET /api/v1/installations/{installation_id}/billing"
		state    = "PUT /api/v1/installations/{installation_id}/invoices/{invoice_id}/state"
		charges  = "GET /api/v1/users/{user_id}/partner-charges"
		util     = "GET /api/v1/users/{user_id}/utilization"
		json_    = "application/json"
		newInst  = `{"partner":"GPU Co","user_id":3,"currency":"EUR"}`
		instPath = "/api/v1/installations/$INST"
	)
	tooBig := `{"partner":"` + strings.Repeat("x", testMaxBody) + `"}`
	return []tcase{
		{name: "marketplace document", op: "GET /openapi-marketplace.yaml", status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				if !strings.Contains(string(body), "/installations/{id}/billing") {
					t.Errorf("the marketplace document is not served: %.200s", body)
				}
			}},
		{name: "installation create no key", op: create, ctype: json_, body: newInst, status: 401},
		{name: "installation create not admin", op: create, key: "reader", ctype: json_, body: newInst, status: 403},
		{name: "installation create bad currency", op: create, key: "admin", ctype: json_, body: `{"partner":"GPU Co","user_id":3,"currency":"eur"}`, status: 400},
		{name: "installation create no user", op: create, key: "admin", ctype: json_, body: `{"partner":"GPU Co"}`, status: 400},
		{name: "installation create too large", op: create, key: "admin", ctype: json_, body: tooBig, status: 413},
		{name: "installation create", op: create, key: "admin", ctype: json_, body: newInst, checkRequest: true, status: 201,
			check: func(t *testing.T, e *env, body []byte) {
				var in struct {
					ID          string `json:"id"`
					AccessToken string `json:"access_token"`
				}
				if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(in.ID, "icfg_") || len(in.AccessToken) < 40 {
					t.Fatalf("created %s (%v)", body, err)
				}
				e.vars["INST"] = in.ID
				submitPartnerData(t, e, in.ID, in.AccessToken)
			}},
		{name: "installations no key", op: list, status: 401},
		{name: "installations not admin", op: list, key: "reader", status: 403},
		{name: "installations bad user", op: list, url: "/api/v1/installations?user=x", key: "admin", status: 400},
		{name: "installations", op: list, key: "admin", status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				if !strings.Contains(string(body), e.vars["INST"]) || strings.Contains(string(body), "access_token") {
					t.Errorf("list %s", body)
				}
			}},
		{name: "installations of own user", op: list, url: "/api/v1/installations?user=3", key: "stranger", status: 200},
		{name: "installation billing no key", op: billing, url: instPath + "/billing", status: 401},
		{name: "installation billing other user", op: billing, url: instPath + "/billing", key: "writer", status: 404},
		{name: "installation billing bad window", op: billing, url: instPath + "/billing?from=yesterday", key: "stranger", status: 400},
		{name: "installation billing", op: billing, url: instPath + "/billing", key: "stranger", status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				var b struct {
					Days     []struct{ Total string } `json:"days"`
					Invoices []struct{ Total, State string }
				}
				if err := json.Unmarshal(body, &b); err != nil || len(b.Days) != 1 || b.Days[0].Total != "76.13" ||
					len(b.Invoices) != 1 || b.Invoices[0].Total != "76.13" || b.Invoices[0].State != "pending" {
					t.Errorf("billing %s (%v)", body, err)
				}
			}},
		{name: "invoice state no key", op: state, url: instPath + "/invoices/$INVOICE/state", ctype: json_, body: `{"state":"paid"}`, status: 401},
		{name: "invoice state not admin", op: state, url: instPath + "/invoices/$INVOICE/state", key: "stranger", ctype: json_, body: `{"state":"paid"}`, status: 403},
		{name: "invoice state unknown", op: state, url: instPath + "/invoices/$INVOICE/state", key: "admin", ctype: json_, body: `{"state":"lost"}`, status: 400},
		{name: "invoice state unknown invoice", op: state, url: instPath + "/invoices/inv_none/state", key: "admin", ctype: json_, body: `{"state":"paid"}`, status: 404},
		{name: "invoice state not allowed", op: state, url: instPath + "/invoices/$INVOICE/state", key: "admin", ctype: json_, body: `{"state":"refunded"}`, status: 409},
		{name: "invoice state", op: state, url: instPath + "/invoices/$INVOICE/state", key: "admin", ctype: json_, body: `{"state":"paid"}`,
			checkRequest: true, status: 200},
		{name: "partner charges no key", op: charges, url: "/api/v1/users/3/partner-charges", status: 401},
		{name: "partner charges other user", op: charges, url: "/api/v1/users/3/partner-charges", key: "writer", status: 403},
		{name: "partner charges bad window", op: charges, url: "/api/v1/users/3/partner-charges?to=x", key: "stranger", status: 400},
		{name: "partner charges", op: charges, url: "/api/v1/users/3/partner-charges", key: "stranger", status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				var c struct {
					PartnerCharges struct {
						Totals []map[string]string `json:"totals_by_currency"`
					} `json:"partner_charges"`
				}
				want := map[string]string{"currency": "EUR", "invoiced": "76.13", "refunded": "0", "interim": "76.13"}
				if err := json.Unmarshal(body, &c); err != nil || len(c.PartnerCharges.Totals) != 1 || fmt.Sprint(c.PartnerCharges.Totals[0]) != fmt.Sprint(want) {
					t.Errorf("charges %s (%v)", body, err)
				}
			}},
		{name: "utilization with partner charges", op: util, url: "/api/v1/users/3/utilization?from=$FROM&to=$TO", key: "stranger", status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				var u struct {
					TotalCost      string          `json:"total_cost"`
					PartnerCharges json.RawMessage `json:"partner_charges"`
				}
				if err := json.Unmarshal(body, &u); err != nil || len(u.PartnerCharges) == 0 || u.TotalCost == "76.13" {
					t.Errorf("utilization %s (%v)", body, err)
				}
			}},
		{name: "uninstall no key", op: uninst, url: instPath, status: 401},
		{name: "uninstall not admin", op: uninst, url: instPath, key: "stranger", status: 403},
		{name: "uninstall unknown", op: uninst, url: "/api/v1/installations/icfg_none", key: "admin", status: 404},
		{name: "uninstall", op: uninst, url: instPath, key: "admin", status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				if !strings.Contains(string(body), "uninstalled_at") {
					t.Errorf("uninstalled %s", body)
				}
			}},
	}
}

// submitPartnerData gives the installation billing data for today and an invoice, as
// its partner would, through the marketplace's parsers and the service.
func submitPartnerData(t *testing.T, e *env, id, token string) {
	t.Helper()
	ctx := context.Background()
	in, err := e.svc.AuthenticateInstallation(ctx, "Bearer "+token, id)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	date := func(t time.Time) string { return t.Format("2006-01-02T15:04:05.000Z") }
	items := `[{"billingPlanId":"p","name":"H100 GPU hours","price":"2.49","quantity":12.5,"units":"hour","total":"31.13"},` +
		`{"billingPlanId":"p","name":"Block storage","price":"0.10","quantity":500,"units":"GB-month","total":"50.00"}]`
	discounts := `[{"billingPlanId":"p","name":"Launch credit","amount":"5.00"}]`
	period := `{"start":"` + date(day) + `","end":"` + date(day.AddDate(0, 0, 2)) + `"}`
	b, err := marketplace.ParseBilling([]byte(`{"timestamp":"` + date(now) + `","eod":"` + date(day.AddDate(0, 0, 1)) + `","period":` + period +
		`,"billing":{"items":` + items + `,"discounts":` + discounts + `},"usage":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.SubmitBilling(ctx, in, b.Submission, b.Items, b.Discounts); err != nil {
		t.Fatal(err)
	}
	inv, err := marketplace.ParseInvoice([]byte(`{"externalId":"e-1","invoiceDate":"` + date(day) + `","period":` + period +
		`,"items":` + items + `,"discounts":` + discounts + `}`))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.svc.SubmitInvoice(ctx, in, inv.Invoice, inv.Items, inv.Discounts, inv.TestResult)
	if err != nil {
		t.Fatal(err)
	}
	e.vars["INVOICE"] = stored.ID
	e.vars["FROM"] = cloudmeter.FormatTime(day.Unix())
	e.vars["TO"] = cloudmeter.FormatTime(day.Unix() + 86399)
}

package marketplace

// The OpenAPI document (openapi.yaml) is held to the code: the routes it describes are
// the routes Handler serves (TestOpenAPIRoutes), and the answers pinned by the end-to-end
// golden files, and the document's own examples, validate against the schemas it gives
// for them (TestOpenAPIDescribesAnswers, TestOpenAPIExamples).

import (
	"path/filepath"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/openapitest"
)

func loadDocument(t *testing.T) *openapitest.Document { return openapitest.Load(t, OpenAPI, "") }

func TestOpenAPIRoutes(t *testing.T) { loadDocument(t).CheckRoutes(t, Routes()) }

// goldenOps names the operation and status of each golden answer of the e2e tests.
var goldenOps = map[string]string{
	"sdk_001_billing_object":                "POST /v1/installations/{id}/billing 201",
	"sdk_002_billing_array":                 "POST /v1/installations/{id}/billing 201",
	"sdk_003_invoice_submit":                "POST /v1/installations/{id}/billing/invoices 200",
	"sdk_004_invoice_get":                   "GET /v1/installations/{id}/billing/invoices/{invoiceId} 200",
	"sdk_invoice_refunded":                  "GET /v1/installations/{id}/billing/invoices/{invoiceId} 200",
	"sdk_006_balance":                       "POST /v1/installations/{id}/billing/balance 201",
	"sdk_007_resource":                      "PATCH /v1/installations/{id}/resources/{resourceId} 200",
	"error_401_no_token":                    "POST /v1/installations/{id}/billing 401",
	"error_401_unknown_token":               "POST /v1/installations/{id}/billing 401",
	"error_401_api_key":                     "POST /v1/installations/{id}/billing 401",
	"error_403_other_installation":          "POST /v1/installations/{id}/billing 403",
	"error_404_unknown_installation":        "POST /v1/installations/{id}/billing 404",
	"error_410_uninstalled":                 "POST /v1/installations/{id}/billing 410",
	"error_410_uninstalled_finalize":        "POST /v1/installations/{id}/billing/finalize 410",
	"error_404_id_not_text":                 "POST /v1/installations/{id}/billing 404",
	"error_404_invoice_id_not_text":         "GET /v1/installations/{id}/billing/invoices/{invoiceId} 404",
	"error_404_route":                       "",
	"error_405_method":                      "",
	"error_400_malformed_amount":            "POST /v1/installations/{id}/billing 400",
	"error_400_negative_quantity":           "POST /v1/installations/{id}/billing 400",
	"error_400_null_number":                 "POST /v1/installations/{id}/billing 400",
	"error_400_period_backwards":            "POST /v1/installations/{id}/billing 400",
	"error_400_eod_outside_period":          "POST /v1/installations/{id}/billing 400",
	"error_400_period_end_old":              "POST /v1/installations/{id}/billing 400",
	"error_400_eod_old":                     "POST /v1/installations/{id}/billing 400",
	"error_400_empty_body":                  "POST /v1/installations/{id}/billing 400",
	"error_400_balance_empty_body":          "POST /v1/installations/{id}/billing/balance 400",
	"error_409_external_id":                 "POST /v1/installations/{id}/billing/invoices 409",
	"error_400_invoice_date":                "POST /v1/installations/{id}/billing/invoices 400",
	"error_404_invoice":                     "GET /v1/installations/{id}/billing/invoices/{invoiceId} 404",
	"error_404_other_installations_invoice": "GET /v1/installations/{id}/billing/invoices/{invoiceId} 404",
	"error_409_refund_not_paid":             "POST /v1/installations/{id}/billing/invoices/{invoiceId}/actions 409",
	"error_400_refund_negative":             "POST /v1/installations/{id}/billing/invoices/{invoiceId}/actions 400",
	"error_400_refund_past_total":           "POST /v1/installations/{id}/billing/invoices/{invoiceId}/actions 400",
	"error_400_resource_status":             "PATCH /v1/installations/{id}/resources/{resourceId} 400",
	"error_413_body":                        "POST /v1/installations/{id}/billing 413",
	// not answers of this API: native ones (described in httpapi/openapi.yaml) and the
	// command line's
	"native_billing":         "-",
	"native_partner_charges": "-",
	"cli_show":               "-",
}

// TestOpenAPIDescribesAnswers validates every golden answer of the end-to-end tests
// against the schema the document gives for its operation and status.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	loadDocument(t).CheckGoldenAnswers(t, filepath.Join("..", "e2e", "testdata", "marketplace"), goldenOps)
}

// TestOpenAPIExamples validates every example of a response against its schema.
func TestOpenAPIExamples(t *testing.T) { loadDocument(t).CheckExamples(t) }

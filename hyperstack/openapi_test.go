package hyperstack

// The OpenAPI document (openapi.yaml) is held to the code: the routes it describes are
// the routes Handler serves (TestOpenAPIRoutes), and the answers pinned by the end-to-end
// golden files, and the document's own examples, validate against the schemas it gives
// for them (TestOpenAPIDescribesAnswers, TestOpenAPIExamples).

import (
	"path/filepath"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/openapitest"
)

func loadDocument(t *testing.T) *openapitest.Document { return openapitest.Load(t, OpenAPI, "/v1") }

func TestOpenAPIRoutes(t *testing.T) { loadDocument(t).CheckRoutes(t, Routes()) }

// goldenOps names the operation and status of each golden answer of the e2e tests.
var goldenOps = map[string]string{
	"usage": "GET /v1/billing/billing/usage 200", "usage_deleted_environment": "GET /v1/billing/billing/usage 200",
	"usage_not_deleted": "GET /v1/billing/billing/usage 200", "usage_environment_id": "GET /v1/billing/billing/usage 200",
	"usage_admin": "GET /v1/billing/billing/usage 200", "usage_admin_organization": "GET /v1/billing/billing/usage 200",
	"last_day_cost": "GET /v1/billing/billing/last-day-cost 200", "last_day_cost_ran_all_day": "GET /v1/billing/billing/last-day-cost 200",
	"history": "GET /v1/billing/billing/history 200", "history_graph": "GET /v1/billing/billing/history 200",
	"history_admin":             "GET /v1/billing/billing/history 200",
	"history_vm":                "GET /v1/billing/billing/history/virtual-machine 200",
	"history_vm_page2":          "GET /v1/billing/billing/history/virtual-machine 200",
	"history_vm_past_last_page": "GET /v1/billing/billing/history/virtual-machine 200",
	"history_vm_details":        "GET /v1/billing/billing/history/virtual-machine/{id} 200",
	"history_vm_graph":          "GET /v1/billing/billing/history/virtual-machine/{id}/graph 200",
	"vm_billing_events":         "GET /v1/billing/billing/virtual-machine/{id}/billing-events 200",
	"vm_sub_resource_graph":     "GET /v1/billing/billing/virtual-machine/{id}/sub-resource/graph 200",
	"history_volume":            "GET /v1/billing/billing/history/volume 200",
	"history_volume_details":    "GET /v1/billing/billing/history/volume/{id} 200",
	"history_volume_graph":      "GET /v1/billing/billing/history/volume/{id}/graph 200",
	"volume_billing_events":     "GET /v1/billing/billing/volume/{id}/billing-events 200",
	"pricebook":                 "GET /v1/pricebook 200", "pricebook_admin": "GET /v1/pricebook 200",
	"credit":                        "GET /v1/billing/user-credit/credit 200",
	"credit_funded":                 "GET /v1/billing/user-credit/credit 200",
	"credit_below_threshold":        "GET /v1/billing/user-credit/credit 200",
	"error_404_credit_organization": "GET /v1/billing/user-credit/credit 404",
	"error_400_date":                "GET /v1/billing/billing/history 400",
	"error_400_per_page":            "GET /v1/billing/billing/history/virtual-machine 400",
	"error_401_no_key":              "GET /v1/billing/billing/usage 401",
	"error_401_unknown_key":         "GET /v1/billing/billing/usage 401",
	"error_403_organization":        "GET /v1/billing/billing/usage 403",
	"error_404_vm":                  "GET /v1/billing/billing/history/virtual-machine/{id} 404",
	"error_404_route":               "",
	"error_429_rate_limit":          "GET /v1/billing/billing/usage 429",
}

// TestOpenAPIDescribesAnswers validates every golden answer of the end-to-end tests
// against the schema the document gives for its operation and status.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	loadDocument(t).CheckGoldenAnswers(t, filepath.Join("..", "e2e", "testdata", "hyperstack"), goldenOps)
}

// TestOpenAPIExamples validates every example of a response against its schema.
func TestOpenAPIExamples(t *testing.T) { loadDocument(t).CheckExamples(t) }

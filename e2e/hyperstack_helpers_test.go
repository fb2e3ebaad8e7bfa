package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// The Hyperstack data set: users 7 and 8, each its own organization, with VMs and
// volumes whose whole lives lie in October and November 2026, so that every answer
// about them is fixed whatever the day the tests run.
//
// VM 4242 (server type 4) is stopped, hibernated and started again in November, and the
// price of its server type changes on 2026-11-20; volume 777 is resized on 2026-11-15.
const (
	hsOrg      = 7 // the customer organization of most tests
	hsOtherOrg = 8
	hsVM       = 4242
	hsVolume   = 777
	// hsWindow is November 2026, as the Hyperstack client's requests ask for it.
	hsStart = "2026-11-01T00:00:00"
	hsEnd   = "2026-11-30T23:59:59"
	hsQuery = "start_date=2026-11-01T00%3A00%3A00&end_date=2026-11-30T23%3A59%3A59"
)

// hsPrices is the price book of the data set: per server type and power state, with a
// price change of server type 4, and a per-user price of user 8.
var hsPrices = []byte(`{"currency": "GBP", "entries": [
  {"resource_type": "instance", "price": "0.31", "unit": "item", "period_seconds": 3600},
  {"resource_type": "instance", "server_type_id": 4, "price": "2.40", "unit": "item", "period_seconds": 3600, "valid_until": "2026-11-20T00:00:00Z"},
  {"resource_type": "instance", "server_type_id": 4, "price": "2.50", "unit": "item", "period_seconds": 3600, "valid_from": "2026-11-20T00:00:00Z"},
  {"resource_type": "instance", "state": "stopped", "price": "0.05", "unit": "item", "period_seconds": 3600},
  {"resource_type": "instance", "state": "hibernated", "price": "0.01", "unit": "item", "period_seconds": 3600},
  {"resource_type": "drive", "storage_type": "iscsi_ssd", "price": "0.0004", "unit": "gib", "period_seconds": 3600},
  {"resource_type": "shared_drive", "price": "0.05", "unit": "gib", "period_seconds": 2592000},
  {"resource_type": "subnet", "subnet_type": "ipv4", "price": "0.005", "unit": "ip", "period_seconds": 3600},
  {"resource_type": "network", "direction": "upload", "price": "0.06", "unit": "gb"},
  {"resource_type": "instance", "user_id": 8, "price": "0.25", "unit": "item", "period_seconds": 3600}
]}`)

// hsEvent builds one event of the data set.
func hsEvent(id, typ, at string, data map[string]any) event {
	return event{"specversion": "1.0", "id": id, "source": "e2e/hyperstack", "time": at, "type": "cloudmeter.resource." + typ, "data": data}
}

func hsProvision(id, at string, product int64, typ string, user, infra int64, infraLabel, label string, attrs map[string]any, exclude bool) event {
	return hsEvent(id, "provisioned", at, map[string]any{"product_id": product, "resource_type": typ, "user_id": user,
		"infrastructure_id": infra, "infrastructure_label": infraLabel, "datacenter": "CANADA-1", "label": label,
		"subdomain": fmt.Sprintf("%s.%s.example.test", label, infraLabel), "attributes": attrs, "exclude_billing": exclude})
}

// hsEvents is the data set's ledger.
func hsEvents() []byte {
	return batch(
		hsProvision("vm-1", "2026-10-20T08:00:00Z", hsVM, "instance", hsOrg, 70, "default-CANADA-1", "gpu-a100-4242",
			map[string]any{"server_type_id": 4, "server_type_name": "G.32.256.2.A100"}, false),
		hsEvent("vm-2", "stopped", "2026-11-05T10:00:00Z", map[string]any{"product_id": hsVM}),
		hsEvent("vm-3", "stopped", "2026-11-10T00:00:00Z", map[string]any{"product_id": hsVM, "state": "hibernated"}),
		hsEvent("vm-4", "started", "2026-11-12T06:30:00Z", map[string]any{"product_id": hsVM}),
		hsEvent("vm-5", "deleted", "2026-11-25T18:15:30Z", map[string]any{"product_id": hsVM}),

		hsProvision("vm-6", "2026-11-01T00:00:00Z", 4243, "instance", hsOrg, 70, "default-CANADA-1", "cpu-small-4243", map[string]any{}, true),
		hsEvent("vm-7", "deleted", "2026-11-03T00:00:00Z", map[string]any{"product_id": 4243}),

		hsProvision("vm-8", "2026-11-03T00:00:00Z", 4300, "instance", hsOrg, 71, "staging", "gpu-staging-4300",
			map[string]any{"server_type_id": 4, "server_type_name": "G.32.256.2.A100"}, false),
		hsEvent("vm-9", "deleted", "2026-11-04T00:00:00Z", map[string]any{"product_id": 4300}),

		hsProvision("vol-1", "2026-10-20T08:00:00Z", hsVolume, "drive", hsOrg, 70, "default-CANADA-1", "data-777",
			map[string]any{"drive_size_mbytes": 102400, "storage_type": "iscsi_ssd"}, false),
		hsEvent("vol-2", "changed", "2026-11-15T00:00:00Z", map[string]any{"product_id": hsVolume, "attributes": map[string]any{"drive_size_mbytes": 204800}}),
		hsEvent("vol-3", "deleted", "2026-11-28T00:00:00Z", map[string]any{"product_id": hsVolume}),

		hsProvision("vol-4", "2026-11-02T00:00:00Z", 778, "shared_drive", hsOrg, 70, "default-CANADA-1", "shared-778",
			map[string]any{"shared_drive_size_mbytes": 51200}, false),
		hsEvent("vol-5", "deleted", "2026-11-20T12:00:00Z", map[string]any{"product_id": 778}),

		hsProvision("net-1", "2026-11-01T00:00:00Z", 6001, "subnet", hsOrg, 70, "default-CANADA-1", "subnet-6001",
			map[string]any{"subnet_type": "ipv4", "subnet_prefix_size": 30}, false),
		hsEvent("net-2", "deleted", "2026-11-30T00:00:00Z", map[string]any{"product_id": 6001}),

		hsProvision("other-1", "2026-11-01T00:00:00Z", 5000, "instance", hsOtherOrg, 80, "default-NORWAY-1", "other-org-vm", map[string]any{}, false),
		hsEvent("other-2", "deleted", "2026-11-10T00:00:00Z", map[string]any{"product_id": 5000}),
	)
}

// hsEnv is a server holding the data set, with a customer key of each organization.
type hsEnv struct {
	*e2etest.Server
	Customer, Other string
}

func startHyperstack(t *testing.T, eng e2etest.Engine) *hsEnv {
	t.Helper()
	srv := e2etest.StartServer(t, eng)
	srv.PutPrices(t, hsPrices)
	if res := srv.PostEvents(t, hsEvents()); res.Accepted != 18 {
		t.Fatalf("data set: %d events accepted, want 18", res.Accepted)
	}
	return &hsEnv{Server: srv, Customer: srv.CreateKey(t, hsOrg), Other: srv.CreateKey(t, hsOtherOrg)}
}

// hsGet sends GET path (with its query) with the key in an api_key header (none when
// empty), as Hyperstack's client sends it.
func hsGet(t testing.TB, srv *e2etest.Server, key, path string) *e2etest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header["Api_key"] = []string{key}
	}
	r := srv.Send(t, req)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	return r
}

// ---------------------------------------------------------------------------------------
// The strict decoding of answers: each answer is held to a schema written as Go types,
// by what Hyperstack's generated client needs (DESIGN 3.3).
//
//   - a struct is an object with exactly its members, all present;
//   - []T is an array (never null), *T is T or null;
//   - string, bool: a JSON string, a JSON boolean (an `enum:"a,b"` tag lists the values);
//   - jnum is a JSON number; jint an integral JSON number (no fraction, no exponent);
//   - jtime is "2006-01-02T15:04:05" or null; jstamp is "2006-01-02T15:04:05".

type (
	jnum   struct{}
	jint   struct{}
	jtime  struct{}
	jstamp struct{}
)

var stampRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)

// strictDecode decodes body (exactly one JSON value) and checks it against schema.
func strictDecode(body []byte, schema reflect.Type) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	if dec.More() {
		return []string{"more than one JSON value"}
	}
	return checkSchema(v, schema, "$", "")
}

func checkSchema(v any, typ reflect.Type, at, enum string) []string {
	bad := func(want string) []string { return []string{fmt.Sprintf("%s: %s, want %s", at, describeJSON(v), want)} }
	switch typ {
	case reflect.TypeFor[jnum]():
		if _, ok := v.(json.Number); !ok {
			return bad("a JSON number")
		}
		return nil
	case reflect.TypeFor[jint]():
		if n, ok := v.(json.Number); !ok || strings.ContainsAny(n.String(), ".eE") {
			return bad("an integral JSON number")
		}
		return nil
	case reflect.TypeFor[jtime](), reflect.TypeFor[jstamp]():
		if v == nil && typ == reflect.TypeFor[jtime]() {
			return nil
		}
		s, ok := v.(string)
		if _, err := time.Parse("2006-01-02T15:04:05", s); !ok || !stampRE.MatchString(s) || err != nil {
			return bad(`a timestamp "2006-01-02T15:04:05"`)
		}
		return nil
	}
	switch typ.Kind() {
	case reflect.Pointer:
		if v == nil {
			return nil
		}
		return checkSchema(v, typ.Elem(), at, enum)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return bad("a JSON string")
		}
		if enum != "" && !slices.Contains(strings.Split(enum, ","), s) {
			return bad("one of " + enum)
		}
		return nil
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad("a JSON boolean")
		}
		return nil
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return bad("a JSON array")
		}
		var errs []string
		for i, e := range list {
			errs = append(errs, checkSchema(e, typ.Elem(), fmt.Sprintf("%s[%d]", at, i), "")...)
		}
		return errs
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("a JSON object")
		}
		var errs []string
		known := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			known[name] = true
			mv, present := obj[name]
			if !present {
				errs = append(errs, fmt.Sprintf("%s.%s: missing", at, name))
				continue
			}
			errs = append(errs, checkSchema(mv, f.Type, at+"."+name, f.Tag.Get("enum"))...)
		}
		for name := range obj {
			if !known[name] {
				errs = append(errs, fmt.Sprintf("%s.%s: not a member of the schema", at, name))
			}
		}
		return errs
	}
	panic("schema type " + typ.String())
}

func describeJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", x)
	case json.Number:
		return "the number " + x.String()
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case []any:
		return "an array"
	}
	return "an object"
}

// The schemas of the answers.

type hsErrorSchema struct {
	Status      bool   `json:"status" enum:"false"`
	Message     string `json:"message"`
	ErrorReason string `json:"error_reason" enum:"bad_request,unauthorized,forbidden,not_found,too_many_requests"`
}

type hsUsageSchema struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Data    []struct {
		ResourceID     jint   `json:"resource_id"`
		ResourceType   string `json:"resource_type" enum:"vm,volume"`
		Name           string `json:"name"`
		OrganizationID jint   `json:"organization_id"`
		BillPerMinute  *jnum  `json:"bill_per_minute"`
		CreateTime     jtime  `json:"create_time"`
		TerminateTime  jtime  `json:"terminate_time"`
		TotalUpTime    jnum   `json:"total_up_time"`
		TotalBill      jnum   `json:"total_bill"`
		Active         bool   `json:"active"`
		ExcludeBilling bool   `json:"exclude_billing"`
	} `json:"data"`
}

type hsLastDayCostSchema struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Data    struct {
		InstancesCost jnum `json:"instances_cost"`
		VolumesCost   jnum `json:"volumes_cost"`
		ClustersCost  jnum `json:"clusters_cost"`
		TotalCost     jnum `json:"total_cost"`
	} `json:"data"`
}

type hsGraphPoint struct {
	Datetime jstamp `json:"datetime"`
	Value    jnum   `json:"value"`
}

type hsOrgMetrics struct {
	IncurredBill      jnum `json:"incurred_bill"`
	NonDiscountedBill jnum `json:"non_discounted_bill"`
	VMCost            jnum `json:"vm_cost"`
	VolumeCost        jnum `json:"volume_cost"`
	ContractCost      jnum `json:"contract_cost"`
	SnapshotCost      jnum `json:"snapshot_cost"`
}

type hsHistorySchema struct {
	Status         bool   `json:"status"`
	Message        string `json:"message"`
	BillingHistory struct {
		BillingHistory []struct {
			Attributes struct {
				ID string `json:"id"`
			} `json:"attributes"`
			Metrics hsOrgMetrics `json:"metrics"`
		} `json:"billing_history"`
		OrgID      jint `json:"org_id"`
		TotalCount jint `json:"total_count"`
	} `json:"billing_history"`
}

// hsHistoryGraphSchema is the history with graph=true: the metrics carry the graph.
type hsHistoryGraphSchema struct {
	Status         bool   `json:"status"`
	Message        string `json:"message"`
	BillingHistory struct {
		BillingHistory []struct {
			Attributes struct {
				ID string `json:"id"`
			} `json:"attributes"`
			Metrics struct {
				IncurredBill      jnum           `json:"incurred_bill"`
				NonDiscountedBill jnum           `json:"non_discounted_bill"`
				VMCost            jnum           `json:"vm_cost"`
				VolumeCost        jnum           `json:"volume_cost"`
				ContractCost      jnum           `json:"contract_cost"`
				SnapshotCost      jnum           `json:"snapshot_cost"`
				IncurredBillGraph []hsGraphPoint `json:"incurred_bill_graph"`
			} `json:"metrics"`
		} `json:"billing_history"`
		OrgID      jint `json:"org_id"`
		TotalCount jint `json:"total_count"`
	} `json:"billing_history"`
}

type hsResourceHistory struct {
	BillingHistory []struct {
		Attributes struct {
			ID           string `json:"id"`
			InfrahubID   jint   `json:"infrahub_id"`
			ResourceName string `json:"resource_name"`
			Status       string `json:"status" enum:"ACTIVE,SHUTOFF,HIBERNATED,DELETED"`
		} `json:"attributes"`
		Metrics struct {
			IncurredBill jnum `json:"incurred_bill"`
			PricePerHour jnum `json:"price_per_hour"`
			UsageTime    jnum `json:"usage_time"`
		} `json:"metrics"`
	} `json:"billing_history"`
	OrgID      jint `json:"org_id"`
	Pagination struct {
		Page    jint `json:"page"`
		Pages   jint `json:"pages"`
		PerPage jint `json:"per_page"`
	} `json:"pagination"`
	TotalCount jint `json:"total_count"`
}

type hsVMHistorySchema struct {
	Status           bool              `json:"status"`
	Message          string            `json:"message"`
	BillingHistoryVM hsResourceHistory `json:"billing_history_vm"`
}

type hsVolumeHistorySchema struct {
	Status               bool              `json:"status"`
	Message              string            `json:"message"`
	BillingHistoryVolume hsResourceHistory `json:"billing_history_volume"`
}

type hsDetailAttributes struct {
	ID           string `json:"id"`
	InfrahubID   jint   `json:"infrahub_id"`
	ResourceName string `json:"resource_name"`
}

type hsVMDetailsSchema struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Details struct {
		BillingHistory []struct {
			Attributes hsDetailAttributes `json:"attributes"`
			Metrics    struct {
				IncurredBill              jnum `json:"incurred_bill"`
				NonDiscountedBill         jnum `json:"non_discounted_bill"`
				PricePerHour              jnum `json:"price_per_hour"`
				NonDiscountedPricePerHour jnum `json:"non_discounted_price_per_hour"`
				UsageTime                 jnum `json:"usage_time"`
				UsageTimeActive           jnum `json:"usage_time_ACTIVE"`
				UsageTimeShutoff          jnum `json:"usage_time_SHUTOFF"`
				UsageTimeHibernated       jnum `json:"usage_time_HIBERNATED"`
			} `json:"metrics"`
		} `json:"billing_history"`
		OrgID      jint `json:"org_id"`
		TotalCount jint `json:"total_count"`
	} `json:"billing_history_vm_details"`
}

type hsVolumeDetailsSchema struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Details struct {
		BillingHistory []struct {
			Attributes hsDetailAttributes `json:"attributes"`
			Metrics    struct {
				IncurredBill              jnum `json:"incurred_bill"`
				NonDiscountedBill         jnum `json:"non_discounted_bill"`
				PricePerHour              jnum `json:"price_per_hour"`
				NonDiscountedPricePerHour jnum `json:"non_discounted_price_per_hour"`
				UsageTime                 jnum `json:"usage_time"`
			} `json:"metrics"`
		} `json:"billing_history"`
		OrgID      jint `json:"org_id"`
		TotalCount jint `json:"total_count"`
	} `json:"billing_history_volume_details"`
}

type hsGraphDetails struct {
	BillingHistory []struct {
		Attributes hsDetailAttributes `json:"attributes"`
		Metrics    struct {
			IncurredBill      jnum           `json:"incurred_bill"`
			IncurredBillGraph []hsGraphPoint `json:"incurred_bill_graph"`
		} `json:"metrics"`
	} `json:"billing_history"`
	Granularity jint `json:"granularity"`
	OrgID       jint `json:"org_id"`
	TotalCount  jint `json:"total_count"`
}

type hsVMGraphSchema struct {
	Status  bool           `json:"status"`
	Message string         `json:"message"`
	Details hsGraphDetails `json:"billing_history_vm_details"`
}

type hsVolumeGraphSchema struct {
	Status  bool           `json:"status"`
	Message string         `json:"message"`
	Details hsGraphDetails `json:"billing_history_snapshot_details"`
}

type hsEventsSchema struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Events  []struct {
		Event         string `json:"event" enum:"provisioned,changed,stopped,hibernated,started,price_changed,reserved,reservation_ended"`
		EventDuration jnum   `json:"event_duration"`
		PricePerHour  jnum   `json:"price_per_hour"`
		Start         jstamp `json:"start"`
		TotalCost     jnum   `json:"total_cost"`
	} `json:"billing_events_history"`
}

type hsSubResourceSchema struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Costs   struct {
		BillingHistory []struct {
			Attributes hsDetailAttributes `json:"attributes"`
			Metrics    struct {
				CPUIncurredBill            jnum           `json:"cpu_incurred_bill"`
				CPUIncurredBillGraph       []hsGraphPoint `json:"cpu_incurred_bill_graph"`
				GPUIncurredBill            jnum           `json:"gpu_incurred_bill"`
				GPUIncurredBillGraph       []hsGraphPoint `json:"gpu_incurred_bill_graph"`
				RAMIncurredBill            jnum           `json:"ram_incurred_bill"`
				RAMIncurredBillGraph       []hsGraphPoint `json:"ram_incurred_bill_graph"`
				DiskIncurredBill           jnum           `json:"disk_incurred_bill"`
				DiskIncurredBillGraph      []hsGraphPoint `json:"disk_incurred_bill_graph"`
				EphemeralIncurredBill      jnum           `json:"ephemeral_incurred_bill"`
				EphemeralIncurredBillGraph []hsGraphPoint `json:"ephemeral_incurred_bill_graph"`
				PublicIPIncurredBill       jnum           `json:"publicip_incurred_bill"`
				PublicIPIncurredBillGraph  []hsGraphPoint `json:"publicip_incurred_bill_graph"`
			} `json:"metrics"`
		} `json:"billing_history"`
		Granularity jint `json:"granularity"`
		OrgID       jint `json:"org_id"`
		TotalCount  jint `json:"total_count"`
	} `json:"sub_resources_costs"`
}

type hsPricebookSchema []struct {
	ID              jint   `json:"id"`
	Name            string `json:"name"`
	Value           jnum   `json:"value"`
	OriginalValue   jnum   `json:"original_value"`
	DiscountApplied bool   `json:"discount_applied"`
	StartTime       jtime  `json:"start_time"`
	EndTime         jtime  `json:"end_time"`
}

type hsCreditSchema struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	Data    struct {
		Credit            jnum `json:"credit"`
		Threshold         jnum `json:"threshold"`
		CanCreateInstance bool `json:"can_create_instance"`
	} `json:"data"`
}

// hsSchemas maps each route (its path, {id} a number) to the schema of its 200 answer.
var hsSchemas = []struct {
	path   *regexp.Regexp
	schema reflect.Type
}{
	{regexp.MustCompile(`^/v1/billing/billing/usage$`), reflect.TypeFor[hsUsageSchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/last-day-cost$`), reflect.TypeFor[hsLastDayCostSchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/history$`), nil}, // by its graph parameter
	{regexp.MustCompile(`^/v1/billing/billing/history/virtual-machine$`), reflect.TypeFor[hsVMHistorySchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/history/virtual-machine/[0-9]+$`), reflect.TypeFor[hsVMDetailsSchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/history/virtual-machine/[0-9]+/graph$`), reflect.TypeFor[hsVMGraphSchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/history/volume$`), reflect.TypeFor[hsVolumeHistorySchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/history/volume/[0-9]+$`), reflect.TypeFor[hsVolumeDetailsSchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/history/volume/[0-9]+/graph$`), reflect.TypeFor[hsVolumeGraphSchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/(virtual-machine|volume)/[0-9]+/billing-events$`), reflect.TypeFor[hsEventsSchema]()},
	{regexp.MustCompile(`^/v1/billing/billing/virtual-machine/[0-9]+/sub-resource/graph$`), reflect.TypeFor[hsSubResourceSchema]()},
	{regexp.MustCompile(`^/v1/pricebook$`), reflect.TypeFor[hsPricebookSchema]()},
	{regexp.MustCompile(`^/v1/billing/user-credit/credit$`), reflect.TypeFor[hsCreditSchema]()},
}

// checkHyperstackAnswer holds an answer to path (with its query) to the schema of its
// route, or to the error shape: it must have a status Hyperstack's client decodes (or
// 429), and decode strictly.
func checkHyperstackAnswer(t *testing.T, pathQuery string, r *e2etest.Response) {
	t.Helper()
	path, query, _ := strings.Cut(pathQuery, "?")
	var schema reflect.Type
	switch r.Status {
	case 200:
		for _, s := range hsSchemas {
			if s.path.MatchString(path) {
				schema = s.schema
			}
		}
		if strings.HasSuffix(path, "/billing/history") {
			schema = reflect.TypeFor[hsHistorySchema]()
			if strings.Contains(strings.ToLower(query), "graph=true") {
				schema = reflect.TypeFor[hsHistoryGraphSchema]()
			}
		}
		if schema == nil {
			t.Fatalf("GET %s: 200 for a path no route has", pathQuery)
		}
	case 400, 401, 403, 404, 429:
		schema = reflect.TypeFor[hsErrorSchema]()
	default:
		t.Fatalf("GET %s: status %d, which Hyperstack's client does not decode: %s", pathQuery, r.Status, r.Body)
	}
	if errs := strictDecode(r.Body, schema); len(errs) > 0 {
		t.Errorf("GET %s (%d): the answer does not decode strictly:\n  %s\n%s", pathQuery, r.Status, strings.Join(errs, "\n  "), r.Body)
	}
}

// ---------------------------------------------------------------------------------------
// Exact sums.

// decimal parses a JSON number literal or a decimal string exactly.
func decimal(t *testing.T, v any) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(str(v))
	if !ok {
		t.Fatalf("%v is not a decimal", v)
	}
	return r
}

// fixed8 formats r with 8 decimals (r must be a multiple of 1e-8, as sums of amounts are).
func fixed8(r *big.Rat) string { return r.FloatString(8) }

// hsObject decodes a 200 answer with numbers kept as literals.
func hsObject(t *testing.T, r *e2etest.Response, what string) map[string]any {
	t.Helper()
	e2etest.MustStatus(t, r, http.StatusOK, what)
	return r.Object(t)
}

// dig walks an answer by object keys and array indexes.
func dig(t *testing.T, v any, steps ...any) any {
	t.Helper()
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v is not an object (looking for %q)", v, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v is not an array of more than %d elements", v, k)
			}
			v = l[k]
		}
	}
	return v
}

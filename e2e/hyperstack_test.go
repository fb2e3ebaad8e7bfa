package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/server"
)

// hsGoldens are the requests whose answers are pinned in testdata/hyperstack/: every
// route, and each error status. key is "customer" (organization 7), "other"
// (organization 8), "admin" (utilization_reports_read: every organization), "bogus" or
// "" (none).
var hsGoldens = []struct {
	name, key, path string
	status          int
}{
	{"usage", "customer", "/v1/billing/billing/usage", 200},
	{"usage_deleted_environment", "customer", "/v1/billing/billing/usage?deleted=true&environment=default-CANADA-1", 200},
	{"usage_not_deleted", "customer", "/v1/billing/billing/usage?deleted=false", 200},
	{"usage_environment_id", "customer", "/v1/billing/billing/usage?environment=71", 200},
	{"usage_admin", "admin", "/v1/billing/billing/usage", 200},
	{"usage_admin_organization", "admin", "/v1/billing/billing/usage?organization_id=8", 200},
	{"last_day_cost", "customer", "/v1/billing/billing/last-day-cost", 200},
	{"history", "customer", "/v1/billing/billing/history?" + hsQuery, 200},
	{"history_graph", "customer", "/v1/billing/billing/history?end_date=2026-11-30T23%3A59%3A59&graph=true&start_date=2026-11-01T00%3A00%3A00", 200},
	{"history_admin", "admin", "/v1/billing/billing/history?" + hsQuery, 200},
	{"history_vm", "customer", "/v1/billing/billing/history/virtual-machine?end_date=2026-11-30T23%3A59%3A59&page=1&per_page=10&search=gpu&start_date=2026-11-01T00%3A00%3A00", 200},
	{"history_vm_page2", "customer", "/v1/billing/billing/history/virtual-machine?" + hsQuery + "&per_page=2&page=2", 200},
	{"history_vm_past_last_page", "customer", "/v1/billing/billing/history/virtual-machine?" + hsQuery + "&per_page=2&page=9", 200},
	{"history_vm_details", "customer", "/v1/billing/billing/history/virtual-machine/4242?" + hsQuery, 200},
	{"history_vm_graph", "customer", "/v1/billing/billing/history/virtual-machine/4242/graph?" + hsQuery, 200},
	{"vm_billing_events", "customer", "/v1/billing/billing/virtual-machine/4242/billing-events?" + hsQuery, 200},
	{"vm_sub_resource_graph", "customer", "/v1/billing/billing/virtual-machine/4242/sub-resource/graph?" + hsQuery, 200},
	{"history_volume", "customer", "/v1/billing/billing/history/volume?" + hsQuery + "&page=1&per_page=10", 200},
	{"history_volume_details", "customer", "/v1/billing/billing/history/volume/777?" + hsQuery, 200},
	{"history_volume_graph", "customer", "/v1/billing/billing/history/volume/777/graph?" + hsQuery, 200},
	{"volume_billing_events", "customer", "/v1/billing/billing/volume/777/billing-events?" + hsQuery, 200},
	{"pricebook", "customer", "/v1/pricebook", 200},
	{"pricebook_admin", "admin", "/v1/pricebook", 200},
	{"credit", "customer", "/v1/billing/user-credit/credit", 200}, // never topped up: not prepaid

	{"error_400_date", "customer", "/v1/billing/billing/history?start_date=2026-11-01T00:00:00Z", 400},
	{"error_400_per_page", "customer", "/v1/billing/billing/history/virtual-machine?per_page=0", 400},
	{"error_401_no_key", "", "/v1/billing/billing/usage", 401},
	{"error_401_unknown_key", "bogus", "/v1/billing/billing/usage", 401},
	{"error_403_organization", "customer", "/v1/billing/billing/usage?organization_id=8", 403},
	{"error_404_vm", "customer", "/v1/billing/billing/history/virtual-machine/999999?" + hsQuery, 404},
	{"error_404_route", "customer", "/v1/billing/billing/nothing", 404},
	{"error_404_credit_organization", "admin", "/v1/billing/user-credit/credit?organization_id=424242", 404},
}

func (e *hsEnv) key(name string) string {
	switch name {
	case "customer":
		return e.Customer
	case "other":
		return e.Other
	case "admin":
		return e.AdminKey
	case "bogus":
		return "7:no-such-key"
	}
	return ""
}

// TestHyperstackGolden pins the answer of every route and of each error status, on both
// engines (the same files for both), and holds each to the strict schema of its route.
func TestHyperstackGolden(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startHyperstack(t, eng)
		for _, g := range hsGoldens {
			t.Run(g.name, func(t *testing.T) {
				r := hsGet(t, e.Server, e.key(g.key), g.path)
				if r.Status != g.status {
					t.Fatalf("status %d, want %d: %s", r.Status, g.status, r.Body)
				}
				checkHyperstackAnswer(t, g.path, r)
				testutil.Golden(t, filepath.Join("testdata", "hyperstack", g.name+".golden"), r.Body)
			})
		}
	})
}

// TestHyperstackRateLimit: past its limit, a key is answered 429 in the error shape with
// Retry-After; other keys, and requests without a key, are not held back by it.
func TestHyperstackRateLimit(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		srv := e2etest.StartServerWith(t, eng, server.Config{HyperstackRateLimit: 3})
		customer, other := srv.CreateKey(t, hsOrg), srv.CreateKey(t, hsOtherOrg)
		for i := range 3 {
			e2etest.MustStatus(t, hsGet(t, srv, customer, "/v1/pricebook"), 200, fmt.Sprintf("request %d of 3", i+1))
			e2etest.MustStatus(t, hsGet(t, srv, "", "/v1/pricebook"), 401, "no key")
		}
		r := hsGet(t, srv, customer, "/v1/billing/billing/usage")
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("4th request: status %d, want 429: %s", r.Status, r.Body)
		}
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || wait < 1 || wait > 20 {
			t.Errorf("Retry-After %q, want 1 to 20 seconds (a token every 20 s)", r.Header.Get("Retry-After"))
		}
		checkHyperstackAnswer(t, "/v1/billing/billing/usage", r)
		body := regexp.MustCompile(`retry after [0-9]+ seconds`).ReplaceAll(r.Body, []byte("retry after N seconds"))
		testutil.Golden(t, filepath.Join("testdata", "hyperstack", "error_429_rate_limit.golden"), body)
		if !strings.Contains(string(r.Body), fmt.Sprintf("retry after %d seconds", wait)) {
			t.Errorf("the message does not say the Retry-After of %d s: %s", wait, r.Body)
		}
		e2etest.MustStatus(t, hsGet(t, srv, other, "/v1/pricebook"), 200, "another key")
	})
}

// TestHyperstackLastDayCost: the cost of the previous UTC day, of resources that ran all
// of it; and the usage of a live resource (its rate per minute, no terminate_time).
func TestHyperstackLastDayCost(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		srv := e2etest.StartServer(t, eng)
		srv.PutPrices(t, hsPrices)
		day := time.Now().UTC().Truncate(24 * time.Hour)
		at := day.AddDate(0, 0, -2).Format(time.RFC3339)
		srv.PostEvents(t, batch(
			hsProvision("live-1", at, 9001, "instance", 9, 90, "prod", "web-9001", map[string]any{}, false),
			hsProvision("live-2", at, 9002, "drive", 9, 90, "prod", "disk-9002", map[string]any{"drive_size_mbytes": 102400, "storage_type": "iscsi_ssd"}, false),
		))
		key := srv.CreateKey(t, 9)
		r := hsGet(t, srv, key, "/v1/billing/billing/last-day-cost")
		if now := time.Now().UTC().Truncate(24 * time.Hour); !now.Equal(day) {
			t.Skip("the day changed during the test")
		}
		checkHyperstackAnswer(t, "/v1/billing/billing/last-day-cost", r)
		// A whole day: 24 h x 0.31 and 24 h x 100 GiB x 0.0004.
		testutil.Golden(t, filepath.Join("testdata", "hyperstack", "last_day_cost_ran_all_day.golden"), r.Body)

		r = hsGet(t, srv, key, "/v1/billing/billing/usage")
		checkHyperstackAnswer(t, "/v1/billing/billing/usage", r)
		data := dig(t, hsObject(t, r, "usage"), "data").([]any)
		if len(data) != 2 {
			t.Fatalf("usage: %d resources, want 2: %s", len(data), r.Body)
		}
		for i, want := range []struct{ typ, perMinute string }{{"vm", "0.00516667"}, {"volume", "0.00066667"}} {
			item := data[i].(map[string]any)
			if item["resource_type"] != want.typ || str(item["bill_per_minute"]) != want.perMinute || item["terminate_time"] != nil ||
				item["active"] != true || item["create_time"] != day.AddDate(0, 0, -2).Format("2006-01-02T15:04:05") {
				t.Errorf("usage of a live %s: %v; want bill_per_minute %s, terminate_time null, active", want.typ, item, want.perMinute)
			}
		}
	})
}

// TestHyperstackClientRequests replays every request of Hyperstack's generated Go client
// (testdata/hyperstack-sdk/, copied from the shared wire captures) as it arrived: its
// method, raw path and query, and headers in their own case (the key in "Api_key"), and
// checks that each answer has a status and a body the client decodes.
func TestHyperstackClientRequests(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		files, err := filepath.Glob(filepath.Join("testdata", "hyperstack-sdk", "*.json"))
		if err != nil || len(files) < 15 {
			t.Fatalf("the client's requests: %v, %v", files, err)
		}
		e := startHyperstack(t, eng)
		for _, f := range files {
			t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				var capture struct {
					Method  string      `json:"method"`
					RawPath string      `json:"raw_path"`
					Headers [][2]string `json:"headers"`
				}
				if err := json.Unmarshal(raw, &capture); err != nil {
					t.Fatal(err)
				}
				req, err := http.NewRequest(capture.Method, e.URL+capture.RawPath, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range capture.Headers {
					name, value := h[0], h[1]
					switch {
					case strings.EqualFold(name, "Host"):
						continue // the test server's own
					case strings.EqualFold(name, "api_key"):
						value = e.Customer
					}
					req.Header[name] = append(req.Header[name], value) // the name as sent, not canonicalized
				}
				r := e.Send(t, req)
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
				checkHyperstackAnswer(t, capture.RawPath, r)
				if r.Status != 200 {
					t.Errorf("status %d, want 200: %s", r.Status, r.Body)
				}
			})
		}
	})
}

const hsVMPath, hsHistoryPath = "/v1/billing/billing/history/virtual-machine", "/v1/billing/billing/history"

// hsBadInput are client mistakes and the answers they get.
var hsBadInput = []struct {
	name, key, path string
	status          int
	message         string // a part of the message
}{
	{"UnknownVM", "customer", hsVMPath + "/999999", 404, "virtual machine 999999 not found"},
	{"VolumeAsVM", "customer", hsVMPath + "/777", 404, "virtual machine 777 not found"},
	{"VMAsVolume", "customer", "/v1/billing/billing/volume/4242/billing-events", 404, "volume 4242 not found"},
	{"SubnetAsVolume", "customer", "/v1/billing/billing/history/volume/6001", 404, "volume 6001 not found"},
	{"OtherOrganizationsVM", "customer", hsVMPath + "/5000", 404, "virtual machine 5000 not found"},
	{"OtherOrganizationsVMGraph", "other", hsVMPath + "/4242/graph", 404, "virtual machine 4242 not found"},
	{"OtherOrganizationsEvents", "other", "/v1/billing/billing/virtual-machine/4242/billing-events", 404, "not found"},
	{"IDNotANumber", "customer", hsVMPath + "/abc", 400, `id: "abc" must be a whole number above 0`},
	{"IDZero", "customer", hsVMPath + "/0", 400, "above 0"},
	{"IDNegative", "customer", hsVMPath + "/-1", 400, "above 0"},
	{"IDTooLarge", "customer", hsVMPath + "/99999999999999999999", 400, "above 0"},
	{"DateOnly", "customer", hsHistoryPath + "?start_date=2026-11-01", 400, "start_date"},
	{"DateWithZone", "customer", hsHistoryPath + "?start_date=2026-11-01T00:00:00Z", 400, "YYYY-MM-DDTHH:MM:SS"},
	{"DateWithOffset", "customer", hsHistoryPath + "?end_date=2026-11-01T00:00:00%2B01:00", 400, "end_date"},
	{"MonthThirteen", "customer", hsHistoryPath + "?start_date=2026-13-01T00:00:00", 400, "start_date"},
	{"DateGarbage", "customer", hsVMPath + "/4242?end_date=yesterday", 400, "end_date"},
	{"DateBefore1970", "customer", hsHistoryPath + "?start_date=1969-12-31T23:59:59", 400, "start_date"},
	{"EndBeforeStart", "customer", hsHistoryPath + "?start_date=2026-11-30T00:00:00&end_date=2026-11-01T00:00:00", 400, "before start_date"},
	{"WindowTooLong", "customer", hsHistoryPath + "?start_date=2010-01-01T00:00:00&end_date=2026-11-01T00:00:00", 400, "more than 5 years"},
	{"PerPageZero", "customer", hsVMPath + "?per_page=0", 400, "per_page"},
	{"PerPageNegative", "customer", hsVMPath + "?per_page=-5", 400, "per_page"},
	{"PerPageNotANumber", "customer", hsVMPath + "?per_page=ten", 400, "per_page"},
	{"PerPageTooLarge", "customer", "/v1/billing/billing/history/volume?per_page=100000", 400, "from 1 to 1000"},
	{"PageMinusOne", "customer", hsVMPath + "?page=-1", 400, "page"},
	{"PageZero", "customer", "/v1/billing/billing/history/volume?page=0", 400, "page"},
	{"PageFraction", "customer", hsVMPath + "?page=1.5", 400, "page"},
	{"DeletedMaybe", "customer", "/v1/billing/billing/usage?deleted=maybe", 400, "deleted"},
	{"GraphMaybe", "customer", hsHistoryPath + "?graph=1", 400, "graph"},
	{"UnknownEnvironment", "customer", "/v1/billing/billing/usage?environment=nowhere", 404, "environment"},
	{"OtherOrganizationsEnvironment", "customer", "/v1/billing/billing/usage?environment=default-NORWAY-1", 404, "environment"},
	{"EnvironmentControlCharacter", "customer", "/v1/billing/billing/usage?environment=a%00b", 400, "environment"},
	{"SearchInvalidUTF8", "customer", hsVMPath + "?search=%FF", 400, "search"},
	{"OtherOrganization", "customer", "/v1/billing/billing/history?organization_id=8", 403, "reading organization 8 needs the utilization_reports_read permission"},
	{"OrganizationNotANumber", "customer", "/v1/billing/billing/usage?organization_id=x", 400, "organization_id"},
	{"UnknownOrganization", "admin", "/v1/billing/billing/last-day-cost?organization_id=424242", 404, "organization 424242 not found"},
	{"OtherOrganizationsCredit", "customer", "/v1/billing/user-credit/credit?organization_id=8", 403, "reading organization 8 needs the utilization_reports_read permission"},
	{"CreditOrganizationNotANumber", "customer", "/v1/billing/user-credit/credit?organization_id=-1", 400, "organization_id"},
	{"UnknownCreditOrganization", "admin", "/v1/billing/user-credit/credit?organization_id=424242", 404, "organization 424242 not found"},
	{"CreditWrongPath", "customer", "/v1/billing/user-credit", 404, "no such route"},
	{"NoKey", "", "/v1/pricebook", 401, "api_key"},
	{"UnknownKey", "bogus", "/v1/pricebook", 401, ""},
	{"UnknownRoute", "customer", "/v1/billing/billing/history/snapshot", 404, "no such route"},
}

// TestHyperstackBadInput: a client mistake is answered with the right 4xx in
// Hyperstack's error shape, never a 5xx.
func TestHyperstackBadInput(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startHyperstack(t, eng)
		for _, c := range hsBadInput {
			t.Run(c.name, func(t *testing.T) {
				r := hsGet(t, e.Server, e.key(c.key), c.path)
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
				}
				checkHyperstackAnswer(t, c.path, r)
				if msg, _ := r.Object(t)["message"].(string); !strings.Contains(msg, c.message) {
					t.Errorf("message does not say %q: %s", c.message, r.Body)
				}
			})
		}
		t.Run("HeaderInAnyCase", func(t *testing.T) {
			for _, name := range []string{"api_key", "API_KEY", "Api_Key"} {
				req, _ := http.NewRequest(http.MethodGet, e.URL+"/v1/pricebook", nil)
				req.Header[name] = []string{e.Customer}
				if r := e.Send(t, req); r.Status != 200 {
					t.Errorf("header %s: status %d: %s", name, r.Status, r.Body)
				}
			}
		})
		t.Run("WrongMethod", func(t *testing.T) {
			r := e.Do(t, http.MethodPost, "/v1/billing/billing/usage", "", "application/json", []byte("{}"))
			if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") == "" {
				t.Errorf("POST usage: %d, Allow %q: %s", r.Status, r.Header.Get("Allow"), r.Body)
			}
			if errs := strictDecode(r.Body, reflect.TypeFor[hsErrorSchema]()); len(errs) > 0 {
				t.Errorf("not in the error shape: %v: %s", errs, r.Body)
			}
		})
	})
}

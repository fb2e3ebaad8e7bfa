package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/server"
	"github.com/cloudmeter/cloudmeter/service"
)

// TestHostileInput sends what a hostile client with valid keys would send: values that
// overflow, NUL bytes and invalid UTF-8, times whose offsets move them out of range,
// batches past their limits, bodies holding two JSON values, malformed headers, oversized
// text. Each must be refused with a 4xx (or a JSON-RPC error) whose message names the
// field or the limit; nothing may be stored; and afterwards every read endpoint must
// still answer without a 5xx. (Traffic totals that overflow across requests are in
// overflow_test.go, slow clients in slowclient_test.go.)
func TestHostileInput(t *testing.T) { e2etest.OnEachEngine(t, testHostileInput) }

type hostileCase struct {
	name                     string
	method, path, key, ctype string
	body                     string
	status                   int
	names                    []string // substrings the error message must hold
}

type hostileRPC struct {
	name  string
	key   string
	body  string
	code  int
	names []string
}

func testHostileInput(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	admin := srv.AdminKey
	writer := srv.CreateKey(t, 1, "events_write")
	customer2 := srv.CreateKey(t, 2) // a customer: no permission
	ev := func(id, tm string, data string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"hostile","type":"cloudmeter.resource.provisioned","time":%q,"data":%s}`, id, tm, data)
	}
	prov := func(product int, extra string) string {
		return fmt.Sprintf(`{"product_id":%d,"resource_type":"drive","user_id":1,"infrastructure_id":3668,"datacenter":"uk-reading"%s}`, product, extra)
	}
	mega := strings.Repeat("x", 1<<20)
	// A product of user 1 that customer2 may not see, and one that does not exist: the
	// two answers must be the same.
	otherProduct := srv.Do(t, "GET", "/api/v1/resources/2416", customer2, "", nil)
	missingProduct := srv.Do(t, "GET", "/api/v1/resources/987654321", customer2, "", nil)
	if otherProduct.Status != http.StatusNotFound || missingProduct.Status != http.StatusNotFound ||
		strings.ReplaceAll(string(otherProduct.Body), "2416", "N") != strings.ReplaceAll(string(missingProduct.Body), "987654321", "N") {
		t.Errorf("another user's product answers %d %s, a missing one %d %s: they must be the same 404",
			otherProduct.Status, otherProduct.Body, missingProduct.Status, missingProduct.Body)
	}

	cases := []hostileCase{
		// Overflow and out-of-range numbers.
		{"DriveSizeOverflow", "POST", "/api/v1/events", writer, "application/json",
			ev("h-drive", "2024-01-01T00:00:00Z", prov(9001, `,"attributes":{"drive_size_mbytes":9223372036854775807}`)), 400,
			[]string{"data.attributes.drive_size_mbytes"}},
		{"TrafficSampleTooLarge", "POST", "/api/v1/events", writer, "application/json",
			`{"specversion":"1.0","id":"h-t","source":"hostile","type":"cloudmeter.traffic.metered","time":"2024-01-01T00:00:00Z","data":{"product_id":1,"direction":"upload","bytes":9223372036854775808}}`,
			400, []string{"data.bytes"}},
		// NUL bytes and invalid UTF-8.
		{"DatacenterInvalidUTF8", "GET", "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z&datacenter=%ff%fe", admin, "", "", 400,
			[]string{"datacenter", "UTF-8"}},
		{"DatacenterNUL", "GET", "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z&datacenter=a%00b", admin, "", "", 400,
			[]string{"datacenter", "control"}},
		{"RevokeKeyNUL", "DELETE", "/api/v1/keys/%00", admin, "", "", 400, []string{"id", "control"}},
		{"RevokeKeyInvalidUTF8", "DELETE", "/api/v1/keys/%ff", admin, "", "", 400, []string{"id", "UTF-8"}},
		{"KeyLabelNUL", "POST", "/api/v1/keys", admin, "application/json", `{"user_id":5,"permissions":["prices_read"],"label":"a\u0000b"}`, 400,
			[]string{"label", "control"}},
		{"EventLabelNUL", "POST", "/api/v1/events", writer, "application/json",
			ev("h-nul", "2024-01-01T00:00:00Z", prov(9002, `,"label":"a\u0000b"`)), 400, []string{"data.label", "control"}},
		{"EventDatacenterNUL", "POST", "/api/v1/events", writer, "application/json",
			ev("h-dc", "2024-01-01T00:00:00Z", `{"product_id":9003,"resource_type":"drive","user_id":1,"infrastructure_id":3668,"datacenter":"uk\u0000"}`), 400,
			[]string{"data.datacenter", "control"}},
		{"EventBodyInvalidUTF8", "POST", "/api/v1/events", writer, "application/json",
			ev("h-utf", "2024-01-01T00:00:00Z", prov(9004, `,"label":"a`+"\xff\xfe"+`b"`)), 400, []string{"UTF-8"}},
		{"PricesCurrencyNUL", "PUT", "/api/v1/prices", admin, "application/json", `{"currency":"G\u0000P","entries":[]}`, 400, []string{"currency"}},
		// Time-zone offsets at the edges of the range.
		{"EventBefore1970ByOffset", "POST", "/api/v1/events", writer, "application/json",
			ev("h-1969", "1970-01-01T00:00:00+01:00", prov(9005, "")), 400, []string{"time", "1970"}},
		{"EventAfter9999ByOffset", "POST", "/api/v1/events", writer, "application/json",
			ev("h-10000", "9999-12-31T23:59:59-01:00", prov(9006, "")), 400, []string{"time", "9999"}},
		{"WindowBefore1970ByOffset", "GET", "/api/v1/users/1/utilization?from=1970-01-01T00:00:00%2B01:00&to=1971-01-01T00:00:00Z", admin, "", "", 400,
			[]string{"from", "1970"}},
		{"WindowAfter9999ByOffset", "GET", "/api/v1/users/1/utilization?from=9999-01-01T00:00:00Z&to=9999-12-31T23:59:59-01:00", admin, "", "", 400,
			[]string{"to", "9999"}},
		// Two JSON values in one body.
		{"EventsTwoObjects", "POST", "/api/v1/events", writer, "application/json",
			ev("h-two-1", "2024-01-01T00:00:00Z", prov(9007, "")) + ev("h-two-2", "2024-01-01T00:00:00Z", prov(9008, "")), 400, []string{"JSON"}},
		{"KeysTwoObjects", "POST", "/api/v1/keys", admin, "application/json",
			`{"user_id":5,"permissions":["prices_read"]}{"user_id":6,"permissions":["admin"]}`, 400, []string{"after the JSON object"}},
		{"PricesTwoObjects", "PUT", "/api/v1/prices", admin, "application/json",
			`{"currency":"GBP","entries":[]}{"currency":"USD","entries":[]}`, 400, []string{"after the JSON object"}},
		// Malformed and missing structure.
		{"PricesEntriesNull", "PUT", "/api/v1/prices", admin, "application/json", `{"currency":"GBP","entries":null}`, 400, []string{"entries"}},
		{"PricesEntriesMissing", "PUT", "/api/v1/prices", admin, "application/json", `{"currency":"GBP"}`, 400, []string{"entries"}},
		{"ContentTypeNoMediaType", "POST", "/api/v1/events", writer, ";;;",
			ev("h-ct", "2024-01-01T00:00:00Z", prov(9009, "")), 400, []string{"Content-Type"}},
		// Oversized text.
		{"EventLabelMegabyte", "POST", "/api/v1/events", writer, "application/json",
			ev("h-big", "2024-01-01T00:00:00Z", prov(9010, `,"label":"`+mega+`"`)), 400, []string{"data.label", "1024 bytes"}},
		{"EventSubdomainMegabyte", "POST", "/api/v1/events", writer, "application/json",
			ev("h-big2", "2024-01-01T00:00:00Z", prov(9011, `,"subdomain":"`+mega+`"`)), 400, []string{"data.subdomain", "1024 bytes"}},
		{"EventSubjectMegabyte", "POST", "/api/v1/events", writer, "application/json",
			`{"specversion":"1.0","id":"h-subj","source":"hostile","type":"cloudmeter.resource.deleted","time":"2024-01-01T00:00:00Z","subject":"` + mega + `","data":{"product_id":9012}}`,
			400, []string{"subject", "1024 bytes"}},
		{"KeyLabelMegabyte", "POST", "/api/v1/keys", admin, "application/json", `{"user_id":5,"permissions":["prices_read"],"label":"` + mega + `"}`, 400,
			[]string{"label", "1024 bytes"}},
		// Huge announced bodies.
		{"EventsBatchOverLimit", "POST", "/api/v1/events", writer, "application/json", "[" + strings.Repeat(ev("h-many", "2024-01-01T00:00:00Z", prov(9013, ""))+",", 10000) +
			ev("h-last", "2024-01-01T00:00:00Z", prov(9014, "")) + "]", 413, []string{"--max-batch-events"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := srv.Do(t, c.method, c.path, c.key, c.ctype, []byte(c.body))
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %.600s", r.Status, c.status, r.Body)
			}
			checkNames(t, nativeMessage(t, r.Body), c.names)
		})
	}

	rpcCases := []hostileRPC{
		{"DatacenterNamesNUL", admin, `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_detailed","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z",null,["a\u0000b"]]}`,
			143, []string{"datacenter_names"}},
		{"StartBefore1970ByOffset", admin, detailed(1, "1970-01-01T00:00:00+01:00", "1971-01-01T00:00:00Z"), 149, []string{"start", "1970"}},
		{"EndAfter9999ByOffset", admin, summary(1, "9999-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"), 149, []string{"end", "9999"}},
		{"TwoObjects", admin, detailed(1, "2016-01-01T00:00:00Z", "2016-12-31T23:59:59Z") + detailed(1, "2016-01-01T00:00:00Z", "2016-12-31T23:59:59Z"), -32700, nil},
		{"BatchOverLimit", admin, "[" + strings.TrimSuffix(strings.Repeat(summary(1, "2016-01-01T00:00:00Z", "2016-01-01T00:00:01Z")+",", 101), ",") + "]",
			-32600, []string{"100", "--max-rpc-batch"}},
		{"IDInvalidUTF8", admin, `{"jsonrpc":"2.0","id":"` + "\xff" + `","method":"resource_utilization_summary","params":[1,"2016-01-01T00:00:00Z","2016-01-02T00:00:00Z"]}`,
			-32600, nil},
	}
	for _, c := range rpcCases {
		t.Run("RPC"+c.name, func(t *testing.T) {
			r := srv.RPC(t, c.key, c.body)
			if !json.Valid(r.Body) {
				t.Fatalf("the answer is not valid JSON: %q", r.Body)
			}
			code, msg := rpcError(t, r)
			if code != c.code {
				t.Fatalf("code %d (%s), want %d", code, msg, c.code)
			}
			checkNames(t, msg, c.names)
		})
	}

	// Nothing of the refused requests was stored: no product 9001 to 9014, no key of
	// user 5 or 6.
	for p := 9001; p <= 9014; p++ {
		if r := srv.Do(t, "GET", fmt.Sprintf("/api/v1/resources/%d", p), admin, "", nil); r.Status != http.StatusNotFound {
			t.Errorf("product %d of a refused request answers %d: %s", p, r.Status, r.Body)
		}
	}
	keys := srv.Do(t, "GET", "/api/v1/keys", admin, "", nil)
	if strings.Contains(string(keys.Body), `"user_id": 5`) || strings.Contains(string(keys.Body), `"user_id": 6`) {
		t.Errorf("a refused key was stored: %s", keys.Body)
	}

	// Every read still answers (a 5xx fails the test inside Do and RPC).
	for _, path := range []string{"/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2020-12-31T23:59:59Z", "/api/v1/users/1/utilization?from=2022-01-01T00:00:00Z&to=2026-12-31T23:59:59Z", "/api/v1/anomalies",
		"/api/v1/anomalies?user=1", "/api/v1/resources/2416", "/api/v1/prices", "/api/v1/keys", "/healthz", "/readyz", "/metrics"} {
		if r := srv.Do(t, "GET", path, admin, "", nil); r.Status != http.StatusOK {
			t.Errorf("GET %s after the hostile input: %d: %.300s", path, r.Status, r.Body)
		}
	}
	for _, body := range []string{detailed(1, "2016-01-01T00:00:00Z", "2020-12-31T23:59:59Z"), summary(1, "2016-01-01T00:00:00Z", "2020-12-31T23:59:59Z"),
		detailed(1, "2022-01-01T00:00:00Z", "2026-12-31T23:59:59Z")} {
		rpcResult(t, srv.RPC(t, admin, body))
	}
}

// nativeMessage returns the message of a native error body.
func nativeMessage(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Error.Message == "" {
		t.Fatalf("not a native error body (%v): %.300s", err, body)
	}
	return v.Error.Message
}

func checkNames(t *testing.T, msg string, names []string) {
	t.Helper()
	for _, n := range names {
		if !strings.Contains(msg, n) {
			t.Errorf("the message does not name %q: %.400s", n, msg)
		}
	}
}

// TestReportRecordLimit: a report that would hold more usage records than
// --max-report-records is refused, on every surface, with a message that names the limit
// and says what to do; a smaller window of the same user is served.
func TestReportRecordLimit(t *testing.T) { e2etest.OnEachEngine(t, testReportRecordLimit) }

func testReportRecordLimit(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServerWith(t, eng, server.Config{Service: service.Limits{MaxReportRecords: 3}})
	srv.LoadSeed(t) // user 1's seed report holds 4 records
	r := srv.Do(t, "GET", "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z", srv.AdminKey, "", nil)
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", r.Status, r.Body)
	}
	checkNames(t, nativeMessage(t, r.Body), []string{"more than 3", "--max-report-records", "shorter window"})
	code, msg := rpcError(t, srv.RPC(t, srv.AdminKey, detailed(1, "2016-01-01T00:00:00Z", "2016-12-31T23:59:59Z")))
	if code != -32600 {
		t.Errorf("JSON-RPC code %d, want -32600: %s", code, msg)
	}
	checkNames(t, msg, []string{"--max-report-records"})
	// The shared drive alone (one record, 2016-01-22 to 01-25) is served.
	rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, "2016-01-23T00:00:00Z", "2016-01-23T23:59:59Z")))
}

package metalsoft_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/service"
)

const seedWindow = `"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"`

func detailedCall(params string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_detailed","params":` + params + `}`
}

func summaryCall(params string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_summary","params":` + params + `}`
}

type answer struct {
	Result  json.RawMessage `json:"result"`
	Error   *rpcError       `json:"error"`
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
}

type rpcError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}

func decode(t *testing.T, body []byte) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, body)
	}
	if a.JSONRPC != "2.0" {
		t.Fatalf("jsonrpc %q: %s", a.JSONRPC, body)
	}
	return a
}

// TestSeedReport checks the seed example's four records through the adapter, to the
// last digit, and the whole answer against a golden file.
func TestSeedReport(t *testing.T) {
	api := newTestAPI(t, seedSpans())
	body := api.call(t, readKey, `{"id":null, "jsonrpc": 2.0, "method": "resource_utilization_detailed", "params": [1,`+seedWindow+`]}`)
	testutil.Golden(t, "testdata/seed_detailed.golden", body)

	a := decode(t, body)
	if a.Error != nil || string(a.ID) != "null" {
		t.Fatalf("answer %s", body)
	}
	var res struct {
		Detailed map[string]map[string][]map[string]any `json:"detailed_report"`
	}
	if err := json.Unmarshal(a.Result, &res); err != nil {
		t.Fatal(err)
	}
	want := map[string][5]string{ // start, end, quantity, cost_per_unit, cost
		"shared_drive": {"2016-01-22T14:39:04Z", "2016-01-25T09:54:39Z", "242136", "0.00347222", "0.23354152"},
		"drive":        {"2016-02-01T12:58:15Z", "2016-02-04T10:31:03Z", "250369", "0.01601563", "1.11383813"},
		"instance":     {"2016-02-01T12:58:00Z", "2016-02-02T12:23:00Z", "84301", "0.31000000", "7.25925278"},
		"subnet":       {"2016-02-01T12:57:58Z", "2016-02-04T10:30:53Z", "250376", "0.00000000", "0.00000000"},
	}
	for typ, w := range want {
		recs := res.Detailed["3668"][typ]
		if len(recs) != 1 {
			t.Errorf("%s: %d records", typ, len(recs))
			continue
		}
		r := recs[0]
		got := [5]string{r["start_timestamp"].(string), r["end_timestamp"].(string), r["quantity"].(string), r["cost_per_unit"].(string), r["cost"].(string)}
		if got != w {
			t.Errorf("%s: got %v, want %v", typ, got, w)
		}
	}
}

// TestRecordFields checks that each record has exactly the seed's fields for its type,
// in alphabetical order, with ids as numbers and decimals as strings.
func TestRecordFields(t *testing.T) {
	api := newTestAPI(t, seedSpans())
	body := api.call(t, adminKey, detailedCall(`[1,`+seedWindow+`]`))
	common := []string{"cost", "cost_currency", "cost_per_unit", "end_timestamp", "is_reservation", "measurement_period",
		"measurement_unit", "product_id", "product_label", "product_subdomain", "quantity", "start_timestamp"}
	want := map[string][]string{
		"shared_drive": append(slices.Clone(common), "shared_drive_size_mbytes"),
		"drive":        append(slices.Clone(common), "drive_size_mbytes"),
		"instance":     append(slices.Clone(common), "server_type_id"),
		"subnet":       append(slices.Clone(common), "subnet_prefix_size", "subnet_type"),
	}
	var res struct {
		Detailed map[string]map[string][]json.RawMessage `json:"detailed_report"`
	}
	if err := json.Unmarshal(decode(t, body).Result, &res); err != nil {
		t.Fatal(err)
	}
	for typ, fields := range want {
		slices.Sort(fields)
		recs := res.Detailed["3668"][typ]
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", typ, len(recs))
		}
		got := objectKeyOrder(t, recs[0])
		if d := cmp.Diff(fields, got); d != "" {
			t.Errorf("%s fields, in order (-want +got):\n%s", typ, d)
		}
		var rec map[string]any
		if err := json.Unmarshal(recs[0], &rec); err != nil {
			t.Fatal(err)
		}
		if _, ok := rec["product_id"].(float64); !ok {
			t.Errorf("%s product_id %v is not a number", typ, rec["product_id"])
		}
		for _, f := range []string{"cost", "cost_per_unit", "quantity", "measurement_period", "is_reservation"} {
			if _, ok := rec[f].(string); !ok {
				t.Errorf("%s %s %v is not a string", typ, f, rec[f])
			}
		}
	}
}

// objectKeyOrder returns the member names of a JSON object in the order written.
func objectKeyOrder(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var out []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestParams checks how parameters are read: positions, cloudmeter's and MetalSoft's
// names, leniencies, and the code of each mistake; and what reaches the store.
func TestParams(t *testing.T) {
	api := newTestAPI(t, seedSpans())
	cases := []struct {
		name, body string
		code       int // 0: a result
		query      cloudmeter.SpanQuery
	}{
		{"Positional", detailedCall(`[1,` + seedWindow + `]`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2016-12-31T23:59:59Z")}},
		{"UserAsString", detailedCall(`["1",` + seedWindow + `]`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2016-12-31T23:59:59Z")}},
		{"Filters", detailedCall(`[1,` + seedWindow + `,[3668,4000],["uk-reading"]]`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2016-12-31T23:59:59Z"), InfrastructureIDs: []int64{3668, 4000}, Datacenters: []string{"uk-reading"}}},
		{"NamedCloudmeter", detailedCall(`{"user":1,"start":"2016-01-01T00:00:00Z","end":"2016-12-31T23:59:59Z","infrastructure_ids":[4000],"datacenter_names":["us-santaclara"]}`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2016-12-31T23:59:59Z"), InfrastructureIDs: []int64{4000}, Datacenters: []string{"us-santaclara"}}},
		{"NamedMetalSoft", detailedCall(`{"strUserIDOwner":1,"strStartTimestamp":"2016-01-01T00:00:00Z","strEndTimestamp":"2016-12-31T23:59:59Z","arrInfrastructureIDs":[3668],"arrDatacenterNames":null}`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2016-12-31T23:59:59Z"), InfrastructureIDs: []int64{3668}}},
		{"FractionsTruncated", detailedCall(`[1,"2016-01-01T00:00:00.999999Z","2016-12-31T23:59:59.5Z"]`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2016-12-31T23:59:59Z")}},
		{"OffsetToUTC", detailedCall(`[1,"2016-01-01T02:00:00+02:00","2016-12-31T18:59:59-05:00"]`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2016-12-31T23:59:59Z")}},
		{"ExactlyFiveYears", detailedCall(`[1,"2016-01-01T00:00:00Z","2021-01-01T00:00:00Z"]`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2021-01-01T00:00:00Z")}},
		{"SummaryFilters", summaryCall(`[1,` + seedWindow + `,[3668]]`), 0,
			cloudmeter.SpanQuery{UserID: 1, From: t0("2016-01-01T00:00:00Z"), To: t0("2016-12-31T23:59:59Z"), InfrastructureIDs: []int64{3668}}},

		{"FiveYearsAndASecond", detailedCall(`[1,"2016-01-01T00:00:00Z","2021-01-01T00:00:01Z"]`), 220, cloudmeter.SpanQuery{}},
		{"UserFraction", detailedCall(`[1.5,` + seedWindow + `]`), 93, cloudmeter.SpanQuery{}},
		{"UserBool", detailedCall(`[true,` + seedWindow + `]`), 93, cloudmeter.SpanQuery{}},
		{"UserObject", detailedCall(`[{"id":1},` + seedWindow + `]`), 93, cloudmeter.SpanQuery{}},
		{"UserZero", detailedCall(`[0,` + seedWindow + `]`), 143, cloudmeter.SpanQuery{}},
		{"UserNull", detailedCall(`[null,` + seedWindow + `]`), -32602, cloudmeter.SpanQuery{}},
		{"StartNumber", detailedCall(`[1,1451606400,"2016-12-31T23:59:59Z"]`), 93, cloudmeter.SpanQuery{}},
		{"StartEmpty", detailedCall(`[1,"","2016-12-31T23:59:59Z"]`), 149, cloudmeter.SpanQuery{}},
		{"StartBeforeEpoch", detailedCall(`[1,"1969-12-31T23:59:59Z","1970-01-02T00:00:00Z"]`), 149, cloudmeter.SpanQuery{}},
		{"EndNull", detailedCall(`[1,"2016-01-01T00:00:00Z",null]`), -32602, cloudmeter.SpanQuery{}},
		{"InfrastructureIDsFraction", detailedCall(`[1,` + seedWindow + `,[3668.5]]`), 93, cloudmeter.SpanQuery{}},
		{"InfrastructureIDsObject", detailedCall(`[1,` + seedWindow + `,{"0":3668}]`), 93, cloudmeter.SpanQuery{}},
		{"DatacenterNamesNumbers", detailedCall(`[1,` + seedWindow + `,null,[1]]`), 93, cloudmeter.SpanQuery{}},
		{"SixParams", detailedCall(`[1,` + seedWindow + `,null,null,null]`), -32602, cloudmeter.SpanQuery{}},
		{"ParamsString", detailedCall(`"1"`), -32600, cloudmeter.SpanQuery{}},
		{"UnknownUser", detailedCall(`[77,` + seedWindow + `]`), 42, cloudmeter.SpanQuery{}},
		{"UnknownInfrastructure", detailedCall(`[1,` + seedWindow + `,[9300]]`), 152, cloudmeter.SpanQuery{}},
		{"UnknownDatacenter", detailedCall(`[1,` + seedWindow + `,null,["nowhere"]]`), 269, cloudmeter.SpanQuery{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := api.store.queryCount()
			a := decode(t, api.call(t, adminKey, c.body))
			if c.code != 0 {
				if a.Error == nil || a.Error.Code != c.code {
					t.Fatalf("answer %+v %s, want code %d", a.Error, a.Result, c.code)
				}
				if api.store.queryCount() != before {
					t.Errorf("a rejected request queried the store")
				}
				return
			}
			if a.Error != nil {
				t.Fatalf("error %+v, want a result", a.Error)
			}
			want := c.query
			want.MaxSpans = service.DefaultLimits.MaxReportRecords // every report is bounded
			if d := cmp.Diff(want, api.store.lastQuery()); d != "" {
				t.Errorf("span query (-want +got):\n%s", d)
			}
		})
	}
}

// TestPermissions checks authentication and the permission to read other users.
func TestPermissions(t *testing.T) {
	api := newTestAPI(t, seedSpans())
	cases := []struct {
		name, key, body string
		code            int
	}{
		{"Admin", adminKey, detailedCall(`[1,` + seedWindow + `]`), 0},
		{"Reader", readKey, detailedCall(`[2,` + seedWindow + `]`), 0},
		{"Own", ownKey, detailedCall(`[2,` + seedWindow + `]`), 0},
		{"OtherUser", ownKey, detailedCall(`[1,` + seedWindow + `]`), 71},
		{"OtherUserSummary", ownKey, summaryCall(`[1,` + seedWindow + `]`), 71},
		{"NoKey", "", detailedCall(`[1,` + seedWindow + `]`), 73},
		{"UnknownKey", noneUser, detailedCall(`[1,` + seedWindow + `]`), 322},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := decode(t, api.call(t, c.key, c.body))
			switch {
			case c.code == 0 && a.Error != nil:
				t.Errorf("error %+v, want a result", a.Error)
			case c.code != 0 && (a.Error == nil || a.Error.Code != c.code):
				t.Errorf("answer %+v, want code %d", a.Error, c.code)
			}
		})
	}
}

// TestInternalErrorHidden checks that a store failure is answered -32603 "internal
// error", logged with its cause, and never shown to the client.
func TestInternalErrorHidden(t *testing.T) {
	api := newTestAPI(t, seedSpans())
	api.store.fail = errors.New("disk /var/lib/cloudmeter-secret is on fire")
	body := api.call(t, adminKey, detailedCall(`[1,`+seedWindow+`]`))
	if want := `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`; string(body) != want {
		t.Errorf("body %s, want %s", body, want)
	}
	if !strings.Contains(api.logText(), "on fire") {
		t.Errorf("the cause was not logged: %s", api.logText())
	}
}

// TestDatabaseUnavailable checks that a store that cannot reach its database is
// answered with the JSON-RPC code -32000 and the store's message (a client can tell it
// to retry later, unlike -32603), and that the cause is logged.
func TestDatabaseUnavailable(t *testing.T) {
	api := newTestAPI(t, seedSpans())
	api.store.fail = &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database cannot be reached",
		Err: errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")}
	body := api.call(t, adminKey, detailedCall(`[1,`+seedWindow+`]`))
	if want := `{"error":{"message":"the database cannot be reached","code":-32000},"jsonrpc":"2.0","id":1}`; string(body) != want {
		t.Errorf("body %s, want %s", body, want)
	}
	logs := api.logText()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "the database cannot be reached") || !strings.Contains(logs, "connection refused") {
		t.Errorf("the failure and its cause were not logged as an error: %s", logs)
	}
}

// TestClipAtNow checks a live resource against the service's fixed clock.
func TestClipAtNow(t *testing.T) {
	spans := []cloudmeter.Span{{UserID: 1, ProductID: 1, InfrastructureID: 4000, Datacenter: "us-santaclara", Type: cloudmeter.ResourceInstance,
		Label: "live", Subdomain: "live.lab", State: cloudmeter.StateActive, Start: t0("2024-05-31T00:00:00Z"), End: cloudmeter.OpenEnd}}
	api := newTestAPI(t, spans)
	a := decode(t, api.call(t, adminKey, detailedCall(`[1,"2024-01-01T00:00:00Z","2024-12-31T23:59:59Z"]`)))
	var res struct {
		Detailed map[string]map[string][]map[string]any `json:"detailed_report"`
		End      string                                 `json:"end_timestamp"`
	}
	if err := json.Unmarshal(a.Result, &res); err != nil {
		t.Fatal(err)
	}
	recs := res.Detailed["4000"]["instance"]
	if len(recs) != 1 {
		t.Fatalf("records %v", res.Detailed)
	}
	got := [4]string{recs[0]["start_timestamp"].(string), recs[0]["end_timestamp"].(string), recs[0]["quantity"].(string), recs[0]["cost"].(string)}
	// 86401 s x 0.31 / 3600 = 7.44008611...
	if want := [4]string{"2024-05-31T00:00:00Z", "2024-06-01T00:00:00Z", "86401", "7.44008611"}; got != want {
		t.Errorf("record %v, want %v (clipped at now)", got, want)
	}
	if res.End != "2024-12-31T23:59:59Z" {
		t.Errorf("end_timestamp %q, want the requested end", res.End)
	}
	// A window wholly in the future has no records.
	a = decode(t, api.call(t, adminKey, detailedCall(`[1,"2024-07-01T00:00:00Z","2024-12-31T23:59:59Z"]`)))
	if !bytes.Contains(a.Result, []byte(`"detailed_report":{}`)) {
		t.Errorf("future window: %s", a.Result)
	}
}

// TestOddValues checks strings that need escaping and attributes that are not set.
func TestOddValues(t *testing.T) {
	label := "a \"quoted\" \\ label <b>&\n\t\u00e9\u2028"
	spans := []cloudmeter.Span{
		{UserID: 1, ProductID: 10, InfrastructureID: 4000, Datacenter: "us-santaclara", Type: cloudmeter.ResourceInstance,
			Label: label, Subdomain: "x\x01y", State: cloudmeter.StateActive, Start: t0("2016-01-01T00:00:00Z"), End: t0("2016-01-01T00:59:59Z"),
			Attributes: cloudmeter.Attributes{ServerTypeID: i64(12)}},
		{UserID: 1, ProductID: 11, InfrastructureID: 4000, Datacenter: "us-santaclara", Type: cloudmeter.ResourceDrive,
			Label: "nosize", State: cloudmeter.StateActive, Start: t0("2016-01-01T00:00:00Z"), End: t0("2016-01-01T00:59:59Z")},
		{UserID: 1, ProductID: 12, InfrastructureID: 4000, Datacenter: "us-santaclara", Type: cloudmeter.ResourceSubnet,
			Label: "notype", State: cloudmeter.StateActive, Start: t0("2016-01-01T00:00:00Z"), End: t0("2016-01-01T00:59:59Z")},
	}
	api := newTestAPI(t, spans)
	body := api.call(t, adminKey, detailedCall(`[1,`+seedWindow+`]`))
	testutil.Golden(t, "testdata/odd_values.golden", body)
	var res struct {
		Detailed map[string]map[string][]map[string]any `json:"detailed_report"`
	}
	if err := json.Unmarshal(decode(t, body).Result, &res); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	inst := res.Detailed["4000"]["instance"][0]
	if inst["product_label"] != label || inst["product_subdomain"] != "x\x01y" {
		t.Errorf("strings do not round-trip: %q %q", inst["product_label"], inst["product_subdomain"])
	}
	if inst["server_type_id"] != float64(12) {
		t.Errorf("server_type_id %v, want 12", inst["server_type_id"])
	}
	drive := res.Detailed["4000"]["drive"][0]
	if v, ok := drive["drive_size_mbytes"]; !ok || v != nil {
		t.Errorf("drive_size_mbytes %v (present %v), want null", v, ok)
	}
	if drive["cost"] != "0.00000000" {
		t.Errorf("drive without a size is priced: %v", drive["cost"])
	}
	subnet := res.Detailed["4000"]["subnet"][0]
	for _, f := range []string{"subnet_type", "subnet_prefix_size"} {
		if v, ok := subnet[f]; !ok || v != nil {
			t.Errorf("%s %v (present %v), want null", f, v, ok)
		}
	}
}

// TestSummaryCounts checks the summary's record and resource counts and totals.
func TestSummaryCounts(t *testing.T) {
	mk := func(product int64, start, end string, state cloudmeter.State) cloudmeter.Span {
		return cloudmeter.Span{UserID: 1, ProductID: product, InfrastructureID: 4000, Datacenter: "us-santaclara", Type: cloudmeter.ResourceInstance,
			Label: "i", State: state, Start: t0(start), End: t0(end)}
	}
	spans := []cloudmeter.Span{
		mk(20, "2016-01-01T00:00:00Z", "2016-01-01T00:59:59Z", cloudmeter.StateActive),
		mk(20, "2016-01-01T01:00:00Z", "2016-01-01T01:59:59Z", cloudmeter.StateStopped),
		mk(21, "2016-01-01T00:00:00Z", "2016-01-01T00:29:59Z", cloudmeter.StateActive),
	}
	api := newTestAPI(t, spans)
	body := api.call(t, adminKey, summaryCall(`[1,`+seedWindow+`]`))
	testutil.Golden(t, "testdata/summary_counts.golden", body)
	var res struct {
		Summary map[string]map[string]struct {
			Cost      string `json:"cost"`
			Quantity  string `json:"quantity"`
			Records   int    `json:"record_count"`
			Resources int    `json:"resource_count"`
		} `json:"summary_report"`
		Total string `json:"total_cost"`
	}
	if err := json.Unmarshal(decode(t, body).Result, &res); err != nil {
		t.Fatal(err)
	}
	got := res.Summary["4000"]["instance"]
	// The seed book prices instances in every state at 0.31: 3600 + 3600 + 1800 seconds.
	if got.Records != 3 || got.Resources != 2 || got.Quantity != "9000" || got.Cost != "0.77500000" || res.Total != "0.77500000" {
		t.Errorf("summary %+v total %s, want 3 records, 2 resources, 9000 s, 0.77500000", got, res.Total)
	}
}

// TestEmptyReport checks the exact answer for a user without usage.
func TestEmptyReport(t *testing.T) {
	api := newTestAPI(t, nil)
	body := api.call(t, ownKey, detailedCall(`[2,`+seedWindow+`]`))
	want := `{"result":{"detailed_report":{},"network_report":{},"infrastructures":{},"start_timestamp":"2016-01-01T00:00:00Z","end_timestamp":"2016-12-31T23:59:59Z"},"jsonrpc":"2.0","id":1}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	body = api.call(t, ownKey, summaryCall(`[2,`+seedWindow+`]`))
	want = `{"result":{"summary_report":{},"total_cost":"0.00000000","cost_currency":"GBP","internet_download_cost":"0.00000000",` +
		`"internet_download_gbytes":"0.0000","internet_upload_cost":"0.00000000","internet_upload_gbytes":"0.0000","infrastructures":{},"start_timestamp":"2016-01-01T00:00:00Z","end_timestamp":"2016-12-31T23:59:59Z"},"jsonrpc":"2.0","id":1}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
}

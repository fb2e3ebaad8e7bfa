package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

// seedRecords are the seed document's four records (DESIGN 2.3), to the last digit.
var seedRecords = map[string]wantRecord{
	"shared_drive": {ProductID: 779, Start: "2016-01-22T14:39:04Z", End: "2016-01-25T09:54:39Z", Quantity: "242136", CostPerUnit: "0.00347222", Cost: "0.23354152"},
	"drive":        {ProductID: 3727, Start: "2016-02-01T12:58:15Z", End: "2016-02-04T10:31:03Z", Quantity: "250369", CostPerUnit: "0.01601563", Cost: "1.11383813"},
	"instance":     {ProductID: 2416, Start: "2016-02-01T12:58:00Z", End: "2016-02-02T12:23:00Z", Quantity: "84301", CostPerUnit: "0.31000000", Cost: "7.25925278"},
	"subnet":       {ProductID: 6378, Start: "2016-02-01T12:57:58Z", End: "2016-02-04T10:30:53Z", Quantity: "250376", CostPerUnit: "0.00000000", Cost: "0.00000000"},
}

// TestSeedDetailedGolden sends the seed's own request (over 2016) and checks the four
// records of the seed document, field by field, and the whole answer against a golden
// file.
func TestSeedDetailedGolden(t *testing.T) { e2etest.OnEachEngine(t, testSeedDetailedGolden) }

func testSeedDetailedGolden(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	key := srv.CreateKey(t, 1, "utilization_reports_read")

	r := srv.RPC(t, key, seedRequest)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !bytes.HasSuffix(r.Body, []byte(`,"jsonrpc":"2.0","id":null}`)) {
		t.Errorf(`answer does not end with "jsonrpc":"2.0","id":null: %s`, r.Body)
	}
	res := rpcResult(t, r)
	if got := objectKeys(t, res, "detailed_report"); !cmp.Equal(got, []string{"3668"}) {
		t.Errorf("detailed_report infrastructures %v, want [3668]", got)
	}
	for typ, want := range seedRecords {
		recs := records(t, res, 3668, typ)
		if len(recs) != 1 {
			t.Errorf("%s: %d records, want 1", typ, len(recs))
			continue
		}
		want.check(t, typ, recs[0])
		rec := recs[0]
		for field, v := range map[string]string{"cost_currency": "GBP", "is_reservation": "0", "measurement_period": "3600", "measurement_unit": "seconds"} {
			if rec[field] != v {
				t.Errorf("%s.%s = %v, want %q", typ, field, rec[field], v)
			}
		}
	}
	// The type attributes, as the seed shows them.
	checkMember := func(typ, field, want string) {
		t.Helper()
		recs := records(t, res, 3668, typ)
		if len(recs) == 1 && str(recs[0][field]) != want {
			t.Errorf("%s.%s = %v, want %s", typ, field, recs[0][field], want)
		}
	}
	checkMember("shared_drive", "shared_drive_size_mbytes", "51200")
	checkMember("shared_drive", "product_label", "new-shared-drive")
	checkMember("shared_drive", "product_subdomain", "new-shared-drive.test.1.integration.metalsoft.io")
	checkMember("drive", "drive_size_mbytes", "41000")
	checkMember("drive", "product_subdomain", "drive-3727.new-drive-array.d-lake.1.integration.metalsoft.io")
	checkMember("instance", "server_type_id", "<null>")
	checkMember("instance", "product_label", "instance-2416")
	checkMember("subnet", "subnet_type", "ipv6")
	checkMember("subnet", "subnet_prefix_size", "64")

	infras, _ := res["infrastructures"].(map[string]any)
	inf, _ := infras["3668"].(map[string]any)
	if str(inf["infrastructure_id"]) != "3668" || inf["infrastructure_label"] != "d-lake" {
		t.Errorf("infrastructures[3668] = %v, want id 3668 labelled d-lake", inf)
	}
	if res["start_timestamp"] != seedStart || res["end_timestamp"] != seedEnd {
		t.Errorf("window %v..%v, want %s..%s", res["start_timestamp"], res["end_timestamp"], seedStart, seedEnd)
	}
	if _, ok := res["network_report"].(map[string]any); !ok {
		t.Errorf("result has no network_report object")
	}
	testutil.Golden(t, "testdata/seed_detailed.golden", r.Body)

	// The same report through the other keys of the request: named params, MetalSoft's
	// parameter names, and "jsonrpc" as a string.
	named := `{"jsonrpc":"2.0","id":null,"method":"resource_utilization_detailed","params":{"strUserIDOwner":1,"strStartTimestamp":"2016-01-01T00:00:00Z","strEndTimestamp":"2016-12-31T23:59:59Z","arrInfrastructureIDs":null,"arrDatacenterNames":null}}`
	if got := srv.RPC(t, key, named).Body; !bytes.Equal(got, r.Body) {
		t.Errorf("named params give another answer:\n%s\nwant\n%s", got, r.Body)
	}
}

// TestSeedSummaryGolden checks resource_utilization_summary over the seed.
func TestSeedSummaryGolden(t *testing.T) { e2etest.OnEachEngine(t, testSeedSummaryGolden) }

func testSeedSummaryGolden(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	r := srv.RPC(t, srv.AdminKey, `{"id":null, "jsonrpc": 2.0, "method": "resource_utilization_summary", "params": [1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`)
	res := rpcResult(t, r)
	sr, _ := res["summary_report"].(map[string]any)
	infra, _ := sr["3668"].(map[string]any)
	for typ, want := range seedRecords {
		tot, _ := infra[typ].(map[string]any)
		if tot == nil {
			t.Errorf("summary_report[3668] has no %s", typ)
			continue
		}
		got := [4]string{str(tot["cost"]), str(tot["quantity"]), str(tot["record_count"]), str(tot["resource_count"])}
		if w := [4]string{want.Cost, want.Quantity, "1", "1"}; got != w {
			t.Errorf("summary %s: cost, quantity, records, resources = %v, want %v", typ, got, w)
		}
	}
	// 0.23354152 + 1.11383813 + 7.25925278 + 0
	if res["total_cost"] != "8.60663243" || res["cost_currency"] != "GBP" {
		t.Errorf("total_cost %v %v, want 8.60663243 GBP", res["total_cost"], res["cost_currency"])
	}
	testutil.Golden(t, "testdata/seed_summary.golden", r.Body)
}

// TestSeedCurl runs the seed's curl command with the real curl binary: no Content-Type of
// our own (curl -d sends application/x-www-form-urlencoded), "jsonrpc" as the number 2.0,
// "id" null. Then the seed's other body form, with its trailing comma.
func TestSeedCurl(t *testing.T) { e2etest.OnEachEngine(t, testSeedCurl) }

func testSeedCurl(t *testing.T, eng e2etest.Engine) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed: the seed's curl command cannot be run (install curl to run this test)")
	}
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	key := srv.CreateKey(t, 1, "utilization_reports_read")
	env := []string{"NO_PROXY=*", "no_proxy=*"}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !strings.EqualFold(name, "http_proxy") && !strings.EqualFold(name, "all_proxy") &&
			!strings.EqualFold(name, "no_proxy") && !strings.EqualFold(name, "curl_home") {
			env = append(env, kv)
		}
	}
	// run is the seed's command: curl -X POST -H "Authorization: Bearer $METALCLOUD_API_KEY" URL -d BODY
	run := func(t *testing.T, body string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, curl, "-X", "POST", "-H", "Authorization: Bearer "+key, srv.URL+e2etest.RPCPath, "-d", body)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("curl: %v\n%s", err, stderr.String())
		}
		return stdout.Bytes()
	}

	t.Run("SeedRequest", func(t *testing.T) {
		out := run(t, `{"id":null, "jsonrpc": 2.0, "method": "resource_utilization_detailed", "params": [1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"]}`)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("curl output is not a JSON object: %v\n%s", err, out)
		}
		if got := keysOf(m); !cmp.Equal(got, []string{"id", "jsonrpc", "result"}) {
			t.Errorf("answer members %v, want id, jsonrpc, result: %s", got, out)
		}
		if string(m["jsonrpc"]) != `"2.0"` || string(m["id"]) != "null" {
			t.Errorf(`answer has "jsonrpc" %s and "id" %s, want "2.0" and null`, m["jsonrpc"], m["id"])
		}
		var res map[string]json.RawMessage
		if err := json.Unmarshal(m["result"], &res); err != nil {
			t.Fatalf("result is not an object: %s", out)
		}
		for _, k := range []string{"detailed_report", "network_report", "infrastructures"} {
			if v := bytes.TrimSpace(res[k]); len(v) == 0 || v[0] != '{' {
				t.Errorf("result.%s = %s, want an object", k, v)
			}
		}
		if string(res["start_timestamp"]) != `"2023-12-31T23:59:59Z"` || string(res["end_timestamp"]) != `"2024-12-31T23:59:59Z"` {
			t.Errorf("window %s..%s, want 2023-12-31T23:59:59Z..2024-12-31T23:59:59Z", res["start_timestamp"], res["end_timestamp"])
		}
	})

	t.Run("TrailingComma", func(t *testing.T) {
		out := run(t, `{"method": "resource_utilization_detailed", "params": [1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"], "id":null, "jsonrpc": 2.0, }`)
		testutil.Golden(t, "testdata/seed_detailed.golden", out)
	})
}

func keysOf(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// TestFilters checks that infrastructure_ids and datacenter_names select records: the
// seed lives in infrastructure 3668 (uk-reading); one more instance of user 1 lives in
// infrastructure 4000 (us-santaclara).
func TestFilters(t *testing.T) { e2etest.OnEachEngine(t, testFilters) }

func testFilters(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	srv.PostEvents(t, batch(
		provisioned("lab-p", "2016-03-01T00:00:00Z", 5000, "instance", 1, 4000, "us-santaclara", nil),
		deleted("lab-d", "2016-03-01T00:59:59Z", 5000),
	))
	cases := []struct {
		name   string
		body   string
		infras []string // in detailed_report
		// listed are the infrastructures listed: infras and 3688, the seed's network
		// waypoints (in uk-reading), when the filters keep it.
		listed []string
	}{
		{"NoFilter", detailed(1, seedStart, seedEnd), []string{"3668", "4000"}, []string{"3668", "3688", "4000"}},
		{"NullFilters", detailed(1, seedStart, seedEnd, nil, nil), []string{"3668", "4000"}, []string{"3668", "3688", "4000"}},
		{"EmptyFilters", detailed(1, seedStart, seedEnd, []int{}, []string{}), []string{"3668", "4000"}, []string{"3668", "3688", "4000"}},
		{"Infrastructure3668", detailed(1, seedStart, seedEnd, []int{3668}), []string{"3668"}, []string{"3668"}},
		{"Infrastructure4000", detailed(1, seedStart, seedEnd, []int{4000}), []string{"4000"}, []string{"4000"}},
		{"BothInfrastructures", detailed(1, seedStart, seedEnd, []int{3668, 4000}), []string{"3668", "4000"}, []string{"3668", "4000"}},
		{"DatacenterUKReading", detailed(1, seedStart, seedEnd, nil, []string{"uk-reading"}), []string{"3668"}, []string{"3668", "3688"}},
		{"DatacenterSantaClara", detailed(1, seedStart, seedEnd, nil, []string{"us-santaclara"}), []string{"4000"}, []string{"4000"}},
		{"BothDatacenters", detailed(1, seedStart, seedEnd, nil, []string{"uk-reading", "us-santaclara"}), []string{"3668", "4000"}, []string{"3668", "3688", "4000"}},
		{"DisjointFilters", detailed(1, seedStart, seedEnd, []int{3668}, []string{"us-santaclara"}), []string{}, []string{}},
		{"NamedMetalSoftParams", `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_detailed","params":{"strUserIDOwner":1,"strStartTimestamp":"2016-01-01T00:00:00Z","strEndTimestamp":"2016-12-31T23:59:59Z","arrInfrastructureIDs":[4000]}}`, []string{"4000"}, []string{"4000"}},
		{"NamedParams", `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_detailed","params":{"user":1,"start":"2016-01-01T00:00:00Z","end":"2016-12-31T23:59:59Z","datacenter_names":["uk-reading"]}}`, []string{"3668"}, []string{"3668", "3688"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := rpcResult(t, srv.RPC(t, srv.AdminKey, c.body))
			if got := objectKeys(t, res, "detailed_report"); !cmp.Equal(got, c.infras) {
				t.Errorf("detailed_report infrastructures %v, want %v", got, c.infras)
			}
			if got := objectKeys(t, res, "infrastructures"); !cmp.Equal(got, c.listed) {
				t.Errorf("infrastructures %v, want %v", got, c.listed)
			}
			for _, inf := range c.infras {
				if inf == "3668" {
					for typ, want := range seedRecords {
						recs := records(t, res, 3668, typ)
						if len(recs) != 1 {
							t.Errorf("%s: %d records, want 1", typ, len(recs))
							continue
						}
						want.check(t, typ, recs[0])
					}
				}
				if inf == "4000" {
					recs := records(t, res, 4000, "instance")
					if len(recs) != 1 {
						t.Fatalf("infrastructure 4000: %d instance records, want 1", len(recs))
					}
					wantRecord{ProductID: 5000, Start: "2016-03-01T00:00:00Z", End: "2016-03-01T00:59:59Z", Quantity: "3600",
						CostPerUnit: "0.31000000", Cost: "0.31000000"}.check(t, "instance 5000", recs[0])
				}
			}
		})
	}
	t.Run("Summary", func(t *testing.T) {
		res := rpcResult(t, srv.RPC(t, srv.AdminKey, summary(1, seedStart, seedEnd, []int{4000})))
		if got := objectKeys(t, res, "summary_report"); !cmp.Equal(got, []string{"4000"}) {
			t.Errorf("summary_report infrastructures %v, want [4000]", got)
		}
		if res["total_cost"] != "0.31000000" {
			t.Errorf("total_cost %v, want 0.31000000", res["total_cost"])
		}
	})
}

// TestWindowClipping checks that a report clips every record to its closed window and
// that quantities are end - start + 1.
func TestWindowClipping(t *testing.T) { e2etest.OnEachEngine(t, testWindowClipping) }

func testWindowClipping(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)

	t.Run("OneDay", func(t *testing.T) {
		const from, to = "2016-02-02T00:00:00Z", "2016-02-03T00:00:00Z"
		res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, from, to)))
		if res["start_timestamp"] != from || res["end_timestamp"] != to {
			t.Errorf("window %v..%v, want %s..%s", res["start_timestamp"], res["end_timestamp"], from, to)
		}
		if recs := records(t, res, 3668, "shared_drive"); len(recs) != 0 {
			t.Errorf("shared drive 779 (deleted 2016-01-25) is in the window: %v", recs)
		}
		want := map[string]wantRecord{
			"drive":    {ProductID: 3727, Start: from, End: to, Quantity: "86401", CostPerUnit: "0.01601563"},
			"instance": {ProductID: 2416, Start: from, End: "2016-02-02T12:23:00Z", Quantity: "44581", CostPerUnit: "0.31000000", Cost: "3.83891944"},
			"subnet":   {ProductID: 6378, Start: from, End: to, Quantity: "86401", CostPerUnit: "0.00000000", Cost: "0.00000000"},
		}
		w := want["drive"]
		w.Cost = expectCost(t, 86401, 3600, "0.01601563") // 0.38437832...
		want["drive"] = w
		for typ, w := range want {
			recs := records(t, res, 3668, typ)
			if len(recs) != 1 {
				t.Errorf("%s: %d records, want 1", typ, len(recs))
				continue
			}
			w.check(t, typ, recs[0])
		}
		lo, hi := parseTime(t, from), parseTime(t, to)
		for _, rec := range allRecords(t, res) {
			if s, e := parseTime(t, str(rec["start_timestamp"])), parseTime(t, str(rec["end_timestamp"])); s < lo || e > hi || s > e {
				t.Errorf("record %v..%v is not inside the window", rec["start_timestamp"], rec["end_timestamp"])
			}
		}
	})

	t.Run("ClosedEnds", func(t *testing.T) {
		// The instance's last billed second is its delete, 2016-02-02T12:23:00Z.
		res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, "2016-02-02T12:23:00Z", "2016-02-02T12:23:00Z")))
		recs := records(t, res, 3668, "instance")
		if len(recs) != 1 {
			t.Fatalf("one-second window on the delete: %d instance records, want 1", len(recs))
		}
		wantRecord{ProductID: 2416, Start: "2016-02-02T12:23:00Z", End: "2016-02-02T12:23:00Z", Quantity: "1",
			CostPerUnit: "0.31000000", Cost: "0.00008611"}.check(t, "instance", recs[0])
		res = rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, "2016-02-02T12:23:01Z", "2016-02-03T00:00:00Z")))
		if recs := records(t, res, 3668, "instance"); len(recs) != 0 {
			t.Errorf("window after the delete has instance records: %v", recs)
		}
		// Its first billed second is its provision.
		res = rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, "2016-01-01T00:00:00Z", "2016-02-01T12:58:00Z")))
		recs = records(t, res, 3668, "instance")
		if len(recs) != 1 || str(recs[0]["quantity"]) != "1" {
			t.Errorf("window ending on the provision: instance records %v, want one of quantity 1", recs)
		}
	})

	t.Run("FractionalSeconds", func(t *testing.T) {
		// Sub-second input is truncated.
		res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, "2016-02-02T00:00:00.999Z", "2016-02-03T00:00:00.5Z")))
		if res["start_timestamp"] != "2016-02-02T00:00:00Z" || res["end_timestamp"] != "2016-02-03T00:00:00Z" {
			t.Errorf("window %v..%v, want whole seconds 2016-02-02T00:00:00Z..2016-02-03T00:00:00Z", res["start_timestamp"], res["end_timestamp"])
		}
		if recs := records(t, res, 3668, "drive"); len(recs) != 1 || str(recs[0]["quantity"]) != "86401" {
			t.Errorf("drive records %v, want one of quantity 86401", recs)
		}
	})

	t.Run("TimeZoneOffset", func(t *testing.T) {
		res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, "2016-02-02T01:00:00+01:00", "2016-02-02T19:00:00-05:00")))
		if res["start_timestamp"] != "2016-02-02T00:00:00Z" || res["end_timestamp"] != "2016-02-03T00:00:00Z" {
			t.Errorf("window %v..%v, want it in UTC 2016-02-02T00:00:00Z..2016-02-03T00:00:00Z", res["start_timestamp"], res["end_timestamp"])
		}
	})
}

// TestClipAtNow checks that a live resource is reported up to the server's now.
func TestClipAtNow(t *testing.T) { e2etest.OnEachEngine(t, testClipAtNow) }

func testClipAtNow(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.PutPrices(t, demo.SeedPrices)
	provision := time.Now().Unix() - 600
	srv.PostEvents(t, batch(provisioned("live-p", ts(provision), 7001, "instance", 1, 3668, "uk-reading", nil)))

	before := time.Now().Unix()
	res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, ts(provision-3600), ts(provision+7200))))
	after := time.Now().Unix()
	recs := records(t, res, 3668, "instance")
	if len(recs) != 1 {
		t.Fatalf("%d instance records, want 1: %v", len(recs), res)
	}
	rec := recs[0]
	start, end := parseTime(t, str(rec["start_timestamp"])), parseTime(t, str(rec["end_timestamp"]))
	if start != provision {
		t.Errorf("start %s, want the provision %s", ts(start), ts(provision))
	}
	if end < before || end > after {
		t.Errorf("end %s, want the server's now, between %s and %s", ts(end), ts(before), ts(after))
	}
	checkArithmetic(t, "live instance", rec)
	if res["end_timestamp"] != ts(provision+7200) {
		t.Errorf("end_timestamp of the window %v, want the requested %s", res["end_timestamp"], ts(provision+7200))
	}
	inf, _ := res["infrastructures"].(map[string]any)["3668"].(map[string]any)
	if inf["infrastructure_service_status"] != "active" {
		t.Errorf("infrastructure 3668 with a live instance has status %v, want active", inf["infrastructure_service_status"])
	}

	// The native view of the resource shows it open-ended.
	r := srv.Do(t, http.MethodGet, "/api/v1/resources/7001", srv.AdminKey, "", nil)
	e2etest.MustStatus(t, r, http.StatusOK, "GET /api/v1/resources/7001")
	m := r.Object(t)
	if _, ok := m["deleted_at"]; ok {
		t.Errorf("live resource has deleted_at: %s", r.Body)
	}
	segs, _ := m["segments"].([]any)
	if len(segs) != 1 {
		t.Fatalf("segments %v, want one", m["segments"])
	}
	if seg := segs[0].(map[string]any); seg["start"] != ts(provision) || seg["end"] != nil {
		t.Errorf("segment %v, want start %s and no end", seg, ts(provision))
	}
}

// TestPriceChange puts a new price book version in which the instance price doubles from
// 2016-02-02T00:00:00Z: the instance's record splits at that second.
func TestPriceChange(t *testing.T) { e2etest.OnEachEngine(t, testPriceChange) }

func testPriceChange(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	before := srv.RPC(t, srv.AdminKey, seedRequest).Body

	book := seedPricesWith(t, demo.SeedPrices, "", map[string]any{
		"resource_type": "instance", "price": "0.62", "unit": "item", "period_seconds": 3600, "valid_from": "2016-02-02T00:00:00Z",
	})
	srv.PutPrices(t, book)

	r := srv.Do(t, http.MethodGet, "/api/v1/prices", srv.AdminKey, "", nil)
	e2etest.MustStatus(t, r, http.StatusOK, "GET /api/v1/prices")
	if v := r.Header.Get("X-Price-Book-Version"); v != "2" {
		t.Errorf("X-Price-Book-Version %q, want 2", v)
	}
	var got struct {
		Entries []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("GET /api/v1/prices: %v: %s", err, r.Body)
	}
	found := false
	for _, e := range got.Entries {
		found = found || (e["resource_type"] == "instance" && e["price"] == "0.62" && strings.HasPrefix(str(e["valid_from"]), "2016-02-02T00:00:00"))
	}
	if !found {
		t.Errorf("GET /api/v1/prices does not hold the new instance entry: %s", r.Body)
	}

	res := rpcResult(t, srv.RPC(t, srv.AdminKey, seedRequest))
	recs := records(t, res, 3668, "instance")
	if len(recs) != 2 {
		t.Fatalf("%d instance records, want 2 (split at the price change): %v", len(recs), recs)
	}
	// 39720 + 44581 = 84301 seconds.
	wantRecord{ProductID: 2416, Start: "2016-02-01T12:58:00Z", End: "2016-02-01T23:59:59Z", Quantity: "39720",
		CostPerUnit: "0.31000000", Cost: "3.42033333"}.check(t, "instance before the change", recs[0])
	wantRecord{ProductID: 2416, Start: "2016-02-02T00:00:00Z", End: "2016-02-02T12:23:00Z", Quantity: "44581",
		CostPerUnit: "0.62000000", Cost: "7.67783889"}.check(t, "instance after the change", recs[1])
	for typ, want := range seedRecords {
		if typ == "instance" {
			continue
		}
		if recs := records(t, res, 3668, typ); len(recs) != 1 {
			t.Errorf("%s: %d records, want 1", typ, len(recs))
		} else {
			want.check(t, typ+" (price unchanged)", recs[0])
		}
	}

	sum := rpcResult(t, srv.RPC(t, srv.AdminKey, summary(1, seedStart, seedEnd)))
	inst, _ := sum["summary_report"].(map[string]any)["3668"].(map[string]any)["instance"].(map[string]any)
	if g := [4]string{str(inst["quantity"]), str(inst["cost"]), str(inst["record_count"]), str(inst["resource_count"])}; g != [4]string{"84301", "11.09817222", "2", "1"} {
		t.Errorf("summary instance quantity, cost, records, resources = %v, want 84301 11.09817222 2 1", g)
	}

	// Putting the old book back as a third version restores the seed's answer.
	srv.PutPrices(t, demo.SeedPrices)
	if after := srv.RPC(t, srv.AdminKey, seedRequest).Body; string(after) != string(before) {
		t.Errorf("with the seed prices back, the report differs:\n%s\nwant\n%s", after, before)
	}
}

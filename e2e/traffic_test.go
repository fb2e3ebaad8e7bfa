package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

// seedNetworkReport is the network_report of the seed document (seed 000), as written
// there: direction totals as JSON numbers, waypoint records with strings.
const seedNetworkReport = `{ "3688": { "data_lake": { "download": { "cost": 0, "cost_currency": "GBP", "measurement_unit": "gbytes", "quantity": 0, "metered_waypoints": [ { "cost": "0.00000000", "cost_currency": "GBP", "cost_per_unit": "0.00000000", "end_timestamp": "2016-02-09T08:11:39Z", "is_reservation": "0", "measurement_period": "3600", "measurement_unit": "gbytes", "product_id": 8, "product_label": "data-lake-8", "product_subdomain": "data-lake-8.d-lake.1.integration.metalsoft.io", "quantity": "0.0000", "start_timestamp": "2016-02-01T13:10:05Z" } ] }, "upload": { "cost": 0, "cost_currency": "GBP", "measurement_unit": "gbytes", "quantity": 0, "metered_waypoints": [ { "cost": "0.00000000", "cost_currency": "GBP", "cost_per_unit": "0.06000000", "end_timestamp": "2016-02-09T08:11:39Z", "is_reservation": "0", "measurement_period": "3600", "measurement_unit": "gbytes", "product_id": 8, "product_label": "data-lake-8", "product_subdomain": "data-lake-8.d-lake.1.integration.metalsoft.io", "quantity": "0.0000", "start_timestamp": "2016-02-01T13:10:06Z" } ] } }, "network": { "download": { "cost": 0, "cost_currency": "GBP", "measurement_unit": "gbytes", "quantity": 0, "metered_waypoints": [ { "cost": "0.00000000", "cost_currency": "GBP", "cost_per_unit": "0.00000000", "end_timestamp": "2016-02-04T10:30:54Z", "is_reservation": "0", "measurement_period": "10800", "measurement_unit": "gbytes", "product_id": 8381, "product_label": "wan", "product_subdomain": "wan.d-lake.1.integration.metalsoft.io", "quantity": "0.0000", "start_timestamp": "2016-02-01T12:57:59Z" } ] }, "upload": { "cost": 0, "cost_currency": "GBP", "measurement_unit": "gbytes", "quantity": 0, "metered_waypoints": [ { "cost": "0.00000000", "cost_currency": "GBP", "cost_per_unit": "0.06000000", "end_timestamp": "2016-02-04T10:30:54Z", "is_reservation": "0", "measurement_period": "10800", "measurement_unit": "gbytes", "product_id": 8381, "product_label": "wan", "product_subdomain": "wan.d-lake.1.integration.metalsoft.io", "quantity": "0.0000", "start_timestamp": "2016-02-01T12:57:59Z" } ] } } } }`

// rawMember returns the raw JSON of result.<name>, key order kept.
func rawMember(t *testing.T, body []byte, name string) []byte {
	t.Helper()
	var r struct {
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("answer is not a JSON-RPC result: %v: %s", err, body)
	}
	m, ok := r.Result[name]
	if !ok {
		t.Fatalf("result has no %s: %s", name, body)
	}
	return m
}

// TestSeedNetworkReport: the seed's own request answers the seed document's
// network_report byte for byte (whitespace aside), member order included.
func TestSeedNetworkReport(t *testing.T) { e2etest.OnEachEngine(t, testSeedNetworkReport) }

func testSeedNetworkReport(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	got := rawMember(t, srv.RPC(t, srv.AdminKey, seedRequest).Body, "network_report")
	var want bytes.Buffer
	if err := json.Compact(&want, []byte(seedNetworkReport)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("network_report differs from the seed document's:\n%s", cmp.Diff(indent(want.Bytes()), indent(got)))
	}
}

// sampleEvent is a traffic sample of waypoint p: bytes (a delta) or counter (a reading).
func sampleEvent(id, at string, p int64, dir, field string, v int64) event {
	return event{"specversion": "1.0", "id": id, "source": "e2e/meter", "time": at, "type": "cloudmeter.traffic.metered",
		"data": map[string]any{"product_id": p, "direction": dir, field: v}}
}

const gib = int64(1) << 30

// trafficWorld is user 2's traffic over 2024-03-01..03 (the window of trafficWindow):
//
//   - network 9001 (infrastructure 77), hourly periods from 2024-03-01T00:00:00Z:
//     upload: counter readings at hh:30 rising 1 GiB an hour for 48 hours, reset at
//     hour 30 (the reading falls to 1 GiB): 48 GB; its price changes from 0.06 to 0.08
//     at 2024-03-02T12:00:00Z, so 36 GB at 0.06 and 12 GB at 0.08.
//     download: 24 deltas of 1.5 GiB and one of 107374 bytes (0.0000999... GB):
//     36.0001 GB at 0.01.
//   - data_lake 9002, 3-hour periods from 2024-03-01T06:00:00Z to its delete at
//     2024-03-02T06:00:00Z: upload deltas of 2 GiB every 3 hours from 07:00, one before
//     the provision (not billed), the ninth in the period that starts at the delete
//     second (billed), the tenth after it (not billed): 18 GB at 0.05. download: 1 GiB
//     that no price covers.
//
// lifecycle holds the provisions and delete, samples the samples.
func trafficWorld() (lifecycle, samples []event) {
	attrs := func(period int) map[string]any { return map[string]any{"measurement_period": period} }
	lifecycle = []event{
		provisioned("net-p", "2024-03-01T00:00:00Z", 9001, "network", 2, 77, "uk-reading", attrs(3600)),
		provisioned("lake-p", "2024-03-01T06:00:00Z", 9002, "data_lake", 2, 77, "uk-reading", attrs(10800)),
		deleted("lake-d", "2024-03-02T06:00:00Z", 9002),
	}
	t0 := parseTimeUnix("2024-03-01T00:00:00Z")
	reading := int64(0)
	for h := int64(0); h < 48; h++ {
		reading += gib
		if h == 30 {
			reading = gib
		}
		samples = append(samples, sampleEvent(fmt.Sprint("up-", h), ts(t0+h*3600+1800), 9001, "upload", "counter", reading))
	}
	for h := int64(0); h < 24; h++ {
		samples = append(samples, sampleEvent(fmt.Sprint("down-", h), ts(t0+h*3600+600), 9001, "download", "bytes", 3*gib/2))
	}
	samples = append(samples, sampleEvent("down-tail", ts(t0+20*3600+900), 9001, "download", "bytes", 107374))
	for k := int64(-1); k < 10; k++ {
		samples = append(samples, sampleEvent(fmt.Sprint("lake-up-", k), ts(t0+7*3600+k*3*3600), 9002, "upload", "bytes", 2*gib))
	}
	samples = append(samples, sampleEvent("lake-down", ts(t0+12*3600), 9002, "download", "bytes", gib))
	return lifecycle, samples
}

func parseTimeUnix(s string) int64 {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v.Unix()
}

// trafficPrices is the seed book plus user 2's traffic prices.
func trafficPrices(t *testing.T, seed []byte) []byte {
	entry := func(typ, dir, price string, from, until string) map[string]any {
		e := map[string]any{"resource_type": typ, "direction": dir, "price": price, "unit": "gb", "user_id": 2}
		if from != "" {
			e["valid_from"] = from
		}
		if until != "" {
			e["valid_until"] = until
		}
		return e
	}
	return seedPricesWith(t, seed, "",
		entry("network", "upload", "0.06", "", "2024-03-02T12:00:00Z"),
		entry("network", "upload", "0.08", "2024-03-02T12:00:00Z", ""),
		entry("network", "download", "0.01", "", ""),
		entry("data_lake", "upload", "0.05", "", ""))
}

const (
	trafficStart = "2024-03-01T00:00:00Z"
	trafficEnd   = "2024-03-03T23:59:59Z"
)

// checkDirectionTotals checks that every direction of a network report totals its
// waypoint records: quantity and cost are the sums of the records'.
func checkDirectionTotals(t *testing.T, body []byte) {
	t.Helper()
	var nr map[string]map[string]map[string]struct {
		Cost      json.Number `json:"cost"`
		Quantity  json.Number `json:"quantity"`
		Waypoints []struct {
			Cost        string `json:"cost"`
			CostPerUnit string `json:"cost_per_unit"`
			Quantity    string `json:"quantity"`
		} `json:"metered_waypoints"`
	}
	d := json.NewDecoder(bytes.NewReader(rawMember(t, body, "network_report")))
	d.UseNumber()
	if err := d.Decode(&nr); err != nil {
		t.Fatal(err)
	}
	n := 0
	for infra, types := range nr {
		for typ, dirs := range types {
			for dir, tot := range dirs {
				q, c := new(big.Rat), new(big.Rat)
				for _, w := range tot.Waypoints {
					q.Add(q, rat(t, w.Quantity))
					c.Add(c, rat(t, w.Cost))
					// cost = round8(quantity x cost_per_unit)
					if want := round8(new(big.Rat).Mul(rat(t, w.Quantity), rat(t, w.CostPerUnit))); want != w.Cost {
						t.Errorf("%s %s %s: record cost %s, want round8(%s x %s) = %s", infra, typ, dir, w.Cost, w.Quantity, w.CostPerUnit, want)
					}
				}
				if rat(t, string(tot.Quantity)).Cmp(q) != 0 || rat(t, string(tot.Cost)).Cmp(c) != 0 {
					t.Errorf("%s %s %s: total quantity %s cost %s, records sum to %s and %s", infra, typ, dir, tot.Quantity, tot.Cost,
						q.FloatString(4), c.FloatString(8))
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Errorf("the network report has no direction")
	}
}

func rat(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a decimal", s)
	}
	return r
}

func round8(r *big.Rat) string { return roundHalfUp8(r) }

// TestTrafficReport: the network report of trafficWorld is the same whatever the order
// and batching of the events (samples before their waypoint's provision, late readings,
// resends), equals the golden file, and holds the hand-computed figures: counter resets
// never negative, a price change inside the window giving one record per price, periods
// outside the lifetime not billed.
func TestTrafficReport(t *testing.T) { e2etest.OnEachEngine(t, testTrafficReport) }

func testTrafficReport(t *testing.T, eng e2etest.Engine) {
	lifecycle, samples := trafficWorld()
	detailedReq := detailed(2, trafficStart, trafficEnd)
	summaryReq := summary(2, trafficStart, trafficEnd)

	// In order, one batch.
	inOrder := e2etest.StartServer(t, eng)
	inOrder.PutPrices(t, trafficPrices(t, demo.SeedPrices))
	if res := inOrder.PostEvents(t, batch(append(append([]event{}, lifecycle...), samples...)...)); res.Accepted != len(lifecycle)+len(samples) {
		t.Fatalf("accepted %d of %d", res.Accepted, len(lifecycle)+len(samples))
	}
	want := inOrder.RPC(t, inOrder.AdminKey, detailedReq).Body
	testutil.Golden(t, "testdata/traffic_detailed.golden", want)
	testutil.Golden(t, "testdata/traffic_summary.golden", inOrder.RPC(t, inOrder.AdminKey, summaryReq).Body)
	checkDirectionTotals(t, want)

	// Samples first, the provisions last; late readings (every fifth, reversed) and
	// resends of samples already stored.
	late := e2etest.StartServer(t, eng)
	late.PutPrices(t, trafficPrices(t, demo.SeedPrices))
	var first, later []event
	for i, s := range samples {
		if i%5 == 0 {
			later = append([]event{s}, later...)
		} else {
			first = append(first, s)
		}
	}
	late.PostEvents(t, batch(first...))
	late.PostEvents(t, batch(lifecycle...))
	res := late.PostEvents(t, batch(append(later, first[3], first[10], first[40])...))
	if res.Accepted != len(later) || res.Duplicates != 3 {
		t.Errorf("late batch: accepted %d, duplicates %d; want %d and 3", res.Accepted, res.Duplicates, len(later))
	}
	if got := late.RPC(t, late.AdminKey, detailedReq).Body; !bytes.Equal(got, want) {
		t.Errorf("another order gives another report:\n%s", cmp.Diff(indent(want), indent(got)))
	}
	if res := late.PostEvents(t, batch(samples...)); res.Accepted != 0 || res.Duplicates != len(samples) {
		t.Errorf("resend of every sample: accepted %d, duplicates %d; want 0 and %d", res.Accepted, res.Duplicates, len(samples))
	}
	if got := late.RPC(t, late.AdminKey, detailedReq).Body; !bytes.Equal(got, want) {
		t.Errorf("resent samples changed the report:\n%s", cmp.Diff(indent(want), indent(got)))
	}

	// The figures, by hand.
	type rec struct {
		Start       string `json:"start_timestamp"`
		End         string `json:"end_timestamp"`
		Quantity    string `json:"quantity"`
		CostPerUnit string `json:"cost_per_unit"`
		Cost        string `json:"cost"`
	}
	var nr map[string]map[string]map[string]struct {
		Waypoints []rec `json:"metered_waypoints"`
	}
	if err := json.Unmarshal(rawMember(t, want, "network_report"), &nr); err != nil {
		t.Fatal(err)
	}
	get := func(typ, dir string) []rec {
		return nr["77"][typ][dir].Waypoints
	}
	for _, c := range []struct {
		typ, dir string
		want     []rec
	}{
		{"network", "upload", []rec{
			{"2024-03-01T00:00:00Z", "2024-03-02T11:59:59Z", "36.0000", "0.06000000", "2.16000000"},
			{"2024-03-02T12:00:00Z", "2024-03-03T23:59:59Z", "12.0000", "0.08000000", "0.96000000"}}},
		{"network", "download", []rec{{"2024-03-01T00:00:00Z", "2024-03-03T23:59:59Z", "36.0001", "0.01000000", "0.36000100"}}},
		{"data_lake", "upload", []rec{{"2024-03-01T06:00:00Z", "2024-03-02T06:00:00Z", "18.0000", "0.05000000", "0.90000000"}}},
		{"data_lake", "download", []rec{{"2024-03-01T06:00:00Z", "2024-03-02T06:00:00Z", "1.0000", "0.00000000", "0.00000000"}}},
	} {
		if diff := cmp.Diff(c.want, get(c.typ, c.dir)); diff != "" {
			t.Errorf("%s %s records (-want +got):\n%s", c.typ, c.dir, diff)
		}
	}
}

// TestTrafficWindowAndSummary: a window that starts inside the traffic counts the
// periods that start within it, and the summary's internet totals and total cost
// include the traffic.
func TestTrafficWindowAndSummary(t *testing.T) { e2etest.OnEachEngine(t, testTrafficWindowAndSummary) }

func testTrafficWindowAndSummary(t *testing.T, eng e2etest.Engine) {
	lifecycle, samples := trafficWorld()
	srv := e2etest.StartServer(t, eng)
	srv.PutPrices(t, trafficPrices(t, demo.SeedPrices))
	srv.PostEvents(t, batch(append(append([]event{}, lifecycle...), samples...)...))

	// From 2024-03-02T12:00:00Z: network upload hours 36..47 only (12 GB at 0.08),
	// download nothing (the deltas end at hour 23), the data lake is gone.
	body := srv.RPC(t, srv.AdminKey, detailed(2, "2024-03-02T12:00:00Z", trafficEnd)).Body
	checkDirectionTotals(t, body)
	var nr map[string]map[string]map[string]struct {
		Cost     json.Number `json:"cost"`
		Quantity json.Number `json:"quantity"`
	}
	if err := json.Unmarshal(rawMember(t, body, "network_report"), &nr); err != nil {
		t.Fatal(err)
	}
	if got := nr["77"]["network"]["upload"]; got.Quantity != "12" || got.Cost != "0.96" {
		t.Errorf("upload from noon: quantity %s cost %s, want 12 and 0.96", got.Quantity, got.Cost)
	}
	if got := nr["77"]["network"]["download"]; got.Quantity != "0" || got.Cost != "0" {
		t.Errorf("download from noon: quantity %s cost %s, want 0 and 0", got.Quantity, got.Cost)
	}
	if _, ok := nr["77"]["data_lake"]; ok {
		t.Errorf("the data lake, deleted before the window, is in the report")
	}

	res := rpcResult(t, srv.RPC(t, srv.AdminKey, summary(2, trafficStart, trafficEnd)))
	for k, want := range map[string]string{
		"internet_upload_gbytes": "66.0000", "internet_upload_cost": "4.02000000", // 48 GB network + 18 GB lake
		"internet_download_gbytes": "37.0001", "internet_download_cost": "0.36000100",
		"total_cost": "4.38000100",
	} {
		if res[k] != want {
			t.Errorf("summary %s = %v, want %s", k, res[k], want)
		}
	}
}

// TestDataLakeStorage: a data lake that reports what it stores gets storage records in
// detailed_report, per 30 days (measurement_period 2592000), one per stored amount, with
// resource_utilization_gbytes; cost = round8(seconds / 2592000 x cost_per_unit).
func TestDataLakeStorage(t *testing.T) { e2etest.OnEachEngine(t, testDataLakeStorage) }

func testDataLakeStorage(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.PutPrices(t, seedPricesWith(t, demo.SeedPrices, "",
		map[string]any{"resource_type": "data_lake", "price": "0.05", "unit": "gib", "period_seconds": 2592000}))
	changed := event{"specversion": "1.0", "id": "lake-c", "source": testSource, "time": "2024-03-11T00:00:00Z",
		"type": "cloudmeter.resource.changed", "data": map[string]any{"product_id": 9100, "attributes": map[string]any{"stored_gbytes": 300}}}
	srv.PostEvents(t, batch(
		provisioned("lake-p", "2024-03-01T00:00:00Z", 9100, "data_lake", 3, 88, "uk-reading", map[string]any{"stored_gbytes": 100}),
		changed,
		deleted("lake-d", "2024-03-20T23:59:59Z", 9100)))
	res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(3, trafficStart, "2024-03-31T23:59:59Z")))
	recs := records(t, res, 88, "data_lake")
	if len(recs) != 2 {
		t.Fatalf("%d data_lake records, want 2: %v", len(recs), recs)
	}
	for i, want := range []struct {
		start, end, quantity, cpu, cost, gbytes string
	}{
		{"2024-03-01T00:00:00Z", "2024-03-10T23:59:59Z", "864000", "5.00000000", "1.66666667", "100"},
		{"2024-03-11T00:00:00Z", "2024-03-20T23:59:59Z", "864000", "15.00000000", "5.00000000", "300"},
	} {
		r := recs[i]
		got := [6]string{str(r["start_timestamp"]), str(r["end_timestamp"]), str(r["quantity"]), str(r["cost_per_unit"]), str(r["cost"]), str(r["resource_utilization_gbytes"])}
		if got != [6]string{want.start, want.end, want.quantity, want.cpu, want.cost, want.gbytes} {
			t.Errorf("record %d: %v, want %v", i, got, want)
		}
		if r["measurement_period"] != "2592000" || r["measurement_unit"] != "seconds" {
			t.Errorf("record %d: measurement %v %v, want 2592000 seconds", i, r["measurement_period"], r["measurement_unit"])
		}
		checkArithmetic(t, fmt.Sprint("data_lake record ", i), r)
	}
}

// TestUnbilledTrafficAnomalies: samples sent for a product that was never provisioned
// are stored and listed at GET /api/v1/anomalies as not_provisioned, never dropped
// silently; once the product is provisioned as a network they are billed, and with no
// price for them they are listed as unpriced; once priced, no anomaly is left.
func TestUnbilledTrafficAnomalies(t *testing.T) {
	e2etest.OnEachEngine(t, testUnbilledTrafficAnomalies)
}

func testUnbilledTrafficAnomalies(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	ev := func(id, typ, at, data string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"e2e/unbilled","type":%q,"time":%q,"data":%s}`, id, typ, at, data)
	}
	res := srv.PostEvents(t, []byte("["+ev("s1", "cloudmeter.traffic.metered", "2025-03-01T10:00:00Z", `{"product_id":7701,"direction":"upload","bytes":1073741824}`)+","+
		ev("s2", "cloudmeter.traffic.metered", "2025-03-01T11:00:00Z", `{"product_id":7701,"direction":"upload","bytes":1073741824}`)+"]"))
	if res.Accepted != 2 {
		t.Fatalf("samples: %+v", res)
	}
	anomalies := func() []map[string]any {
		r := srv.Do(t, "GET", "/api/v1/anomalies?product_id=7701", srv.AdminKey, "", nil)
		e2etest.MustStatus(t, r, 200, "GET /api/v1/anomalies?product_id=7701")
		var body struct {
			Anomalies []map[string]any `json:"anomalies"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("anomalies: %v: %s", err, r.Body)
		}
		return body.Anomalies
	}
	got := anomalies()
	if len(got) != 1 || got[0]["kind"] != "not_provisioned" || !bytes.Contains([]byte(fmt.Sprint(got[0]["message"])), []byte("2 traffic samples")) {
		t.Fatalf("anomalies of product 7701 with two unbilled samples: %v", got)
	}
	srv.PostEvents(t, []byte("["+ev("p", "cloudmeter.resource.provisioned", "2025-03-01T09:00:00Z",
		`{"product_id":7701,"resource_type":"network","user_id":1,"infrastructure_id":77,"datacenter":"uk-reading","label":"wan-7701"}`)+"]"))
	// Provisioned, the traffic is billed; with no price for it, it is unpriced usage.
	got = anomalies()
	if len(got) != 1 || got[0]["kind"] != "unpriced" || !bytes.Contains([]byte(fmt.Sprint(got[0]["message"])), []byte("2.0000 GB")) {
		t.Fatalf("anomalies after the provision, with no price book: %v; want one unpriced anomaly for 2.0000 GB of upload", got)
	}
	book := `{"currency":"GBP","entries":[{"resource_type":"network","direction":"upload","price":"0.06","unit":"gb"},
		{"resource_type":"network","direction":"download","price":"0","unit":"gb"}]}`
	e2etest.MustStatus(t, srv.Do(t, "PUT", "/api/v1/prices", srv.AdminKey, "application/json", []byte(book)), 200, "PUT /api/v1/prices")
	if got := anomalies(); len(got) != 0 {
		t.Errorf("anomalies once the traffic is priced: %v; want none", got)
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

// The reservation scenario: user 1 runs three instances of server type 12 in uk-reading
// (and one of type 13) and reserves two of type 12 from the middle of March 2024. The
// report of March reads only what overlaps March, but which instances the reservations
// cover depends on when each was provisioned: in January and February, outside the window
// (the hidden history). Product ids run against provision order, so a rule by product id
// would give other figures.
//
//	503  infra 3668  provisioned 2024-01-10T08:00:00Z  deleted 2024-03-20T12:00:00Z
//	502  infra 3668  provisioned 2024-02-01T00:00:00Z  stopped and started in February
//	501  infra 3669  provisioned 2024-02-15T00:00:00Z
//	504  infra 3668  provisioned 2024-01-05T00:00:00Z  server type 13: never covered in March
//
// Reservations 1 and 2: server type 12, uk-reading, from 2024-03-16T00:00:00Z for 12
// months, 150.00 a month each, utilization price 0.05 an hour. The book prices every
// instance at 0.31 an hour.
//
// From 03-16T00:00:00Z to 503's delete (03-20T12:00:00Z, its last billed second) the two
// earliest provisioned, 503 and 502, are covered (by reservations 1 and 2, in id order);
// from 03-20T12:00:01Z on, 502 and 501 (by 1 and 2).
var reservationEvents = []event{
	deleted("503-d", "2024-03-20T12:00:00Z", 503), // arrives first: order does not matter
	provisioned("501-p", "2024-02-15T00:00:00Z", 501, "instance", 1, 3669, "uk-reading", map[string]any{"server_type_id": 12, "server_type_name": "M.40.256"}),
	provisioned("502-p", "2024-02-01T00:00:00Z", 502, "instance", 1, 3668, "uk-reading", map[string]any{"server_type_id": 12, "server_type_name": "M.40.256"}),
	power("502-s", "2024-02-10T00:00:00Z", 502, "stopped"),
	power("502-a", "2024-02-11T00:00:00Z", 502, "started"),
	provisioned("503-p", "2024-01-10T08:00:00Z", 503, "instance", 1, 3668, "uk-reading", map[string]any{"server_type_id": 12, "server_type_name": "M.40.256"}),
	provisioned("504-p", "2024-01-05T00:00:00Z", 504, "instance", 1, 3668, "uk-reading", map[string]any{"server_type_id": 13, "server_type_name": "M.80.512"}),
}

func power(id, at string, product int64, what string) event {
	return event{"specversion": "1.0", "id": id, "source": testSource, "time": at,
		"type": "cloudmeter.resource." + what, "data": map[string]any{"product_id": product}}
}

const reservationBook = `{"currency": "GBP", "entries": [{"resource_type": "instance", "price": "0.31", "unit": "item", "period_seconds": 3600}]}`

// created masks the creation times, which are the clock's of the run.
var created = regexp.MustCompile(`"(resource_reservation_)?created_timestamp":"[^"]*"`)

// masker masks the creation times, and the given timestamps (those of a reservation made
// from today) with placeholders.
func masker(today ...string) func([]byte) []byte {
	return func(b []byte) []byte {
		b = created.ReplaceAll(b, []byte(`"${1}created_timestamp":"<now>"`))
		for i, s := range today {
			b = bytes.ReplaceAll(b, []byte(`"`+s+`"`), []byte(fmt.Sprintf(`"<today %d>"`, i)))
		}
		return b
	}
}

func TestReservations(t *testing.T) { e2etest.OnEachEngine(t, testReservations) }

func testReservations(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.PutPrices(t, []byte(reservationBook))
	srv.PostEvents(t, batch(reservationEvents...))
	key := srv.CreateKey(t, 1, "utilization_reports_read", "prices_write")

	// Two instances of server type 12, as MetalSoft's SDKs send it: (user, object, quantity).
	r := srv.RPC(t, key, rpcCall("server_type_reservation_create", 1, map[string]any{
		"server_type_id": 12, "server_type_name": "M.40.256", "datacenter_name": "uk-reading",
		"resource_reservation_price": "150.00", "resource_utilization_price": "0.05",
		"resource_reservation_start_timestamp": "2024-03-16T00:00:00Z", "type": "ServerTypeReservation",
	}, 2))
	maskRecent := masker()
	testutil.Golden(t, "testdata/reservation_create.golden", maskRecent(r.Body))
	var made struct {
		Result []map[string]any `json:"result"`
	}
	if err := json.Unmarshal(r.Body, &made); err != nil || len(made.Result) != 2 {
		t.Fatalf("server_type_reservation_create: %v: want 2 reservations: %s", err, r.Body)
	}
	for i, res := range made.Result {
		for field, want := range map[string]string{"server_type_reservation_id": fmt.Sprint(i + 1), "resource_reservation_cycle_months": "12",
			"resource_reservation_end_timestamp": "2025-03-15T23:59:59Z", "resource_reservation_status": "expired"} {
			if got := fmt.Sprint(res[field]); got != want {
				t.Errorf("reservation %d: %s = %s, want %s", i, field, got, want)
			}
		}
	}
	// Two of server type 13 in force from yesterday: 504 runs, so one is unused.
	yesterday := time.Now().UTC().Add(-24 * time.Hour).Format(time.RFC3339)
	r = srv.RPC(t, key, rpcCall("server_type_reservation_create", 1, map[string]any{
		"server_type_id": 13, "datacenter_name": "uk-reading", "resource_reservation_price": 900.5,
		"resource_reservation_start_timestamp": yesterday, "resource_reservation_cycle_months": 1,
	}, 2))
	current := rpcCreated(t, r, 2)
	maskRecent = masker(yesterday, fmt.Sprint(current[0]["resource_reservation_end_timestamp"]))

	testutil.Golden(t, "testdata/reservation_get.golden", maskRecent(srv.RPC(t, key, rpcCall("server_type_reservation_get", 2)).Body))
	testutil.Golden(t, "testdata/reservation_user.golden", maskRecent(srv.RPC(t, key, rpcCall("user_server_type_reservations", 1)).Body))
	unused := srv.RPC(t, key, rpcCall("user_server_type_reservations_unused", 1))
	testutil.Golden(t, "testdata/reservation_unused.golden", maskRecent(unused.Body))
	if got := objectKeys(t, map[string]any{"r": rpcResult(t, unused)}, "r"); !cmp.Equal(got, []string{"4"}) {
		t.Errorf("unused reservations %v, want [4]: reservation 3 covers instance 504", got)
	}

	// March 2024, figures by hand (0.31 and 0.05 an hour; cost = round_half_up_8(seconds / 3600 x price)):
	//   1-15 March    1296000 s: 1296000 / 3600 x 0.31 = 111.60000000
	//   16-20 March    388801 s (to 12:00:00 inclusive):  x 0.05 = 5.400013888.. -> 5.40001389
	//   20-31 March    993599 s (from 12:00:01):          x 0.05 = 13.799986111.. -> 13.79998611
	//   501 on demand 1684801 s (1-20 March 12:00:00):    x 0.31 = 145.080086111.. -> 145.08008611
	//   504, all March 2678400 s:                          x 0.31 = 230.64000000
	res := rpcResult(t, srv.RPC(t, key, detailed(1, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")))
	type line struct {
		Product     int64
		Start, End  string
		Quantity    string
		CPU, Cost   string
		Reservation string
	}
	want := map[int64][]line{
		3669: {
			{501, "2024-03-01T00:00:00Z", "2024-03-20T12:00:00Z", "1684801", "0.31000000", "145.08008611", "0"},
			{501, "2024-03-20T12:00:01Z", "2024-03-31T23:59:59Z", "993599", "0.05000000", "13.79998611", "1"},
		},
		3668: {
			{502, "2024-03-01T00:00:00Z", "2024-03-15T23:59:59Z", "1296000", "0.31000000", "111.60000000", "0"},
			{502, "2024-03-16T00:00:00Z", "2024-03-20T12:00:00Z", "388801", "0.05000000", "5.40001389", "1"},
			{502, "2024-03-20T12:00:01Z", "2024-03-31T23:59:59Z", "993599", "0.05000000", "13.79998611", "1"},
			{503, "2024-03-01T00:00:00Z", "2024-03-15T23:59:59Z", "1296000", "0.31000000", "111.60000000", "0"},
			{503, "2024-03-16T00:00:00Z", "2024-03-20T12:00:00Z", "388801", "0.05000000", "5.40001389", "1"},
			{504, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z", "2678400", "0.31000000", "230.64000000", "0"},
		},
	}
	lines := func(res map[string]any, infra int64) []line {
		var out []line
		for _, rec := range records(t, res, infra, "instance") {
			checkArithmetic(t, fmt.Sprintf("infrastructure %d, product %v", infra, rec["product_id"]), rec)
			out = append(out, line{numberOf(t, rec["product_id"]), str(rec["start_timestamp"]), str(rec["end_timestamp"]), str(rec["quantity"]),
				str(rec["cost_per_unit"]), str(rec["cost"]), str(rec["is_reservation"])})
		}
		return out
	}
	for infra, w := range want {
		if d := cmp.Diff(w, lines(res, infra)); d != "" {
			t.Errorf("March, infrastructure %d (-want +got):\n%s", infra, d)
		}
	}
	// The two first installments are due on 16 March; the second ones (16 April) are not.
	inst, _ := res["reservation_installments"].(map[string]any)
	list, _ := inst["server_types"].([]any)
	if len(list) != 2 {
		t.Fatalf("reservation_installments %v, want 2 installments", res["reservation_installments"])
	}
	for i, x := range list {
		in := x.(map[string]any)
		got := fmt.Sprint(in["server_type_reservation_id"], " ", in["start_timestamp"], " ", in["end_timestamp"], " ", in["cost"], " ", in["server_type_name"])
		if want := fmt.Sprintf("%d 2024-03-16T00:00:00Z 2024-04-15T23:59:59Z 150.00000000 M.40.256", i+1); got != want {
			t.Errorf("installment %d: %s, want %s", i, got, want)
		}
	}
	testutil.Golden(t, "testdata/reservation_detailed.golden", maskRecent(srv.RPC(t, key, detailed(1, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z")).Body))

	// The summary: lines and installments add up to the total, by hand:
	//   instances 145.08008611 + 13.79998611 + 111.60000000 + 5.40001389 + 13.79998611
	//             + 111.60000000 + 5.40001389 + 230.64000000 = 637.32008611
	//   installments 2 x 150.00000000 = 300.00000000; total 937.32008611
	sr := srv.RPC(t, key, summary(1, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z"))
	testutil.Golden(t, "testdata/reservation_summary.golden", maskRecent(sr.Body))
	sum := rpcResult(t, sr)
	byInfra, _ := sum["summary_report"].(map[string]any)
	var costs []string
	for _, infra := range []string{"3668", "3669"} {
		costs = append(costs, str(byInfra[infra].(map[string]any)["instance"].(map[string]any)["cost"]))
	}
	if d := cmp.Diff([]string{"478.44001389", "158.88007222"}, costs); d != "" {
		t.Errorf("summary instance costs of 3668, 3669 (-want +got):\n%s", d)
	}
	for field, want := range map[string]string{"total_cost": "937.32008611", "reservation_installments_cost": "300.00000000"} {
		if got := str(sum[field]); got != want {
			t.Errorf("summary %s = %s, want %s", field, got, want)
		}
	}

	// Filters do not change coverage: 501 alone (infrastructure 3669) is still on demand
	// until 503 goes, as the earliest two are covered; installments belong to no
	// infrastructure. A datacenter filter keeps them.
	res = rpcResult(t, srv.RPC(t, key, detailed(1, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z", []int64{3669})))
	if d := cmp.Diff(want[3669], lines(res, 3669)); d != "" {
		t.Errorf("March, infrastructure 3669 alone (-want +got):\n%s", d)
	}
	if _, ok := res["reservation_installments"]; ok {
		t.Errorf("a report of some infrastructures lists reservation installments: %v", res["reservation_installments"])
	}
	sum = rpcResult(t, srv.RPC(t, key, rpcCall("resource_utilization_detailed", 1, "2024-03-01T00:00:00Z", "2024-03-31T23:59:59Z", nil, []string{"uk-reading"})))
	if _, ok := sum["reservation_installments"]; !ok {
		t.Errorf("a report of datacenter uk-reading lists no reservation installments")
	}
	// A window inside March gives the same coverage, clipped.
	res = rpcResult(t, srv.RPC(t, key, detailed(1, "2024-03-18T00:00:00Z", "2024-03-25T00:00:00Z", []int64{3669})))
	wantPart := []line{
		{501, "2024-03-18T00:00:00Z", "2024-03-20T12:00:00Z", "216001", "0.31000000", "18.60008611", "0"},
		{501, "2024-03-20T12:00:01Z", "2024-03-25T00:00:00Z", "388800", "0.05000000", "5.40000000", "1"},
	}
	if d := cmp.Diff(wantPart, lines(res, 3669)); d != "" {
		t.Errorf("18 to 25 March, infrastructure 3669 (-want +got):\n%s", d)
	}

	// Bad input is named; another user's key reads nothing of user 1.
	for _, c := range []struct {
		body string
		code int
		msg  string
	}{
		{rpcCall("server_type_reservation_create", 1, map[string]any{"datacenter_name": "uk-reading", "resource_reservation_price": "1"}), 143,
			"reservation.server_type_id: required: the server type reserved"},
		{rpcCall("server_type_reservation_create", 1, map[string]any{"server_type_id": 12, "datacenter_name": "uk-reading", "resource_reservation_price": "1.123456789"}), 143,
			"reservation.resource_reservation_price: "},
		{rpcCall("server_type_reservation_create", 1, map[string]any{"server_type_id": 12, "datacenter_name": "uk-reading", "resource_reservation_price": "1", "colour": "red"}), 143,
			"reservation.colour: not accepted"},
		{rpcCall("server_type_reservation_create", 1, map[string]any{"server_type_id": "twelve"}), 93, "parameter reservation.server_type_id: must be an integer server type id"},
		{rpcCall("server_type_reservation_create", 1, map[string]any{"server_type_id": 12, "datacenter_name": "uk-reading", "resource_reservation_price": "1"}, 0), 143,
			"quantity: 0 must be from 1 to 1000"},
		{rpcCall("server_type_reservation_get", 99), 143, "server type reservation 99 not found"},
	} {
		code, msg := rpcError(t, srv.RPC(t, key, c.body))
		if code != c.code || len(msg) < len(c.msg) || msg[:len(c.msg)] != c.msg {
			t.Errorf("%s: error %d %q, want %d %q...", c.body, code, msg, c.code, c.msg)
		}
	}
	other := srv.CreateKey(t, 2)
	if code, _ := rpcError(t, srv.RPC(t, other, rpcCall("server_type_reservation_get", 1))); code != 143 {
		t.Errorf("user 2 reading reservation 1: code %d, want 143 (not found)", code)
	}
	if code, _ := rpcError(t, srv.RPC(t, other, rpcCall("user_server_type_reservations", 1))); code != 71 {
		t.Errorf("user 2 listing user 1's reservations: code %d, want 71", code)
	}
	if code, _ := rpcError(t, srv.RPC(t, other, rpcCall("server_type_reservation_create", 2, map[string]any{
		"server_type_id": 12, "datacenter_name": "uk-reading", "resource_reservation_price": "1"}))); code != 71 {
		t.Errorf("a key without prices_write creating a reservation: code %d, want 71", code)
	}
}

func rpcCreated(t *testing.T, r *e2etest.Response, n int) []map[string]any {
	t.Helper()
	var out struct {
		Result []map[string]any `json:"result"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || len(out.Result) != n {
		t.Fatalf("server_type_reservation_create: %v: want %d reservations: %s", err, n, r.Body)
	}
	return out.Result
}

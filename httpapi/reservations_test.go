package httpapi_test

import (
	"bytes"
	"encoding/json"
	"testing"
)

// reservationCases exercise the reservation routes and methods after the other cases
// (the seed is loaded: user 1's instance 2416 in uk-reading has no server type).
func reservationCases() []tcase {
	const (
		post    = "POST /api/v1/reservations"
		get     = "GET /api/v1/reservations/{reservation_id}"
		list    = "GET /api/v1/users/{user_id}/reservations"
		rpcOp   = "POST /api/developer/developer"
		create  = `{"user_id":1,"server_type_id":12,"server_type_name":"M.40.256","datacenter":"uk-reading","price":"150.00","start":"2016-02-01T00:00:00Z","quantity":2}`
		rpcBody = `{"server_type_id":12,"datacenter_name":"uk-reading","resource_reservation_price":"99.5","resource_reservation_start_timestamp":"2016-01-01T00:00:00Z"}`
	)
	return []tcase{
		{name: "reserve", op: post, key: "admin", ctype: "application/json", checkRequest: true, body: create, status: 201,
			check: wantReservations(2, "2017-01-31T23:59:59Z")},
		{name: "reserve no key", op: post, ctype: "application/json", body: create, status: 401},
		{name: "reserve no permission", op: post, key: "reader", ctype: "application/json", body: create, status: 403},
		{name: "reserve missing price", op: post, key: "admin", ctype: "application/json", status: 400,
			body: `{"user_id":1,"server_type_id":12,"datacenter":"uk-reading"}`},
		{name: "reserve unknown field", op: post, key: "admin", ctype: "application/json", status: 400,
			body: `{"user_id":1,"server_type_id":12,"datacenter":"uk-reading","price":"1","colour":"red"}`},
		{name: "reserve cycle too long", op: post, key: "admin", ctype: "application/json", status: 400,
			body: `{"user_id":1,"server_type_id":12,"datacenter":"uk-reading","price":"1","cycle_months":121}`},
		{name: "reserve too large", op: post, key: "admin", ctype: "application/json", body: "[" + string(bytes.Repeat([]byte(" "), testMaxBody)) + "]", status: 413},
		{name: "reservation", op: get, url: "/api/v1/reservations/2", key: "reader", status: 200},
		{name: "reservation own user", op: get, url: "/api/v1/reservations/1", key: "admin", status: 200},
		{name: "reservation of another user", op: get, url: "/api/v1/reservations/1", key: "stranger", status: 404},
		{name: "reservation unknown", op: get, url: "/api/v1/reservations/999", key: "admin", status: 404},
		{name: "reservation bad id", op: get, url: "/api/v1/reservations/x", key: "admin", status: 400},
		{name: "reservation no key", op: get, url: "/api/v1/reservations/1", status: 401},
		{name: "reservations", op: list, url: "/api/v1/users/1/reservations", key: "reader", status: 200, check: wantReservations(2, "2017-01-31T23:59:59Z")},
		{name: "reservations unused", op: list, url: "/api/v1/users/1/reservations?unused=true", key: "admin", status: 200, check: wantReservations(0, "")},
		{name: "reservations unused bad", op: list, url: "/api/v1/users/1/reservations?unused=maybe", key: "admin", status: 400},
		{name: "reservations other user", op: list, url: "/api/v1/users/1/reservations", key: "stranger", status: 403},
		{name: "reservations no key", op: list, url: "/api/v1/users/1/reservations", status: 401},
		{name: "rpc reserve", op: rpcOp, key: "admin", ctype: "application/json", status: 200, body: rpc("1", "server_type_reservation_create", "[1,"+rpcBody+",1]")},
		{name: "rpc reservation", op: rpcOp, key: "admin", ctype: "application/json", status: 200, body: rpc("1", "server_type_reservation_get", "[3]")},
		{name: "rpc reservations", op: rpcOp, key: "reader", ctype: "application/json", status: 200, body: rpc("1", "user_server_type_reservations", "[1]")},
		{name: "rpc reservations unused", op: rpcOp, key: "reader", ctype: "application/json", status: 200, body: rpc("1", "user_server_type_reservations_unused", "[1]")},
		{name: "rpc reserve no permission", op: rpcOp, key: "reader", status: 200, rpcCode: 71, body: rpc("1", "server_type_reservation_create", "[1,"+rpcBody+"]")},
		{name: "rpc reserve bad member", op: rpcOp, key: "admin", status: 200, rpcCode: 143,
			body: rpc("1", "server_type_reservation_create", `[1,{"server_type_id":12,"datacenter_name":"uk-reading","resource_reservation_price":"1","x":1}]`)},
		{name: "rpc reserve type mismatch", op: rpcOp, key: "admin", status: 200, rpcCode: 93,
			body: rpc("1", "server_type_reservation_create", `[1,"twelve"]`)},
		// The seed's instance has no server type: the reservations cover nothing, and the
		// installments due in 2016 (February to December, two reservations at 150, and
		// January to December, one at 99.5) are added to the seed's 8.63663243.
		{name: "rpc summary with installments", op: rpcOp, key: "admin", status: 200,
			body: rpc("1", "resource_utilization_summary", `[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]`),
			check: func(t *testing.T, e *env, body []byte) {
				// 2 x 11 x 150 + 12 x 99.5 = 3300 + 1194 = 4494; + 8.63663243
				if !bytes.Contains(body, []byte(`"total_cost":"4502.63663243"`)) || !bytes.Contains(body, []byte(`"reservation_installments_cost":"4494.00000000"`)) {
					t.Errorf("summary: %s", body)
				}
			}},
	}
}

// wantReservations checks the number of reservations of a list and the end of the first.
func wantReservations(n int, end string) func(t *testing.T, e *env, body []byte) {
	return func(t *testing.T, e *env, body []byte) {
		var r struct {
			Reservations []struct {
				End string `json:"end"`
			} `json:"reservations"`
		}
		if err := json.Unmarshal(body, &r); err != nil || len(r.Reservations) != n || (n > 0 && r.Reservations[0].End != end) {
			t.Errorf("reservations %s, want %d ending %s (%v)", body, n, end, err)
		}
	}
}

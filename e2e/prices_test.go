package e2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

// priceMethodsBook is the seed's book with a server type priced per datacenter, one
// priced until 2017 (ended), a user's own price, and the server types it names.
func priceMethodsBook(t *testing.T) []byte {
	t.Helper()
	var book map[string]any
	if err := json.Unmarshal(demo.SeedPrices, &book); err != nil {
		t.Fatal(err)
	}
	extra := []any{
		map[string]any{"resource_type": "instance", "server_type_id": 12, "datacenter": "uk-reading", "price": "0.35", "unit": "item", "period_seconds": 3600, "valid_from": "2016-01-01T00:00:00Z"},
		map[string]any{"resource_type": "instance", "server_type_id": 3, "price": "0.5", "unit": "item", "period_seconds": 3600, "valid_until": "2017-01-01T00:00:00Z"},
		map[string]any{"resource_type": "instance", "user_id": 7, "price": "0.25", "unit": "item", "period_seconds": 3600},
	}
	book["entries"] = append(book["entries"].([]any), extra...)
	book["server_types"] = []any{
		map[string]any{"id": 12, "name": "M.8.8.2", "display_name": "8 cores, 8 GB"},
		map[string]any{"id": 40, "name": "GPU.1"},
	}
	b, err := json.Marshal(book)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// santaClaraInstance is an instance of user 1 in a second datacenter, for the
// datacenter_names filter of the summary.
const santaClaraInstance = `[
 {"specversion": "1.0", "id": "sc-1", "source": "provisioner/us-santaclara", "time": "2016-03-01T00:00:00Z", "type": "cloudmeter.resource.provisioned",
  "data": {"product_id": 9001, "resource_type": "instance", "user_id": 1, "infrastructure_id": 5000, "infrastructure_label": "sc",
           "datacenter": "us-santaclara", "label": "instance-9001", "subdomain": "instance-9001.sc.1", "attributes": {"server_type_id": 12}}},
 {"specversion": "1.0", "id": "sc-2", "source": "provisioner/us-santaclara", "time": "2016-03-01T10:00:00Z", "type": "cloudmeter.resource.deleted",
  "data": {"product_id": 9001}},
 {"specversion": "1.0", "id": "u7-1", "source": "provisioner/uk-reading", "time": "2016-03-01T00:00:00Z", "type": "cloudmeter.resource.provisioned",
  "data": {"product_id": 9002, "resource_type": "instance", "user_id": 7, "infrastructure_id": 5001, "infrastructure_label": "seven",
           "datacenter": "uk-reading", "label": "instance-9002", "subdomain": "instance-9002.seven.7", "attributes": {}}}]`

// TestPriceMethods calls each price method MetalSoft clients read and compares the answer
// with its golden file; user_prices is the user's own or needs prices_read.
func TestPriceMethods(t *testing.T) { e2etest.OnEachEngine(t, testPriceMethods) }

func testPriceMethods(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	customer := srv.CreateKey(t, 1)

	// Before any book: no currency, no prices, no server types.
	r := srv.RPC(t, customer, rpcCall("prices"))
	testutil.Golden(t, "testdata/prices_none.golden", r.Body)

	srv.PutPrices(t, priceMethodsBook(t))
	srv.LoadSeed(t) // the seed's book is put again below, after the seed's events
	srv.PutPrices(t, priceMethodsBook(t))
	srv.PostEvents(t, []byte(santaClaraInstance))

	for _, c := range []struct{ name, body string }{
		{"prices", rpcCall("prices")},
		{"prices_history", rpcCall("prices_history")},
		{"user_prices", rpcCall("user_prices", 7)},
		{"server_types", rpcCall("server_types")},
		{"server_type_get", rpcCall("server_type_get", 12)},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := customer
			if c.name == "user_prices" {
				key = srv.CreateKey(t, 7)
			}
			r := srv.RPC(t, key, c.body)
			rpcResult(t, r)
			testutil.Golden(t, "testdata/"+c.name+".golden", r.Body)
		})
	}

	t.Run("Rules", func(t *testing.T) {
		hist := rpcResult(t, srv.RPC(t, customer, rpcCall("prices_history")))
		now := rpcResult(t, srv.RPC(t, customer, rpcCall("prices")))
		if n, m := len(hist["prices"].([]any)), len(now["prices"].([]any)); n != m+1 {
			t.Errorf("prices_history has %d entries, prices %d: want the one that ended in 2017 more", n, m)
		}
		for _, e := range now["prices"].([]any) {
			if e.(map[string]any)["user_id"] != nil {
				t.Errorf("prices shows a user's own price: %v", e)
			}
		}
		up := rpcResult(t, srv.RPC(t, srv.AdminKey, rpcCall("user_prices", 7)))
		found := false
		for _, e := range up["prices"].([]any) {
			found = found || str(e.(map[string]any)["user_id"]) == "7"
		}
		if !found {
			t.Errorf("user_prices(7) does not show user 7's own price")
		}
		// Its named parameter, MetalSoft's name, and a string of digits.
		r := srv.RPC(t, srv.AdminKey, `{"jsonrpc":"2.0","id":1,"method":"user_prices","params":{"strUserID":"7"}}`)
		if got := rpcResult(t, r); len(got["prices"].([]any)) != len(up["prices"].([]any)) {
			t.Errorf("user_prices by MetalSoft's parameter name differs")
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct {
			name, key, body string
			code            int
			msg             string
		}{
			{"OtherUsersPrices", customer, rpcCall("user_prices", 7), 71, "needs the prices_read permission"},
			{"UnknownUser", srv.AdminKey, rpcCall("user_prices", 424242), 42, "user 424242 not found"},
			{"UserNotANumber", srv.AdminKey, rpcCall("user_prices", true), 93, "user: must be an integer user id"},
			{"NoUser", srv.AdminKey, rpcCall("user_prices"), -32602, "user (parameter 1, an integer user id) is required"},
			{"PricesWithParams", customer, rpcCall("prices", 1), -32602, "prices takes no parameters"},
			{"UnknownServerType", customer, rpcCall("server_type_get", 99), 143, "server type 99 not found"},
			{"ServerTypeNotANumber", customer, rpcCall("server_type_get", []int{1}), 93, "server_type_id: must be an integer server type id"},
			{"UnknownDatacenter", customer, rpcCall("server_types", "mars-1"), 269, `datacenter "mars-1" not found`},
			{"OnlyAvailableNotABool", customer, rpcCall("server_types", nil, "yes"), 93, "only_available: must be null, true or false"},
		} {
			t.Run(c.name, func(t *testing.T) {
				code, msg := rpcError(t, srv.RPC(t, c.key, c.body))
				if code != c.code || !strings.Contains(msg, c.msg) {
					t.Errorf("answer %d %q, want %d with %q", code, msg, c.code, c.msg)
				}
			})
		}
	})

	t.Run("SummaryByDatacenter", func(t *testing.T) {
		all := srv.RPC(t, srv.AdminKey, summary(1, seedStart, seedEnd))
		uk := srv.RPC(t, srv.AdminKey, summary(1, seedStart, seedEnd, nil, []string{"uk-reading"}))
		sc := srv.RPC(t, srv.AdminKey, summary(1, seedStart, seedEnd, nil, []string{"us-santaclara"}))
		named := srv.RPC(t, srv.AdminKey, `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_summary","params":{"user":1,"start":"`+seedStart+`","end":"`+seedEnd+`","arrDatacenterNames":["us-santaclara"]}}`)
		if !bytes.Equal(sc.Body, named.Body) {
			t.Errorf("datacenter_names by position and by MetalSoft's name differ:\n%s\n%s", sc.Body, named.Body)
		}
		total := func(r *e2etest.Response) string { return str(rpcResult(t, r)["total_cost"]) }
		// us-santaclara: 10 hours of server type 12, which is priced 0.35 only in uk-reading: 0.31 x 10 + 1 s.
		if got := total(sc); got != "3.10008611" {
			t.Errorf("us-santaclara total %s, want 3.10008611 (36001 s at 0.31 per hour)", got)
		}
		if got, want := total(uk), "8.60663243"; got != want {
			t.Errorf("uk-reading total %s, want the seed's %s", got, want)
		}
		if got := total(all); got != "11.70671854" {
			t.Errorf("total %s, want 8.60663243 + 3.10008611", got)
		}
		testutil.Golden(t, "testdata/summary_by_datacenter.golden", sc.Body)
		code, msg := rpcError(t, srv.RPC(t, srv.AdminKey, summary(1, seedStart, seedEnd, nil, []string{"mars-1"})))
		if code != 269 || !strings.Contains(msg, "mars-1") {
			t.Errorf("unknown datacenter: %d %q", code, msg)
		}
	})
}

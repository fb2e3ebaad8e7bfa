package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// TestRPCErrors checks every error code of the MetalSoft-compatible API: the exact code
// and a message that names the problem.
func TestRPCErrors(t *testing.T) { e2etest.OnEachEngine(t, testRPCErrors) }

func testRPCErrors(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	// User 2 owns one instance of its own and a key without utilization_reports_read.
	srv.PostEvents(t, batch(
		provisioned("u2-p", "2016-03-01T00:00:00Z", 9200, "instance", 2, 9300, "uk-reading", nil),
		deleted("u2-d", "2016-03-01T00:59:59Z", 9200),
	))
	user2 := srv.CreateKey(t, 2, "events_write", "prices_read")
	admin := srv.AdminKey

	cases := []struct {
		name string
		key  string
		body string
		code int
		// words that the message must contain (case-insensitive)
		words []string
	}{
		{"ParseError", admin, `{"id":1,"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[1,`, -32700, []string{"parse"}},
		{"ParseErrorNotJSON", admin, `user=1&start=2016`, -32700, []string{"parse"}},
		{"InvalidRequestVersion", admin, `{"id":1,"jsonrpc":"1.0","method":"resource_utilization_detailed","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`, -32600, []string{"jsonrpc"}},
		{"InvalidRequestNoMethod", admin, `{"id":1,"jsonrpc":"2.0","params":[]}`, -32600, []string{"method"}},
		{"MethodNotFound", admin, `{"id":1,"jsonrpc":"2.0","method":"resource_utilisation_detailed","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`, -32601, []string{"method", "not found"}},
		{"UserNotAnInteger", admin, detailed("abc", seedStart, seedEnd), 93, []string{"user"}},
		{"UserFraction", admin, detailed(1.5, seedStart, seedEnd), 93, []string{"user"}},
		{"StartNotAString", admin, detailed(1, 1451606400, seedEnd), 93, []string{"start"}},
		{"EndNotAString", admin, detailed(1, seedStart, true), 93, []string{"end"}},
		{"InfrastructureIDsNotAnArray", admin, detailed(1, seedStart, seedEnd, "3668"), 93, []string{"infrastructure_ids"}},
		{"InfrastructureIDsOfWords", admin, detailed(1, seedStart, seedEnd, []string{"d-lake"}), 93, []string{"infrastructure_ids"}},
		{"DatacenterNamesNotAnArray", admin, detailed(1, seedStart, seedEnd, nil, "uk-reading"), 93, []string{"datacenter_names"}},
		{"NoAuthorization", "", detailed(1, seedStart, seedEnd), 73, []string{"authenticated", "authorization"}},
		{"UnknownKey", "1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", detailed(1, seedStart, seedEnd), 322, []string{"key"}},
		{"OtherUserWithoutPermission", user2, detailed(1, seedStart, seedEnd), 71, []string{"utilization_reports_read", "user 1"}},
		// A key that may not read other users learns nothing about them: not even
		// whether they exist or which infrastructures they own.
		{"OtherUnknownUserWithoutPermission", user2, detailed(4242, seedStart, seedEnd), 71, []string{"utilization_reports_read"}},
		{"OtherUserInfrastructureWithoutPermission", user2, detailed(1, seedStart, seedEnd, []int{999999}), 71, []string{"utilization_reports_read"}},
		{"StartMalformed", admin, detailed(1, "2016-13-01T00:00:00Z", seedEnd), 149, []string{"start", "2016-13-01T00:00:00Z"}},
		{"EndMalformed", admin, detailed(1, seedStart, "yesterday"), 149, []string{"end", "yesterday"}},
		{"StartDateOnly", admin, detailed(1, "2016-01-01", seedEnd), 149, []string{"start", "2016-01-01"}},
		{"WindowOverFiveYears", admin, detailed(1, "2010-01-01T00:00:00Z", "2015-01-01T00:00:01Z"), 220, []string{"5 years"}},
		{"EndBeforeStart", admin, detailed(1, seedEnd, seedStart), 143, []string{"end", "before"}},
		{"UnknownInfrastructure", admin, detailed(1, seedStart, seedEnd, []int{999999}), 152, []string{"infrastructure", "999999"}},
		{"OtherUsersInfrastructure", admin, detailed(1, seedStart, seedEnd, []int{9300}), 152, []string{"infrastructure", "9300"}},
		{"UnknownDatacenter", admin, detailed(1, seedStart, seedEnd, nil, []string{"nowhere"}), 269, []string{"datacenter", "nowhere"}},
		{"UnknownUser", admin, detailed(4242, seedStart, seedEnd), 42, []string{"user", "4242"}},
		{"MissingParams", admin, `{"id":1,"jsonrpc":"2.0","method":"resource_utilization_detailed"}`, -32602, []string{"params", "user"}},
		{"EmptyParams", admin, detailed(), -32602, []string{"params", "user"}},
		{"MissingEnd", admin, detailed(1, seedStart), -32602, []string{"params", "end"}},
		{"TooManyParams", admin, detailed(1, seedStart, seedEnd, nil, nil, 6), -32602, []string{"params"}},
		{"SummaryUnknownUser", admin, summary(4242, seedStart, seedEnd), 42, []string{"user", "4242"}},
		{"SummaryWindowTooLong", admin, summary(1, "2010-01-01T00:00:00Z", "2016-01-01T00:00:00Z"), 220, []string{"5 years"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := srv.RPC(t, c.key, c.body)
			code, msg := rpcError(t, r)
			if code != c.code {
				t.Errorf("code %d (%q), want %d", code, msg, c.code)
			}
			for _, w := range c.words {
				if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
					t.Errorf("message %q does not name %q", msg, w)
				}
			}
		})
	}

	t.Run("OwnUserWithoutPermission", func(t *testing.T) {
		res := rpcResult(t, srv.RPC(t, user2, detailed(2, seedStart, seedEnd)))
		recs := records(t, res, 9300, "instance")
		if len(recs) != 1 {
			t.Fatalf("user 2 reading its own report: %d instance records in infrastructure 9300, want 1: %v", len(recs), res)
		}
		wantRecord{ProductID: 9200, Start: "2016-03-01T00:00:00Z", End: "2016-03-01T00:59:59Z", Quantity: "3600",
			CostPerUnit: "0.31000000", Cost: "0.31000000"}.check(t, "user 2 instance", recs[0])
		if got := objectKeys(t, res, "detailed_report"); len(got) != 1 || got[0] != "9300" {
			t.Errorf("user 2 sees infrastructures %v, want only its own 9300", got)
		}
	})

	t.Run("NotBearer", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+e2etest.RPCPath, strings.NewReader(detailed(1, seedStart, seedEnd)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
		code, msg := rpcError(t, srv.Send(t, req))
		if code != 73 || !strings.Contains(msg, "Bearer") {
			t.Errorf("code %d %q, want 73 naming the Bearer scheme", code, msg)
		}
	})

	t.Run("ExactErrorBytes", func(t *testing.T) {
		r := srv.RPC(t, admin, `{"jsonrpc":"2.0","id":17,"method":"resource_utilization_detailed","params":[4242,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`)
		want := `{"error":{"message":"user 4242 not found","code":42},"jsonrpc":"2.0","id":17}`
		if string(r.Body) != want {
			t.Errorf("body\n%s\nwant\n%s", r.Body, want)
		}
		r = srv.RPC(t, admin, `{"jsonrpc":"2.0","id":"abc","method":"nope"}`)
		if want := `{"error":{"message":"Method not found: \"nope\"","code":-32601},"jsonrpc":"2.0","id":"abc"}`; !strings.HasPrefix(string(r.Body), `{"error":{"message":"`) ||
			!strings.HasSuffix(string(r.Body), `,"code":-32601},"jsonrpc":"2.0","id":"abc"}`) {
			t.Errorf("body\n%s\nwant the shape of\n%s", r.Body, want)
		}
	})

	t.Run("MessagesReadable", func(t *testing.T) {
		// A person reads these messages in curl's output: no HTML escapes of < and >.
		r := srv.RPC(t, "", detailed(1, seedStart, seedEnd))
		if strings.Contains(string(r.Body), `\u003c`) {
			t.Errorf("message is HTML-escaped: %s", r.Body)
		}
	})

	t.Run("Batch", func(t *testing.T) {
		body := `[
 {"jsonrpc":"2.0","id":1,"method":"resource_utilization_summary","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]},
 {"jsonrpc":"2.0","id":"two","method":"resource_utilization_detailed","params":[4242,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]},
 {"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}
]`
		r := srv.RPC(t, admin, body)
		var answers []map[string]any
		d := json.NewDecoder(strings.NewReader(string(r.Body)))
		d.UseNumber()
		if err := d.Decode(&answers); err != nil {
			t.Fatalf("batch answer is not an array of objects: %v: %s", err, r.Body)
		}
		if len(answers) != 2 {
			t.Fatalf("%d answers, want 2 (the notification is not answered): %s", len(answers), r.Body)
		}
		if str(answers[0]["id"]) != "1" || answers[0]["result"] == nil {
			t.Errorf("first answer %v, want the result of id 1", answers[0])
		}
		if res, _ := answers[0]["result"].(map[string]any); res["total_cost"] != "8.60663243" {
			t.Errorf("first answer total_cost %v, want 8.60663243", res["total_cost"])
		}
		if answers[1]["id"] != "two" {
			t.Errorf("second answer id %v, want \"two\"", answers[1]["id"])
		}
		if code, msg := errorOf(t, answers[1]); code != 42 {
			t.Errorf("second answer code %d (%s), want 42", code, msg)
		}
	})

	t.Run("BatchUnauthenticated", func(t *testing.T) {
		r := srv.RPC(t, "", `[{"jsonrpc":"2.0","id":1,"method":"resource_utilization_summary","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]},{"jsonrpc":"2.0","method":"resource_utilization_summary","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}]`)
		var answers []map[string]any
		d := json.NewDecoder(strings.NewReader(string(r.Body)))
		d.UseNumber()
		if err := d.Decode(&answers); err != nil || len(answers) != 1 {
			t.Fatalf("want one answer: %v: %s", err, r.Body)
		}
		if code, _ := errorOf(t, answers[0]); code != 73 {
			t.Errorf("code %d, want 73", code)
		}
	})

	t.Run("OnlyNotifications", func(t *testing.T) {
		r := srv.Do(t, http.MethodPost, e2etest.RPCPath, admin, "", []byte(`{"jsonrpc":"2.0","method":"resource_utilization_summary","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`))
		if r.Status != http.StatusOK || len(r.Body) != 0 {
			t.Errorf("a notification got status %d and body %q, want 200 and no body", r.Status, r.Body)
		}
	})

	t.Run("GetIsNotAllowed", func(t *testing.T) {
		r := srv.Do(t, http.MethodGet, e2etest.RPCPath, admin, "", nil)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
			t.Errorf("GET: status %d, Allow %q; want 405 and POST: %s", r.Status, r.Header.Get("Allow"), r.Body)
		}
	})
}

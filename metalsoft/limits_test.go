package metalsoft_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/metalsoft"
)

// summaryBatch returns a batch of n summary calls of user 1 over the seed window, ids 1
// to n.
func summaryBatch(n int) string {
	calls := make([]string, n)
	for i := range calls {
		calls[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resource_utilization_summary","params":[1,%s]}`, i+1, seedWindow)
	}
	return "[" + strings.Join(calls, ",") + "]"
}

// decodeBatch decodes a batch's answers.
func decodeBatch(t *testing.T, body []byte) []answer {
	t.Helper()
	var out []answer
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("answer is no batch: %v: %.300s", err, body)
	}
	return out
}

// TestBatchLimit checks that a batch of more calls than the limit is refused whole, with
// one -32600 error of id null naming the limit and the flag, before any report is made;
// and that a batch at the limit is served.
func TestBatchLimit(t *testing.T) {
	cases := []struct {
		name  string
		limit int // 0: the default
		calls int
		want  string // "" means: a result per call
	}{
		{"DefaultPlusOne", 0, metalsoft.DefaultMaxBatchCalls + 1,
			`{"error":{"message":"Invalid Request: a batch may hold at most 100 calls (--max-rpc-batch); send the calls in smaller batches","code":-32600},"jsonrpc":"2.0","id":null}`},
		{"Default", 0, metalsoft.DefaultMaxBatchCalls, ""},
		{"TenThousand", 0, 10_000,
			`{"error":{"message":"Invalid Request: a batch may hold at most 100 calls (--max-rpc-batch); send the calls in smaller batches","code":-32600},"jsonrpc":"2.0","id":null}`},
		{"LimitPlusOne", 5, 6,
			`{"error":{"message":"Invalid Request: a batch may hold at most 5 calls (--max-rpc-batch); send the calls in smaller batches","code":-32600},"jsonrpc":"2.0","id":null}`},
		{"Limit", 5, 5, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := newTestAPIWith(t, seedSpans(), apiConfig{opts: metalsoft.Options{MaxBodyBytes: 8 << 20, MaxBatchCalls: c.limit}})
			body := api.call(t, adminKey, summaryBatch(c.calls))
			if c.want != "" {
				if string(body) != c.want {
					t.Errorf("answer %.300s\nwant %s", body, c.want)
				}
				if n := api.userChecks(); n != 0 {
					t.Errorf("%d reports were made for a refused batch", n)
				}
				return
			}
			answers := decodeBatch(t, body)
			if len(answers) != c.calls {
				t.Fatalf("%d answers, want %d", len(answers), c.calls)
			}
			for i, a := range answers {
				if a.Error != nil || string(a.ID) != fmt.Sprint(i+1) {
					t.Fatalf("answer %d: %+v id %s", i, a.Error, a.ID)
				}
			}
		})
	}
}

// TestDeadlineMidBatch checks that once a request's deadline passes, the calls left in
// its batch make no report: each is answered -32000 as the call that met the deadline,
// and the request is logged once.
func TestDeadlineMidBatch(t *testing.T) {
	api := newTestAPIWith(t, seedSpans(), apiConfig{opts: metalsoft.Options{MaxBodyBytes: 1 << 20}, deadline: 50 * time.Millisecond})
	api.store.waitForEnd = true
	answers := decodeBatch(t, api.call(t, adminKey, summaryBatch(20)))
	if n := api.userChecks(); n != 1 {
		t.Errorf("%d reports were started, want 1: the calls after the deadline ran", n)
	}
	if len(answers) != 20 {
		t.Fatalf("%d answers, want 20", len(answers))
	}
	for i, a := range answers {
		if a.Error == nil || a.Error.Code != metalsoft.CodeUnavailable || a.Error.Message != "the request was cancelled or timed out" {
			t.Errorf("answer %d: %+v, want -32000 the request was cancelled or timed out", i, a.Error)
		}
	}
	if lines := api.logLines(); len(lines) != 1 || !strings.Contains(lines[0], "20 of 20 JSON-RPC calls failed") {
		t.Errorf("%d log lines, want one counting 20 failed calls:\n%s", len(lines), api.logText())
	}
}

// TestOneLogLinePerFailedRequest checks that a batch whose every call fails on the
// server's side is logged once, with the count of failed calls and the first failure's
// cause; under an access log (reqinfo) that line is the access log's own. The client
// sees the same answers as ever.
func TestOneLogLinePerFailedRequest(t *testing.T) {
	unavailable := &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database cannot be reached",
		Err: errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")}
	cases := []struct {
		name      string
		fail      error
		accessLog bool
		want      string // each call's error
		wantLine  []string
	}{
		{"Unavailable", unavailable, false, `{"message":"the database cannot be reached","code":-32000}`,
			[]string{"level=ERROR", "failed_calls=100", "100 of 100 JSON-RPC calls failed, the first (resource_utilization_summary): the database cannot be reached: dial tcp 127.0.0.1:5432: connect: connection refused"}},
		{"Internal", errors.New("disk /var/lib/cloudmeter-secret is on fire"), false, `{"message":"internal error","code":-32603}`,
			[]string{"level=ERROR", "failed_calls=100", "100 of 100 JSON-RPC calls failed, the first (resource_utilization_summary): disk /var/lib/cloudmeter-secret is on fire"}},
		{"UnavailableAccessLog", unavailable, true, `{"message":"the database cannot be reached","code":-32000}`,
			[]string{"level=ERROR", `msg="request failed"`, `route="POST /api/developer/developer"`, "100 of 100 JSON-RPC calls failed", "connection refused"}},
		{"InternalAccessLog", errors.New("disk /var/lib/cloudmeter-secret is on fire"), true, `{"message":"internal error","code":-32603}`,
			[]string{"level=ERROR", `msg="request failed"`, "100 of 100 JSON-RPC calls failed", "on fire"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := newTestAPIWith(t, seedSpans(), apiConfig{opts: metalsoft.Options{MaxBodyBytes: 1 << 20}, accessLog: c.accessLog})
			api.store.fail = c.fail
			answers := decodeBatch(t, api.call(t, adminKey, summaryBatch(100)))
			if c.accessLog {
				api.waitAccessLog(t)
			}
			for i, a := range answers {
				got, _ := json.Marshal(a.Error)
				if string(got) != c.want || string(a.ID) != fmt.Sprint(i+1) {
					t.Fatalf("answer %d: %s id %s, want %s", i, got, a.ID, c.want)
				}
			}
			lines := api.logLines()
			if len(lines) != 1 {
				t.Fatalf("%d log lines for one request, want 1:\n%.2000s", len(lines), api.logText())
			}
			for _, want := range c.wantLine {
				if !strings.Contains(lines[0], want) {
					t.Errorf("the line does not contain %q: %s", want, lines[0])
				}
			}
		})
	}
}

// TestStringParams checks that a string parameter holding invalid UTF-8 (which decoding
// would silently replace) or a NUL is refused with 143 naming the parameter, before the
// store is asked.
func TestStringParams(t *testing.T) {
	api := newTestAPI(t, seedSpans())
	cases := []struct {
		name, body, param string
	}{
		{"DatacenterNUL", detailedCall(`[1,` + seedWindow + `,null,["a\u0000b"]]`), "datacenter_names"},
		{"DatacenterInvalidUTF8", detailedCall("[1," + seedWindow + ",null,[\"uk-reading\",\"a\xffb\"]]"), "datacenter_names"},
		{"DatacenterLoneSurrogate", detailedCall(`[1,` + seedWindow + `,null,["\ud800"]]`), "datacenter_names"},
		{"DatacenterNamedMetalSoft", detailedCall(`{"strUserIDOwner":1,"strStartTimestamp":"2016-01-01T00:00:00Z","strEndTimestamp":"2016-12-31T23:59:59Z","arrDatacenterNames":["\u0000"]}`), "datacenter_names"},
		{"StartNUL", detailedCall(`[1,"2016-01-01T00:00:00Z\u0000","2016-12-31T23:59:59Z"]`), "start"},
		{"EndInvalidUTF8", summaryCall("[1,\"2016-01-01T00:00:00Z\",\"2016-12-31T23:59:59Z\xff\"]"), "end"},
		{"UserNUL", detailedCall(`["1\u0000",` + seedWindow + `]`), "user"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := api.store.queryCount()
			body := api.call(t, adminKey, c.body)
			if !utf8.Valid(body) {
				t.Errorf("the answer is not UTF-8: %q", body)
			}
			a := decode(t, body)
			if a.Error == nil || a.Error.Code != metalsoft.CodeParamValueInvalid || !strings.Contains(a.Error.Message, "parameter "+c.param+":") {
				t.Fatalf("answer %+v %s, want code 143 naming %s", a.Error, a.Result, c.param)
			}
			if api.store.queryCount() != before {
				t.Errorf("a refused request queried the store")
			}
		})
	}
}

// TestInvalidID checks that an id holding invalid UTF-8 or a NUL is answered -32600 with
// id null, the answer valid JSON text, and no report made.
func TestInvalidID(t *testing.T) {
	api := newTestAPI(t, seedSpans())
	for name, id := range map[string]string{"InvalidUTF8": "\"a\xffb\"", "NUL": `"a\u0000b"`} {
		t.Run(name, func(t *testing.T) {
			body := api.call(t, adminKey, `{"jsonrpc":"2.0","id":`+id+`,"method":"resource_utilization_summary","params":[1,`+seedWindow+`]}`)
			if !utf8.Valid(body) {
				t.Fatalf("the answer is not UTF-8: %q", body)
			}
			a := decode(t, body)
			if a.Error == nil || a.Error.Code != -32600 || string(a.ID) != "null" {
				t.Errorf("answer %s, want -32600 with id null", body)
			}
			if n := api.userChecks(); n != 0 {
				t.Errorf("%d reports made", n)
			}
		})
	}
}

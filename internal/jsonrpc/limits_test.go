package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// batchOf returns a batch of n copies of call, each given the id i+1 when call has the
// placeholder ID (a notification has none).
func batchOf(n int, call string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strings.ReplaceAll(call, "ID", fmt.Sprint(i+1))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

const countCall = `{"jsonrpc":"2.0","method":"count","id":ID}`

// logLines returns the lines logged, without the empty one after the last newline.
func logLines(ts *testServer) []string {
	var out []string
	for _, l := range strings.Split(ts.logs.String(), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestBatchLimit checks that a batch of more calls than the limit is refused as a
// whole, with one error of id null naming the limit and its flag, before any call runs,
// and that a batch at the limit is served.
func TestBatchLimit(t *testing.T) {
	const (
		tooLarge100 = `{"error":{"message":"Invalid Request: a batch may hold at most 100 calls; send the calls in smaller batches","code":-32600},"jsonrpc":"2.0","id":null}`
		tooLarge3   = `{"error":{"message":"Invalid Request: a batch may hold at most 3 calls (--max-rpc-batch); send the calls in smaller batches","code":-32600},"jsonrpc":"2.0","id":null}`
	)
	tests := []struct {
		name      string
		limit     int
		flag      string
		body      string
		want      string // "" means: one result per call
		wantCalls int64
	}{
		{name: "default limit plus one refused", body: batchOf(101, countCall), want: tooLarge100},
		{name: "default limit served", body: batchOf(100, countCall), wantCalls: 100},
		{name: "huge batch refused", body: batchOf(100_000, countCall), want: tooLarge100},
		{name: "limit plus one refused", limit: 3, flag: "--max-rpc-batch", body: batchOf(4, countCall), want: tooLarge3},
		{name: "limit plus one notifications refused", limit: 3, flag: "--max-rpc-batch", body: batchOf(4, `{"jsonrpc":"2.0","method":"count"}`), want: tooLarge3},
		{name: "limit plus one invalid elements refused", limit: 3, flag: "--max-rpc-batch", body: `[1,2,3,{"jsonrpc":"2.0","method":"count","id":1}]`, want: tooLarge3},
		{name: "limit plus one with trailing comma refused", limit: 3, flag: "--max-rpc-batch", body: `[1,2,3,4,]`, want: tooLarge3},
		{name: "at limit served", limit: 3, flag: "--max-rpc-batch", body: batchOf(3, countCall), wantCalls: 3},
		{
			name: "at limit with a notification served", limit: 3, flag: "--max-rpc-batch",
			body:      `[{"jsonrpc":"2.0","method":"count","id":1},{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"count","id":3},]`,
			want:      `[{"result":1,"jsonrpc":"2.0","id":1},{"result":3,"jsonrpc":"2.0","id":3}]`,
			wantCalls: 3,
		},
		{name: "single call under a limit of one", limit: 1, body: `{"jsonrpc":"2.0","method":"count","id":1}`, want: `{"result":1,"jsonrpc":"2.0","id":1}`, wantCalls: 1},
		{name: "limit of one", limit: 1, body: batchOf(2, countCall), want: `{"error":{"message":"Invalid Request: a batch may hold at most 1 calls; send the calls in smaller batches","code":-32600},"jsonrpc":"2.0","id":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.MaxBodyBytes = 16 << 20
			ts.MaxBatchCalls = tt.limit
			ts.MaxBatchCallsFlag = tt.flag
			got := checkJSONResponse(t, post(t, ts, tt.body))
			if n := ts.calls.Load(); n != tt.wantCalls {
				t.Errorf("count called %d times, want %d", n, tt.wantCalls)
			}
			if tt.want != "" {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("response (-want +got):\n%s", diff)
				}
				return
			}
			var answers []struct {
				Result int64  `json:"result"`
				Error  *Error `json:"error"`
				ID     int    `json:"id"`
			}
			if err := json.Unmarshal([]byte(got), &answers); err != nil {
				t.Fatalf("%v: %.200s", err, got)
			}
			if len(answers) != int(tt.wantCalls) {
				t.Fatalf("%d answers, want %d", len(answers), tt.wantCalls)
			}
			for i, a := range answers {
				if a.Error != nil || a.ID != i+1 {
					t.Fatalf("answer %d: %+v", i, a)
				}
			}
		})
	}
}

// TestContextEndsMidBatch checks that once the request's context is done, the calls
// left in the batch are not run: each is answered with the context's error (mapped as
// any method error), and the request is logged once.
func TestContextEndsMidBatch(t *testing.T) {
	unavailable := func(err error) (*Error, bool) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return &Error{Code: -32000, Message: "the request was cancelled or timed out"}, true
		}
		return nil, false
	}
	const (
		internal  = `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":%d}`
		cancelled = `{"error":{"message":"the request was cancelled or timed out","code":-32000},"jsonrpc":"2.0","id":%d}`
	)
	tests := []struct {
		name      string
		deadline  bool // the context ends by a deadline, else by cancel
		mapper    func(error) (*Error, bool)
		body      string
		wantCalls int64
		want      []string // answers after the two successful calls
	}{
		{
			name:      "cancelled",
			body:      `[` + strings.Join([]string{count(1), count(2), `{"jsonrpc":"2.0","method":"end","id":3}`, count(4), `{"jsonrpc":"2.0","method":"count"}`, count(6)}, ",") + `]`,
			wantCalls: 2,
			want:      []string{fmt.Sprintf(internal, 3), fmt.Sprintf(internal, 4), fmt.Sprintf(internal, 6)},
		},
		{
			name:      "deadline, mapped",
			deadline:  true,
			mapper:    unavailable,
			body:      `[` + strings.Join([]string{count(1), count(2), `{"jsonrpc":"2.0","method":"end","id":3}`, count(4), count(5)}, ",") + `]`,
			wantCalls: 2,
			want:      []string{fmt.Sprintf(cancelled, 3), fmt.Sprintf(cancelled, 4), fmt.Sprintf(cancelled, 5)},
		},
		{
			name:      "many calls left",
			mapper:    unavailable,
			body:      `[{"jsonrpc":"2.0","method":"end","id":1},` + strings.TrimPrefix(batchOf(99, countCall), "["),
			wantCalls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.ErrorMapper = tt.mapper
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.deadline {
				var stop context.CancelFunc
				ctx, stop = context.WithTimeout(ctx, 20*time.Millisecond)
				defer stop()
			}
			// end waits for the request's context to end (ending it first when it has
			// no deadline), as a store does when the deadline passes mid-query.
			ts.Register("end", func(ctx context.Context, p Params) (any, error) {
				if !tt.deadline {
					cancel()
				}
				<-ctx.Done()
				return nil, ctx.Err()
			})
			r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader(tt.body))
			w := httptest.NewRecorder()
			ts.ServeHTTP(w, r)
			got := checkJSONResponse(t, w)
			if n := ts.calls.Load(); n != tt.wantCalls {
				t.Errorf("count ran %d times, want %d: the calls after the context ended ran", n, tt.wantCalls)
			}
			var answers []json.RawMessage
			if err := json.Unmarshal([]byte(got), &answers); err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				var rest []string
				for _, a := range answers[2:] {
					rest = append(rest, string(a))
				}
				if diff := cmp.Diff(tt.want, rest); diff != "" {
					t.Errorf("answers after the context ended (-want +got):\n%s", diff)
				}
			} else if len(answers) != 100 || !strings.Contains(string(answers[99]), `"code":-32000`) {
				t.Errorf("%d answers, the last %s; want 100, the last -32000", len(answers), answers[len(answers)-1])
			}
			if lines := logLines(ts); len(lines) != 1 {
				t.Errorf("%d log lines, want 1:\n%s", len(lines), ts.logs)
			}
		})
	}
}

func count(id int) string { return fmt.Sprintf(`{"jsonrpc":"2.0","method":"count","id":%d}`, id) }

// TestOneLogLinePerRequest checks that a request is reported once however many of its
// calls fail on the server's side: one line to the Logger (with the count of failed
// calls) when the request carries no reqinfo, else the failure recorded with reqinfo
// and no line at all. Client mistakes are not failures. Answers are unchanged.
func TestOneLogLinePerRequest(t *testing.T) {
	const internal = `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":ID}`
	unavailableMapper := func(err error) (*Error, bool) {
		return &Error{Code: -32000, Message: "the database cannot be reached"}, true
	}
	tests := []struct {
		name       string
		mapper     func(error) (*Error, bool)
		before     func(r *http.Request) (context.Context, error)
		body       string
		wantAnswer string // each answer, ID standing for the call's id
		wantFailed int    // 0: not a failed request
		wantInLog  []string
	}{
		{
			name: "internal errors", body: batchOf(50, `{"jsonrpc":"2.0","method":"plain","id":ID}`),
			wantAnswer: internal, wantFailed: 50, wantInLog: []string{"50 of 50 JSON-RPC calls failed, the first (plain): database is down"},
		},
		{
			name: "unavailable errors", mapper: unavailableMapper, body: batchOf(50, `{"jsonrpc":"2.0","method":"plain","id":ID}`),
			wantAnswer: `{"error":{"message":"the database cannot be reached","code":-32000},"jsonrpc":"2.0","id":ID}`,
			wantFailed: 50, wantInLog: []string{"50 of 50 JSON-RPC calls failed, the first (plain): database is down"},
		},
		{
			name: "panics", body: batchOf(20, `{"jsonrpc":"2.0","method":"panic","id":ID}`),
			wantAnswer: internal, wantFailed: 20, wantInLog: []string{"20 of 20 JSON-RPC calls failed, the first (panic): panic recovered: boom: secret detail", "goroutine ", "runtime/debug.Stack"},
		},
		{
			name: "encoding failures", body: batchOf(20, `{"jsonrpc":"2.0","method":"unmarshalable","id":ID}`),
			wantAnswer: internal, wantFailed: 20, wantInLog: []string{"(unmarshalable): encoding the result: json: unsupported type"},
		},
		{
			name: "failing notifications", body: batchOf(30, `{"jsonrpc":"2.0","method":"plain"}`),
			wantFailed: 30, wantInLog: []string{"30 of 30 JSON-RPC calls failed"},
		},
		{
			name: "one call", body: `{"jsonrpc":"2.0","method":"plain","id":1}`,
			wantAnswer: strings.ReplaceAll(internal, "ID", "1"), wantFailed: 1, wantInLog: []string{"1 of 1 JSON-RPC calls failed (plain): database is down"},
		},
		{
			name:   "Before fails",
			before: func(r *http.Request) (context.Context, error) { return nil, errors.New("key store unreachable") },
			body:   batchOf(10, countCall), wantAnswer: internal, wantFailed: 10,
			wantInLog: []string{"10 of 10 JSON-RPC calls failed, the first (Before): key store unreachable"},
		},
		{
			name:   "Before panics",
			before: func(r *http.Request) (context.Context, error) { panic("before exploded") },
			body:   batchOf(10, countCall), wantAnswer: internal, wantFailed: 10, wantInLog: []string{"before exploded"},
		},
		{
			name:       "client mistakes are no failure",
			mapper:     func(err error) (*Error, bool) { return &Error{Code: 143, Message: "bad value"}, false },
			body:       `[{"jsonrpc":"2.0","method":"fail","id":1},{"jsonrpc":"2.0","method":"nope","id":2},{"jsonrpc":"2.0","method":"plain","id":3},{"jsonrpc":"2.0","method":"add","id":4},5]`,
			wantFailed: 0,
		},
	}
	for _, tt := range tests {
		for _, withInfo := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reqinfo=%v", tt.name, withInfo), func(t *testing.T) {
				ts := newTestServer(t)
				ts.ErrorMapper = tt.mapper
				ts.Before = tt.before
				ctx, info := context.Background(), (*reqinfo.Info)(nil)
				if withInfo {
					ctx, info = reqinfo.New(ctx)
				}
				w := httptest.NewRecorder()
				ts.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader(tt.body)))
				if tt.wantAnswer != "" {
					var answers []json.RawMessage
					if err := json.Unmarshal(w.Body.Bytes(), &answers); err != nil {
						answers = []json.RawMessage{w.Body.Bytes()}
					}
					for i, a := range answers {
						if want := strings.ReplaceAll(tt.wantAnswer, "ID", fmt.Sprint(i+1)); string(a) != want {
							t.Fatalf("answer %d: %s, want %s", i, a, want)
						}
					}
				}
				lines := logLines(ts)
				var recorded error
				if withInfo {
					recorded = info.Err()
				}
				switch {
				case tt.wantFailed == 0:
					if len(lines) != 0 || recorded != nil {
						t.Fatalf("a request without server failure: recorded %v, logged:\n%s", recorded, ts.logs)
					}
					return
				case withInfo:
					if len(lines) != 0 {
						t.Errorf("the failure is recorded for the access log, yet %d lines were logged:\n%s", len(lines), ts.logs)
					}
					re, ok := errors.AsType[*RequestError](recorded)
					if !ok || re.Failed != tt.wantFailed {
						t.Fatalf("recorded %#v, want a *RequestError with %d failed calls", recorded, tt.wantFailed)
					}
					for _, want := range tt.wantInLog {
						if !strings.Contains(recorded.Error(), want) {
							t.Errorf("recorded error does not contain %q: %s", want, recorded)
						}
					}
				default:
					if len(lines) != 1 {
						t.Fatalf("%d log lines, want 1:\n%.3000s", len(lines), ts.logs)
					}
					for _, want := range append(tt.wantInLog, "level=ERROR", fmt.Sprintf("failed_calls=%d", tt.wantFailed)) {
						if !strings.Contains(lines[0], want) {
							t.Errorf("log line does not contain %q: %s", want, lines[0])
						}
					}
				}
			})
		}
	}
}

// TestInvalidID checks that an id no JSON text may carry back (invalid UTF-8) or that
// would hand a client a NUL or a lone surrogate is answered as an invalid request with
// id null, and that valid ids are still echoed verbatim.
func TestInvalidID(t *testing.T) {
	const badID = `{"error":{"message":"Invalid Request: \"id\" must be valid UTF-8 without NUL characters or lone surrogates","code":-32600},"jsonrpc":"2.0","id":null}`
	tests := []struct {
		name      string
		body      string
		want      string
		wantCalls int64
	}{
		{name: "invalid UTF-8", body: "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"id\":\"a\xffb\"}", want: badID},
		{name: "truncated UTF-8", body: "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"id\":\"\xe2\x82\"}", want: badID},
		{name: "overlong UTF-8", body: "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"id\":\"\xc0\xaf\"}", want: badID},
		{name: "UTF-16 surrogate as UTF-8", body: "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"id\":\"\xed\xa0\x80\"}", want: badID},
		{name: "NUL", body: `{"jsonrpc":"2.0","method":"count","id":"a\u0000b"}`, want: badID},
		{name: "lone high surrogate", body: `{"jsonrpc":"2.0","method":"count","id":"\ud800"}`, want: badID},
		{name: "lone low surrogate", body: `{"jsonrpc":"2.0","method":"count","id":"\uDC00x"}`, want: badID},
		{name: "high surrogate then letter", body: `{"jsonrpc":"2.0","method":"count","id":"\ud800\u0041"}`, want: badID},
		{name: "invalid notification is answered", body: "{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"params\":[],\"id\":\"\xff\"}", want: badID},
		{
			name: "in a batch",
			body: "[{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"id\":\"\xff\"},{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"id\":\"ok\"}]",
			want: "[" + badID + `,{"result":1,"jsonrpc":"2.0","id":"ok"}]`, wantCalls: 1,
		},
		{name: "surrogate pair echoed", body: `{"jsonrpc":"2.0","method":"count","id":"\ud83d\ude00"}`, want: `{"result":1,"jsonrpc":"2.0","id":"\ud83d\ude00"}`, wantCalls: 1},
		{name: "UTF-8 echoed", body: `{"jsonrpc":"2.0","method":"count","id":"é😀\\u0000"}`, want: `{"result":1,"jsonrpc":"2.0","id":"é😀\\u0000"}`, wantCalls: 1},
		{name: "escaped replacement character echoed", body: `{"jsonrpc":"2.0","method":"count","id":"\ufffd"}`, want: `{"result":1,"jsonrpc":"2.0","id":"\ufffd"}`, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			w := post(t, ts, tt.body)
			got := checkJSONResponse(t, w)
			if !utf8.Valid(w.Body.Bytes()) {
				t.Errorf("the answer is not UTF-8: %q", got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if n := ts.calls.Load(); n != tt.wantCalls {
				t.Errorf("count ran %d times, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestValidText(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{`"plain"`, true},
		{`"é😀"`, true},
		{`"\ud83d\ude00"`, true},
		{`"\uD83D\uDE00"`, true},
		{`"\ufffd"`, true},
		{`"\\u0000"`, true}, // an escaped backslash, then text
		{`"\\\\"`, true},
		{`"\"\u0041"`, true},
		{`["a","b\n",{"k\u00e9":[1,"\t"]}]`, true},
		{`12`, true},
		{`null`, true},
		{"\"\xff\"", false},
		{"\"\xed\xa0\x80\"", false},
		{`"\u0000"`, false},
		{`["ok","\u0000"]`, false},
		{`{"\u0000":1}`, false},
		{`"\ud800"`, false},
		{`"\udfff"`, false},
		{`"\ud800\ud800"`, false},
		{`"\ud800\n"`, false},
		{`"\ud800x"`, false},
		{`"\\\ud800"`, false},
	}
	for _, tt := range tests {
		if got := ValidText(json.RawMessage(tt.raw)); got != tt.want {
			t.Errorf("ValidText(%s) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

package jsonrpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

// TestCurl reproduces
//
//	curl -X POST -H "Authorization: Bearer K" URL -d '{"id":null, "jsonrpc": 2.0, ...}'
//
// over a real HTTP connection: form content type (or none), numeric jsonrpc
// version, null id.
func TestCurl(t *testing.T) {
	ts := newTestServer(t)
	ts.Before = func(r *http.Request) (context.Context, error) {
		if r.Header.Get("Authorization") != "Bearer K" {
			return nil, &Error{Code: -32000, Message: "unauthorized"}
		}
		return r.Context(), nil
	}
	srv := httptest.NewServer(ts)
	defer srv.Close()

	const body = `{"id":null, "jsonrpc": 2.0, "method": "echo", "params": [1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"]}`
	tests := []struct {
		name        string
		contentType string
		auth        string
		want        string
	}{
		{
			name:        "form content type",
			contentType: "application/x-www-form-urlencoded",
			auth:        "Bearer K",
			want:        `{"result":[1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"],"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "no content type",
			auth: "Bearer K",
			want: `{"result":[1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"],"jsonrpc":"2.0","id":null}`,
		},
		{
			name:        "wrong key",
			contentType: "application/x-www-form-urlencoded",
			auth:        "Bearer nope",
			want:        `{"error":{"message":"unauthorized","code":-32000},"jsonrpc":"2.0","id":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Set("Authorization", tt.auth)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status = %d, want 200", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeHTTP(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		// Successes.
		{
			name: "positional params",
			body: `{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}`,
			want: `{"result":3,"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "named params",
			body: `{"jsonrpc":"2.0","method":"add","params":{"b":2,"a":40},"id":"x"}`,
			want: `{"result":42,"jsonrpc":"2.0","id":"x"}`,
		},
		{
			name: "no params",
			body: `{"jsonrpc":"2.0","method":"echo","id":1}`,
			want: `{"result":null,"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "null params",
			body: `{"jsonrpc":"2.0","method":"echo","params":null,"id":1}`,
			want: `{"result":null,"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "jsonrpc number 2.0",
			body: `{"jsonrpc":2.0,"method":"add","params":[1,1],"id":1}`,
			want: `{"result":2,"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "jsonrpc number 2",
			body: `{"jsonrpc":2,"method":"add","params":[1,1],"id":1}`,
			want: `{"result":2,"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "null id answered",
			body: `{"jsonrpc":"2.0","method":"add","params":[1,1],"id":null}`,
			want: `{"result":2,"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "number id echoed verbatim",
			body: `{"jsonrpc":"2.0","method":"add","params":[1,1],"id":1.50e3}`,
			want: `{"result":2,"jsonrpc":"2.0","id":1.50e3}`,
		},
		{
			name: "huge number id echoed verbatim",
			body: `{"jsonrpc":"2.0","method":"add","params":[1,1],"id":123456789012345678901234567890}`,
			want: `{"result":2,"jsonrpc":"2.0","id":123456789012345678901234567890}`,
		},
		{
			name: "string id echoed verbatim",
			body: `{"jsonrpc":"2.0","method":"add","params":[1,1],"id":"a\u0062\"<"}`,
			want: `{"result":2,"jsonrpc":"2.0","id":"a\u0062\"<"}`,
		},
		{
			name: "AppendJSON result written verbatim",
			body: `{"jsonrpc":"2.0","method":"report","id":7}`,
			want: `{"result":{"rows":[0,1,2]},"jsonrpc":"2.0","id":7}`,
		},
		{
			name: "whitespace around body",
			body: "\r\n\t {\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[2,2],\"id\":1} \n",
			want: `{"result":4,"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "unknown members ignored",
			body: `{"jsonrpc":"2.0","method":"add","params":[2,2],"id":1,"extra":{}}`,
			want: `{"result":4,"jsonrpc":"2.0","id":1}`,
		},

		// Trailing commas.
		{
			name: "vendor doc trailing comma",
			body: `{"method": "echo", "params": [1], "id":null, "jsonrpc": 2.0, }`,
			want: `{"result":[1],"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "trailing commas nested",
			body: `{"method":"echo","params":[[1,2,],{"a":[],"b":{},},"x",],"id":1,"jsonrpc":"2.0",}`,
			want: `{"result":[[1,2],{"a":[],"b":{}},"x"],"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "trailing comma before whitespace and newline",
			body: "{\"method\":\"echo\",\"params\":[true ,\n ],\"id\":1,\"jsonrpc\":\"2.0\"}",
			want: `{"result":[true],"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "comma inside string untouched",
			body: `{"method":"echo","params":["a,}","b,]","c\",]",],"id":1,"jsonrpc":"2.0"}`,
			want: `{"result":["a,}","b,]","c\",]"],"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "trailing comma in named params",
			body: `{"method":"add","params":{"a":1,"b":2,},"id":1,"jsonrpc":"2.0"}`,
			want: `{"result":3,"jsonrpc":"2.0","id":1}`,
		},

		// Parse errors.
		{
			name: "truncated JSON",
			body: `{"jsonrpc":"2.0","method":"echo"`,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "empty body",
			body: ``,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "form encoded body",
			body: `method=echo&id=1`,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "double trailing comma",
			body: `{"jsonrpc":"2.0","method":"echo","params":[1,,],"id":1}`,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "lone comma in array",
			body: `{"jsonrpc":"2.0","method":"echo","params":[,],"id":1}`,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "comma after colon",
			body: `{"jsonrpc":"2.0","method":"echo","id":,}`,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "single quotes",
			body: `{'jsonrpc':'2.0','method':'echo','id':1}`,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "two objects",
			body: `{"jsonrpc":"2.0","method":"echo","id":1}{}`,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "invalid batch JSON",
			body: `[{"jsonrpc":"2.0","method":"echo","id":1},{"jsonrpc":"2.0","method"]`,
			want: `{"error":{"message":"Parse error","code":-32700},"jsonrpc":"2.0","id":null}`,
		},

		// Invalid requests.
		{
			name: "jsonrpc 1.0",
			body: `{"jsonrpc":"1.0","method":"echo","id":1}`,
			want: `{"error":{"message":"Invalid Request: \"jsonrpc\" must be \"2.0\"","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "jsonrpc missing",
			body: `{"method":"echo","id":1}`,
			want: `{"error":{"message":"Invalid Request: \"jsonrpc\" must be \"2.0\"","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "jsonrpc string 2",
			body: `{"jsonrpc":"2","method":"echo","id":1}`,
			want: `{"error":{"message":"Invalid Request: \"jsonrpc\" must be \"2.0\"","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "jsonrpc number 2.1",
			body: `{"jsonrpc":2.1,"method":"echo","id":1}`,
			want: `{"error":{"message":"Invalid Request: \"jsonrpc\" must be \"2.0\"","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "jsonrpc null",
			body: `{"jsonrpc":null,"method":"echo","id":1}`,
			want: `{"error":{"message":"Invalid Request: \"jsonrpc\" must be \"2.0\"","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "method number",
			body: `{"jsonrpc":"2.0","method":1,"id":1}`,
			want: `{"error":{"message":"Invalid Request: \"method\" must be a non-empty string","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "method missing",
			body: `{"jsonrpc":"2.0","id":1}`,
			want: `{"error":{"message":"Invalid Request: \"method\" must be a non-empty string","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "method empty",
			body: `{"jsonrpc":"2.0","method":"","id":1}`,
			want: `{"error":{"message":"Invalid Request: \"method\" must be a non-empty string","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "params string",
			body: `{"jsonrpc":"2.0","method":"echo","params":"bar","id":1}`,
			want: `{"error":{"message":"Invalid Request: \"params\" must be an array, an object or null","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "params number",
			body: `{"jsonrpc":"2.0","method":"echo","params":1,"id":1}`,
			want: `{"error":{"message":"Invalid Request: \"params\" must be an array, an object or null","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "params boolean",
			body: `{"jsonrpc":"2.0","method":"echo","params":false,"id":1}`,
			want: `{"error":{"message":"Invalid Request: \"params\" must be an array, an object or null","code":-32600},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "id object",
			body: `{"jsonrpc":"2.0","method":"echo","id":{"a":1}}`,
			want: `{"error":{"message":"Invalid Request: \"id\" must be a string, a number or null","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "id boolean",
			body: `{"jsonrpc":"2.0","method":"echo","id":true}`,
			want: `{"error":{"message":"Invalid Request: \"id\" must be a string, a number or null","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "invalid notification is answered",
			body: `{"jsonrpc":"2.0","method":1,"params":"bar"}`,
			want: `{"error":{"message":"Invalid Request: \"method\" must be a non-empty string","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "top-level number",
			body: `1`,
			want: `{"error":{"message":"Invalid Request: request must be a JSON object or array","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "top-level string",
			body: `"echo"`,
			want: `{"error":{"message":"Invalid Request: request must be a JSON object or array","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "empty batch",
			body: `[]`,
			want: `{"error":{"message":"Invalid Request: empty batch","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "empty batch with trailing space",
			body: ` [ ] `,
			want: `{"error":{"message":"Invalid Request: empty batch","code":-32600},"jsonrpc":"2.0","id":null}`,
		},

		// Method errors.
		{
			name: "method not found",
			body: `{"jsonrpc":"2.0","method":"nope","id":1}`,
			want: `{"error":{"message":"Method not found: \"nope\"","code":-32601},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "method name is case sensitive",
			body: `{"jsonrpc":"2.0","method":"Echo","id":1}`,
			want: `{"error":{"message":"Method not found: \"Echo\"","code":-32601},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "invalid params from method",
			body: `{"jsonrpc":"2.0","method":"add","params":[1],"id":1}`,
			want: `{"error":{"message":"missing parameter","code":-32602},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "named params missing name",
			body: `{"jsonrpc":"2.0","method":"add","params":{"a":1,"c":2},"id":1}`,
			want: `{"error":{"message":"missing parameter","code":-32602},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "method returns *Error",
			body: `{"jsonrpc":"2.0","method":"fail","id":1}`,
			want: `{"error":{"message":"quota exceeded","code":-32001},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "method returns wrapped *Error",
			body: `{"jsonrpc":"2.0","method":"wrapped","id":1}`,
			want: `{"error":{"message":"quota exceeded","code":-32001},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "method returns plain error without mapper",
			body: `{"jsonrpc":"2.0","method":"plain","id":1}`,
			want: `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "method panics",
			body: `{"jsonrpc":"2.0","method":"panic","id":1}`,
			want: `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "AppendJSON panics",
			body: `{"jsonrpc":"2.0","method":"broken","id":1}`,
			want: `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "result not marshalable",
			body: `{"jsonrpc":"2.0","method":"unmarshalable","id":1}`,
			want: `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`,
		},

		// Batches.
		{
			name: "batch mixed",
			body: `[
				{"jsonrpc":"2.0","method":"add","params":[1,2],"id":"1"},
				{"jsonrpc":"2.0","method":"count"},
				{"jsonrpc":"2.0","method":"nope","id":"2"},
				1,
				{"foo":"boo"},
				{"jsonrpc":"2.0","method":"panic","id":3},
				{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":1},"id":null},
				{"jsonrpc":2.0,"method":"broken","id":4},
				{"jsonrpc":"2.0","method":"report","id":5},
			]`,
			want: `[` +
				`{"result":3,"jsonrpc":"2.0","id":"1"},` +
				`{"error":{"message":"Method not found: \"nope\"","code":-32601},"jsonrpc":"2.0","id":"2"},` +
				`{"error":{"message":"Invalid Request: request must be a JSON object","code":-32600},"jsonrpc":"2.0","id":null},` +
				`{"error":{"message":"Invalid Request: \"jsonrpc\" must be \"2.0\"","code":-32600},"jsonrpc":"2.0","id":null},` +
				`{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":3},` +
				`{"result":2,"jsonrpc":"2.0","id":null},` +
				`{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":4},` +
				`{"result":{"rows":[0,1,2]},"jsonrpc":"2.0","id":5}` +
				`]`,
		},
		{
			name: "batch of invalid elements",
			body: `[1,2]`,
			want: `[` +
				`{"error":{"message":"Invalid Request: request must be a JSON object","code":-32600},"jsonrpc":"2.0","id":null},` +
				`{"error":{"message":"Invalid Request: request must be a JSON object","code":-32600},"jsonrpc":"2.0","id":null}` +
				`]`,
		},
		{
			name: "batch of one",
			body: `[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}]`,
			want: `[{"result":3,"jsonrpc":"2.0","id":1}]`,
		},
		{
			name: "batch with notification first",
			body: `[{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}]`,
			want: `[{"result":3,"jsonrpc":"2.0","id":1}]`,
		},
		{
			name: "batch with invalid notification",
			body: `[{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","params":[]}]`,
			want: `[{"error":{"message":"Invalid Request: \"method\" must be a non-empty string","code":-32600},"jsonrpc":"2.0","id":null}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			got := checkJSONResponse(t, post(t, ts, tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotifications(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantCalls int64
	}{
		{name: "single", body: `{"jsonrpc":"2.0","method":"count"}`, wantCalls: 1},
		{name: "with params", body: `{"jsonrpc":"2.0","method":"count","params":[1]}`, wantCalls: 1},
		{name: "numeric version", body: `{"jsonrpc":2,"method":"count"}`, wantCalls: 1},
		{name: "unknown method", body: `{"jsonrpc":"2.0","method":"nope"}`},
		{name: "method error", body: `{"jsonrpc":"2.0","method":"fail"}`},
		{name: "method panics", body: `{"jsonrpc":"2.0","method":"panic"}`},
		{
			name:      "batch of notifications",
			body:      `[{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"nope"},]`,
			wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			w := post(t, ts, tt.body)
			if w.Code != http.StatusOK {
				t.Errorf("status = %d, want 200", w.Code)
			}
			if w.Body.Len() != 0 {
				t.Errorf("body = %q, want empty", w.Body)
			}
			if got := ts.calls.Load(); got != tt.wantCalls {
				t.Errorf("count called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestNamedParams(t *testing.T) {
	ts := newTestServer(t)
	var got Params
	ts.Register("capture", func(ctx context.Context, p Params) (any, error) {
		got = p
		return "ok", nil
	})
	w := post(t, ts, `{"jsonrpc":"2.0","method":"capture","params":{"from":"2024-01-01","n":null,"list":[1, 2]},"id":1}`)
	if diff := cmp.Diff(`{"result":"ok","jsonrpc":"2.0","id":1}`, checkJSONResponse(t, w)); diff != "" {
		t.Fatalf("response (-want +got):\n%s", diff)
	}
	if !got.Named() || got.Len() != 3 {
		t.Fatalf("Named() = %v, Len() = %d; want true, 3", got.Named(), got.Len())
	}
	tests := []struct {
		name    string
		pos     int
		key     string
		wantRaw string
		wantOK  bool
	}{
		{name: "string", pos: 0, key: "from", wantRaw: `"2024-01-01"`, wantOK: true},
		{name: "null is present", pos: 1, key: "n", wantRaw: `null`, wantOK: true},
		{name: "array kept raw", pos: 2, key: "list", wantRaw: `[1, 2]`, wantOK: true},
		{name: "absent", pos: 0, key: "to", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, ok := got.Arg(tt.pos, tt.key)
			if ok != tt.wantOK || string(raw) != tt.wantRaw {
				t.Errorf("Arg(%d, %q) = %s, %v; want %s, %v", tt.pos, tt.key, raw, ok, tt.wantRaw, tt.wantOK)
			}
		})
	}
}

func TestBefore(t *testing.T) {
	const batch = `[{"jsonrpc":"2.0","method":"count","id":1},{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"count","id":"b"},5]`
	tests := []struct {
		name      string
		before    func(r *http.Request) (context.Context, error)
		mapper    func(error) (*Error, bool)
		body      string
		want      string
		wantCalls int64
		wantLog   string
	}{
		{
			name: "*Error answers every call",
			before: func(r *http.Request) (context.Context, error) {
				return nil, &Error{Code: -32000, Message: "unauthorized"}
			},
			body: batch,
			want: `[` +
				`{"error":{"message":"unauthorized","code":-32000},"jsonrpc":"2.0","id":1},` +
				`{"error":{"message":"unauthorized","code":-32000},"jsonrpc":"2.0","id":"b"},` +
				`{"error":{"message":"unauthorized","code":-32000},"jsonrpc":"2.0","id":null}` +
				`]`,
		},
		{
			name: "plain error mapped",
			before: func(r *http.Request) (context.Context, error) {
				return nil, errors.New("no key")
			},
			mapper: func(err error) (*Error, bool) { return &Error{Code: -32000, Message: "mapped: " + err.Error()}, false },
			body:   `{"jsonrpc":"2.0","method":"count","id":1}`,
			want:   `{"error":{"message":"mapped: no key","code":-32000},"jsonrpc":"2.0","id":1}`,
		},
		{
			name: "plain error without mapper",
			before: func(r *http.Request) (context.Context, error) {
				return nil, errors.New("key store unreachable")
			},
			body:    `{"jsonrpc":"2.0","method":"count","id":1}`,
			want:    `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`,
			wantLog: "key store unreachable",
		},
		{
			name: "panic",
			before: func(r *http.Request) (context.Context, error) {
				panic("before exploded")
			},
			body:    `{"jsonrpc":"2.0","method":"count","id":1}`,
			want:    `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`,
			wantLog: "before exploded",
		},
		{
			name: "derived context reaches methods",
			before: func(r *http.Request) (context.Context, error) {
				return context.WithValue(r.Context(), ctxKey{}, "tenant-7"), nil
			},
			body: `[{"jsonrpc":"2.0","method":"ctx","id":1},{"jsonrpc":"2.0","method":"count","id":2}]`,
			want: `[{"result":"tenant-7","jsonrpc":"2.0","id":1},{"result":1,"jsonrpc":"2.0","id":2}]`,

			wantCalls: 1,
		},
		{
			name: "nil context keeps request context",
			before: func(r *http.Request) (context.Context, error) {
				return nil, nil
			},
			body:      `{"jsonrpc":"2.0","method":"count","id":1}`,
			want:      `{"result":1,"jsonrpc":"2.0","id":1}`,
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.Before = tt.before
			ts.ErrorMapper = tt.mapper
			got := checkJSONResponse(t, post(t, ts, tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if n := ts.calls.Load(); n != tt.wantCalls {
				t.Errorf("count called %d times, want %d", n, tt.wantCalls)
			}
			if !strings.Contains(ts.logs.String(), tt.wantLog) {
				t.Errorf("log does not contain %q:\n%s", tt.wantLog, ts.logs)
			}
		})
	}

	t.Run("notification only", func(t *testing.T) {
		ts := newTestServer(t)
		ts.Before = func(r *http.Request) (context.Context, error) {
			return nil, &Error{Code: -32000, Message: "unauthorized"}
		}
		w := post(t, ts, `{"jsonrpc":"2.0","method":"count"}`)
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Errorf("got %d %q, want 200 with empty body", w.Code, w.Body)
		}
		if n := ts.calls.Load(); n != 0 {
			t.Errorf("count called %d times, want 0", n)
		}
	})
}

func TestErrorMapper(t *testing.T) {
	tests := []struct {
		name    string
		mapper  func(error) (*Error, bool)
		method  string
		want    string
		wantLog bool
	}{
		{
			name:   "maps plain error",
			mapper: func(err error) (*Error, bool) { return &Error{Code: -32050, Message: "backend unavailable"}, false },
			method: "plain",
			want:   `{"error":{"message":"backend unavailable","code":-32050},"jsonrpc":"2.0","id":1}`,
		},
		{
			name:    "returns nil",
			mapper:  func(err error) (*Error, bool) { return nil, false },
			method:  "plain",
			want:    `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`,
			wantLog: true,
		},
		{
			name:    "nil mapper",
			method:  "plain",
			want:    `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`,
			wantLog: true,
		},
		{
			name:   "not consulted for *Error",
			mapper: func(err error) (*Error, bool) { panic("mapper must not be called") },
			method: "wrapped",
			want:   `{"error":{"message":"quota exceeded","code":-32001},"jsonrpc":"2.0","id":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.ErrorMapper = tt.mapper
			got := checkJSONResponse(t, post(t, ts, `{"jsonrpc":"2.0","method":"`+tt.method+`","id":1}`))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
			if logged := strings.Contains(ts.logs.String(), "database is down"); logged != tt.wantLog {
				t.Errorf("error logged = %v, want %v; log:\n%s", logged, tt.wantLog, ts.logs)
			}
		})
	}
}

func TestPanicRecovery(t *testing.T) {
	ts := newTestServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()

	for i := range 2 { // the server keeps serving after a panic
		resp, err := srv.Client().Post(srv.URL, "", strings.NewReader(`{"jsonrpc":"2.0","method":"panic","id":1}`))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := `{"error":{"message":"internal error","code":-32603},"jsonrpc":"2.0","id":1}`
		if diff := cmp.Diff(want, string(body)); diff != "" {
			t.Errorf("request %d (-want +got):\n%s", i, diff)
		}
	}
	logs := ts.logs.String()
	for _, want := range []string{"level=ERROR", "panic recovered", "method=panic", "boom: secret detail", "goroutine ", "runtime/debug.Stack", "server_test.go"} {
		if !strings.Contains(logs, want) && !strings.Contains(logs, strings.ReplaceAll(want, "server_test.go", "helpers_test.go")) {
			t.Errorf("log does not contain %q:\n%s", want, logs)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	const small = `{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}` // 54 bytes
	tests := []struct {
		name          string
		limit         int64
		body          string
		unknownLength bool
		want          string
	}{
		{
			name:  "at limit",
			limit: int64(len(small)),
			body:  small,
			want:  `{"result":3,"jsonrpc":"2.0","id":1}`,
		},
		{
			name:  "over limit",
			limit: int64(len(small)) - 1,
			body:  small,
			want:  `{"error":{"message":"Invalid Request: request body exceeds the limit of 53 bytes","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name:          "over limit without Content-Length",
			limit:         10,
			body:          small,
			unknownLength: true,
			want:          `{"error":{"message":"Invalid Request: request body exceeds the limit of 10 bytes","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "default limit 1 MiB",
			body: `{"jsonrpc":"2.0","method":"echo","params":["` + strings.Repeat("x", DefaultMaxBodyBytes) + `"],"id":1}`,
			want: `{"error":{"message":"Invalid Request: request body exceeds the limit of 1048576 bytes","code":-32600},"jsonrpc":"2.0","id":null}`,
		},
		{
			name: "under default limit",
			body: `{"jsonrpc":"2.0","method":"add","params":[1,` + strings.Repeat(" ", DefaultMaxBodyBytes-60) + `2],"id":1}`,
			want: `{"result":3,"jsonrpc":"2.0","id":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.MaxBodyBytes = tt.limit
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.unknownLength {
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader(tt.body))
			}
			w := httptest.NewRecorder()
			ts.ServeHTTP(w, r)
			if diff := cmp.Diff(tt.want, checkJSONResponse(t, w)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNonPost(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodOptions} {
		t.Run(method, func(t *testing.T) {
			ts := newTestServer(t)
			w := httptest.NewRecorder()
			ts.ServeHTTP(w, httptest.NewRequest(method, "/", nil))
			if w.Code != http.StatusMethodNotAllowed {
				t.Errorf("status = %d, want 405", w.Code)
			}
			if got := w.Header().Get("Allow"); got != "POST" {
				t.Errorf("Allow = %q, want POST", got)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}

// countingWriter counts Write calls.
type countingWriter struct {
	*httptest.ResponseRecorder
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.ResponseRecorder.Write(p)
}

func TestSingleWrite(t *testing.T) {
	ts := newTestServer(t)
	w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
	body := `[{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1},{"jsonrpc":"2.0","method":"report","id":2},{"jsonrpc":"2.0","method":"nope","id":3}]`
	ts.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
	if w.writes != 1 {
		t.Errorf("%d writes, want 1", w.writes)
	}
	if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
		t.Errorf("Content-Length = %s, want %s", got, want)
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{name: "success", body: `{"id":null, "jsonrpc": 2.0, "method": "echo", "params": [1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"]}`},
		{name: "error", body: `{"jsonrpc":"2.0","method":"fail","params":{"tenant":"t1"},"id":"req-1"}`},
		{name: "batch", body: `[{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2},"id":1},{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"nope","id":2},{"foo":"boo"},{"jsonrpc":"2.0","method":"report","id":"r",},]`},
		{name: "parse_error", body: `{"jsonrpc":"2.0","method":"echo","params":[1,2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			w := post(t, ts, tt.body)
			checkJSONResponse(t, w)
			testutil.Golden(t, "testdata/"+tt.name+".golden", w.Body.Bytes())
		})
	}
}

func TestRegister(t *testing.T) {
	noop := func(ctx context.Context, p Params) (any, error) { return nil, nil }
	tests := []struct {
		name string
		reg  func(s *Server)
	}{
		{name: "duplicate", reg: func(s *Server) { s.Register("a", noop); s.Register("a", noop) }},
		{name: "empty name", reg: func(s *Server) { s.Register("", noop) }},
		{name: "nil method", reg: func(s *Server) { s.Register("a", nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			tt.reg(NewServer())
		})
	}

	t.Run("zero Server", func(t *testing.T) {
		var s Server
		s.Register("add", func(ctx context.Context, p Params) (any, error) { return 1, nil })
		got := checkJSONResponse(t, post(t, &s, `{"jsonrpc":"2.0","method":"add","id":1}`))
		if diff := cmp.Diff(`{"result":1,"jsonrpc":"2.0","id":1}`, got); diff != "" {
			t.Errorf("response (-want +got):\n%s", diff)
		}
	})
}

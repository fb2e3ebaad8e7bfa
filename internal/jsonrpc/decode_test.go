package jsonrpc

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var cmpParams = cmp.AllowUnexported(Params{})

func raws(ss ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(ss))
	for i, s := range ss {
		out[i] = json.RawMessage(s)
	}
	return out
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantCalls []Call
		wantBatch bool
		wantErr   *Error
	}{
		{
			name: "positional",
			body: `{"jsonrpc":"2.0","method":"m","params":[1, "a", {"b": null}],"id":7}`,
			wantCalls: []Call{{
				Method: "m",
				Params: NewPositionalParams(raws(`1`, `"a"`, `{"b": null}`)...),
				ID:     json.RawMessage(`7`),
			}},
		},
		{
			name: "named",
			body: `{"jsonrpc":"2.0","method":"m","params":{"x":[1],"y":null},"id":"s"}`,
			wantCalls: []Call{{
				Method: "m",
				Params: NewNamedParams(map[string]json.RawMessage{"x": json.RawMessage(`[1]`), "y": json.RawMessage(`null`)}),
				ID:     json.RawMessage(`"s"`),
			}},
		},
		{
			name: "empty positional",
			body: `{"jsonrpc":"2.0","method":"m","params":[],"id":1}`,
			wantCalls: []Call{{
				Method: "m",
				Params: NewPositionalParams(),
				ID:     json.RawMessage(`1`),
			}},
		},
		{
			name: "empty named",
			body: `{"jsonrpc":"2.0","method":"m","params":{},"id":1}`,
			wantCalls: []Call{{
				Method: "m",
				Params: NewNamedParams(nil),
				ID:     json.RawMessage(`1`),
			}},
		},
		{
			name:      "null id",
			body:      `{"jsonrpc":2.0,"method":"m","id":null}`,
			wantCalls: []Call{{Method: "m", ID: json.RawMessage(`null`)}},
		},
		{
			name:      "notification",
			body:      `{"jsonrpc":"2.0","method":"m"}`,
			wantCalls: []Call{{Method: "m", ID: json.RawMessage(`null`), Notification: true}},
		},
		{
			name:      "escaped method name",
			body:      `{"jsonrpc":"2.0","method":"ech\u006f","id":1}`,
			wantCalls: []Call{{Method: "echo", ID: json.RawMessage(`1`)}},
		},
		{
			name:      "jsonrpc 2.00",
			body:      `{"jsonrpc":2.00,"method":"m","id":1}`,
			wantCalls: []Call{{Method: "m", ID: json.RawMessage(`1`)}},
		},
		{
			name: "invalid single keeps id",
			body: `{"jsonrpc":"2.0","method":"m","params":"x","id":-1.5}`,
			wantCalls: []Call{{
				ID:  json.RawMessage(`-1.5`),
				Err: &Error{Code: CodeInvalidRequest, Message: `Invalid Request: "params" must be an array, an object or null`},
			}},
		},
		{
			name:      "batch",
			body:      `[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"b"},[],{"jsonrpc":"2.0","method":"c","id":[1]},]`,
			wantBatch: true,
			wantCalls: []Call{
				{Method: "a", ID: json.RawMessage(`1`)},
				{Method: "b", ID: json.RawMessage(`null`), Notification: true},
				{ID: json.RawMessage(`null`), Err: &Error{Code: CodeInvalidRequest, Message: "Invalid Request: request must be a JSON object"}},
				{ID: json.RawMessage(`null`), Err: &Error{Code: CodeInvalidRequest, Message: `Invalid Request: "id" must be a string, a number or null`}},
			},
		},
		{
			name:      "empty batch",
			body:      `[]`,
			wantBatch: true,
			wantErr:   &Error{Code: CodeInvalidRequest, Message: "Invalid Request: empty batch"},
		},
		{
			name:    "not JSON",
			body:    `{"jsonrpc":"2.0",`,
			wantErr: &Error{Code: CodeParseError, Message: "Parse error"},
		},
		{
			name:    "null",
			body:    `null`,
			wantErr: &Error{Code: CodeInvalidRequest, Message: "Invalid Request: request must be a JSON object or array"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, batch, err := Decode([]byte(tt.body))
			if diff := cmp.Diff(tt.wantErr, err); diff != "" {
				t.Errorf("err (-want +got):\n%s", diff)
			}
			if batch != tt.wantBatch {
				t.Errorf("batch = %v, want %v", batch, tt.wantBatch)
			}
			if diff := cmp.Diff(tt.wantCalls, calls, cmpParams); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStripTrailingCommas(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "none", in: `{"a":[1,2]}`, want: `{"a":[1,2]}`},
		{name: "object", in: `{"a":1,}`, want: `{"a":1}`},
		{name: "array", in: `[1,2,]`, want: `[1,2]`},
		{name: "whitespace kept", in: "[1 , \n]", want: "[1  \n]"},
		{name: "nested", in: `{"a":[{"b":[],},],}`, want: `{"a":[{"b":[]}]}`},
		{name: "after string", in: `["x",]`, want: `["x"]`},
		{name: "after literal", in: `[true,null,false,]`, want: `[true,null,false]`},
		{name: "inside string", in: `["a,}","b,]"]`, want: `["a,}","b,]"]`},
		{name: "escaped quote in string", in: `["a\",]",]`, want: `["a\",]"]`},
		{name: "escaped backslash ends string", in: `["a\\",]`, want: `["a\\"]`},
		{name: "double comma kept", in: `[1,,]`, want: `[1,,]`},
		{name: "lone comma kept", in: `[,]`, want: `[,]`},
		{name: "comma after colon kept", in: `{"a":,}`, want: `{"a":,}`},
		{name: "comma after brace kept", in: `{,}`, want: `{,}`},
		{name: "top-level comma kept", in: `,]`, want: `,]`},
		{name: "unterminated string", in: `["a,]`, want: `["a,]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got := stripTrailingCommas(in)
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if string(in) != tt.in {
				t.Errorf("input modified to %q", in)
			}
		})
	}
}

func TestParams(t *testing.T) {
	tests := []struct {
		name      string
		p         Params
		wantLen   int
		wantNamed bool
		wantJSON  string
		arg       int
		argName   string
		wantRaw   string
		wantOK    bool
	}{
		{name: "none", p: Params{}, wantJSON: `null`, arg: 0, argName: "a"},
		{
			name: "positional", p: NewPositionalParams(raws(`1`, `null`)...),
			wantLen: 2, wantJSON: `[1,null]`, arg: 1, argName: "a", wantRaw: `null`, wantOK: true,
		},
		{
			name: "positional out of range", p: NewPositionalParams(raws(`1`)...),
			wantLen: 1, wantJSON: `[1]`, arg: 1, argName: "a",
		},
		{
			name: "positional negative", p: NewPositionalParams(raws(`1`)...),
			wantLen: 1, wantJSON: `[1]`, arg: -1, argName: "a",
		},
		{
			name: "positional empty", p: NewPositionalParams(),
			wantJSON: `[]`, arg: 0,
		},
		{
			name: "named ignores position", p: NewNamedParams(map[string]json.RawMessage{"b": json.RawMessage(`"x"`), "a": json.RawMessage(`2`)}),
			wantLen: 2, wantNamed: true, wantJSON: `{"a":2,"b":"x"}`, arg: 1, argName: "a", wantRaw: `2`, wantOK: true,
		},
		{
			name: "named absent", p: NewNamedParams(map[string]json.RawMessage{"a": json.RawMessage(`2`)}),
			wantLen: 1, wantNamed: true, wantJSON: `{"a":2}`, arg: 0, argName: "c",
		},
		{
			name: "named empty", p: NewNamedParams(nil),
			wantNamed: true, wantJSON: `{}`, arg: 0, argName: "a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
			if got := tt.p.Named(); got != tt.wantNamed {
				t.Errorf("Named() = %v, want %v", got, tt.wantNamed)
			}
			raw, ok := tt.p.Arg(tt.arg, tt.argName)
			if string(raw) != tt.wantRaw || ok != tt.wantOK {
				t.Errorf("Arg(%d, %q) = %s, %v; want %s, %v", tt.arg, tt.argName, raw, ok, tt.wantRaw, tt.wantOK)
			}
			b, err := json.Marshal(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantJSON, string(b)); diff != "" {
				t.Errorf("json.Marshal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestError(t *testing.T) {
	e := &Error{Code: CodeInvalidParams, Message: `bad "from" <date>`}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{name: "pointer", v: e, want: `{"message":"bad \"from\" \u003cdate\u003e","code":-32602}`},
		{name: "value", v: *e, want: `{"message":"bad \"from\" \u003cdate\u003e","code":-32602}`},
		{name: "in struct", v: struct{ E Error }{*e}, want: `{"E":{"message":"bad \"from\" \u003cdate\u003e","code":-32602}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("round trip", func(t *testing.T) {
		b, _ := json.Marshal(e)
		var got Error
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(*e, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("Error string", func(t *testing.T) {
		if got, want := e.Error(), `jsonrpc: bad "from" <date> (code -32602)`; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
}

package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"id":null, "jsonrpc": 2.0, "method": "echo", "params": [1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"]}`,
		`{"method": "x", "params": [1], "id":null, "jsonrpc": 2.0, }`,
		`{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":[2,],},"id":"x"}`,
		`{"jsonrpc":"2.0","method":"echo","params":["a,}","b\",]"],"id":1e3}`,
		`[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"b"},1,[],{"id":{}},]`,
		`[]`, `[,]`, `{,}`, `[1,,]`, `{"a":,}`, `null`, `"x"`, ``, ` `, `{`, `["\\",]`,
		`{"jsonrpc":"2.0","method":"echo","params":"x","id":true}`,
		`{"jsonrpc":"2.0","method":"","params":{"":null},"id":-0.0}`,
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":\"\xff\"}",
		`[{"jsonrpc":"2.0","method":"echo","id":"\ud800"},{"jsonrpc":"2.0","method":"echo","id":"\ud83d\ude00\u0000"}]`,
	} {
		f.Add([]byte(seed))
	}
	srv := NewServer()
	srv.Logger = discardLogger
	srv.Register("echo", echoMethod)

	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		calls, batch, err := Decode(body)
		if !bytes.Equal(body, orig) {
			t.Fatalf("Decode modified its input")
		}
		if json.Valid(body) && !bytes.Equal(stripTrailingCommas(body), body) {
			t.Fatalf("stripTrailingCommas changed valid JSON %q", body)
		}
		if err != nil {
			if calls != nil {
				t.Fatalf("err %v with %d calls", err, len(calls))
			}
		} else {
			if len(calls) == 0 || (!batch && len(calls) != 1) {
				t.Fatalf("batch=%v with %d calls", batch, len(calls))
			}
			for i, c := range calls {
				if c.Err == nil && c.Method == "" {
					t.Fatalf("call %d: no Err and empty Method", i)
				}
				if !json.Valid(c.ID) || !ValidText(c.ID) {
					t.Fatalf("call %d: invalid ID %q", i, c.ID)
				}
				if c.Err == nil {
					checkParamsStable(t, c.Params)
				}
			}
		}

		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		if w.Body.Len() > 0 && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("invalid JSON response %q", w.Body)
		}
	})
}

// FuzzValidText checks ValidText against what encoding/json makes of the same text:
// text is valid exactly when it is UTF-8, no string decodes with a NUL, and decoding
// introduces no replacement character (U+FFFD) that the text did not spell.
func FuzzValidText(f *testing.F) {
	for _, seed := range []string{
		`"plain"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800"`, `"\u0000"`, `"\\u0000"`, `"\ufffd"`, "\"\xef\xbf\xbd\"",
		"\"\xff\"", "\"\xed\xa0\x80\"", `{"k\u00e9":["\t",1,{"\uD800\uDC00":null}]}`, `"\\\ud800"`, `[1,"\/"]`, `1e400`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		want := utf8.Valid(raw)
		if want {
			nul, replaced := decodedStrings(t, raw)
			want = !nul && replaced == spelledReplacements(raw)
		}
		if got := ValidText(raw); got != want {
			t.Fatalf("ValidText(%q) = %v, want %v", raw, got, want)
		}
	})
}

// decodedStrings reports whether a string of raw (a key or a value) decodes with a NUL,
// and how many U+FFFD the decoded strings hold.
func decodedStrings(t *testing.T, raw []byte) (nul bool, replaced int) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber() // numbers beyond float64 are valid JSON
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nul, replaced
		}
		if err != nil {
			t.Fatalf("Token(%q): %v", raw, err)
		}
		if s, ok := tok.(string); ok {
			nul = nul || strings.ContainsRune(s, 0)
			replaced += strings.Count(s, "\ufffd")
		}
	}
}

// spelledReplacements counts the U+FFFD that raw, valid UTF-8 JSON, spells: written
// as such or escaped as \ufffd.
func spelledReplacements(raw []byte) int {
	n := bytes.Count(raw, []byte("\ufffd"))
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+5 < len(raw) && raw[i+1] == 'u' && strings.EqualFold(string(raw[i+2:i+6]), "fffd") {
			n++
		}
		i++ // skip the escaped character
	}
	return n
}

// checkParamsStable re-marshals p inside a request and decodes it again: with
// Params.MarshalJSON (values verbatim) the params come back identical; with
// json.Marshal (which compacts and escapes) a second round trip changes
// nothing more.
func checkParamsStable(t *testing.T, p Params) {
	t.Helper()
	direct, err := p.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	p2 := redecode(t, direct)
	if diff := cmp.Diff(p, p2, cmpParams); diff != "" {
		t.Fatalf("params changed after round trip of %s (-first +second):\n%s", direct, diff)
	}

	m1, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	p3 := redecode(t, m1)
	if p3.Len() != p.Len() || p3.Named() != p.Named() {
		t.Fatalf("Len/Named changed: %d/%v -> %d/%v", p.Len(), p.Named(), p3.Len(), p3.Named())
	}
	m2, err := json.Marshal(p3)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if !bytes.Equal(m1, m2) {
		t.Fatalf("json.Marshal not stable:\n%s\n%s", m1, m2)
	}
	if diff := cmp.Diff(p3, redecode(t, m2), cmpParams); diff != "" {
		t.Fatalf("params changed (-first +second):\n%s", diff)
	}
}

func redecode(t *testing.T, params []byte) Params {
	t.Helper()
	req := []byte(`{"jsonrpc":"2.0","method":"m","params":` + string(params) + `,"id":1}`)
	calls, _, derr := Decode(req)
	if derr != nil || len(calls) != 1 || calls[0].Err != nil {
		t.Fatalf("re-decoding %s: err %v, calls %+v", req, derr, calls)
	}
	return calls[0].Params
}

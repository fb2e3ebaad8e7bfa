package jsonrpc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// errParse answers a body that is not JSON. It carries no detail: the
// encoding/json wording is not a stable interface.
var errParse = &Error{Code: CodeParseError, Message: "Parse error"}

// nullID is the id of responses whose request id is null, missing or invalid.
var nullID = json.RawMessage("null")

// Call is one decoded request object.
type Call struct {
	// Method is the method name; empty when Err is set.
	Method string
	// Params holds the call's parameters.
	Params Params
	// ID is the request id as raw JSON (a string, a number or null), to be
	// echoed back verbatim. It is "null" when the id is missing or invalid.
	ID json.RawMessage
	// Notification reports that the request object had no "id" member: the
	// method runs but no response is sent. An invalid request is answered
	// (with id null) even when it is a notification, as the specification's
	// examples show.
	Notification bool
	// Err, when non-nil, is the Invalid Request error to answer this call
	// with instead of running it (e.g. one bad element of a batch).
	Err *Error
}

// Decode parses a request body into calls, batches of any size; it is exported
// so it can be fuzzed and unit-tested without HTTP.
//
// batch reports whether the body was a JSON array. err is non-nil when the
// body as a whole is unusable (not JSON, an empty batch, neither an object nor
// an array); the response is then that single error with id null. Problems
// with a single request object are reported in its Call.Err instead, so that
// its id can still be echoed when it is valid.
//
// Trailing commas before } or ] outside strings are tolerated; anything else
// that is not valid JSON is a parse error.
func Decode(body []byte) (calls []Call, batch bool, err *Error) {
	return decode(body, 0, "")
}

// decode is Decode with a limit: a batch of more than maxCalls calls (when maxCalls is
// above zero) is refused as a whole, before any of its elements is decoded, with an
// error that names the limit and flag, the setting that raises it.
func decode(body []byte, maxCalls int, flag string) (calls []Call, batch bool, err *Error) {
	body = stripTrailingCommas(body)
	if !json.Valid(body) {
		return nil, false, errParse
	}
	body = trimSpace(body)
	switch body[0] {
	case '[':
		elems, tooMany := batchElements(body, maxCalls)
		if tooMany {
			return nil, true, batchTooLarge(maxCalls, flag)
		}
		if len(elems) == 0 {
			return nil, true, invalidRequest("empty batch")
		}
		calls = make([]Call, len(elems))
		for i, el := range elems {
			calls[i] = decodeCall(el)
		}
		return calls, true, nil
	case '{':
		return []Call{decodeCall(body)}, false, nil
	default:
		return nil, false, invalidRequest("request must be a JSON object or array")
	}
}

// batchElements splits a batch, valid JSON starting with '[', into its elements. It
// stops at the first element past maxCalls (when maxCalls is above zero) and reports
// tooMany: the work is bounded by the limit, not by the size of the body.
func batchElements(body []byte, maxCalls int) (elems []json.RawMessage, tooMany bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	if _, err := d.Token(); err != nil { // '['
		return nil, false
	}
	for d.More() {
		if maxCalls > 0 && len(elems) == maxCalls {
			return nil, true
		}
		var el json.RawMessage
		if err := d.Decode(&el); err != nil { // not reached: body is valid JSON
			return nil, false
		}
		elems = append(elems, el)
	}
	return elems, false
}

func batchTooLarge(limit int, flag string) *Error {
	msg := "a batch may hold at most " + strconv.Itoa(limit) + " calls"
	if flag != "" {
		msg += " (" + flag + ")"
	}
	return invalidRequest(msg + "; send the calls in smaller batches")
}

func invalidRequest(detail string) *Error {
	return &Error{Code: CodeInvalidRequest, Message: "Invalid Request: " + detail}
}

// decodeCall decodes one request object; raw is valid JSON without
// surrounding whitespace.
func decodeCall(raw json.RawMessage) Call {
	c := Call{ID: nullID}
	if len(raw) == 0 || raw[0] != '{' {
		c.Err = invalidRequest("request must be a JSON object")
		return c
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		c.Err = invalidRequest("request must be a JSON object")
		return c
	}

	if id, ok := obj["id"]; !ok {
		c.Notification = true
	} else if k := kindOf(id); k == '"' && !ValidText(id) {
		// Echoed as it came, it would make the answer invalid JSON text (or carry a
		// NUL to the client): the id cannot be determined, so it is answered null.
		c.Err = invalidRequest(`"id" must be valid UTF-8 without NUL characters or lone surrogates`)
		return c
	} else if k == '"' || k == '0' || k == 'n' {
		c.ID = id
	} else {
		c.Err = invalidRequest(`"id" must be a string, a number or null`)
		return c
	}

	if !validVersion(obj["jsonrpc"]) {
		c.Err = invalidRequest(`"jsonrpc" must be "2.0"`)
		return c
	}

	m := obj["method"]
	if kindOf(m) != '"' || json.Unmarshal(m, &c.Method) != nil || c.Method == "" {
		c.Method = ""
		c.Err = invalidRequest(`"method" must be a non-empty string`)
		return c
	}

	p, ok := obj["params"]
	if !ok {
		return c
	}
	bad := false
	switch kindOf(p) {
	case 'n':
	case '[':
		bad = json.Unmarshal(p, &c.Params.positional) != nil
		if c.Params.positional == nil {
			c.Params.positional = []json.RawMessage{}
		}
	case '{':
		bad = json.Unmarshal(p, &c.Params.named) != nil
		if c.Params.named == nil {
			c.Params.named = map[string]json.RawMessage{}
		}
	default:
		bad = true
	}
	if bad {
		c.Method = ""
		c.Params = Params{}
		c.Err = invalidRequest(`"params" must be an array, an object or null`)
	}
	return c
}

// ValidText reports whether raw, JSON text that json.Valid accepts, is valid UTF-8
// and holds no string with an escaped NUL (\u0000) or a lone surrogate (\ud800).
// encoding/json accepts all three and, decoding, silently turns invalid UTF-8 and lone
// surrogates into U+FFFD; echoed verbatim, invalid UTF-8 is no valid JSON text at all.
func ValidText(raw json.RawMessage) bool {
	if !utf8.Valid(raw) {
		return false
	}
	// In valid JSON a backslash occurs only inside strings, where it starts an escape.
	for i := bytes.IndexByte(raw, '\\'); i >= 0; {
		if i+1 >= len(raw) {
			return false
		}
		if raw[i+1] != 'u' {
			i = nextEscape(raw, i+2)
			continue
		}
		r, ok := hex4(raw, i+2)
		switch {
		case !ok || r == 0:
			return false
		case utf16.IsSurrogate(r):
			// A high surrogate must be followed by an escaped low one.
			low, ok := rune(0), false
			if r < 0xdc00 && len(raw) > i+7 && raw[i+6] == '\\' && raw[i+7] == 'u' {
				low, ok = hex4(raw, i+8)
			}
			if !ok || low < 0xdc00 || low > 0xdfff {
				return false
			}
			i = nextEscape(raw, i+12)
		default:
			i = nextEscape(raw, i+6)
		}
	}
	return true
}

// nextEscape returns the index of the first backslash in raw at or after from, or -1.
func nextEscape(raw []byte, from int) int {
	if from >= len(raw) {
		return -1
	}
	j := bytes.IndexByte(raw[from:], '\\')
	if j < 0 {
		return -1
	}
	return from + j
}

// hex4 reads the four hex digits of a \u escape at raw[at:].
func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(raw[at:at+4]), 16, 16)
	return rune(v), err == nil
}

// validVersion reports whether raw is "2.0" or a number equal to 2.
func validVersion(raw json.RawMessage) bool {
	switch kindOf(raw) {
	case '"':
		var s string
		return json.Unmarshal(raw, &s) == nil && s == "2.0"
	case '0':
		f, err := strconv.ParseFloat(string(raw), 64)
		return err == nil && f == 2
	}
	return false
}

// kindOf classifies a raw JSON value by its first byte: '"' string, '0'
// number, 'n' null, 't' boolean, '{' object, '[' array, 0 absent or empty.
func kindOf(raw json.RawMessage) byte {
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; c {
	case '"', 'n', '{', '[':
		return c
	case 't', 'f':
		return 't'
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return '0'
	}
	return 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// stripTrailingCommas removes each comma that follows a value and is followed,
// after optional whitespace, by } or ]. Commas inside strings are untouched,
// and so is a comma after [, {, : or another comma, so that only the
// trailing-comma leniency is granted. Valid JSON is returned unchanged (the
// same slice); the input is never modified.
func stripTrailingCommas(b []byte) []byte {
	var (
		out      []byte // nil until the first comma is dropped
		inString bool
		escaped  bool
		last     byte // last significant byte outside strings ('"' after a string)
	)
	for i := 0; i < len(b); i++ {
		c := b[i]
		drop := false
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
			last = c
		case isSpace(c):
		case c == ',':
			j := i + 1
			for j < len(b) && isSpace(b[j]) {
				j++
			}
			afterValue := last != 0 && last != '[' && last != '{' && last != ',' && last != ':'
			if afterValue && j < len(b) && (b[j] == '}' || b[j] == ']') {
				drop = true
			} else {
				last = c
			}
		default:
			last = c
		}
		if drop {
			if out == nil {
				out = make([]byte, i, len(b))
				copy(out, b[:i])
			}
			continue
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return b
	}
	return out
}

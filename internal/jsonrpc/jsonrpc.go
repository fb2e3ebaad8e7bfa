// Package jsonrpc is a small JSON-RPC 2.0 server layer over net/http, used to
// serve the MetalSoft-compatible API.
//
// It is transport framing only: it decodes requests (single calls, batches and
// notifications), dispatches them to registered [Method] functions and writes
// the responses. It knows nothing about the billing domain; the methods do.
//
// A few deliberate leniencies keep real MetalSoft clients working:
//   - the body is parsed as JSON whatever its Content-Type (curl -d sends
//     application/x-www-form-urlencoded);
//   - "jsonrpc" may be the string "2.0" or the number 2.0 (or 2);
//   - a trailing comma before a closing } or ] (outside strings) is ignored.
//
// Everything else follows https://www.jsonrpc.org/specification: a request
// with "id": null is answered with "id": null, a request without an "id"
// member is a notification and is not answered, ids are echoed back verbatim,
// and every JSON-RPC answer, including errors, has HTTP status 200.
package jsonrpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Standard JSON-RPC 2.0 error codes.
const (
	// CodeParseError means the body is not valid JSON.
	CodeParseError = -32700
	// CodeInvalidRequest means the JSON is not a valid request object.
	CodeInvalidRequest = -32600
	// CodeMethodNotFound means no method is registered under the name.
	CodeMethodNotFound = -32601
	// CodeInvalidParams means the method rejected its parameters.
	CodeInvalidParams = -32602
	// CodeInternalError means the server failed; details are only logged.
	CodeInternalError = -32603
)

// DefaultMaxBodyBytes is the request body size limit used when
// Server.MaxBodyBytes is zero or negative: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// Error is a JSON-RPC error object. A [Method] returns one (possibly wrapped)
// to send a specific code and message to the client.
//
// It marshals as {"message":...,"code":...}, message first, as MetalSoft does.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e == nil {
		return "jsonrpc: <nil>"
	}
	return fmt.Sprintf("jsonrpc: %s (code %d)", e.Message, e.Code)
}

// MarshalJSON encodes e as {"message":...,"code":...}.
func (e Error) MarshalJSON() ([]byte, error) {
	return e.appendJSON(nil), nil
}

func (e *Error) appendJSON(buf []byte) []byte {
	buf = append(buf, `{"message":`...)
	buf = AppendString(buf, e.Message)
	buf = append(buf, `,"code":`...)
	buf = strconv.AppendInt(buf, int64(e.Code), 10)
	return append(buf, '}')
}

// AppendString appends s as a JSON string. Unlike encoding/json it does not escape
// <, > and &, so messages such as "Bearer <api key>" read as written.
func AppendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	// Most strings need no escape: copy them whole.
	plain := 0
	for plain < len(s) && s[plain] >= 0x20 && s[plain] != '"' && s[plain] != '\\' {
		plain++
	}
	buf = append(buf, s[:plain]...)
	for i := plain; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// JSONAppender is implemented by method results that encode themselves. The
// server calls AppendJSON with its response buffer and writes the appended
// bytes verbatim as the "result" member, without validating them; it is the
// fast path for big reports. AppendJSON must append exactly one valid JSON
// value.
type JSONAppender interface {
	AppendJSON(buf []byte) []byte
}

// Params gives a method its parameters by position or by name. The zero value
// means the request had no params (absent or null).
type Params struct {
	positional []json.RawMessage
	named      map[string]json.RawMessage // non-nil iff the call is named
}

// NewPositionalParams returns positional params holding args, in order. It is
// meant for calling a [Method] directly, e.g. in tests.
func NewPositionalParams(args ...json.RawMessage) Params {
	if args == nil {
		args = []json.RawMessage{}
	}
	return Params{positional: args}
}

// NewNamedParams returns named params holding args. It is meant for calling a
// [Method] directly, e.g. in tests.
func NewNamedParams(args map[string]json.RawMessage) Params {
	if args == nil {
		args = map[string]json.RawMessage{}
	}
	return Params{named: args}
}

// Len returns the number of parameters.
func (p Params) Len() int {
	if p.named != nil {
		return len(p.named)
	}
	return len(p.positional)
}

// Named reports whether the parameters were given by name (a JSON object).
func (p Params) Named() bool { return p.named != nil }

// Arg returns the raw JSON of a parameter, looked up by position i in a
// positional call or by name in a named call. ok is false when the parameter
// is absent. A parameter given as JSON null is present: Arg returns ok=true
// and raw "null", and the caller decides what null means.
func (p Params) Arg(i int, name string) (raw json.RawMessage, ok bool) {
	if p.named != nil {
		raw, ok = p.named[name]
		return raw, ok
	}
	if i < 0 || i >= len(p.positional) {
		return nil, false
	}
	return p.positional[i], true
}

// MarshalJSON encodes the parameters as they were received: a JSON array for
// positional params, an object (keys sorted) for named params, null for none.
// Parameter values are written verbatim.
func (p Params) MarshalJSON() ([]byte, error) {
	var buf []byte
	switch {
	case p.named != nil:
		keys := make([]string, 0, len(p.named))
		for k := range p.named {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = AppendString(buf, k)
			buf = append(buf, ':')
			buf = appendRaw(buf, p.named[k])
		}
		buf = append(buf, '}')
	case p.positional != nil:
		buf = append(buf, '[')
		for i, v := range p.positional {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendRaw(buf, v)
		}
		buf = append(buf, ']')
	default:
		buf = append(buf, "null"...)
	}
	return buf, nil
}

func appendRaw(buf []byte, raw json.RawMessage) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return append(buf, "null"...)
	}
	return append(buf, raw...)
}

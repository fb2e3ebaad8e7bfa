package ledger

import (
	"bytes"
	"encoding/json"
	"iter"
	"slices"
	"strconv"
	"strings"
)

// This file walks JSON text that encoding/json has already validated (json.Valid), so
// it only has to find where values start and end. Working on the text directly, rather
// than unmarshalling into structs or maps, lets the decoder see member names exactly as
// sent (encoding/json matches struct fields case-insensitively and keeps the last of
// duplicate names, both of which would hide mistakes in a ledger), report every broken
// rule instead of the first, keep numbers as their literal text, and hand out strings
// that share the request body's memory.
//
// Every function tolerates invalid input without panicking (it just stops early), but
// only gives meaningful answers for valid JSON.

// member is one name/value pair of a JSON object.
type member struct {
	name    string // decoded
	quoted  string // the name as sent, quotes included
	escaped bool   // quoted holds a backslash escape
	value   string // raw JSON text of the value
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string that starts at s[i] == '"'.
func stringEnd(s string, i int) int {
	j := i + 1
	for {
		k := strings.IndexByte(s[j:], '"')
		if k < 0 {
			return len(s)
		}
		j += k
		// The quote ends the string unless an odd number of backslashes precede it.
		n := 0
		for p := j - 1; p > i && s[p] == '\\'; p-- {
			n++
		}
		j++
		if n%2 == 0 {
			return j
		}
	}
}

// valueEnd returns the index just past the JSON value that starts at s[i].
func valueEnd(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	switch s[i] {
	case '"':
		return stringEnd(s, i)
	case '{', '[':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				i = stringEnd(s, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(s)
	default: // number, true, false, null
		j := i
		for j < len(s) {
			switch s[j] {
			case ',', '}', ']', ':', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// appendMembers appends the members of the JSON object s to dst, in the order sent.
func appendMembers(dst []member, s string) []member {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return dst
	}
	i++
	for {
		i = skipSpace(s, i)
		if i >= len(s) || s[i] == '}' {
			return dst
		}
		if s[i] == ',' {
			i++
			continue
		}
		if s[i] != '"' {
			return dst
		}
		j := stringEnd(s, i)
		quoted := s[i:j]
		i = skipSpace(s, j)
		if i < len(s) && s[i] == ':' {
			i++
		}
		i = skipSpace(s, i)
		k := valueEnd(s, i)
		if k <= i {
			return dst
		}
		name, escaped, _ := stringValue(quoted)
		dst = append(dst, member{name: name, quoted: quoted, escaped: escaped, value: s[i:k]})
		i = k
	}
}

// elements yields the elements of the JSON array s.
func elements(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		i := skipSpace(s, 0)
		if i >= len(s) || s[i] != '[' {
			return
		}
		i++
		for {
			i = skipSpace(s, i)
			if i >= len(s) || s[i] == ']' {
				return
			}
			if s[i] == ',' {
				i++
				continue
			}
			j := valueEnd(s, i)
			if j <= i || !yield(s[i:j]) {
				return
			}
			i = j
		}
	}
}

// stringValue returns the string that the JSON value v holds. escaped reports whether
// v used backslash escapes; ok is false if v is not a JSON string.
func stringValue(v string) (s string, escaped, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false, false
	}
	if strings.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], false, true
	}
	s, ok = unescape(v)
	return s, true, ok
}

// unescape decodes a JSON string with escapes. It is apart from stringValue so that the
// common case does not pay for a string that escapes to the heap.
func unescape(v string) (string, bool) {
	var s string
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return "", false
	}
	return s, true
}

// appendQuoted appends s as a JSON string exactly as encoding/json encodes it with HTML
// escaping off. fast says s came from JSON text without escapes (so it holds no control
// characters, quotes or backslashes) and is valid UTF-8.
func appendQuoted(dst []byte, s string, fast bool) []byte {
	// encoding/json escapes U+2028 and U+2029 (bytes E2 80 A8/A9), even with HTML
	// escaping off; everything else of an unescaped JSON string passes through as is.
	if fast && strings.IndexByte(s, 0xE2) < 0 {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil { // cannot fail for a string
		return strconv.AppendQuote(dst, s)
	}
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte{'\n'})...)
}

// path names a JSON value inside an event for error reports ("data.attributes.x",
// "data.x[2]"). It is built into a string only when an error needs it.
type path struct {
	parent string
	name   string
	index  int // >= 0: an array element of parent; name unused
}

func (p path) String() string {
	switch {
	case p.index >= 0:
		return p.parent + "[" + strconv.Itoa(p.index) + "]"
	case p.parent == "":
		return p.name
	default:
		return p.parent + "." + p.name
	}
}

func compareMembers(a, b member) int { return strings.Compare(a.name, b.name) }

const reasonNUL = "must not contain the character U+0000"

// appendCanonical appends the canonical form of the JSON value v: object members sorted
// by name at every level, no insignificant whitespace, numbers as their literal text,
// strings re-encoded by encoding/json. Duplicate names and U+0000 (which PostgreSQL
// cannot store as text) are reported against ev.
func (d *decoder) appendCanonical(dst []byte, ev int, p path, v string) []byte {
	switch v[0] {
	case '{':
		start := len(d.stack)
		d.stack = appendMembers(d.stack, v)
		ms := d.stack[start:]
		slices.SortFunc(ms, compareMembers)
		dst = d.appendObject(dst, ev, p, ms)
		d.stack = d.stack[:start]
		return dst
	case '[':
		dst = append(dst, '[')
		ps := p.String()
		i := 0
		for e := range elements(v) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = d.appendCanonical(dst, ev, path{parent: ps, index: i}, e)
			i++
		}
		return append(dst, ']')
	case '"':
		s, escaped, ok := stringValue(v)
		if !ok {
			return append(dst, v...)
		}
		if escaped && strings.IndexByte(s, 0) >= 0 {
			d.fail(ev, p.String(), reasonNUL)
		}
		return appendQuoted(dst, s, !escaped)
	default:
		return append(dst, v...)
	}
}

// appendObject appends the canonical form of an object whose members ms are sorted by
// name.
func (d *decoder) appendObject(dst []byte, ev int, p path, ms []member) []byte {
	dst = append(dst, '{')
	ps := p.String()
	for i, m := range ms {
		if i > 0 {
			if m.name == ms[i-1].name {
				if i == 1 || ms[i-2].name != m.name {
					d.fail(ev, ps+"."+m.name, "appears more than once")
				}
				continue
			}
			dst = append(dst, ',')
		}
		if m.escaped && strings.IndexByte(m.name, 0) >= 0 {
			d.fail(ev, ps+"."+m.name, "the name "+reasonNUL)
		}
		if m.escaped {
			dst = appendQuoted(dst, m.name, false)
		} else if strings.IndexByte(m.name, 0xE2) < 0 {
			dst = append(dst, m.quoted...)
		} else {
			dst = appendQuoted(dst, m.name, true)
		}
		dst = append(dst, ':')
		dst = d.appendCanonical(dst, ev, path{parent: ps, name: m.name, index: -1}, m.value)
	}
	return append(dst, '}')
}

package ledger

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// This file parses JSON text that encoding/json has already validated (json.Valid) into
// a small tree, in one pass per event. Working on the text, rather than unmarshalling
// into structs or maps, lets the decoder see member names exactly as sent (encoding/json
// matches struct fields case-insensitively and keeps the last of duplicate names, both of
// which would hide mistakes in a ledger), report every broken rule instead of the first,
// keep numbers as their literal text, and hand out strings that share the request body's
// memory instead of allocating.
//
// The parser never panics on invalid input (it stops early), but only gives meaningful
// answers for valid JSON.

// node is one JSON value of a tree: a member of an object, an element of an array, or
// the root.
type node struct {
	name    string // member name, decoded; "" for elements and the root
	escaped bool   // the member name was sent with backslash escapes
	value   string // raw JSON text of the value
	first   int32  // objects and arrays: index in tree.nodes of the first child
	count   int32  // objects and arrays: number of children
}

// tree holds the nodes of one parsed JSON value. The children of each object or array
// are contiguous in nodes, in the order sent.
type tree struct {
	nodes   []node
	scratch []node // children of the containers being parsed
}

// kids returns the members of an object node or the elements of an array node.
func (t *tree) kids(n node) []node { return t.nodes[n.first : n.first+n.count] }

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

// parse parses the JSON value that starts at s[i] (after any white space), appending the
// nodes of its children to t, and returns its node and the index just past it.
func (t *tree) parse(s string, i int) (node, int) {
	i = skipSpace(s, i)
	if i >= len(s) {
		return node{}, len(s)
	}
	switch c := s[i]; c {
	case '{', '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		mark := len(t.scratch)
		j := i + 1
		for {
			j = skipSpace(s, j)
			if j >= len(s) {
				break
			}
			if s[j] == closer {
				j++
				break
			}
			if s[j] == ',' {
				j++
				continue
			}
			var name string
			var escaped bool
			if c == '{' {
				if s[j] != '"' {
					j = len(s)
					break
				}
				k := stringEnd(s, j)
				name, escaped, _ = stringValue(s[j:k])
				j = skipSpace(s, k)
				if j < len(s) && s[j] == ':' {
					j++
				}
			}
			child, end := t.parse(s, j)
			if child.value == "" {
				j = len(s)
				break
			}
			child.name, child.escaped = name, escaped
			t.scratch = append(t.scratch, child)
			j = end
		}
		n := node{value: s[i:j], first: int32(len(t.nodes)), count: int32(len(t.scratch) - mark)}
		t.nodes = append(t.nodes, t.scratch[mark:]...)
		t.scratch = t.scratch[:mark]
		return n, j
	case '"':
		j := stringEnd(s, i)
		return node{value: s[i:j]}, j
	default: // number, true, false, null
		j := i
	scalar:
		for j < len(s) {
			switch s[j] {
			case ',', '}', ']', ':', '{', '[', '"', ' ', '\t', '\n', '\r':
				break scalar
			}
			j++
		}
		return node{value: s[i:j]}, j
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
// escaping off. plain says s came from JSON text without escapes, so it holds no control
// characters, quotes or backslashes (and, the body being checked, is valid UTF-8).
func appendQuoted(dst []byte, s string, plain bool) []byte {
	// encoding/json escapes U+2028 and U+2029 (bytes E2 80 A8/A9), even with HTML
	// escaping off; everything else of an unescaped JSON string passes through as is.
	if plain && strings.IndexByte(s, 0xE2) < 0 {
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
// "data.x[2]"). It is built into a string only when needed.
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

// compareNodes orders object members by name, byte by byte.
func compareNodes(a, b node) int { return strings.Compare(a.name, b.name) }

// sortedKids returns the members of the object n sorted by name (in place in the tree).
func (d *decoder) sortedKids(n node) []node {
	kids := d.tree.kids(n)
	if !slices.IsSortedFunc(kids, compareNodes) {
		slices.SortFunc(kids, compareNodes)
	}
	return kids
}

const reasonNUL = "must not contain the character U+0000"

// appendCanonical appends the canonical form of the JSON value n: object members sorted
// by name at every level, no insignificant white space, numbers as their literal text,
// strings re-encoded by encoding/json (HTML escaping off). Duplicate names and U+0000
// (which PostgreSQL cannot store as text) are reported against event ev.
func (d *decoder) appendCanonical(dst []byte, ev int, p path, n node) []byte {
	switch n.value[0] {
	case '{':
		return d.appendObject(dst, ev, p, d.sortedKids(n))
	case '[':
		dst = append(dst, '[')
		ps := p.String()
		for i, e := range d.tree.kids(n) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = d.appendCanonical(dst, ev, path{parent: ps, index: i}, e)
		}
		return append(dst, ']')
	case '"':
		s, escaped, ok := stringValue(n.value)
		if !ok {
			return append(dst, n.value...)
		}
		if escaped && strings.IndexByte(s, 0) >= 0 {
			d.fail(ev, p.String(), reasonNUL)
		}
		return appendQuoted(dst, s, !escaped)
	default:
		return append(dst, n.value...)
	}
}

// appendObject appends the canonical form of an object whose members ms are sorted by
// name.
func (d *decoder) appendObject(dst []byte, ev int, p path, ms []node) []byte {
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
		dst = appendQuoted(dst, m.name, !m.escaped)
		dst = append(dst, ':')
		dst = d.appendCanonical(dst, ev, path{parent: ps, name: m.name, index: -1}, m)
	}
	return append(dst, '}')
}

package cloudmeter

import (
	"strconv"
	"unicode/utf8"
)

// Limits on text kept by cloudmeter. Every string a client sends that is stored or used
// to look something up is held to one of them, so that no request stores a megabyte
// label and no byte that a database refuses (a NUL, invalid UTF-8) ever reaches one.
const (
	// MaxNameBytes bounds names used to look things up: datacenters, storage types,
	// server type names, key ids, event ids and sources.
	MaxNameBytes = 256
	// MaxTextBytes bounds free text: labels, subdomains, an event's subject.
	MaxTextBytes = 1024
)

// CheckText checks that s is valid UTF-8 without control characters (a NUL included)
// and at most maxBytes long.
//
// Errors: KindInvalid naming field and the rule it breaks.
func CheckText(field, s string, maxBytes int) error {
	switch {
	case len(s) > maxBytes:
		return Errorf(KindInvalid, "%s: must be at most %d bytes long (it is %d)", field, maxBytes, len(s))
	case !utf8.ValidString(s):
		return Errorf(KindInvalid, "%s: must be valid UTF-8 text", field)
	case HasControl(s):
		return Errorf(KindInvalid, "%s: must not contain control characters (such as %s)", field, strconv.QuoteRune(firstControl(s)))
	}
	return nil
}

// HasControl reports whether s holds a control character: C0 (NUL included), DEL or C1.
func HasControl(s string) bool {
	return firstControl(s) >= 0
}

func firstControl(s string) rune {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return r
		}
	}
	return -1
}

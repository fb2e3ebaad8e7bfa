package jsonrpc

import (
	"encoding/json"
	"testing"

	"pgregory.net/rapid"
)

// AppendString writes a JSON string that decodes back to the same text, whether the text
// needs escapes or not.
func TestAppendStringRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringOf(rapid.SampledFrom([]rune{'a', '"', '\\', '\n', '\t', 0, 0x1f, 'é', '<'}))).Draw(t, "s")
		b := AppendString([]byte("["), s)
		var back string
		if err := json.Unmarshal(b[1:], &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: not JSON: %v", s, b[1:], err)
		}
		if back != s {
			t.Fatalf("AppendString(%q) decodes to %q", s, back)
		}
	})
}

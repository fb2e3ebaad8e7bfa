package cloudmeter

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// AppendTime writes what time.Format writes with the RFC 3339 layout in UTC, for every
// second of the years cloudmeter accepts and beyond.
func TestAppendTimeMatchesFormat(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sec := rapid.OneOf(
			rapid.Int64Range(0, 253402300799),                    // 1970 to 9999
			rapid.Int64Range(-62167219200-86400*400, 1<<40),      // before year 0 to far after 9999
			rapid.SampledFrom([]int64{0, 951782400, 4107542399}), // epoch, 2000-02-29, 2100-02-28T23:59:59
		).Draw(t, "second")
		want := time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05Z")
		if got := string(AppendTime([]byte("x"), sec)); got != "x"+want {
			t.Fatalf("AppendTime(%d) = %q, want %q", sec, got[1:], want)
		}
	})
}

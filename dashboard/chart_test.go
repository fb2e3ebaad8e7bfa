package dashboard

import (
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestScale checks bar lengths: within [0, length], exact at the ends, never decreasing
// with the value, and without overflow for the largest amounts.
func TestScale(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		max := rapid.Int64Range(1, math.MaxInt64).Draw(t, "max")
		length := rapid.Int64Range(1, 2000).Draw(t, "length")
		a := rapid.Int64Range(math.MinInt64, max).Draw(t, "a")
		b := rapid.Int64Range(a, max).Draw(t, "b")
		sa, sb := scale(a, length, max), scale(b, length, max)
		if sa < 0 || sb > length || sa > sb {
			t.Fatalf("scale(%d)=%d, scale(%d)=%d over %d of %d", a, sa, b, sb, length, max)
		}
		if scale(max, length, max) != length || scale(0, length, max) != 0 {
			t.Fatalf("the ends are not exact")
		}
	})
}

func TestFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567", math.MaxInt64: "9,223,372,036,854,775,807"} {
		if got := intText(n); got != want {
			t.Errorf("intText(%d) = %q, want %q", n, got, want)
		}
	}
	if got := timeText(1733425200); got != "2024-12-05 19:00:00 UTC" {
		t.Errorf("timeText = %q", got)
	}
	m, err := parseMonth("2024-03", 0)
	if err != nil || m.Start() != 1709251200 || m.End() != 1711929599 || m.Prev().String() != "2024-02" || m.Next().String() != "2024-04" {
		t.Errorf("parseMonth(2024-03) = %v %v", m, err)
	}
	for _, bad := range []string{"2024-3", "2024-13", "24-03", "2024/03", "0001-01", "2024-03-01"} {
		if _, err := parseMonth(bad, 0); err == nil || !strings.HasPrefix(err.Error(), "month: ") {
			t.Errorf("parseMonth(%q): %v, want an error naming month", bad, err)
		}
	}
	if got := csvText("=HYPERLINK(1)"); got != "'=HYPERLINK(1)" {
		t.Errorf("csvText = %q", got)
	}
}

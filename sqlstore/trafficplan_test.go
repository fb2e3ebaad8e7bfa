package sqlstore

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"
)

// checkPlan checks the reads of planTraffic(from, to, cuts): each read of months or days
// covers whole UTC months or days, the reads cover every second of [from, to] once and
// nothing else, each in the piece that holds it; and what they cost is bounded: per
// piece, fewer than two months of days, fewer than two days of seconds read as periods,
// and one row per month.
func checkPlan(t *testing.T, from, to int64, cuts []int64) {
	t.Helper()
	reads := planTraffic(from, to, cuts)
	what := fmt.Sprintf("planTraffic(%s, %s, cuts %v)", at(from), at(to), cuts)
	pieceOf := func(s int64) int {
		i := 0
		for i < len(cuts) && s >= cuts[i] {
			i++
		}
		return i
	}
	spans := slices.Clone(reads)
	slices.SortFunc(spans, func(a, b trafficRead) int { return cmpInt(a.lo, b.lo) })
	next := from
	var days, periodSeconds = map[int]int64{}, map[int]int64{}
	for _, r := range spans {
		if r.lo != next {
			t.Fatalf("%s: a read starts at %s, want %s (the second after the one before): %+v", what, at(r.lo), at(next), reads)
		}
		next = r.hi + 1
		if r.hi < r.lo || pieceOf(r.lo) != r.piece || pieceOf(r.hi) != r.piece {
			t.Fatalf("%s: read %+v is empty or not inside its piece", what, r)
		}
		switch r.level {
		case levelMonths:
			if monthStart(r.lo) != r.lo || monthStart(r.hi+1) != r.hi+1 {
				t.Fatalf("%s: month read %s to %s is not whole months", what, at(r.lo), at(r.hi))
			}
		case levelDays:
			if floorDay(r.lo) != r.lo || floorDay(r.hi+1) != r.hi+1 {
				t.Fatalf("%s: day read %s to %s is not whole days", what, at(r.lo), at(r.hi))
			}
			days[r.piece] += (r.hi + 1 - r.lo) / daySeconds
		case levelPeriods:
			periodSeconds[r.piece] += r.hi + 1 - r.lo
		}
	}
	if next != to+1 {
		t.Fatalf("%s: the reads end at %s, want %s", what, at(next-1), at(to))
	}
	for p, n := range days {
		if n > 62 {
			t.Errorf("%s: piece %d reads %d days", what, p, n)
		}
	}
	for p, n := range periodSeconds {
		if n >= 2*daySeconds {
			t.Errorf("%s: piece %d reads %d seconds of periods", what, p, n)
		}
	}
	for i := 1; i < len(reads); i++ {
		if reads[i].level < reads[i-1].level {
			t.Fatalf("%s: reads not ordered by level: %+v", what, reads)
		}
	}
}

func at(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) }

func date(y int, m time.Month, d, h int) int64 {
	return time.Date(y, m, d, h, 0, 0, 0, time.UTC).Unix()
}

func TestPlanTraffic(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to int64
		cuts     []int64
		// want counts the reads of each level: months, days, periods.
		want [3]int
	}{
		{"OneMonth", date(2024, 3, 1, 0), date(2024, 4, 1, 0) - 1, nil, [3]int{1, 0, 0}},
		{"ThirtyDays", date(2024, 11, 16, 0), date(2024, 12, 16, 0) - 1, nil, [3]int{0, 1, 0}},
		{"TwelveMonthsMidMonth", date(2023, 12, 16, 0), date(2024, 12, 16, 0) - 1, []int64{date(2024, 12, 1, 0)}, [3]int{1, 2, 0}},
		{"YearEnd", date(2023, 12, 31, 5), date(2024, 1, 1, 5), nil, [3]int{0, 0, 1}},
		{"YearEndDays", date(2023, 12, 30, 5), date(2024, 1, 2, 5), nil, [3]int{0, 1, 2}},
		{"CutInsideAMonth", date(2024, 1, 1, 0), date(2024, 6, 1, 0) - 1, []int64{date(2024, 3, 10, 12)}, [3]int{2, 2, 2}},
		{"CutOnAMonth", date(2024, 1, 1, 0), date(2024, 6, 1, 0) - 1, []int64{date(2024, 3, 1, 0)}, [3]int{2, 0, 0}},
		{"OneSecond", date(2024, 1, 1, 0), date(2024, 1, 1, 0), nil, [3]int{0, 0, 1}},
		{"LeapDay", date(2024, 2, 29, 0), date(2024, 3, 1, 0) - 1, nil, [3]int{0, 1, 0}},
		{"Years", date(2019, 5, 17, 3), date(2024, 5, 17, 3) - 1, nil, [3]int{1, 2, 2}},
		{"Before1970", date(1969, 11, 30, 5), date(1970, 2, 1, 3), []int64{date(1970, 1, 1, 0)}, [3]int{2, 0, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkPlan(t, c.from, c.to, c.cuts)
			var got [3]int
			for _, r := range planTraffic(c.from, c.to, c.cuts) {
				got[r.level]++
			}
			if got != c.want {
				t.Errorf("reads of months, days, periods: %v, want %v: %+v", got, c.want, planTraffic(c.from, c.to, c.cuts))
			}
		})
	}
}

// TestPlanTrafficRandom: random windows (a second to five years, across year ends and
// leap days) and cuts (on months, days, hours and any second).
func TestPlanTrafficRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	base := date(1967, 11, 1, 0)
	align := func(s int64) int64 {
		switch rng.Intn(5) {
		case 0:
			return monthStart(s)
		case 1:
			return floorDay(s)
		case 2:
			return s - s%3600
		}
		return s
	}
	for range 20000 {
		from := align(base + rng.Int63n(60*365*daySeconds))
		length := []int64{1, 3600, daySeconds, 40 * daySeconds, 400 * daySeconds, 5 * 365 * daySeconds}[rng.Intn(6)]
		to := max(from, align(from+rng.Int63n(length)+1)-1)
		var cuts []int64
		for range rng.Intn(5) {
			if c := align(from + 1 + rng.Int63n(to-from+1)); c > from && c <= to {
				cuts = append(cuts, c)
			}
		}
		slices.Sort(cuts)
		cuts = slices.Compact(cuts)
		checkPlan(t, from, to, cuts)
		if t.Failed() {
			return
		}
	}
}

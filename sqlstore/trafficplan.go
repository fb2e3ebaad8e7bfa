package sqlstore

import "time"

// What TrafficSums reads (docs/scaling.md, "How traffic totals are stored"). A
// waypoint's billed traffic is kept at three levels: per measurement period
// (traffic_periods), per UTC day of the period's start (traffic_days) and per UTC month
// of it (traffic_months, migration 00009). A total of one level is the sum of the totals
// of the level below whose start falls in it, so a window's traffic may be summed from
// any mix of levels that covers each of its periods once. planTraffic picks the
// coarsest: the whole months of each piece of the window from the month totals, the
// whole days left at the piece's ends from the day totals, and the parts of days that a
// window edge or a price change falls inside from the period totals. A report therefore
// reads at most about two months of day rows and two days of period rows per piece,
// plus one row per month, whatever the length of its window and whatever is stored
// before or after it.

// trafficLevel is a table of traffic totals.
type trafficLevel uint8

const (
	levelMonths trafficLevel = iota
	levelDays
	levelPeriods
)

// trafficRead is a range of one level that TrafficSums reads: the totals whose start lies
// in [lo, hi], summed into piece.
type trafficRead struct {
	level  trafficLevel
	lo, hi int64
	piece  int
}

// planTraffic returns the reads that cover the periods starting in [from, to] (from <=
// to), split at cuts (ascending, inside (from, to]), once each: piece i holds those
// starting at or after cuts[i-1] and before cuts[i]. Reads come by level (months, days,
// periods), then in time order.
func planTraffic(from, to int64, cuts []int64) []trafficRead {
	bounds := make([]int64, 0, len(cuts)+2)
	bounds = append(append(append(bounds, from), cuts...), to+1)
	var byLevel [3][]trafficRead
	add := func(level trafficLevel, lo, end int64, piece int) { // [lo, end)
		if lo < end {
			byLevel[level] = append(byLevel[level], trafficRead{level: level, lo: lo, hi: end - 1, piece: piece})
		}
	}
	for i := 0; i+1 < len(bounds); i++ {
		a, b := bounds[i], bounds[i+1]    // the piece [a, b)
		da, db := ceilDay(a), floorDay(b) // its whole days [da, db)
		if da >= db {
			add(levelPeriods, a, b, i)
			continue
		}
		add(levelPeriods, a, da, i)
		if ma, mb := ceilMonth(da), monthStart(db); ma < mb { // its whole months [ma, mb)
			add(levelDays, da, ma, i)
			add(levelMonths, ma, mb, i)
			add(levelDays, mb, db, i)
		} else {
			add(levelDays, da, db, i)
		}
		add(levelPeriods, db, b, i)
	}
	return append(append(byLevel[levelMonths], byLevel[levelDays]...), byLevel[levelPeriods]...)
}

// floorDay returns the first second of the UTC day holding t, also before 1970 (dayOf
// is for t >= 0).
func floorDay(t int64) int64 {
	r := t % daySeconds
	if r < 0 {
		r += daySeconds
	}
	return t - r
}

// ceilDay returns the first second of the first UTC day that starts at or after t.
func ceilDay(t int64) int64 {
	if d := floorDay(t); d < t {
		return d + daySeconds
	}
	return t
}

// monthStart returns the first second of the UTC month holding t.
func monthStart(t int64) int64 {
	y, m, _ := time.Unix(t, 0).UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix()
}

// ceilMonth returns the first second of the first UTC month that starts at or after t.
func ceilMonth(t int64) int64 {
	if m := monthStart(t); m < t {
		y, mo, _ := time.Unix(m, 0).UTC().Date()
		return time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC).Unix()
	}
	return t
}

package rating

import (
	"math"
	"sort"

	"github.com/cloudmeter/cloudmeter"
)

// Traffic rating (docs/rating.md, "Traffic"). A waypoint reports bytes per direction as
// deltas or as cumulative counter readings. What a sample contributes:
//
//   - a delta contributes its bytes;
//   - a counter reading contributes its increase over the previous counter reading of
//     the same waypoint and direction, in ledger order; the first reading counts from 0
//     (the counter starts at 0 when the waypoint is provisioned);
//   - a counter reading below the previous one is a reset: it contributes its own value
//     (the traffic since the reset), never a negative amount.
//
// Contributions are grouped by the waypoint's measurement period: periods of M seconds
// anchored at the waypoint's provisioning second (period k covers
// [anchor + k*M, anchor + (k+1)*M - 1]). A period is billed when it starts within the
// waypoint's lifetime, and dated by its start for the report window and for the price
// in force.

// Sample is one traffic sample of one waypoint and direction, with its ledger key.
type Sample struct {
	Time       int64
	Source, ID string
	Counter    bool
	Value      int64
}

// SampleLess is the ledger order of the samples of one waypoint and direction: by time,
// then value (readings of one second rise), then source and id. As (source, id) is
// unique it is a total order, so the contributions depend only on the set of samples.
func SampleLess(a, b *Sample) bool {
	if a.Time != b.Time {
		return a.Time < b.Time
	}
	if a.Value != b.Value {
		return a.Value < b.Value
	}
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	return a.ID < b.ID
}

// CounterTraffic is the traffic a counter reading cur contributes after the previous
// reading prev (hasPrev false when there is none): the increase, or cur itself after a
// reset or as the first reading. Never negative for readings >= 0.
func CounterTraffic(prev int64, hasPrev bool, cur int64) int64 {
	if !hasPrev || cur < prev {
		return cur
	}
	return cur - prev
}

// Contributions sorts the samples of one waypoint and direction into ledger order and
// returns what each contributes, in that order.
func Contributions(samples []Sample) []int64 {
	sort.Slice(samples, func(i, j int) bool { return SampleLess(&samples[i], &samples[j]) })
	out := make([]int64, len(samples))
	var prev int64
	hasPrev := false
	for i, s := range samples {
		if !s.Counter {
			out[i] = s.Value
			continue
		}
		out[i] = CounterTraffic(prev, hasPrev, s.Value)
		prev, hasPrev = s.Value, true
	}
	return out
}

// MaxTotalBytes is the most traffic one waypoint may total in one direction over one
// measurement period, and over one UTC day: 2^63-1 bytes (8 EiB), what a signed 64-bit
// total holds. A batch whose samples would take a total past it is refused as invalid
// input, whole; a sum over a longer window that passes it cannot be reported.
const MaxTotalBytes = math.MaxInt64

// AddBytes adds two byte counts (either may be negative: a late counter reading can
// lower what the next reading contributes) and reports whether the sum stays within the
// 64-bit range, [-MaxTotalBytes-1, MaxTotalBytes]. It never wraps.
func AddBytes(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// PeriodStart returns the first second of the measurement period of length period
// (> 0) anchored at anchor that holds t.
func PeriodStart(t, anchor, period int64) int64 {
	d := t - anchor
	k := d / period
	if d%period < 0 {
		k--
	}
	return anchor + k*period
}

// Waypoint is what grouping a waypoint's traffic into periods needs to know.
type Waypoint struct {
	// Anchor is the provisioning second; periods are anchored at it.
	Anchor int64
	// Period is the measurement period in seconds.
	Period int64
	// Deleted is the last second of the waypoint's life, 0 while it lives.
	Deleted int64
}

// WaypointOf returns the grouping of a rated waypoint, or ok false when r is not a
// provisioned waypoint. Samples of a waypoint not (yet) provisioned are grouped by the
// default period anchored at the epoch.
func WaypointOf(r *cloudmeter.Resource) (w Waypoint, ok bool) {
	if r == nil || !r.Type.Waypoint() {
		return Waypoint{Period: cloudmeter.DefaultMeasurementPeriod}, false
	}
	w = Waypoint{Anchor: r.ProvisionedAt, Period: cloudmeter.DefaultMeasurementPeriod, Deleted: r.DeletedAt}
	if p := r.Attributes.MeasurementPeriod; p != nil && *p > 0 {
		w.Period = *p
	}
	return w, true
}

// Billed reports whether the period starting at start is billed: it starts within the
// waypoint's lifetime.
func (w Waypoint) Billed(start int64) bool {
	return start >= w.Anchor && (w.Deleted == 0 || start <= w.Deleted)
}

// Periods meters the samples of one waypoint (any order, both directions) and returns
// the billed traffic of each period by direction, ordered by direction and start.
func Periods(w Waypoint, productID int64, samples map[cloudmeter.Direction][]Sample) []cloudmeter.TrafficPeriod {
	var out []cloudmeter.TrafficPeriod
	for _, dir := range cloudmeter.Directions {
		ss := samples[dir]
		contrib := Contributions(ss)
		byStart := map[int64]*cloudmeter.TrafficPeriod{}
		var starts []int64
		for i, s := range ss {
			p := PeriodStart(s.Time, w.Anchor, w.Period)
			if !w.Billed(p) {
				continue
			}
			tp := byStart[p]
			if tp == nil {
				tp = &cloudmeter.TrafficPeriod{ProductID: productID, Direction: dir, Start: p}
				byStart[p] = tp
				starts = append(starts, p)
			}
			tp.Bytes += contrib[i]
			tp.Samples++
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
		for _, p := range starts {
			out = append(out, *byStart[p])
		}
	}
	return out
}

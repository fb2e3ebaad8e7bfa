package rating_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// genWaypoint draws a waypoint lifetime and period around t0.
func genWaypoint(t *rapid.T) rating.Waypoint {
	w := rating.Waypoint{
		Anchor: t0 + rapid.Int64Range(0, 50).Draw(t, "anchor"),
		Period: rapid.SampledFrom([]int64{1, 7, 60, 3600}).Draw(t, "period"),
	}
	if rapid.Bool().Draw(t, "deleted?") {
		w.Deleted = w.Anchor + rapid.Int64Range(0, 400).Draw(t, "life")
	}
	return w
}

// genDeltas draws delta samples at non-decreasing times, each time distinct per sample
// index so that a counter series built from them has one reading per second.
func genDeltas(t *rapid.T, dir string) []rating.Sample {
	n := rapid.IntRange(0, 30).Draw(t, dir+".n")
	out := make([]rating.Sample, n)
	at := t0
	for i := range out {
		at += rapid.Int64Range(1, 40).Draw(t, fmt.Sprintf("%s.gap%d", dir, i))
		out[i] = rating.Sample{Time: at, Source: "s", ID: fmt.Sprintf("%s-%d", dir, i), Value: rapid.Int64Range(0, 5<<30).Draw(t, fmt.Sprintf("%s.bytes%d", dir, i))}
	}
	return out
}

// countersOf turns deltas into cumulative readings of a counter that starts at 0 and
// is reset where resets says: after a reset the counter restarts from 0, so a reading
// is the sum of the deltas since the last reset.
func countersOf(deltas []rating.Sample, resets map[int]bool) []rating.Sample {
	out := make([]rating.Sample, len(deltas))
	var sum int64
	for i, d := range deltas {
		if resets[i] {
			sum = 0
		}
		sum += d.Value
		out[i] = rating.Sample{Time: d.Time, Source: d.Source, ID: d.ID, Counter: true, Value: sum}
	}
	return out
}

func shuffled(t *rapid.T, ss []rating.Sample, label string) []rating.Sample {
	out := append([]rating.Sample(nil), ss...)
	for i := len(out) - 1; i > 0; i-- {
		j := rapid.IntRange(0, i).Draw(t, fmt.Sprintf("%s.swap%d", label, i))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// TestTrafficDeltaCounterEquivalence: a counter reporting the running sum of a series of
// deltas yields the same period totals as the deltas themselves, also when the counter
// is reset (restarts from 0) at points where the reset shows (the reading falls).
func TestTrafficDeltaCounterEquivalence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWaypoint(t)
		deltas := map[cloudmeter.Direction][]rating.Sample{}
		counters := map[cloudmeter.Direction][]rating.Sample{}
		for _, dir := range cloudmeter.Directions {
			ds := genDeltas(t, string(dir))
			resets := map[int]bool{}
			var sum int64
			for i := range ds {
				// A reset shows when the first reading after it is below the last one.
				if i > 0 && sum > ds[i].Value && rapid.Bool().Draw(t, fmt.Sprintf("%s.reset%d", dir, i)) {
					resets[i] = true
					sum = 0
				}
				sum += ds[i].Value
			}
			deltas[dir], counters[dir] = ds, countersOf(ds, resets)
		}
		want := rating.Periods(w, 1, deltas)
		got := rating.Periods(w, 1, counters)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("counter periods differ from delta periods (-deltas +counters):\n%s", diff)
		}
	})
}

// TestTrafficNeverNegative: whatever readings a counter reports, in whatever order, no
// sample contributes a negative amount, and each contributes at most its reading.
func TestTrafficNeverNegative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "n")
		ss := make([]rating.Sample, n)
		for i := range ss {
			ss[i] = rating.Sample{Time: t0 + rapid.Int64Range(0, 20).Draw(t, fmt.Sprintf("time%d", i)), Source: "s", ID: fmt.Sprint(i),
				Counter: rapid.Float64().Draw(t, fmt.Sprintf("kind%d", i)) < 0.8, Value: rapid.Int64Range(0, 1<<40).Draw(t, fmt.Sprintf("value%d", i))}
		}
		contrib := rating.Contributions(ss)
		for i, c := range contrib {
			if c < 0 || c > ss[i].Value {
				t.Fatalf("sample %+v contributes %d: want 0 to its value", ss[i], c)
			}
		}
	})
}

// TestTrafficOrderFree: the period totals depend only on the set of samples, whatever
// order they are given in, mixed deltas and counters, several readings per second.
func TestTrafficOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWaypoint(t)
		set := map[cloudmeter.Direction][]rating.Sample{}
		other := map[cloudmeter.Direction][]rating.Sample{}
		for _, dir := range cloudmeter.Directions {
			n := rapid.IntRange(0, 30).Draw(t, string(dir)+".n")
			for i := range n {
				set[dir] = append(set[dir], rating.Sample{Time: t0 + rapid.Int64Range(0, 500).Draw(t, fmt.Sprintf("%s.time%d", dir, i)),
					Source: rapid.SampledFrom([]string{"a", "b"}).Draw(t, fmt.Sprintf("%s.source%d", dir, i)), ID: fmt.Sprint(i),
					Counter: rapid.Bool().Draw(t, fmt.Sprintf("%s.counter%d", dir, i)), Value: rapid.Int64Range(0, 1000).Draw(t, fmt.Sprintf("%s.value%d", dir, i))})
			}
			other[dir] = shuffled(t, set[dir], string(dir))
		}
		want := rating.Periods(w, 7, set)
		if diff := cmp.Diff(want, rating.Periods(w, 7, other)); diff != "" {
			t.Fatalf("another order gives other periods:\n%s", diff)
		}
	})
}

// TestTrafficRules pins the rules on small cases.
func TestTrafficRules(t *testing.T) {
	s := func(at int64, counter bool, v int64) rating.Sample {
		return rating.Sample{Time: t0 + at, Source: "s", ID: fmt.Sprint(at, v), Counter: counter, Value: v}
	}
	tests := []struct {
		name    string
		samples []rating.Sample
		want    []int64 // contributions in ledger order
	}{
		{"FirstReadingCountsFromZero", []rating.Sample{s(0, true, 500)}, []int64{500}},
		{"Increase", []rating.Sample{s(0, true, 500), s(10, true, 800)}, []int64{500, 300}},
		{"Reset", []rating.Sample{s(0, true, 500), s(10, true, 800), s(20, true, 100), s(30, true, 150)}, []int64{500, 300, 100, 50}},
		{"ResetToZero", []rating.Sample{s(0, true, 500), s(10, true, 0)}, []int64{500, 0}},
		{"SameReadingTwice", []rating.Sample{s(0, true, 500), s(10, true, 500)}, []int64{500, 0}},
		{"DeltasBesideCounters", []rating.Sample{s(0, true, 500), s(5, false, 7), s(10, true, 800)}, []int64{500, 7, 300}},
		{"LateReadingSplitsAnIncrease", []rating.Sample{s(10, true, 800), s(0, true, 500), s(5, true, 600)}, []int64{500, 100, 200}},
		{"ReadingsOfOneSecondRise", []rating.Sample{s(0, true, 900), s(0, true, 400)}, []int64{400, 500}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, rating.Contributions(tc.samples)); diff != "" {
				t.Errorf("contributions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTrafficPeriods pins period grouping: anchored at the provision, a period counts
// when it starts within the lifetime.
func TestTrafficPeriods(t *testing.T) {
	w := rating.Waypoint{Anchor: t0 + 100, Period: 3600, Deleted: t0 + 100 + 2*3600}
	smp := func(at int64, v int64) rating.Sample {
		return rating.Sample{Time: t0 + at, Source: "s", ID: fmt.Sprint(at), Value: v}
	}
	got := rating.Periods(w, 5, map[cloudmeter.Direction][]rating.Sample{
		cloudmeter.DirectionUpload: {smp(99, 1), smp(100, 2), smp(3699, 4), smp(3700, 8), smp(7300, 16), smp(7301, 32), smp(10900, 64)},
	})
	want := []cloudmeter.TrafficPeriod{
		{ProductID: 5, Direction: "upload", Start: t0 + 100, Bytes: 6, Samples: 2},
		{ProductID: 5, Direction: "upload", Start: t0 + 3700, Bytes: 8, Samples: 1},
		{ProductID: 5, Direction: "upload", Start: t0 + 7300, Bytes: 48, Samples: 2}, // starts at the delete: billed
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("periods (-want +got):\n%s", diff)
	}
	if p := rating.PeriodStart(t0+99, t0+100, 3600); p != t0+100-3600 {
		t.Errorf("PeriodStart before the anchor = %d, want %d", p, t0+100-3600)
	}
}

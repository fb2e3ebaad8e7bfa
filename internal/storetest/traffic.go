package storetest

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// RunTraffic runs the cases of the TrafficStore role: stored periods against the pure
// rating, duplicates, late readings, sums cut at price changes, series, overflow and
// unbilled samples. open must return a new, empty store each time it is called.
func RunTraffic(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"TrafficMatchesPureRating", testTrafficMatchesPureRating},
		{"TrafficDuplicateCountsOnce", testTrafficDuplicate},
		{"TrafficLateReadingTouchesOnlyItsWaypoint", testTrafficLate},
		{"TrafficSumsWindowAndCuts", testTrafficSums},
		{"TrafficSeries", testTrafficSeries},
		{"TrafficOverflowIsRefused", testTrafficOverflow},
		{"UnbilledTraffic", testUnbilledTraffic},
	})
}

// testUnbilledTraffic: samples of a product never provisioned and of an instance are kept
// and listed as unbilled, those of a waypoint are not; a late provision of the first as a
// network makes its samples billed, and they leave the list.
func testUnbilledTraffic(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	mustAppend(t, s, decode(t,
		waypoint("ub-w", 0, 911, 4, 3600),
		prov("ub-i", 0, 912, 4, 40, "instance", "dc-a", `{"server_type_id": 1}`),
		sample("ub-1", 100, 911, "upload", false, 10),
		sample("ub-2", 100, 912, "upload", false, 20), sample("ub-3", 200, 912, "download", true, 30),
		sample("ub-4", 300, 913, "upload", false, 40)))
	got, err := s.UnbilledTraffic(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []cloudmeter.UnbilledTraffic{
		{ProductID: 912, UserID: 4, Type: cloudmeter.ResourceInstance, Samples: 2, First: t0 + 100, Last: t0 + 200},
		{ProductID: 913, Samples: 1, First: t0 + 300, Last: t0 + 300},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UnbilledTraffic (-want +got):\n%s", diff)
	}
	if got, err := s.UnbilledTraffic(ctx, 4); err != nil || len(got) != 1 || got[0].ProductID != 912 {
		t.Errorf("UnbilledTraffic(user 4) = %+v, %v; want product 912 only", got, err)
	}
	mustAppend(t, s, decode(t, waypoint("ub-late", 0, 913, 4, 3600)))
	if got, err := s.UnbilledTraffic(ctx, 0); err != nil || len(got) != 1 || got[0].ProductID != 912 {
		t.Errorf("after the late provision of 913: %+v, %v; want product 912 only", got, err)
	}
	if p := trafficPeriods(t, s, 913); len(p) != 1 || p[0].Bytes != 40 {
		t.Errorf("periods of 913 after its late provision: %+v; want its 40 bytes billed", p)
	}
}

// testTrafficOverflow: samples whose sum does not fit in 64 bits are refused as invalid
// input (never an internal error), and nothing of their batch is stored.
func testTrafficOverflow(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	mustAppend(t, s, decode(t, waypoint("ov-p", 0, 901, 1, 3600)))
	big := int64(1) << 62
	batch := decode(t, sample("ov-1", 10, 901, "upload", false, big), sample("ov-2", 20, 901, "upload", false, big),
		sample("ov-3", 30, 901, "upload", false, big))
	_, err := s.AppendEvents(ctx, batch, rating.Rate)
	if cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
		t.Fatalf("three samples of 2^62 bytes in one period: %v (kind %q); want an invalid-input error", err, cloudmeter.KindOf(err))
	}
	if got := trafficPeriods(t, s, 901); len(got) != 0 {
		t.Errorf("periods after the refused batch: %+v; want none", got)
	}
	evs, err := s.ProductEvents(ctx, 901)
	if err != nil || len(evs) != 1 {
		t.Errorf("product 901 holds %d events (%v) after the refused batch; want only its provision", len(evs), err)
	}
}

// sample is a traffic event of waypoint p: a delta (bytes) or a counter reading.
func sample(id string, s, p int64, dir string, counter bool, v int64) string {
	field := "bytes"
	if counter {
		field = "counter"
	}
	return fmt.Sprintf(`{"specversion": "1.0", "id": %q, "source": "storetest/meter", "type": "cloudmeter.traffic.metered", "time": %q,
		"data": {"product_id": %d, "direction": %q, %q: %d}}`, id, at(s), p, dir, field, v)
}

// waypoint is a provision of network p of user u with a measurement period.
func waypoint(id string, s, p, u int64, period int64) string {
	return prov(id, s, p, u, 30, "network", "dc-a", fmt.Sprintf(`{"measurement_period": %d}`, period))
}

// pureTraffic meters events with the pure rating: the reference for the store.
func pureTraffic(t *testing.T, p int64, events []cloudmeter.Event) []cloudmeter.TrafficPeriod {
	t.Helper()
	r := rating.Meter(p, events)
	w, ok := rating.WaypointOf(r.Resource)
	if !ok {
		t.Fatalf("product %d is not a provisioned waypoint", p)
	}
	samples := map[cloudmeter.Direction][]rating.Sample{}
	for _, e := range events {
		if e.Type == cloudmeter.EventTrafficMetered && e.ProductID == p {
			samples[e.Traffic.Direction] = append(samples[e.Traffic.Direction],
				rating.Sample{Time: e.Time, Source: e.Source, ID: e.ID, Counter: e.Traffic.Counter, Value: e.Traffic.Value})
		}
	}
	return rating.Periods(w, p, samples)
}

func trafficPeriods(t *testing.T, s cloudmeter.Store, p int64) []cloudmeter.TrafficPeriod {
	t.Helper()
	got, err := s.TrafficPeriods(ctxOf(t), p)
	if err != nil {
		t.Fatalf("TrafficPeriods(%d): %v", p, err)
	}
	return got
}

// trafficHistory draws a waypoint's history: provisioned at 1000 with a 3-hour period,
// deleted after 12 hours, counter readings with resets and deltas in both
// directions, some before the provision and after the delete.
func trafficHistory(rng *rand.Rand, p int64) []string {
	evs := []string{waypoint(fmt.Sprintf("%d-p", p), 1000, p, 1, 10800), del(fmt.Sprintf("%d-d", p), 1000+12*3600, p)}
	for _, dir := range []string{"upload", "download"} {
		var counter int64
		for i := range 60 {
			s := int64(i)*1000 + rng.Int63n(1000) - 500
			if rng.Intn(8) == 0 {
				evs = append(evs, sample(fmt.Sprintf("%d-%s-d%d", p, dir, i), s, p, dir, false, rng.Int63n(1<<31)))
				continue
			}
			if rng.Intn(10) == 0 {
				counter = 0 // a reset
			}
			counter += rng.Int63n(1 << 30)
			evs = append(evs, sample(fmt.Sprintf("%d-%s-c%d", p, dir, i), s, p, dir, true, counter))
		}
	}
	return evs
}

// testTrafficMatchesPureRating: whatever the batches and their order (provision last,
// samples late, resends), the stored period totals equal the pure rating of the set.
func testTrafficMatchesPureRating(t *testing.T, s cloudmeter.Store) {
	for seed := int64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewSource(seed))
		p := 500 + seed
		all := decode(t, trafficHistory(rng, p)...)
		want := pureTraffic(t, p, all)
		if len(want) < 10 {
			t.Fatalf("seed %d: only %d periods: the history is too thin to test anything", seed, len(want))
		}
		order := rng.Perm(len(all))
		for start := 0; start < len(order); {
			n := 1 + rng.Intn(12)
			var batch []cloudmeter.Event
			for _, i := range order[start:min(start+n, len(order))] {
				batch = append(batch, all[i])
			}
			if start > 0 && rng.Intn(3) == 0 { // resend an earlier event
				batch = append(batch, all[order[rng.Intn(start)]])
			}
			mustAppend(t, s, batch)
			start += n
		}
		if diff := cmp.Diff(want, trafficPeriods(t, s, p)); diff != "" {
			t.Errorf("seed %d: stored periods differ from the pure rating (-pure +stored):\n%s", seed, diff)
		}
		if got, _ := s.ProductEvents(ctxOf(t), p); len(got) != len(all) {
			t.Errorf("seed %d: ProductEvents = %d events, want all %d, samples included", seed, len(got), len(all))
		}

		// The usual case: the same kind of history in time order, a few samples a batch.
		p2 := 550 + seed
		ordered := decode(t, trafficHistory(rand.New(rand.NewSource(seed)), p2)...)
		sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Time < ordered[j].Time })
		for start := 0; start < len(ordered); start += 7 {
			mustAppend(t, s, ordered[start:min(start+7, len(ordered))])
		}
		if diff := cmp.Diff(pureTraffic(t, p2, ordered), trafficPeriods(t, s, p2)); diff != "" {
			t.Errorf("seed %d, in time order: stored periods differ from the pure rating (-pure +stored):\n%s", seed, diff)
		}
	}
}

// testTrafficDuplicate: a sample sent again (same source and id) is a duplicate and
// counts once.
func testTrafficDuplicate(t *testing.T, s cloudmeter.Store) {
	mustAppend(t, s, decode(t, waypoint("w-p", 0, 601, 1, 3600), sample("s1", 10, 601, "upload", true, 1000), sample("s2", 20, 601, "upload", false, 5)))
	before := trafficPeriods(t, s, 601)
	res := mustAppend(t, s, decode(t, sample("s1", 10, 601, "upload", true, 1000), sample("s2", 20, 601, "upload", false, 5)))
	if res.Accepted != 0 || res.Duplicates != 2 {
		t.Errorf("resend: accepted %d, duplicates %d; want 0 and 2", res.Accepted, res.Duplicates)
	}
	want := []cloudmeter.TrafficPeriod{{ProductID: 601, Direction: "upload", Start: t0, Bytes: 1005, Samples: 2}}
	if diff := cmp.Diff(want, trafficPeriods(t, s, 601)); diff != "" || !cmp.Equal(before, want) {
		t.Errorf("periods after the resend (-want +got):\n%s\nbefore: %+v", diff, before)
	}
}

// testTrafficLate: a late counter reading lands in its own period and moves the increase
// of the next reading out of the next period; no product is re-rated and other waypoints
// are untouched.
func testTrafficLate(t *testing.T, s cloudmeter.Store) {
	mustAppend(t, s, decode(t,
		waypoint("a-p", 0, 701, 1, 3600), waypoint("b-p", 0, 702, 1, 3600),
		sample("a1", 100, 701, "download", true, 1000), sample("a3", 7300, 701, "download", true, 5000),
		sample("b1", 100, 702, "download", true, 1000), sample("b2", 3700, 702, "download", true, 3000)))
	other := trafficPeriods(t, s, 702)
	res := mustAppend(t, s, decode(t, sample("a2", 3700, 701, "download", true, 4000)))
	if res.Accepted != 1 || len(res.Rated) != 0 {
		t.Errorf("late sample: accepted %d, rated %v; want 1 and no product re-rated", res.Accepted, res.Rated)
	}
	want := []cloudmeter.TrafficPeriod{
		{ProductID: 701, Direction: "download", Start: t0, Bytes: 1000, Samples: 1},
		{ProductID: 701, Direction: "download", Start: t0 + 3600, Bytes: 3000, Samples: 1},
		{ProductID: 701, Direction: "download", Start: t0 + 7200, Bytes: 1000, Samples: 1},
	}
	if diff := cmp.Diff(want, trafficPeriods(t, s, 701)); diff != "" {
		t.Errorf("periods after the late reading (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(other, trafficPeriods(t, s, 702)); diff != "" {
		t.Errorf("another waypoint changed (-before +after):\n%s", diff)
	}
	// A reading that arrives late and is a reset: never negative.
	mustAppend(t, s, decode(t, sample("a4", 7250, 701, "download", true, 10)))
	want[2] = cloudmeter.TrafficPeriod{ProductID: 701, Direction: "download", Start: t0 + 7200, Bytes: 10 + 4990, Samples: 2}
	if diff := cmp.Diff(want, trafficPeriods(t, s, 701)); diff != "" {
		t.Errorf("periods after a late reset (-want +got):\n%s", diff)
	}
}

// testTrafficSums: sums over a window cut at price changes equal the pure sums of the
// periods, whatever the cuts (inside a day, on a day boundary) and the window edges.
func testTrafficSums(t *testing.T, s cloudmeter.Store) {
	// Two waypoints of user 1 and one of user 2, 5 days of hourly deltas.
	var evs []string
	for _, w := range []struct{ p, u int64 }{{801, 1}, {802, 1}, {803, 2}} {
		evs = append(evs, waypoint(fmt.Sprint(w.p, "-p"), 0, w.p, w.u, 3600))
		for h := int64(0); h < 5*24; h++ {
			evs = append(evs, sample(fmt.Sprint(w.p, "-u", h), h*3600+60, w.p, "upload", false, w.p*1000+h),
				sample(fmt.Sprint(w.p, "-d", h), h*3600+120, w.p, "download", true, (h+1)*w.p))
		}
	}
	mustAppend(t, s, decode(t, evs...))
	periods := map[int64][]cloudmeter.TrafficPeriod{}
	for _, p := range []int64{801, 802} {
		periods[p] = trafficPeriods(t, s, p)
	}
	day := int64(86400)
	for _, tc := range []struct {
		name     string
		from, to int64
		cuts     []int64
	}{
		{"WholeDays", t0, t0 + 5*day - 1, nil},
		{"CutInsideADay", t0, t0 + 5*day - 1, []int64{t0 + day + 5*3600}},
		{"CutsOnDayBoundaries", t0, t0 + 5*day - 1, []int64{t0 + day, t0 + 3*day}},
		{"WindowInsideDays", t0 + 7*3600 + 17, t0 + 3*day + 2*3600, []int64{t0 + 2*day + 1}},
		{"WindowInsideOneDay", t0 + 3600, t0 + 5*3600, []int64{t0 + 2*3600, t0 + 4*3600}},
		{"CutsOutsideTheWindow", t0 + day, t0 + 2*day - 1, []int64{t0, t0 + 3*day}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.TrafficSums(ctxOf(t), cloudmeter.TrafficQuery{UserID: 1, From: tc.from, To: tc.to, Cuts: tc.cuts})
			if err != nil {
				t.Fatal(err)
			}
			var inside []int64
			for _, c := range tc.cuts {
				if c > tc.from && c <= tc.to {
					inside = append(inside, c)
				}
			}
			want := map[string]int64{}
			for _, p := range []int64{801, 802} {
				for _, tp := range periods[p] {
					if tp.Start < tc.from || tp.Start > tc.to {
						continue
					}
					piece := 0
					for piece < len(inside) && tp.Start >= inside[piece] {
						piece++
					}
					want[fmt.Sprint(p, " ", tp.Direction, " ", piece)] += tp.Bytes
				}
			}
			gotMap := map[string]int64{}
			for _, g := range got {
				gotMap[fmt.Sprint(g.ProductID, " ", g.Direction, " ", g.Piece)] += g.Bytes
			}
			if diff := cmp.Diff(want, gotMap); diff != "" {
				t.Errorf("sums (-want +got):\n%s", diff)
			}
		})
	}
}

// testTrafficSeries: a waypoint's samples by hour and by day of their own time.
func testTrafficSeries(t *testing.T, s cloudmeter.Store) {
	mustAppend(t, s, decode(t, waypoint("w-p", 0, 901, 1, 10800),
		sample("u1", 10, 901, "upload", false, 100), sample("u2", 3599, 901, "upload", false, 20),
		sample("c1", 3600, 901, "download", true, 500), sample("c2", 90000, 901, "download", true, 800),
		sample("u3", 90001, 901, "upload", false, 3)))
	got, err := s.TrafficSeries(ctxOf(t), cloudmeter.TrafficSeriesQuery{ProductID: 901, From: t0, To: t0 + 2*86400, Bucket: 3600})
	if err != nil {
		t.Fatal(err)
	}
	want := []cloudmeter.TrafficPoint{
		{Start: t0, Upload: 120, Samples: 2},
		{Start: t0 + 3600, Download: 500, Samples: 1},
		{Start: t0 + 86400 + 3600, Download: 300, Upload: 3, Samples: 2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hourly series (-want +got):\n%s", diff)
	}
	got, err = s.TrafficSeries(ctxOf(t), cloudmeter.TrafficSeriesQuery{ProductID: 901, From: t0 + 3600, To: t0 + 2*86400, Bucket: 86400})
	if err != nil {
		t.Fatal(err)
	}
	want = []cloudmeter.TrafficPoint{{Start: t0, Download: 500, Samples: 1}, {Start: t0 + 86400, Download: 300, Upload: 3, Samples: 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("daily series from 01:00 (-want +got):\n%s", diff)
	}
}

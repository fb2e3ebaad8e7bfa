package storetest

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
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
		{"TrafficSumsOverMonths", testTrafficSumsOverMonths},
		{"TrafficSumsOfAMonthPastTheLimit", testTrafficMonthOverflow},
		{"TrafficSumsProperty", testTrafficSumsProperty},
		{"TrafficSeries", testTrafficSeries},
		{"TrafficOverflowIsRefused", testTrafficOverflow},
		{"TrafficOverflowAcrossBatchesIsRefused", testTrafficOverflowAcrossBatches},
		{"TrafficOverflowOfDaysRegroupingsAndSums", testTrafficOverflowDaysAndSums},
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

// testTrafficOverflowAcrossBatches (issue 15): samples sent one batch each, whose period
// total would pass 2^63-1 bytes, are refused as invalid input naming the waypoint, the
// direction and the period, and nothing of their batch is stored. Every read of the
// traffic, of that user and of all users, answers afterwards with the totals of the
// samples accepted before. The inputs, each in one hour of one waypoint:
//
//   - 921: two deltas of 2^63-1 bytes;
//   - 922: three deltas of 2^62 bytes (the second already passes 2^63-1);
//   - 923: counter readings 2^63-1, 0 (a reset: 0 bytes), 2^63-1;
//   - 924, never provisioned: two deltas of 2^63-1 bytes (its samples are grouped, and
//     totalled, until its provision arrives).
func testTrafficOverflowAcrossBatches(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	const maxBytes = int64(math.MaxInt64)
	mustAppend(t, s, decode(t, waypoint("ovb-921", 0, 921, 7, 3600), waypoint("ovb-922", 0, 922, 7, 3600), waypoint("ovb-923", 0, 923, 8, 3600),
		sample("ovb-dl", 5, 921, "download", false, 1000)))
	type send struct {
		product int64
		counter bool
		value   int64
		refused bool
	}
	sends := []send{
		{921, false, maxBytes, false}, {921, false, maxBytes, true},
		{922, false, 1 << 62, false}, {922, false, 1 << 62, true}, {922, false, 1 << 62, true},
		{923, true, maxBytes, false}, {923, true, 0, false}, {923, true, maxBytes, true},
		{924, false, maxBytes, false}, {924, false, maxBytes, true},
	}
	for i, sd := range sends {
		batch := decode(t, sample(fmt.Sprint("ovb-s", i), int64(60+i), sd.product, "upload", sd.counter, sd.value))
		_, err := s.AppendEvents(ctx, batch, rating.Rate)
		what := fmt.Sprintf("batch %d (product %d, value %d)", i, sd.product, sd.value)
		if !sd.refused {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			continue
		}
		if cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
			t.Errorf("%s: %v (kind %q); want an invalid-input error", what, err, cloudmeter.KindOf(err))
			continue
		}
		for _, part := range []string{fmt.Sprint(sd.product), "upload", at(0), "2^63-1"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%s: the refusal %q does not name %q", what, err, part)
			}
		}
	}

	// Nothing of a refused batch is stored: each product holds its accepted samples only.
	for p, n := range map[int64]int{921: 3, 922: 2, 923: 3, 924: 1} {
		if evs, err := s.ProductEvents(ctx, p); err != nil || len(evs) != n {
			t.Errorf("ProductEvents(%d) = %d events, %v; want %d (its provision and accepted samples)", p, len(evs), err, n)
		}
	}
	wantPeriods := map[int64][]cloudmeter.TrafficPeriod{
		921: {{ProductID: 921, Direction: "download", Start: t0, Bytes: 1000, Samples: 1}, {ProductID: 921, Direction: "upload", Start: t0, Bytes: maxBytes, Samples: 1}},
		922: {{ProductID: 922, Direction: "upload", Start: t0, Bytes: 1 << 62, Samples: 1}},
		923: {{ProductID: 923, Direction: "upload", Start: t0, Bytes: maxBytes, Samples: 2}},
		924: {{ProductID: 924, Direction: "upload", Start: t0, Bytes: maxBytes, Samples: 1}},
	}
	for p, want := range wantPeriods {
		got, err := s.TrafficPeriods(ctx, p)
		if err != nil {
			t.Errorf("TrafficPeriods(%d): %v", p, err)
		} else if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("TrafficPeriods(%d) (-want +got):\n%s", p, diff)
		}
	}

	// Sums of each user (0 holds the products not provisioned), from the day totals and,
	// with a cut inside the day, from the period totals.
	wantSums := map[int64]map[string]int64{
		7: {"921 download": 1000, "921 upload": maxBytes, "922 upload": 1 << 62},
		8: {"923 upload": maxBytes},
		0: {"924 upload": maxBytes},
	}
	for user, want := range wantSums {
		for _, cuts := range [][]int64{nil, {t0 + 7200}} {
			got, err := s.TrafficSums(ctx, cloudmeter.TrafficQuery{UserID: user, From: t0, To: t0 + 2*86400 - 1, Cuts: cuts})
			if err != nil {
				t.Errorf("TrafficSums(user %d, cuts %v): %v", user, cuts, err)
				continue
			}
			gotMap := map[string]int64{}
			for _, g := range got {
				gotMap[fmt.Sprint(g.ProductID, " ", g.Direction)] += g.Bytes
			}
			if diff := cmp.Diff(want, gotMap); diff != "" {
				t.Errorf("TrafficSums(user %d, cuts %v) (-want +got):\n%s", user, cuts, diff)
			}
		}
	}
	for p, want := range map[int64]int64{921: maxBytes, 922: 1 << 62, 923: maxBytes} {
		for _, bucket := range []int64{3600, 86400} {
			pts, err := s.TrafficSeries(ctx, cloudmeter.TrafficSeriesQuery{ProductID: p, From: t0, To: t0 + 86400, Bucket: bucket})
			if err != nil || len(pts) != 1 || pts[0].Upload != want {
				t.Errorf("TrafficSeries(%d, bucket %d) = %+v, %v; want one point with %d upload bytes", p, bucket, pts, err, want)
			}
		}
	}
	if got, err := s.UnbilledTraffic(ctx, 0); err != nil || len(got) != 1 || got[0].ProductID != 924 || got[0].Samples != 1 {
		t.Errorf("UnbilledTraffic(all users) = %+v, %v; want product 924 with its one accepted sample", got, err)
	}
	for _, user := range []int64{0, 7, 8} {
		if _, err := s.Anomalies(ctx, cloudmeter.AnomalyQuery{UserID: user}); err != nil {
			t.Errorf("Anomalies(user %d): %v", user, err)
		}
		if user > 0 {
			if _, err := s.UnbilledTraffic(ctx, user); err != nil {
				t.Errorf("UnbilledTraffic(user %d): %v", user, err)
			}
			if spans, err := s.Spans(ctx, cloudmeter.SpanQuery{UserID: user, From: t0, To: t0 + 86400}); err != nil || len(spans) == 0 {
				t.Errorf("Spans(user %d) = %d spans, %v; want its waypoints'", user, len(spans), err)
			}
		}
	}
	if got := allSpans(t, s); len(got) != 3 {
		t.Errorf("AllSpans: spans of %d products, want the 3 waypoints", len(got))
	}
}

// testTrafficOverflowDaysAndSums: the limit of 2^63-1 bytes holds for a UTC day's total
// too, and for the totals a late provision regroups samples into (the batch of the
// provision is refused, naming the period); a sum over a window that passes it is
// refused as invalid, naming the waypoint, while a window within it answers.
func testTrafficOverflowDaysAndSums(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	const maxBytes = int64(math.MaxInt64)
	refused := func(what string, err error, parts ...string) {
		t.Helper()
		if cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
			t.Errorf("%s: %v (kind %q); want an invalid-input error", what, err, cloudmeter.KindOf(err))
			return
		}
		for _, part := range append(parts, "2^63-1") {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("%s: the error %q does not name %q", what, err, part)
			}
		}
	}
	mustAppend(t, s, decode(t, waypoint("ovd-931", 0, 931, 9, 3600), sample("ovd-1", 60, 931, "upload", false, maxBytes)))
	_, err := s.AppendEvents(ctx, decode(t, sample("ovd-2", 3660, 931, "upload", false, 1)), rating.Rate)
	refused("one more byte in the next hour of the same UTC day", err, "931", "upload", "2024-01-01")
	mustAppend(t, s, decode(t, sample("ovd-3", 86400+60, 931, "upload", false, maxBytes))) // the next day

	day := int64(86400)
	for _, cuts := range [][]int64{nil, {t0 + day + 7200}} {
		if got, err := s.TrafficSums(ctx, cloudmeter.TrafficQuery{UserID: 9, From: t0, To: t0 + day - 1, Cuts: cuts}); err != nil || len(got) != 1 || got[0].Bytes != maxBytes {
			t.Errorf("TrafficSums(one day, cuts %v) = %+v, %v; want 2^63-1 bytes", cuts, got, err)
		}
		_, err := s.TrafficSums(ctx, cloudmeter.TrafficQuery{UserID: 9, From: t0, To: t0 + 2*day - 1, Cuts: cuts})
		refused(fmt.Sprintf("TrafficSums(two days, cuts %v)", cuts), err, "931", "upload")
	}
	_, err = s.TrafficSeries(ctx, cloudmeter.TrafficSeriesQuery{ProductID: 931, From: t0, To: t0 + 2*day - 1, Bucket: 8 * day}) // one bucket, from t0 - 3 days
	refused("TrafficSeries(an 8-day bucket)", err, "931", "upload")

	// Product 932 meters before its provision: 2^63-1 bytes a minute before and after
	// midnight, in two UTC days and two periods. A provision anchored at 23:30 puts both
	// in one period: refused, and nothing of its batch is stored.
	mustAppend(t, s, decode(t, sample("ovd-4", day-60, 932, "upload", false, maxBytes)))
	mustAppend(t, s, decode(t, sample("ovd-5", day+60, 932, "upload", false, maxBytes)))
	before := trafficPeriods(t, s, 932)
	_, err = s.AppendEvents(ctx, decode(t, waypoint("ovd-932", day-1800, 932, 9, 3600)), rating.Rate)
	refused("a provision regrouping 2 x (2^63-1) bytes into one period", err, "932", "upload", at(day-1800))
	if _, _, err := s.Resource(ctx, 932); cloudmeter.KindOf(err) != cloudmeter.KindNotFound {
		t.Errorf("Resource(932) after its refused provision: %v; want not found", err)
	}
	if diff := cmp.Diff(before, trafficPeriods(t, s, 932)); diff != "" || len(before) != 2 {
		t.Errorf("periods of 932 changed by the refused provision (-before +after):\n%s", diff)
	}
	if got, err := s.UnbilledTraffic(ctx, 0); err != nil || len(got) != 1 || got[0].ProductID != 932 || got[0].Samples != 2 {
		t.Errorf("UnbilledTraffic = %+v, %v; want product 932's 2 samples", got, err)
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

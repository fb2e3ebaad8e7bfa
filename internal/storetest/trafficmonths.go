package storetest

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/rating"
)

// Traffic sums over long windows (issue 10): TrafficSums reads whole months from the
// month totals, the days at a piece's ends from the day totals and the parts of days a
// window edge or a price change cuts from the period totals. These cases hold it equal to
// summing the periods of the pure rating (rating.Periods of every event received), for
// windows that start and end inside months, span year ends and leap days, and are cut at
// price changes on months, days, hours and any second.

// TrafficWindow is a TrafficQuery's window and cuts.
type TrafficWindow struct {
	From, To int64
	Cuts     []int64
}

// trafficWindows are the windows of the fixed cases, for waypoints metered from late
// 2023 to early 2025.
func trafficWindows() []TrafficWindow {
	d := func(y int, m time.Month, day, h, min int) int64 {
		return time.Date(y, m, day, h, min, 0, 0, time.UTC).Unix()
	}
	return []TrafficWindow{
		{d(2024, 1, 1, 0, 0), d(2025, 1, 1, 0, 0) - 1, nil},                               // the year 2024
		{d(2024, 1, 1, 0, 0), d(2025, 1, 1, 0, 0) - 1, []int64{d(2024, 7, 1, 0, 0)}},      // cut on a month
		{d(2023, 12, 16, 0, 0), d(2024, 12, 16, 0, 0) - 1, []int64{d(2024, 12, 1, 0, 0)}}, // 12 months from a 16th
		{d(2023, 11, 25, 10, 30), d(2024, 12, 15, 3, 0), []int64{d(2024, 1, 1, 0, 0), d(2024, 3, 17, 15, 0), d(2024, 7, 1, 0, 0), d(2024, 10, 10, 0, 0)}},
		{d(2023, 12, 20, 0, 0), d(2024, 1, 10, 0, 0) - 1, []int64{d(2024, 1, 1, 0, 0)}},                     // across the year end
		{d(2023, 12, 31, 23, 0), d(2024, 1, 1, 1, 0) - 1, nil},                                              // two hours across it
		{d(2024, 2, 1, 0, 0), d(2024, 3, 1, 0, 0) - 1, nil},                                                 // a leap February
		{d(2024, 2, 29, 0, 0), d(2024, 4, 1, 0, 0) - 1, []int64{d(2024, 3, 1, 0, 0) + 1}},                   // from a leap day, cut a second into March
		{d(2024, 3, 1, 0, 0) + 1, d(2024, 9, 30, 23, 59) + 59, []int64{d(2024, 6, 15, 12, 0)}},              // a second after a month starts
		{d(2024, 5, 5, 5, 5), d(2024, 5, 5, 5, 5), nil},                                                     // one second
		{d(2022, 1, 1, 0, 0), d(2026, 1, 1, 0, 0) - 1, []int64{d(2023, 12, 1, 0, 0), d(2024, 12, 1, 0, 0)}}, // past all traffic
		{d(2024, 6, 1, 0, 0), d(2024, 6, 30, 0, 0), []int64{d(2024, 6, 2, 0, 0), d(2024, 6, 3, 7, 0), d(2024, 6, 29, 0, 0)}},
	}
}

// sumsByPiece sums the periods of the waypoints that start in w, by product, direction
// and piece, exactly; the keys are "product direction piece".
func sumsByPiece(periods []cloudmeter.TrafficPeriod, w TrafficWindow) map[string]*big.Int {
	out := map[string]*big.Int{}
	for _, tp := range periods {
		if tp.Start < w.From || tp.Start > w.To {
			continue
		}
		piece := 0
		for _, c := range w.Cuts {
			if c > w.From && c <= w.To && tp.Start >= c {
				piece++
			}
		}
		k := fmt.Sprint(tp.ProductID, " ", tp.Direction, " ", piece)
		if out[k] == nil {
			out[k] = new(big.Int)
		}
		out[k].Add(out[k], big.NewInt(tp.Bytes))
	}
	return out
}

// CheckTrafficSums says how TrafficSums of user over w differs from summing periods (the
// user's waypoints' periods, from the pure rating): the same sums per product, direction
// and piece, or, when one of them passes 2^63-1 bytes, an invalid-input error naming a
// waypoint. It returns nil when they agree.
func CheckTrafficSums(ctx context.Context, s cloudmeter.Store, user int64, periods []cloudmeter.TrafficPeriod, w TrafficWindow) error {
	what := fmt.Sprintf("TrafficSums(user %d, %s to %s, cuts %v)", user, cloudmeter.FormatTime(w.From), cloudmeter.FormatTime(w.To), w.Cuts)
	want := sumsByPiece(periods, w)
	var over []string
	for k, v := range want {
		if !v.IsInt64() {
			over = append(over, k)
		}
	}
	got, err := s.TrafficSums(ctx, cloudmeter.TrafficQuery{UserID: user, From: w.From, To: w.To, Cuts: w.Cuts})
	if len(over) > 0 {
		if cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.Contains(err.Error(), "2^63-1") {
			return fmt.Errorf("%s = %v, %v; want an invalid-input error: %v pass 2^63-1 bytes", what, got, err, over)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	wantMap, gotMap := map[string]int64{}, map[string]int64{}
	for k, v := range want {
		wantMap[k] = v.Int64()
	}
	for _, g := range got {
		k := fmt.Sprint(g.ProductID, " ", g.Direction, " ", g.Piece)
		if _, dup := gotMap[k]; dup {
			return fmt.Errorf("%s: %s returned twice", what, k)
		}
		gotMap[k] = g.Bytes
	}
	if diff := cmp.Diff(wantMap, gotMap); diff != "" {
		return fmt.Errorf("%s (-periods of the pure rating +stored):\n%s", what, diff)
	}
	return nil
}

// pureWaypointPeriods meters each product of byProduct from scratch (only provisioned
// waypoints have billed periods).
func pureWaypointPeriods(byProduct map[int64][]cloudmeter.Event) []cloudmeter.TrafficPeriod {
	var out []cloudmeter.TrafficPeriod
	for p, evs := range byProduct {
		r := rating.Rate(p, evs)
		if _, ok := rating.WaypointOf(r.Resource); ok {
			out = append(out, trafficOf(p, r, evs)...)
		}
	}
	return out
}

// testTrafficSumsOverMonths: the waypoints of trafficHistoryEvents (users 51 and 52),
// received in batches, mostly in order and some late: TrafficSums over each window of
// trafficWindows equals the sums of the pure rating's periods; and again after a late
// provision regroups a waypoint's history (its samples were grouped by the default
// until then), and after a change of measurement period and a late reset.
func testTrafficSumsOverMonths(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	d := func(y int, m time.Month, day, h int) int64 {
		return time.Date(y, m, day, h, 0, 0, 0, time.UTC).Unix() - t0
	}
	all := trafficHistoryEvents(rand.New(rand.NewSource(10)), 1101, "mo", 51, 52)
	var lateProvision string
	for i, e := range all {
		if strings.Contains(e, `"mo1103-p"`) {
			lateProvision = e // sent last
			all = slices.Delete(all, i, i+1)
			break
		}
	}
	if lateProvision == "" {
		t.Fatal("no provision of 1103")
	}
	evs := decode(t, all...)
	for start := 0; start < len(evs); start += 400 {
		mustAppend(t, s, evs[start:min(start+400, len(evs))])
	}
	byProduct := map[int64][]cloudmeter.Event{}
	record := func(evs []cloudmeter.Event) {
		for _, e := range evs {
			byProduct[e.ProductID] = append(byProduct[e.ProductID], e)
		}
	}
	record(evs)
	check := func(when string) {
		t.Helper()
		periods := pureWaypointPeriods(byProduct)
		var mine, theirs []cloudmeter.TrafficPeriod
		for _, tp := range periods {
			if tp.ProductID == 1104 {
				theirs = append(theirs, tp)
			} else {
				mine = append(mine, tp)
			}
		}
		if len(mine) < 1000 || len(theirs) < 500 {
			t.Fatalf("%s: %d and %d periods: the history is too thin to test anything", when, len(mine), len(theirs))
		}
		for _, w := range trafficWindows() {
			if err := CheckTrafficSums(ctx, s, 51, mine, w); err != nil {
				t.Errorf("%s: %v", when, err)
			}
			if err := CheckTrafficSums(ctx, s, 52, theirs, w); err != nil {
				t.Errorf("%s: %v", when, err)
			}
		}
	}
	check("1103 not provisioned")
	more := decode(t, lateProvision)
	mustAppend(t, s, more)
	record(more)
	check("after 1103's late provision")
	more = decode(t, change("1101-c", d(2024, 6, 1, 0), 1101, `{"measurement_period": 7200}`))
	more = append(more, TrafficHistoryLater(t, 1101, "mo")...)
	mustAppend(t, s, more)
	record(more)
	check("after 1101's new measurement period and late samples")
}

// testTrafficMonthOverflow: a month may total more than 2^63-1 bytes (the limit is per
// period and per day): ingest accepts it, a sum over the whole month is refused naming
// the waypoint while sums over its parts answer; a late reading that lowers a day's
// total lowers the month's, and sums over the month answer again, exactly.
func testTrafficMonthOverflow(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	d := func(m time.Month, day, h int) int64 { return time.Date(2024, m, day, h, 0, 0, 0, time.UTC).Unix() - t0 }
	const maxBytes = int64(math.MaxInt64)
	sums := func(from, to int64, cuts ...int64) ([]cloudmeter.TrafficSum, error) {
		return s.TrafficSums(ctx, cloudmeter.TrafficQuery{UserID: 12, From: t0 + from, To: t0 + to, Cuts: cuts})
	}
	bytesOf := func(what string, got []cloudmeter.TrafficSum, err error) []int64 {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return nil
		}
		var out []int64
		for _, g := range got {
			out = append(out, g.Bytes)
		}
		return out
	}
	refused := func(what string, got []cloudmeter.TrafficSum, err error) {
		t.Helper()
		if cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.Contains(err.Error(), "1201") || !strings.Contains(err.Error(), "2^63-1") {
			t.Errorf("%s = %v, %v; want an invalid-input error naming waypoint 1201", what, got, err)
		}
	}
	mustAppend(t, s, decode(t, waypoint("mo-p", d(5, 1, 0), 1201, 12, 3600),
		sample("mo-1", d(5, 3, 10), 1201, "upload", false, 1<<62),
		sample("mo-2", d(5, 20, 10), 1201, "upload", true, 1<<62))) // the first reading: 2^62
	may, june := d(5, 1, 0), d(6, 1, 0)
	got, err := sums(may, june-1)
	refused("the whole of May (2^63 bytes)", got, err)
	got, err = sums(may, d(5, 10, 0)-1)
	if b := bytesOf("May 1 to 9", got, err); !slices.Equal(b, []int64{1 << 62}) {
		t.Errorf("May 1 to 9: %v, want [2^62]", b)
	}
	got, err = sums(may, june-1, t0+d(5, 15, 0))
	if b := bytesOf("May, cut on the 15th", got, err); !slices.Equal(b, []int64{1 << 62, 1 << 62}) {
		t.Errorf("May, cut on the 15th: %v, want [2^62 2^62]", b)
	}
	got, err = sums(d(4, 1, 0), d(7, 1, 0)-1)
	refused("April to June", got, err)

	// A late reading before the provision (not billed) precedes the one of May 20, which
	// now adds only 10 bytes; then 2^32-1 and 1 bytes, carried into the month's high half.
	mustAppend(t, s, decode(t, sample("mo-3", d(4, 30, 0), 1201, "upload", true, 1<<62-10)))
	mustAppend(t, s, decode(t, sample("mo-4", d(5, 21, 0), 1201, "upload", false, 1<<32-1), sample("mo-5", d(5, 22, 0), 1201, "upload", false, 1)))
	got, err = sums(may, june-1)
	if b := bytesOf("May after the late reading", got, err); !slices.Equal(b, []int64{1<<62 + 10 + 1<<32}) {
		t.Errorf("May after the late reading: %v, want [2^62 + 2^32 + 10]", b)
	}

	// June: 2^63-1 bytes on each of two days. Each day answers; the month, the year and a
	// window that holds both days are refused; May and July still answer.
	mustAppend(t, s, decode(t, sample("mo-6", d(6, 1, 5), 1201, "upload", false, maxBytes)))
	mustAppend(t, s, decode(t, sample("mo-7", d(6, 30, 23), 1201, "upload", false, maxBytes)))
	mustAppend(t, s, decode(t, sample("mo-8", d(7, 4, 0), 1201, "upload", false, 7)))
	got, err = sums(june, d(6, 2, 0)-1)
	if b := bytesOf("June 1", got, err); !slices.Equal(b, []int64{maxBytes}) {
		t.Errorf("June 1: %v, want [2^63-1]", b)
	}
	for _, w := range [][2]int64{{june, d(7, 1, 0) - 1}, {d(1, 1, 0), d(12, 31, 0)}, {d(5, 31, 12), d(7, 1, 1)}} {
		got, err := sums(w[0], w[1])
		refused(fmt.Sprintf("%s to %s", at(w[0]), at(w[1])), got, err)
	}
	got, err = sums(may, june-1)
	if b := bytesOf("May", got, err); !slices.Equal(b, []int64{1<<62 + 10 + 1<<32}) {
		t.Errorf("May: %v, want [2^62 + 2^32 + 10]", b)
	}
	got, err = sums(d(7, 1, 0), d(8, 1, 0)-1)
	if b := bytesOf("July", got, err); !slices.Equal(b, []int64{7}) {
		t.Errorf("July: %v, want [7]", b)
	}
}

// testTrafficSumsProperty: for random waypoints (provisioned and deleted anywhere from
// October 2023 to March 2025, any measurement period, some changed), random samples
// (deltas and counter readings from a few bytes to 2^56, many around 2^32, before the
// provision and after the delete too), received in random order and batches with
// resends, TrafficSums over random windows (a second to 500 days, on months, days, hours
// or any second) with random cuts equals the sums of the pure rating's periods after
// every batch. Each rapid case has users and products of its own, drawn uniformly from a
// seed (rapid draws integers small first, which would leave long windows and late
// months untried); the number of cases is rapid's (-rapid.checks, 100 by default),
// logged with the windows checked and how many of them read month totals.
func testTrafficSumsProperty(tt *testing.T, s cloudmeter.Store) {
	ctx := tt.Context()
	var cases, windows, monthly, refusedBatches int
	next := int64(800000)
	day := int64(86400)
	rapid.Check(tt, func(t *rapid.T) {
		cases++
		next += 10
		user := next
		rng := rand.New(rand.NewSource(rapid.Int64().Draw(t, "seed")))
		between := func(lo, hi int64) int64 { return lo + rng.Int63n(hi-lo+1) }
		src := fmt.Sprintf("prop/%d", next)
		var raw []string
		id := 0
		ev := func(typ string, s int64, data string) {
			id++
			raw = append(raw, fmt.Sprintf(`{"specversion": "1.0", "id": "e%d", "source": %q, "type": %q, "time": %q, "data": %s}`, id, src, typ, at(s), data))
		}
		products := []int64{next + 1, next + 2, next + 3, next + 4} // the last of user+1
		for i, p := range products {
			u := user
			if i == 3 {
				u = user + 1
			}
			prov := between(-90*day, 400*day)
			period := []int64{600, 3600, 7213, 10800, 86400, 90000}[rng.Intn(6)]
			ev("cloudmeter.resource.provisioned", prov, fmt.Sprintf(`{"product_id": %d, "resource_type": %q, "user_id": %d, "infrastructure_id": %d,
				"infrastructure_label": "i", "datacenter": "dc-a", "label": "w", "subdomain": "w.example", "attributes": {"measurement_period": %d}}`,
				p, []string{"network", "data_lake"}[rng.Intn(2)], u, u, period))
			if rng.Intn(4) == 0 {
				ev("cloudmeter.resource.deleted", prov+between(0, 300*day), fmt.Sprintf(`{"product_id": %d}`, p))
			}
			if rng.Intn(5) == 0 {
				ev("cloudmeter.resource.changed", prov+between(0, 100*day),
					fmt.Sprintf(`{"product_id": %d, "attributes": {"measurement_period": %d}}`, p, []int64{3600, 86400}[rng.Intn(2)]))
			}
			for range rng.Intn(60) {
				var v int64
				switch rng.Intn(4) {
				case 0:
					v = between(0, 1000)
				case 1:
					v = 1<<32 + between(-3, 3)
				case 2:
					v = between(0, 1<<40)
				default:
					v = between(0, 1<<56)
				}
				kind := "bytes"
				if rng.Intn(2) == 0 {
					kind = "counter"
				}
				ev("cloudmeter.traffic.metered", prov+between(-3*day, 420*day), fmt.Sprintf(`{"product_id": %d, "direction": %q, %q: %d}`,
					p, []string{"upload", "download"}[rng.Intn(2)], kind, v))
			}
		}
		evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", []byte("["+strings.Join(raw, ",\n")+"]"), ledger.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		align := func(s int64) int64 {
			abs := t0 + s
			switch rng.Intn(4) {
			case 0:
				y, m, _ := time.Unix(abs, 0).UTC().Date()
				abs = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix()
			case 1:
				abs -= abs % day
			case 2:
				abs -= abs % 3600
			}
			return abs
		}
		drawWindow := func() TrafficWindow {
			from := align(between(-100*day, 820*day))
			length := []int64{1, 3600, day, 20 * day, 45 * day, 200 * day, 500 * day}[rng.Intn(7)]
			to := max(from, align(from-t0+between(1, length))-1)
			var cuts []int64
			for range rng.Intn(4) {
				cuts = append(cuts, align(from-t0+between(1, to-from+1)))
			}
			slices.Sort(cuts)
			return TrafficWindow{From: from, To: to, Cuts: slices.Compact(cuts)}
		}
		byProduct := map[int64][]cloudmeter.Event{}
		var accepted []cloudmeter.Event
		order := slices.Clone(evs)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for len(order) > 0 {
			n := 1 + rng.Intn(min(len(order), 50))
			batch := slices.Clone(order[:n])
			order = order[n:]
			if len(accepted) > 0 && rng.Intn(5) == 0 {
				batch = append(batch, accepted[rng.Intn(len(accepted))])
			}
			res, err := s.AppendEvents(ctx, batch, rating.Rate)
			switch {
			case cloudmeter.KindOf(err) == cloudmeter.KindInvalid: // a total past 2^63-1 bytes: nothing stored
				refusedBatches++
				continue
			case err != nil:
				t.Fatalf("AppendEvents: %v", err)
			case len(res.Conflicts) > 0:
				t.Fatalf("AppendEvents: conflicts %+v", res.Conflicts)
			}
			for _, e := range batch {
				if !slices.ContainsFunc(accepted, func(a cloudmeter.Event) bool { return a.Source == e.Source && a.ID == e.ID }) {
					accepted = append(accepted, e)
					byProduct[e.ProductID] = append(byProduct[e.ProductID], e)
				}
			}
			periods := pureWaypointPeriods(byProduct)
			var mine, theirs []cloudmeter.TrafficPeriod
			for _, tp := range periods {
				if tp.ProductID == products[3] {
					theirs = append(theirs, tp)
				} else {
					mine = append(mine, tp)
				}
			}
			for range 1 + rng.Intn(2) {
				w := drawWindow()
				windows++
				if wholeMonth(w) {
					monthly++
				}
				if err := CheckTrafficSums(ctx, s, user, mine, w); err != nil {
					t.Fatal(err)
				}
				if err := CheckTrafficSums(ctx, s, user+1, theirs, w); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	tt.Logf("%d cases, %d windows checked against the pure rating (%d holding a whole month between cuts), %d batches refused (a total past 2^63-1 bytes)",
		cases, windows, monthly, refusedBatches)
}

// wholeMonth reports whether a piece of w holds a whole UTC month.
func wholeMonth(w TrafficWindow) bool {
	bounds := append(append([]int64{w.From}, w.Cuts...), w.To+1)
	for i := 0; i+1 < len(bounds); i++ {
		y, m, _ := time.Unix(bounds[i]-1, 0).UTC().Date()
		next := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC) // the first month start after bounds[i]-1
		if next.AddDate(0, 1, 0).Unix() <= bounds[i+1] {
			return true
		}
	}
	return false
}

package storetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/rating"
)

// RunIncremental runs the property that storage rates incrementally what rating the
// whole set gives (sqlstore's chunks.go): for random histories of a product, arrival
// orders and batches, traffic samples included, after every batch the store holds the
// product's view, spans, anomalies and traffic periods that rating.Rate and
// rating.Periods give for all its events received so far, and every window of Spans
// returns the spans of that rating that overlap it. Histories stretch over several
// months and hold long runs of changes, so that spans are kept in several chunks and
// late events land in any of them. At the end, Rerate gives every product the same.
//
// Each rapid case rates products of its own in one store per engine. The number of cases
// is rapid's (-rapid.checks, 100 by default); the subtest logs it.
func RunIncremental(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"IncrementalRatingIsFromScratch", testIncremental},
	})
}

// incrementalDay is one day in seconds.
const incrementalDay = 86400

// ledgerEvent renders one CloudEvent of the property's histories.
func ledgerEvent(src, id, typ string, s int64, data string) string {
	return fmt.Sprintf(`{"specversion": "1.0", "id": %q, "source": %q, "type": %q, "time": %q, "data": %s}`, id, src, typ, at(s), data)
}

// genAttrs draws the attributes object of a provision (initial) or a change of typ,
// sometimes with an attribute of another type.
func genAttrs(t *rapid.T, typ string, initial bool, label string) string {
	var parts []string
	set := func(name string) bool { return initial || rapid.Bool().Draw(t, label+"."+name+"?") }
	for len(parts) == 0 {
		switch typ {
		case "instance":
			if set("server_type_id") {
				parts = append(parts, fmt.Sprintf(`"server_type_id": %d`, rapid.IntRange(1, 3).Draw(t, label+".server_type_id")))
			}
			if set("server_type_name") {
				parts = append(parts, fmt.Sprintf(`"server_type_name": %q`, rapid.SampledFrom([]string{"M.8.8", "M.16.16"}).Draw(t, label+".server_type_name")))
			}
		case "drive":
			if set("drive_size_mbytes") {
				parts = append(parts, fmt.Sprintf(`"drive_size_mbytes": %d`, 1024*rapid.IntRange(1, 3).Draw(t, label+".drive_size_mbytes")))
			}
			if set("storage_type") {
				parts = append(parts, fmt.Sprintf(`"storage_type": %q`, rapid.SampledFrom([]string{"ssd", "hdd"}).Draw(t, label+".storage_type")))
			}
		case "network":
			parts = append(parts, fmt.Sprintf(`"measurement_period": %d`, rapid.SampledFrom([]int{3600, 86400}).Draw(t, label+".measurement_period")))
		}
		if rapid.IntRange(0, 6).Draw(t, label+".foreign?") == 0 {
			parts = append(parts, fmt.Sprintf(`"stored_gbytes": %d`, rapid.IntRange(1, 3).Draw(t, label+".stored_gbytes")))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// genProductLedger draws the events of product p (of users u+1 .. u+3) as CloudEvents:
// provisions, changes, power events, deletes and traffic samples, at seconds drawn from
// a few months (often the same second), sometimes with a long run of power events that
// fills chunks.
func genProductLedger(t *rapid.T, p, u int64) ([]cloudmeter.Event, error) {
	typ := rapid.SampledFrom([]string{"instance", "instance", "drive", "network"}).Draw(t, "type")
	months := rapid.Int64Range(1, 4).Draw(t, "months")
	var seconds []int64 // the seconds events fall on: few, so that many share one
	for range rapid.IntRange(1, 24).Draw(t, "seconds") {
		seconds = append(seconds, rapid.Int64Range(-incrementalDay, months*31*incrementalDay).Draw(t, "second"))
	}
	when := func() int64 { return rapid.SampledFrom(seconds).Draw(t, "at") }
	src := func() string { return rapid.SampledFrom([]string{"prov-a", "prov-b"}).Draw(t, "source") }
	n := 0
	id := func() string { n++; return fmt.Sprintf("p%d-e%03d", p, n) }
	var raw []string
	provision := func(s int64) {
		e := id()
		raw = append(raw, ledgerEvent(src(), e, "cloudmeter.resource.provisioned", s, fmt.Sprintf(`{"product_id": %d, "resource_type": %q,
			"user_id": %d, "infrastructure_id": %d, "infrastructure_label": "infra-%d", "datacenter": "dc-a", "label": "product-%d",
			"subdomain": "product-%d.example", "exclude_billing": %v, "attributes": %s}`, p, typ, u+rapid.Int64Range(1, 3).Draw(t, "user"),
			u, u, p, p, rapid.IntRange(0, 5).Draw(t, "exclude_billing") == 0, genAttrs(t, typ, true, e))))
	}
	lifecycle := func(kind string, s int64, extra string) {
		raw = append(raw, ledgerEvent(src(), id(), "cloudmeter.resource."+kind, s, fmt.Sprintf(`{"product_id": %d%s}`, p, extra)))
	}
	if rapid.IntRange(0, 9).Draw(t, "provisioned") < 8 {
		provision(rapid.Int64Range(-incrementalDay, 3*incrementalDay).Draw(t, "provision_at"))
	}
	for range rapid.IntRange(0, 30).Draw(t, "events") {
		switch rapid.IntRange(0, 11).Draw(t, "kind") {
		case 0:
			provision(when())
		case 1, 2, 3:
			e := fmt.Sprintf("p%d-e%03d", p, n+1)
			lifecycle("changed", when(), `, "attributes": `+genAttrs(t, typ, false, e))
		case 4:
			lifecycle("stopped", when(), "")
		case 5:
			lifecycle("stopped", when(), `, "state": "hibernated"`)
		case 6, 7:
			lifecycle("started", when(), "")
		case 8:
			lifecycle("deleted", when(), "")
		default:
			kind := `"bytes"`
			if rapid.Bool().Draw(t, "counter") {
				kind = `"counter"`
			}
			raw = append(raw, ledgerEvent(src(), id(), "cloudmeter.traffic.metered", when(), fmt.Sprintf(`{"product_id": %d, "direction": %q, %s: %d}`,
				p, rapid.SampledFrom([]string{"upload", "download"}).Draw(t, "direction"), kind, rapid.Int64Range(0, 1<<30).Draw(t, "value"))))
		}
	}
	if rapid.Bool().Draw(t, "run?") { // a run of power events: more spans than a chunk holds
		s := rapid.Int64Range(0, months*31*incrementalDay).Draw(t, "run.start")
		for i := range rapid.IntRange(60, 150).Draw(t, "run.length") {
			kind := "stopped"
			if i%2 == 1 {
				kind = "started"
			}
			s += rapid.Int64Range(1, 3600).Draw(t, "run.gap")
			lifecycle(kind, s, "")
		}
	}
	if len(raw) == 0 {
		return nil, nil
	}
	return ledger.DecodeBatch("application/cloudevents-batch+json", []byte("["+strings.Join(raw, ",\n")+"]"), ledger.Limits{})
}

// genBatches draws the order and batches events arrive in: shuffled, or in ledger order
// with some events late.
func genBatches(t *rapid.T, evs []cloudmeter.Event) [][]cloudmeter.Event {
	var order []cloudmeter.Event
	if rapid.IntRange(0, 2).Draw(t, "shuffled?") == 0 {
		order = rapid.Permutation(evs).Draw(t, "order")
	} else {
		order = slices.Clone(evs)
		sort.SliceStable(order, func(i, j int) bool {
			return rating.KeyOf(&order[i]).Compare(rating.KeyOf(&order[j])) < 0
		})
		for range rapid.IntRange(0, 10).Draw(t, "late") {
			if len(order) < 2 {
				break
			}
			i := rapid.IntRange(0, len(order)-2).Draw(t, "late.from")
			j := rapid.IntRange(i+1, len(order)-1).Draw(t, "late.to")
			e := order[i]
			order = slices.Insert(slices.Delete(order, i, i+1), j, e)
		}
	}
	var out [][]cloudmeter.Event
	for len(order) > 0 {
		n := rapid.IntRange(1, len(order)).Draw(t, "batch")
		if rapid.IntRange(0, 3).Draw(t, "small?") > 0 {
			n = min(n, rapid.IntRange(1, 8).Draw(t, "small"))
		}
		out = append(out, order[:n])
		order = order[n:]
	}
	return out
}

// trafficOf meters a product's samples from scratch, grouped as its rating says.
func trafficOf(p int64, r cloudmeter.Rating, events []cloudmeter.Event) []cloudmeter.TrafficPeriod {
	w, _ := rating.WaypointOf(r.Resource)
	samples := map[cloudmeter.Direction][]rating.Sample{}
	for _, e := range events {
		if e.Type == cloudmeter.EventTrafficMetered {
			samples[e.Traffic.Direction] = append(samples[e.Traffic.Direction],
				rating.Sample{Time: e.Time, Source: e.Source, ID: e.ID, Counter: e.Traffic.Counter, Value: e.Traffic.Value})
		}
	}
	return rating.Periods(w, p, samples)
}

var emptyIsNil = cmpopts.EquateEmpty()

// incrementalMonths are the first seconds of the months the histories fall in, and of the
// month after.
var incrementalMonths = func() []int64 {
	var out []int64
	for m := range 7 {
		out = append(out, time.Date(2023, 12+time.Month(m), 1, 0, 0, 0, 0, time.UTC).Unix())
	}
	return out
}()

// compareStored says how what the store holds of product p (of users u+1 .. u+3) differs
// from rating events, all its events received, from scratch: its view and spans, its
// anomalies, its traffic periods when it is a waypoint, and its spans in windows of each
// user (whole months, months from their 16th, and everything).
func compareStored(ctx context.Context, s cloudmeter.Store, p, u int64, events []cloudmeter.Event) error {
	return CompareRating(ctx, s, p, []int64{u + 1, u + 2, u + 3}, events)
}

// CompareRating says how what the store holds of product p differs from rating events,
// every event of it, from scratch: its view and spans, its anomalies, its traffic
// periods when it is a waypoint, and the spans of each of users (who may own it) in
// windows of the months December 2023 to May 2024 (whole months, months from their
// 16th, and everything). It returns nil when they agree.
func CompareRating(ctx context.Context, s cloudmeter.Store, p int64, users []int64, events []cloudmeter.Event) error {
	want := rating.Rate(p, events)
	res, spans, err := s.Resource(ctx, p)
	switch {
	case want.Resource == nil:
		if cloudmeter.KindOf(err) != cloudmeter.KindNotFound {
			return fmt.Errorf("Resource(%d) of a product never provisioned: %v, want not found", p, err)
		}
	case err != nil:
		return fmt.Errorf("Resource(%d): %v", p, err)
	default:
		if diff := cmp.Diff(*want.Resource, res); diff != "" {
			return fmt.Errorf("Resource(%d) (-from scratch +stored):\n%s", p, diff)
		}
		if diff := cmp.Diff(want.Spans, spans, emptyIsNil); diff != "" {
			return fmt.Errorf("Resource(%d) spans (-from scratch +stored):\n%s", p, diff)
		}
	}
	an, err := s.Anomalies(ctx, cloudmeter.AnomalyQuery{ProductID: p})
	if err != nil {
		return fmt.Errorf("Anomalies(%d): %v", p, err)
	}
	if diff := cmp.Diff(want.Anomalies, an, emptyIsNil); diff != "" {
		return fmt.Errorf("Anomalies(%d) (-from scratch +stored):\n%s", p, diff)
	}
	if _, ok := rating.WaypointOf(want.Resource); ok {
		got, err := s.TrafficPeriods(ctx, p)
		if err != nil {
			return fmt.Errorf("TrafficPeriods(%d): %v", p, err)
		}
		if diff := cmp.Diff(trafficOf(p, want, events), got, emptyIsNil); diff != "" {
			return fmt.Errorf("TrafficPeriods(%d) (-from scratch +stored):\n%s", p, diff)
		}
	}
	type window struct{ from, to int64 }
	windows := []window{{incrementalMonths[0] - 1<<40, incrementalMonths[len(incrementalMonths)-1] + 1<<40}}
	for i := range len(incrementalMonths) - 1 {
		windows = append(windows, window{incrementalMonths[i], incrementalMonths[i+1] - 1},
			window{incrementalMonths[i] + 15*incrementalDay, incrementalMonths[i+1] + 15*incrementalDay - 1})
	}
	for _, user := range users {
		for _, w := range windows {
			all, err := s.Spans(ctx, cloudmeter.SpanQuery{UserID: user, From: w.from, To: w.to})
			if err != nil {
				return fmt.Errorf("Spans(user %d, [%s, %s]): %v", user, cloudmeter.FormatTime(max(w.from, 0)), cloudmeter.FormatTime(w.to), err)
			}
			var got []cloudmeter.Span
			for _, sp := range all {
				if sp.ProductID == p {
					got = append(got, sp)
				}
			}
			var exp []cloudmeter.Span
			if want.Resource != nil && want.Resource.UserID == user {
				for _, sp := range want.Spans {
					if sp.Start <= w.to && sp.End >= w.from {
						exp = append(exp, sp)
					}
				}
			}
			if diff := cmp.Diff(exp, got, emptyIsNil); diff != "" {
				return fmt.Errorf("Spans(user %d, [%s, %s]) (-from scratch +stored):\n%s", user, cloudmeter.FormatTime(max(w.from, 0)),
					cloudmeter.FormatTime(w.to), diff)
			}
		}
	}
	return nil
}

func testIncremental(tt *testing.T, s cloudmeter.Store) {
	ctx := tt.Context() // as many cases as -rapid.checks asks for: no deadline
	var cases, batches, late int
	next := int64(700000)
	products := map[int64][]cloudmeter.Event{}
	rapid.Check(tt, func(t *rapid.T) {
		cases++
		next += 10
		p, u := next, next // its users are u+1 .. u+3, its infrastructure u
		evs, err := genProductLedger(t, p, u)
		if err != nil {
			t.Fatal(err)
		}
		var got []cloudmeter.Event
		var last rating.Key
		for i, b := range genBatches(t, evs) {
			batches++
			for _, e := range b {
				if e.Type != cloudmeter.EventTrafficMetered && len(got) > 0 && rating.KeyOf(&e).Compare(last) < 0 {
					late++
					break
				}
			}
			if _, err := s.AppendEvents(ctx, b, rating.Rate); err != nil {
				t.Fatalf("batch %d: AppendEvents: %v", i, err)
			}
			got = append(got, b...)
			products[p] = got
			for _, e := range got {
				if e.Type != cloudmeter.EventTrafficMetered && rating.KeyOf(&e).Compare(last) > 0 {
					last = rating.KeyOf(&e)
				}
			}
			if err := compareStored(ctx, s, p, u, got); err != nil {
				t.Fatalf("after batch %d (%d events): %v", i, len(b), err)
			}
		}
	})
	tt.Logf("%d cases, %d batches (%d with a late event)", cases, batches, late)
	if tt.Failed() {
		return
	}
	// Rerate rates every product from all its events at once: the same again.
	if _, err := s.Rerate(ctx, rating.Rate); err != nil {
		tt.Fatalf("Rerate: %v", err)
	}
	for p, evs := range products {
		if err := compareStored(ctx, s, p, p, evs); err != nil {
			tt.Errorf("after Rerate: %v", err)
		}
	}
}

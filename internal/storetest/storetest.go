// Package storetest is the behaviour suite every cloudmeter.Store engine runs: the same
// tests, against a real database, hold SQLite and PostgreSQL to one behaviour (ledger
// idempotency and atomicity, order-free re-rating, span queries, anomalies, price book
// versions, keys, concurrent writers).
//
// An engine's tests call Run with a function that opens a new, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// Run runs the suite. open must return a new, empty store each time it is called; Run
// closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cloudmeter.Store)
	}{
		{"Ping", testPing},
		{"AppendAndReadBack", testAppendAndReadBack},
		{"ResendIsDuplicate", testResendIsDuplicate},
		{"DuplicateWithinBatch", testDuplicateWithinBatch},
		{"ConflictStoresNothing", testConflictStoresNothing},
		{"ConflictWithinBatchStoresNothing", testConflictWithinBatch},
		{"FailedRatingStoresNothing", testFailedRatingStoresNothing},
		{"CancelledAppendStoresNothing", testCancelledAppend},
		{"LateEventReratesOnlyItsProduct", testLateEvent},
		{"OrderFreeAcrossBatches", testOrderFreeAcrossBatches},
		{"EarlierProvisionChangesTheOwner", testOwnerChange},
		{"LargeBatch", testLargeBatch},
		{"SpansWindowAndFilters", testSpans},
		{"AllSpans", testAllSpans},
		{"AnomaliesStoredAndReplaced", testAnomalies},
		{"PriceBookVersions", testPriceBooks},
		{"Keys", testKeys},
		{"RerateYieldsTheSameRatings", testRerate},
		{"RerateRewritesEveryProduct", testRerateRewrites},
		{"ConcurrentAppends", testConcurrentAppends},
		{"BatchesSentTogether", testBatchesSentTogether},
	}
	for _, tc := range append(tests, trafficTests...) {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func ctxOf(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustAppend stores events with service.Rate and fails on an error or conflicts.
func mustAppend(t *testing.T, s cloudmeter.Store, events []cloudmeter.Event) cloudmeter.AppendResult {
	t.Helper()
	res, err := s.AppendEvents(ctxOf(t), events, service.Rate)
	if err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	if len(res.Conflicts) > 0 {
		t.Fatalf("AppendEvents: conflicts %+v", res.Conflicts)
	}
	return res
}

func wantKind(t *testing.T, what string, err error, kind cloudmeter.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, kind)
	} else if k := cloudmeter.KindOf(err); k != kind {
		t.Errorf("%s: error %v of kind %s, want %s", what, err, k, kind)
	}
}

// allSpans returns every span of the store by product.
func allSpans(t *testing.T, s cloudmeter.Store) map[int64][]cloudmeter.Span {
	t.Helper()
	out := map[int64][]cloudmeter.Span{}
	if err := s.AllSpans(ctxOf(t), 0, func(sp cloudmeter.Span) error {
		out[sp.ProductID] = append(out[sp.ProductID], sp)
		return nil
	}); err != nil {
		t.Fatalf("AllSpans: %v", err)
	}
	for _, spans := range out {
		sort.Slice(spans, func(i, j int) bool { return spans[i].Start < spans[j].Start })
	}
	return out
}

// spansOf returns the spans of the ratings, by product, leaving out products without any.
func spansOf(ratings map[int64]cloudmeter.Rating) map[int64][]cloudmeter.Span {
	out := map[int64][]cloudmeter.Span{}
	for p, r := range ratings {
		if len(r.Spans) > 0 {
			out[p] = r.Spans
		}
	}
	return out
}

// checkProduct checks that the store holds the rating of product p: its view and spans.
func checkProduct(t *testing.T, s cloudmeter.Store, p int64, want cloudmeter.Rating) {
	t.Helper()
	res, spans, err := s.Resource(ctxOf(t), p)
	if want.Resource == nil {
		wantKind(t, fmt.Sprintf("Resource(%d) of a product never provisioned", p), err, cloudmeter.KindNotFound)
		return
	}
	if err != nil {
		t.Fatalf("Resource(%d): %v", p, err)
	}
	if diff := cmp.Diff(*want.Resource, res); diff != "" {
		t.Errorf("Resource(%d) (-rated +stored):\n%s", p, diff)
	}
	if diff := cmp.Diff(want.Spans, spans); diff != "" {
		t.Errorf("Resource(%d) spans (-rated +stored):\n%s", p, diff)
	}
}

func testPing(t *testing.T, s cloudmeter.Store) {
	if err := s.Ping(ctxOf(t)); err != nil {
		t.Fatal(err)
	}
}

func testAppendAndReadBack(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	evs := world(t)
	res := mustAppend(t, s, evs)
	if res.Accepted != len(evs) || res.Duplicates != 0 {
		t.Errorf("accepted %d, duplicates %d; want %d, 0", res.Accepted, res.Duplicates, len(evs))
	}
	if diff := cmp.Diff([]int64{101, 102, 103, 201}, res.Rated); diff != "" {
		t.Errorf("Rated (-want +got):\n%s", diff)
	}

	want := expected(evs)
	for p, r := range want {
		checkProduct(t, s, p, r)
	}
	// The rated view itself, stated without the rate function.
	_, spans, err := s.Resource(ctx, 101)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 || spans[0].Start != t0 || spans[0].End != t0+3599 || spans[1].Start != t0+3600 || spans[1].End != t0+7200 ||
		*spans[0].Attributes.ServerTypeID != 1 || *spans[1].Attributes.ServerTypeID != 2 || *spans[1].Attributes.ServerTypeName != "M.8.8" {
		t.Errorf("product 101 spans %+v: want server type 1 over [0, 3599], 2 over [3600, 7200]", spans)
	}
	r, spans, err := s.Resource(ctx, 102)
	if err != nil {
		t.Fatal(err)
	}
	if r.UserID != 1 || r.InfrastructureID != 10 || r.InfrastructureLabel != "infra-10" || r.Datacenter != "dc-a" || r.Type != cloudmeter.ResourceDrive ||
		r.Label != "product-102" || r.Subdomain != "product-102.example" || r.State != cloudmeter.StateActive || r.ProvisionedAt != t0 || r.DeletedAt != 0 ||
		r.Attributes.DriveSizeMBytes == nil || *r.Attributes.DriveSizeMBytes != 40960 || len(spans) != 1 || spans[0].End != cloudmeter.OpenEnd {
		t.Errorf("product 102: %+v, spans %+v", r, spans)
	}
	_, _, err = s.Resource(ctx, 999)
	wantKind(t, "Resource(999)", err, cloudmeter.KindNotFound)

	got, err := s.ProductEvents(ctx, 101)
	if err != nil {
		t.Fatal(err)
	}
	var of101 []cloudmeter.Event
	for _, e := range evs {
		if e.ProductID == 101 {
			of101 = append(of101, e)
		}
	}
	if diff := cmp.Diff(storedOf(of101), storedOf(got)); diff != "" {
		t.Errorf("ProductEvents(101) (-sent +stored):\n%s", diff)
	}
	if got, err := s.ProductEvents(ctx, 999); err != nil || len(got) != 0 {
		t.Errorf("ProductEvents(999) = %d events, %v; want none", len(got), err)
	}

	infras, err := s.Infrastructures(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantInfras := []cloudmeter.Infrastructure{
		{ID: 10, UserID: 1, Label: "infra-10", Datacenter: "dc-a", ServiceStatus: "active"},
		{ID: 11, UserID: 1, Label: "infra-11", Datacenter: "dc-b", ServiceStatus: "deleted"},
	}
	if diff := cmp.Diff(wantInfras, infras); diff != "" {
		t.Errorf("Infrastructures(1) (-want +got):\n%s", diff)
	}
	if infras, err := s.Infrastructures(ctx, 3); err != nil || len(infras) != 0 {
		t.Errorf("Infrastructures(3) = %+v, %v; want none", infras, err)
	}
	for user, want := range map[int64]bool{1: true, 2: true, 3: false} {
		if ok, err := s.UserExists(ctx, user); err != nil || ok != want {
			t.Errorf("UserExists(%d) = %v, %v; want %v", user, ok, err, want)
		}
	}
	for dc, want := range map[string]bool{"dc-a": true, "dc-b": true, "dc-c": true, "dc-x": false, "": false} {
		if ok, err := s.DatacenterExists(ctx, dc); err != nil || ok != want {
			t.Errorf("DatacenterExists(%q) = %v, %v; want %v", dc, ok, err, want)
		}
	}
	if an, err := s.Anomalies(ctx, cloudmeter.AnomalyQuery{}); err != nil || len(an) != 0 {
		t.Errorf("Anomalies = %+v, %v; want none", an, err)
	}
}

func testResendIsDuplicate(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	evs := world(t)
	mustAppend(t, s, evs)
	before := allSpans(t, s)
	res := mustAppend(t, s, world(t))
	if res.Accepted != 0 || res.Duplicates != len(evs) || len(res.Rated) != 0 {
		t.Errorf("resent batch: accepted %d, duplicates %d, rated %v; want 0, %d, none", res.Accepted, res.Duplicates, res.Rated, len(evs))
	}
	// A batch of old and new events: the old ones are duplicates, the new one is applied.
	res = mustAppend(t, s, append(world(t)[:2], decode(t, stop("201-s", 500, 201))...))
	if res.Accepted != 1 || res.Duplicates != 2 || !slices.Equal(res.Rated, []int64{201}) {
		t.Errorf("mixed batch: accepted %d, duplicates %d, rated %v; want 1, 2, [201]", res.Accepted, res.Duplicates, res.Rated)
	}
	for _, p := range []int64{101, 102, 103} {
		got, err := s.ProductEvents(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.ProductID == p {
				n++
			}
		}
		if len(got) != n {
			t.Errorf("product %d holds %d events after resending, want %d", p, len(got), n)
		}
	}
	after := allSpans(t, s)
	if diff := cmp.Diff(before[101], after[101]); diff != "" {
		t.Errorf("resending changed product 101's spans (-before +after):\n%s", diff)
	}
}

func testDuplicateWithinBatch(t *testing.T, s cloudmeter.Store) {
	e := prov("301-p", 0, 301, 3, 30, "instance", "dc-a", `{}`)
	res := mustAppend(t, s, decode(t, e, e, del("301-d", 10, 301)))
	if res.Accepted != 2 || res.Duplicates != 1 {
		t.Errorf("accepted %d, duplicates %d; want 2, 1", res.Accepted, res.Duplicates)
	}
	got, err := s.ProductEvents(ctxOf(t), 301)
	if err != nil || len(got) != 2 {
		t.Errorf("ProductEvents(301) = %d events, %v; want 2", len(got), err)
	}
}

// checkNothingStored checks that none of the products holds events, a view or spans.
func checkNothingStored(t *testing.T, s cloudmeter.Store, products ...int64) {
	t.Helper()
	ctx := ctxOf(t)
	for _, p := range products {
		if got, err := s.ProductEvents(ctx, p); err != nil || len(got) != 0 {
			t.Errorf("ProductEvents(%d) = %d events, %v; want none: nothing of the batch may be stored", p, len(got), err)
		}
		_, _, err := s.Resource(ctx, p)
		wantKind(t, fmt.Sprintf("Resource(%d)", p), err, cloudmeter.KindNotFound)
	}
}

func testConflictStoresNothing(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	mustAppend(t, s, world(t))
	before := allSpans(t, s)
	batch := decode(t,
		prov("301-p", 0, 301, 3, 30, "instance", "dc-a", `{}`), // new
		change("101-c", 3600, 101, `{"server_type_id": 3}`),    // known key, other content
		stop("102-s", 50, 102),                                 // new event of a known product
		del("103-d", 201, 103),                                 // known key, other time
	)
	res, err := s.AppendEvents(ctx, batch, service.Rate)
	if err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	want := []cloudmeter.EventConflict{{Index: 1, Source: source, ID: "101-c"}, {Index: 3, Source: source, ID: "103-d"}}
	if diff := cmp.Diff(want, res.Conflicts, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Reason" }, cmp.Ignore())); diff != "" {
		t.Errorf("conflicts (-want +got):\n%s", diff)
	}
	for _, c := range res.Conflicts {
		if c.Reason == "" {
			t.Errorf("conflict %+v has no reason", c)
		}
	}
	if res.Accepted != 0 || len(res.Rated) != 0 {
		t.Errorf("accepted %d, rated %v; want 0, none", res.Accepted, res.Rated)
	}
	checkNothingStored(t, s, 301)
	if got, err := s.ProductEvents(ctx, 102); err != nil || len(got) != 1 {
		t.Errorf("ProductEvents(102) = %d events, %v; want only its provision", len(got), err)
	}
	if diff := cmp.Diff(before, allSpans(t, s)); diff != "" {
		t.Errorf("a rejected batch changed spans (-before +after):\n%s", diff)
	}
	// The stored version stands.
	got, err := s.ProductEvents(ctx, 101)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(storedOf(world(t)[:3]), storedOf(got)); diff != "" {
		t.Errorf("product 101's events changed (-first +now):\n%s", diff)
	}
}

func testConflictWithinBatch(t *testing.T, s cloudmeter.Store) {
	batch := decode(t,
		prov("401-p", 0, 401, 4, 40, "instance", "dc-a", `{}`),
		del("401-d", 10, 401),
		del("401-d", 20, 401), // same key, other content
		prov("402-p", 0, 402, 4, 40, "drive", "dc-a", `{"drive_size_mbytes": 1024}`),
	)
	res, err := s.AppendEvents(ctxOf(t), batch, service.Rate)
	if err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	if len(res.Conflicts) != 1 || res.Conflicts[0].Index != 2 || res.Conflicts[0].ID != "401-d" || res.Conflicts[0].Source != source {
		t.Errorf("conflicts %+v; want events[2] (401-d)", res.Conflicts)
	}
	if res.Accepted != 0 || len(res.Rated) != 0 {
		t.Errorf("accepted %d, rated %v; want 0, none", res.Accepted, res.Rated)
	}
	checkNothingStored(t, s, 401, 402)
	if ok, err := s.UserExists(ctxOf(t), 4); err != nil || ok {
		t.Errorf("UserExists(4) = %v, %v; want false", ok, err)
	}
}

// testFailedRatingStoresNothing: a batch whose rating fails (here: the rate function
// panics after the events were inserted) leaves no trace.
func testFailedRatingStoresNothing(t *testing.T, s cloudmeter.Store) {
	mustAppend(t, s, world(t))
	before := allSpans(t, s)
	batch := decode(t, prov("501-p", 0, 501, 5, 50, "instance", "dc-a", `{}`), stop("201-s", 500, 201))
	boom := func(p int64, evs []cloudmeter.Event) cloudmeter.Rating {
		if p == 501 {
			panic("rating failed")
		}
		return service.Rate(p, evs)
	}
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Errorf("the rate function's panic did not reach the caller")
			}
		}()
		s.AppendEvents(ctxOf(t), batch, boom)
	}()
	checkNothingStored(t, s, 501)
	if got, err := s.ProductEvents(ctxOf(t), 201); err != nil || len(got) != 1 {
		t.Errorf("ProductEvents(201) = %d events, %v; want only its provision", len(got), err)
	}
	if diff := cmp.Diff(before, allSpans(t, s)); diff != "" {
		t.Errorf("a failed batch changed spans (-before +after):\n%s", diff)
	}
	// The store still works, and the batch can be sent again.
	res := mustAppend(t, s, batch)
	if res.Accepted != 2 {
		t.Errorf("resent after the failure: accepted %d, want 2", res.Accepted)
	}
}

func testCancelledAppend(t *testing.T, s cloudmeter.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.AppendEvents(ctx, world(t), service.Rate)
	wantKind(t, "AppendEvents with a cancelled context", err, cloudmeter.KindUnavailable)
	checkNothingStored(t, s, 101, 102, 103, 201)
}

func testLateEvent(t *testing.T, s cloudmeter.Store) {
	evs := world(t)
	mustAppend(t, s, evs)
	before := allSpans(t, s)
	// A resize of drive 102 that happened at 1800 arrives late.
	late := decode(t, change("102-c", 1800, 102, `{"drive_size_mbytes": 81920}`))
	res := mustAppend(t, s, late)
	if res.Accepted != 1 || !slices.Equal(res.Rated, []int64{102}) {
		t.Errorf("late event: accepted %d, rated %v; want 1, [102]", res.Accepted, res.Rated)
	}
	after := allSpans(t, s)
	for p, spans := range before {
		if p == 102 {
			continue
		}
		if diff := cmp.Diff(spans, after[p]); diff != "" {
			t.Errorf("a late event of product 102 changed product %d (-before +after):\n%s", p, diff)
		}
	}
	all := append(evs, late...)
	checkProduct(t, s, 102, expected(all)[102])
	if sp := after[102]; len(sp) != 2 || sp[0].End != t0+1799 || sp[1].Start != t0+1800 || *sp[1].Attributes.DriveSizeMBytes != 81920 {
		t.Errorf("product 102 spans %+v: want a split at 1800", sp)
	}
}

// testOrderFreeAcrossBatches: whatever batches a product's events arrive in, and in
// whatever order, the store ends with the rating of all of them at once.
func testOrderFreeAcrossBatches(t *testing.T, s cloudmeter.Store) {
	history := func(p int64) []cloudmeter.Event {
		id := func(what string) string { return fmt.Sprintf("%d-%s", p, what) }
		return decode(t,
			prov(id("p"), 0, p, 6, 60, "instance", "dc-a", `{"server_type_id": 1}`),
			change(id("c1"), 100, p, `{"server_type_id": 2}`),
			stop(id("s"), 200, p),
			change(id("c2"), 300, p, `{"server_type_id": 3}`),
			del(id("d"), 400, p),
			del(id("d2"), 500, p),  // duplicate delete: an anomaly
			stop(id("s0"), -10, p), // before the provision: an anomaly
		)
	}
	rng := rand.New(rand.NewSource(1))
	for p := int64(601); p <= 604; p++ {
		evs := history(p)
		// 601 gets its events one by one, the others in random batches of random order.
		perm := rng.Perm(len(evs))
		for start := 0; start < len(perm); {
			n := 1
			if p > 601 {
				n = 1 + rng.Intn(3)
			}
			var b []cloudmeter.Event
			for _, i := range perm[start:min(start+n, len(perm))] {
				b = append(b, evs[i])
			}
			mustAppend(t, s, b)
			start += n
		}
		want := expected(evs)[p]
		checkProduct(t, s, p, want)
		an, err := s.Anomalies(ctxOf(t), cloudmeter.AnomalyQuery{ProductID: p})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.Anomalies, an); diff != "" {
			t.Errorf("product %d: anomalies (-all at once +in batches):\n%s", p, diff)
		}
		if len(an) != 2 {
			t.Errorf("product %d: %d anomalies, want 2", p, len(an))
		}
	}
}

// testOwnerChange: a late provision earlier than the stored one wins (the earliest
// provision stands), so the product moves to the late provision's user.
func testOwnerChange(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	evs := world(t)
	mustAppend(t, s, evs)
	late := decode(t, prov("102-p0", -100, 102, 3, 30, "drive", "dc-d", `{"drive_size_mbytes": 1024}`))
	res := mustAppend(t, s, late)
	if !slices.Equal(res.Rated, []int64{102}) {
		t.Errorf("rated %v, want [102]", res.Rated)
	}
	want := expected(append(evs, late...))[102]
	if want.Resource.UserID != 3 {
		t.Fatalf("rated owner %d, want 3", want.Resource.UserID)
	}
	checkProduct(t, s, 102, want)
	for user, want := range map[int64][]int64{1: {101, 101, 103}, 3: {102}} {
		spans, err := s.Spans(ctx, cloudmeter.SpanQuery{UserID: user, From: t0 - 1000, To: t0 + 10000})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, sp := range spans {
			got = append(got, sp.ProductID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Spans(user %d) products (-want +got):\n%s", user, diff)
		}
	}
	infras, err := s.Infrastructures(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]cloudmeter.Infrastructure{{ID: 30, UserID: 3, Label: "infra-30", Datacenter: "dc-d", ServiceStatus: "active"}}, infras); diff != "" {
		t.Errorf("Infrastructures(3) (-want +got):\n%s", diff)
	}
	if ok, err := s.DatacenterExists(ctx, "dc-d"); err != nil || !ok {
		t.Errorf("DatacenterExists(dc-d) = %v, %v; want true", ok, err)
	}
	an, err := s.Anomalies(ctx, cloudmeter.AnomalyQuery{UserID: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(an) != 1 || an[0].Kind != cloudmeter.AnomalyDuplicateProvision || an[0].EventID != "102-p" {
		t.Errorf("Anomalies(user 3) = %+v; want the first provision as duplicate_provision", an)
	}
}

// testLargeBatch: a batch larger than any one statement of an engine is stored whole.
func testLargeBatch(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	const n = 450
	var raw []string
	for i := range int64(n) {
		p := 10000 + i
		raw = append(raw,
			prov(fmt.Sprintf("%d-p", p), i, p, 1+i%5, 1+i%7, "drive", "dc-a", `{"drive_size_mbytes": 2048, "storage_type": "ssd"}`),
			change(fmt.Sprintf("%d-c", p), 1000+i, p, `{"drive_size_mbytes": 4096}`))
	}
	evs := decode(t, raw...)
	res := mustAppend(t, s, evs)
	if res.Accepted != len(evs) || len(res.Rated) != n {
		t.Errorf("accepted %d, rated %d products; want %d, %d", res.Accepted, len(res.Rated), len(evs), n)
	}
	if diff := cmp.Diff(spansOf(expected(evs)), allSpans(t, s)); diff != "" {
		t.Errorf("spans (-rated +stored):\n%s", diff)
	}
	res = mustAppend(t, s, evs)
	if res.Accepted != 0 || res.Duplicates != len(evs) {
		t.Errorf("resent: accepted %d, duplicates %d; want 0, %d", res.Accepted, res.Duplicates, len(evs))
	}
	got, err := s.ProductEvents(ctx, 10000+n-1)
	if err != nil || len(got) != 2 {
		t.Errorf("ProductEvents(last) = %d events, %v; want 2", len(got), err)
	}
	n2, err := s.Rerate(ctx, service.Rate)
	if err != nil || n2 != n {
		t.Errorf("Rerate = %d, %v; want %d", n2, err, n)
	}
}

func testSpans(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	mustAppend(t, s, world(t))
	type key struct {
		Product    int64
		Start, End int64
	}
	query := func(q cloudmeter.SpanQuery) []key {
		t.Helper()
		q.From, q.To = t0+q.From, t0+q.To
		spans, err := s.Spans(ctx, q)
		if err != nil {
			t.Fatalf("Spans(%+v): %v", q, err)
		}
		var out []key
		for _, sp := range spans {
			end := sp.End - t0
			if sp.End == cloudmeter.OpenEnd {
				end = -1
			}
			out = append(out, key{sp.ProductID, sp.Start - t0, end})
		}
		return out
	}
	const far = 1 << 40
	tests := []struct {
		name string
		q    cloudmeter.SpanQuery
		want []key
	}{
		// Ordered by infrastructure, type, product, start: drive 102 before instance 101.
		{"All", cloudmeter.SpanQuery{UserID: 1, From: -far, To: far},
			[]key{{102, 0, -1}, {101, 0, 3599}, {101, 3600, 7200}, {103, 100, 200}}},
		{"OtherUser", cloudmeter.SpanQuery{UserID: 2, From: -far, To: far}, []key{{201, 0, -1}}},
		{"UnknownUser", cloudmeter.SpanQuery{UserID: 3, From: -far, To: far}, nil},
		{"BeforeEverything", cloudmeter.SpanQuery{UserID: 1, From: -100, To: -1}, nil},
		{"WindowEndsAtTheFirstSecond", cloudmeter.SpanQuery{UserID: 1, From: -100, To: 0}, []key{{102, 0, -1}, {101, 0, 3599}}},
		{"WindowStartsAtTheLastSecond", cloudmeter.SpanQuery{UserID: 1, From: 7200, To: 7200}, []key{{102, 0, -1}, {101, 3600, 7200}}},
		{"WindowAfterTheDelete", cloudmeter.SpanQuery{UserID: 1, From: 7201, To: 9000}, []key{{102, 0, -1}}},
		{"WindowOnTheSplit", cloudmeter.SpanQuery{UserID: 1, From: 3599, To: 3600}, []key{{102, 0, -1}, {101, 0, 3599}, {101, 3600, 7200}}},
		{"WindowInsideASpan", cloudmeter.SpanQuery{UserID: 1, From: 150, To: 160}, []key{{102, 0, -1}, {101, 0, 3599}, {103, 100, 200}}},
		{"Infrastructure", cloudmeter.SpanQuery{UserID: 1, From: -far, To: far, InfrastructureIDs: []int64{11}}, []key{{103, 100, 200}}},
		{"Infrastructures", cloudmeter.SpanQuery{UserID: 1, From: -far, To: far, InfrastructureIDs: []int64{11, 10}},
			[]key{{102, 0, -1}, {101, 0, 3599}, {101, 3600, 7200}, {103, 100, 200}}},
		{"InfrastructureOfAnotherUser", cloudmeter.SpanQuery{UserID: 1, From: -far, To: far, InfrastructureIDs: []int64{20}}, nil},
		{"Datacenter", cloudmeter.SpanQuery{UserID: 1, From: -far, To: far, Datacenters: []string{"dc-a"}},
			[]key{{102, 0, -1}, {101, 0, 3599}, {101, 3600, 7200}}},
		{"Datacenters", cloudmeter.SpanQuery{UserID: 1, From: -far, To: far, Datacenters: []string{"dc-b", "dc-x"}}, []key{{103, 100, 200}}},
		{"BothFilters", cloudmeter.SpanQuery{UserID: 1, From: -far, To: far, InfrastructureIDs: []int64{10}, Datacenters: []string{"dc-b"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, query(tc.q)); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
		})
	}
	// Spans carry everything a report needs.
	spans, err := s.Spans(ctx, cloudmeter.SpanQuery{UserID: 1, From: t0 - far, To: t0 + far})
	if err != nil {
		t.Fatal(err)
	}
	want := expected(world(t))
	var wantSpans []cloudmeter.Span
	for _, p := range []int64{102, 101, 103} {
		wantSpans = append(wantSpans, want[p].Spans...)
	}
	if diff := cmp.Diff(wantSpans, spans); diff != "" {
		t.Errorf("span contents (-rated +stored):\n%s", diff)
	}
}

func testAllSpans(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	evs := world(t)
	mustAppend(t, s, evs)
	if diff := cmp.Diff(spansOf(expected(evs)), allSpans(t, s)); diff != "" {
		t.Errorf("AllSpans (-rated +stored):\n%s", diff)
	}
	var products []int64
	if err := s.AllSpans(ctx, 2, func(sp cloudmeter.Span) error {
		products = append(products, sp.ProductID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(products, []int64{201}) {
		t.Errorf("AllSpans(user 2) visited %v, want [201]", products)
	}
	stopErr := errors.New("stop")
	n := 0
	err := s.AllSpans(ctx, 0, func(cloudmeter.Span) error { n++; return stopErr })
	if !errors.Is(err, stopErr) || n != 1 {
		t.Errorf("AllSpans with a failing callback: %v after %d spans; want its error after 1", err, n)
	}
}

func testAnomalies(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	anomalies := func(q cloudmeter.AnomalyQuery) []cloudmeter.Anomaly {
		t.Helper()
		an, err := s.Anomalies(ctx, q)
		if err != nil {
			t.Fatalf("Anomalies(%+v): %v", q, err)
		}
		return an
	}
	// A change of product 701 arrives before its provision.
	first := decode(t, change("701-c", 50, 701, `{"server_type_id": 2}`))
	res := mustAppend(t, s, first)
	if !slices.Equal(res.Rated, []int64{701}) {
		t.Errorf("rated %v, want [701]", res.Rated)
	}
	want := []cloudmeter.Anomaly{{ProductID: 701, UserID: 0, Kind: cloudmeter.AnomalyNotProvisioned, EventSource: source, EventID: "701-c", Time: t0 + 50}}
	ignoreMessage := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Message" }, cmp.Ignore())
	if diff := cmp.Diff(want, anomalies(cloudmeter.AnomalyQuery{ProductID: 701}), ignoreMessage); diff != "" {
		t.Errorf("before the provision (-want +got):\n%s", diff)
	}
	_, _, err := s.Resource(ctx, 701)
	wantKind(t, "Resource(701) before its provision", err, cloudmeter.KindNotFound)

	// The provision arrives, later than the change: the change is now before_provision.
	second := decode(t, prov("701-p", 100, 701, 7, 70, "instance", "dc-a", `{"server_type_id": 1}`))
	mustAppend(t, s, second)
	want = []cloudmeter.Anomaly{{ProductID: 701, UserID: 7, Kind: cloudmeter.AnomalyBeforeProvision, EventSource: source, EventID: "701-c", Time: t0 + 50}}
	got := anomalies(cloudmeter.AnomalyQuery{ProductID: 701})
	if diff := cmp.Diff(want, got, ignoreMessage); diff != "" {
		t.Errorf("after the provision, anomalies are replaced (-want +got):\n%s", diff)
	}
	all := append(first, second...)
	if diff := cmp.Diff(expected(all)[701].Anomalies, got); diff != "" {
		t.Errorf("stored anomalies (-rated +stored):\n%s", diff)
	}
	checkProduct(t, s, 701, expected(all)[701])

	// A second product with two anomalies, and a third of another user.
	mustAppend(t, s, decode(t,
		prov("702-p", 0, 702, 7, 70, "drive", "dc-a", `{"drive_size_mbytes": 1024}`),
		stop("702-s", 10, 702), // not applicable to a drive
		del("702-d", 20, 702),
		del("702-d2", 30, 702), // duplicate delete
		prov("801-p", 0, 801, 8, 80, "instance", "dc-a", `{}`),
		prov("801-p2", 5, 801, 8, 80, "instance", "dc-a", `{}`), // duplicate provision
	))
	kinds := func(an []cloudmeter.Anomaly) []string {
		var out []string
		for _, a := range an {
			out = append(out, fmt.Sprintf("%d %s %s", a.ProductID, a.Kind, a.EventID))
		}
		return out
	}
	tests := []struct {
		name string
		q    cloudmeter.AnomalyQuery
		want []string
	}{
		{"All", cloudmeter.AnomalyQuery{}, []string{"801 duplicate_provision 801-p2", "702 not_applicable 702-s", "702 duplicate_delete 702-d2",
			"701 before_provision 701-c"}},
		{"User", cloudmeter.AnomalyQuery{UserID: 7}, []string{"702 not_applicable 702-s", "702 duplicate_delete 702-d2", "701 before_provision 701-c"}},
		{"Product", cloudmeter.AnomalyQuery{ProductID: 702}, []string{"702 not_applicable 702-s", "702 duplicate_delete 702-d2"}},
		{"UserAndProduct", cloudmeter.AnomalyQuery{UserID: 8, ProductID: 702}, nil},
		{"Limit", cloudmeter.AnomalyQuery{Limit: 2}, []string{"801 duplicate_provision 801-p2", "702 not_applicable 702-s"}},
		{"UnknownUser", cloudmeter.AnomalyQuery{UserID: 9}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, kinds(anomalies(tc.q))); diff != "" {
				t.Errorf("anomalies (-want +got):\n%s", diff)
			}
		})
	}
	for _, a := range anomalies(cloudmeter.AnomalyQuery{}) {
		if a.Message == "" {
			t.Errorf("anomaly %+v has no message", a)
		}
	}
}

func testPriceBooks(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	_, err := s.PriceBook(ctx)
	wantKind(t, "PriceBook with none stored", err, cloudmeter.KindNotFound)
	if v, err := s.PriceBookVersion(ctx); err != nil || v != 0 {
		t.Errorf("PriceBookVersion = %d, %v; want 0", v, err)
	}
	if vs, err := s.PriceBookVersions(ctx); err != nil || len(vs) != 0 {
		t.Errorf("PriceBookVersions = %+v, %v; want none", vs, err)
	}
	bodies := []string{
		`{"currency":"GBP","entries":[{"resource_type":"instance","price":"0.31","unit":"item","period_seconds":3600}]}`,
		`{"currency":"GBP","entries":[{"resource_type":"instance","price":"0.35","unit":"item","period_seconds":3600}]}`,
		`{"currency":"EUR","entries":[]}`,
	}
	for i, body := range bodies {
		b, err := s.PutPriceBook(ctx, []byte(body), t0+int64(i))
		if err != nil {
			t.Fatal(err)
		}
		if b.Version != int64(i+1) || string(b.Body) != body || b.CreatedAt != t0+int64(i) {
			t.Errorf("PutPriceBook #%d = version %d, created %d; want version %d", i+1, b.Version, b.CreatedAt-t0, i+1)
		}
	}
	b, err := s.PriceBook(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != 3 || string(b.Body) != bodies[2] || b.CreatedAt != t0+2 {
		t.Errorf("PriceBook = version %d, %s, created %d; want the newest", b.Version, b.Body, b.CreatedAt-t0)
	}
	if v, err := s.PriceBookVersion(ctx); err != nil || v != 3 {
		t.Errorf("PriceBookVersion = %d, %v; want 3", v, err)
	}
	vs, err := s.PriceBookVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []cloudmeter.StoredPriceBook{{Version: 3, CreatedAt: t0 + 2}, {Version: 2, CreatedAt: t0 + 1}, {Version: 1, CreatedAt: t0}}
	if diff := cmp.Diff(want, vs); diff != "" {
		t.Errorf("PriceBookVersions (-want +got):\n%s", diff)
	}
}

func testKeys(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	k1 := cloudmeter.APIKey{ID: "k-one", UserID: 9, Hash: "hash-one", Label: "ingest", CreatedAt: t0,
		Permissions: []cloudmeter.Permission{cloudmeter.PermEventsWrite, cloudmeter.PermPricesRead}}
	k2 := cloudmeter.APIKey{ID: "k-two", UserID: 10, Hash: "hash-two", CreatedAt: t0 + 1, Permissions: []cloudmeter.Permission{cloudmeter.PermAdmin}}
	for _, k := range []cloudmeter.APIKey{k1, k2} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatalf("CreateKey(%s): %v", k.ID, err)
		}
	}
	got, err := s.KeyByHash(ctx, "hash-one")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k1, got); diff != "" {
		t.Errorf("KeyByHash (-created +stored):\n%s", diff)
	}
	_, err = s.KeyByHash(ctx, "hash-nope")
	wantKind(t, "KeyByHash of an unknown hash", err, cloudmeter.KindKeyNotFound)
	if ok, err := s.UserExists(ctx, 9); err != nil || !ok {
		t.Errorf("UserExists(9) = %v, %v; a user with a key exists", ok, err)
	}

	err = s.CreateKey(ctx, cloudmeter.APIKey{ID: "k-one", UserID: 11, Hash: "hash-three", CreatedAt: t0, Permissions: k1.Permissions})
	wantKind(t, "CreateKey with a taken id", err, cloudmeter.KindConflict)
	err = s.CreateKey(ctx, cloudmeter.APIKey{ID: "k-three", UserID: 11, Hash: "hash-one", CreatedAt: t0, Permissions: k1.Permissions})
	wantKind(t, "CreateKey with a taken hash", err, cloudmeter.KindConflict)

	if err := s.RevokeKey(ctx, "k-one", t0+100); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	_, err = s.KeyByHash(ctx, "hash-one")
	wantKind(t, "KeyByHash of a revoked key", err, cloudmeter.KindKeyNotFound)
	wantKind(t, "RevokeKey twice", s.RevokeKey(ctx, "k-one", t0+200), cloudmeter.KindNotFound)
	wantKind(t, "RevokeKey of an unknown id", s.RevokeKey(ctx, "k-nope", t0+200), cloudmeter.KindNotFound)

	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revoked := k1
	revoked.RevokedAt = t0 + 100
	if diff := cmp.Diff([]cloudmeter.APIKey{revoked, k2}, keys); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	if got, err := s.KeyByHash(ctx, "hash-two"); err != nil || got.ID != "k-two" {
		t.Errorf("KeyByHash(hash-two) = %+v, %v", got, err)
	}
}

// anomalyWorld is the world plus products whose histories are impossible.
func anomalyWorld(t *testing.T) []cloudmeter.Event {
	return append(world(t), decode(t,
		change("901-c", 10, 901, `{"server_type_id": 2}`), // never provisioned
		prov("902-p", 0, 902, 1, 10, "instance", "dc-a", `{}`),
		del("902-d", 10, 902),
		stop("902-s", 20, 902), // after the delete
	)...)
}

func testRerate(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	evs := anomalyWorld(t)
	mustAppend(t, s, evs)
	spans := allSpans(t, s)
	an, err := s.Anomalies(ctx, cloudmeter.AnomalyQuery{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Rerate(ctx, service.Rate)
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("Rerate rated %d products, want 6 (every product with events)", n)
	}
	if diff := cmp.Diff(spans, allSpans(t, s)); diff != "" {
		t.Errorf("Rerate changed spans (-before +after):\n%s", diff)
	}
	an2, err := s.Anomalies(ctx, cloudmeter.AnomalyQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(an, an2); diff != "" {
		t.Errorf("Rerate changed anomalies (-before +after):\n%s", diff)
	}
	for p, r := range expected(evs) {
		checkProduct(t, s, p, r)
	}
}

// testRerateRewrites: Rerate stores what the rate function says now (after a change of
// the rules), for every product.
func testRerateRewrites(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	evs := anomalyWorld(t)
	mustAppend(t, s, evs)
	var seen []int64
	var mu sync.Mutex
	// New rules: no product is billed after 150.
	capped := func(p int64, evs []cloudmeter.Event) cloudmeter.Rating {
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
		r := service.Rate(p, evs)
		var spans []cloudmeter.Span
		for _, sp := range r.Spans {
			if sp.Start <= t0+150 {
				sp.End = min(sp.End, t0+150)
				spans = append(spans, sp)
			}
		}
		r.Spans = spans
		r.Anomalies = nil
		return r
	}
	if _, err := s.Rerate(ctx, capped); err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	seen = slices.Compact(seen)
	if diff := cmp.Diff([]int64{101, 102, 103, 201, 901, 902}, seen); diff != "" {
		t.Errorf("Rerate rated (-want +got):\n%s", diff)
	}
	for p, sp := range allSpans(t, s) {
		if last := sp[len(sp)-1]; last.End > t0+150 {
			t.Errorf("product %d still billed to %d after Rerate", p, last.End-t0)
		}
	}
	if an, err := s.Anomalies(ctx, cloudmeter.AnomalyQuery{}); err != nil || len(an) != 0 {
		t.Errorf("Anomalies after Rerate = %+v, %v; want none", an, err)
	}
	if _, err := s.Rerate(ctx, service.Rate); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spansOf(expected(evs)), allSpans(t, s)); diff != "" {
		t.Errorf("spans after rating back (-rated +stored):\n%s", diff)
	}
}

// testConcurrentAppends: eight writers send overlapping batches of the same events at
// once. None fails, every event is stored exactly once, and every product ends with the
// rating of all its events.
func testConcurrentAppends(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	const products, writers, batch = 30, 8, 12
	var raw []string
	for i := range int64(products) {
		p := 1000 + i
		raw = append(raw,
			prov(fmt.Sprintf("%d-p", p), i, p, 1+i%3, 100+i%4, "instance", "dc-a", `{"server_type_id": 1}`),
			change(fmt.Sprintf("%d-c", p), 1000+i, p, `{"server_type_id": 2}`),
			stop(fmt.Sprintf("%d-s", p), 2000+i, p),
			del(fmt.Sprintf("%d-d", p), 3000+i, p),
		)
	}
	evs := decode(t, raw...)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
		errs     []error
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			order := rng.Perm(len(evs))
			for start := 0; start < len(order); start += batch {
				var b []cloudmeter.Event
				for _, i := range order[start:min(start+batch, len(order))] {
					b = append(b, evs[i])
				}
				res, err := s.AppendEvents(ctx, b, service.Rate)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("writer %d: %w", w, err))
				case len(res.Conflicts) > 0:
					errs = append(errs, fmt.Errorf("writer %d: conflicts %+v", w, res.Conflicts))
				case res.Accepted+res.Duplicates != len(b):
					errs = append(errs, fmt.Errorf("writer %d: accepted %d + duplicates %d != %d", w, res.Accepted, res.Duplicates, len(b)))
				}
				accepted += res.Accepted
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if accepted != len(evs) {
		t.Errorf("%d events accepted in all, want each of the %d exactly once", accepted, len(evs))
	}
	want := expected(evs)
	for p, r := range want {
		got, err := s.ProductEvents(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Errorf("product %d holds %d events, want 4", p, len(got))
		}
		checkProduct(t, s, p, r)
	}
}

// grouper is a store that commits concurrent batches together (sqlstore on SQLite).
type grouper interface {
	GroupsCommits() bool
	HoldWriter(ctx context.Context) (release func(), err error)
	QueuedBatches() int
}

// testBatchesSentTogether: four batches arrive at once (on a store that groups commits,
// they are lined up behind the writer lock so that one group commit holds them all): a
// valid one, one that conflicts with it, one whose rating panics (on a product the first
// batch provisioned, so that the panic comes inside the group) and one that repeats an
// event of the first. Each is answered as if it had been sent alone: the conflicting and
// the panicking batch store nothing, the others store everything they hold.
func testBatchesSentTogether(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	a := decode(t, prov("601-p", 0, 601, 6, 60, "instance", "dc-a", `{}`), stop("601-s", 100, 601))
	b := decode(t, prov("602-p", 0, 602, 6, 60, "instance", "dc-a", `{}`), stop("601-s", 200, 601)) // 601-s: other content
	c := decode(t, prov("603-p", 0, 603, 6, 60, "instance", "dc-a", `{}`), del("601-d", 300, 601))
	d := decode(t, prov("604-p", 0, 604, 6, 60, "drive", "dc-a", `{"drive_size_mbytes": 1024}`), stop("601-s", 100, 601)) // a duplicate
	boom := func(p int64, evs []cloudmeter.Event) cloudmeter.Rating {
		for _, e := range evs {
			if e.ID == "601-d" && len(evs) > 1 { // 601 with its stored events: inside the group
				panic("rating failed")
			}
		}
		return service.Rate(p, evs)
	}
	release := func() {}
	g, grouped := s.(grouper)
	if grouped && g.GroupsCommits() {
		r, err := g.HoldWriter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		release = r
	} else {
		grouped = false
	}
	type outcome struct {
		res      cloudmeter.AppendResult
		err      error
		panicked any
	}
	out := make([]outcome, 4)
	var wg sync.WaitGroup
	for i, batch := range [][]cloudmeter.Event{a, b, c, d} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { out[i].panicked = recover() }()
			if i > 0 && grouped { // a first, so that b conflicts with it and d repeats it
				for g.QueuedBatches() < i {
					time.Sleep(time.Millisecond)
				}
			}
			out[i].res, out[i].err = s.AppendEvents(ctx, batch, boom)
		}()
		if !grouped {
			wg.Wait() // one after the other: the same outcome is expected
		}
	}
	if grouped {
		for g.QueuedBatches() < 4 {
			time.Sleep(time.Millisecond)
		}
		release()
	}
	wg.Wait()
	if o := out[0]; o.err != nil || o.panicked != nil || o.res.Accepted != 2 || !slices.Equal(o.res.Rated, []int64{601}) {
		t.Errorf("batch a: %+v; want 2 accepted, 601 rated", o)
	}
	if o := out[1]; o.err != nil || o.res.Accepted != 0 || len(o.res.Conflicts) != 1 || o.res.Conflicts[0].ID != "601-s" || o.res.Conflicts[0].Index != 1 {
		t.Errorf("batch b: %+v; want one conflict, 601-s at index 1, nothing accepted", o)
	}
	if o := out[2]; o.panicked == nil {
		t.Errorf("batch c: %+v; want the rate function's panic raised in its caller", o)
	}
	if o := out[3]; o.err != nil || o.panicked != nil || o.res.Accepted != 1 || o.res.Duplicates != 1 {
		t.Errorf("batch d: %+v; want 1 accepted, 1 duplicate", o)
	}
	checkNothingStored(t, s, 602, 603)
	for p, n := range map[int64]int{601: 2, 604: 1} {
		if got, err := s.ProductEvents(ctx, p); err != nil || len(got) != n {
			t.Errorf("ProductEvents(%d) = %d events, %v; want %d", p, len(got), err, n)
		}
	}
	checkProduct(t, s, 601, service.Rate(601, a))
	checkProduct(t, s, 604, service.Rate(604, d[:1]))

	// A rating that fails before the batch is queued fails its batch alone, too.
	early := decode(t, prov("605-p", 0, 605, 6, 60, "instance", "dc-a", `{}`))
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("batch of 605: the rate function's panic did not reach the caller")
			}
		}()
		s.AppendEvents(ctx, early, func(p int64, evs []cloudmeter.Event) cloudmeter.Rating { panic("rating failed") })
	}()
	checkNothingStored(t, s, 605)
	if res := mustAppend(t, s, early); res.Accepted != 1 {
		t.Errorf("batch of 605 sent again: accepted %d, want 1", res.Accepted)
	}
}

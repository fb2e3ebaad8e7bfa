package storetest

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// RunLedger runs the cases of the EventLedger role (AppendEvents, ProductEvents, Rerate):
// idempotency and atomicity of a batch, order-free re-rating, re-rating every product,
// concurrent writers. open must return a new, empty store each time it is called.
func RunLedger(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
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
		{"RerateYieldsTheSameRatings", testRerate},
		{"RerateRewritesEveryProduct", testRerateRewrites},
		{"ConcurrentAppends", testConcurrentAppends},
		{"BatchesSentTogether", testBatchesSentTogether},
	})
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
	res, err := s.AppendEvents(ctx, batch, rating.Rate)
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
	res, err := s.AppendEvents(ctxOf(t), batch, rating.Rate)
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
		return rating.Rate(p, evs)
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
	_, err := s.AppendEvents(ctx, world(t), rating.Rate)
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
	n2, err := s.Rerate(ctx, rating.Rate)
	if err != nil || n2 != n {
		t.Errorf("Rerate = %d, %v; want %d", n2, err, n)
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
	n, err := s.Rerate(ctx, rating.Rate)
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
		r := rating.Rate(p, evs)
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
	if _, err := s.Rerate(ctx, rating.Rate); err != nil {
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
				res, err := s.AppendEvents(ctx, b, rating.Rate)
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
		return rating.Rate(p, evs)
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
	checkProduct(t, s, 601, rating.Rate(601, a))
	checkProduct(t, s, 604, rating.Rate(604, d[:1]))

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

package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
)

// RunUsage runs the cases of the UsageStore role: span queries by window and filters,
// every span, anomalies stored, replaced and queried. open must return a new, empty
// store each time it is called.
func RunUsage(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"SpansWindowAndFilters", testSpans},
		{"AllSpans", testAllSpans},
		{"AnomaliesStoredAndReplaced", testAnomalies},
	})
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
		{"AtMaxSpans", cloudmeter.SpanQuery{UserID: 1, From: -far, To: far, MaxSpans: 4},
			[]key{{102, 0, -1}, {101, 0, 3599}, {101, 3600, 7200}, {103, 100, 200}}},
		{"MaxSpansCountsOnlyTheWindow", cloudmeter.SpanQuery{UserID: 1, From: 7201, To: 9000, MaxSpans: 1}, []key{{102, 0, -1}}},
	}
	t.Run("OverMaxSpans", func(t *testing.T) {
		_, err := s.Spans(ctx, cloudmeter.SpanQuery{UserID: 1, From: t0 - far, To: t0 + far, MaxSpans: 3})
		wantKind(t, "Spans of 4 spans with MaxSpans 3", err, cloudmeter.KindTooLarge)
	})
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

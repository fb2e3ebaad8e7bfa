package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// suiteTest is one case of the suite: its subtest name and the test, run on a new store.
type suiteTest struct {
	name string
	fn   func(t *testing.T, s cloudmeter.Store)
}

// runTests runs each test as a subtest of t, under its name, on a new store from open
// that is closed when the subtest ends.
func runTests(t *testing.T, open func(t *testing.T) cloudmeter.Store, tests []suiteTest) {
	for _, tc := range tests {
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

// mustAppend stores events with rating.Rate and fails on an error or conflicts.
func mustAppend(t *testing.T, s cloudmeter.Store, events []cloudmeter.Event) cloudmeter.AppendResult {
	t.Helper()
	res, err := s.AppendEvents(ctxOf(t), events, rating.Rate)
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

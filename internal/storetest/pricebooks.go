package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
)

// RunPriceBooks runs the cases of the PriceBookStore role: versions added, the newest
// read back, the versions listed. open must return a new, empty store each time it is
// called.
func RunPriceBooks(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"PriceBookVersions", testPriceBooks},
	})
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
	for i, body := range bodies {
		b, err := s.PriceBookAt(ctx, int64(i+1))
		if err != nil || b.Version != int64(i+1) || string(b.Body) != body || b.CreatedAt != t0+int64(i) {
			t.Errorf("PriceBookAt(%d) = version %d, %s, created %d, %v; want version %d, %s", i+1, b.Version, b.Body, b.CreatedAt-t0, err, i+1, body)
		}
	}
	for _, v := range []int64{0, 4, -1} {
		_, err := s.PriceBookAt(ctx, v)
		wantKind(t, fmt.Sprintf("PriceBookAt(%d)", v), err, cloudmeter.KindNotFound)
	}
}

package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
)

// RunPulled runs the cases of the PulledStore role: records kept as given, a window
// pulled again replaced (and unchanged when its records are), overlapping windows
// refused, the queries by start and the totals by product. open must return a new,
// empty store each time it is called.
func RunPulled(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"PulledRoundTrip", testPulledRoundTrip},
		{"PulledSameWindowTwice", testPulledSameWindowTwice},
		{"PulledOverlapRefused", testPulledOverlapRefused},
	})
}

const pullSource = "metalsoft http://a.example/api/developer/developer"

func pulledRecords(user int64, from int64) []cloudmeter.PulledRecord {
	size := int64(41000)
	return []cloudmeter.PulledRecord{
		{Source: pullSource, UserID: user, InfrastructureID: 3668, InfrastructureLabel: "d-lake", Type: cloudmeter.ResourceInstance, ProductID: 2416,
			Label: "instance-2416", Start: from, End: from + 84300, Quantity: 84301, MeasurementPeriod: 3600, CostPerUnit: 31000000, Cost: 725925278, Currency: "GBP"},
		{Source: pullSource, UserID: user, InfrastructureID: 3668, InfrastructureLabel: "d-lake", Type: cloudmeter.ResourceDrive, ProductID: 3727,
			Attributes: cloudmeter.Attributes{DriveSizeMBytes: &size}, Start: from + 15, End: from + 250383, Quantity: 250369, MeasurementPeriod: 3600,
			CostPerUnit: 1601563, Cost: 111383813, Currency: "GBP"},
		{Source: pullSource, UserID: user, InfrastructureID: 3688, InfrastructureLabel: "lake", Type: cloudmeter.ResourceNetwork, Direction: cloudmeter.DirectionUpload,
			ProductID: 8381, Label: "wan", Start: from, End: from + 1000, Quantity: 123457, MeasurementPeriod: 10800, CostPerUnit: 6000000, Cost: 74074200, Currency: "GBP"},
	}
}

func testPulledRoundTrip(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	recs := pulledRecords(5, t0)
	w := cloudmeter.PullWindow{Source: pullSource, UserID: 5, From: t0, To: t0 + 86400*30, PulledAt: t0 + 86400*31, Records: 3, Cost: 911383291}
	changed, err := s.PutPullWindow(ctx, w, recs)
	if err != nil || !changed {
		t.Fatalf("PutPullWindow: %v, %v", changed, err)
	}
	got, err := s.PulledRecords(ctx, cloudmeter.PulledQuery{UserID: 5, From: t0, To: t0 + 86400*30})
	if err != nil {
		t.Fatal(err)
	}
	// Ordered by infrastructure, type, product: as given, to the last digit.
	if diff := cmp.Diff([]cloudmeter.PulledRecord{recs[1], recs[0], recs[2]}, got); diff != "" {
		t.Errorf("PulledRecords (-want +got):\n%s", diff)
	}
	// By start: a window that holds only the drive's start.
	got, _ = s.PulledRecords(ctx, cloudmeter.PulledQuery{UserID: 5, From: t0 + 1, To: t0 + 100})
	if len(got) != 1 || got[0].ProductID != 3727 {
		t.Errorf("records starting in [t0+1, t0+100]: %+v", got)
	}
	got, _ = s.PulledRecords(ctx, cloudmeter.PulledQuery{UserID: 5, From: t0, To: t0 + 86400*30, InfrastructureIDs: []int64{3688}})
	if len(got) != 1 || got[0].ProductID != 8381 {
		t.Errorf("records of infrastructure 3688: %+v", got)
	}
	// The user is known, with the records' infrastructures.
	if ok, err := s.UserExists(ctx, 5); err != nil || !ok {
		t.Errorf("UserExists(5) = %v, %v", ok, err)
	}
	infras, _ := s.Infrastructures(ctx, 5)
	if len(infras) != 2 || infras[0].ID != 3668 || infras[0].Label != "d-lake" {
		t.Errorf("infrastructures %+v", infras)
	}
	ws, err := s.PullWindows(ctx, "", 0)
	if err != nil || len(ws) != 1 || ws[0] != w {
		t.Errorf("PullWindows = %+v, %v; want %+v", ws, err, w)
	}
	totals, err := s.PulledTotals(ctx, pullSource)
	if err != nil {
		t.Fatal(err)
	}
	if tt := totals[2416]; tt.Cost != money.Amount(725925278) || tt.Quantity != 84301 || tt.LastEnd != t0+84300 {
		t.Errorf("totals of 2416: %+v", tt)
	}
}

func testPulledSameWindowTwice(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	w := cloudmeter.PullWindow{Source: pullSource, UserID: 5, From: t0, To: t0 + 86399, PulledAt: t0 + 90000}
	if _, err := s.PutPullWindow(ctx, w, pulledRecords(5, t0)); err != nil {
		t.Fatal(err)
	}
	w.PulledAt += 100
	changed, err := s.PutPullWindow(ctx, w, pulledRecords(5, t0))
	if err != nil || changed {
		t.Fatalf("same window, same records: changed %v, %v; want false", changed, err)
	}
	got, _ := s.PulledRecords(ctx, cloudmeter.PulledQuery{UserID: 5, From: 0, To: t0 + 1e9})
	if len(got) != 3 {
		t.Fatalf("%d records after pulling twice, want 3", len(got))
	}
	// The source corrected a cost: the window's records are replaced, not added to.
	recs := pulledRecords(5, t0)
	recs[0].Cost++
	changed, err = s.PutPullWindow(ctx, w, recs)
	if err != nil || !changed {
		t.Fatalf("same window, a record changed: changed %v, %v; want true", changed, err)
	}
	got, _ = s.PulledRecords(ctx, cloudmeter.PulledQuery{UserID: 5, From: 0, To: t0 + 1e9})
	if len(got) != 3 || got[1].Cost != 725925279 {
		t.Fatalf("after the correction: %+v", got)
	}
	// A window of another user is apart.
	if _, err := s.PutPullWindow(ctx, cloudmeter.PullWindow{Source: pullSource, UserID: 6, From: t0, To: t0 + 86399}, pulledRecords(6, t0)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.PulledRecords(ctx, cloudmeter.PulledQuery{UserID: 5, From: 0, To: t0 + 1e9})
	if len(got) != 3 {
		t.Fatalf("user 5 has %d records after user 6's pull", len(got))
	}
}

func testPulledOverlapRefused(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	w := cloudmeter.PullWindow{Source: pullSource, UserID: 5, From: t0, To: t0 + 86399}
	if _, err := s.PutPullWindow(ctx, w, pulledRecords(5, t0)); err != nil {
		t.Fatal(err)
	}
	_, err := s.PutPullWindow(ctx, cloudmeter.PullWindow{Source: pullSource, UserID: 5, From: t0 + 3600, To: t0 + 90000}, nil)
	wantKind(t, "an overlapping window", err, cloudmeter.KindConflict)
	// Adjacent windows and other sources are fine.
	if _, err := s.PutPullWindow(ctx, cloudmeter.PullWindow{Source: pullSource, UserID: 5, From: t0 + 86400, To: t0 + 90000}, nil); err != nil {
		t.Errorf("adjacent window: %v", err)
	}
	if _, err := s.PutPullWindow(ctx, cloudmeter.PullWindow{Source: "other", UserID: 5, From: t0 + 3600, To: t0 + 90000}, nil); err != nil {
		t.Errorf("another source: %v", err)
	}
	got, _ := s.PulledRecords(ctx, cloudmeter.PulledQuery{UserID: 5, From: 0, To: t0 + 1e9})
	if len(got) != 3 {
		t.Errorf("%d records, want the first window's 3", len(got))
	}
}

package report_test

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/report"
)

// TestSeed rates the seed example's events (DESIGN 2.3) from scratch, ledger to report,
// and reproduces its four records to the last digit.
func TestSeed(t *testing.T) {
	events, err := ledger.DecodeBatch("application/cloudevents-batch+json", demo.SeedEvents, ledger.Limits{})
	if err != nil {
		t.Fatalf("seed events: %v", err)
	}
	book, err := pricebook.Parse(demo.SeedPrices)
	if err != nil {
		t.Fatalf("seed prices: %v", err)
	}
	byProduct := map[int64][]cloudmeter.Event{}
	for _, e := range events {
		byProduct[e.ProductID] = append(byProduct[e.ProductID], e)
	}
	var spans []cloudmeter.Span
	for p, evs := range byProduct {
		r := rating.Meter(p, evs)
		if len(r.Anomalies) > 0 {
			t.Errorf("product %d: anomalies %+v", p, r.Anomalies)
		}
		spans = append(spans, r.Spans...)
	}
	sort.Slice(spans, func(i, j int) bool {
		a, b := spans[i], spans[j]
		if a.InfrastructureID != b.InfrastructureID {
			return a.InfrastructureID < b.InfrastructureID
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.ProductID != b.ProductID {
			return a.ProductID < b.ProductID
		}
		return a.Start < b.Start
	})
	infras := []cloudmeter.Infrastructure{{ID: 3668, UserID: 1, Label: "d-lake", Datacenter: "uk-reading", ServiceStatus: "deleted"}}
	start := mustTime(t, "2016-01-01T00:00:00Z")
	end := mustTime(t, "2016-12-31T23:59:59Z")
	now := mustTime(t, "2024-06-01T00:00:00Z")
	u, err := report.Build(1, spans, infras, rating.NewPricer(book), start, end, now)
	if err != nil {
		t.Fatal(err)
	}

	type seedRecord struct {
		Type                              cloudmeter.ResourceType
		Product                           int64
		Start, End                        string
		Quantity                          int64
		CostPerUnit, Cost                 string
		MeasurementPeriod, Infrastructure int64
	}
	want := []seedRecord{
		{cloudmeter.ResourceDrive, 3727, "2016-02-01T12:58:15Z", "2016-02-04T10:31:03Z", 250369, "0.01601563", "1.11383813", 3600, 3668},
		{cloudmeter.ResourceInstance, 2416, "2016-02-01T12:58:00Z", "2016-02-02T12:23:00Z", 84301, "0.31000000", "7.25925278", 3600, 3668},
		{cloudmeter.ResourceSharedDrive, 779, "2016-01-22T14:39:04Z", "2016-01-25T09:54:39Z", 242136, "0.00347222", "0.23354152", 3600, 3668},
		{cloudmeter.ResourceSubnet, 6378, "2016-02-01T12:57:58Z", "2016-02-04T10:30:53Z", 250376, "0.00000000", "0.00000000", 3600, 3668},
	}
	var got []seedRecord
	for _, r := range u.Records {
		got = append(got, seedRecord{r.Type, r.ProductID, cloudmeter.FormatTime(r.Start), cloudmeter.FormatTime(r.End), r.Quantity,
			r.CostPerUnit.String(), r.Cost.String(), r.MeasurementPeriod, r.InfrastructureID})
		if r.Unpriced != "" {
			t.Errorf("product %d is unpriced: %s", r.ProductID, r.Unpriced)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("seed records (-seed +got):\n%s", diff)
	}
	if u.Total.String() != "8.60663243" || u.Currency != "GBP" {
		t.Errorf("total %s %s, want 8.60663243 GBP", u.Total, u.Currency)
	}
	if diff := cmp.Diff(infras, u.Infrastructures); diff != "" {
		t.Errorf("infrastructures (-want +got):\n%s", diff)
	}
}

func mustTime(tb testing.TB, s string) int64 {
	tb.Helper()
	t, err := cloudmeter.ParseTime("time", s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

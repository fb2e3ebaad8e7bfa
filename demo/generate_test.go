package demo_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

const batchType = "application/cloudevents-batch+json"

func TestGenerateDeterministic(t *testing.T) {
	a := demo.Generate(7, 150, demo.Month)
	b := demo.Generate(7, 150, demo.Month)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d batches, then %d", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].JSON, b[i].JSON) || a[i].Events != b[i].Events {
			t.Fatalf("same seed: batch %d differs", i)
		}
	}
	c := demo.Generate(8, 150, demo.Month)
	if bytes.Equal(a[0].JSON, c[0].JSON) {
		t.Errorf("seeds 7 and 8 gave the same first batch")
	}
}

func TestBatches(t *testing.T) {
	batches := demo.Cloud(1, 1200, demo.Month)
	total := 0
	for i, b := range batches {
		if b.Events > demo.BatchSize || (i < len(batches)-1 && b.Events != demo.BatchSize) {
			t.Errorf("batch %d holds %d events; want %d (the last at most)", i, b.Events, demo.BatchSize)
		}
		total += b.Events
	}
	if total < 1200 {
		t.Errorf("1200 resources gave only %d events", total)
	}
}

// TestGenerateIngests decodes every generated event and ingests them into a real store:
// no conflicts, no anomalies (every history is valid), every user and resource type
// present, and every second of the month priced by the demo book.
func TestGenerateIngests(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	if _, err := svc.PutPrices(ctx, service.SystemKey, demo.DemoPrices); err != nil {
		t.Fatalf("DemoPrices: %v", err)
	}
	seed, err := ledger.DecodeBatch(batchType, demo.SeedEvents, ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Ingest(ctx, service.SystemKey, seed); err != nil {
		t.Fatal(err)
	}

	const resources = 300
	users := map[int64]int{}
	types := map[cloudmeter.ResourceType]int{}
	products := map[int64]bool{}
	total := 0
	for i, b := range demo.Generate(1, resources, demo.Month) {
		events, err := ledger.DecodeBatch(batchType, b.JSON, ledger.Limits{MaxEvents: demo.BatchSize})
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if len(events) != b.Events {
			t.Fatalf("batch %d: %d events decoded, Events says %d", i, len(events), b.Events)
		}
		for _, e := range events {
			if e.ProductID < demo.FirstProductID {
				t.Fatalf("event %s: product %d collides with the seed's ids", e.ID, e.ProductID)
			}
			products[e.ProductID] = true
			if e.Provision != nil {
				users[e.Provision.UserID]++
				types[e.Provision.ResourceType]++
			}
		}
		res, err := svc.Ingest(ctx, service.SystemKey, events)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if res.Accepted != len(events) || res.Duplicates != 0 {
			t.Fatalf("batch %d: accepted %d, duplicates %d of %d", i, res.Accepted, res.Duplicates, len(events))
		}
		total += len(events)
	}
	if len(products) != resources {
		t.Errorf("%d products; want %d", len(products), resources)
	}
	for u := int64(1); u <= 5; u++ {
		if users[u] == 0 {
			t.Errorf("user %d owns nothing", u)
		}
		if u > 1 && users[u] >= users[1] {
			t.Errorf("user %d owns %d resources, user 1 %d: user 1 should own the most", u, users[u], users[1])
		}
	}
	for _, typ := range []cloudmeter.ResourceType{cloudmeter.ResourceInstance, cloudmeter.ResourceDrive, cloudmeter.ResourceSharedDrive, cloudmeter.ResourceSubnet} {
		if types[typ] == 0 {
			t.Errorf("no %s generated", typ)
		}
	}
	if total <= resources {
		t.Errorf("%d events for %d resources: no changes were generated", total, resources)
	}

	anomalies, err := svc.Anomalies(ctx, service.SystemKey, cloudmeter.AnomalyQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range anomalies {
		t.Errorf("anomaly: product %d %s: %s", a.ProductID, a.Kind, a.Message)
	}

	// The seed's four records keep their costs under the demo book.
	u, err := svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: 1,
		Start: mustTime(t, "2016-01-01T00:00:00Z"), End: mustTime(t, "2016-02-29T23:59:59Z")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{779: "0.23354152", 3727: "1.11383813", 2416: "7.25925278", 6378: "0.00000000"}
	if len(u.Records) != len(want) {
		t.Errorf("seed report: %d records; want %d", len(u.Records), len(want))
	}
	for _, r := range u.Records {
		if r.Cost.String() != want[r.ProductID] {
			t.Errorf("seed product %d: cost %s; want %s", r.ProductID, r.Cost, want[r.ProductID])
		}
	}

	// The month: every user has records, nothing unpriced, and the mid-month price
	// change splits drives.
	monthEnd := demo.Month.AddDate(0, 1, 0).Unix() - 1
	split := demo.Month.AddDate(0, 0, 15).Unix()
	splitSeen := false
	for uid := int64(1); uid <= 5; uid++ {
		u, err := svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: uid, Start: demo.Month.Unix(), End: monthEnd})
		if err != nil {
			t.Fatalf("user %d: %v", uid, err)
		}
		if len(u.Records) == 0 {
			t.Errorf("user %d: no records in the month", uid)
		}
		for _, r := range u.Unpriced() {
			t.Errorf("user %d: product %d unpriced: %s", uid, r.ProductID, r.Unpriced)
		}
		for _, r := range u.Records {
			splitSeen = splitSeen || (r.Type == cloudmeter.ResourceDrive && r.Start == split)
		}
	}
	if !splitSeen {
		t.Errorf("no drive record starts at the price change %s", cloudmeter.FormatTime(split))
	}

	// The MetalSoft seed's own window returns data for user 1.
	u, err = svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: 1,
		Start: mustTime(t, "2023-12-31T23:59:59Z"), End: mustTime(t, "2024-12-31T23:59:59Z")})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Records) == 0 {
		t.Errorf("the MetalSoft seed window has no records for user 1")
	}
}

func TestDemoPrices(t *testing.T) {
	b, err := pricebook.Parse(demo.DemoPrices)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := pricebook.Parse(demo.SeedPrices)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Entries) <= len(seed.Entries) {
		t.Fatalf("DemoPrices has %d entries, the seed book %d: it should extend it", len(b.Entries), len(seed.Entries))
	}
	var perUser, perDC, stopped, change bool
	for _, e := range b.Entries {
		perUser = perUser || e.UserID != nil
		perDC = perDC || e.Datacenter != nil
		stopped = stopped || (e.State != nil && *e.State == "stopped")
		change = change || (e.ValidFrom != nil && e.ValidFrom.After(demo.Month) && e.ValidFrom.Before(demo.Month.AddDate(0, 1, 0)))
	}
	if !perUser || !perDC || !stopped || !change {
		t.Errorf("DemoPrices: per-user %v, per-datacenter %v, stopped %v, mid-month change %v; want all", perUser, perDC, stopped, change)
	}
}

func mustTime(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.Unix()
}

package report

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
)

// TestAddPulledProperty: pulled records join a report as their source gave them: the
// total grows by exactly their costs, each shows once with its quantity and cost
// untouched, both lists stay in report order, and every infrastructure is listed once.
func TestAddPulledProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u := &Utilization{UserID: 1, Total: money.Amount(rapid.Int64Range(0, 1e12).Draw(t, "total")),
			Infrastructures: []cloudmeter.Infrastructure{{ID: 5, Label: "local"}}}
		n := rapid.IntRange(0, 30).Draw(t, "n")
		var recs []cloudmeter.PulledRecord
		want := u.Total
		for i := range n {
			r := cloudmeter.PulledRecord{Source: "s", UserID: 1, InfrastructureID: rapid.Int64Range(1, 6).Draw(t, "infra"),
				Type:      rapid.SampledFrom([]cloudmeter.ResourceType{"instance", "drive", "network"}).Draw(t, "type"),
				ProductID: rapid.Int64Range(1, 9).Draw(t, "product"), Start: rapid.Int64Range(0, 1e6).Draw(t, "start"),
				Quantity: int64(i), Cost: money.Amount(rapid.Int64Range(0, 1e12).Draw(t, "cost")), MeasurementPeriod: 3600}
			if r.Type == "network" {
				r.Direction = rapid.SampledFrom(cloudmeter.Directions).Draw(t, "dir")
			}
			r.End = r.Start + 10
			want += r.Cost
			recs = append(recs, r)
		}
		if err := AddPulled(u, recs); err != nil {
			t.Fatal(err)
		}
		if u.Total != want {
			t.Fatalf("total %s, want %s", u.Total, want)
		}
		if len(u.Records)+len(u.Traffic) != n {
			t.Fatalf("%d records and %d traffic records for %d pulled", len(u.Records), len(u.Traffic), n)
		}
		seen := map[int64]bool{}
		for _, r := range u.Records {
			if r.Source != "s" || r.Cost != recs[r.Quantity].Cost {
				t.Fatalf("record %+v is not the pulled one", r)
			}
			seen[r.Quantity] = true
		}
		for _, r := range u.Traffic {
			if r.Source != "s" || r.Cost != recs[r.Quantity].Cost {
				t.Fatalf("traffic record %+v is not the pulled one", r)
			}
			seen[r.Quantity] = true
		}
		if len(seen) != n {
			t.Fatalf("%d distinct records shown, want %d", len(seen), n)
		}
		if !slices.IsSortedFunc(u.Records, func(a, b Record) int {
			if a.InfrastructureID != b.InfrastructureID {
				return int(a.InfrastructureID - b.InfrastructureID)
			}
			if a.Type != b.Type {
				return map[bool]int{true: -1, false: 1}[a.Type < b.Type]
			}
			if a.ProductID != b.ProductID {
				return int(a.ProductID - b.ProductID)
			}
			return int(a.Start - b.Start)
		}) {
			t.Fatalf("records out of order")
		}
		ids := map[int64]int{}
		for _, inf := range u.Infrastructures {
			ids[inf.ID]++
		}
		for id, c := range ids {
			if c != 1 {
				t.Fatalf("infrastructure %d listed %d times", id, c)
			}
		}
	})
}

// TestAddPulledCurrency: a report with no currency of its own (no price book loaded, as
// where cloudmeter only pulls) takes the currency of the pulled records; one priced by
// a local book keeps the book's.
func TestAddPulledCurrency(t *testing.T) {
	recs := []cloudmeter.PulledRecord{
		{Source: "s", UserID: 1, InfrastructureID: 5, Type: "instance", ProductID: 7, Start: 0, End: 3600,
			Quantity: 3600, MeasurementPeriod: 3600, CostPerUnit: money.Amount(31e6), Cost: money.Amount(31e6), Currency: "GBP"},
	}
	u := &Utilization{UserID: 1}
	if err := AddPulled(u, recs); err != nil {
		t.Fatal(err)
	}
	if u.Currency != "GBP" || u.Total != money.Amount(31e6) {
		t.Errorf("currency %q, total %s; want GBP and 0.31000000", u.Currency, u.Total)
	}
	u = &Utilization{UserID: 1, Currency: "GBP"}
	if err := AddPulled(u, []cloudmeter.PulledRecord{{Source: "s", UserID: 1, Type: "drive", ProductID: 8}}); err != nil {
		t.Fatal(err)
	}
	if u.Currency != "GBP" {
		t.Errorf("currency %q; want the book's GBP", u.Currency)
	}
}

// TestAddPulledRefusesAnotherCurrency: a pulled record in another currency than the
// report's is refused, never added to its total.
func TestAddPulledRefusesAnotherCurrency(t *testing.T) {
	u := &Utilization{UserID: 1, Currency: "GBP"}
	err := AddPulled(u, []cloudmeter.PulledRecord{{Source: "s", UserID: 1, Type: "instance", ProductID: 7, Cost: money.Amount(31e6), Currency: "USD"}})
	if cloudmeter.KindOf(err) != cloudmeter.KindConflict || u.Total != 0 {
		t.Errorf("error %v, total %s; want a conflict and nothing added", err, u.Total)
	}
}

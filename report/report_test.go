package report_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/report"
)

// t0 is 2024-01-01T00:00:00Z.
const t0 int64 = 1704067200

func ptr[T any](v T) *T { return &v }

// mustBook parses a price book or fails the test.
func mustBook(tb testing.TB, body string) *pricebook.Book {
	tb.Helper()
	b, err := pricebook.Parse([]byte(body))
	if err != nil {
		tb.Fatalf("price book: %v", err)
	}
	return b
}

func span(product, infra int64, typ cloudmeter.ResourceType, start, end int64) cloudmeter.Span {
	s := cloudmeter.Span{UserID: 1, ProductID: product, InfrastructureID: infra, Datacenter: "dc-a", Type: typ, State: cloudmeter.StateActive,
		Label: fmt.Sprintf("p-%d", product), Start: start, End: end}
	switch typ {
	case cloudmeter.ResourceDrive:
		s.Attributes.DriveSizeMBytes = ptr[int64](41000)
	case cloudmeter.ResourceSubnet:
		s.Attributes.SubnetType, s.Attributes.SubnetPrefixSize = ptr("ipv4"), ptr[int64](30)
	}
	return s
}

const simpleBook = `{"currency": "GBP", "entries": [
	{"resource_type": "instance", "price": "0.36", "unit": "item", "period_seconds": 3600},
	{"resource_type": "instance", "price": "0.72", "unit": "item", "period_seconds": 3600, "valid_from": "2024-01-01T01:00:00Z"},
	{"resource_type": "drive", "price": "0.0004", "unit": "gib", "period_seconds": 3600},
	{"resource_type": "network", "direction": "upload", "price": "0.06", "unit": "gb"}]}`

type rec struct {
	Product    int64
	Start, End int64 // relative to t0
	Quantity   int64
	CPU, Cost  string
	Unpriced   bool
}

func recsOf(u *report.Utilization) []rec {
	var out []rec
	for _, r := range u.Records {
		out = append(out, rec{r.ProductID, r.Start - t0, r.End - t0, r.Quantity, r.CostPerUnit.String(), r.Cost.String(), r.Unpriced != ""})
	}
	return out
}

func TestBuild(t *testing.T) {
	book := mustBook(t, simpleBook)
	infras := []cloudmeter.Infrastructure{{ID: 1, UserID: 1, Label: "one"}, {ID: 2, UserID: 1, Label: "two"}, {ID: 3, UserID: 1, Label: "three"}}
	tests := []struct {
		name            string
		spans           []cloudmeter.Span
		start, end, now int64 // relative to t0
		want            []rec
		total           string
		infras          []int64
	}{
		{
			name:  "ClippedToWindow",
			spans: []cloudmeter.Span{span(10, 1, cloudmeter.ResourceDrive, t0-100, t0+1000)},
			start: 0, end: 499, now: 1 << 30,
			want:  []rec{{10, 0, 499, 500, "0.01601563", "0.00222439", false}},
			total: "0.00222439", infras: []int64{1},
		},
		{
			name:  "ClippedToNow",
			spans: []cloudmeter.Span{span(10, 1, cloudmeter.ResourceDrive, t0, cloudmeter.OpenEnd)},
			start: 0, end: 1 << 30, now: 3599,
			want:  []rec{{10, 0, 3599, 3600, "0.01601563", "0.01601563", false}},
			total: "0.01601563", infras: []int64{1},
		},
		{
			name:  "NowBeforeTheWindow",
			spans: []cloudmeter.Span{span(10, 1, cloudmeter.ResourceDrive, t0, cloudmeter.OpenEnd)},
			start: 100, end: 200, now: 50,
			total: "0.00000000",
		},
		{
			name:  "SpanOutsideTheWindow",
			spans: []cloudmeter.Span{span(10, 1, cloudmeter.ResourceDrive, t0, t0+99)},
			start: 100, end: 200, now: 1 << 30,
			total: "0.00000000",
		},
		{
			name:  "OneSecondAtEachEdge",
			spans: []cloudmeter.Span{span(10, 1, cloudmeter.ResourceDrive, t0, t0+100), span(11, 1, cloudmeter.ResourceDrive, t0+200, t0+300)},
			start: 100, end: 200, now: 1 << 30,
			want:  []rec{{10, 100, 100, 1, "0.01601563", "0.00000445", false}, {11, 200, 200, 1, "0.01601563", "0.00000445", false}},
			total: "0.00000890", infras: []int64{1},
		},
		{
			name:  "PriceChangeSplitsARecord",
			spans: []cloudmeter.Span{span(20, 2, cloudmeter.ResourceInstance, t0, t0+7199)},
			start: 0, end: 1 << 30, now: 1 << 30,
			want:  []rec{{20, 0, 3599, 3600, "0.36000000", "0.36000000", false}, {20, 3600, 7199, 3600, "0.72000000", "0.72000000", false}},
			total: "1.08000000", infras: []int64{2},
		},
		{
			name: "ExcludeBillingCostsNothing",
			spans: func() []cloudmeter.Span {
				s := span(20, 2, cloudmeter.ResourceInstance, t0, t0+3599)
				s.ExcludeBilling = true
				return []cloudmeter.Span{s}
			}(),
			start: 0, end: 1 << 30, now: 1 << 30,
			want:  []rec{{20, 0, 3599, 3600, "0.00000000", "0.00000000", false}},
			total: "0.00000000", infras: []int64{2},
		},
		{
			// docs/rating.md: an excluded resource "appears in reports with its seconds,
			// cost_per_unit 0 and cost 0, and is never listed as unpriced".
			name: "ExcludedIsNeverUnpriced",
			spans: func() []cloudmeter.Span {
				s := span(30, 3, cloudmeter.ResourceSubnet, t0, t0+9)
				s.ExcludeBilling = true
				return []cloudmeter.Span{s}
			}(),
			start: 0, end: 1 << 30, now: 1 << 30,
			want:  []rec{{30, 0, 9, 10, "0.00000000", "0.00000000", false}},
			total: "0.00000000", infras: []int64{3},
		},
		{
			name:  "UnpricedAtCostZero",
			spans: []cloudmeter.Span{span(30, 3, cloudmeter.ResourceSubnet, t0, t0+9)},
			start: 0, end: 1 << 30, now: 1 << 30,
			want:  []rec{{30, 0, 9, 10, "0.00000000", "0.00000000", true}},
			total: "0.00000000", infras: []int64{3},
		},
		{
			name:  "WaypointsAreNotBilledByTime",
			spans: []cloudmeter.Span{span(40, 1, cloudmeter.ResourceNetwork, t0, t0+9), span(41, 1, cloudmeter.ResourceDataLake, t0, t0+9)},
			start: 0, end: 1 << 30, now: 1 << 30,
			total: "0.00000000",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := report.Build(1, tc.spans, infras, rating.NewPricer(book), t0+tc.start, t0+tc.end, t0+tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, recsOf(u)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if u.Total.String() != tc.total {
				t.Errorf("total %s, want %s", u.Total, tc.total)
			}
			var ids []int64
			for _, inf := range u.Infrastructures {
				ids = append(ids, inf.ID)
			}
			if diff := cmp.Diff(tc.infras, ids); diff != "" {
				t.Errorf("infrastructures (-want +got):\n%s", diff)
			}
			if u.UserID != 1 || u.Currency != "GBP" || u.Start != t0+tc.start || u.End != t0+tc.end {
				t.Errorf("header: user %d currency %s window [%d, %d]", u.UserID, u.Currency, u.Start-t0, u.End-t0)
			}
			var unpriced int
			for _, r := range u.Records {
				if r.Unpriced != "" {
					unpriced++
				}
			}
			if len(u.Unpriced()) != unpriced {
				t.Errorf("Unpriced() lists %d records, want %d", len(u.Unpriced()), unpriced)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	book := mustBook(t, simpleBook)
	spans := []cloudmeter.Span{
		span(10, 1, cloudmeter.ResourceDrive, t0, t0+3599),
		span(11, 1, cloudmeter.ResourceDrive, t0, t0+3599),
		span(20, 1, cloudmeter.ResourceInstance, t0, t0+7199), // two records: the price changes
		span(21, 2, cloudmeter.ResourceInstance, t0, t0+3599),
	}
	u, err := report.Build(1, spans, nil, rating.NewPricer(book), t0, t0+1<<30, t0+1<<30)
	if err != nil {
		t.Fatal(err)
	}
	got, err := u.Summary()
	if err != nil {
		t.Fatal(err)
	}
	want := []report.TypeTotal{
		{InfrastructureID: 1, Type: cloudmeter.ResourceDrive, Resources: 2, Records: 2, Quantity: 7200, Cost: money.Amount(3203126)},
		{InfrastructureID: 1, Type: cloudmeter.ResourceInstance, Resources: 1, Records: 2, Quantity: 7200, Cost: money.Amount(108000000)},
		{InfrastructureID: 2, Type: cloudmeter.ResourceInstance, Resources: 1, Records: 1, Quantity: 3600, Cost: money.Amount(36000000)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

// genBook draws a price book for the time-billed types, with effective-dated entries
// and gaps (unpriced usage).
func genBook(t *rapid.T) *pricebook.Book {
	b := &pricebook.Book{Currency: "GBP"}
	for _, typ := range []cloudmeter.ResourceType{cloudmeter.ResourceInstance, cloudmeter.ResourceDrive, cloudmeter.ResourceSharedDrive, cloudmeter.ResourceSubnet} {
		for i := range rapid.IntRange(0, 3).Draw(t, string(typ)+".entries") {
			l := fmt.Sprintf("%s[%d]", typ, i)
			e := &pricebook.Entry{ResourceType: typ, Unit: pricebook.UnitItem,
				Price:         money.Price(rapid.Int64Range(0, 100000).Draw(t, l+".price") * money.PriceScale / 10000),
				PeriodSeconds: rapid.SampledFrom([]int64{3600, 86400, 2592000}).Draw(t, l+".period")}
			if (typ == cloudmeter.ResourceDrive || typ == cloudmeter.ResourceSharedDrive) && rapid.Bool().Draw(t, l+".gib") {
				e.Unit = pricebook.UnitGiB
			}
			if rapid.Bool().Draw(t, l+".dated") {
				from := t0 + rapid.Int64Range(-10, 200).Draw(t, l+".from")*600
				e.ValidFrom = ptr(time.Unix(from, 0).UTC())
				if rapid.Bool().Draw(t, l+".until?") {
					e.ValidUntil = ptr(time.Unix(from+rapid.Int64Range(1, 200).Draw(t, l+".until")*600, 0).UTC())
				}
			}
			b.Entries = append(b.Entries, e)
		}
	}
	if errs := b.Validate(); len(errs) > 0 {
		t.Fatalf("generated book is invalid: %v", errs)
	}
	return b
}

// genSpans draws the spans of several products of one user: each product's spans are
// contiguous, the last possibly open-ended; waypoints included.
func genSpans(t *rapid.T) []cloudmeter.Span {
	var out []cloudmeter.Span
	types := append([]cloudmeter.ResourceType(nil), cloudmeter.ResourceTypes...)
	for p := range rapid.IntRange(1, 6).Draw(t, "products") {
		product := int64(100 + p)
		s := cloudmeter.Span{UserID: 1, ProductID: product, InfrastructureID: rapid.Int64Range(1, 3).Draw(t, "infra"),
			Datacenter: "dc-a", Type: rapid.SampledFrom(types).Draw(t, "type"), State: cloudmeter.StateActive,
			ExcludeBilling: rapid.IntRange(0, 4).Draw(t, "exclude") == 0}
		s.Attributes.DriveSizeMBytes = ptr(rapid.Int64Range(1, 100000).Draw(t, "drive_size"))
		s.Attributes.SharedDriveSizeMBytes = ptr(rapid.Int64Range(1, 100000).Draw(t, "shared_size"))
		start := t0 + rapid.Int64Range(-100000, 100000).Draw(t, "provisioned")
		for k := range rapid.IntRange(1, 4).Draw(t, "spans") {
			s.Start = start
			s.End = start + rapid.Int64Range(0, 50000).Draw(t, "length")
			if k > 0 && rapid.Bool().Draw(t, "stopped") {
				s.State = cloudmeter.StateStopped
			}
			out = append(out, s)
			start = s.End + 1
		}
		if rapid.Bool().Draw(t, "open") {
			out[len(out)-1].End = cloudmeter.OpenEnd
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
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
	return out
}

// TestPropBuild: the total is the sum of the record costs and of the summary; every
// record lies in the window and before now, its quantity is its length and its cost is
// computed from its rounded cost per unit; the records of a product cover exactly its
// billable usage in the window.
func TestPropBuild(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		book := genBook(t)
		spans := genSpans(t)
		// Windows of every size, from one second to all of the usage.
		start := t0 + rapid.Int64Range(-150, 150).Draw(t, "start")*1000 + rapid.Int64Range(0, 999).Draw(t, "start_s")
		end := start + rapid.SampledFrom([]int64{0, 1, 3600, 86400, 150000, 300000}).Draw(t, "window") + rapid.Int64Range(0, 999).Draw(t, "window_s")
		now := end + rapid.SampledFrom([]int64{-100000, -3600, 0, 1 << 40}).Draw(t, "now") + rapid.Int64Range(0, 999).Draw(t, "now_s")
		infras := []cloudmeter.Infrastructure{{ID: 1, UserID: 1}, {ID: 2, UserID: 1}, {ID: 3, UserID: 1}}
		u, err := report.Build(1, spans, infras, rating.NewPricer(book), start, end, now)
		if err != nil {
			t.Fatal(err)
		}

		var sum money.Amount
		seconds := map[int64]int64{}
		withRecords := map[int64]bool{}
		for i, r := range u.Records {
			sum += r.Cost
			if r.Quantity != r.End-r.Start+1 || r.Quantity < 1 {
				t.Fatalf("record %d [%d, %d]: quantity %d", i, r.Start, r.End, r.Quantity)
			}
			if r.Start < start || r.End > end || r.End > now {
				t.Fatalf("record %d [%d, %d] leaves the window [%d, %d] or passes now %d", i, r.Start, r.End, start, end, now)
			}
			if !rating.Billable(&r.Span) {
				t.Fatalf("record %d is a %s, which is not billed by time", i, r.Type)
			}
			cpu := r.CostPerUnit
			if r.ExcludeBilling && cpu != 0 {
				t.Fatalf("record %d excludes billing, yet costs %s per unit", i, cpu)
			}
			want, err := money.Cost(r.Quantity, r.MeasurementPeriod, cpu)
			if err != nil || r.Cost != want {
				t.Fatalf("record %d: cost %s, want %s (%v)", i, r.Cost, want, err)
			}
			if i > 0 {
				p := u.Records[i-1]
				if p.ProductID == r.ProductID && p.End >= r.Start {
					t.Fatalf("records %d and %d of product %d overlap", i-1, i, r.ProductID)
				}
			}
			seconds[r.ProductID] += r.Quantity
			withRecords[r.InfrastructureID] = true
		}
		if sum != u.Total {
			t.Fatalf("total %s, sum of records %s", u.Total, sum)
		}

		wantSeconds := map[int64]int64{}
		for _, s := range spans {
			if lo, hi := max(s.Start, start), min(s.End, end, now); rating.Billable(&s) && lo <= hi {
				wantSeconds[s.ProductID] += hi - lo + 1
			}
		}
		if diff := cmp.Diff(wantSeconds, seconds); diff != "" {
			t.Fatalf("billed seconds per product (-usage in window +records):\n%s", diff)
		}
		for _, inf := range u.Infrastructures {
			if !withRecords[inf.ID] {
				t.Fatalf("infrastructure %d is listed without records", inf.ID)
			}
		}
		if len(u.Infrastructures) != len(withRecords) {
			t.Fatalf("%d infrastructures listed, %d have records", len(u.Infrastructures), len(withRecords))
		}

		summary, err := u.Summary()
		if err != nil {
			t.Fatal(err)
		}
		type key struct {
			infra int64
			typ   cloudmeter.ResourceType
		}
		byType := map[key]report.TypeTotal{}
		for _, r := range u.Records {
			k := key{r.InfrastructureID, r.Type}
			tt := byType[k]
			tt.InfrastructureID, tt.Type = k.infra, k.typ
			tt.Records++
			tt.Quantity += r.Quantity
			tt.Cost += r.Cost
			byType[k] = tt
		}
		var total money.Amount
		seen := map[key]bool{}
		for _, tt := range summary {
			k := key{tt.InfrastructureID, tt.Type}
			if seen[k] {
				t.Fatalf("summary lists infrastructure %d %s twice", k.infra, k.typ)
			}
			seen[k] = true
			want := byType[k]
			if tt.Records != want.Records || tt.Quantity != want.Quantity || tt.Cost != want.Cost {
				t.Fatalf("summary %+v, records say %+v", tt, want)
			}
			total += tt.Cost
		}
		if total != u.Total || len(summary) != len(byType) {
			t.Fatalf("summary sums to %s over %d lines; total %s over %d", total, len(summary), u.Total, len(byType))
		}
	})
}

// TestBuildWithoutABook: before any book is loaded, usage is reported unpriced, at cost
// 0, in no currency (none was chosen).
func TestBuildWithoutABook(t *testing.T) {
	spans := []cloudmeter.Span{span(10, 1, cloudmeter.ResourceDrive, t0, t0+99), span(20, 1, cloudmeter.ResourceInstance, t0, cloudmeter.OpenEnd)}
	u, err := report.Build(1, spans, nil, rating.NewPricer(pricebook.Empty), t0, t0+199, t0+149)
	if err != nil {
		t.Fatal(err)
	}
	want := []rec{{10, 0, 99, 100, "0.00000000", "0.00000000", true}, {20, 0, 149, 150, "0.00000000", "0.00000000", true}}
	if diff := cmp.Diff(want, recsOf(u)); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if u.Currency != "" || u.Total != 0 || len(u.Unpriced()) != 2 {
		t.Errorf("currency %q, total %s, %d unpriced; want none, 0, 2", u.Currency, u.Total, len(u.Unpriced()))
	}
}

// TestInfrastructureTotals: each infrastructure's total is its records' and traffic
// records' cost; installments belong to none.
func TestInfrastructureTotals(t *testing.T) {
	rec := func(infra int64, cost int64) report.Record {
		r := report.Record{Cost: money.Amount(cost)}
		r.InfrastructureID = infra
		return r
	}
	u := &report.Utilization{Records: []report.Record{rec(1, 10), rec(1, 5), rec(2, 7)},
		Traffic:          []report.TrafficRecord{{Waypoint: cloudmeter.Span{InfrastructureID: 2}, Cost: 3}, {Waypoint: cloudmeter.Span{InfrastructureID: 3}, Cost: 1}},
		InstallmentsCost: 100}
	got, err := u.InfrastructureTotals()
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]money.Amount{1: 15, 2: 10, 3: 1}
	if len(got) != len(want) || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Errorf("totals %v, want %v", got, want)
	}
}

package report_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/reservation"
)

// TestBuildReservedProperties: on random instances (a price change at t0+3600 inside
// them) and reservations, the covered and on-demand records of each product tile its
// seconds in the window exactly, once each; a second is in a covered record exactly when
// Cover says so, at the reservation's utilization price; and the total is the sum of the
// lines plus the installments.
func TestBuildReservedProperties(t *testing.T) {
	book := mustBook(t, simpleBook)
	rapid.Check(t, func(t *rapid.T) {
		var spans []cloudmeter.Span
		for p := int64(1); p <= int64(rapid.IntRange(1, 4).Draw(t, "instances")); p++ {
			s := span(p, 10, cloudmeter.ResourceInstance, t0+rapid.Int64Range(0, 7000).Draw(t, "start"), 0)
			s.End = s.Start + rapid.Int64Range(0, 7000).Draw(t, "length")
			s.Attributes.ServerTypeID = ptr[int64](rapid.Int64Range(7, 8).Draw(t, "type"))
			spans = append(spans, s)
		}
		var rs []cloudmeter.Reservation
		for id := int64(1); id <= int64(rapid.IntRange(0, 3).Draw(t, "reservations")); id++ {
			start := t0 + rapid.Int64Range(0, 9000).Draw(t, "rstart")
			rs = append(rs, cloudmeter.Reservation{ID: id, UserID: 1, ServerTypeID: 7, Datacenter: "dc-a", CycleMonths: 1,
				Price: money.Amount(rapid.Int64Range(0, 1e10).Draw(t, "price")), UtilizationPrice: money.Amount(rapid.Int64Range(0, 1e8).Draw(t, "uprice")),
				Start: start, End: start + rapid.Int64Range(0, 9000).Draw(t, "rlength")})
		}
		from := t0 + rapid.Int64Range(0, 9000).Draw(t, "from")
		to := from + rapid.Int64Range(0, 9000).Draw(t, "to")
		prov := map[int64]int64{}
		for _, s := range spans {
			prov[s.ProductID] = s.Start
		}
		cover := reservation.Cover(spans, rs, prov, from, to)
		reserved := &report.Reserved{Coverage: cover, Installments: reservation.Installments(rs, from, to)}
		u, err := report.BuildReserved(1, spans, nil, rating.NewPricer(book), from, to, to, reserved)
		if err != nil {
			t.Fatal(err)
		}
		covered := map[[2]int64]*cloudmeter.Reservation{}
		for prod, pieces := range cover {
			for _, pc := range pieces {
				for s := pc.Start; s <= pc.End; s++ {
					covered[[2]int64{prod, s}] = pc.Reservation
				}
			}
		}
		seen := map[[2]int64]bool{}
		var sum money.Amount
		for _, r := range u.Records {
			if r.Quantity != r.End-r.Start+1 {
				t.Fatalf("record %+v: quantity is not end - start + 1", r)
			}
			for s := r.Start; s <= r.End; s++ {
				k := [2]int64{r.ProductID, s}
				if seen[k] {
					t.Fatalf("product %d second %d is in two records", r.ProductID, s)
				}
				seen[k] = true
				if covered[k] != r.Reservation {
					t.Fatalf("product %d second %d: record's reservation %v, coverage %v", r.ProductID, s, r.Reservation, covered[k])
				}
			}
			if r.Reservation != nil && (r.CostPerUnit != r.Reservation.UtilizationPrice || r.MeasurementPeriod != 3600) {
				t.Fatalf("covered record %+v: not at its reservation's utilization price per 3600 s", r)
			}
			sum, _ = sum.Add(r.Cost)
		}
		billed := 0
		for _, s := range spans {
			billed += int(max(0, min(s.End, to)-max(s.Start, from)+1))
			for sec := max(s.Start, from); sec <= min(s.End, to); sec++ {
				if !seen[[2]int64{s.ProductID, sec}] {
					t.Fatalf("product %d second %d is in no record", s.ProductID, sec)
				}
			}
		}
		if len(seen) != billed {
			t.Fatalf("records hold %d seconds; the spans bill %d in the window", len(seen), billed)
		}
		inst, _ := reservation.Total(reserved.Installments)
		if want, _ := sum.Add(inst); u.Total != want || u.InstallmentsCost != inst {
			t.Fatalf("total %s, installments %s; want lines %s + installments %s", u.Total, u.InstallmentsCost, sum, inst)
		}
	})
}

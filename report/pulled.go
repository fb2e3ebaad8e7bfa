package report

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cloudmeter/cloudmeter"
)

// AddPulled adds records imported by a pull connector to u, beside its locally metered
// usage: each as its source gave it (quantity, cost per unit and cost are the source's,
// never priced again), usage records among u.Records and traffic records among
// u.Traffic, each list kept in report order, and their costs added to u.Total. The
// caller selects the records of the window (those whose start lies in it): a pulled
// record is never split, so it counts in exactly one of adjacent windows.
//
// A report without a currency (no price book is loaded here, as where cloudmeter only
// pulls) takes that of the pulled records, so that their costs are not said to be in
// no currency.
//
// Errors: KindInvalid when the total overflows the money type; KindConflict for a
// record in another currency than the report's (its cost cannot be added to the total).
func AddPulled(u *Utilization, recs []cloudmeter.PulledRecord) error {
	if len(recs) == 0 {
		return nil
	}
	seen := map[int64]bool{}
	for _, inf := range u.Infrastructures {
		seen[inf.ID] = true
	}
	for i := range recs {
		p := &recs[i]
		if u.Currency == "" {
			u.Currency = p.Currency
		}
		if p.Currency != "" && p.Currency != u.Currency {
			return cloudmeter.Errorf(cloudmeter.KindConflict, "pulled record of product %d from %s: its cost is in %s, the report's in %s; a report adds no costs of two currencies",
				p.ProductID, p.Source, p.Currency, u.Currency)
		}
		span := cloudmeter.Span{UserID: p.UserID, ProductID: p.ProductID, InfrastructureID: p.InfrastructureID, Datacenter: p.Datacenter,
			Type: p.Type, Label: p.Label, Subdomain: p.Subdomain, Attributes: p.Attributes, Start: p.Start, End: p.End}
		if p.Traffic() {
			u.Traffic = append(u.Traffic, TrafficRecord{Waypoint: span, Direction: p.Direction, Start: p.Start, End: p.End,
				MeasurementPeriod: p.MeasurementPeriod, CostPerUnit: p.CostPerUnit, Quantity: p.Quantity, Cost: p.Cost, Source: p.Source})
		} else {
			rec := Record{Quantity: p.Quantity, Cost: p.Cost, Source: p.Source}
			rec.Span, rec.CostPerUnit, rec.MeasurementPeriod = span, p.CostPerUnit, p.MeasurementPeriod
			u.Records = append(u.Records, rec)
		}
		var err error
		if u.Total, err = u.Total.Add(p.Cost); err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "report total does not fit: %v", err)
		}
		if !seen[p.InfrastructureID] {
			seen[p.InfrastructureID] = true
			u.Infrastructures = append(u.Infrastructures, cloudmeter.Infrastructure{ID: p.InfrastructureID, UserID: p.UserID,
				Label: p.InfrastructureLabel, Datacenter: p.Datacenter})
		}
	}
	slices.SortStableFunc(u.Records, func(a, b Record) int {
		return cmp.Or(cmp.Compare(a.InfrastructureID, b.InfrastructureID), strings.Compare(string(a.Type), string(b.Type)),
			cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Start, b.Start))
	})
	slices.SortStableFunc(u.Traffic, func(a, b TrafficRecord) int {
		return cmp.Or(cmp.Compare(a.Waypoint.InfrastructureID, b.Waypoint.InfrastructureID), strings.Compare(string(a.Waypoint.Type), string(b.Waypoint.Type)),
			strings.Compare(string(a.Direction), string(b.Direction)), cmp.Compare(a.Waypoint.ProductID, b.Waypoint.ProductID), cmp.Compare(a.Start, b.Start))
	})
	slices.SortStableFunc(u.Infrastructures, func(a, b cloudmeter.Infrastructure) int { return cmp.Compare(a.ID, b.ID) })
	return nil
}

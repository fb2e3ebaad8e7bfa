// Package report builds utilization reports from usage spans and a price book: it clips
// each priced segment to the report window and costs it (DESIGN 2.1 to 2.3). Transports
// turn a Utilization into their own wire format. Pure: no clock (now is a parameter), no
// SQL, no HTTP.
package report

import (
	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/reservation"
)

// Record is one line of a report: a priced segment clipped to the window.
type Record struct {
	rating.Segment
	// Quantity is the number of billed seconds, End - Start + 1.
	Quantity int64
	// Cost is round_half_up_8(Quantity / MeasurementPeriod x CostPerUnit).
	Cost money.Amount
	// Source names the system a pulled record came from (AddPulled); its quantity and
	// cost are that system's. Empty for locally metered usage.
	Source string
	// Reservation is the reservation that covers the record ("is_reservation": "1"), whose
	// utilization price is its CostPerUnit; nil for usage billed on demand.
	Reservation *cloudmeter.Reservation
}

// Utilization is a user's usage and cost over a closed window of seconds.
type Utilization struct {
	UserID   int64
	Currency string
	// Start and End are the window as requested; records stop at the report's now.
	Start, End int64
	// Records are ordered by infrastructure, type, product and start.
	Records []Record
	// Traffic are the network report's records (AddTraffic), ordered by infrastructure,
	// waypoint type, direction, product and start.
	Traffic []TrafficRecord
	// Infrastructures are those that have records, by id.
	Infrastructures []cloudmeter.Infrastructure
	// Installments are the reservation installments due in the window (BuildReserved),
	// ordered by start, then reservation id; InstallmentsCost is their sum.
	Installments     []reservation.Installment
	InstallmentsCost money.Amount
	// Total is the cost of every record, traffic and installments included.
	Total money.Amount
}

// Reserved is what a user's reservations change in a report: which seconds of which
// instances they cover, and the installments due in the window.
type Reserved struct {
	Coverage     reservation.Coverage
	Installments []reservation.Installment
}

// Build prices and clips spans (ordered by infrastructure, type, product and start) to
// the window [start, end], stopping at now. infras describes the user's
// infrastructures; only those with records are kept.
//
// Errors: KindInvalid when a cost overflows the money type.
func Build(userID int64, spans []cloudmeter.Span, infras []cloudmeter.Infrastructure, pricer *rating.Pricer, start, end, now int64) (*Utilization, error) {
	return BuildReserved(userID, spans, infras, pricer, start, end, now, nil)
}

// BuildReserved is Build with the user's reservations (nil: none): the seconds they cover
// are records of their own at the covering reservation's utilization price, the rest is
// priced on demand, and the installments due in the window are added to the total.
//
// Errors: KindInvalid when a cost overflows the money type.
func BuildReserved(userID int64, spans []cloudmeter.Span, infras []cloudmeter.Infrastructure, pricer *rating.Pricer, start, end, now int64,
	reserved *Reserved) (*Utilization, error) {
	u := &Utilization{UserID: userID, Currency: pricer.Book().Currency, Start: start, End: end,
		Records: make([]Record, 0, len(spans)+len(spans)/8)}
	to := min(end, now)
	seen := map[int64]bool{}
	var cover reservation.Coverage
	if reserved != nil {
		cover = reserved.Coverage
	}
	add := func(rec Record) error {
		var err error
		rec.Cost, err = money.Cost(rec.Quantity, rec.MeasurementPeriod, rec.CostPerUnit)
		if err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "product %d: cost does not fit: %v", rec.ProductID, err)
		}
		if u.Total, err = u.Total.Add(rec.Cost); err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "report total does not fit: %v", err)
		}
		u.Records = append(u.Records, rec)
		seen[rec.InfrastructureID] = true
		return nil
	}
	onDemand := func(sp *cloudmeter.Span, from, to int64) error {
		segs, err := pricer.Price(sp, from, to)
		if err != nil {
			return err
		}
		for _, seg := range segs {
			rec := Record{Segment: seg, Quantity: seg.End - seg.Start + 1}
			if seg.ExcludeBilling {
				// Excluded usage is shown at cost 0, and is never unpriced: no price applies by design.
				rec.CostPerUnit, rec.Unpriced = 0, ""
			}
			if err := add(rec); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range spans {
		sp := &spans[i]
		if !rating.Billable(sp) {
			continue
		}
		from, last := max(sp.Start, start), min(sp.End, to)
		for _, pc := range cover[sp.ProductID] {
			if from > last {
				break
			}
			if pc.End < from || pc.Start > last {
				continue
			}
			if pc.Start > from {
				if err := onDemand(sp, from, pc.Start-1); err != nil {
					return nil, err
				}
			}
			rec := Record{Segment: rating.Segment{Span: *sp, CostPerUnit: pc.Reservation.UtilizationPrice, MeasurementPeriod: reservation.UtilizationPeriod},
				Reservation: pc.Reservation}
			rec.Start, rec.End = max(pc.Start, from), min(pc.End, last)
			rec.Quantity = rec.End - rec.Start + 1
			if err := add(rec); err != nil {
				return nil, err
			}
			from = rec.End + 1
		}
		if err := onDemand(sp, from, last); err != nil {
			return nil, err
		}
	}
	if reserved != nil && len(reserved.Installments) > 0 {
		var err error
		u.Installments = reserved.Installments
		if u.InstallmentsCost, err = reservation.Total(u.Installments); err != nil {
			return nil, err
		}
		if u.Total, err = u.Total.Add(u.InstallmentsCost); err != nil {
			return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "report total does not fit: %v", err)
		}
	}
	for _, inf := range infras {
		if seen[inf.ID] {
			u.Infrastructures = append(u.Infrastructures, inf)
		}
	}
	return u, nil
}

// TypeTotal sums the records of one resource type in one infrastructure.
type TypeTotal struct {
	InfrastructureID int64
	Type             cloudmeter.ResourceType
	// Resources counts distinct products; Records counts lines.
	Resources int
	Records   int
	Quantity  int64
	Cost      money.Amount
}

// Summary sums the records per infrastructure and type, in record order.
func (u *Utilization) Summary() ([]TypeTotal, error) {
	var out []TypeTotal
	lastProduct := int64(-1)
	for _, r := range u.Records {
		n := len(out)
		if n == 0 || out[n-1].InfrastructureID != r.InfrastructureID || out[n-1].Type != r.Type {
			out = append(out, TypeTotal{InfrastructureID: r.InfrastructureID, Type: r.Type})
			n++
			lastProduct = -1
		}
		t := &out[n-1]
		t.Records++
		if r.ProductID != lastProduct {
			t.Resources++
			lastProduct = r.ProductID
		}
		t.Quantity += r.Quantity
		var err error
		if t.Cost, err = t.Cost.Add(r.Cost); err != nil {
			return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "summary total does not fit: %v", err)
		}
	}
	return out, nil
}

// InfrastructureTotals sums the cost of each infrastructure's records and traffic
// records: what the report filtered by that infrastructure totals (reservation
// installments belong to no infrastructure, and partner charges are not part of a
// report's total).
func (u *Utilization) InfrastructureTotals() (map[int64]money.Amount, error) {
	out := map[int64]money.Amount{}
	add := func(infra int64, cost money.Amount) error {
		sum, err := out[infra].Add(cost)
		if err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "infrastructure %d's total does not fit: %v", infra, err)
		}
		out[infra] = sum
		return nil
	}
	for i := range u.Records {
		if err := add(u.Records[i].InfrastructureID, u.Records[i].Cost); err != nil {
			return nil, err
		}
	}
	for i := range u.Traffic {
		if err := add(u.Traffic[i].Waypoint.InfrastructureID, u.Traffic[i].Cost); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Unpriced returns the records no price book entry prices.
func (u *Utilization) Unpriced() []Record {
	var out []Record
	for _, r := range u.Records {
		if r.Unpriced != "" {
			out = append(out, r)
		}
	}
	return out
}

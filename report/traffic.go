package report

import (
	"fmt"
	"slices"
	"sort"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/rating"
)

// TrafficRecord is one metered_waypoints line of the network report: a waypoint's
// traffic in one direction over the stretch of its lifetime, clipped to the window, that
// one price covers.
type TrafficRecord struct {
	// Waypoint describes the waypoint (its identity fields; Start and End are its first
	// span's).
	Waypoint  cloudmeter.Span
	Direction cloudmeter.Direction
	// Start and End bound the record: the waypoint's lifetime (or the price's validity)
	// clipped to the window and to now.
	Start, End int64
	// MeasurementPeriod is the waypoint's, in seconds.
	MeasurementPeriod int64
	// Entry is the price book entry in force; nil when none prices this traffic.
	Entry *pricebook.Entry
	// CostPerUnit is the price per GB rounded half-up to 8 places.
	CostPerUnit money.Amount
	// Bytes is the traffic of the measurement periods that start within [Start, End].
	Bytes int64
	// Quantity is Bytes in GB (1024^3 bytes), rounded half-up to 4 places, in 1e-4 GB.
	Quantity int64
	// Cost is round_half_up_8(Quantity x CostPerUnit).
	Cost money.Amount
	// Unpriced says why no price applies to traffic that was metered.
	Unpriced string
	// Source names the system a pulled record came from (AddPulled). Empty for locally
	// metered traffic.
	Source string
}

// TrafficTotal sums the records of one infrastructure, waypoint type and direction.
type TrafficTotal struct {
	InfrastructureID int64
	Type             cloudmeter.ResourceType
	Direction        cloudmeter.Direction
	Quantity         int64 // 1e-4 GB
	Cost             money.Amount
	// From and To index the records summed: Traffic[From:To].
	From, To int
}

// TrafficCuts returns the seconds in (start, end] at which a traffic price of book starts
// or stops being valid: the points where the traffic of a window must be split.
func TrafficCuts(book *pricebook.Book, start, end int64) []int64 {
	var cuts []int64
	for _, e := range book.Entries {
		if !e.Traffic() {
			continue
		}
		for _, c := range []int64{e.From(), e.Until()} {
			if c > start && c <= end {
				cuts = append(cuts, c)
			}
		}
	}
	slices.Sort(cuts)
	return slices.Compact(cuts)
}

// Waypoints reports whether spans hold any waypoint, so that a report without one need
// not ask for traffic.
func Waypoints(spans []cloudmeter.Span) bool {
	for i := range spans {
		if spans[i].Type.Waypoint() {
			return true
		}
	}
	return false
}

// AddTraffic adds the network report to u: for each waypoint of spans (ordered by
// infrastructure, type, product and start), for each direction, one record per price in
// force over its lifetime clipped to [u.Start, min(u.End, now)]. sums are the store's
// traffic sums of that window split at cuts (TrafficCuts of the same book). infras
// describes the user's infrastructures: those with records of either kind are kept.
//
// A stretch of a waypoint that no price covers is shown (at cost 0, with Unpriced set)
// when traffic was metered in it, or when no price covers any of the waypoint's
// stretches in that direction; so every waypoint of the window appears in both
// directions.
//
// Errors: KindInvalid when a record's bytes pass 2^63-1 (rating.MaxTotalBytes) or a cost
// overflows the money type.
func AddTraffic(u *Utilization, spans []cloudmeter.Span, infras []cloudmeter.Infrastructure, sums []cloudmeter.TrafficSum, cuts []int64,
	pricer *rating.Pricer, now int64) error {
	to := min(u.End, now)
	type key struct {
		product int64
		dir     cloudmeter.Direction
	}
	bytesOf := map[key][]cloudmeter.TrafficSum{}
	for _, s := range sums {
		k := key{s.ProductID, s.Direction}
		bytesOf[k] = append(bytesOf[k], s)
	}
	var recs []TrafficRecord
	for i := 0; i < len(spans); {
		if !spans[i].Type.Waypoint() {
			i++
			continue
		}
		first, last := i, i
		for last+1 < len(spans) && spans[last+1].ProductID == spans[i].ProductID {
			last++
		}
		i = last + 1
		w := spans[first]
		period := cloudmeter.DefaultMeasurementPeriod
		if p := spans[last].Attributes.MeasurementPeriod; p != nil && *p > 0 {
			period = *p
		}
		recStart, recEnd := max(spans[first].Start, u.Start), min(spans[last].End, to)
		if recStart > recEnd {
			continue
		}
		for _, dir := range cloudmeter.Directions {
			subj := pricebook.Subject{Type: w.Type, UserID: w.UserID, Datacenter: w.Datacenter, Direction: string(dir)}
			pieces := pricer.Book().Pieces(&subj, recStart, recEnd)
			out := make([]TrafficRecord, len(pieces))
			for j, pc := range pieces {
				out[j] = TrafficRecord{Waypoint: w, Direction: dir, Start: pc.Start, End: pc.End, MeasurementPeriod: period, Entry: pc.Entry}
				if pc.Entry != nil && !w.ExcludeBilling {
					out[j].CostPerUnit = pc.Entry.Price.Amount()
				}
			}
			for _, s := range bytesOf[key{w.ProductID, dir}] {
				// Every period of piece s.Piece starts at or after rep, and no price changes
				// inside a piece, so the record holding rep holds them all.
				rep := u.Start
				if s.Piece > 0 {
					rep = cuts[s.Piece-1]
				}
				rep = max(rep, recStart)
				j := sort.Search(len(out), func(j int) bool { return out[j].End >= rep })
				if j == len(out) {
					return cloudmeter.Internal(fmt.Errorf("traffic of product %d piece %d at %d falls outside its records", w.ProductID, s.Piece, rep))
				}
				var ok bool
				if out[j].Bytes, ok = rating.AddBytes(out[j].Bytes, s.Bytes); !ok {
					return cloudmeter.Errorf(cloudmeter.KindInvalid, "waypoint %d (product_id), %s: the traffic from %s to %s totals more than 2^63-1 bytes "+
						"(9223372036854775807), which cannot be reported; ask for a shorter window", w.ProductID, dir, cloudmeter.FormatTime(out[j].Start), cloudmeter.FormatTime(out[j].End))
				}
			}
			kept := out[:0]
			for j := range out {
				r := &out[j]
				if r.Entry == nil && !w.ExcludeBilling && (r.Bytes > 0 || len(out) == 1) {
					r.Unpriced = fmt.Sprintf("no price book entry prices the %s traffic of %s %d (%s)", dir, w.Type, w.ProductID, w.Datacenter)
				}
				if r.Entry == nil && r.Bytes == 0 && len(out) > 1 {
					continue // nothing metered and nothing priced: not shown
				}
				r.Quantity = money.GBFromBytes(r.Bytes)
				var err error
				if r.Cost, err = money.TrafficCost(r.Quantity, r.CostPerUnit); err != nil {
					return cloudmeter.Errorf(cloudmeter.KindInvalid, "product %d: %s traffic cost does not fit: %v", w.ProductID, dir, err)
				}
				kept = append(kept, *r)
			}
			recs = append(recs, kept...)
		}
	}
	sort.SliceStable(recs, func(a, b int) bool {
		x, y := &recs[a], &recs[b]
		if x.Waypoint.InfrastructureID != y.Waypoint.InfrastructureID {
			return x.Waypoint.InfrastructureID < y.Waypoint.InfrastructureID
		}
		if x.Waypoint.Type != y.Waypoint.Type {
			return x.Waypoint.Type < y.Waypoint.Type
		}
		if x.Direction != y.Direction {
			return x.Direction < y.Direction
		}
		if x.Waypoint.ProductID != y.Waypoint.ProductID {
			return x.Waypoint.ProductID < y.Waypoint.ProductID
		}
		return x.Start < y.Start
	})
	seen := map[int64]bool{}
	for _, inf := range u.Infrastructures {
		seen[inf.ID] = true
	}
	for _, r := range recs {
		var err error
		if u.Total, err = u.Total.Add(r.Cost); err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "report total does not fit: %v", err)
		}
		seen[r.Waypoint.InfrastructureID] = true
	}
	u.Traffic = recs
	u.Infrastructures = u.Infrastructures[:0]
	for _, inf := range infras {
		if seen[inf.ID] {
			u.Infrastructures = append(u.Infrastructures, inf)
		}
	}
	return nil
}

// TrafficTotals sums the traffic records per infrastructure, waypoint type and direction,
// in record order. A direction's quantity and cost are the sums of its records'.
func (u *Utilization) TrafficTotals() ([]TrafficTotal, error) {
	var out []TrafficTotal
	for i, r := range u.Traffic {
		n := len(out)
		if n == 0 || out[n-1].InfrastructureID != r.Waypoint.InfrastructureID || out[n-1].Type != r.Waypoint.Type || out[n-1].Direction != r.Direction {
			out = append(out, TrafficTotal{InfrastructureID: r.Waypoint.InfrastructureID, Type: r.Waypoint.Type, Direction: r.Direction, From: i})
			n++
		}
		t := &out[n-1]
		t.To = i + 1
		var ok bool
		if t.Quantity, ok = rating.AddBytes(t.Quantity, r.Quantity); !ok {
			return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "traffic total does not fit: the %s quantity of infrastructure %d passes 2^63-1 units", r.Direction, r.Waypoint.InfrastructureID)
		}
		var err error
		if t.Cost, err = t.Cost.Add(r.Cost); err != nil {
			return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "traffic total does not fit: %v", err)
		}
	}
	return out, nil
}

// DirectionTotal is the traffic of a whole report in one direction.
type DirectionTotal struct {
	Quantity int64 // 1e-4 GB
	Cost     money.Amount
}

// TrafficByDirection sums every traffic record of the report per direction: the
// internet download and upload totals of the summary.
func (u *Utilization) TrafficByDirection() (download, upload DirectionTotal, err error) {
	for _, r := range u.Traffic {
		t := &download
		if r.Direction == cloudmeter.DirectionUpload {
			t = &upload
		}
		var ok bool
		if t.Quantity, ok = rating.AddBytes(t.Quantity, r.Quantity); !ok {
			return download, upload, cloudmeter.Errorf(cloudmeter.KindInvalid, "traffic total does not fit: the %s quantity of the report passes 2^63-1 units", r.Direction)
		}
		if t.Cost, err = t.Cost.Add(r.Cost); err != nil {
			return download, upload, cloudmeter.Errorf(cloudmeter.KindInvalid, "traffic total does not fit: %v", err)
		}
	}
	return download, upload, nil
}

// UnpricedTraffic returns the traffic records no price book entry prices.
func (u *Utilization) UnpricedTraffic() []TrafficRecord {
	var out []TrafficRecord
	for _, r := range u.Traffic {
		if r.Unpriced != "" {
			out = append(out, r)
		}
	}
	return out
}

package rating

import (
	"fmt"
	"math"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
)

// MeasurementPeriod is the period, in seconds, that a time-based record's cost_per_unit
// is quoted for: 3600 for every type but data_lake storage, quoted per 30 days.
func MeasurementPeriod(t cloudmeter.ResourceType) int64 {
	if t == cloudmeter.ResourceDataLake {
		return 2592000
	}
	return 3600
}

// Billable reports whether a span is billed by the second: every type but the waypoints,
// which are billed by traffic, and data lakes whose stored gigabytes are known (their
// storage is billed by GB stored per 30 days).
func Billable(s *cloudmeter.Span) bool {
	switch s.Type {
	case cloudmeter.ResourceNetwork:
		return false
	case cloudmeter.ResourceDataLake:
		return s.Attributes.StoredGBytes != nil
	}
	return true
}

// Segment is a span, or part of one, priced by one price book entry.
type Segment struct {
	cloudmeter.Span
	// Entry is the entry that prices the segment; nil when none does.
	Entry *pricebook.Entry
	// CostPerUnit is the cost of one measurement period, rounded half-up to 8 places.
	CostPerUnit       money.Amount
	MeasurementPeriod int64
	// Unpriced says why no price applies, when none does.
	Unpriced string
}

// Pricer prices spans against one price book. It caches cost_per_unit values, so one
// Pricer should serve a whole report. It is not safe for concurrent use.
type Pricer struct {
	book  *pricebook.Book
	cache map[cpuKey]money.Amount
}

type cpuKey struct {
	entry    *pricebook.Entry
	num, den int64
	period   int64
}

// NewPricer returns a Pricer for book.
func NewPricer(book *pricebook.Book) *Pricer {
	return &Pricer{book: book, cache: map[cpuKey]money.Amount{}}
}

// Book is the book the Pricer prices with.
func (p *Pricer) Book() *pricebook.Book { return p.book }

// Subject describes a span for price matching.
func Subject(s *cloudmeter.Span) pricebook.Subject {
	return pricebook.Subject{
		Type:         s.Type,
		UserID:       s.UserID,
		Datacenter:   s.Datacenter,
		ServerTypeID: s.Attributes.ServerTypeID,
		StorageType:  s.Attributes.StorageType,
		SubnetType:   s.Attributes.SubnetType,
		State:        s.State,
	}
}

// Price splits the part [from, to] of a span where the price in force changes and
// prices each part. Parts no entry prices carry a zero cost_per_unit and an Unpriced
// reason; nothing is dropped.
//
// Errors: an overflow of the money arithmetic (KindInvalid).
func (p *Pricer) Price(s *cloudmeter.Span, from, to int64) ([]Segment, error) {
	from, to = max(from, s.Start), min(to, s.End)
	if from > to {
		return nil, nil
	}
	subj := Subject(s)
	pieces := p.book.Pieces(&subj, from, to)
	out := make([]Segment, 0, len(pieces))
	period := MeasurementPeriod(s.Type)
	for _, pc := range pieces {
		seg := Segment{Span: *s, Entry: pc.Entry, MeasurementPeriod: period}
		seg.Start, seg.End = pc.Start, pc.End
		if pc.Entry == nil {
			seg.Unpriced = fmt.Sprintf("no price book entry prices this %s", describe(s))
		} else {
			num, den, why := units(s, pc.Entry.Unit)
			if why != "" {
				seg.Entry = nil
				seg.Unpriced = why
			} else {
				cpu, err := p.costPerUnit(pc.Entry, num, den, period)
				if err != nil {
					// The size, not the book, is usually what is out of range: name both.
					return nil, cloudmeter.Errorf(cloudmeter.KindInvalid,
						"%s: its cost per unit (%d/%d %s at %s each, from price book entries[%d]) is larger than the largest amount, %s",
						describe(s), num, den, pc.Entry.Unit, pc.Entry.Price, pc.Entry.Index(), money.Amount(math.MaxInt64))
				}
				seg.CostPerUnit = cpu
			}
		}
		out = append(out, seg)
	}
	return out, nil
}

func (p *Pricer) costPerUnit(e *pricebook.Entry, num, den, period int64) (money.Amount, error) {
	k := cpuKey{e, num, den, period}
	if v, ok := p.cache[k]; ok {
		return v, nil
	}
	v, err := money.CostPerUnit(num, den, e.Price, period, e.PeriodSeconds)
	if err != nil {
		return 0, err
	}
	p.cache[k] = v
	return v, nil
}

// units returns how many units of e's unit the span's resource counts, as the fraction
// num/den, or why it cannot be counted.
func units(s *cloudmeter.Span, u pricebook.Unit) (num, den int64, why string) {
	a := &s.Attributes
	switch u {
	case pricebook.UnitItem:
		return 1, 1, ""
	case pricebook.UnitGiB:
		var size *int64
		switch s.Type {
		case cloudmeter.ResourceDrive:
			size = a.DriveSizeMBytes
		case cloudmeter.ResourceSharedDrive:
			size = a.SharedDriveSizeMBytes
		case cloudmeter.ResourceDataLake:
			if a.StoredGBytes == nil {
				return 0, 0, fmt.Sprintf("the %s reports no stored_gbytes, so a per-GiB price cannot apply", describe(s))
			}
			return *a.StoredGBytes, 1, ""
		}
		if size == nil {
			return 0, 0, fmt.Sprintf("the %s has no size, so a per-GiB price cannot apply", describe(s))
		}
		return *size, 1024, ""
	case pricebook.UnitIP:
		if a.SubnetType == nil || *a.SubnetType != "ipv4" || a.SubnetPrefixSize == nil || *a.SubnetPrefixSize < 0 || *a.SubnetPrefixSize > 32 {
			return 0, 0, fmt.Sprintf("the %s is not an IPv4 subnet with a prefix size, so a per-IP price cannot apply", describe(s))
		}
		return int64(1) << (32 - *a.SubnetPrefixSize), 1, ""
	}
	return 0, 0, fmt.Sprintf("unit %s does not price time", u)
}

func describe(s *cloudmeter.Span) string {
	return fmt.Sprintf("%s %d (%s, %s)", s.Type, s.ProductID, s.Datacenter, s.State)
}

package service

// The queries behind the Hyperstack-compatible billing API (package hyperstack): usage by
// organization, per resource and per day. They price spans with report.BuildReserved and
// the users' reservation coverage, as the MetalSoft and native reports do, so that every
// surface agrees to the last digit on every resource. Reservation installments belong to
// no resource, so these answers leave them out (the reports hold them).

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/reservation"
)

// OrgScope is whose usage a caller of an organization-level API sees.
type OrgScope struct {
	// OrgID is the caller's own organization.
	OrgID int64
	// All is set when the caller sees every organization (utilization_reports_read and
	// no organization asked for).
	All bool
	// Users are the users whose usage the caller sees, when not All.
	Users []int64
	// Asked is the organization asked for (0: none), which Users belong to.
	Asked int64
}

// Sees reports whether the scope holds the usage of user.
func (sc OrgScope) Sees(user int64) bool {
	return sc.All || slices.Contains(sc.Users, user)
}

// Scope returns whose usage key sees: with org == 0 its own organization's, or every
// organization's with utilization_reports_read; with org > 0 that organization's, which
// needs utilization_reports_read unless it is the key's own.
//
// Errors: KindInvalid for a negative org; KindForbidden for another organization without
// utilization_reports_read; KindNotFound about SubjectUser for an organization with no
// users.
func (s *Service) Scope(ctx context.Context, key cloudmeter.APIKey, org int64) (OrgScope, error) {
	if org == 0 && key.Has(cloudmeter.PermUtilizationReportsRead) {
		own, err := s.organizationOf(ctx, key.UserID)
		return OrgScope{OrgID: own, All: true}, err
	}
	own, users, err := s.orgAccess(ctx, key, org)
	if err != nil {
		return OrgScope{OrgID: own}, err
	}
	if org == 0 {
		org = own
	}
	return OrgScope{OrgID: own, Asked: org, Users: users}, nil
}

// UsageQuery asks for the priced usage of the resources of some types in a caller's
// scope over a closed window of seconds.
type UsageQuery struct {
	// Organization narrows the scope to one organization (0: the caller's default scope;
	// see Scope).
	Organization int64
	Start, End   int64
	// Types are the resource types to report (at least one; time-billed types only).
	Types []cloudmeter.ResourceType
	// Environment, when set, keeps the resources of the infrastructures whose id or
	// label it is.
	Environment string
	// Unbounded skips the check of the window's length: the whole life of each resource
	// is asked for (Start 0, End cloudmeter.OpenEnd - 1).
	Unbounded bool
}

// Lifetime is the window of a UsageQuery that covers every resource's whole life.
const Lifetime = cloudmeter.OpenEnd - 1

// ResourceUsage is one resource's priced usage over a window.
type ResourceUsage struct {
	// Resource describes the resource from its spans that overlap the window: its State
	// is the one at the window's end; ProvisionedAt is the start of its first span that
	// overlaps the window (its provision when the window starts before it); DeletedAt is
	// set when the resource was deleted before the window's end.
	Resource cloudmeter.Resource
	OrgID    int64
	// Records are the priced segments clipped to the window and to now, in time order;
	// the seconds a reservation covers are records of their own at its utilization price.
	Records []report.Record
	// Cost is the sum of the records' costs.
	Cost money.Amount
	// Seconds are the billed seconds of the records, by power state.
	Seconds StateSeconds
}

// StateSeconds are billed seconds by power state (other resources than instances are
// always active).
type StateSeconds struct {
	Active, Stopped, Hibernated int64
}

// Of returns the seconds of one state.
func (s StateSeconds) Of(state cloudmeter.State) int64 {
	switch state {
	case cloudmeter.StateStopped:
		return s.Stopped
	case cloudmeter.StateHibernated:
		return s.Hibernated
	}
	return s.Active
}

func (s *StateSeconds) add(state cloudmeter.State, n int64) {
	switch state {
	case cloudmeter.StateStopped:
		s.Stopped += n
	case cloudmeter.StateHibernated:
		s.Hibernated += n
	default:
		s.Active += n
	}
}

// Total is the seconds of every state.
func (s StateSeconds) Total() int64 { return s.Active + s.Stopped + s.Hibernated }

// Last returns the last record: the price in force at the window's end (or at now, or
// at the deletion); nil when the resource has no usage in the window.
func (r *ResourceUsage) Last() *report.Record {
	if len(r.Records) == 0 {
		return nil
	}
	return &r.Records[len(r.Records)-1]
}

// UsageView is the priced usage of every resource of a scope over a window.
type UsageView struct {
	Scope      OrgScope
	Currency   string
	Start, End int64
	Now        int64
	// Resources are the resources of the asked types with spans overlapping the window,
	// by product id.
	Resources []ResourceUsage
}

// Usage prices the usage of the resources in the caller's scope (see Scope) over the
// window of q, with the book in force, clipped to now. The seconds of instances that
// reservations cover are priced at the reservation's utilization price, user by user,
// exactly as the users' reports price them.
//
// Errors: those of Scope; KindInvalid for a bad window (about SubjectReportWindow when
// longer than the report limit) or environment; KindNotFound about
// SubjectInfrastructure for an environment that names no infrastructure in the scope;
// KindTooLarge past the report record limit.
func (s *Service) Usage(ctx context.Context, key cloudmeter.APIKey, q UsageQuery) (*UsageView, error) {
	now := s.Now()
	if len(q.Types) == 0 {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "no resource type asked for")
	}
	if q.Unbounded {
		q.Start, q.End = 0, Lifetime
	} else if err := s.checkWindow(q.Start, q.End); err != nil {
		return nil, err
	}
	if err := cloudmeter.CheckText("environment", q.Environment, cloudmeter.MaxTextBytes); err != nil {
		return nil, err
	}
	sc, err := s.Scope(ctx, key, q.Organization)
	if err != nil {
		return nil, err
	}
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	wanted := func(sp *cloudmeter.Span) bool {
		return slices.Contains(q.Types, sp.Type) && sp.Start <= q.End && sp.End >= q.Start
	}
	var spans []cloudmeter.Span
	if sc.All {
		err = s.store.AllSpans(ctx, 0, func(sp cloudmeter.Span) error {
			if wanted(&sp) {
				if len(spans) >= s.limits.MaxReportRecords {
					return cloudmeter.Errorf(cloudmeter.KindTooLarge, "the report would hold more than %d usage records", s.limits.MaxReportRecords)
				}
				spans = append(spans, sp)
			}
			return nil
		})
		if err != nil {
			return nil, s.tooLarge(err)
		}
		if q.Environment != "" {
			users := map[int64]bool{}
			for _, sp := range spans {
				users[sp.UserID] = true
			}
			ids, err := s.environment(ctx, sortedKeys(users), q.Environment)
			if err != nil {
				return nil, err
			}
			spans = slices.DeleteFunc(spans, func(sp cloudmeter.Span) bool { return !slices.Contains(ids, sp.InfrastructureID) })
		}
	} else {
		var ids []int64
		if q.Environment != "" {
			if ids, err = s.environment(ctx, sc.Users, q.Environment); err != nil {
				return nil, err
			}
		}
		for _, u := range sc.Users {
			// The record limit bounds the organization's answer, not each user's.
			left := s.limits.MaxReportRecords - len(spans)
			got, err := s.store.Spans(ctx, cloudmeter.SpanQuery{UserID: u, From: q.Start, To: q.End, InfrastructureIDs: ids,
				MaxSpans: max(left, 1)})
			if err == nil && len(got) > left {
				err = cloudmeter.Errorf(cloudmeter.KindTooLarge, "the report would hold more than %d usage records", s.limits.MaxReportRecords)
			}
			if err != nil {
				return nil, s.tooLarge(err)
			}
			got = slices.DeleteFunc(got, func(sp cloudmeter.Span) bool { return !wanted(&sp) })
			if spans == nil {
				spans = got // one user, as today: no copy
			} else {
				spans = append(spans, got...)
			}
		}
	}
	cover, err := s.usageCoverage(ctx, spans, q.Start, min(q.End, now))
	if err != nil {
		return nil, s.tooLarge(err)
	}
	v := &UsageView{Scope: sc, Currency: book.Currency, Start: q.Start, End: q.End, Now: now}
	if v.Resources, err = s.priceUsage(ctx, spans, book, q.Start, q.End, now, cover); err != nil {
		return nil, err
	}
	return v, nil
}

// usageCoverage computes which instances among spans (of any users) reservations cover
// within [from, to]: user by user, as each user's reports do (userCoverage), since a
// reservation covers only instances of its own user.
func (s *Service) usageCoverage(ctx context.Context, spans []cloudmeter.Span, from, to int64) (reservation.Coverage, error) {
	kinds := coverable(spans)
	var out reservation.Coverage
	for _, user := range sortedKeys(kinds) {
		cover, err := s.userCoverage(ctx, user, kinds[user], from, to, s.limits.MaxReportRecords)
		if err != nil {
			return nil, err
		}
		if len(cover) > 0 && out == nil {
			out = reservation.Coverage{}
		}
		// Product ids are unique across users, so the users' coverages do not overlap.
		maps.Copy(out, cover)
	}
	return out, nil
}

// checkWindow checks a report window.
func (s *Service) checkWindow(start, end int64) error {
	// The user is not part of this check: a valid placeholder stands for it.
	return ReportRequest{UserID: 1, Start: start, End: end}.Validate(s.limits)
}

// environment returns the ids of the infrastructures of users whose id or label is env.
func (s *Service) environment(ctx context.Context, users []int64, env string) ([]int64, error) {
	id, numErr := strconv.ParseInt(env, 10, 64)
	var ids []int64
	for _, u := range users {
		infras, err := s.store.Infrastructures(ctx, u)
		if err != nil {
			return nil, err
		}
		for _, inf := range infras {
			if inf.Label == env || (numErr == nil && inf.ID == id) {
				ids = append(ids, inf.ID)
			}
		}
	}
	if len(ids) == 0 {
		return nil, cloudmeter.Errorf(cloudmeter.KindNotFound, "environment %q: no infrastructure has this id or label", env).About(cloudmeter.SubjectInfrastructure)
	}
	return ids, nil
}

// priceUsage prices spans over [start, end] clipped to now, the seconds cover holds at
// their reservation's utilization price (report.BuildReserved), and groups the records by
// product, in product order. The store returns the spans of one product together and in
// time order; spans that are not are sorted first. Large slices are neither sorted nor
// copied on the way: a usage answer may hold tens of thousands of resources.
func (s *Service) priceUsage(ctx context.Context, spans []cloudmeter.Span, book *pricebook.Book, start, end, now int64,
	cover reservation.Coverage) ([]ResourceUsage, error) {
	if !grouped(spans) {
		slices.SortStableFunc(spans, func(a, b cloudmeter.Span) int {
			return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Start, b.Start))
		})
	}
	u, err := report.BuildReserved(0, spans, nil, rating.NewPricer(book), start, end, now, &report.Reserved{Coverage: cover})
	if err != nil {
		return nil, err
	}
	var byStore []ResourceUsage
	orgs := map[int64]int64{}
	recs := u.Records
	for i := 0; i < len(spans); {
		j := i
		for j < len(spans) && spans[j].ProductID == spans[i].ProductID {
			j++
		}
		ru, err := s.resourceUsage(ctx, spans[i:j], end, orgs)
		if err != nil {
			return nil, err
		}
		k := 0
		for k < len(recs) && recs[k].ProductID == ru.Resource.ProductID {
			k++
		}
		if err := ru.add(recs[:k:k]); err != nil {
			return nil, err
		}
		recs = recs[k:]
		byStore = append(byStore, ru)
		i = j
	}
	order := make([]int32, len(byStore))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(byStore[a].Resource.ProductID, byStore[b].Resource.ProductID) })
	out := make([]ResourceUsage, len(order))
	for i, o := range order {
		out[i] = byStore[o]
	}
	return out, nil
}

// grouped reports whether the spans of each product are together and in time order.
func grouped(spans []cloudmeter.Span) bool {
	seen := make(map[int64]bool, len(spans)/2)
	for i := range spans {
		if i > 0 && spans[i].ProductID == spans[i-1].ProductID {
			if spans[i].Start < spans[i-1].Start {
				return false
			}
			continue
		}
		if seen[spans[i].ProductID] {
			return false
		}
		seen[spans[i].ProductID] = true
	}
	return true
}

// resourceUsage describes a resource from its spans that overlap a window ending at end.
func (s *Service) resourceUsage(ctx context.Context, spans []cloudmeter.Span, end int64, orgs map[int64]int64) (ResourceUsage, error) {
	first, last := &spans[0], &spans[len(spans)-1]
	r := cloudmeter.Resource{ProductID: first.ProductID, UserID: first.UserID, InfrastructureID: last.InfrastructureID,
		Datacenter: last.Datacenter, Type: last.Type, Label: last.Label, Subdomain: last.Subdomain, ExcludeBilling: last.ExcludeBilling,
		Attributes: last.Attributes, State: last.State, ProvisionedAt: first.Start}
	if last.End < end {
		// Spans are contiguous: one that ends inside the window is the last of the resource.
		r.DeletedAt = last.End
	}
	org, ok := orgs[r.UserID]
	if !ok {
		var err error
		if org, err = s.organizationOf(ctx, r.UserID); err != nil {
			return ResourceUsage{}, err
		}
		orgs[r.UserID] = org
	}
	return ResourceUsage{Resource: r, OrgID: org}, nil
}

// add adds records of the resource; the resource keeps recs (no copy).
func (r *ResourceUsage) add(recs []report.Record) error {
	for i := range recs {
		rec := &recs[i]
		var err error
		if r.Cost, err = r.Cost.Add(rec.Cost); err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "product %d: cost does not fit: %v", rec.ProductID, err)
		}
		r.Seconds.add(rec.State, rec.Quantity)
	}
	if r.Records == nil {
		r.Records = recs
	} else {
		r.Records = append(r.Records, recs...)
	}
	return nil
}

// SegmentCause is what began a segment of a resource's life.
type SegmentCause string

// The causes, in the order rating applies them within one second.
const (
	CauseProvisioned  SegmentCause = "provisioned"   // the resource's first segment
	CauseChanged      SegmentCause = "changed"       // an attribute changed (a resize, a server type change)
	CauseStopped      SegmentCause = "stopped"       // the instance was shut off
	CauseHibernated   SegmentCause = "hibernated"    // the instance was hibernated
	CauseStarted      SegmentCause = "started"       // the instance was started again
	CausePriceChanged SegmentCause = "price_changed" // another price book entry took effect
	// CauseReserved: a reservation began to cover the instance (or another one took over).
	CauseReserved SegmentCause = "reserved"
	// CauseReservationEnded: no reservation covers the instance any more; it is billed on
	// demand again.
	CauseReservationEnded SegmentCause = "reservation_ended"
)

// ProductUsage is one resource's usage over a window, with what began each segment.
type ProductUsage struct {
	ResourceUsage
	Currency   string
	Start, End int64
	Now        int64
	// Causes[i] is what began the segment Records[i] is (a part of): a record cut at the
	// window's start carries the cause of the segment it belongs to.
	Causes []SegmentCause
}

// ProductUsage prices one product's usage over a window, with the book in force and the
// reservations of its user (the seconds they cover, as in the user's reports), clipped to
// now. Resource is the product's current view (not only as of the window's
// end).
//
// Errors: KindInvalid for a bad window; KindNotFound for an unknown product, and for one
// the key may not read (so that product ids cannot be probed).
func (s *Service) ProductUsage(ctx context.Context, key cloudmeter.APIKey, productID int64, start, end int64) (*ProductUsage, error) {
	now := s.Now()
	if err := s.checkWindow(start, end); err != nil {
		return nil, err
	}
	res, spans, err := s.store.Resource(ctx, productID)
	if err != nil {
		return nil, err
	}
	sc, err := s.Scope(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	if !sc.Sees(res.UserID) {
		return nil, cloudmeter.ProductNotFound(productID)
	}
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	org, err := s.organizationOf(ctx, res.UserID)
	if err != nil {
		return nil, err
	}
	p := &ProductUsage{ResourceUsage: ResourceUsage{Resource: res, OrgID: org},
		Currency: book.Currency, Start: start, End: end, Now: now}
	var inWindow []cloudmeter.Span
	for _, sp := range spans {
		if sp.Start <= end && sp.End >= start {
			inWindow = append(inWindow, sp)
		}
	}
	// From the second before the window: a stretch covered from before the window is told
	// from one that begins with it (the pricing below clips to the window).
	cover, err := s.userCoverage(ctx, res.UserID, coverable(inWindow)[res.UserID], start-1, min(end, now), s.limits.MaxReportRecords)
	if err != nil {
		return nil, s.tooLarge(err)
	}
	pricer := rating.NewPricer(book)
	u, err := report.BuildReserved(res.UserID, inWindow, nil, pricer, start, end, now, &report.Reserved{Coverage: cover})
	if err != nil {
		return nil, err
	}
	if err := p.add(u.Records); err != nil {
		return nil, err
	}
	cuts, err := causes(spans, pricer, now)
	if err != nil {
		return nil, err
	}
	cuts = coverCuts(cuts, cover[productID], start)
	for _, rec := range p.Records {
		// The cause of a record is that of the last cut at or before its start.
		i, found := slices.BinarySearchFunc(cuts, rec.Start, func(c cut, t int64) int { return cmp.Compare(c.at, t) })
		if !found {
			i--
		}
		p.Causes = append(p.Causes, cuts[max(i, 0)].cause)
	}
	return p, nil
}

type cut struct {
	at    int64
	cause SegmentCause
}

// causes lists, in time order, where a product's segments begin over its whole life up to
// now, and why: its spans begin at a provision, a change or a power event, and a span is
// cut where the price in force changes.
func causes(spans []cloudmeter.Span, pricer *rating.Pricer, now int64) ([]cut, error) {
	var out []cut
	for i := range spans {
		sp := &spans[i]
		c := CauseProvisioned
		if i > 0 {
			prev := &spans[i-1]
			switch {
			case sp.State == prev.State:
				c = CauseChanged
			case sp.State == cloudmeter.StateStopped:
				c = CauseStopped
			case sp.State == cloudmeter.StateHibernated:
				c = CauseHibernated
			default:
				c = CauseStarted
			}
		}
		out = append(out, cut{sp.Start, c})
		if !rating.Billable(sp) || sp.Start > now {
			continue
		}
		segs, err := pricer.Price(sp, sp.Start, min(sp.End, now))
		if err != nil {
			return nil, err
		}
		for _, seg := range segs[min(1, len(segs)):] {
			out = append(out, cut{seg.Start, CausePriceChanged})
		}
	}
	return out, nil
}

// coverCuts adds to cuts (in time order) where the covered stretches of a product begin
// (CauseReserved) and where they end without another beginning (CauseReservationEnded),
// leaving out the beginning of a stretch covered from before the window that starts at
// start. At one second the cut already there wins: a provision, a change, a power event or
// a price change says more than the coverage that comes with it.
func coverCuts(cuts []cut, pieces []reservation.Piece, start int64) []cut {
	if len(pieces) == 0 {
		return cuts
	}
	for _, pc := range pieces {
		if pc.Start >= start {
			cuts = append(cuts, cut{pc.Start, CauseReserved})
		}
	}
	for _, pc := range pieces {
		cuts = append(cuts, cut{pc.End + 1, CauseReservationEnded})
	}
	// Stable: at one second, the cuts of the spans first, then the beginnings, then the ends.
	slices.SortStableFunc(cuts, func(a, b cut) int { return cmp.Compare(a.at, b.at) })
	return slices.CompactFunc(cuts, func(a, b cut) bool { return a.at == b.at })
}

// DayCost is the cost of one UTC day.
type DayCost struct {
	// Day is the day's first second.
	Day  int64
	Cost money.Amount
}

// SecondsPerDay is the length of a UTC day: the granularity of daily graphs.
const SecondsPerDay = 86400

// DailyCosts splits the cost of records by UTC day, one entry for each day of [from, to]
// (both inclusive; none when to < from), days without usage at zero. The part of a record
// in a day is the difference of its running cost at the day's end and at the day's start
// (each rounded as the record's own cost is), so the days of a record add up to its cost
// exactly and the days of a graph to the total of its records.
//
// Errors: KindInvalid when a cost does not fit the money type.
func DailyCosts(recs []report.Record, from, to int64) ([]DayCost, error) {
	if to < from {
		return []DayCost{}, nil
	}
	first := from - mod(from, SecondsPerDay)
	out := make([]DayCost, (to-mod(to, SecondsPerDay)-first)/SecondsPerDay+1)
	for i := range out {
		out[i].Day = first + int64(i)*SecondsPerDay
	}
	for _, r := range recs {
		a, b := max(r.Start, first), min(r.End, out[len(out)-1].Day+SecondsPerDay-1)
		if a > b {
			continue
		}
		var before money.Amount // the record's running cost up to the day's start
		if a > r.Start {
			var err error
			if before, err = money.Cost(a-r.Start, r.MeasurementPeriod, r.CostPerUnit); err != nil {
				return nil, costError(r, err)
			}
		}
		for day := a - mod(a, SecondsPerDay); day <= b; day += SecondsPerDay {
			upTo := min(b, day+SecondsPerDay-1)
			running, err := money.Cost(upTo-r.Start+1, r.MeasurementPeriod, r.CostPerUnit)
			if err != nil {
				return nil, costError(r, err)
			}
			d := &out[(day-first)/SecondsPerDay]
			if d.Cost, err = d.Cost.Add(running - before); err != nil {
				return nil, costError(r, err)
			}
			before = running
		}
	}
	return out, nil
}

func costError(r report.Record, err error) error {
	return cloudmeter.Errorf(cloudmeter.KindInvalid, "product %d: cost does not fit: %v", r.ProductID, err)
}

// mod is the remainder of a / b toward minus infinity (b > 0).
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Duration expresses whole seconds in a larger unit (60 for minutes, 3600 for hours) as
// an amount with 8 decimal places, rounded half-up: the exact decimal the APIs show.
func Duration(seconds, unit int64) money.Amount {
	d, err := money.Cost(seconds, unit, money.AmountScale)
	if err != nil {
		// Only past about 2,900 years of seconds: show the largest amount rather than fail.
		return money.Amount(1<<63 - 1)
	}
	return d
}

// PriceList is the price book in force as a caller may see it.
type PriceList struct {
	Currency string
	Version  int64
	// Entries are the entries in force now or later (not those that ended), each with
	// its index in the book; per-user entries of other users are left out unless the
	// caller holds prices_read.
	Entries []*pricebook.Entry
	Now     int64
	// Book is the book the entries are of (server type names); nil from PriceList.
	Book *pricebook.Book
}

// Prices returns the price book in force, for any key: the entries that apply to every
// user, those of the key's own user, and with prices_read every entry. An empty list
// when no book was loaded.
//
// Errors: KindUnavailable only.
func (s *Service) PriceList(ctx context.Context, key cloudmeter.APIKey) (*PriceList, error) {
	now := s.Now()
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	all := key.Has(cloudmeter.PermPricesRead)
	pl := &PriceList{Currency: book.Currency, Version: book.Version, Now: now, Entries: []*pricebook.Entry{}}
	for _, e := range book.Entries {
		if e.Until() <= now || (!all && e.UserID != nil && *e.UserID != key.UserID) {
			continue
		}
		pl.Entries = append(pl.Entries, e)
	}
	return pl, nil
}

// PerHour is the price of one hour of an entry that prices time, per its unit, rounded
// half-up to 8 places; for a per-GB traffic entry, its price per GB so rounded.
func PerHour(e *pricebook.Entry) (money.Amount, error) {
	if e.Traffic() {
		return e.Price.Amount(), nil
	}
	a, err := money.CostPerUnit(1, 1, e.Price, 3600, e.PeriodSeconds)
	if err != nil {
		return 0, cloudmeter.Errorf(cloudmeter.KindInvalid, "price book entries[%d]: its price per hour does not fit: %v", e.Index(), err)
	}
	return a, nil
}

// DayStart returns the first second of the UTC day of t.
func DayStart(t int64) int64 { return t - mod(t, SecondsPerDay) }

// MonthStart returns the first second of the UTC month of t.
func MonthStart(t int64) int64 {
	u := time.Unix(t, 0).UTC()
	return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC).Unix()
}

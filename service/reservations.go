package service

// Server type reservations (cloudmeter.Reservation, package reservation): recorded by a
// key that may write prices, read by any key that may read the user, and applied to the
// user's reports (Utilization) for the seconds and installments of the report's window.

import (
	"context"
	"slices"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/reservation"
)

// ReservationRequest asks to reserve Quantity instances of a server type in a datacenter.
type ReservationRequest struct {
	UserID         int64
	ServerTypeID   int64
	ServerTypeName string
	Datacenter     string
	// Price is the monthly installment of each instance; UtilizationPrice what an hour of
	// a covered instance costs.
	Price, UtilizationPrice money.Amount
	// CycleMonths is the number of monthly installments (0: 12).
	CycleMonths int
	// Start is the first second in force (0: now).
	Start int64
	// Quantity is the number of instances reserved (0: 1); each is a reservation of its own.
	Quantity int
}

// ReservationView is a reservation as the APIs show it: with its status at now
// (reservation.Status) and the currency of its amounts, the price book's.
type ReservationView struct {
	cloudmeter.Reservation
	Status   string
	Currency string
}

// views describes rs at now.
func (s *Service) views(ctx context.Context, rs []cloudmeter.Reservation, now int64) ([]ReservationView, error) {
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ReservationView, len(rs))
	for i, r := range rs {
		out[i] = ReservationView{Reservation: r, Status: reservation.Status(&r, now), Currency: book.Currency}
	}
	return out, nil
}

// CreateReservations records req: Quantity reservations, each of one instance.
//
// Errors: KindForbidden without prices_write (a reservation changes what a user is
// billed); KindInvalid naming the field and the rule.
func (s *Service) CreateReservations(ctx context.Context, key cloudmeter.APIKey, req ReservationRequest) ([]ReservationView, error) {
	now := s.Now()
	if err := key.Require(cloudmeter.PermPricesWrite); err != nil {
		return nil, err
	}
	if req.CycleMonths == 0 {
		req.CycleMonths = reservation.DefaultCycleMonths
	}
	if req.Quantity == 0 {
		req.Quantity = 1
	}
	if req.Start == 0 {
		req.Start = now
	}
	r := cloudmeter.Reservation{UserID: req.UserID, ServerTypeID: req.ServerTypeID, ServerTypeName: req.ServerTypeName, Datacenter: req.Datacenter,
		Price: req.Price, UtilizationPrice: req.UtilizationPrice, CycleMonths: req.CycleMonths, CreatedAt: now, Start: req.Start}
	if r.CycleMonths >= 1 && r.CycleMonths <= reservation.MaxCycleMonths {
		r.End = reservation.End(r.Start, r.CycleMonths)
	}
	if err := reservation.Validate(&r, req.Quantity); err != nil {
		return nil, err
	}
	rs, err := s.store.CreateReservations(ctx, r, req.Quantity)
	if err != nil {
		return nil, err
	}
	return s.views(ctx, rs, now)
}

// Reservation returns one reservation.
//
// Errors: KindNotFound, also when the key may not read its user (so that ids cannot be
// probed).
func (s *Service) Reservation(ctx context.Context, key cloudmeter.APIKey, id int64) (ReservationView, error) {
	now := s.Now()
	r, err := s.store.Reservation(ctx, id)
	if err != nil {
		return ReservationView{}, err
	}
	if !key.CanReadUser(r.UserID) {
		return ReservationView{}, cloudmeter.Errorf(cloudmeter.KindNotFound, "server type reservation %d not found", id)
	}
	v, err := s.views(ctx, []cloudmeter.Reservation{r}, now)
	if err != nil {
		return ReservationView{}, err
	}
	return v[0], nil
}

// UserReservations returns a user's reservations in id order; with unused, only those in
// force now that cover no instance now.
//
// Errors: KindInvalid for a user id not above 0; KindForbidden when the key may not read
// the user.
func (s *Service) UserReservations(ctx context.Context, key cloudmeter.APIKey, userID int64, unused bool) ([]ReservationView, error) {
	now := s.Now()
	rs, err := s.userReservations(ctx, key, userID, unused, now)
	if err != nil {
		return nil, err
	}
	return s.views(ctx, rs, now)
}

func (s *Service) userReservations(ctx context.Context, key cloudmeter.APIKey, userID int64, unused bool, now int64) ([]cloudmeter.Reservation, error) {
	if userID <= 0 {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "user: must be a user id above 0")
	}
	if !key.CanReadUser(userID) {
		return nil, cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may read only user %d's reservations: reading user %d needs the %s permission",
			key.UserID, userID, cloudmeter.PermUtilizationReportsRead)
	}
	if !unused {
		return s.store.UserReservations(ctx, userID)
	}
	rs, err := s.store.ReservationsOverlapping(ctx, userID, now, now)
	if err != nil || len(rs) == 0 {
		return rs, err
	}
	cover, err := s.coverage(ctx, userID, rs, nil, nil, now, now)
	if err != nil {
		return nil, err
	}
	used := map[int64]bool{}
	for _, pieces := range cover {
		for _, p := range pieces {
			used[p.Reservation.ID] = true
		}
	}
	out := rs[:0]
	for _, r := range rs {
		if !used[r.ID] {
			out = append(out, r)
		}
	}
	return out, nil
}

// reserved returns what the user's reservations change in a report over req's window up
// to to, or nil when none is in force in it. Coverage is computed over every instance of
// the user in the reservations' datacenters, whatever req's filters, so a filtered report
// shows the same coverage as the whole one; the installments are those of the
// datacenters asked for, and none when the report is of some infrastructures only (an
// installment belongs to no infrastructure).
func (s *Service) reserved(ctx context.Context, req ReportRequest, spans []cloudmeter.Span, to int64, maxSpans int) (*report.Reserved, error) {
	if to < req.Start {
		return nil, nil
	}
	rs, err := s.store.ReservationsOverlapping(ctx, req.UserID, req.Start, to)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	filtered := len(req.InfrastructureIDs) > 0 || len(req.Datacenters) > 0
	if filtered {
		spans = nil
	}
	cover, err := s.coverage(ctx, req.UserID, rs, spans, &maxSpans, req.Start, to)
	if err != nil {
		return nil, err
	}
	out := &report.Reserved{Coverage: cover}
	if len(req.InfrastructureIDs) == 0 {
		var due []cloudmeter.Reservation
		for _, r := range rs {
			if len(req.Datacenters) == 0 || slices.Contains(req.Datacenters, r.Datacenter) {
				due = append(due, r)
			}
		}
		out.Installments = reservation.Installments(due, req.Start, to)
	}
	return out, nil
}

// coverage computes which instances rs cover within [from, to]. spans are the user's
// spans over the window, or nil to read those of the reservations' datacenters (at most
// *maxSpans when maxSpans is not nil).
func (s *Service) coverage(ctx context.Context, userID int64, rs []cloudmeter.Reservation, spans []cloudmeter.Span, maxSpans *int,
	from, to int64) (reservation.Coverage, error) {
	if spans == nil {
		var dcs []string
		for _, r := range rs {
			if !slices.Contains(dcs, r.Datacenter) {
				dcs = append(dcs, r.Datacenter)
			}
		}
		q := cloudmeter.SpanQuery{UserID: userID, From: from, To: to, Datacenters: dcs}
		if maxSpans != nil {
			q.MaxSpans = *maxSpans
		}
		var err error
		if spans, err = s.store.Spans(ctx, q); err != nil {
			return nil, err
		}
	}
	var products []int64
	for i := range spans {
		for j := range rs {
			if reservation.Matches(&spans[i], &rs[j]) {
				products = append(products, spans[i].ProductID)
				break
			}
		}
	}
	slices.Sort(products)
	products = slices.Compact(products)
	if len(products) == 0 {
		return nil, nil
	}
	provisioned, err := s.store.ProvisionedAt(ctx, products)
	if err != nil {
		return nil, err
	}
	return reservation.Cover(spans, rs, provisioned, from, to), nil
}

// userCoverage computes which instances of a user the user's reservations cover within
// [from, to] (to already clipped to now), for the answers that price resources one by
// one (Usage, ProductUsage): the same coverage as the user's reports, read over every
// instance of the user in the reservations' datacenters, whatever the caller filters.
// kinds are the server types and datacenters of the user's instances the answer prices
// (coverable): reservations of others are left out (a group's coverage depends only on its
// own reservations and instances), and so is the part of the window where none is in
// force, since the coverage of a second depends only on that second (docs/rating.md,
// section 7). At most maxSpans are read.
func (s *Service) userCoverage(ctx context.Context, userID int64, kinds []*cloudmeter.Span, from, to int64, maxSpans int) (reservation.Coverage, error) {
	if to < from || len(kinds) == 0 {
		return nil, nil
	}
	rs, err := s.store.ReservationsOverlapping(ctx, userID, from, to)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	rs = slices.DeleteFunc(rs, func(r cloudmeter.Reservation) bool {
		return !slices.ContainsFunc(kinds, func(sp *cloudmeter.Span) bool { return reservation.Matches(sp, &r) })
	})
	if len(rs) == 0 {
		return nil, nil
	}
	first, last := rs[0].Start, rs[0].End
	for _, r := range rs[1:] {
		first, last = min(first, r.Start), max(last, r.End)
	}
	return s.coverage(ctx, userID, rs, nil, &maxSpans, max(from, first), min(to, last))
}

// coverable returns, by user, one span of each server type and datacenter among the
// instances of spans that a reservation may cover: what userCoverage chooses reservations
// by, at a cost of reservations x kinds rather than reservations x spans. The spans are
// neither copied nor sorted.
func coverable(spans []cloudmeter.Span) map[int64][]*cloudmeter.Span {
	type kind struct {
		user, serverType int64
		datacenter       string
	}
	out := map[int64][]*cloudmeter.Span{}
	seen := map[kind]bool{}
	var last *cloudmeter.Span
	for i := range spans {
		sp := &spans[i]
		if sp.Type != cloudmeter.ResourceInstance || sp.ExcludeBilling || sp.Attributes.ServerTypeID == nil {
			continue // no reservation covers it
		}
		if last != nil && last.UserID == sp.UserID && *last.Attributes.ServerTypeID == *sp.Attributes.ServerTypeID && last.Datacenter == sp.Datacenter {
			continue // as the span before (the spans of a product mostly are)
		}
		last = sp
		if k := (kind{sp.UserID, *sp.Attributes.ServerTypeID, sp.Datacenter}); !seen[k] {
			seen[k] = true
			out[sp.UserID] = append(out[sp.UserID], sp)
		}
	}
	return out
}

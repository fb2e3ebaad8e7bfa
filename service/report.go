package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/report"
)

// ReportRequest asks for a user's utilization over a closed window of seconds.
type ReportRequest struct {
	UserID            int64
	Start, End        int64
	InfrastructureIDs []int64
	Datacenters       []string
}

// Validate checks the window and the user id.
//
// Errors: KindInvalid (about SubjectReportWindow when the window is too long).
func (r ReportRequest) Validate(limits Limits) error {
	if r.UserID <= 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "user: must be a user id above 0")
	}
	for i, dc := range r.Datacenters {
		if err := cloudmeter.CheckText(fmt.Sprintf("datacenter_names[%d]", i), dc, cloudmeter.MaxNameBytes); err != nil {
			return err
		}
	}
	if r.End < r.Start {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "end: %s is before start %s", cloudmeter.FormatTime(r.End), cloudmeter.FormatTime(r.Start))
	}
	if time.Unix(r.Start, 0).UTC().AddDate(limits.MaxReportYears, 0, 0).Unix() < r.End {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "the report spans more than %d years: from %s to %s", limits.MaxReportYears,
			cloudmeter.FormatTime(r.Start), cloudmeter.FormatTime(r.End)).About(cloudmeter.SubjectReportWindow)
	}
	return nil
}

// Utilization reports a user's usage and cost over a window, priced with the book in
// force and clipped to now.
//
// Errors: KindForbidden when the key may not read the user; KindInvalid for a bad
// window (about SubjectReportWindow when it is too long); KindNotFound about
// SubjectUser, SubjectInfrastructure or SubjectDatacenter for unknown names.
func (s *Service) Utilization(ctx context.Context, key cloudmeter.APIKey, req ReportRequest) (*report.Utilization, error) {
	now := s.Now()
	if err := req.Validate(s.limits); err != nil {
		return nil, err
	}
	if !key.CanReadUser(req.UserID) {
		return nil, cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may read only user %d's reports: reading user %d needs the %s permission",
			key.UserID, req.UserID, cloudmeter.PermUtilizationReportsRead)
	}
	ok, err := s.store.UserExists(ctx, req.UserID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, cloudmeter.Errorf(cloudmeter.KindNotFound, "user %d not found", req.UserID).About(cloudmeter.SubjectUser)
	}
	infras, err := s.store.Infrastructures(ctx, req.UserID)
	if err != nil {
		return nil, err
	}
	for _, id := range req.InfrastructureIDs {
		found := false
		for _, inf := range infras {
			found = found || inf.ID == id
		}
		if !found {
			return nil, cloudmeter.Errorf(cloudmeter.KindNotFound, "infrastructure %d not found for user %d", id, req.UserID).About(cloudmeter.SubjectInfrastructure)
		}
	}
	for _, dc := range req.Datacenters {
		ok, err := s.store.DatacenterExists(ctx, dc)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, cloudmeter.Errorf(cloudmeter.KindNotFound, "datacenter %q not found", dc).About(cloudmeter.SubjectDatacenter)
		}
	}
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.utilization(ctx, req, infras, book, now, s.limits.MaxReportRecords)
	return u, s.tooLarge(err)
}

// utilization prices a user's usage over req's window, clipped to now, with book: the
// records of its spans, then the network report of its waypoints. It reads at most
// maxRecords usage records (KindTooLarge past them). It checks nothing of req: the caller
// did.
func (s *Service) utilization(ctx context.Context, req ReportRequest, infras []cloudmeter.Infrastructure, book *pricebook.Book, now int64,
	maxRecords int) (*report.Utilization, error) {
	spans, err := s.store.Spans(ctx, cloudmeter.SpanQuery{UserID: req.UserID, From: req.Start, To: req.End,
		InfrastructureIDs: req.InfrastructureIDs, Datacenters: req.Datacenters, MaxSpans: maxRecords})
	if err != nil {
		return nil, err
	}
	pricer := rating.NewPricer(book)
	reserved, err := s.reserved(ctx, req, spans, min(req.End, now), maxRecords)
	if err != nil {
		return nil, err
	}
	u, err := report.BuildReserved(req.UserID, spans, infras, pricer, req.Start, req.End, now, reserved)
	if err == nil && len(u.Records) > maxRecords {
		// Price changes split spans into more records than the store counted.
		err = cloudmeter.Errorf(cloudmeter.KindTooLarge, "the report would hold %d usage records, more than %d", len(u.Records), maxRecords)
	}
	if err != nil || !report.Waypoints(spans) {
		if err == nil {
			err = s.addPulled(ctx, u, req, now, maxRecords)
		}
		return u, err
	}
	// The network report: traffic summed per piece of the window between price changes.
	to := min(req.End, now)
	cuts := report.TrafficCuts(book, req.Start, to)
	sums, err := s.store.TrafficSums(ctx, cloudmeter.TrafficQuery{UserID: req.UserID, From: req.Start, To: to, Cuts: cuts})
	if err != nil {
		return nil, err
	}
	if err := report.AddTraffic(u, spans, infras, sums, cuts, pricer, now); err != nil {
		return nil, err
	}
	return u, s.addPulled(ctx, u, req, now, maxRecords)
}

// tooLarge says what to do about a report over the record limit.
func (s *Service) tooLarge(err error) error {
	if cloudmeter.KindOf(err) != cloudmeter.KindTooLarge {
		return err
	}
	return cloudmeter.Errorf(cloudmeter.KindTooLarge, "%s (--max-report-records): ask for a shorter window, or filter by infrastructure or datacenter",
		cloudmeter.MessageOf(err))
}

// ResourceView is a resource with its priced segments up to now.
type ResourceView struct {
	Resource cloudmeter.Resource
	Currency string
	Segments []rating.Segment
}

// Resource returns one product with its segments priced by the book in force.
//
// Errors: KindNotFound, also when the key may not read the owner (so that product ids
// cannot be probed).
func (s *Service) Resource(ctx context.Context, key cloudmeter.APIKey, productID int64) (*ResourceView, error) {
	now := s.Now()
	res, spans, err := s.store.Resource(ctx, productID)
	if err != nil {
		return nil, err
	}
	if !key.CanReadUser(res.UserID) {
		return nil, cloudmeter.ProductNotFound(productID)
	}
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	p := rating.NewPricer(book)
	v := &ResourceView{Resource: res, Currency: book.Currency}
	for i := range spans {
		segs, err := p.Price(&spans[i], spans[i].Start, min(spans[i].End, now))
		if err != nil {
			return nil, err
		}
		v.Segments = append(v.Segments, segs...)
	}
	return v, nil
}

// Anomalies lists what rating found impossible or could not price: the stored ledger
// anomalies and, computed with the book in force, the unpriced usage up to now.
//
// Errors: KindForbidden when the key may not read the user (all users need
// utilization_reports_read).
func (s *Service) Anomalies(ctx context.Context, key cloudmeter.APIKey, q cloudmeter.AnomalyQuery) ([]cloudmeter.Anomaly, error) {
	now := s.Now()
	if q.UserID == 0 && !key.Has(cloudmeter.PermUtilizationReportsRead) {
		q.UserID = key.UserID
	}
	if !key.CanReadUser(q.UserID) {
		return nil, cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may read only user %d's anomalies", key.UserID)
	}
	if q.Limit <= 0 || q.Limit > 10000 {
		q.Limit = 1000
	}
	out, err := s.store.Anomalies(ctx, q)
	if err != nil {
		return nil, err
	}
	book, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	p := rating.NewPricer(book)
	waypoints := map[int64][]cloudmeter.Span{} // by user: the spans of waypoints, for their traffic
	err = s.anomalySpans(ctx, q, func(sp cloudmeter.Span) error {
		if sp.Type.Waypoint() && !sp.ExcludeBilling && (q.ProductID == 0 || sp.ProductID == q.ProductID) {
			waypoints[sp.UserID] = append(waypoints[sp.UserID], sp)
		}
		if len(out) >= q.Limit || !rating.Billable(&sp) || (q.ProductID > 0 && sp.ProductID != q.ProductID) || sp.ExcludeBilling {
			return nil
		}
		segs, err := p.Price(&sp, sp.Start, min(sp.End, now))
		if cloudmeter.KindOf(err) == cloudmeter.KindInvalid {
			// Usage that cannot be priced (a cost out of range) is itself an anomaly; it
			// must not hide every other user's.
			out = append(out, cloudmeter.Anomaly{ProductID: sp.ProductID, UserID: sp.UserID, Kind: cloudmeter.AnomalyUnpriced,
				Message: cloudmeter.MessageOf(err) + ": cannot be reported", Time: sp.Start})
			return nil
		}
		if err != nil {
			return err
		}
		for _, seg := range segs {
			if seg.Unpriced != "" && len(out) < q.Limit {
				out = append(out, cloudmeter.Anomaly{ProductID: sp.ProductID, UserID: sp.UserID, Kind: cloudmeter.AnomalyUnpriced,
					Message: seg.Unpriced + " from " + cloudmeter.FormatTime(seg.Start) + endText(seg.End) + ": reported at cost 0", Time: seg.Start})
			}
		}
		if len(out) >= q.Limit {
			return errLimitReached // the rest could add nothing: traffic is looked at only below the limit
		}
		return nil
	})
	if err != nil && err != errLimitReached {
		return nil, err
	}
	for _, user := range sortedKeys(waypoints) {
		if len(out) >= q.Limit {
			break
		}
		recs, err := s.unpricedTraffic(ctx, user, waypoints[user], p, now)
		if cloudmeter.KindOf(err) == cloudmeter.KindInvalid {
			// Traffic too large to sum is an anomaly of this user, not a failure of all.
			out = append(out, cloudmeter.Anomaly{UserID: user, Kind: cloudmeter.AnomalyUnpriced,
				Message: cloudmeter.MessageOf(err) + ": the user's traffic cannot be reported", Time: waypoints[user][0].Start})
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if len(out) < q.Limit {
				out = append(out, cloudmeter.Anomaly{ProductID: r.Waypoint.ProductID, UserID: user, Kind: cloudmeter.AnomalyUnpriced, Time: r.Start,
					Message: fmt.Sprintf("%s: %s GB from %s%s, reported at cost 0", r.Unpriced, money.FormatGB4(r.Quantity), cloudmeter.FormatTime(r.Start), endText(r.End))})
			}
		}
	}
	unbilled, err := s.store.UnbilledTraffic(ctx, q.UserID)
	if err != nil {
		return nil, err
	}
	for _, u := range unbilled {
		if len(out) >= q.Limit || (q.ProductID > 0 && u.ProductID != q.ProductID) {
			continue
		}
		out = append(out, unbilledAnomaly(u))
	}
	return out, nil
}

// errLimitReached stops reading spans once an anomaly list is full.
var errLimitReached = errors.New("anomaly limit reached")

// anomalySpans calls fn with the spans an anomaly query looks at: those of its product
// alone when it names one (read by product, not by scanning its user's or every user's),
// else those of its user (every user's when 0).
func (s *Service) anomalySpans(ctx context.Context, q cloudmeter.AnomalyQuery, fn func(cloudmeter.Span) error) error {
	if q.ProductID <= 0 {
		return s.store.AllSpans(ctx, q.UserID, fn)
	}
	res, spans, err := s.store.Resource(ctx, q.ProductID)
	if cloudmeter.KindOf(err) == cloudmeter.KindNotFound {
		return nil // never provisioned: its anomalies are stored ones and unbilled traffic
	}
	if err != nil {
		// Not readable by product (not rated since an upgrade): the scan skips what it
		// cannot price, as before.
		return s.store.AllSpans(ctx, q.UserID, fn)
	}
	if q.UserID > 0 && res.UserID != q.UserID {
		return nil
	}
	for _, sp := range spans {
		if err := fn(sp); err != nil {
			return err
		}
	}
	return nil
}

// unbilledAnomaly describes traffic that no waypoint bills.
func unbilledAnomaly(u cloudmeter.UnbilledTraffic) cloudmeter.Anomaly {
	what := fmt.Sprintf("%d traffic samples from %s to %s", u.Samples, cloudmeter.FormatTime(u.First), cloudmeter.FormatTime(u.Last))
	if u.Type == "" {
		return cloudmeter.Anomaly{ProductID: u.ProductID, Kind: cloudmeter.AnomalyNotProvisioned, Time: u.First,
			Message: what + " for a product that was never provisioned: not billed (they are billed once a network or data_lake provision arrives)"}
	}
	return cloudmeter.Anomaly{ProductID: u.ProductID, UserID: u.UserID, Kind: cloudmeter.AnomalyNotApplicable, Time: u.First,
		Message: what + " for a " + string(u.Type) + ", which meters no traffic (only network and data_lake do): not billed"}
}

func endText(end int64) string {
	if end >= cloudmeter.OpenEnd {
		return " on"
	}
	return " to " + cloudmeter.FormatTime(end)
}

// unpricedTraffic returns the traffic records of one user's waypoints, over their whole
// lives up to now, that carry traffic no price book entry prices.
func (s *Service) unpricedTraffic(ctx context.Context, user int64, spans []cloudmeter.Span, pricer *rating.Pricer, now int64) ([]report.TrafficRecord, error) {
	from := spans[0].Start
	for _, sp := range spans {
		from = min(from, sp.Start)
	}
	if from > now {
		return nil, nil
	}
	slices.SortFunc(spans, func(a, b cloudmeter.Span) int {
		return cmp.Or(cmp.Compare(a.InfrastructureID, b.InfrastructureID), strings.Compare(string(a.Type), string(b.Type)),
			cmp.Compare(a.ProductID, b.ProductID), cmp.Compare(a.Start, b.Start))
	})
	cuts := report.TrafficCuts(pricer.Book(), from, now)
	sums, err := s.store.TrafficSums(ctx, cloudmeter.TrafficQuery{UserID: user, From: from, To: now, Cuts: cuts})
	if err != nil {
		return nil, err
	}
	u := &report.Utilization{UserID: user, Currency: pricer.Book().Currency, Start: from, End: now}
	if err := report.AddTraffic(u, spans, nil, sums, cuts, pricer, now); err != nil {
		return nil, err
	}
	var out []report.TrafficRecord
	for _, r := range u.UnpricedTraffic() {
		if r.Quantity > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

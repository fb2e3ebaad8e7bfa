package service

import (
	"context"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/report"
)

// ImportPulled stores the records a pull connector brought for one window of a source
// and user, replacing those of the same window: pulling a window again from an
// unchanged source changes nothing (changed is false). Records keep the source's
// quantities and costs.
//
// Errors: KindForbidden when the caller is not an admin; KindInvalid for a bad window or
// record; KindConflict when the window overlaps another of the source and user, or when
// its records are in another currency than the price book in force (a report holds one
// currency: their costs cannot be added to it).
func (s *Service) ImportPulled(ctx context.Context, caller cloudmeter.APIKey, w cloudmeter.PullWindow, recs []cloudmeter.PulledRecord) (bool, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return false, err
	}
	if err := cloudmeter.CheckText("source", w.Source, cloudmeter.MaxNameBytes); err != nil {
		return false, err
	}
	if w.UserID <= 0 {
		return false, cloudmeter.Errorf(cloudmeter.KindInvalid, "user: must be a user id above 0")
	}
	if w.To < w.From {
		return false, cloudmeter.Errorf(cloudmeter.KindInvalid, "to: %s is before from %s", cloudmeter.FormatTime(w.To), cloudmeter.FormatTime(w.From))
	}
	book, err := s.currentBook(ctx)
	if err != nil {
		return false, err
	}
	w.Records, w.Cost = int64(len(recs)), 0
	for i := range recs {
		r := &recs[i]
		if r.Source != w.Source || r.UserID != w.UserID {
			return false, cloudmeter.Errorf(cloudmeter.KindInvalid, "records[%d]: source and user must be the window's", i)
		}
		if r.End < r.Start || r.Quantity < 0 || r.Cost < 0 {
			return false, cloudmeter.Errorf(cloudmeter.KindInvalid, "records[%d] (product %d): end before start, or a negative quantity or cost", i, r.ProductID)
		}
		if r.Currency != "" && book.Currency != "" && r.Currency != book.Currency {
			return false, cloudmeter.Errorf(cloudmeter.KindConflict,
				"records[%d] (product %d): costs in %s, but the price book in force here is in %s: a report holds one currency, so records of another cannot be added to it (pull them into a cloudmeter whose book is in %s); nothing was imported",
				i, r.ProductID, r.Currency, book.Currency, r.Currency)
		}
		if w.Cost, err = w.Cost.Add(r.Cost); err != nil {
			return false, cloudmeter.Errorf(cloudmeter.KindInvalid, "the window's cost does not fit: %v", err)
		}
	}
	if w.PulledAt == 0 {
		w.PulledAt = s.Now()
	}
	return s.store.PutPullWindow(ctx, w, recs)
}

// PullWindows lists the windows pulled from a source (all when empty) for a user (all
// when 0).
//
// Errors: KindForbidden when the caller is not an admin.
func (s *Service) PullWindows(ctx context.Context, caller cloudmeter.APIKey, source string, userID int64) ([]cloudmeter.PullWindow, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return nil, err
	}
	return s.store.PullWindows(ctx, source, userID)
}

// PulledTotals sums a source's records by product.
//
// Errors: KindForbidden when the caller is not an admin.
func (s *Service) PulledTotals(ctx context.Context, caller cloudmeter.APIKey, source string) (map[int64]cloudmeter.PulledTotal, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return nil, err
	}
	return s.store.PulledTotals(ctx, source)
}

// addPulled adds to u the pulled records of the user that start in the window (up to
// now), as their sources gave them.
func (s *Service) addPulled(ctx context.Context, u *report.Utilization, req ReportRequest, now int64, maxRecords int) error {
	to := min(req.End, now)
	if to < req.Start {
		return nil
	}
	recs, err := s.store.PulledRecords(ctx, cloudmeter.PulledQuery{UserID: req.UserID, From: req.Start, To: to,
		InfrastructureIDs: req.InfrastructureIDs, Datacenters: req.Datacenters, Limit: maxRecords})
	if err != nil {
		return err
	}
	if len(u.Records)+len(recs) > maxRecords {
		return cloudmeter.Errorf(cloudmeter.KindTooLarge, "the report would hold more than %d usage records", maxRecords)
	}
	return report.AddPulled(u, recs)
}

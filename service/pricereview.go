package service

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/report"
)

// PriceReview says what replacing the price book in force with a proposed one would
// change: per user and month, the report totals before (with the book in force) and after
// (with the proposed book), and the usage the book in force prices that the proposed one
// would leave unpriced.
type PriceReview struct {
	// Proposed is the proposed book, validated (Version 0: not stored).
	Proposed *pricebook.Book
	// CurrentVersion is the version in force (0: none); CurrencyBefore its currency ("":
	// none) and CurrencyAfter the proposed book's.
	CurrentVersion                int64
	CurrencyBefore, CurrencyAfter string
	// Months are the user months that hold usage, by user then month, up to now.
	Months []MonthReview
	// TotalBefore and TotalAfter sum the months.
	TotalBefore, TotalAfter money.Amount
	// Unpriced lists, by user, month and product, what would become unpriced.
	Unpriced []NewlyUnpriced
	Now      int64
}

// MonthReview is one user's month: the total of the month's report (usage and traffic)
// with each book.
type MonthReview struct {
	UserID        int64
	Month         int64 // the month's first second, UTC
	Before, After money.Amount
}

// Difference is After - Before.
func (m MonthReview) Difference() money.Amount { return m.After - m.Before }

// NewlyUnpriced is usage of one product in one month that the book in force prices and the
// proposed one would not: Seconds of time-based usage, or GB4 (1e-4 GB) of one direction
// of a waypoint's traffic.
type NewlyUnpriced struct {
	UserID, ProductID int64
	Type              cloudmeter.ResourceType
	Direction         cloudmeter.Direction // "" for time-based usage
	Month             int64
	Seconds, GB4      int64
}

// UnpricedDetail is a NewlyUnpriced as the APIs write it: the month as 2006-01,
// seconds for time-based usage, gbytes and direction for traffic.
type UnpricedDetail struct {
	UserID       int64  `json:"user_id"`
	ProductID    int64  `json:"product_id"`
	ResourceType string `json:"resource_type"`
	Direction    string `json:"direction,omitempty"`
	Month        string `json:"month"`
	Seconds      int64  `json:"seconds,omitempty"`
	GBytes       string `json:"gbytes,omitempty"`
}

// Detail is n as the APIs write it.
func (n NewlyUnpriced) Detail() UnpricedDetail {
	d := UnpricedDetail{UserID: n.UserID, ProductID: n.ProductID, ResourceType: string(n.Type), Direction: string(n.Direction),
		Month: time.Unix(n.Month, 0).UTC().Format("2006-01"), Seconds: n.Seconds}
	if n.Direction != "" {
		d.GBytes = money.FormatGB4(n.GB4)
	}
	return d
}

// Details lists what would become unpriced as the APIs write it.
func (r *PriceReview) Details() []UnpricedDetail {
	out := make([]UnpricedDetail, len(r.Unpriced))
	for i, n := range r.Unpriced {
		out[i] = n.Detail()
	}
	return out
}

// String says what would become unpriced, for a person.
func (n NewlyUnpriced) String() string {
	month := time.Unix(n.Month, 0).UTC().Format("2006-01")
	if n.Direction != "" {
		return fmt.Sprintf("%s %d %s traffic of user %d (%s GB in %s)", n.Type, n.ProductID, n.Direction, n.UserID, money.FormatGB4(n.GB4), month)
	}
	return fmt.Sprintf("%s %d of user %d (%d s in %s)", n.Type, n.ProductID, n.UserID, n.Seconds, month)
}

// Refusal is the error a put of the reviewed book meets unless forced: KindConflict
// naming what would become unpriced, nil when nothing would.
func (r *PriceReview) Refusal() error {
	if len(r.Unpriced) == 0 {
		return nil
	}
	const shown = 5
	parts := make([]string, 0, shown)
	for i, n := range r.Unpriced {
		if i == shown {
			break
		}
		parts = append(parts, n.String())
	}
	more := ""
	if len(r.Unpriced) > shown {
		more = fmt.Sprintf(" and %d more", len(r.Unpriced)-shown)
	}
	return &cloudmeter.Error{Kind: cloudmeter.KindConflict, Details: r.Details(),
		Message: fmt.Sprintf("this price book leaves unpriced usage that the book in force (version %d) prices: %s%s; nothing was changed. "+
			"Review it with a dry run (PUT /api/v1/prices?dry_run=true, cloudmeter prices import --dry-run), "+
			"and to replace the book all the same send it with force (PUT /api/v1/prices?force=true, cloudmeter prices import --force)",
			r.CurrentVersion, strings.Join(parts, ", "), more)}
}

// ReviewPrices validates a proposed price book and reports what putting it would change,
// changing nothing. It prices every user's usage month by month with both books, so its
// cost grows with the usage stored (as the re-rating a put causes does).
//
// Errors: KindForbidden without prices_write; KindInvalid naming each broken rule of the
// book; KindTooLarge when a user's month holds more records than the report limit.
func (s *Service) ReviewPrices(ctx context.Context, key cloudmeter.APIKey, body []byte) (*PriceReview, error) {
	if err := key.Require(cloudmeter.PermPricesWrite); err != nil {
		return nil, err
	}
	proposed, err := pricebook.Parse(body)
	if err != nil {
		return nil, err
	}
	return s.review(ctx, proposed)
}

func (s *Service) review(ctx context.Context, proposed *pricebook.Book) (*PriceReview, error) {
	now := s.Now()
	current, err := s.currentBook(ctx)
	if err != nil {
		return nil, err
	}
	r := &PriceReview{Proposed: proposed, CurrentVersion: current.Version, CurrencyBefore: current.Currency, CurrencyAfter: proposed.Currency, Now: now}
	months, err := s.usageMonths(ctx, now)
	if err != nil {
		return nil, err
	}
	for _, user := range sortedKeys(months) {
		infras, err := s.store.Infrastructures(ctx, user)
		if err != nil {
			return nil, err
		}
		for _, m := range slices.Sorted(maps.Keys(months[user])) {
			req := ReportRequest{UserID: user, Start: m, End: nextMonth(m) - 1}
			before, err := s.utilization(ctx, req, infras, current, now, s.limits.MaxReportRecords)
			if err != nil {
				return nil, s.tooLarge(err)
			}
			after, err := s.utilization(ctx, req, infras, proposed, now, s.limits.MaxReportRecords)
			if err != nil {
				return nil, s.tooLarge(err)
			}
			r.Months = append(r.Months, MonthReview{UserID: user, Month: m, Before: before.Total, After: after.Total})
			if r.TotalBefore, err = r.TotalBefore.Add(before.Total); err != nil {
				return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "the total before does not fit: %v", err)
			}
			if r.TotalAfter, err = r.TotalAfter.Add(after.Total); err != nil {
				return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "the total after does not fit: %v", err)
			}
			r.Unpriced = append(r.Unpriced, newlyUnpriced(user, m, before, after)...)
		}
	}
	return r, nil
}

// usageMonths returns, per user, the UTC months (their first seconds) that billable spans
// overlap, up to now.
func (s *Service) usageMonths(ctx context.Context, now int64) (map[int64]map[int64]bool, error) {
	out := map[int64]map[int64]bool{}
	err := s.store.AllSpans(ctx, 0, func(sp cloudmeter.Span) error {
		if sp.Start > now {
			return nil
		}
		ms := out[sp.UserID]
		if ms == nil {
			ms = map[int64]bool{}
			out[sp.UserID] = ms
		}
		for m := MonthStart(sp.Start); m <= min(sp.End, now); m = nextMonth(m) {
			ms[m] = true
		}
		return nil
	})
	return out, err
}

func nextMonth(m int64) int64 { return time.Unix(m, 0).UTC().AddDate(0, 1, 0).Unix() }

// newlyUnpriced compares one user month's reports: usage the proposed book leaves
// unpriced beyond what the book in force left unpriced, per product (and direction).
func newlyUnpriced(user, month int64, before, after *report.Utilization) []NewlyUnpriced {
	type key struct {
		product int64
		typ     cloudmeter.ResourceType
		dir     cloudmeter.Direction
	}
	count := func(u *report.Utilization) map[key]int64 {
		m := map[key]int64{}
		for _, r := range u.Unpriced() {
			m[key{r.ProductID, r.Type, ""}] += r.Quantity
		}
		for _, r := range u.UnpricedTraffic() {
			if r.Quantity > 0 {
				m[key{r.Waypoint.ProductID, r.Waypoint.Type, r.Direction}] += r.Quantity
			}
		}
		return m
	}
	was, will := count(before), count(after)
	var out []NewlyUnpriced
	for k, q := range will {
		if d := q - was[k]; d > 0 {
			n := NewlyUnpriced{UserID: user, ProductID: k.product, Type: k.typ, Direction: k.dir, Month: month}
			if k.dir == "" {
				n.Seconds = d
			} else {
				n.GB4 = d
			}
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b NewlyUnpriced) int {
		return cmp.Or(cmp.Compare(a.ProductID, b.ProductID), strings.Compare(string(a.Direction), string(b.Direction)))
	})
	return out
}

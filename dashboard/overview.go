package dashboard

import (
	"fmt"
	"net/http"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/service"
)

// The overview of a user's month: the figures of the JSON-RPC summary
// (resource_utilization_summary) of the month and of the month before, the cost of each
// day as the Hyperstack graphs split it (service.DailyCosts), each infrastructure's total
// as the summary filtered by that infrastructure gives it, and the organization's
// prepaid credit as /v1/billing/user-credit/credit gives it.

type overviewContent struct {
	UserID                int64
	Month, Prev, Next     string // YYYY-MM
	MonthTitle, PrevTitle string
	From, To              string
	Currency              string
	Total, PrevTotal      figure
	// Installments, PrevInstallments are the reservation installments due in each month
	// (part of its total); shown when either month has some.
	Installments, PrevInstallments *figure
	Download, Upload               trafficFigure
	PrevDownload, PrevUpl          trafficFigure
	DaysChart                      any
	Days                           []dayRow
	Split                          []splitRow
	SplitChart                     any
	Infrastructures                []infraRow
	InfraChart                     any
	Credit                         *creditContent
	CreditNote                     string
	LinesHref, TrafficHref         string
}

// figure is an amount as the API gives it, with the key that names it in the page
// (data-figure) for the tests that compare it with the API.
type figure struct {
	Key, Text string
}

type trafficFigure struct {
	Cost   figure
	GBytes figure
}

type dayRow struct{ Day, Cost string }

type splitRow struct {
	InfrastructureID    int64
	InfrastructureLabel string
	Type                cloudmeter.ResourceType
	Cost, PrevCost      figure
	Records, Resources  int
	Quantity            string
}

type infraRow struct {
	ID             int64
	Label, Href    string
	Cost, PrevCost figure
}

type creditContent struct {
	OrganizationID                    int64
	Balance, Spend, Credit, Threshold string
	SpendFrom                         string
	CanCreateInstance                 bool
	Chart                             any
}

// userParam reads ?user= (default: the key's own user).
func userParam(r *http.Request, c *call) (int64, error) {
	if s := r.URL.Query().Get("user"); s != "" {
		return parseID("user", s)
	}
	return c.key.UserID, nil
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request, c *call) error {
	user, err := userParam(r, c)
	if err != nil {
		return err
	}
	m, err := parseMonth(r.URL.Query().Get("month"), c.now)
	if err != nil {
		return err
	}
	content, err := h.overviewOf(r, c, user, m)
	if err != nil {
		return err
	}
	h.render(w, r, c, http.StatusOK, "overview", fmt.Sprintf("User %d: %s", user, m.Title()), content)
	return nil
}

// summaryOf is what resource_utilization_summary answers for a user's month.
type summaryOf struct {
	u                *report.Utilization
	totals           []report.TypeTotal
	download, upload report.DirectionTotal
}

func (h *handler) summary(r *http.Request, c *call, req service.ReportRequest) (*summaryOf, error) {
	u, err := h.svc.Utilization(r.Context(), c.key, req)
	if err != nil {
		return nil, err
	}
	totals, err := u.Summary()
	if err != nil {
		return nil, err
	}
	down, up, err := u.TrafficByDirection()
	if err != nil {
		return nil, err
	}
	return &summaryOf{u, totals, down, up}, nil
}

func (h *handler) overviewOf(r *http.Request, c *call, user int64, m month) (*overviewContent, error) {
	pm := m.Prev()
	cur, err := h.summary(r, c, service.ReportRequest{UserID: user, Start: m.Start(), End: m.End()})
	if err != nil {
		return nil, err
	}
	prev, err := h.summary(r, c, service.ReportRequest{UserID: user, Start: pm.Start(), End: pm.End()})
	if err != nil {
		return nil, err
	}
	var cv *service.CreditView
	var creditErr error
	mem, err := h.svc.Organization(r.Context(), c.key, user)
	if err != nil {
		return nil, err
	}
	cv, creditErr = h.svc.Credit(r.Context(), c.key, mem.OrganizationID, false)
	cur24 := cur.u.Currency
	o := &overviewContent{UserID: user, Month: m.String(), Prev: pm.String(), Next: m.Next().String(), MonthTitle: m.Title(), PrevTitle: pm.Title(),
		From: timeText(m.Start()), To: timeText(m.End()), Currency: cur24,
		Total:     figure{"total_cost", amountText(cur.u.Total, cur24)},
		PrevTotal: figure{"prev:total_cost", amountText(prev.u.Total, prev.u.Currency)},
		Download: trafficFigure{figure{"internet_download_cost", amountText(cur.download.Cost, cur24)},
			figure{"internet_download_gbytes", money.FormatGB4(cur.download.Quantity) + " GB"}},
		Upload: trafficFigure{figure{"internet_upload_cost", amountText(cur.upload.Cost, cur24)},
			figure{"internet_upload_gbytes", money.FormatGB4(cur.upload.Quantity) + " GB"}},
		PrevDownload: trafficFigure{figure{"prev:internet_download_cost", amountText(prev.download.Cost, prev.u.Currency)},
			figure{"prev:internet_download_gbytes", money.FormatGB4(prev.download.Quantity) + " GB"}},
		PrevUpl: trafficFigure{figure{"prev:internet_upload_cost", amountText(prev.upload.Cost, prev.u.Currency)},
			figure{"prev:internet_upload_gbytes", money.FormatGB4(prev.upload.Quantity) + " GB"}},
		LinesHref:   fmt.Sprintf("%susers/%d/lines?month=%s", Prefix, user, m),
		TrafficHref: fmt.Sprintf("%susers/%d/traffic?month=%s", Prefix, user, m),
	}
	if len(cur.u.Installments) > 0 || len(prev.u.Installments) > 0 {
		o.Installments = &figure{"reservation_installments_cost", amountText(cur.u.InstallmentsCost, cur24)}
		o.PrevInstallments = &figure{"prev:reservation_installments_cost", amountText(prev.u.InstallmentsCost, prev.u.Currency)}
	}

	// Cost per day: the records' cost split by UTC day as the Hyperstack graphs split it.
	days, err := service.DailyCosts(cur.u.Records, m.Start(), min(m.End(), c.now))
	if err != nil {
		return nil, err
	}
	var bars []bar
	for _, d := range days {
		t := amountText(d.Cost, cur24)
		o.Days = append(o.Days, dayRow{dayText(d.Day), t})
		bars = append(bars, bar{Label: dayText(d.Day)[8:], Values: []int64{int64(d.Cost)}, Texts: []string{t}})
	}
	var maxDay money.Amount
	for _, d := range days {
		maxDay = max(maxDay, d.Cost)
	}
	o.DaysChart = columns(chart{ID: "days", Title: "Cost per day, " + m.Title(),
		Desc: "One bar per UTC day of the month: the cost of the resources billed by time that day. The table below gives each day's figure."},
		bars, amountText(maxDay, cur24))

	// Split by infrastructure and resource type: the summary's own rows, beside the
	// month before.
	labels := map[int64]string{}
	for _, inf := range append(prev.u.Infrastructures, cur.u.Infrastructures...) {
		labels[inf.ID] = inf.Label
	}
	type key struct {
		infra int64
		typ   cloudmeter.ResourceType
	}
	prevCost := map[key]money.Amount{}
	for _, t := range prev.totals {
		prevCost[key{t.InfrastructureID, t.Type}] = t.Cost
	}
	seen := map[key]bool{}
	var split []bar
	addRow := func(t report.TypeTotal, cost, pc money.Amount, present bool) {
		k := key{t.InfrastructureID, t.Type}
		row := splitRow{InfrastructureID: t.InfrastructureID, InfrastructureLabel: labels[t.InfrastructureID], Type: t.Type,
			Records: t.Records, Resources: t.Resources, Quantity: intText(t.Quantity) + " s",
			Cost:     figure{fmt.Sprintf("cost:%d:%s", t.InfrastructureID, t.Type), amountText(cost, cur24)},
			PrevCost: figure{fmt.Sprintf("prev:cost:%d:%s", t.InfrastructureID, t.Type), amountText(pc, prev.u.Currency)}}
		if !present {
			row.Cost = figure{Text: "none"}
			row.Quantity = ""
		}
		if _, ok := prevCost[k]; !ok {
			row.PrevCost = figure{Text: "none"}
		}
		o.Split = append(o.Split, row)
		split = append(split, bar{Label: fmt.Sprintf("%s %s", labelOr(row.InfrastructureLabel, t.InfrastructureID), t.Type),
			Values: []int64{int64(cost), int64(pc)}, Texts: []string{row.Cost.Text, row.PrevCost.Text}})
	}
	for _, t := range cur.totals {
		seen[key{t.InfrastructureID, t.Type}] = true
		addRow(t, t.Cost, prevCost[key{t.InfrastructureID, t.Type}], true)
	}
	for _, t := range prev.totals {
		if !seen[key{t.InfrastructureID, t.Type}] {
			addRow(report.TypeTotal{InfrastructureID: t.InfrastructureID, Type: t.Type}, 0, t.Cost, false)
		}
	}
	o.SplitChart = rows(chart{ID: "split", Title: "Cost by infrastructure and resource type",
		Desc:   fmt.Sprintf("For each infrastructure and resource type, the cost of %s and of %s. The table below gives the figures.", m.Title(), pm.Title()),
		Series: []string{m.Title(), pm.Title()}}, split)

	// Each infrastructure's total: what the month's summary filtered by it totals.
	curInf, err := cur.u.InfrastructureTotals()
	if err != nil {
		return nil, err
	}
	prevInf, err := prev.u.InfrastructureTotals()
	if err != nil {
		return nil, err
	}
	var infraBars []bar
	ids := append([]int64{}, idsOf(cur.u.Infrastructures)...)
	for _, id := range idsOf(prev.u.Infrastructures) {
		if _, ok := curInf[id]; !ok {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		row := infraRow{ID: id, Label: labels[id], Href: fmt.Sprintf("%susers/%d/infrastructures/%d/lines?month=%s", Prefix, user, id, m),
			Cost: figure{Text: "none"}, PrevCost: figure{Text: "none"}}
		if a, ok := curInf[id]; ok {
			row.Cost = figure{fmt.Sprintf("infrastructure:%d", id), amountText(a, cur24)}
		} else {
			row.Href = ""
		}
		if a, ok := prevInf[id]; ok {
			row.PrevCost = figure{fmt.Sprintf("prev:infrastructure:%d", id), amountText(a, prev.u.Currency)}
		}
		o.Infrastructures = append(o.Infrastructures, row)
		infraBars = append(infraBars, bar{Label: labelOr(row.Label, id), Values: []int64{int64(curInf[id]), int64(prevInf[id])},
			Texts: []string{row.Cost.Text, row.PrevCost.Text}})
	}
	o.InfraChart = rows(chart{ID: "infrastructures", Title: "Cost by infrastructure",
		Desc:   fmt.Sprintf("Each infrastructure's total, traffic included, for %s and %s. The table below gives the figures.", m.Title(), pm.Title()),
		Series: []string{m.Title(), pm.Title()}}, infraBars)

	// The organization's prepaid credit.
	switch err := creditErr; {
	case err != nil && cloudmeter.KindOf(err) != cloudmeter.KindTooLarge:
		return nil, err
	case err != nil:
		o.CreditNote = cloudmeter.MessageOf(err)
	case !cv.Prepaid:
		o.CreditNote = fmt.Sprintf("Organization %d is not prepaid: it has no credit account.", cv.OrganizationID)
	default:
		cc := &creditContent{OrganizationID: cv.OrganizationID, Balance: amountText(cv.Account.Balance, cv.Currency),
			Spend: amountText(cv.Spend, cv.Currency), Credit: amountText(cv.Credit, cv.Currency),
			Threshold: amountText(cv.Account.Threshold, cv.Currency), CanCreateInstance: cv.CanCreateInstance}
		if cv.SpendFrom > 0 {
			cc.SpendFrom = timeText(cv.SpendFrom)
		}
		cc.Chart = gauge(chart{ID: "credit", Title: fmt.Sprintf("Credit of organization %d against its threshold", cv.OrganizationID),
			Desc: fmt.Sprintf("Credit %s; threshold %s.", cc.Credit, cc.Threshold)}, int64(cv.Credit), int64(cv.Account.Threshold), cc.Credit, cc.Threshold)
		o.Credit = cc
	}
	return o, nil
}

func labelOr(label string, id int64) string {
	if label == "" {
		return fmt.Sprintf("infrastructure %d", id)
	}
	return fmt.Sprintf("%s (%d)", label, id)
}

func idsOf(infras []cloudmeter.Infrastructure) []int64 {
	out := make([]int64, len(infras))
	for i, inf := range infras {
		out[i] = inf.ID
	}
	return out
}

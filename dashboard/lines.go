package dashboard

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/service"
)

// The detailed lines of a user's month, or of one of its infrastructures: the records,
// traffic records and reservation installments of the MetalSoft detailed report
// (resource_utilization_detailed) of the same window, as a table and as CSV.

type linesContent struct {
	UserID          int64
	Infrastructure  int64 // 0: every infrastructure
	Month           string
	MonthTitle      string
	Prev, Next      string
	From, To        string
	Total           figure
	Records         []lineRow
	Traffic         []trafficRow
	Installments    []installmentRow
	Infrastructures []infraLink
	CSVHref         string
	Base            string
	// The page of lines shown: Page of Pages, each of at most linesPerPage lines of each
	// table, the first being line FirstLine.
	Page, Pages               int
	FirstLine                 int
	RecordCount, TrafficCount int
	PrevPage, NextPage        string
}

// linesPerPage is the most lines of each table one page shows.
var linesPerPage = 1000

type infraLink struct {
	ID    int64
	Label string
	Href  string
}

type lineRow struct {
	InfrastructureID int64
	Type             cloudmeter.ResourceType
	ProductID        int64
	Label            string
	State            cloudmeter.State
	Attributes       string
	Start, End       string
	Quantity         string
	Period           int64
	CostPerUnit      string
	Cost             string
	Unpriced         string
}

// installmentRow is a reservation installment due in the month: part of the total, on
// every page of lines.
type installmentRow struct {
	ReservationID int64
	ServerType    string
	Datacenter    string
	Number        string
	Start, End    string
	Cost          string
}

type trafficRow struct {
	InfrastructureID int64
	Type             cloudmeter.ResourceType
	ProductID        int64
	Label            string
	Direction        cloudmeter.Direction
	Start, End       string
	Quantity         string
	CostPerUnit      string
	Cost             string
	Unpriced         string
}

// linesRequest reads the user, the infrastructure and the month of a lines page.
func linesRequest(r *http.Request, c *call) (service.ReportRequest, month, error) {
	user, err := parseID("user_id", r.PathValue("user_id"))
	if err != nil {
		return service.ReportRequest{}, month{}, err
	}
	m, err := parseMonth(r.URL.Query().Get("month"), c.now)
	if err != nil {
		return service.ReportRequest{}, month{}, err
	}
	req := service.ReportRequest{UserID: user, Start: m.Start(), End: m.End()}
	if s := r.PathValue("id"); s != "" {
		id, err := parseID("infrastructure id", s)
		if err != nil {
			return req, m, err
		}
		req.InfrastructureIDs = []int64{id}
	}
	return req, m, nil
}

func (h *handler) lines(w http.ResponseWriter, r *http.Request, c *call) error {
	req, m, err := linesRequest(r, c)
	if err != nil {
		return err
	}
	u, err := h.svc.Utilization(r.Context(), c.key, req)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("%susers/%d", Prefix, req.UserID)
	title := fmt.Sprintf("User %d: lines of %s", req.UserID, m.Title())
	lc := &linesContent{UserID: req.UserID, Month: m.String(), MonthTitle: m.Title(), Prev: m.Prev().String(), Next: m.Next().String(),
		From: timeText(m.Start()), To: timeText(m.End()), Total: figure{"total_cost", amountText(u.Total, u.Currency)}, Base: base}
	path := base + "/lines"
	if len(req.InfrastructureIDs) == 1 {
		lc.Infrastructure = req.InfrastructureIDs[0]
		path = fmt.Sprintf("%s/infrastructures/%d/lines", base, lc.Infrastructure)
		title = fmt.Sprintf("User %d, infrastructure %d: lines of %s", req.UserID, lc.Infrastructure, m.Title())
	}
	lc.CSVHref = path + ".csv?month=" + m.String()
	for _, inf := range u.Infrastructures {
		lc.Infrastructures = append(lc.Infrastructures, infraLink{inf.ID, inf.Label,
			fmt.Sprintf("%s/infrastructures/%d/lines?month=%s", base, inf.ID, m)})
	}
	// One page of lines at a time: a month of 10,000 resources holds some 23,000 (the CSV
	// holds them all).
	pages := max(1, (len(u.Records)+linesPerPage-1)/linesPerPage, (len(u.Traffic)+linesPerPage-1)/linesPerPage)
	pg := 1
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := parseID("page", s)
		if err != nil {
			return err
		}
		if n > int64(pages) {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "page: %d is past the last page, %d", n, pages)
		}
		pg = int(n)
	}
	lc.Page, lc.Pages = pg, pages
	lc.RecordCount, lc.TrafficCount = len(u.Records), len(u.Traffic)
	lo := (pg - 1) * linesPerPage
	if pg > 1 {
		lc.PrevPage = fmt.Sprintf("%s?month=%s&page=%d", path, m, pg-1)
	}
	if pg < pages {
		lc.NextPage = fmt.Sprintf("%s?month=%s&page=%d", path, m, pg+1)
	}
	lc.FirstLine = lo + 1
	for i := lo; i < min(len(u.Records), lo+linesPerPage); i++ {
		rec := &u.Records[i]
		lc.Records = append(lc.Records, lineRow{InfrastructureID: rec.InfrastructureID, Type: rec.Type, ProductID: rec.ProductID,
			Label: rec.Label, State: rec.State, Attributes: attributesText(rec.Attributes), Start: timeText(rec.Start), End: timeText(rec.End),
			Quantity: intText(rec.Quantity) + " s", Period: rec.MeasurementPeriod, CostPerUnit: amountText(rec.CostPerUnit, u.Currency),
			Cost: amountText(rec.Cost, u.Currency), Unpriced: rec.Unpriced})
	}
	for i := lo; i < min(len(u.Traffic), lo+linesPerPage); i++ {
		t := &u.Traffic[i]
		lc.Traffic = append(lc.Traffic, trafficRow{InfrastructureID: t.Waypoint.InfrastructureID, Type: t.Waypoint.Type,
			ProductID: t.Waypoint.ProductID, Label: t.Waypoint.Label, Direction: t.Direction, Start: timeText(t.Start), End: timeText(t.End),
			Quantity: money.FormatGB4(t.Quantity) + " GB", CostPerUnit: amountText(t.CostPerUnit, u.Currency),
			Cost: amountText(t.Cost, u.Currency), Unpriced: t.Unpriced})
	}
	for _, in := range u.Installments {
		res := in.Reservation
		st := strconv.FormatInt(res.ServerTypeID, 10)
		if res.ServerTypeName != "" {
			st += " (" + res.ServerTypeName + ")"
		}
		lc.Installments = append(lc.Installments, installmentRow{ReservationID: res.ID, ServerType: st, Datacenter: res.Datacenter,
			Number: fmt.Sprintf("%d of %d", in.Number, res.CycleMonths), Start: timeText(in.Start), End: timeText(in.End),
			Cost: amountText(in.Cost, u.Currency)})
	}
	h.render(w, r, c, http.StatusOK, "lines", title, lc)
	return nil
}

// csvHeader names the CSV columns: those of the MetalSoft detailed report's records,
// with the line's kind (time, traffic or installment) and direction.
var csvHeader = []string{"kind", "infrastructure_id", "resource_type", "product_id", "product_label", "product_subdomain", "direction",
	"start_timestamp", "end_timestamp", "measurement_period", "measurement_unit", "quantity", "cost_per_unit", "cost", "cost_currency", "unpriced"}

func (h *handler) linesCSV(w http.ResponseWriter, r *http.Request, c *call) error {
	req, m, err := linesRequest(r, c)
	if err != nil {
		return err
	}
	u, err := h.svc.Utilization(r.Context(), c.key, req)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("cloudmeter-user-%d-%s.csv", req.UserID, m)
	if len(req.InfrastructureIDs) == 1 {
		name = fmt.Sprintf("cloudmeter-user-%d-infrastructure-%d-%s.csv", req.UserID, req.InfrastructureIDs[0], m)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	writeCSV(w, u)
	return nil
}

// writeCSV writes the lines of u: times in RFC 3339 UTC, amounts as the API gives them.
func writeCSV(w http.ResponseWriter, u *report.Utilization) {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for i := range u.Records {
		rec := &u.Records[i]
		cw.Write([]string{"time", strconv.FormatInt(rec.InfrastructureID, 10), string(rec.Type), strconv.FormatInt(rec.ProductID, 10),
			csvText(rec.Label), csvText(rec.Subdomain), "", cloudmeter.FormatTime(rec.Start), cloudmeter.FormatTime(rec.End),
			strconv.FormatInt(rec.MeasurementPeriod, 10), "seconds", strconv.FormatInt(rec.Quantity, 10), rec.CostPerUnit.String(), rec.Cost.String(),
			u.Currency, csvText(rec.Unpriced)})
	}
	for i := range u.Traffic {
		t := &u.Traffic[i]
		cw.Write([]string{"traffic", strconv.FormatInt(t.Waypoint.InfrastructureID, 10), string(t.Waypoint.Type), strconv.FormatInt(t.Waypoint.ProductID, 10),
			csvText(t.Waypoint.Label), csvText(t.Waypoint.Subdomain), string(t.Direction), cloudmeter.FormatTime(t.Start), cloudmeter.FormatTime(t.End),
			strconv.FormatInt(t.MeasurementPeriod, 10), "gbytes", money.FormatGB4(t.Quantity), t.CostPerUnit.String(), t.Cost.String(),
			u.Currency, csvText(t.Unpriced)})
	}
	for _, in := range u.Installments {
		res := in.Reservation
		cw.Write([]string{"installment", "", string(cloudmeter.ResourceInstance), "",
			csvText(fmt.Sprintf("reservation %d installment %d/%d", res.ID, in.Number, res.CycleMonths)), "", "",
			cloudmeter.FormatTime(in.Start), cloudmeter.FormatTime(in.End), "", "installments", "1", in.Cost.String(), in.Cost.String(), u.Currency, ""})
	}
	cw.Flush()
}

// csvText keeps a spreadsheet from taking a label for a formula: a cell that starts with
// = + - @ or a tab gets a leading apostrophe.
func csvText(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

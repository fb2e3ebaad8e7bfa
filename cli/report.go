package cli

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/metalsoft"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/service"
)

// ReportCmd prints a utilization report.
type ReportCmd struct {
	StoreFlags
	User           int64    `required:"" help:"User id whose usage to report."`
	From           string   `required:"" help:"First second of the window, RFC 3339 (e.g. 2016-02-01T00:00:00Z)."`
	To             string   `required:"" help:"Last second of the window (inclusive), RFC 3339."`
	Infrastructure []int64  `help:"Only these infrastructure ids (repeatable)."`
	Datacenter     []string `help:"Only these datacenters (repeatable)."`
	Format         string   `default:"table" enum:"table,json,csv" help:"Output: table; json (the MetalSoft detailed_report shape, network_report included, and a totals member saying how its costs add up); or csv (one line per usage record, per traffic record and per reservation installment, and a last total line that is their sum)."`
}

// Run prints the report.
func (c *ReportCmd) Run(g *Globals) error {
	req := service.ReportRequest{UserID: c.User, InfrastructureIDs: c.Infrastructure, Datacenters: c.Datacenter}
	var err error
	if req.Start, err = cloudmeter.ParseTime("--from", c.From); err != nil {
		return err
	}
	if req.End, err = cloudmeter.ParseTime("--to", c.To); err != nil {
		return err
	}
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := svc.Utilization(g.Ctx, service.SystemKey, req)
	if err != nil {
		return err
	}
	switch c.Format {
	case "json":
		_, err = fmt.Fprintf(g.Stdout, "%s\n", metalsoft.ExportJSON(u))
		return err
	case "csv":
		return WriteCSV(g.Stdout, u)
	}
	if err := WriteTable(g.Stdout, u); err != nil {
		return err
	}
	return writePartnerCharges(g, svc, req)
}

// NoPriceBook is what reports say instead of a currency when no price book was loaded.
const NoPriceBook = "no price book loaded: every record is unpriced, at cost 0"

// NoPriceBookPulled is what reports say instead of a currency when no price book was
// loaded and the report holds pulled records, whose costs are their source's.
const NoPriceBookPulled = "no price book loaded: metered records are unpriced, at cost 0; pulled records keep their source's costs, in no named currency"

// noPriceBook says why a report names no currency.
func noPriceBook(u *report.Utilization) string {
	for i := range u.Records {
		if u.Records[i].Source != "" {
			return NoPriceBookPulled
		}
	}
	for i := range u.Traffic {
		if u.Traffic[i].Source != "" {
			return NoPriceBookPulled
		}
	}
	return NoPriceBook
}

// currencyNote is the report's currency, or that there is none.
func currencyNote(u *report.Utilization) string {
	if u.Currency == "" {
		return noPriceBook(u)
	}
	return u.Currency
}

// WriteTable prints a report as an aligned table with totals per resource type and a
// grand total.
func WriteTable(w io.Writer, u *report.Utilization) error {
	fmt.Fprintf(w, "Utilization of user %d from %s to %s (%s)\n\n", u.UserID, cloudmeter.FormatTime(u.Start), cloudmeter.FormatTime(u.End), currencyNote(u))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "INFRA\tTYPE\tPRODUCT\tLABEL\tSTART\tEND\tSECONDS\tCOST/UNIT\tPERIOD\tCOST\t")
	for i := range u.Records {
		r := &u.Records[i]
		note := ""
		if r.Unpriced != "" {
			note = "  (unpriced)"
		} else if r.ExcludeBilling {
			note = "  (excluded)"
		} else if r.Reservation != nil {
			note = fmt.Sprintf("  (reservation %d)", r.Reservation.ID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", r.InfrastructureID, r.Type, r.ProductID, r.Label,
			cloudmeter.FormatTime(r.Start), cloudmeter.FormatTime(r.End), r.Quantity, r.CostPerUnit, r.MeasurementPeriod, r.Cost, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	totals, err := u.Summary()
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "INFRA\tTYPE\tRESOURCES\tRECORDS\tSECONDS\tCOST\t")
	for _, t := range totals {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\t\n", t.InfrastructureID, t.Type, t.Resources, t.Records, t.Quantity, t.Cost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(u.Traffic) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "INFRA\tTYPE\tPRODUCT\tLABEL\tDIRECTION\tSTART\tEND\tGB\tCOST/GB\tCOST\t")
		for i := range u.Traffic {
			r := &u.Traffic[i]
			note := ""
			if r.Unpriced != "" {
				note = "  (unpriced)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Waypoint.InfrastructureID, r.Waypoint.Type, r.Waypoint.ProductID,
				r.Waypoint.Label, r.Direction, cloudmeter.FormatTime(r.Start), cloudmeter.FormatTime(r.End), money.FormatGB4(r.Quantity), r.CostPerUnit, r.Cost, note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err := writeInstallments(w, u); err != nil {
		return err
	}
	if u.Currency == "" {
		fmt.Fprintf(w, "\nTOTAL %s (%s) over %d records", u.Total, noPriceBook(u), len(u.Records))
	} else {
		fmt.Fprintf(w, "\nTOTAL %s %s over %d records", u.Total, u.Currency, len(u.Records))
	}
	if len(u.Traffic) > 0 {
		fmt.Fprintf(w, " and %d traffic records", len(u.Traffic))
	}
	if len(u.Installments) > 0 {
		fmt.Fprintf(w, ", %d reservation installments", len(u.Installments))
	}
	if n := len(u.Unpriced()) + len(u.UnpricedTraffic()); n > 0 && u.Currency != "" {
		fmt.Fprintf(w, " (%d unpriced records reported at cost 0)", n)
	}
	fmt.Fprintln(w)
	return nil
}

// CSVHeader is the first line of WriteCSV.
var CSVHeader = []string{"line", "infrastructure_id", "resource_type", "product_id", "label", "direction", "start", "end", "quantity",
	"quantity_unit", "cost_per_unit", "measurement_period", "cost", "currency", "unpriced"}

// WriteCSV prints every line of the table: one "usage" line per record (quantity in
// seconds), one "traffic" line per traffic record (quantity in GB), one "installment"
// line per reservation installment due in the window (quantity 1), and last a "total"
// line whose cost is the report's total, the sum of the cost of every line above, and
// whose label says so. With no price book the currency column is empty and the total
// line says why.
func WriteCSV(w io.Writer, u *report.Utilization) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	for i := range u.Records {
		r := &u.Records[i]
		cw.Write([]string{"usage", strconv.FormatInt(r.InfrastructureID, 10), string(r.Type), strconv.FormatInt(r.ProductID, 10), r.Label, "",
			cloudmeter.FormatTime(r.Start), cloudmeter.FormatTime(r.End), strconv.FormatInt(r.Quantity, 10), "seconds", r.CostPerUnit.String(),
			strconv.FormatInt(r.MeasurementPeriod, 10), r.Cost.String(), u.Currency, r.Unpriced})
	}
	for i := range u.Traffic {
		r := &u.Traffic[i]
		cw.Write([]string{"traffic", strconv.FormatInt(r.Waypoint.InfrastructureID, 10), string(r.Waypoint.Type), strconv.FormatInt(r.Waypoint.ProductID, 10),
			r.Waypoint.Label, string(r.Direction), cloudmeter.FormatTime(r.Start), cloudmeter.FormatTime(r.End), money.FormatGB4(r.Quantity), "gbytes",
			r.CostPerUnit.String(), strconv.FormatInt(r.MeasurementPeriod, 10), r.Cost.String(), u.Currency, r.Unpriced})
	}
	for _, in := range u.Installments {
		r := in.Reservation
		cw.Write([]string{"installment", "", string(cloudmeter.ResourceInstance), "", fmt.Sprintf("reservation %d installment %d/%d", r.ID, in.Number, r.CycleMonths),
			"", cloudmeter.FormatTime(in.Start), cloudmeter.FormatTime(in.End), "1", "installments", in.Cost.String(), "", in.Cost.String(), u.Currency, ""})
	}
	unpriced := ""
	if n := len(u.Unpriced()) + len(u.UnpricedTraffic()); u.Currency == "" {
		unpriced = noPriceBook(u)
	} else if n > 0 {
		unpriced = fmt.Sprintf("%d unpriced lines at cost 0", n)
	}
	label := fmt.Sprintf("sum of the cost of the %d usage and %d traffic lines above", len(u.Records), len(u.Traffic))
	if len(u.Installments) > 0 {
		label = fmt.Sprintf("sum of the cost of the %d usage, %d traffic and %d installment lines above", len(u.Records), len(u.Traffic), len(u.Installments))
	}
	cw.Write([]string{"total", "", "", "", label, "",
		cloudmeter.FormatTime(u.Start), cloudmeter.FormatTime(u.End), "", "", "", "", u.Total.String(), u.Currency, unpriced})
	cw.Flush()
	return cw.Error()
}

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
	Format         string   `default:"table" enum:"table,json,csv" help:"Output: table, json (the MetalSoft detailed_report shape) or csv."`
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
	st, svc, err := c.open(g.Ctx)
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
		_, err = fmt.Fprintf(g.Stdout, "%s\n", metalsoft.DetailedJSON(u))
		return err
	case "csv":
		return WriteCSV(g.Stdout, u)
	}
	return WriteTable(g.Stdout, u)
}

// WriteTable prints a report as an aligned table with totals per resource type and a
// grand total.
func WriteTable(w io.Writer, u *report.Utilization) error {
	fmt.Fprintf(w, "Utilization of user %d from %s to %s (%s)\n\n", u.UserID, cloudmeter.FormatTime(u.Start), cloudmeter.FormatTime(u.End), u.Currency)
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
	fmt.Fprintf(w, "\nTOTAL %s %s over %d records", u.Total, u.Currency, len(u.Records))
	if len(u.Traffic) > 0 {
		fmt.Fprintf(w, " and %d traffic records", len(u.Traffic))
	}
	if len(u.Installments) > 0 {
		fmt.Fprintf(w, ", %d reservation installments", len(u.Installments))
	}
	if n := len(u.Unpriced()) + len(u.UnpricedTraffic()); n > 0 {
		fmt.Fprintf(w, " (%d unpriced records reported at cost 0)", n)
	}
	fmt.Fprintln(w)
	return nil
}

// WriteCSV prints one line per record.
func WriteCSV(w io.Writer, u *report.Utilization) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"infrastructure_id", "resource_type", "product_id", "label", "start", "end", "quantity_seconds", "cost_per_unit",
		"measurement_period", "cost", "currency", "unpriced"})
	for i := range u.Records {
		r := &u.Records[i]
		cw.Write([]string{strconv.FormatInt(r.InfrastructureID, 10), string(r.Type), strconv.FormatInt(r.ProductID, 10), r.Label,
			cloudmeter.FormatTime(r.Start), cloudmeter.FormatTime(r.End), strconv.FormatInt(r.Quantity, 10), r.CostPerUnit.String(),
			strconv.FormatInt(r.MeasurementPeriod, 10), r.Cost.String(), u.Currency, r.Unpriced})
	}
	cw.Flush()
	return cw.Error()
}

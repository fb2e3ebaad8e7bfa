package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// InstallationsCmd manages marketplace partners' installations.
type InstallationsCmd struct {
	Create          InstallationsCreateCmd    `cmd:"" help:"Install a marketplace partner for a user; prints the installation id and its access token (shown once, stored only as a hash)."`
	List            InstallationsListCmd      `cmd:"" help:"List installations: id, partner, user, currency, when installed and uninstalled."`
	Uninstall       InstallationsUninstallCmd `cmd:"" help:"Uninstall an installation: its partner endpoints answer 410 Gone from now on; what it submitted is kept."`
	Show            InstallationsShowCmd      `cmd:"" help:"Show what an installation submitted: the billing data kept per day and per month, its invoices and prepaid balances."`
	SetInvoiceState InvoiceStateCmd           `cmd:"" name:"set-invoice-state" help:"Move a partner's invoice along its state machine (scheduled, invoiced, paid, notpaid, overdue, refunded)."`
}

// InstallationsCreateCmd installs a partner.
type InstallationsCreateCmd struct {
	StoreFlags
	Partner  string `required:"" help:"The partner's name."`
	User     int64  `required:"" help:"The user the partner bills."`
	Currency string `default:"USD" help:"ISO 4217 code of the partner's amounts."`
}

// Run creates the installation.
func (c *InstallationsCreateCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	token, in, err := svc.CreateInstallation(g.Ctx, service.SystemKey, c.Partner, c.User, c.Currency)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "installation %s of partner %s for user %d (%s)\n", in.ID, in.Partner, in.UserID, in.Currency)
	fmt.Fprintf(g.Stdout, "access token (shown once; the partner sends it as Authorization: Bearer <token>):\n%s\n", token)
	return nil
}

// InstallationsListCmd lists installations.
type InstallationsListCmd struct {
	StoreFlags
	User int64 `help:"Only this user's installations (all when 0)."`
}

// Run lists the installations.
func (c *InstallationsListCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := svc.Installations(g.Ctx, service.SystemKey, c.User)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPARTNER\tUSER\tCURRENCY\tINSTALLED\tUNINSTALLED\tFINALIZED")
	for _, in := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", in.ID, in.Partner, in.UserID, in.Currency, cloudmeter.FormatTime(in.CreatedAt),
			optTime(in.UninstalledAt), optTime(in.FinalizedAt))
	}
	return tw.Flush()
}

func optTime(t int64) string {
	if t == 0 {
		return "-"
	}
	return cloudmeter.FormatTime(t)
}

// InstallationsUninstallCmd uninstalls an installation.
type InstallationsUninstallCmd struct {
	StoreFlags
	ID string `arg:"" help:"The installation id (icfg_...)."`
}

// Run uninstalls.
func (c *InstallationsUninstallCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	in, err := svc.Uninstall(g.Ctx, service.SystemKey, c.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "installation %s uninstalled at %s\n", in.ID, cloudmeter.FormatTime(in.UninstalledAt))
	return nil
}

// InstallationsShowCmd shows what an installation submitted.
type InstallationsShowCmd struct {
	StoreFlags
	ID   string `arg:"" help:"The installation id (icfg_...)."`
	From string `help:"First day to show, RFC 3339 (default: 31 days ago)."`
	To   string `help:"Last day to show, RFC 3339 (default: now)."`
}

// Run shows the installation.
func (c *InstallationsShowCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	to := svc.Now()
	from := to - 31*86400
	if c.From != "" {
		if from, err = cloudmeter.ParseTime("--from", c.From); err != nil {
			return err
		}
	}
	if c.To != "" {
		if to, err = cloudmeter.ParseTime("--to", c.To); err != nil {
			return err
		}
	}
	b, err := svc.Installation(g.Ctx, service.SystemKey, c.ID, from, to)
	if err != nil {
		return err
	}
	return WriteInstallation(g.Stdout, b)
}

// WriteInstallation prints what an installation submitted as tables.
func WriteInstallation(w io.Writer, b service.InstallationBilling) error {
	in := b.Installation
	fmt.Fprintf(w, "Installation %s of partner %s for user %d (%s)\n", in.ID, in.Partner, in.UserID, in.Currency)
	for _, part := range []struct {
		title string
		rows  []cloudmeter.StoredBilling
	}{{"DAY", b.Days}, {"MONTH", b.Months}} {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\tTIMESTAMP\tEOD\tITEMS\tITEMS TOTAL\tDISCOUNTS\tTOTAL\tUSAGE\tANOMALIES\t\n", part.title)
		for _, r := range part.rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\t\n", cloudmeter.FormatTime(r.Start)[:10], cloudmeter.FormatMillis(r.Timestamp),
				cloudmeter.FormatMillis(r.EOD), r.Items, r.ItemsTotal, r.DiscountsTotal, r.Total(), r.Usage, len(r.Anomalies))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "INVOICE\tEXTERNAL ID\tDATE\tSTATE\tTOTAL\tREFUNDED\tTEST\t")
	for _, inv := range b.Invoices {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%t\t\n", inv.ID, inv.ExternalID, cloudmeter.FormatMillis(inv.InvoiceDate), inv.State,
			inv.Total, inv.Refunded, inv.Test)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(b.Balances) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "BALANCE OF\tTIMESTAMP\tCENTS\tCREDIT\tLABEL\t")
		for _, bal := range b.Balances {
			res := bal.ResourceID
			if res == "" {
				res = "(installation)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t\n", res, cloudmeter.FormatMillis(bal.Timestamp), bal.CurrencyValueInCents, bal.Credit, bal.NameLabel)
		}
		return tw.Flush()
	}
	return nil
}

// InvoiceStateCmd moves an invoice along its state machine.
type InvoiceStateCmd struct {
	StoreFlags
	Installation string `required:"" help:"The installation id (icfg_...)."`
	Invoice      string `required:"" help:"The invoice id (inv_...)."`
	State        string `required:"" help:"The new state: scheduled, invoiced, paid, notpaid, overdue or refunded."`
}

// Run moves the invoice.
func (c *InvoiceStateCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	inv, err := svc.SetInvoiceState(g.Ctx, service.SystemKey, c.Installation, c.Invoice, cloudmeter.InvoiceState(c.State))
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "invoice %s is %s\n", inv.ID, inv.State)
	return nil
}

// writePartnerCharges prints, after a report's table, what marketplace partners charged
// the user over the report's window, per installation and per currency, as a part of its
// own: the amounts are in the partners' currencies and not in the report's TOTAL. It
// prints nothing when there are none.
func writePartnerCharges(g *Globals, svc *service.Service, req service.ReportRequest) error {
	charges, totals, err := svc.PartnerCharges(g.Ctx, service.SystemKey, req.UserID, req.Start, req.End)
	if err != nil || len(charges) == 0 {
		return err
	}
	w := g.Stdout
	fmt.Fprintln(w, "\nPARTNER CHARGES (in each partner's currency; not part of the TOTAL above)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "INSTALLATION\tPARTNER\tCURRENCY\tINVOICES\tINVOICED\tREFUNDED\tINTERIM\t")
	for _, c := range charges {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", c.Installation.ID, c.Installation.Partner, c.Installation.Currency, c.Invoices,
			c.Invoiced, c.Refunded, c.Interim)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range totals {
		fmt.Fprintf(w, "PARTNER TOTAL %s: invoiced %s, refunded %s, interim %s\n", t.Currency, t.Invoiced, t.Refunded, t.Interim)
	}
	return nil
}

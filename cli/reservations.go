package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/service"
)

// ReservationsCmd manages server type reservations.
type ReservationsCmd struct {
	Create ReservationsCreateCmd `cmd:"" help:"Reserve instances of a server type in a datacenter for a cycle of months, paid in monthly installments."`
	List   ReservationsListCmd   `cmd:"" help:"List a user's reservations (--unused: those in force now that cover no instance now)."`
	Show   ReservationsShowCmd   `cmd:"" help:"Show one reservation."`
}

// ReservationsCreateCmd reserves instances.
type ReservationsCreateCmd struct {
	StoreFlags
	User             int64  `required:"" help:"The user who reserves."`
	ServerTypeID     int64  `name:"server-type-id" required:"" help:"The server type reserved: the server_type_id of the instances covered."`
	ServerTypeName   string `name:"server-type-name" help:"The server type's name, shown with the installments."`
	Datacenter       string `required:"" help:"The datacenter whose instances the reservations cover."`
	Price            string `required:"" help:"The monthly installment of each instance, a decimal of at most 8 places (150.00), in the price book's currency."`
	UtilizationPrice string `name:"utilization-price" default:"0" help:"What an hour of a covered instance costs (0: the installments pay for everything)."`
	CycleMonths      int    `name:"cycle-months" default:"12" help:"How many monthly installments (1 to 120)."`
	Start            string `help:"The first second in force, RFC 3339; absent: now. A start in the past changes the reports it touches."`
	Quantity         int    `default:"1" help:"How many instances to reserve; each is a reservation of its own."`
}

// Run reserves.
func (c *ReservationsCreateCmd) Run(g *Globals) error {
	req := service.ReservationRequest{UserID: c.User, ServerTypeID: c.ServerTypeID, ServerTypeName: c.ServerTypeName, Datacenter: c.Datacenter,
		CycleMonths: c.CycleMonths, Quantity: c.Quantity}
	var err error
	if req.Price, err = money.ParseAmount(c.Price); err != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--price: %s", strings.TrimPrefix(err.Error(), "money: "))
	}
	if req.UtilizationPrice, err = money.ParseAmount(c.UtilizationPrice); err != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--utilization-price: %s", strings.TrimPrefix(err.Error(), "money: "))
	}
	if c.CycleMonths < 1 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--cycle-months: %d must be from 1 to 120", c.CycleMonths)
	}
	if c.Quantity < 1 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--quantity: %d must be from 1 to 1000", c.Quantity)
	}
	if c.Start != "" {
		if req.Start, err = cloudmeter.ParseTime("--start", c.Start); err != nil {
			return err
		}
	}
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := svc.CreateReservations(g.Ctx, service.SystemKey, req)
	if err != nil {
		return err
	}
	return printReservations(g.Stdout, rs)
}

// ReservationsListCmd lists a user's reservations.
type ReservationsListCmd struct {
	StoreFlags
	User   int64 `required:"" help:"The user id."`
	Unused bool  `help:"Only the reservations in force now that cover no instance now."`
}

// Run lists.
func (c *ReservationsListCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := svc.UserReservations(g.Ctx, service.SystemKey, c.User, c.Unused)
	if err != nil {
		return err
	}
	return printReservations(g.Stdout, rs)
}

// ReservationsShowCmd shows one reservation.
type ReservationsShowCmd struct {
	StoreFlags
	ID int64 `arg:"" help:"The reservation id."`
}

// Run shows.
func (c *ReservationsShowCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := svc.Reservation(g.Ctx, service.SystemKey, c.ID)
	if err != nil {
		return err
	}
	return printReservations(g.Stdout, []service.ReservationView{r})
}

func printReservations(w io.Writer, rs []service.ReservationView) error {
	if len(rs) == 0 {
		_, err := fmt.Fprintln(w, "no reservations")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tSERVER TYPE\tDATACENTER\tSTART\tEND\tMONTHS\tMONTHLY\tPER HOUR\tSTATUS")
	for _, r := range rs {
		monthly := r.Price.String()
		if r.Currency != "" {
			monthly += " " + r.Currency
		} // with no price book loaded, no currency is named
		typ := fmt.Sprint(r.ServerTypeID)
		if r.ServerTypeName != "" {
			typ += " (" + r.ServerTypeName + ")"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.UserID, typ, r.Datacenter, cloudmeter.FormatTime(r.Start),
			cloudmeter.FormatTime(r.End), r.CycleMonths, monthly, r.UtilizationPrice, r.Status)
	}
	return tw.Flush()
}

// writeInstallments prints the reservation installments of a report, when it has any.
func writeInstallments(w io.Writer, u *report.Utilization) error {
	if len(u.Installments) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RESERVATION\tSERVER TYPE\tDATACENTER\tINSTALLMENT\tSTART\tEND\tCOST\t")
	for _, in := range u.Installments {
		r := in.Reservation
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d/%d\t%s\t%s\t%s\t\n", r.ID, r.ServerTypeID, r.Datacenter, in.Number, r.CycleMonths,
			cloudmeter.FormatTime(in.Start), cloudmeter.FormatTime(in.End), in.Cost)
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\t%s\t\n", u.InstallmentsCost)
	return tw.Flush()
}

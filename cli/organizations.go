package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

// UsersCmd manages users' organizations.
type UsersCmd struct {
	SetOrganization UsersSetOrganizationCmd `cmd:"" name:"set-organization" help:"Put a user in an organization (its own id puts it back in its own)."`
	Show            UsersShowCmd            `cmd:"" help:"Show a user's organization and the organization's users."`
}

// UsersSetOrganizationCmd puts a user in an organization.
type UsersSetOrganizationCmd struct {
	StoreFlags
	User         int64 `required:"" help:"The user id."`
	Organization int64 `required:"" help:"The organization id (by default each user is its own organization, whose id is its user id)."`
}

// Run sets the organization.
func (c *UsersSetOrganizationCmd) Run(g *Globals) error {
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := svc.SetOrganization(g.Ctx, service.SystemKey, c.User, c.Organization)
	if err != nil {
		return err
	}
	printMembership(g.Stdout, m)
	return nil
}

// UsersShowCmd shows a user's organization.
type UsersShowCmd struct {
	StoreFlags
	User int64 `required:"" help:"The user id."`
}

// Run shows the organization.
func (c *UsersShowCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := svc.Organization(g.Ctx, service.SystemKey, c.User)
	if err != nil {
		return err
	}
	printMembership(g.Stdout, m)
	return nil
}

func printMembership(w io.Writer, m service.Membership) {
	users := make([]string, len(m.Users))
	for i, u := range m.Users {
		users[i] = fmt.Sprint(u)
	}
	fmt.Fprintf(w, "user %d is in organization %d (users: %s)\n", m.UserID, m.OrganizationID, strings.Join(users, ", "))
}

// CreditCmd manages organizations' prepaid credit.
type CreditCmd struct {
	TopUp CreditTopUpCmd `cmd:"" name:"top-up" help:"Add an amount to an organization's prepaid balance (audited: who, when, how much, the note)."`
	Set   CreditSetCmd   `cmd:"" help:"Set an organization's credit threshold and the start of its spend."`
	Show  CreditShowCmd  `cmd:"" help:"Show an organization's credit as of now: balance, spend, credit, threshold and every top-up."`
}

// CreditTopUpCmd tops up an organization's credit.
type CreditTopUpCmd struct {
	StoreFlags
	Organization int64  `required:"" help:"The organization id."`
	Amount       string `required:"" help:"The amount, a decimal of at most 8 places above 0 (100.00), in the price book's currency."`
	Note         string `help:"Why: an invoice, a purchase order, a payment reference."`
}

// Run tops up.
func (c *CreditTopUpCmd) Run(g *Globals) error {
	a, err := money.ParseAmount(c.Amount)
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--amount: %s", strings.TrimPrefix(err.Error(), "money: "))
	}
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	up, v, err := svc.TopUpCredit(g.Ctx, service.SystemKey, c.Organization, a, c.Note)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "topped up organization %d with %s (top-up %d)\n", c.Organization, up.Amount, up.Seq)
	return printCredit(g.Stdout, v)
}

// CreditSetCmd sets an organization's credit settings.
type CreditSetCmd struct {
	StoreFlags
	Organization int64  `required:"" help:"The organization id."`
	Threshold    string `required:"" help:"The credit below which the organization may not create instances (0 or more)."`
	SpendFrom    string `name:"spend-from" help:"The first second whose usage is charged to the credit (RFC 3339); absent: from the first top-up."`
}

// Run sets the settings.
func (c *CreditSetCmd) Run(g *Globals) error {
	threshold, err := money.ParseAmount(c.Threshold)
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--threshold: %s", strings.TrimPrefix(err.Error(), "money: "))
	}
	var from int64
	if c.SpendFrom != "" {
		if from, err = cloudmeter.ParseTime("--spend-from", c.SpendFrom); err != nil {
			return err
		}
		from = max(from, 1) // 0 is the default
	}
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := svc.SetCreditSettings(g.Ctx, service.SystemKey, c.Organization, threshold, from)
	if err != nil {
		return err
	}
	return printCredit(g.Stdout, v)
}

// CreditShowCmd shows an organization's credit.
type CreditShowCmd struct {
	StoreFlags
	Organization int64 `required:"" help:"The organization id."`
}

// Run shows the credit.
func (c *CreditShowCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := svc.Credit(g.Ctx, service.SystemKey, c.Organization, true)
	if err != nil {
		return err
	}
	return printCredit(g.Stdout, v)
}

func printCredit(w io.Writer, v *service.CreditView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	users := make([]string, len(v.Users))
	for i, u := range v.Users {
		users[i] = fmt.Sprint(u)
	}
	from := "nothing charged yet (no top-up)"
	if v.SpendFrom != 0 {
		from = cloudmeter.FormatTime(v.SpendFrom)
		if v.Account.SpendFrom == 0 {
			from += " (the first top-up)"
		}
	}
	fmt.Fprintf(tw, "organization\t%d (users: %s)\n", v.OrganizationID, strings.Join(users, ", "))
	fmt.Fprintf(tw, "balance\t%s %s\n", v.Account.Balance, v.Currency)
	fmt.Fprintf(tw, "spend\t%s (usage from %s to %s)\n", v.Spend, from, cloudmeter.FormatTime(v.Now))
	fmt.Fprintf(tw, "credit\t%s\n", v.Credit)
	fmt.Fprintf(tw, "threshold\t%s\n", v.Account.Threshold)
	fmt.Fprintf(tw, "can create instances\t%v\n", v.CanCreateInstance)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.TopUps) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOP-UP\tAT\tAMOUNT\tBY\tNOTE")
	for _, t := range v.TopUps {
		by := t.ByKey
		if t.ByUser != 0 {
			by = fmt.Sprintf("%s (user %d)", t.ByKey, t.ByUser)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.Seq, cloudmeter.FormatTime(t.At), t.Amount, by, t.Note)
	}
	return tw.Flush()
}

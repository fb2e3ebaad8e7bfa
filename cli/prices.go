package cli

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// PricesCmd manages the price book.
type PricesCmd struct {
	Import PricesImportCmd `cmd:"" help:"Replace the price book with the one in FILE (native JSON format); the old version is kept. A book that would leave unpriced usage the book in force prices is refused unless --force; --dry-run shows what would change."`
	Show   PricesShowCmd   `cmd:"" help:"Print the price book in force."`
}

// PricesImportCmd imports a book.
type PricesImportCmd struct {
	StoreFlags
	File   string `arg:"" type:"existingfile" help:"Price book in the native JSON format (see README)."`
	DryRun bool   `name:"dry-run" help:"Change nothing: print, per user and month, the report totals with the book in force and with FILE, and what FILE would leave unpriced."`
	Force  bool   `help:"Replace the book even when FILE leaves unpriced usage that the book in force prices (an empty book included)."`
}

// Run imports the book.
func (c *PricesImportCmd) Run(g *Globals) error {
	body, err := os.ReadFile(c.File)
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %v", c.File, err)
	}
	if c.DryRun && c.Force {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--dry-run and --force: choose one (a dry run changes nothing)")
	}
	open := c.open
	if c.DryRun {
		open = c.openExisting
	}
	st, svc, err := open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if c.DryRun {
		rv, err := svc.ReviewPrices(g.Ctx, service.SystemKey, body)
		if err != nil {
			return err
		}
		return WritePriceReview(g.Stdout, c.File, rv)
	}
	put := svc.PutPrices
	if c.Force {
		put = svc.PutPricesForced
	}
	b, err := put(g.Ctx, service.SystemKey, body)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "price book version %d in force: %d entries in %s\n", b.Version, len(b.Entries), b.Currency)
	return nil
}

// PricesShowCmd prints the book.
type PricesShowCmd struct {
	StoreFlags
}

// Run prints the book.
func (c *PricesShowCmd) Run(g *Globals) error {
	st, svc, err := c.openExisting(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := svc.Prices(g.Ctx, service.SystemKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "%s\n", b.Body)
	return nil
}

// WritePriceReview prints a dry run of a price book: per user and month the totals with
// the book in force and with the proposed one, and what would become unpriced.
func WritePriceReview(w io.Writer, file string, rv *service.PriceReview) error {
	before := rv.CurrencyBefore
	if before == "" {
		before = "no book"
	}
	fmt.Fprintf(w, "dry run of %s (%d entries, %s) against the book in force (version %d, %s); nothing was changed\n\n",
		file, len(rv.Proposed.Entries), rv.CurrencyAfter, rv.CurrentVersion, before)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "USER\tMONTH\tBEFORE\tAFTER\tDIFFERENCE\t")
	for _, m := range rv.Months {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t\n", m.UserID, time.Unix(m.Month, 0).UTC().Format("2006-01"), m.Before, m.After, m.Difference())
	}
	fmt.Fprintf(tw, "TOTAL\t\t%s\t%s\t%s\t\n", rv.TotalBefore, rv.TotalAfter, rv.TotalAfter-rv.TotalBefore)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rv.Unpriced) == 0 {
		fmt.Fprintln(w, "\nnothing the book in force prices would become unpriced")
		return nil
	}
	fmt.Fprintf(w, "\nwould become unpriced (%d), so an import without --force is refused:\n", len(rv.Unpriced))
	for _, n := range rv.Unpriced {
		fmt.Fprintf(w, "  %s\n", n)
	}
	return nil
}

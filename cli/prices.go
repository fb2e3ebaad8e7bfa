package cli

import (
	"fmt"
	"os"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// PricesCmd manages the price book.
type PricesCmd struct {
	Import PricesImportCmd `cmd:"" help:"Replace the price book with the one in FILE (native JSON format); the old version is kept."`
	Show   PricesShowCmd   `cmd:"" help:"Print the price book in force."`
}

// PricesImportCmd imports a book.
type PricesImportCmd struct {
	StoreFlags
	File string `arg:"" type:"existingfile" help:"Price book in the native JSON format (see README)."`
}

// Run imports the book.
func (c *PricesImportCmd) Run(g *Globals) error {
	body, err := os.ReadFile(c.File)
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: %v", c.File, err)
	}
	st, svc, err := c.open(g.Ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := svc.PutPrices(g.Ctx, service.SystemKey, body)
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

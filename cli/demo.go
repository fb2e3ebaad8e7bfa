package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// DemoCmd builds a demo cloud.
type DemoCmd struct {
	DataDir   string `name:"data-dir" default:"./cloudmeter-demo" help:"Data directory to create (must not exist yet, or be empty)."`
	Resources int    `default:"300" help:"How many resources to generate beside the seed example."`
	Seed      int64  `default:"1" help:"Random seed of the generated cloud (the same seed gives the same cloud)."`
}

// The windows the demo reports: the seed example's two months and the generated month.
const (
	seedFrom = "2016-01-01T00:00:00Z"
	seedTo   = "2016-02-29T23:59:59Z"
)

// batchMedia is the Content-Type of a JSON array of CloudEvents.
const batchMedia = "application/cloudevents-batch+json"

// Run creates the data directory, loads the demo price book, the seed example and the
// generated cloud, creates an admin key for user 1 and prints the reports and how to
// serve and query the data.
func (c *DemoCmd) Run(g *Globals) (err error) {
	if c.Resources < 0 {
		return cloudmeter.Errorf(cloudmeter.KindInvalid, "--resources: must be 0 or more, not %d", c.Resources)
	}
	created, err := freshDir(c.DataDir)
	if err != nil {
		return err
	}
	defer func() {
		// A half-built demo would make the next run refuse the directory: remove what
		// this run created.
		if err != nil {
			cleanDir(c.DataDir, created)
		}
	}()
	ctx := g.Ctx
	st, err := sqlite.Open(ctx, c.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	out := g.Stdout

	book, err := svc.PutPrices(ctx, service.SystemKey, demo.DemoPrices)
	if err != nil {
		return fmt.Errorf("demo price book: %w", err)
	}

	started := time.Now()
	seedEvents, err := ledger.DecodeBatch(batchMedia, demo.SeedEvents, ledger.Limits{})
	if err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	if _, err := svc.Ingest(ctx, service.SystemKey, seedEvents); err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	batches := demo.Generate(c.Seed, c.Resources, demo.Month)
	total := 0
	for _, b := range batches {
		total += b.Events
	}
	bar := newProgress(g.Stderr, int64(total), "ingesting the demo cloud")
	for i, b := range batches {
		events, err := ledger.DecodeBatch(batchMedia, b.JSON, ledger.Limits{})
		if err != nil {
			return fmt.Errorf("generated batch %d: %w", i, err)
		}
		if _, err := svc.Ingest(ctx, service.SystemKey, events); err != nil {
			return fmt.Errorf("generated batch %d: %w", i, err)
		}
		bar.Add(len(events))
	}
	bar.Finish()
	elapsed := time.Since(started)

	key, k, err := svc.CreateKey(ctx, service.SystemKey, 1, []cloudmeter.Permission{cloudmeter.PermAdmin}, "cloudmeter demo")
	if err != nil {
		return err
	}

	monthFrom := demo.Month.Unix()
	monthTo := demo.Month.AddDate(0, 1, 0).Unix() - 1
	fmt.Fprintf(out, "cloudmeter demo: created %s\n", c.DataDir)
	fmt.Fprintf(out, "  price book version %d in force: %d entries in %s (per server type, stopped instances, a us-santaclara and a user 2 price, a drive price change on %s)\n",
		book.Version, len(book.Entries), book.Currency, demo.Month.AddDate(0, 0, 15).Format("2006-01-02"))
	fmt.Fprintf(out, "  ingested %d seed events and %d generated events (%d resources of users 1 to 5, seed %d, month from %s) in %s\n",
		len(seedEvents), total, c.Resources, c.Seed, cloudmeter.FormatTime(monthFrom), elapsed.Round(time.Millisecond))
	fmt.Fprintf(out, "  created admin key %s for user 1\n", k.ID)

	seedU, err := c.report(ctx, svc, seedFrom, seedTo)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n== The seed example (MetalSoft documentation): user 1 ==\n\n")
	if err := WriteTable(out, seedU); err != nil {
		return err
	}

	monthU, err := svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: 1, Start: monthFrom, End: monthTo})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n== The generated month: user 1 ==\n\n")
	if err := WriteSummary(out, monthU); err != nil {
		return err
	}

	dir := shellQuote(c.DataDir)
	fmt.Fprintf(out, `
== Serve and query it ==

Serve this data directory (from a checkout: go run ./cmd/cloudmeter serve --data-dir %[1]s):

  cloudmeter serve --data-dir %[1]s

then, in another terminal, with user 1's admin key (shown only here, once):

  export METALCLOUD_API_KEY=%[2]s

  # the MetalSoft seed's own request, as the seed document writes it:
  curl -X POST -H "Authorization: Bearer $METALCLOUD_API_KEY" http://127.0.0.1:8080/api/developer/developer -d '{"id":null, "jsonrpc": 2.0, "method": "resource_utilization_detailed", "params": [1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"]}'

  # the generated month, summed per infrastructure and type:
  curl -X POST -H "Authorization: Bearer $METALCLOUD_API_KEY" http://127.0.0.1:8080/api/developer/developer -d '{"id":1, "jsonrpc": "2.0", "method": "resource_utilization_summary", "params": [1,"%[3]s","%[4]s"]}'

  # the native REST API: the seed example, one resource with its priced segments, anomalies, the price book
  curl -H "Authorization: Bearer $METALCLOUD_API_KEY" 'http://127.0.0.1:8080/api/v1/users/1/utilization?from=%[5]s&to=%[6]s'
  curl -H "Authorization: Bearer $METALCLOUD_API_KEY" http://127.0.0.1:8080/api/v1/resources/2416
  curl -H "Authorization: Bearer $METALCLOUD_API_KEY" http://127.0.0.1:8080/api/v1/anomalies
  curl -H "Authorization: Bearer $METALCLOUD_API_KEY" http://127.0.0.1:8080/api/v1/prices

or print reports without a server:

  cloudmeter report --data-dir %[1]s --user 1 --from %[3]s --to %[4]s
`, dir, key, cloudmeter.FormatTime(monthFrom), cloudmeter.FormatTime(monthTo), seedFrom, seedTo)
	return nil
}

func (c *DemoCmd) report(ctx context.Context, svc *service.Service, from, to string) (*report.Utilization, error) {
	start, err := cloudmeter.ParseTime("from", from)
	if err != nil {
		return nil, err
	}
	end, err := cloudmeter.ParseTime("to", to)
	if err != nil {
		return nil, err
	}
	return svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: 1, Start: start, End: end})
}

// freshDir checks that dir does not exist or is an empty directory. created says it did
// not exist.
func freshDir(dir string) (created bool, err error) {
	if dir == "" {
		return false, cloudmeter.Errorf(cloudmeter.KindInvalid, "--data-dir: must be set")
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, cloudmeter.Errorf(cloudmeter.KindUnavailable, "data directory %s: %v", dir, err)
	}
	if !fi.IsDir() {
		return false, cloudmeter.Errorf(cloudmeter.KindConflict, "data directory %s exists and is not a directory: choose another --data-dir", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, cloudmeter.Errorf(cloudmeter.KindUnavailable, "data directory %s: %v", dir, err)
	}
	if len(entries) > 0 {
		return false, cloudmeter.Errorf(cloudmeter.KindConflict,
			"data directory %s already exists and is not empty: the demo builds a fresh one, so choose another --data-dir or remove it (to use this data, run: cloudmeter serve --data-dir %s)",
			dir, shellQuote(dir))
	}
	return false, nil
}

// cleanDir removes what a failed demo wrote to dir: the directory itself when the demo
// created it, else its contents (it was empty).
func cleanDir(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		os.RemoveAll(dir + string(os.PathSeparator) + e.Name())
	}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// progress shows how far long work has come.
type progress interface {
	Add(n int) error
	Finish() error
}

// noProgress is the progress of work whose stderr is not a terminal: nothing is shown.
type noProgress struct{}

func (noProgress) Add(int) error { return nil }
func (noProgress) Finish() error { return nil }

// newProgress returns a progress bar of max steps on w when w is a terminal, else one
// that shows nothing.
func newProgress(w io.Writer, max int64, what string) progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return noProgress{}
	}
	return progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// WriteSummary prints a report's totals per infrastructure and resource type, with the
// infrastructures' labels and datacenters, and the grand total.
func WriteSummary(w io.Writer, u *report.Utilization) error {
	totals, err := u.Summary()
	if err != nil {
		return err
	}
	infras := map[int64]cloudmeter.Infrastructure{}
	for _, inf := range u.Infrastructures {
		infras[inf.ID] = inf
	}
	fmt.Fprintf(w, "Utilization of user %d from %s to %s (%s), per infrastructure and type\n\n", u.UserID,
		cloudmeter.FormatTime(u.Start), cloudmeter.FormatTime(u.End), u.Currency)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "INFRA\tLABEL\tDATACENTER\tTYPE\tRESOURCES\tRECORDS\tHOURS\tCOST\t")
	resources, records := 0, 0
	for _, t := range totals {
		inf := infras[t.InfrastructureID]
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%.1f\t%s\t\n", t.InfrastructureID, inf.Label, inf.Datacenter, t.Type,
			t.Resources, t.Records, float64(t.Quantity)/3600, t.Cost)
		resources += t.Resources
		records += t.Records
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTOTAL %s %s over %d resources in %d records", u.Total, u.Currency, resources, records)
	if n := len(u.Unpriced()); n > 0 {
		fmt.Fprintf(w, " (%d unpriced records reported at cost 0: see GET /api/v1/anomalies)", n)
	}
	fmt.Fprintln(w)
	return nil
}

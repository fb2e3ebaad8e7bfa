package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// seedBookWith is the seed's price book with its entries changed by edit.
func seedBookWith(t *testing.T, edit func(entries []map[string]any) []map[string]any) []byte {
	t.Helper()
	var book struct {
		Currency string           `json:"currency"`
		Entries  []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(demo.SeedPrices, &book); err != nil {
		t.Fatal(err)
	}
	book.Entries = edit(book.Entries)
	if book.Entries == nil {
		book.Entries = []map[string]any{}
	}
	b, err := json.Marshal(book)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type priceReview struct {
	DryRun         bool    `json:"dry_run"`
	CurrentVersion int64   `json:"current_version"`
	CurrencyBefore *string `json:"currency_before"`
	CurrencyAfter  string  `json:"currency_after"`
	Months         []struct {
		UserID     int64  `json:"user_id"`
		Month      string `json:"month"`
		Before     string `json:"before"`
		After      string `json:"after"`
		Difference string `json:"difference"`
	} `json:"months"`
	TotalBefore string           `json:"total_before"`
	TotalAfter  string           `json:"total_after"`
	Unpriced    []map[string]any `json:"newly_unpriced"`
	Refused     *string          `json:"refused"`
}

// TestPriceBookReview: a book that would leave priced usage unpriced (an empty one
// included) is refused, saying what, unless forced; a dry run shows, per user and month,
// the totals before and after (computed here by hand) and changes nothing.
func TestPriceBookReview(t *testing.T) { e2etest.OnEachEngine(t, testPriceBookReview) }

func testPriceBookReview(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	srv.PostEvents(t, []byte(wanTraffic))
	report := func() string {
		return str(rpcResult(t, srv.RPC(t, srv.AdminKey, summary(1, seedStart, seedEnd)))["total_cost"])
	}
	version := func() string {
		return srv.Do(t, "GET", "/api/v1/prices", srv.AdminKey, "", nil).Header.Get("X-Price-Book-Version")
	}
	const seedTotal = "10.70663243"
	if got := report(); got != seedTotal {
		t.Fatalf("seed total %s, want %s", got, seedTotal)
	}
	put := func(query string, book []byte) *e2etest.Response {
		return srv.Do(t, http.MethodPut, "/api/v1/prices"+query, srv.AdminKey, "application/json", book)
	}
	empty := []byte(`{"currency": "GBP", "entries": []}`)

	t.Run("EmptyBookRefused", func(t *testing.T) {
		r := put("", empty)
		if r.Status != http.StatusConflict {
			t.Fatalf("empty book: status %d, want 409: %s", r.Status, r.Body)
		}
		var e struct {
			Error struct {
				Message string           `json:"message"`
				Details []map[string]any `json:"details"`
			} `json:"error"`
		}
		json.Unmarshal(r.Body, &e)
		for _, want := range []string{"leaves unpriced usage that the book in force (version 1) prices", "instance 2416 of user 1 (84301 s in 2016-02)",
			"shared_drive 779 of user 1 (242136 s in 2016-01)", "force=true", "--force", "nothing was changed"} {
			if !strings.Contains(e.Error.Message, want) {
				t.Errorf("message %q does not say %q", e.Error.Message, want)
			}
		}
		// Each product the seed's book prices, the free IPv6 subnet too (priced at 0 is
		// priced), and the traffic of wan both ways (download is priced at 0); not the data
		// lake's, which moved 0 GB.
		var products []string
		for _, d := range e.Error.Details {
			products = append(products, str(d["month"])+" "+str(d["product_id"])+" "+str(d["direction"]))
		}
		want := []string{"2016-01 779 <null>", "2016-02 2416 <null>", "2016-02 3727 <null>", "2016-02 6378 <null>", "2016-02 8381 download", "2016-02 8381 upload"}
		if diff := cmp.Diff(want, products); diff != "" {
			t.Errorf("details (-want +got):\n%s", diff)
		}
		if got := report(); got != seedTotal || version() != "1" {
			t.Errorf("after a refused book: total %s, version %s; want %s and 1", got, version(), seedTotal)
		}
	})

	t.Run("DryRun", func(t *testing.T) {
		double := seedBookWith(t, func(es []map[string]any) []map[string]any {
			es[0]["price"] = "0.62" // instances: twice the seed's 0.31
			return es
		})
		r := put("?dry_run=true", double)
		e2etest.MustStatus(t, r, http.StatusOK, "dry run")
		var rv priceReview
		if err := json.Unmarshal(r.Body, &rv); err != nil {
			t.Fatal(err)
		}
		// January: the shared drive 0.23354152. February: drive 1.11383813, instance
		// 7.25925278 (84301 s at 0.31 per hour; at 0.62, round8(84301 x 0.62 / 3600) =
		// 14.51850556), subnet 0, upload 35 GB at 0.06 = 2.10.
		type month struct {
			User                       int64
			Month, Before, After, Diff string
		}
		var got []month
		for _, m := range rv.Months {
			got = append(got, month{m.UserID, m.Month, m.Before, m.After, m.Difference})
		}
		want := []month{
			{1, "2016-01", "0.23354152", "0.23354152", "0.00000000"},
			{1, "2016-02", "10.47309091", "17.73234369", "7.25925278"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("months (-want +got):\n%s", diff)
		}
		if !rv.DryRun || rv.TotalBefore != seedTotal || rv.TotalAfter != "17.96588521" || len(rv.Unpriced) != 0 || rv.Refused != nil {
			t.Errorf("review %+v", rv)
		}
		if got := report(); got != seedTotal || version() != "1" {
			t.Errorf("after a dry run: total %s, version %s; want %s and 1 (nothing changed)", got, version(), seedTotal)
		}
	})

	t.Run("DryRunOfABookThatWouldBeRefused", func(t *testing.T) {
		noUpload := seedBookWith(t, func(es []map[string]any) []map[string]any {
			var out []map[string]any
			for _, e := range es {
				if !(e["resource_type"] == "network" && e["direction"] == "upload") {
					out = append(out, e)
				}
			}
			return out
		})
		r := put("?dry_run=true", noUpload)
		e2etest.MustStatus(t, r, http.StatusOK, "dry run")
		var rv priceReview
		json.Unmarshal(r.Body, &rv)
		wantUnpriced := []map[string]any{{"user_id": json.Number("1"), "product_id": json.Number("8381"), "resource_type": "network",
			"direction": "upload", "month": "2016-02", "gbytes": "35.0000"}}
		var got []map[string]any
		d := json.NewDecoder(strings.NewReader(string(r.Body)))
		d.UseNumber()
		var raw struct {
			Unpriced []map[string]any `json:"newly_unpriced"`
		}
		d.Decode(&raw)
		got = raw.Unpriced
		if diff := cmp.Diff(wantUnpriced, got); diff != "" {
			t.Errorf("newly unpriced (-want +got):\n%s", diff)
		}
		if rv.Refused == nil || !strings.Contains(*rv.Refused, "network 8381 upload traffic of user 1 (35.0000 GB in 2016-02)") {
			t.Errorf("refused: %v", rv.Refused)
		}
		if rv.TotalAfter != "8.60663243" {
			t.Errorf("total after %s, want the seed's without the upload, 8.60663243", rv.TotalAfter)
		}
		if r := put("", noUpload); r.Status != http.StatusConflict {
			t.Errorf("put without force: %d, want 409", r.Status)
		}
	})

	t.Run("BadQuery", func(t *testing.T) {
		for _, q := range []string{"?dry_run=yes", "?force=1"} {
			r := put(q, demo.SeedPrices)
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), strings.Split(q[1:], "=")[0]+": must be true or false") {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}
	})

	t.Run("SameBookAccepted", func(t *testing.T) {
		e2etest.MustStatus(t, put("", demo.SeedPrices), http.StatusOK, "the same book again")
	})

	t.Run("CLI", func(t *testing.T) {
		dir := t.TempDir()
		emptyFile := filepath.Join(dir, "empty.json")
		doubleFile := filepath.Join(dir, "double.json")
		os.WriteFile(emptyFile, empty, 0o600)
		os.WriteFile(doubleFile, seedBookWith(t, func(es []map[string]any) []map[string]any { es[0]["price"] = "0.62"; return es }), 0o600)
		db := []string{"--data-dir", srv.DataDir, "--database-url=" + srv.DatabaseURL}
		code, out, stderr := cliRun(append([]string{"prices", "import", "--dry-run", doubleFile}, db...)...)
		if code != 0 {
			t.Fatalf("--dry-run: exit %d: %s", code, stderr)
		}
		for _, want := range []string{"nothing was changed", "2016-02  10.47309091  17.73234369  7.25925278", "TOTAL", "nothing the book in force prices would become unpriced"} {
			if !strings.Contains(out, want) {
				t.Errorf("--dry-run output does not hold %q:\n%s", want, out)
			}
		}
		v := version()
		code, _, stderr = cliRun(append([]string{"prices", "import", emptyFile}, db...)...)
		if code != 1 || !strings.Contains(stderr, "instance 2416 of user 1 (84301 s in 2016-02)") || version() != v {
			t.Errorf("import of an empty book: exit %d: %s (version %s, was %s)", code, stderr, version(), v)
		}
		code, out, stderr = cliRun(append([]string{"prices", "import", "--force", emptyFile}, db...)...)
		if code != 0 || report() != "0.00000000" {
			t.Errorf("import --force of an empty book: exit %d %s%s; total %s, want 0", code, out, stderr, report())
		}
		// Back to the seed's book: the book in force prices nothing, so nothing can become unpriced.
		e2etest.MustStatus(t, put("", demo.SeedPrices), http.StatusOK, "the seed's book again")
		if got := report(); got != seedTotal {
			t.Errorf("total %s, want %s", got, seedTotal)
		}
	})
}

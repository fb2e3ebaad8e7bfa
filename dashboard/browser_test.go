package dashboard_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// screenshots is where TestBrowser writes its screenshots: docs/ with
// `go test ./dashboard/ -run TestBrowser -screenshots ../docs`, a temporary directory
// otherwise.
var screenshots = flag.String("screenshots", "", "write the browser test's screenshots (dashboard-*.png) to this directory, such as ../docs")

// chromium returns the path of a Chromium or Chrome binary. Without one the test is
// skipped on a developer's machine, saying so loudly, and fails under CI (.ci/run
// installs Debian's chromium).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "NO BROWSER: the dashboard's browser test needs Chromium (Debian: apt-get install -y chromium); it did not run"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI installs it: see .ci/run)")
	}
	t.Log("****************************************************************")
	t.Log(msg)
	t.Log("****************************************************************")
	t.Skip(msg)
	return ""
}

// chrome is a headless Chromium tab.
type chrome struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots
	url string
}

func newChrome(t *testing.T, base string) *chrome {
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.Flag("hide-scrollbars", true), chromedp.Flag("font-render-hinting", "none"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	}
	c := &chrome{t: t, ctx: ctx, dir: dir, url: base}
	c.do(chromedp.EmulateViewport(1280, 900))
	return c
}

func (c *chrome) do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatal(err)
	}
}

// open navigates to path and returns the status of the page it lands on.
func (c *chrome) open(path string) int64 {
	c.t.Helper()
	return c.navigate(chromedp.Navigate(c.url + path))
}

// navigate runs steps that load a page and returns the page's status.
func (c *chrome) navigate(steps ...chromedp.Action[chromedp.Void]) int64 {
	c.t.Helper()
	resp, err := chromedp.RunResponse(c.ctx, steps...)
	if err != nil {
		c.t.Fatal(err)
	}
	// No page carries a script.
	if n := eval[int](c, `document.scripts.length`); n != 0 {
		c.t.Errorf("%s carries %d scripts", resp.URL, n)
	}
	return resp.Status
}

func eval[T any](c *chrome, expr string) T {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		c.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (c *chrome) text(css string) string {
	c.t.Helper()
	return strings.TrimSpace(eval[string](c, fmt.Sprintf(`(document.querySelector(%q) || {textContent: "(none)"}).textContent`, css)))
}

func (c *chrome) count(css string) int {
	c.t.Helper()
	return eval[int](c, fmt.Sprintf(`document.querySelectorAll(%q).length`, css))
}

func (c *chrome) location() string {
	c.t.Helper()
	loc, err := chromedp.Run(c.ctx, chromedp.Location())
	if err != nil {
		c.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, c.url)
}

// screenshot saves the whole page as dashboard-name.png.
func (c *chrome) screenshot(name string) {
	c.t.Helper()
	png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 2000 {
		c.t.Fatalf("screenshot %s is no PNG (%d bytes)", name, len(png))
	}
	if err := os.WriteFile(filepath.Join(c.dir, "dashboard-"+name+".png"), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chrome) signIn(key string) {
	c.t.Helper()
	if st := c.open("/ui/signin"); st != 200 {
		c.t.Fatalf("sign-in page: %d", st)
	}
	c.do(chromedp.SendKeys(chromedp.ID("api_key"), key))
	if st := c.navigate(chromedp.Click(chromedp.CSS("form.signin button"))); st != 200 || !strings.HasPrefix(c.location(), "/ui/overview") {
		c.t.Fatalf("signing in: %d at %s", st, c.location())
	}
}

// TestBrowser drives the dashboard in headless Chromium: it signs in through the form,
// opens each page, checks the charts, their tables and the totals (against the JSON-RPC
// summary), downloads the CSV, looks at the overview at phone width, and checks that a
// customer's key opens no other user's page by URL and that a form without its CSRF
// token is refused. It takes the screenshots of docs/dashboard.md.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test starts Chromium: not in -short")
	}
	w := newWorld(t, worldEvents())
	c := newChrome(t, w.url)

	// Signed out, every page leads to the sign-in form.
	if st := c.open("/ui/overview"); st != 200 || c.location() != "/ui/signin" {
		t.Fatalf("signed out: %d at %s, want the sign-in page", st, c.location())
	}
	c.screenshot("signin")
	c.signIn(w.customer)

	// Overview: four charts, each with its figures in a table, and the totals of the
	// JSON-RPC summary.
	if st := c.open("/ui/overview?month=2024-12"); st != 200 {
		t.Fatalf("overview: %d", st)
	}
	if n := c.count("svg.chart[role=img]"); n != 4 {
		t.Errorf("overview: %d charts, want 4 (days, infrastructures, split, credit)", n)
	}
	if n := c.count("svg.chart title[id$=-title]"); n != 4 {
		t.Errorf("overview: %d chart titles, want 4", n)
	}
	if n := c.count("#days-heading ~ figure svg rect"); n != 31 {
		t.Errorf("cost per day: %d bars, want 31", n)
	}
	if n := c.count("#days-heading ~ details tbody tr"); n != 31 {
		t.Errorf("cost per day: %d table rows, want 31", n)
	}
	sum := rpcSummary(t, w, w.customer, 1, "2024-12-01T00:00:00Z", "2024-12-31T23:59:59Z")
	prev := rpcSummary(t, w, w.customer, 1, "2024-11-01T00:00:00Z", "2024-11-30T23:59:59Z")
	if got, want := c.text(`[data-figure="total_cost"]`), sum["total_cost"].(string)+" GBP"; got != want {
		t.Errorf("overview total %q, summary %q", got, want)
	}
	if got, want := c.text(`[data-figure="prev:total_cost"]`), prev["total_cost"].(string)+" GBP"; got != want {
		t.Errorf("overview total of the month before %q, summary %q", got, want)
	}
	if got := c.text(`[data-figure="credit:threshold"]`); got != "40.00000000 GBP" {
		t.Errorf("credit threshold %q", got)
	}
	c.screenshot("overview")

	// At phone width nothing is wider than the screen: wide tables scroll in their box.
	c.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	c.open("/ui/overview?month=2024-12")
	if sw, iw := eval[int](c, `document.documentElement.scrollWidth`), eval[int](c, `window.innerWidth`); sw > iw {
		t.Errorf("at phone width the page is %d px wide in a %d px window", sw, iw)
	}
	c.screenshot("overview-phone")
	c.do(chromedp.EmulateViewport(1280, 900))

	// Lines, and their CSV.
	if st := c.open("/ui/users/1/lines?month=2024-12"); st != 200 {
		t.Fatalf("lines: %d", st)
	}
	if got, want := c.text(`[data-figure="total_cost"]`), sum["total_cost"].(string)+" GBP"; got != want {
		t.Errorf("lines total %q, summary %q", got, want)
	}
	if n := c.count("#records tbody tr"); n < 30 {
		t.Errorf("lines: %d rows", n)
	}
	c.screenshot("lines")
	downloads := t.TempDir()
	c.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}), chromedp.Click(chromedp.CSS("a.button[download]")))
	csvPath := filepath.Join(downloads, "cloudmeter-user-1-2024-12.csv")
	var got []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(csvPath); err == nil && len(b) > 0 {
			got = b
			break
		}
	}
	want, err := os.ReadFile("testdata/lines.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		entries, _ := os.ReadDir(downloads)
		t.Errorf("the downloaded CSV (%d bytes; download directory: %v) differs from testdata/lines.csv (%d bytes)", len(got), entries, len(want))
	}

	// A resource's timeline: one bar per segment, the segments in the table.
	if st := c.open("/ui/resources/900003?month=2024-12"); st != 200 {
		t.Fatalf("resource: %d", st)
	}
	if bars, rows := c.count("#timeline-heading ~ figure svg rect"), c.count("#segments tbody tr"); bars != 4 || rows != 4 {
		t.Errorf("timeline: %d bars and %d rows, want 4 and 4", bars, rows)
	}
	if n := c.count("svg rect.state-stopped"); n != 1 {
		t.Errorf("timeline: %d stopped segments, want 1", n)
	}
	c.screenshot("resource")

	// Traffic per waypoint and day.
	if st := c.open("/ui/users/1/traffic?month=2024-12"); st != 200 {
		t.Fatalf("traffic: %d", st)
	}
	if n := c.count("#waypoint-900001 tbody tr"); n != 31 {
		t.Errorf("traffic: %d days, want 31", n)
	}
	if n := c.count("#waypoint-900001 svg rect.s0 > title"); n != 31 {
		t.Errorf("traffic chart: %d download bars, want 31", n)
	}
	c.screenshot("traffic")

	// Anomalies, newest first.
	if st := c.open("/ui/anomalies"); st != 200 {
		t.Fatalf("anomalies: %d", st)
	}
	if first := c.text("#anomalies tbody tr td"); first != "2024-12-06 07:00:00 UTC" {
		t.Errorf("newest anomaly at %q, want 2024-12-06 07:00:00 UTC", first)
	}
	c.screenshot("anomalies")

	// A customer's key opens no other user's page by URL, and no admin page.
	for _, path := range []string{"/ui/users/2/lines?month=2024-12", "/ui/overview?user=2", "/ui/users/2/lines.csv?month=2024-12", "/ui/admin/keys",
		"/ui/admin/installations", "/ui/admin/exports"} {
		if st := c.open(path); st != 403 || !strings.Contains(c.text("#error-heading"), "Not allowed") {
			t.Errorf("customer opening %s: %d %q, want 403 Not allowed", path, st, c.text("#error-heading"))
		}
	}

	// A form without its CSRF token is refused, and the session goes on.
	c.open("/ui/overview?month=2024-12")
	eval[bool](c, `(() => { document.querySelector('form[action="/ui/signout"] input[name=csrf]').remove(); return true })()`)
	if st := c.navigate(chromedp.Click(chromedp.CSS(".who button"))); st != 403 || !strings.Contains(c.text("[data-error]"), "csrf") {
		t.Errorf("sign-out without its CSRF token: %d %q, want 403 naming csrf", st, c.text("[data-error]"))
	}
	if st := c.open("/ui/overview?month=2024-12"); st != 200 || c.location() != "/ui/overview?month=2024-12" {
		t.Errorf("after a refused form: %d at %s, want still signed in", st, c.location())
	}
	// With its token, sign-out ends the session.
	if st := c.navigate(chromedp.Click(chromedp.CSS(".who button"))); st != 200 || c.location() != "/ui/signin" {
		t.Errorf("sign-out: %d at %s, want the sign-in page", st, c.location())
	}

	// An admin: price book versions with their diff, and keys without secrets.
	c.signIn(w.admin)
	if st := c.open("/ui/admin/prices"); st != 200 {
		t.Fatalf("prices: %d", st)
	}
	if n := c.count("#diff tr.added"); n != 2 {
		t.Errorf("price book diff: %d added entries, want 2", n)
	}
	c.screenshot("prices")
	// The compare form (a POST with its token) shows the other direction.
	c.do(chromedp.SetValue(chromedp.ID("from"), "2"), chromedp.SetValue(chromedp.ID("to"), "1"))
	if st := c.navigate(chromedp.Click(chromedp.CSS("#diff-heading ~ form button"))); st != 200 || c.count("#diff tr.removed") != 2 || c.count("#diff tr.added") != 0 {
		t.Errorf("comparing version 2 with 1: %d at %s, %d removed, %d added; want 2 removed", st, c.location(), c.count("#diff tr.removed"), c.count("#diff tr.added"))
	}
	// The users form opens any user's overview for a key that reads every user.
	c.open("/ui/users")
	c.do(chromedp.SendKeys(chromedp.ID("user"), "2"))
	if st := c.navigate(chromedp.Click(chromedp.CSS("form.inline button"))); st != 200 || !strings.HasPrefix(c.location(), "/ui/overview?user=2") {
		t.Errorf("users form: %d at %s", st, c.location())
	}
	if st := c.open("/ui/admin/keys"); st != 200 {
		t.Fatalf("keys: %d", st)
	}
	if n := c.count("#keys tbody tr"); n != 4 {
		t.Errorf("keys: %d rows, want 4", n)
	}
	if body := eval[string](c, `document.body.innerHTML`); strings.Contains(body, strings.SplitN(w.admin, ":", 2)[1]) {
		t.Errorf("the keys page shows a secret")
	}
	c.screenshot("keys")

	// Installations: each with what it submitted and its invoices, in its currency.
	if st := c.open("/ui/admin/installations"); st != 200 {
		t.Fatalf("installations: %d", st)
	}
	if n := c.count("#installations tbody tr"); n != 2 {
		t.Errorf("installations: %d rows, want 2", n)
	}
	if got := c.text(`#installations tbody tr:nth-child(2) td:nth-of-type(5)`); got != "2025-01-10 12:00:00 UTC" {
		t.Errorf("the uninstalled installation's uninstall time %q", got)
	}
	if n := c.count("table.billing caption"); n != 2 {
		t.Errorf("installations: %d billing tables with captions, want 2", n)
	}
	if got := c.text(`[data-figure$=":month_total"]`); got != "76.13 USD" {
		t.Errorf("GPU Co's month total %q, want 76.13 USD (81.13 of items less 5.00 of discount)", got)
	}
	if got := c.text("table.invoices tbody tr td.num"); got != "249.00 USD" {
		t.Errorf("GPU Co's invoice total %q, want 249.00 USD", got)
	}
	c.screenshot("installations")

	// Export targets with their last delivery, and never their token.
	if st := c.open("/ui/admin/exports"); st != 200 {
		t.Fatalf("exports: %d", st)
	}
	if rows, caps := c.count("#targets tbody tr"), c.count("#targets caption, #deliveries caption"); rows != 1 || caps != 2 {
		t.Errorf("exports: %d targets and %d captions, want 1 and 2", rows, caps)
	}
	for _, f := range []string{"sent", "failed", "pending"} {
		if got := c.text(`[data-figure="finance:` + f + `"]`); got != "1" {
			t.Errorf("finance %s: %q, want 1", f, got)
		}
	}
	if got := c.text("#deliveries td.reason"); !strings.HasPrefix(got, "HTTP 400: ") {
		t.Errorf("the last failure's reason %q", got)
	}
	if body := eval[string](c, `document.documentElement.outerHTML`); strings.Contains(body, exportToken) || strings.Contains(body, "sealed:") {
		t.Errorf("the export targets page shows the token")
	}
	c.screenshot("exports")
}

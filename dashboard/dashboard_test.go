package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/dashboard"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/service"
)

// normalize replaces what differs from run to run (CSRF tokens, key ids) by fixed names.
func (w *world) normalize(s string) string {
	s = csrfRE.ReplaceAllString(s, `name="csrf" value="CSRF-TOKEN"`)
	for id, name := range w.keyIDs {
		s = strings.ReplaceAll(s, id, "key-"+name)
	}
	for from, to := range w.replace {
		s = strings.ReplaceAll(s, from, to)
	}
	return s
}

var svgRE = regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`)
var svgIDRE = regexp.MustCompile(`aria-labelledby="([a-z0-9-]+)-title`)

// TestGoldenPages renders every page of the fixed data set and compares the HTML (and
// each chart's SVG, also kept on its own under testdata/) with its golden file, on each
// storage engine (the same files for both).
func TestGoldenPages(t *testing.T) {
	e2etest.OnEachEngine(t, testGoldenPages)
}

func testGoldenPages(t *testing.T, eng e2etest.Engine) {
	w := newWorldOn(t, eng, worldEvents())
	anon := newBrowser(t, w.url)
	browsers := map[string]*browser{}
	for name, key := range map[string]string{"customer": w.customer, "reader": w.reader, "admin": w.admin} {
		browsers[name] = newBrowser(t, w.url)
		browsers[name].signIn(key)
	}
	for _, c := range []struct {
		golden, who, path string
		status            int
	}{
		{"signin.html", "", "/ui/signin", 200},
		{"overview.html", "customer", "/ui/overview?month=2024-12", 200},
		{"overview_partial_month.html", "customer", "/ui/overview?month=2025-01", 200},
		{"lines.html", "customer", "/ui/users/1/lines?month=2024-12", 200},
		{"lines_infrastructure.html", "customer", "/ui/users/1/infrastructures/4242/lines?month=2024-12", 200},
		{"lines.csv", "customer", "/ui/users/1/lines.csv?month=2024-12", 200},
		{"resource.html", "customer", "/ui/resources/900003?month=2024-12", 200},
		{"traffic.html", "customer", "/ui/users/1/traffic?month=2024-12", 200},
		{"anomalies.html", "reader", "/ui/anomalies", 200},
		{"users.html", "reader", "/ui/users", 200},
		{"prices.html", "admin", "/ui/admin/prices", 200},
		{"keys.html", "admin", "/ui/admin/keys", 200},
		{"installations.html", "admin", "/ui/admin/installations", 200},
		{"exports.html", "admin", "/ui/admin/exports", 200},
		{"forbidden.html", "customer", "/ui/users/2/lines?month=2024-12", 403},
		{"bad_month.html", "customer", "/ui/overview?month=2024-13", 400},
	} {
		t.Run(c.golden, func(t *testing.T) {
			b := anon
			if c.who != "" {
				b = browsers[c.who]
			}
			p := b.get(c.path)
			if p.status != c.status {
				t.Fatalf("GET %s as %s: %d, want %d:\n%s", c.path, c.who, p.status, c.status, p.body)
			}
			body := w.normalize(p.body)
			testutil.Golden(t, "testdata/"+c.golden, []byte(body))
			for _, svg := range svgRE.FindAllString(body, -1) {
				id := svgIDRE.FindStringSubmatch(svg)
				if id == nil {
					t.Fatalf("a chart without its labels: %.200s", svg)
				}
				name := strings.TrimSuffix(c.golden, ".html") + "-" + id[1] + ".svg"
				testutil.Golden(t, "testdata/"+name, []byte(svg+"\n"))
			}
		})
	}
}

var figureRE = regexp.MustCompile(`data-figure="([^"]+)">([^<]*)<`)

// figures returns the figures a page names (data-figure), by name.
func figures(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range figureRE.FindAllStringSubmatch(body, -1) {
		if _, dup := out[m[1]]; dup {
			t.Errorf("figure %s twice in the page", m[1])
		}
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// rpcSummary calls resource_utilization_summary with key on the same server.
func rpcSummary(t *testing.T, w *world, key string, user int64, start, end string, infras ...int64) map[string]any {
	t.Helper()
	params := []any{user, start, end}
	if len(infras) > 0 {
		params = append(params, infras)
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "resource_utilization_summary", "params": params})
	req, _ := http.NewRequest(http.MethodPost, w.url+"/api/developer/developer", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Result map[string]any `json:"result"`
		Error  any            `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Error != nil {
		t.Fatalf("summary: %v %v", err, out.Error)
	}
	return out.Result
}

// TestOverviewEqualsSummary checks every figure of the overview against the JSON-RPC
// summary (resource_utilization_summary) of the same month, asked with the same key:
// the total, the cost of each infrastructure and resource type, the internet traffic,
// each of them for the month before too, and each infrastructure's total against the
// summary filtered by that infrastructure. No figure of the page is left unchecked but
// the credit's (TestCreditEqualsHyperstack).
func TestOverviewEqualsSummary(t *testing.T) {
	e2etest.OnEachEngine(t, testOverviewEqualsSummary)
}

func testOverviewEqualsSummary(t *testing.T, eng e2etest.Engine) {
	w := newWorldOn(t, eng, worldEvents())
	for _, c := range []struct {
		who, key string
		user     int64
		month    string
	}{
		{"customer", w.customer, 1, "2024-12"},
		{"customer", w.customer, 1, "2025-01"}, // the month of now: clipped to now
		{"reader", w.reader, 1, "2024-12"},
		{"reader", w.reader, 2, "2024-12"},
		{"reader", w.reader, 3, "2024-11"},
	} {
		t.Run(fmt.Sprintf("%s/user%d/%s", c.who, c.user, c.month), func(t *testing.T) {
			b := newBrowser(t, w.url)
			b.signIn(c.key)
			p := b.get(fmt.Sprintf("/ui/overview?user=%d&month=%s", c.user, c.month))
			if p.status != http.StatusOK {
				t.Fatalf("overview: %d\n%s", p.status, p.body)
			}
			got := figures(t, p.body)
			want := map[string]string{}
			m := mustMonth(t, c.month)
			for _, period := range []struct {
				prefix     string
				start, end string
			}{{"", m.start, m.end}, {"prev:", m.prevStart, m.prevEnd}} {
				s := rpcSummary(t, w, c.key, c.user, period.start, period.end)
				cur := s["cost_currency"].(string)
				want[period.prefix+"total_cost"] = s["total_cost"].(string) + " " + cur
				if ic, ok := s["reservation_installments_cost"].(string); ok {
					want[period.prefix+"reservation_installments_cost"] = ic + " " + cur
				} else if _, shown := got[period.prefix+"reservation_installments_cost"]; shown {
					want[period.prefix+"reservation_installments_cost"] = "0.00000000 " + cur
				}
				for _, dir := range []string{"download", "upload"} {
					want[period.prefix+"internet_"+dir+"_cost"] = s["internet_"+dir+"_cost"].(string) + " " + cur
					want[period.prefix+"internet_"+dir+"_gbytes"] = s["internet_"+dir+"_gbytes"].(string) + " GB"
				}
				for infra, types := range s["summary_report"].(map[string]any) {
					for typ, tt := range types.(map[string]any) {
						want[fmt.Sprintf("%scost:%s:%s", period.prefix, infra, typ)] = tt.(map[string]any)["cost"].(string) + " " + cur
					}
				}
				for infra := range s["infrastructures"].(map[string]any) {
					var id int64
					fmt.Sscan(infra, &id)
					f := rpcSummary(t, w, c.key, c.user, period.start, period.end, id)
					want[fmt.Sprintf("%sinfrastructure:%s", period.prefix, infra)] = f["total_cost"].(string) + " " + cur
				}
			}
			for k, v := range got {
				if strings.HasPrefix(k, "credit:") {
					delete(got, k)
					continue
				}
				if want[k] != v {
					t.Errorf("figure %s: page %q, summary %q", k, v, want[k])
				}
			}
			for k, v := range want {
				if _, ok := got[k]; !ok {
					t.Errorf("figure %s (%s) of the summary is not on the page", k, v)
				}
			}
			if len(want) < 8 {
				t.Errorf("only %d figures compared: %v", len(want), want)
			}
		})
	}
}

type monthWindow struct{ start, end, prevStart, prevEnd string }

func mustMonth(t *testing.T, m string) monthWindow {
	var y, mo int
	if _, err := fmt.Sscanf(m, "%d-%d", &y, &mo); err != nil {
		t.Fatal(err)
	}
	first := func(y, mo int) string { return fmt.Sprintf("%04d-%02d-01T00:00:00Z", y, mo) }
	last := func(y, mo int) string {
		days := []int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[mo-1]
		if mo == 2 && y%4 == 0 {
			days = 29
		}
		return fmt.Sprintf("%04d-%02d-%02dT23:59:59Z", y, mo, days)
	}
	py, pm := y, mo-1
	if pm == 0 {
		py, pm = y-1, 12
	}
	return monthWindow{first(y, mo), last(y, mo), first(py, pm), last(py, pm)}
}

// TestCreditEqualsHyperstack checks the overview's credit figures against the
// Hyperstack-compatible credit endpoint, asked with the same key.
func TestCreditEqualsHyperstack(t *testing.T) {
	w := newWorld(t, worldEvents())
	b := newBrowser(t, w.url)
	b.signIn(w.customer)
	got := figures(t, b.get("/ui/overview?month=2024-12").body)
	req, _ := http.NewRequest(http.MethodGet, w.url+"/v1/billing/user-credit/credit", nil)
	req.Header.Set("api_key", w.customer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Credit    json.Number `json:"credit"`
			Threshold json.Number `json:"threshold"`
		} `json:"data"`
	}
	d := json.NewDecoder(resp.Body)
	d.UseNumber()
	if err := d.Decode(&body); err != nil {
		t.Fatal(err)
	}
	// Hyperstack writes money as JSON numbers without trailing zeros; the page shows the
	// 8 places of the native APIs. The same amount either way.
	for name, num := range map[string]json.Number{"credit:credit": body.Data.Credit, "credit:threshold": body.Data.Threshold} {
		page := strings.TrimSuffix(got[name], " GBP")
		if trimZeros(page) != trimZeros(string(num)) || page == "" {
			t.Errorf("%s: page %q, Hyperstack %s", name, got[name], num)
		}
	}
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// TestPermissions checks a page shows what the key may read, as the APIs do: a
// customer's key opens no other user's page (by URL), its own resources only, no admin
// page; a reader opens every user's; every form needs its CSRF token; a revoked key's
// session ends.
func TestPermissions(t *testing.T) {
	w := newWorld(t, worldEvents())
	cust := newBrowser(t, w.url)
	cust.signIn(w.customer)
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/ui/overview?user=2&month=2024-12", 403},
		{"/ui/users/2/lines?month=2024-12", 403},
		{"/ui/users/2/lines.csv?month=2024-12", 403},
		{"/ui/users/2/traffic?month=2024-12", 403},
		{"/ui/anomalies?user=2", 403},
		{"/ui/resources/900001", 200},
		{"/ui/admin/keys", 403},
		{"/ui/admin/prices", 403},
		{"/ui/users/1/lines.csv?month=2024-12", 200},
		{"/ui/users/0/lines", 400},
		{"/ui/admin/installations", 403},
		{"/ui/admin/exports", 403},
		{"/ui/admin/nothing", 404},
	} {
		if p := cust.get(c.path); p.status != c.status {
			t.Errorf("customer GET %s: %d, want %d", c.path, p.status, c.status)
		}
	}
	// A product of another user is not found, as in the APIs (ids cannot be probed).
	other := newBrowser(t, w.url)
	other.signIn(w.other)
	if p := other.get("/ui/resources/900003"); p.status != http.StatusNotFound {
		t.Errorf("user 2 GET user 1's product: %d, want 404", p.status)
	}
	reader := newBrowser(t, w.url)
	reader.signIn(w.reader)
	for _, path := range []string{"/ui/overview?user=2&month=2024-12", "/ui/users/1/lines?month=2024-12", "/ui/resources/900003"} {
		if p := reader.get(path); p.status != http.StatusOK {
			t.Errorf("reader GET %s: %d, want 200", path, p.status)
		}
	}

	// Forms: sign-out without its token, or with another session's, is refused.
	tok := csrfOf(t, cust.get("/ui/overview"))
	for _, form := range []url.Values{{}, {"csrf": {""}}, {"csrf": {csrfOf(t, reader.get("/ui/overview"))}}} {
		if p := cust.post("/ui/signout", form); p.status != http.StatusForbidden {
			t.Errorf("sign-out with csrf %q: %d, want 403", form.Get("csrf"), p.status)
		}
	}
	if p := cust.get("/ui/overview"); p.status != http.StatusOK {
		t.Fatalf("the session ended after refused forms: %d", p.status)
	}
	// Sign-in without the form's token (a page of another site posting the form).
	fresh := newBrowser(t, w.url)
	if p := fresh.post("/ui/signin", url.Values{"api_key": {w.customer}}); p.status != http.StatusForbidden {
		t.Errorf("sign-in without token: %d, want 403", p.status)
	}
	// A wrong key is refused on the form.
	form := fresh.get("/ui/signin")
	if p := fresh.post("/ui/signin", url.Values{"csrf": {csrfOf(t, form)}, "api_key": {"1:nope"}}); p.status != http.StatusUnauthorized ||
		!strings.Contains(p.body, "api_key:") {
		t.Errorf("sign-in with a wrong key: %d\n%s", p.status, p.body)
	}
	// Every form carries its token: the users page's and the price books' too.
	if p := reader.post("/ui/users", url.Values{"user": {"2"}, "month": {"2024-12"}}); p.status != http.StatusForbidden {
		t.Errorf("users form without token: %d, want 403", p.status)
	}
	readerTok := csrfOf(t, reader.get("/ui/users"))
	if p := reader.post("/ui/users", url.Values{"csrf": {readerTok}, "user": {"2"}, "month": {"2024-12"}}); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/ui/overview?user=2&month=2024-12" {
		t.Errorf("users form: %d to %q", p.status, p.header.Get("Location"))
	}
	if p := reader.post("/ui/users", url.Values{"csrf": {readerTok}, "user": {"x"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "user:") {
		t.Errorf("users form with a bad user: %d", p.status)
	}
	if p := cust.post("/ui/admin/prices", url.Values{"from": {"1"}, "to": {"2"}}); p.status != http.StatusForbidden {
		t.Errorf("price books form without token: %d, want 403", p.status)
	}

	// Sign-out with the token ends the session.
	if p := cust.post("/ui/signout", url.Values{"csrf": {tok}}); p.status != http.StatusSeeOther {
		t.Errorf("sign-out: %d, want 303", p.status)
	}
	if p := cust.get("/ui/overview"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/signin" {
		t.Errorf("after sign-out: %d to %q, want 303 to /ui/signin", p.status, p.header.Get("Location"))
	}
}

// TestRevokedKey checks a revoked key's sessions end at its next request.
func TestRevokedKey(t *testing.T) {
	w := newWorld(t, worldEvents())
	b := newBrowser(t, w.url)
	b.signIn(w.customer)
	if p := b.get("/ui/overview?month=2024-12"); p.status != http.StatusOK {
		t.Fatalf("overview: %d", p.status)
	}
	for id, name := range w.keyIDs {
		if name == "customer" {
			if err := w.svc.RevokeKey(context.Background(), service.SystemKey, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if p := b.get("/ui/overview?month=2024-12"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/signin" {
		t.Errorf("after the key was revoked: %d to %q, want 303 to /ui/signin", p.status, p.header.Get("Location"))
	}
}

// TestAdminPages checks the installations and export targets pages are an admin's: listed
// in an admin's navigation only, and answered 403 by URL to a customer's key and to a
// key that reads every user's usage but is no admin.
func TestAdminPages(t *testing.T) {
	w := newWorld(t, worldEvents())
	admin := newBrowser(t, w.url)
	admin.signIn(w.admin)
	nav := admin.get("/ui/overview?month=2024-12").body
	for _, path := range []string{"/ui/admin/installations", "/ui/admin/exports"} {
		if !strings.Contains(nav, `href="`+path+`"`) {
			t.Errorf("the admin's navigation does not list %s", path)
		}
		if p := admin.get(path); p.status != http.StatusOK {
			t.Errorf("admin GET %s: %d, want 200:\n%s", path, p.status, p.body)
		}
	}
	for name, key := range map[string]string{"customer": w.customer, "reader": w.reader} {
		b := newBrowser(t, w.url)
		b.signIn(key)
		nav := b.get("/ui/overview?month=2024-12").body
		for _, path := range []string{"/ui/admin/installations", "/ui/admin/exports"} {
			if strings.Contains(nav, `href="`+path+`"`) {
				t.Errorf("the %s's navigation lists %s", name, path)
			}
			p := b.get(path)
			if p.status != http.StatusForbidden || !strings.Contains(p.body, "admin") {
				t.Errorf("%s GET %s: %d, want 403 naming the admin permission:\n%s", name, path, p.status, p.body)
			}
			if strings.Contains(p.body, "icfg_") || strings.Contains(p.body, "finance") {
				t.Errorf("%s GET %s: the refusal shows an installation or a target", name, path)
			}
		}
	}
}

// TestExportTokenNeverShown renders the export targets page and looks for the target's
// token in its HTML, as given and as stored (sealed under the server secret), whole and
// in part.
func TestExportTokenNeverShown(t *testing.T) {
	w := newWorld(t, worldEvents())
	targets, err := w.svc.ExportTargets(context.Background(), service.SystemKey)
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets: %v %v", targets, err)
	}
	stored := targets[0].Token.Reveal()
	if stored == exportToken || !strings.HasPrefix(stored, "sealed:") {
		t.Fatalf("the token is not stored sealed: %q", stored)
	}
	admin := newBrowser(t, w.url)
	admin.signIn(w.admin)
	p := admin.get("/ui/admin/exports")
	if p.status != http.StatusOK || !strings.Contains(p.body, "icfg_finance_01") {
		t.Fatalf("exports page: %d\n%s", p.status, p.body)
	}
	sealed := strings.TrimPrefix(stored, "sealed:v1:")
	for name, s := range map[string]string{"token": exportToken, "its second half": exportToken[len(exportToken)/2:],
		"stored token": stored, "sealed part": sealed[:16], "sealed part's end": sealed[len(sealed)-16:]} {
		if strings.Contains(p.body, s) || strings.Contains(p.body, html.EscapeString(s)) {
			t.Errorf("the exports page shows the %s (%q)", name, s)
		}
	}
	if strings.Contains(p.body, "sealed:") {
		t.Errorf("the exports page shows a sealed token")
	}
}

// TestCookies checks the session cookie is HttpOnly, SameSite=Strict, for /ui/ only, and
// Secure when asked for (the dashboard behind a TLS proxy); and that no key is in it.
func TestCookies(t *testing.T) {
	w := newWorld(t, worldEvents())
	b := newBrowser(t, w.url)
	form := b.get("/ui/signin")
	p := b.post("/ui/signin", url.Values{"csrf": {csrfOf(t, form)}, "api_key": {w.customer}})
	var session *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "cloudmeter_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("no session cookie: %v", p.header["Set-Cookie"])
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/ui/" || session.Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui/, not Secure over plain HTTP", session)
	}
	if strings.Contains(session.Value, w.customer) || strings.Contains(session.Value, strings.SplitN(w.customer, ":", 2)[1]) {
		t.Errorf("the session cookie holds the key")
	}
	// Behind a proxy that terminates TLS the cookies are Secure.
	req, _ := http.NewRequest(http.MethodGet, w.url+"/ui/signin", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	tls := newBrowser(t, w.url).do(req)
	if cs := (&http.Response{Header: tls.header}).Cookies(); len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("cookies behind a TLS proxy: %v, want one Secure, HttpOnly, SameSite=Strict", tls.header["Set-Cookie"])
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
		if form.header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
}

var rowRE = regexp.MustCompile(`(?s)<table id="records"[^>]*>.*?</table>`)

// TestLinesPages checks the lines come a page at a time, every line on exactly one page
// in the report's order, and a page past the last is refused naming the parameter.
func TestLinesPages(t *testing.T) {
	defer dashboard.SetLinesPerPage(10)()
	w := newWorld(t, worldEvents())
	b := newBrowser(t, w.url)
	b.signIn(w.customer)
	all := b.get("/ui/users/1/lines.csv?month=2024-12")
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(all.body), "\n")[1:] {
		if strings.HasPrefix(line, "time,") {
			f := strings.Split(line, ",")
			want = append(want, f[3]+" "+f[7])
		}
	}
	pages := (len(want) + 9) / 10
	if pages < 3 {
		t.Fatalf("%d lines: too few for the test", len(want))
	}
	var got []string
	lineRE := regexp.MustCompile(`\((\d+)\)</a></td><td>[a-z_]+</td><td>[a-z]+</td><td>([0-9-]+ [0-9:]+) UTC</td>`)
	for pg := 1; pg <= pages; pg++ {
		p := b.get(fmt.Sprintf("/ui/users/1/lines?month=2024-12&page=%d", pg))
		if p.status != http.StatusOK {
			t.Fatalf("page %d: %d", pg, p.status)
		}
		rows := lineRE.FindAllStringSubmatch(rowRE.FindString(p.body), -1)
		if len(rows) == 0 || len(rows) > 10 {
			t.Errorf("page %d: %d lines", pg, len(rows))
		}
		for _, r := range rows {
			got = append(got, r[1]+" "+strings.Replace(r[2], " ", "T", 1)+"Z")
		}
		if strings.Contains(p.body, fmt.Sprintf("page %d →", pg+1)) != (pg < pages) || !strings.Contains(p.body, fmt.Sprintf("Page %d of %d", pg, pages)) {
			t.Errorf("page %d of %d: its navigation is wrong", pg, pages)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the pages hold %d lines, the CSV %d, or not in the same order:\n%v\n%v", len(got), len(want), got, want)
	}
	if p := b.get(fmt.Sprintf("/ui/users/1/lines?month=2024-12&page=%d", pages+1)); p.status != http.StatusBadRequest || !strings.Contains(p.body, "page:") {
		t.Errorf("a page past the last: %d", p.status)
	}
}

// TestBadInput checks every bad parameter is answered with a 4xx page naming it (never a
// 5xx), and the extreme months are answered.
func TestBadInput(t *testing.T) {
	w := newWorld(t, worldEvents())
	b := newBrowser(t, w.url)
	b.signIn(w.reader)
	for _, c := range []struct {
		path   string
		status int
		names  string
	}{
		{"/ui/overview?month=1970-01", 200, ""},
		{"/ui/overview?month=9999-12", 200, ""},
		{"/ui/users/1/lines?month=1970-01", 200, ""},
		{"/ui/users/1/traffic?month=9999-12", 200, ""},
		{"/ui/resources/900001?month=1970-01", 200, ""},
		{"/ui/overview?month=%FF", 400, "month:"},
		{"/ui/overview?month=2024-1", 400, "month:"},
		{"/ui/overview?user=-3", 400, "user:"},
		{"/ui/overview?user=99&month=2024-12", 404, "user 99"},
		{"/ui/resources/123", 404, "123"},
		{"/ui/resources/abc", 400, "product_id:"},
		{"/ui/anomalies?user=x", 400, "user:"},
		{"/ui/users/1/lines?month=2024-12&page=0", 400, "page:"},
		{"/ui/users/1/infrastructures/777/lines?month=2024-12", 404, "infrastructure 777"},
		{"/ui/users/1/infrastructures/0/lines?month=2024-12", 400, "infrastructure id:"},
		{"/ui/admin/prices?from=1&to=9", 403, "prices_read"},
	} {
		p := b.get(c.path)
		if p.status != c.status || !strings.Contains(html.UnescapeString(p.body), c.names) {
			t.Errorf("GET %s: %d, want %d naming %q:\n%.300s", c.path, p.status, c.status, c.names, p.body[max(0, strings.Index(p.body, "<main")):])
		}
	}
}

// TestAdminFiguresEqualAPI checks the installations and export targets pages against the
// native API asked with the same key: each installation's latest day and month totals
// and its invoices' totals (GET /api/v1/installations/{id}/billing), and each target's
// counts of deliveries (GET /api/v1/exports).
func TestAdminFiguresEqualAPI(t *testing.T) {
	e2etest.OnEachEngine(t, testAdminFiguresEqualAPI)
}

func testAdminFiguresEqualAPI(t *testing.T, eng e2etest.Engine) {
	w := newWorldOn(t, eng, worldEvents())
	api := func(path string, out any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, w.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+w.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	admin := newBrowser(t, w.url)
	admin.signIn(w.admin)

	page := admin.get("/ui/admin/installations")
	figs := figures(t, page.body)
	var list struct {
		Installations []struct {
			ID       string `json:"id"`
			Currency string `json:"currency"`
		} `json:"installations"`
	}
	api("/api/v1/installations", &list)
	if len(list.Installations) != 2 {
		t.Fatalf("%d installations, want 2", len(list.Installations))
	}
	checked := 0
	for _, in := range list.Installations {
		var b struct {
			Days     []struct{ Total string } `json:"days"`
			Months   []struct{ Total string } `json:"months"`
			Invoices []struct {
				ID    string `json:"id"`
				Total string `json:"total"`
			} `json:"invoices"`
		}
		api("/api/v1/installations/"+in.ID+"/billing", &b)
		for slot, rows := range map[string][]struct{ Total string }{"day": b.Days, "month": b.Months} {
			got, shown := figs[in.ID+":"+slot+"_total"]
			if len(rows) == 0 {
				if shown {
					t.Errorf("%s: a %s total %q the API does not give", in.ID, slot, got)
				}
				continue
			}
			if want := rows[len(rows)-1].Total + " " + in.Currency; got != want {
				t.Errorf("%s: latest %s total %q on the page, %q in the API", in.ID, slot, got, want)
			}
			checked++
		}
		for _, inv := range b.Invoices {
			row := regexp.MustCompile(`<code>` + inv.ID + `</code>.*?<td class="num">([^<]*)</td>`).FindStringSubmatch(page.body)
			if row == nil || row[1] != inv.Total+" "+in.Currency {
				t.Errorf("invoice %s: page %v, API total %s %s", inv.ID, row, inv.Total, in.Currency)
			}
			checked++
		}
	}
	if checked != 3 {
		t.Errorf("%d figures compared, want 3 (a day, a month, an invoice)", checked)
	}

	figs = figures(t, admin.get("/ui/admin/exports").body)
	var exports struct {
		Targets []struct {
			ID                    string `json:"id"`
			Sent, Failed, Pending int64
		} `json:"targets"`
	}
	api("/api/v1/exports", &exports)
	if len(exports.Targets) != 1 {
		t.Fatalf("%d export targets, want 1", len(exports.Targets))
	}
	for _, tg := range exports.Targets {
		for name, n := range map[string]int64{"sent": tg.Sent, "failed": tg.Failed, "pending": tg.Pending} {
			if got, want := figs[tg.ID+":"+name], fmt.Sprint(n); got != want || n != 1 {
				t.Errorf("%s %s: %q on the page, %s in the API (the fixed data set has 1)", tg.ID, name, got, want)
			}
		}
	}
}

package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/keyseal"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/server"
	"github.com/cloudmeter/cloudmeter/service"
)

// The fixed data set of the dashboard's tests, served by the whole router (every API and
// the dashboard) on a loopback port, with the service's clock pinned at worldNow:
//
//   - the demo cloud of December 2024 (demo.Events: worldResources resources of users 1
//     to 3), priced by two price book versions: the demo book, then the same with
//     internet traffic prices for networks (so the price book diff has two entries);
//   - in infrastructure 4242 ("edge") of user 1: network 900001, metered hourly, with
//     a download sample every 6 hours and an upload sample every 12 hours from 1 to 10
//     December; instance 900003, provisioned in November, stopped on 5 December, stopped
//     again on 6 December (an anomaly: redundant_power), started on 8 December, moved to
//     another server type on 15 December, deleted on 28 December;
//   - traffic of product 900002, never provisioned (an anomaly: not_provisioned);
//   - organization 1's prepaid credit: 2,500.00 topped up, threshold 40.00;
//   - keys: customer (user 1, no permission), other (user 2, no permission), reader
//     (user 3, utilization_reports_read), admin (user 3, admin);
//   - two marketplace installations and an export target with its deliveries
//     (addPartners), the target's token sealed under a server secret.
var worldNow = time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)

const worldResources = 30

type world struct {
	svc                            *service.Service
	url                            string
	customer, other, reader, admin string
	keyIDs                         map[string]string // key id -> name, to normalize goldens
	replace                        map[string]string // random ids and loopback URLs -> fixed names
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// newWorld serves events (and the rest of the fixed data set) over SQLite.
func newWorld(t testing.TB, events []json.RawMessage) *world {
	t.Helper()
	return newWorldOn(t, e2etest.SQLite, events)
}

// newWorldOn serves events (and the rest of the fixed data set) over an engine.
func newWorldOn(t testing.TB, eng e2etest.Engine, events []json.RawMessage) *world {
	t.Helper()
	ctx := context.Background()
	st, err := storeopen.Open(ctx, t.TempDir(), e2etest.DatabaseURL(t, eng))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := keyseal.New([]byte(strings.Repeat("dashboard-secret", 2)))
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, service.Options{Now: func() time.Time { return worldNow }, Logger: slog.New(slog.DiscardHandler), Sealer: sealer})
	sys := service.SystemKey
	if _, err := svc.PutPrices(ctx, sys, demo.Prices(demo.Month)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutPrices(ctx, sys, pricesWithTraffic(t)); err != nil {
		t.Fatal(err)
	}
	for _, b := range demo.Batches(events, 2000) {
		evs, err := ledger.DecodeBatch("application/json", b.JSON, ledger.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Ingest(ctx, sys, evs); err != nil {
			t.Fatal(err)
		}
	}
	w := &world{svc: svc, keyIDs: map[string]string{}, replace: map[string]string{}}
	for _, k := range []struct {
		name  string
		user  int64
		perms []cloudmeter.Permission
		dst   *string
	}{
		{"customer", 1, nil, &w.customer},
		{"other", 2, nil, &w.other},
		{"reader", 3, []cloudmeter.Permission{cloudmeter.PermUtilizationReportsRead}, &w.reader},
		{"admin", 3, []cloudmeter.Permission{cloudmeter.PermAdmin}, &w.admin},
	} {
		raw, key, err := svc.CreateKey(ctx, sys, k.user, k.perms, k.name)
		if err != nil {
			t.Fatal(err)
		}
		*k.dst = raw
		w.keyIDs[key.ID] = k.name
	}
	amount, _ := money.ParseAmount("2500.00")
	if _, _, err := svc.TopUpCredit(ctx, sys, 1, amount, "first top-up"); err != nil {
		t.Fatal(err)
	}
	threshold, _ := money.ParseAmount("40.00")
	if _, err := svc.SetCreditSettings(ctx, sys, 1, threshold, demo.Month.Unix()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.NewRouter(server.Surfaces{Service: svc, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	addPartners(t, w)
	return w
}

// worldEvents is the fixed data set's events (see world).
func worldEvents() []json.RawMessage {
	events := demo.Events(demo.Options{Seed: 16, Resources: worldResources, From: demo.Month, Users: 3})
	ev := func(id, at, typ string, data map[string]any) json.RawMessage {
		b, err := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "source": "dashboard/test", "time": at, "type": typ, "data": data})
		if err != nil {
			panic(err)
		}
		return b
	}
	prov := func(id, at string, product int64, typ string, attrs map[string]any) json.RawMessage {
		return ev(id, at, "cloudmeter.resource.provisioned", map[string]any{"product_id": product, "resource_type": typ, "user_id": 1,
			"infrastructure_id": 4242, "infrastructure_label": "edge", "datacenter": "uk-reading", "label": fmt.Sprintf("%s-%d", typ, product),
			"subdomain": fmt.Sprintf("%s-%d.edge.example.test", typ, product), "attributes": attrs})
	}
	product := func(p int64) map[string]any { return map[string]any{"product_id": p} }
	events = append(events,
		prov("net", "2024-11-28T00:00:00Z", 900001, "network", map[string]any{"measurement_period": 3600}),
		prov("vm", "2024-11-20T09:30:00Z", 900003, "instance", map[string]any{"server_type_id": 2, "server_type_name": "M.16.64.2"}),
		ev("vm-stop", "2024-12-05T18:00:00Z", "cloudmeter.resource.stopped", product(900003)),
		ev("vm-stop-again", "2024-12-06T07:00:00Z", "cloudmeter.resource.stopped", product(900003)),
		ev("vm-start", "2024-12-08T08:15:00Z", "cloudmeter.resource.started", product(900003)),
		ev("vm-change", "2024-12-15T12:00:00Z", "cloudmeter.resource.changed", map[string]any{"product_id": 900003,
			"attributes": map[string]any{"server_type_id": 3, "server_type_name": "M.32.128.4"}}),
		ev("vm-delete", "2024-12-28T23:00:00Z", "cloudmeter.resource.deleted", product(900003)),
		ev("stray", "2024-12-03T03:00:00Z", "cloudmeter.traffic.metered", map[string]any{"product_id": 900002, "direction": "download", "bytes": 5 << 20}),
	)
	start := time.Date(2024, 12, 1, 0, 10, 0, 0, time.UTC)
	for h := 0; h < 10*24; h += 6 {
		at := start.Add(time.Duration(h) * time.Hour).Format(time.RFC3339)
		events = append(events, ev(fmt.Sprint("down-", h), at, "cloudmeter.traffic.metered",
			map[string]any{"product_id": 900001, "direction": "download", "bytes": int64(h%24+1+h/24%5) * (3 << 28)}))
		if h%12 == 0 {
			events = append(events, ev(fmt.Sprint("up-", h), at, "cloudmeter.traffic.metered",
				map[string]any{"product_id": 900001, "direction": "upload", "bytes": int64(h/12+1) * (1 << 29)}))
		}
	}
	return events
}

// pricesWithTraffic is the demo book with network traffic prices.
func pricesWithTraffic(t testing.TB) []byte {
	var book map[string]any
	if err := json.Unmarshal(demo.Prices(demo.Month), &book); err != nil {
		t.Fatal(err)
	}
	book["entries"] = append(book["entries"].([]any),
		map[string]any{"resource_type": "network", "direction": "download", "price": "0.01", "unit": "gb"},
		map[string]any{"resource_type": "network", "direction": "upload", "price": "0.05", "unit": "gb"})
	b, err := json.Marshal(book)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// browser is an HTTP client with a cookie jar, as a browser without script.
type browser struct {
	t      testing.TB
	base   string
	client *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, client: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(req *http.Request, via []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token of the page's first form.
func csrfOf(t testing.TB, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", p.body)
	}
	return m[1]
}

// signIn signs the browser in with key, through the sign-in form.
func (b *browser) signIn(key string) {
	b.t.Helper()
	form := b.get("/ui/signin")
	if form.status != http.StatusOK {
		b.t.Fatalf("GET /ui/signin: %d", form.status)
	}
	p := b.post("/ui/signin", url.Values{"csrf": {csrfOf(b.t, form)}, "api_key": {key}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/overview" {
		b.t.Fatalf("POST /ui/signin: %d to %q, want 303 to /ui/overview:\n%s", p.status, p.header.Get("Location"), p.body)
	}
}

package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/server"
)

// installation installs a marketplace partner for user 1 on srv (in GBP, the seed's
// currency) with the command line and returns its id and access token.
func installation(t *testing.T, srv *e2etest.Server) (id, token string) {
	t.Helper()
	out, _ := glueCLI(t, 0, append([]string{"installations", "create", "--partner", "cloudmeter-glue", "--user", "1", "--currency", "GBP"}, dbArgs(srv)...)...)
	m := regexp.MustCompile(`installation (\S+) of partner`).FindStringSubmatch(out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if m == nil || len(lines) < 2 {
		t.Fatalf("installations create: %s", out)
	}
	return m[1], strings.TrimSpace(lines[len(lines)-1])
}

// keptBilling returns the total C keeps for the installation's month (the latest
// submission of the month) and the day's submissions it kept.
func keptBilling(t *testing.T, c *e2etest.Server, id string, monthStart int64) (money.Amount, int) {
	t.Helper()
	r := c.Do(t, http.MethodGet, "/api/v1/installations/"+id+"/billing", c.AdminKey, "", nil)
	e2etest.MustStatus(t, r, http.StatusOK, "GET /api/v1/installations/{id}/billing")
	var ans struct {
		Days   []struct{ Total string } `json:"days"`
		Months []struct {
			Start     string `json:"start"`
			Total     string `json:"total"`
			Anomalies []any  `json:"anomalies"`
		} `json:"months"`
	}
	if err := json.Unmarshal(r.Body, &ans); err != nil {
		t.Fatal(err)
	}
	for _, m := range ans.Months {
		if m.Start == ts(monthStart) {
			// Every item's total is its price times its quantity at the currency's minor
			// unit: C flags none.
			if len(m.Anomalies) > 0 {
				t.Errorf("C flagged items of the month: %v", m.Anomalies)
			}
			return mustAmount(t, m.Total), len(ans.Days)
		}
	}
	t.Fatalf("C keeps no billing for the month of %s: %s", ts(monthStart), r.Body)
	return 0, 0
}

// chain starts B, which pulls from A with pullArgs and pushes to C's marketplace
// endpoint, and returns the total C keeps for the month.
func chain(t *testing.T, eng e2etest.Engine, pullArgs func(b *e2etest.Server) []string, monthStart int64) money.Amount {
	t.Helper()
	c := e2etest.StartServerWith(t, eng, server.Config{})
	id, token := installation(t, c)
	b := e2etest.StartServerWith(t, eng, server.Config{})
	b.PutPrices(t, otherPrices) // never used for pulled records
	glueCLI(t, 0, pullArgs(b)...)
	glueCLI(t, 0, append([]string{"exports", "add", "--id", "c", "--url", c.URL, "--configuration-id", id, "--token=" + token, "--users", "1"}, dbArgs(b)...)...)
	out, _ := glueCLI(t, 0, append([]string{"push", "--once"}, dbArgs(b)...)...)
	if !strings.Contains(out, "sent 1, refused 0") {
		status, _ := glueCLI(t, 0, append([]string{"exports", "status"}, dbArgs(b)...)...)
		t.Fatalf("push --once: %s\n%s", out, status)
	}
	// Pushing again (a later round of the same data) replaces what C keeps: the latest
	// submission of the day and month wins, nothing is added twice.
	glueCLI(t, 0, append([]string{"push", "--once"}, dbArgs(b)...)...)
	total, days := keptBilling(t, c, id, monthStart)
	if days != 1 {
		t.Errorf("C keeps %d days of billing, want 1 (today's)", days)
	}
	return total
}

// TestGlueChainMetalSoft: A meters a cloud and serves it through the MetalSoft API; B
// pulls it and pushes it to C's marketplace endpoint; the billing C keeps equals A's
// report to the last digit.
func TestGlueChainMetalSoft(t *testing.T) { e2etest.OnEachEngine(t, testGlueChainMetalSoft) }

func testGlueChainMetalSoft(t *testing.T, eng e2etest.Engine) {
	a := e2etest.StartServerWith(t, eng, server.Config{})
	_, end := glueCloud(t, a)
	monthStart, _ := monthOf(end)
	to := time.Now().Unix()
	want := reportTotal(t, a, monthStart, to)
	got := chain(t, eng, func(b *e2etest.Server) []string {
		return append([]string{"pull", "metalsoft", "--endpoint", a.URL, "--api-key", a.AdminKey, "--user", "1", "--from", ts(monthStart), "--to", ts(to)}, dbArgs(b)...)
	}, monthStart)
	if got != want {
		t.Errorf("C keeps %s for the month; A's report says %s", got, want)
	}
}

// TestGlueChainHyperstack: the same chain with A's Hyperstack-compatible usage API.
func TestGlueChainHyperstack(t *testing.T) { e2etest.OnEachEngine(t, testGlueChainHyperstack) }

func testGlueChainHyperstack(t *testing.T, eng e2etest.Engine) {
	a := e2etest.StartServerWith(t, eng, server.Config{})
	_, end := glueCloud(t, a)
	monthStart, _ := monthOf(end)
	want, _ := hyperstackTotal(t, a)
	got := chain(t, eng, func(b *e2etest.Server) []string {
		return append([]string{"pull", "hyperstack", "--endpoint", a.URL, "--api-key", a.AdminKey}, dbArgs(b)...)
	}, monthStart)
	if got != want {
		t.Errorf("C keeps %s for the month; A's Hyperstack usage totals %s", got, want)
	}
}

// TestGlueChainFailingReceiver: between B and C a link that answers 500 without passing
// the submission on, then passes it on but answers too late for B, then answers 429
// with Retry-After, then passes it on: C keeps the month's billing once, equal to A's
// report, and B's outbox has nothing left and nothing refused.
func TestGlueChainFailingReceiver(t *testing.T) {
	e2etest.OnEachEngine(t, testGlueChainFailingReceiver)
}

func testGlueChainFailingReceiver(t *testing.T, eng e2etest.Engine) {
	a := e2etest.StartServerWith(t, eng, server.Config{})
	_, end := glueCloud(t, a)
	monthStart, _ := monthOf(end)
	to := time.Now().Unix()
	want := reportTotal(t, a, monthStart, to)

	c := e2etest.StartServerWith(t, eng, server.Config{})
	id, token := installation(t, c)
	target, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	attempts := 0
	link := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		attempts++
		n := attempts
		mu.Unlock()
		switch n {
		case 1:
			http.Error(w, "upstream down", http.StatusInternalServerError)
		case 2:
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r) // C keeps it...
			time.Sleep(1500 * time.Millisecond)
			w.WriteHeader(rec.Code) // ...but B has given up by now
		case 3:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(link.Close)

	b := e2etest.StartServerWith(t, eng, server.Config{Exports: server.ExportConfig{Enabled: true, Poll: 100 * time.Millisecond,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, Timeout: time.Second}})
	glueCLI(t, 0, append([]string{"pull", "metalsoft", "--endpoint", a.URL, "--api-key", a.AdminKey, "--user", "1", "--from", ts(monthStart), "--to", ts(to)}, dbArgs(b)...)...)
	glueCLI(t, 0, append([]string{"exports", "add", "--id", "c", "--url", link.URL, "--configuration-id", id, "--token=" + token, "--users", "1"}, dbArgs(b)...)...)
	waitFor(t, 30*time.Second, "the submission got through", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return attempts >= 4
	})
	time.Sleep(time.Second) // room for an attempt too many
	mu.Lock()
	if attempts != 4 {
		t.Errorf("%d attempts, want 4", attempts)
	}
	mu.Unlock()
	got, days := keptBilling(t, c, id, monthStart)
	if got != want || days != 1 {
		t.Errorf("C keeps %s over %d day(s) for the month; A's report says %s", got, days, want)
	}
	status, _ := glueCLI(t, 0, append([]string{"exports", "status"}, dbArgs(b)...)...)
	if !regexpLine(status, `^c\s+\S+\s+\S+\s+1\s+0\s+0\s+-`) {
		t.Errorf("B's exports status:\n%s", status)
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/server"
)

// glueToken is the access token of the test export targets: no output may show it.
const glueToken = "tok-glue-7f3a9c21e5d84b60"

// glueCloud meters a small cloud for user 1 in the current month, every resource
// deleted by now (so that a report of the month no longer grows): an instance, a drive,
// a subnet and a network waypoint with traffic. It returns the first and last second of
// the usage.
func glueCloud(t *testing.T, srv *e2etest.Server) (from, to int64) {
	t.Helper()
	now := time.Now().Unix()
	month := time.Unix(now, 0).UTC()
	monthStart := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC).Unix()
	if now-monthStart < 300 {
		t.Skip("the month began less than 5 minutes ago: too little of it to meter")
	}
	p := max(monthStart+1, now-5*3600-17)
	end := now - 5
	srv.PutPrices(t, demo.SeedPrices)
	ev := func(id, typ string, at int64, data string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"e2e/glue","time":%q,"type":%q,"data":%s}`, id, ts(at), typ, data)
	}
	prov := func(id string, at, product int64, typ, attrs string) string {
		return ev(id, "cloudmeter.resource.provisioned", at, fmt.Sprintf(`{"product_id":%d,"resource_type":%q,"user_id":1,"infrastructure_id":3668,
			"infrastructure_label":"d-lake","datacenter":"uk-reading","label":"%s-%d","subdomain":"%s-%d.d-lake.1.example.test","attributes":%s}`,
			product, typ, typ, product, typ, product, attrs))
	}
	del := func(id string, at, product int64) string {
		return ev(id, "cloudmeter.resource.deleted", at, fmt.Sprintf(`{"product_id":%d}`, product))
	}
	events := []string{
		prov("g1", p, 2416, "instance", `{}`),
		prov("g2", p+15, 3727, "drive", `{"drive_size_mbytes":41000,"storage_type":"iscsi_ssd"}`),
		prov("g3", p+2, 6378, "subnet", `{"subnet_type":"ipv4","subnet_prefix_size":29}`),
		prov("g4", p+1, 8381, "network", `{"measurement_period":3600}`),
		ev("g5", "cloudmeter.traffic.metered", p+100, `{"product_id":8381,"direction":"upload","bytes":3221225472}`),
		ev("g6", "cloudmeter.traffic.metered", p+200, `{"product_id":8381,"direction":"download","bytes":1610612736}`),
		del("g7", end-40, 2416),
		del("g8", end-3, 3727),
		del("g9", end-1, 6378),
		del("g10", end, 8381),
	}
	srv.PostEvents(t, []byte("["+strings.Join(events, ",")+"]"))
	return p, end
}

// monthOf returns the first second of the month that holds t and of the next.
func monthOf(t int64) (int64, int64) {
	m := time.Unix(t, 0).UTC()
	start := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start.Unix(), start.AddDate(0, 1, 0).Unix()
}

// reportTotal is the total cost of user 1's MetalSoft detailed report over [from, to]
// of srv: every usage record's cost and every waypoint record's.
func reportTotal(t *testing.T, srv *e2etest.Server, from, to int64) money.Amount {
	t.Helper()
	res := rpcResult(t, srv.RPC(t, srv.AdminKey, detailed(1, ts(from), ts(to))))
	var costs []money.Amount
	for _, rec := range allRecords(t, res) {
		costs = append(costs, mustAmount(t, str(rec["cost"])))
	}
	net, _ := res["network_report"].(map[string]any)
	for _, byType := range net {
		for _, byDir := range byType.(map[string]any) {
			for _, d := range byDir.(map[string]any) {
				for _, w := range d.(map[string]any)["metered_waypoints"].([]any) {
					costs = append(costs, mustAmount(t, str(w.(map[string]any)["cost"])))
				}
			}
		}
	}
	total, err := money.SumAmounts(costs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(costs) == 0 || total == 0 {
		t.Fatalf("the report of %s .. %s holds no cost", ts(from), ts(to))
	}
	return total
}

func mustAmount(t *testing.T, s string) money.Amount {
	t.Helper()
	a, err := money.ParseAmount(s)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return a
}

// glueCLI runs the command line and returns its output; it fails the test on a non-zero
// exit unless wantCode says otherwise.
func glueCLI(t *testing.T, wantCode int, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errOut)
	if code != wantCode {
		t.Fatalf("cloudmeter %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

// dbArgs are the flags that point a command at srv's database.
func dbArgs(srv *e2etest.Server) []string {
	return []string{"--data-dir", srv.DataDir, "--database-url=" + srv.DatabaseURL}
}

// addTarget adds an export target of user 1 to srv's database with the command line.
func addTarget(t *testing.T, srv *e2etest.Server, id, url, schedule string) {
	t.Helper()
	args := append([]string{"exports", "add"}, dbArgs(srv)...)
	args = append(args, "--id", id, "--url", url, "--configuration-id", "icfg_"+id, "--token="+glueToken, "--users", "1", "--schedule", schedule)
	out, errOut := glueCLI(t, 0, args...)
	if strings.Contains(out+errOut, glueToken) {
		t.Errorf("exports add printed the token:\n%s%s", out, errOut)
	}
}

// received is one request a recording receiver got.
type received struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	At           time.Time
}

// recorder is a billing system on loopback that records every request and answers as
// its script says: answer(n, r) for the n-th request (from 1) of a path.
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	counts map[string]int
	answer func(n int, r *received, w http.ResponseWriter)
}

func newRecorder(t *testing.T, answer func(n int, r *received, w http.ResponseWriter)) *recorder {
	t.Helper()
	rec := &recorder{counts: map[string]int{}, answer: answer}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
		rec.mu.Lock()
		rec.got = append(rec.got, got)
		rec.counts[r.URL.Path]++
		n := rec.counts[r.URL.Path]
		rec.mu.Unlock()
		if rec.answer != nil {
			rec.answer(n, &got, w)
			return
		}
		accept(w, r.URL.Path)
	}))
	t.Cleanup(rec.Close)
	return rec
}

// accept answers as the marketplace does: 201 for billing, 200 with an id for an
// invoice, 204 for finalize.
func accept(w http.ResponseWriter, path string) {
	switch {
	case strings.HasSuffix(path, "/billing/invoices"):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"invoiceId":"inv_1"}`)
	case strings.HasSuffix(path, "/billing/finalize"):
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusCreated)
	}
}

func (rec *recorder) requests() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.got...)
}

// waitFor polls cond until it holds or the time runs out.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// submission is the part of a billing submission the tests read.
type submission struct {
	Timestamp string `json:"timestamp"`
	EOD       string `json:"eod"`
	Period    struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
	Billing struct {
		Items []struct {
			BillingPlanID string      `json:"billingPlanId"`
			ResourceID    string      `json:"resourceId"`
			Name          string      `json:"name"`
			Details       string      `json:"details"`
			Price         string      `json:"price"`
			Quantity      json.Number `json:"quantity"`
			Units         string      `json:"units"`
			Total         string      `json:"total"`
			Start         string      `json:"start"`
			End           string      `json:"end"`
		} `json:"items"`
		Discounts []any `json:"discounts"`
	} `json:"billing"`
	Usage []struct {
		ResourceID  string      `json:"resourceId"`
		Name        string      `json:"name"`
		Type        string      `json:"type"`
		Units       string      `json:"units"`
		DayValue    json.Number `json:"dayValue"`
		PeriodValue json.Number `json:"periodValue"`
	} `json:"usage"`
}

func decodeSubmission(t *testing.T, body []byte) submission {
	t.Helper()
	var s submission
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		t.Fatalf("the submission is not the marketplace's billing body: %v\n%s", err, body)
	}
	return s
}

// itemsTotal sums a submission's item totals exactly.
func (s submission) itemsTotal(t *testing.T) money.Amount {
	t.Helper()
	var xs []money.Amount
	for _, it := range s.Billing.Items {
		xs = append(xs, mustAmount(t, it.Total))
	}
	total, err := money.SumAmounts(xs...)
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// startWithLogs starts a server on eng whose log is kept in logs, for tests that read it.
func startWithLogs(t *testing.T, eng e2etest.Engine, cfg server.Config) (*e2etest.Server, *testutil.SyncBuffer) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return e2etest.StartServerWith(t, eng, cfg), logs
}

// regexpLine reports whether a line of text matches pattern.
func regexpLine(text, pattern string) bool {
	re := regexp.MustCompile(`(?m)` + pattern)
	return re.MatchString(text)
}

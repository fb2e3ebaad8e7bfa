package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/server"
)

// TestGluePush: `cloudmeter push --once` posts the month's submission to the target, in
// the marketplace format, with the target's token; its items add up to the server's own
// report of the month to the last digit.
func TestGluePush(t *testing.T) { e2etest.OnEachEngine(t, testGluePush) }

func testGluePush(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServerWith(t, eng, server.Config{})
	from, to := glueCloud(t, srv)
	rec := newRecorder(t, nil)
	addTarget(t, srv, "a", rec.URL, "1h")

	out, _ := glueCLI(t, 0, append([]string{"push", "--once"}, dbArgs(srv)...)...)
	if !strings.Contains(out, "enqueued 1, sent 1, refused 0, to retry 0") {
		t.Fatalf("push --once: %s", out)
	}
	got := rec.requests()
	if len(got) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.Path != "/v1/installations/icfg_a/billing" {
		t.Errorf("request %s %s", r.Method, r.Path)
	}
	if h := r.Header.Get("Authorization"); h != "Bearer "+glueToken {
		t.Errorf("Authorization %q, want the target's token", h)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	sub := decodeSubmission(t, r.Body)
	monthStart, monthNext := monthOf(to)
	if sub.Period.Start != wire(monthStart) || sub.Period.End != wire(monthNext) {
		t.Errorf("period %+v, want the calendar month of %s", sub.Period, ts(to))
	}
	now := time.Now().Unix()
	wantEOD := min(now-now%86400+86400, monthNext)
	if sub.EOD != wire(wantEOD) {
		t.Errorf("eod %s, want the end of today %s", sub.EOD, wire(wantEOD))
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", sub.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", sub.Timestamp, err)
	}
	want := reportTotal(t, srv, monthStart, now)
	if got := sub.itemsTotal(t); got != want {
		t.Errorf("the items add up to %s; the report of the month says %s", got, want)
	}
	plans := map[string]bool{}
	for _, it := range sub.Billing.Items {
		plans[it.BillingPlanID] = true
		if it.ResourceID == "2416" && (it.Units != "hour" || it.Price != "0.31000000") {
			t.Errorf("instance item %+v: want 0.31 an hour", it)
		}
		if it.Start == "" || it.End == "" {
			t.Errorf("item %+v: no start and end, though it covers less than the period", it)
		}
	}
	for _, p := range []string{"instance", "drive.iscsi_ssd", "subnet.ipv4", "network.upload"} {
		if !plans[p] {
			t.Errorf("no item of billingPlanId %q among %v", p, plans)
		}
	}
	metrics := map[string]string{}
	for _, u := range sub.Usage {
		metrics[u.ResourceID+" "+u.Name+" "+u.Type+" "+u.Units] = u.PeriodValue.String()
	}
	// The instance ran from `from` to 40 seconds before `to`: its hours to 8 places.
	hours, _ := money.Cost(to-40-from+1, 3600, money.Amount(money.AmountScale))
	if got := metrics["2416 instance hours interval hour"]; got == "" || mustAmount(t, got) != hours {
		t.Errorf("instance hours %q, want %s (all: %v)", got, hours, metrics)
	}
	for k, v := range map[string]string{"3727 storage total GB": "40.0390625", "8381 traffic upload interval GB": "3", "8381 traffic download interval GB": "1.5"} {
		if metrics[k] != v {
			t.Errorf("usage %q = %q, want %s (all: %v)", k, metrics[k], v, metrics)
		}
	}

	status, _ := glueCLI(t, 0, append([]string{"exports", "status"}, dbArgs(srv)...)...)
	if !strings.Contains(status, rec.URL) || !regexpLine(status, `^a\s+\S+\s+\S+\s+1\s+0\s+0\s+-`) {
		t.Errorf("exports status after one accepted delivery:\n%s", status)
	}
}

func wire(t int64) string { return time.Unix(t, 0).UTC().Format("2006-01-02T15:04:05.000Z") }

// TestGlueReceiverFailures: a receiver that answers 500, then 502, then too slowly, then
// 429 with Retry-After, then accepts, gets the same submission (timestamp and all) each
// time, the next attempt after Retry-After, and keeps it once; one that answers 400 is
// not asked again, and the refusal shows in `exports status`. No log line, status,
// list, metric or error shows the token.
func TestGlueReceiverFailures(t *testing.T) { e2etest.OnEachEngine(t, testGlueReceiverFailures) }

func testGlueReceiverFailures(t *testing.T, eng e2etest.Engine) {
	srv, logs := startWithLogs(t, eng, server.Config{Exports: server.ExportConfig{Enabled: true, Poll: 100 * time.Millisecond,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, Timeout: 700 * time.Millisecond}})
	glueCloud(t, srv)
	flaky := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		switch n {
		case 1:
			http.Error(w, "boom", http.StatusInternalServerError)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		case 3:
			time.Sleep(1200 * time.Millisecond) // kept by the receiver, but after the sender gave up
			w.WriteHeader(http.StatusCreated)
		case 4:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusCreated)
		}
	})
	refusing := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		// A receiver that repeats the credentials it got: they must not reach the outbox.
		io.WriteString(w, `{"error":{"code":"bad_request","message":"eod: must be within the period (`+r.Header.Get("Authorization")+`)"}}`)
	})
	addTarget(t, srv, "flaky", flaky.URL, "1h")
	addTarget(t, srv, "refusing", refusing.URL, "1h")

	waitFor(t, 30*time.Second, "the flaky receiver accepted the submission", func() bool { return len(flaky.requests()) >= 5 })
	time.Sleep(1500 * time.Millisecond) // room for any attempt too many
	got := flaky.requests()
	if len(got) != 5 {
		t.Fatalf("the flaky receiver got %d requests, want 5 (500, 502, timeout, 429, 201)", len(got))
	}
	kept := map[string]bool{} // the receiver keeps the latest data per timestamp
	for i, r := range got {
		if !bytes.Equal(r.Body, got[0].Body) {
			t.Errorf("attempt %d sent another body than the first:\n%s\n%s", i+1, r.Body, got[0].Body)
		}
		if i == 2 || i == 4 {
			kept[decodeSubmission(t, r.Body).Timestamp] = true
		}
	}
	if len(kept) != 1 {
		t.Errorf("the receiver kept %d submissions, want 1", len(kept))
	}
	if gap := got[4].At.Sub(got[3].At); gap < time.Second {
		t.Errorf("the attempt after 429 with Retry-After: 1 came %v later", gap)
	}
	if n := len(refusing.requests()); n != 1 {
		t.Errorf("the refusing receiver got %d requests, want 1 (a 400 is not retried)", n)
	}

	status, _ := glueCLI(t, 0, append([]string{"exports", "status"}, dbArgs(srv)...)...)
	if !regexpLine(status, `^flaky\s+\S+\s+\S+\s+1\s+0\s+0\s+-`) || !regexpLine(status, `^refusing\s+\S+\s+never\s+0\s+1\s+0\s+-`) {
		t.Errorf("exports status:\n%s", status)
	}
	if !strings.Contains(status, "refused after 1 attempt(s), not retried: HTTP 400") || !strings.Contains(status, "eod: must be within the period") {
		t.Errorf("exports status does not show the refusal and its reason:\n%s", status)
	}
	list, _ := glueCLI(t, 0, append([]string{"exports", "list"}, dbArgs(srv)...)...)
	metrics := srv.Do(t, http.MethodGet, "/metrics", "", "", nil)
	for _, want := range []string{`cloudmeter_export_deliveries_total{result="retried",target="flaky"} 4`, `cloudmeter_export_deliveries_total{result="sent",target="flaky"} 1`,
		`cloudmeter_export_deliveries_total{result="failed",target="refusing"} 1`, `cloudmeter_export_backlog{target="flaky"} 0`,
		`cloudmeter_export_failed{target="refusing"} 1`, `cloudmeter_export_oldest_pending_age_seconds{target="flaky"} 0`} {
		if !strings.Contains(string(metrics.Body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for what, text := range map[string]string{"the log": logs.String(), "exports status": status, "exports list": list, "/metrics": string(metrics.Body)} {
		if strings.Contains(text, glueToken) {
			t.Errorf("%s shows the export token", what)
		}
	}
	if !strings.Contains(logs.String(), "export delivery refused") {
		t.Errorf("the log does not tell of the refusal:\n%s", logs.String())
	}
}

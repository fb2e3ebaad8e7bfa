package e2e

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/server"
	"github.com/cloudmeter/cloudmeter/service"
)

// TestAccessLog: every request is logged once, with its method, route pattern (never
// the raw path), status, duration and the id of its key, never the key itself; and
// /metrics counts requests by the same route patterns.
func TestAccessLog(t *testing.T) { e2etest.OnEachEngine(t, testAccessLog) }

func testAccessLog(t *testing.T, eng e2etest.Engine) {
	logs := &testutil.SyncBuffer{}
	srv := e2etest.StartServerWith(t, eng, server.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	writer := srv.CreateKey(t, 1, "events_write")
	writerID := "k" + service.HashKey(writer)[:11]
	secret := writer[strings.IndexByte(writer, ':')+1:]

	requests := []struct {
		method, path, key, body string
		route                   string
		status                  int
	}{
		{"POST", "/api/v1/events", writer, string(batch(provisioned("log-1", "2024-05-01T00:00:00Z", 8101, "instance", 1, 81, "dc-l", nil))),
			"POST /api/v1/events", 200},
		{"GET", "/api/v1/resources/8101?secret=" + secret, srv.AdminKey, "", "GET /api/v1/resources/{product_id}", 200},
		{"GET", "/api/v1/resources/999999", srv.AdminKey, "", "GET /api/v1/resources/{product_id}", 404},
		{"POST", "/api/developer/developer", writer, detailed(1, "2024-05-01T00:00:00Z", "2024-05-01T23:59:59Z"),
			"POST /api/developer/developer", 200},
		{"GET", "/api/v1/no-such-route", writer, "", "unmatched", 404},
		{"GET", "/healthz", "", "", "GET /healthz", 200},
	}
	for _, rq := range requests {
		before := len(strings.Split(strings.TrimSpace(logs.String()), "\n"))
		r := srv.Do(t, rq.method, rq.path, rq.key, "", []byte(rq.body))
		if r.Status != rq.status {
			t.Fatalf("%s %s: status %d, want %d: %s", rq.method, rq.path, r.Status, rq.status, r.Body)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")[before:]
		var access []string
		for _, l := range lines {
			if strings.Contains(l, "msg=request") {
				access = append(access, l)
			}
		}
		if len(access) != 1 {
			t.Fatalf("%s %s: %d access log lines, want 1: %q", rq.method, rq.path, len(access), lines)
		}
		line := access[0]
		for _, want := range []string{"method=" + rq.method, fmt.Sprintf("route=%q", rq.route), fmt.Sprintf("status=%d", rq.status), "duration="} {
			if !strings.Contains(line, want) && !strings.Contains(line, strings.ReplaceAll(want, `"`, "")) {
				t.Errorf("%s %s: the access log line lacks %s: %s", rq.method, rq.path, want, line)
			}
		}
		wantKey := "" // an unknown route is answered before any key is looked at
		switch key := rq.key; {
		case rq.route == "unmatched":
		case key == writer:
			wantKey = writerID
		case key == srv.AdminKey:
			wantKey = "k" + service.HashKey(srv.AdminKey)[:11]
		}
		keyAttr := "key=" + wantKey
		if wantKey == "" {
			keyAttr = `key=""`
		}
		if !strings.Contains(line+" ", keyAttr+" ") {
			t.Errorf("%s %s: the access log line does not name key %q: %s", rq.method, rq.path, wantKey, line)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("a key's secret reached the log:\n%s", logs.String())
	}
	m := scrape(t, srv)
	for _, series := range []string{`cloudmeter_http_requests_total{code="200",route="POST /api/v1/events"}`,
		`cloudmeter_http_requests_total{code="404",route="GET /api/v1/resources/{product_id}"}`,
		`cloudmeter_http_requests_total{code="200",route="POST /api/developer/developer"}`} {
		if m[series] < 1 {
			t.Errorf("/metrics: %s = %v, want at least 1", series, m[series])
		}
	}
}

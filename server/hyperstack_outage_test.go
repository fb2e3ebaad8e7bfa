package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/server"
)

// TestHyperstackDatabaseGoesAway: while the database is gone, the Hyperstack-compatible
// API answers at once 429 with Retry-After and its error shape, naming the database (a
// status that tells every client to retry later; Hyperstack's generated client decodes
// no 5xx either), and answers again once the database is back.
func TestHyperstackDatabaseGoesAway(t *testing.T) {
	pg := pgtest.NewServer(t)
	dbURL := pg.URL()
	key := seedStore(t, "", dbURL, "hyperstack outage test")
	logs := &testutil.SyncBuffer{}
	srv, err := testserver.Start(context.Background(), "", dbURL, server.Config{ShutdownTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	defer func() {
		if err := srv.Stop(time.Minute); errors.Is(err, testserver.ErrStillRunning) {
			t.Error("server did not stop within a minute")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()
	c := &http.Client{Timeout: hangAfter, Transport: &http.Transport{Proxy: nil}}
	get := func(path string) (int, http.Header, []byte) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header["Api_key"] = []string{key}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, body
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/events", strings.NewReader(string(demo.SeedEvents)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("seed events: %v %v", resp, err)
	}
	const usage = "/v1/billing/billing/usage"
	if code, _, body := get(usage); code != 200 || !strings.Contains(string(body), `"total_bill":7.25925278`) {
		t.Fatalf("usage before the outage: %d %s", code, body)
	}

	pg.Stop(t)
	code, h, body := get(usage)
	var e struct {
		Status      *bool  `json:"status"`
		Message     string `json:"message"`
		ErrorReason string `json:"error_reason"`
	}
	if err := json.Unmarshal(body, &e); err != nil || code != http.StatusTooManyRequests || e.Status == nil || *e.Status ||
		e.ErrorReason != "too_many_requests" || !strings.Contains(e.Message, "database") || h.Get("Retry-After") != "5" ||
		h.Get("Content-Type") != "application/json" {
		t.Errorf("usage during the outage: %d, Retry-After %q, %s; want 429, Retry-After 5, too_many_requests naming the database",
			code, h.Get("Retry-After"), body)
	}
	t.Logf("usage during the outage: %d %s", code, body)
	if code, _, body := get("/v1/billing/billing/history/virtual-machine/2416"); code != http.StatusTooManyRequests {
		t.Errorf("VM details during the outage: %d %s", code, body)
	}

	pg.Start(t)
	eventually(t, time.Minute, "usage answers 200 after the database came back", func() error {
		if code, _, body := get(usage); code != 200 {
			return errors.New(string(body))
		}
		return nil
	})
	if !strings.Contains(logs.String(), "route=\"GET /v1/billing/billing/usage\" status=429") {
		t.Errorf("the access log has no line for the failed request")
	}
}

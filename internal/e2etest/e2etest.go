// Package e2etest is the harness of the tests that run a real server: a server
// (package testserver: server.Run on a loopback port, with a temporary data directory)
// on either storage engine, an admin key made by the command line, and small HTTP
// helpers that fail the test on any 5xx answer or JSON-RPC internal error, so that
// "never a 5xx" is checked by every request.
//
// It takes a testing.TB everywhere, and so is for tests only; starting and stopping a
// server without one (as `cloudmeter bench` does) is package testserver's.
//
// The end-to-end tests (package e2e) run every test on both engines, as subtests named
// "sqlite" and "postgres"; the PostgreSQL ones get a fresh database from package pgtest,
// and skip, saying how to enable them, when no PostgreSQL server can be had. A test
// package that uses the PostgreSQL engine calls pgtest.Main from its TestMain:
//
//	func TestX(t *testing.T) {
//		e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
//			srv := e2etest.StartServer(t, eng)
//			srv.LoadSeed(t)
//			resp := srv.RPC(t, srv.AdminKey, `{"id":1,"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`)
//			...
//		})
//	}
package e2etest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/server"
)

// Engine names the storage engine a test server runs on.
type Engine string

// The engines.
const (
	// SQLite is the embedded database in the server's data directory.
	SQLite Engine = "sqlite"
	// Postgres is a fresh, migrated database on the PostgreSQL server of package pgtest.
	Postgres Engine = "postgres"
)

// Engines are the engines every API test runs on, in the order they run.
var Engines = []Engine{SQLite, Postgres}

// OnEachEngine runs test once per engine, as a subtest named after the engine.
func OnEachEngine(t *testing.T, test func(t *testing.T, eng Engine)) {
	t.Helper()
	for _, eng := range Engines {
		t.Run(string(eng), func(t *testing.T) { test(t, eng) })
	}
}

// RPCPath is where the MetalSoft-compatible JSON-RPC API is served.
const RPCPath = "/api/developer/developer"

// Media types of the native ingest API.
const (
	CTEvent = "application/cloudevents+json"
	CTBatch = "application/cloudevents-batch+json"
)

// Server is a running cloudmeter server.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234.
	URL string
	// Engine is the storage engine the server runs on.
	Engine Engine
	// DataDir is the server's data directory.
	DataDir string
	// DatabaseURL is the PostgreSQL database of the server; empty on SQLite.
	DatabaseURL string
	// AdminKey is a key of user 1 with the admin permission, made with the CLI before
	// the server started.
	AdminKey string
	// Client is the HTTP client the helpers use (no proxy, a timeout).
	Client *http.Client
	logs   *testutil.SyncBuffer
}

// StartServer starts a server on eng with the default configuration.
func StartServer(t testing.TB, eng Engine) *Server {
	t.Helper()
	return StartServerWith(t, eng, server.Config{})
}

// DatabaseURL is the database of a test server on eng: "" on SQLite (the data directory
// holds it), and on PostgreSQL a fresh, migrated database from pgtest.URL, which skips
// the test when no PostgreSQL server can be had.
func DatabaseURL(t testing.TB, eng Engine) string {
	t.Helper()
	switch eng {
	case SQLite:
		return ""
	case Postgres:
		return pgtest.URL(t)
	}
	t.Fatalf("unknown engine %q", eng)
	return ""
}

// StartServerWith starts a server on eng with cfg, with testserver.Start: Listen,
// DataDir, DatabaseURL and Started are set by the harness (loopback port 0, a temporary
// directory, on PostgreSQL the database of DatabaseURL), and so is Logger unless cfg
// sets it. The server is stopped, and waited for, when the test ends; its log is printed
// if the test failed, and any error logged by it fails the test.
func StartServerWith(t testing.TB, eng Engine, cfg server.Config) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{Engine: eng, DataDir: dir, DatabaseURL: DatabaseURL(t, eng), logs: &testutil.SyncBuffer{}}
	s.AdminKey = CreateKeyCLI(t, dir, s.DatabaseURL, 1, "admin")

	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	srv, err := testserver.Start(context.Background(), dir, s.DatabaseURL, cfg)
	if err != nil {
		t.Fatalf("starting the server: %v", err)
	}
	s.URL = srv.URL
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}
	s.Client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		switch err := srv.Stop(20 * time.Second); {
		case errors.Is(err, testserver.ErrStillRunning):
			t.Errorf("server did not stop within 20s of its context being cancelled")
		case err != nil:
			t.Errorf("server.Run: %v", err)
		}
		logs := s.logs.String()
		if strings.Contains(logs, "level=ERROR") {
			t.Errorf("the server logged errors:\n%s", logs)
		} else if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	return s
}

// CreateKeyCLI makes a key with `cloudmeter keys create` on the PostgreSQL database at
// databaseURL, or on the SQLite database in the data directory dir when databaseURL is
// empty, and returns it (the last line of the command's output).
func CreateKeyCLI(t testing.TB, dir, databaseURL string, user int64, permissions string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	// --database-url is always given, empty for SQLite, so that a CLOUDMETER_DATABASE_URL
	// of the environment cannot send the key to another database than the server's.
	code := cli.Main(context.Background(), []string{"keys", "create", "--data-dir", dir, "--database-url=" + databaseURL,
		"--user", fmt.Sprint(user), "--permissions", permissions}, &out, &errOut)
	if code != 0 {
		t.Fatalf("cloudmeter keys create: exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(key, fmt.Sprint(user)+":") {
		t.Fatalf("cloudmeter keys create: last line %q is not a key of user %d", key, user)
	}
	return key
}

// Response is a complete HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value (numbers as json.Number), failing the test
// if it is not JSON.
func (r *Response) JSON(t testing.TB) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(r.Body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("response body is not JSON: %v\n%s", err, r.Body)
	}
	return v
}

// Object decodes the body as a JSON object.
func (r *Response) Object(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.JSON(t).(map[string]any)
	if !ok {
		t.Fatalf("response body is not a JSON object:\n%s", r.Body)
	}
	return m
}

// Do sends a request. key, when not empty, is sent as "Authorization: Bearer key";
// contentType, when not empty, as the Content-Type. A 5xx answer fails the test.
func (s *Server) Do(t testing.TB, method, path, key, contentType string, body []byte) *Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return s.Send(t, req)
}

// Send sends a prepared request (its URL must be absolute). A 5xx answer fails the test.
func (s *Server) Send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode >= 500 {
		t.Errorf("%s %s: status %d (never a 5xx for a client request): %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// RPC posts a JSON-RPC body to the MetalSoft-compatible endpoint with no Content-Type
// (as curl -d does not set a JSON one) and key as the Bearer key (none when empty). The
// answer must be HTTP 200 with a JSON body, and no call may be answered -32603.
func (s *Server) RPC(t testing.TB, key, body string) *Response {
	t.Helper()
	r := s.Do(t, http.MethodPost, RPCPath, key, "", []byte(body))
	if r.Status != http.StatusOK {
		t.Fatalf("JSON-RPC answered HTTP %d, want 200: %s", r.Status, r.Body)
	}
	if bytes.Contains(r.Body, []byte(`"code":-32603`)) {
		t.Errorf("JSON-RPC internal error for %s: %s", body, r.Body)
	}
	return r
}

// MustStatus fails the test unless r has the status want.
func MustStatus(t testing.TB, r *Response, want int, what string) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, want, r.Body)
	}
}

// PutPrices replaces the price book (as the admin) and fails the test unless it is
// accepted.
func (s *Server) PutPrices(t testing.TB, book []byte) {
	t.Helper()
	r := s.Do(t, http.MethodPut, "/api/v1/prices", s.AdminKey, "application/json", book)
	MustStatus(t, r, http.StatusOK, "PUT /api/v1/prices")
}

// PostEvents sends a batch of events (as the admin) and fails the test unless it is
// accepted; it returns the decoded answer.
func (s *Server) PostEvents(t testing.TB, batch []byte) IngestResult {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/events", s.AdminKey, CTBatch, batch)
	MustStatus(t, r, http.StatusOK, "POST /api/v1/events")
	var res IngestResult
	if err := json.Unmarshal(r.Body, &res); err != nil {
		t.Fatalf("POST /api/v1/events: answer is not an ingest result: %v: %s", err, r.Body)
	}
	return res
}

// IngestResult is the answer to an accepted batch.
type IngestResult struct {
	Accepted      int `json:"accepted"`
	Duplicates    int `json:"duplicates"`
	RatedProducts int `json:"rated_products"`
}

// LoadSeed loads the seed example: demo.SeedPrices with PUT /api/v1/prices and
// demo.SeedEvents with POST /api/v1/events.
func (s *Server) LoadSeed(t testing.TB) {
	t.Helper()
	s.PutPrices(t, demo.SeedPrices)
	res := s.PostEvents(t, demo.SeedEvents)
	if res.Accepted != 12 || res.Duplicates != 0 {
		t.Fatalf("seed events: accepted %d, duplicates %d; want 12 and 0", res.Accepted, res.Duplicates)
	}
}

// CreateKey makes a key through POST /api/v1/keys (as the admin) and returns it.
func (s *Server) CreateKey(t testing.TB, user int64, permissions ...string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"user_id": user, "permissions": permissions, "label": "e2e"})
	r := s.Do(t, http.MethodPost, "/api/v1/keys", s.AdminKey, "application/json", body)
	MustStatus(t, r, http.StatusCreated, "POST /api/v1/keys")
	var out struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.Key == "" {
		t.Fatalf("POST /api/v1/keys: no key in the answer: %s", r.Body)
	}
	return out.Key
}

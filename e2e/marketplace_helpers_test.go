package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/server"
)

// The marketplace's tests run the server with its clock pinned to mpNow, a few minutes
// after Vercel's SDK made the requests of testdata/marketplace/vercel-sdk/ (copied from
// the shared wire captures), so that their dates pass the 24-hour rules whatever the day
// the tests run.
var mpNow = time.Date(2026, 12, 1, 12, 35, 0, 0, time.UTC)

// mpEnv is a server with three installations made through the native API: the main one
// (user 7, USD), another of user 8 (EUR) and a third of user 7 (GBP).
type mpEnv struct {
	*e2etest.Server
	ID, Token           string
	OtherID, OtherToken string
	ThirdID, ThirdToken string
}

func startMarketplace(t *testing.T, eng e2etest.Engine) *mpEnv {
	t.Helper()
	srv := e2etest.StartServerWith(t, eng, server.Config{Now: func() time.Time { return mpNow }})
	e := &mpEnv{Server: srv}
	e.ID, e.Token = createInstallation(t, srv, "GPU Co", 7, "USD")
	e.OtherID, e.OtherToken = createInstallation(t, srv, "DB Co", 8, "EUR")
	e.ThirdID, e.ThirdToken = createInstallation(t, srv, "CDN Co", 7, "GBP")
	return e
}

// createInstallation makes an installation with POST /api/v1/installations (as the
// admin) and returns its id and access token.
func createInstallation(t *testing.T, srv *e2etest.Server, partner string, user int64, currency string) (string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"partner": partner, "user_id": user, "currency": currency})
	r := srv.Do(t, http.MethodPost, "/api/v1/installations", srv.AdminKey, "application/json", body)
	e2etest.MustStatus(t, r, http.StatusCreated, "POST /api/v1/installations")
	var in struct {
		ID          string `json:"id"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil || in.ID == "" || in.AccessToken == "" {
		t.Fatalf("POST /api/v1/installations: %s (%v)", r.Body, err)
	}
	return in.ID, in.AccessToken
}

// mpRequest sends a request to the marketplace API with token as the Bearer token (none
// when empty) and a JSON body (none when body is nil).
func (e *mpEnv) mpRequest(t *testing.T, method, path, token string, body []byte) *e2etest.Response {
	t.Helper()
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return e.Do(t, method, path, token, ct, body)
}

// normalize replaces the random ids of an answer with fixed names, for golden files.
func (e *mpEnv) normalize(b []byte, invoiceIDs ...string) []byte {
	s := string(b)
	for id, name := range map[string]string{e.ID: "icfg_MAIN", e.OtherID: "icfg_OTHER", e.ThirdID: "icfg_THIRD"} {
		if id != "" {
			s = strings.ReplaceAll(s, id, name)
		}
	}
	for i, id := range invoiceIDs {
		if id != "" {
			s = strings.ReplaceAll(s, id, "inv_"+string(rune('A'+i)))
		}
	}
	return []byte(s)
}

// mpGolden compares an answer's body (ids normalized) with testdata/marketplace/name.golden.
func (e *mpEnv) mpGolden(t *testing.T, name string, r *e2etest.Response, invoiceIDs ...string) {
	t.Helper()
	if len(r.Body) > 0 && r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", name, r.Header.Get("Content-Type"))
	}
	testutil.Golden(t, filepath.Join("testdata", "marketplace", name+".golden"), e.normalize(r.Body, invoiceIDs...))
}

// capture is one request of Vercel's SDK as it arrived at a server.
type capture struct {
	Method  string      `json:"method"`
	RawPath string      `json:"raw_path"`
	Headers [][2]string `json:"headers"`
	BodyRaw string      `json:"body_raw"`
}

func loadCaptures(t *testing.T) []capture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "marketplace", "vercel-sdk", "*.json"))
	if err != nil || len(files) != 8 {
		t.Fatalf("the SDK's requests: %v, %v", files, err)
	}
	var out []capture
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c capture
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// replay sends a captured request as it arrived: method, raw path, headers in their own
// case and order, body byte for byte; the installation id, its token and the invoice id
// of the capture are replaced by the test's.
func (e *mpEnv) replay(t *testing.T, c capture, invoiceID string) *e2etest.Response {
	t.Helper()
	path := strings.ReplaceAll(c.RawPath, "icfg_cloudmeter_test", e.ID)
	path = strings.ReplaceAll(path, "inv_stub_0001", invoiceID)
	var body *bytes.Reader
	if c.BodyRaw != "" {
		body = bytes.NewReader([]byte(c.BodyRaw))
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequest(c.Method, e.URL+path, body)
	} else {
		req, err = http.NewRequest(c.Method, e.URL+path, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range c.Headers {
		name, value := h[0], h[1]
		switch {
		case strings.EqualFold(name, "host"), strings.EqualFold(name, "content-length"), strings.EqualFold(name, "connection"):
			continue // the client's own
		case strings.EqualFold(name, "authorization"):
			value = strings.Replace(value, "secret-token", e.Token, 1)
		}
		req.Header[name] = append(req.Header[name], value) // the name as sent, not canonicalized
	}
	return e.Send(t, req)
}

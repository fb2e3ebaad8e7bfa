package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/dashboard"
	"github.com/cloudmeter/cloudmeter/httpapi"
	"github.com/cloudmeter/cloudmeter/hyperstack"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/marketplace"
	"github.com/cloudmeter/cloudmeter/server"
	"github.com/cloudmeter/cloudmeter/service"
)

// shape is an API's error shape, as a check of one answer's body.
type shape struct {
	name  string
	check func(body []byte) error
}

// nativeShape is {"error":{"code":"...","message":"..."}}.
var nativeShape = shape{"native", func(body []byte) error {
	var v struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := strictJSON(body, &v); err != nil {
		return err
	}
	if v.Error == nil || v.Error.Code == "" || v.Error.Message == "" {
		return errShape("error.code and error.message must be non-empty strings")
	}
	return nil
}}

// rpcShape is a JSON-RPC 2.0 error object: {"error":{"code":N,"message":"..."},"jsonrpc":"2.0","id":null}.
var rpcShape = shape{"JSON-RPC", func(body []byte) error {
	var v struct {
		Error *struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
	}
	if err := strictJSON(body, &v); err != nil {
		return err
	}
	if v.Error == nil || v.Error.Code == nil || v.Error.Message == "" || v.JSONRPC != "2.0" || len(v.ID) == 0 {
		return errShape(`want {"error":{"code":N,"message":"..."},"jsonrpc":"2.0","id":...}`)
	}
	return nil
}}

// hyperstackShape is {"status":false,"message":"...","error_reason":"..."}, with one of
// Hyperstack's reasons.
var hyperstackShape = shape{"Hyperstack", func(body []byte) error {
	var v struct {
		Status      *bool  `json:"status"`
		Message     string `json:"message"`
		ErrorReason string `json:"error_reason"`
	}
	if err := strictJSON(body, &v); err != nil {
		return err
	}
	if v.Status == nil || *v.Status || v.Message == "" {
		return errShape(`want {"status":false,"message":"...","error_reason":"..."}`)
	}
	switch v.ErrorReason {
	case "bad_request", "unauthorized", "forbidden", "not_found":
		return nil
	}
	return errShape("error_reason " + v.ErrorReason + " is not bad_request, unauthorized, forbidden or not_found")
}}

// htmlShape is the web dashboard's error page: HTML with the status in its heading.
var htmlShape = shape{"dashboard HTML", func(body []byte) error {
	if !bytes.HasPrefix(body, []byte("<!doctype html>")) || !bytes.Contains(body, []byte(`<p data-error>`)) {
		return errShape("want an HTML error page with <p data-error>")
	}
	return nil
}}

type errShape string

func (e errShape) Error() string { return string(e) }

func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// startRouter serves the assembled router on a loopback port over a fresh SQLite store.
func startRouter(t *testing.T) (*server.Router, string) {
	t.Helper()
	st, err := storeopen.Open(context.Background(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	router := server.NewRouter(server.Surfaces{
		Service: service.New(st, service.Options{}),
		Logger:  slog.New(slog.DiscardHandler),
		Ready:   st.Ping,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
	})
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return router, srv.URL
}

// contentTypeOf is the Content-Type of the error answers of the surface that serves path.
func contentTypeOf(path string) string {
	if strings.HasPrefix(path, dashboard.Prefix) {
		return "text/html; charset=utf-8"
	}
	return "application/json"
}

// shapeOf says which surface answers path, by its prefix.
func shapeOf(path string) shape {
	if strings.HasPrefix(path, "/api/developer/") {
		return rpcShape
	}
	if strings.HasPrefix(path, hyperstack.Prefix) || path == hyperstack.PricebookPath {
		return hyperstackShape
	}
	if strings.HasPrefix(path, marketplace.Prefix) {
		return nativeShape // the marketplace's error shape is the native one
	}
	if strings.HasPrefix(path, dashboard.Prefix) {
		return htmlShape
	}
	return nativeShape
}

// TestUnknownRoutesInOwnShape sends an unknown path under each surface's prefix and a
// wrong method to each route of the assembled router, and checks each answer is a 404 or
// 405 in that surface's own error shape, as JSON.
func TestUnknownRoutesInOwnShape(t *testing.T) {
	router, base := startRouter(t)
	check := func(t *testing.T, method, path string, wantStatus int, want shape) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Errorf("%s %s: status %d, want %d (%s)", method, path, resp.StatusCode, wantStatus, body)
		}
		if ct, want := resp.Header.Get("Content-Type"), contentTypeOf(path); ct != want {
			t.Errorf("%s %s: Content-Type %q, want %s", method, path, ct, want)
		}
		if method != http.MethodHead {
			if err := want.check(body); err != nil {
				t.Errorf("%s %s: not in the %s error shape: %v: %s", method, path, want.name, err, body)
			}
		}
		if wantStatus == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without an Allow header", method, path)
		}
	}
	t.Run("UnknownPath", func(t *testing.T) {
		for _, path := range []string{httpapi.Prefix + "no-such-route", httpapi.Prefix + "events/extra", "/api/developer/no-such-endpoint",
			"/api/developer/developer/extra", "/no-such-route", "/v1/billing/no-such-route", "/v1/billing/billing/usage/extra",
			"/v1/billing/billing/history/virtual-machine/1/nothing", "/v1/pricebook/extra", "/v1/installations/x", "/v1/installations/icfg_x/billing/nothing", "/ui/no-such-page", "/ui/users/1/nothing", "/"} {
			check(t, http.MethodGet, path, http.StatusNotFound, shapeOf(path))
		}
	})
	t.Run("WrongMethod", func(t *testing.T) {
		routes := router.Routes()
		if len(routes) < 14 {
			t.Fatalf("the router lists %d routes: %v", len(routes), routes)
		}
		for _, rt := range routes {
			method, path, _ := strings.Cut(rt, " ")
			path = strings.NewReplacer("{product_id}", "7", "{user_id}", "1", "{id}", "k1", "{invoiceId}", "inv_1", "{resourceId}", "r1", "{$}", "").Replace(path)
			wrong := http.MethodPatch
			if method == http.MethodPatch {
				wrong = http.MethodPut
			}
			check(t, wrong, path, http.StatusMethodNotAllowed, shapeOf(path))
		}
	})
}

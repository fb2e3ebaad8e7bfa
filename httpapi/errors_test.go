package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter"
)

// TestEveryKindIsMapped checks the native error table maps every kind, and that only the
// internal kind answers 500: a client must tell "retry later" (503) from "a bug".
func TestEveryKindIsMapped(t *testing.T) {
	for _, k := range cloudmeter.Kinds() {
		m, ok := errorTable[k]
		if !ok {
			t.Errorf("kind %s has no native mapping", k)
			continue
		}
		if (m.Status == http.StatusInternalServerError) != (k == cloudmeter.KindInternal) {
			t.Errorf("kind %s answers %d", k, m.Status)
		}
		if m.Code == "" {
			t.Errorf("kind %s has no error code", k)
		}
	}
	if len(errorTable) != len(cloudmeter.Kinds()) {
		t.Errorf("the table maps %d kinds, cloudmeter declares %d", len(errorTable), len(cloudmeter.Kinds()))
	}
	if got := mappingOf(errors.New("disk on fire")); got.Status != http.StatusInternalServerError || got.Code != "internal" {
		t.Errorf("a plain error maps to %+v, want the internal mapping", got)
	}
}

// TestDispatchPanic checks a panic in a route is answered like any internal error: 500
// in the native shape, no detail for the client, the cause in the log.
func TestDispatchPanic(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("secret detail") })
	rec := httptest.NewRecorder()
	Dispatch(mux, log).ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q, want 500 application/json", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != "internal" || body.Error.Message != "internal error" {
		t.Errorf("body %s (%v), want the native internal error", rec.Body.String(), err)
	}
	if strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("the panic value reached the client: %s", rec.Body.String())
	}
	if !strings.Contains(logged.String(), "secret detail") {
		t.Errorf("the panic is not logged: %q", logged.String())
	}
}

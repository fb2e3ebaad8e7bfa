package hyperstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloudmeter/cloudmeter"
)

// allowed are the statuses an error may be answered with: those Hyperstack's generated
// client decodes, and 429 (the rate limit, and an unavailable database).
var allowed = map[int][]string{
	http.StatusBadRequest:      {ReasonBadRequest},
	http.StatusUnauthorized:    {ReasonUnauthorized},
	http.StatusForbidden:       {ReasonForbidden},
	http.StatusNotFound:        {ReasonNotFound},
	http.StatusTooManyRequests: {ReasonTooManyRequests},
}

// TestEveryKindIsMapped checks every kind (and every kind with every subject) has an
// answer, with a status and reason Hyperstack's client can take.
func TestEveryKindIsMapped(t *testing.T) {
	for _, k := range cloudmeter.Kinds() {
		if _, ok := errorTable[k]; !ok {
			t.Errorf("kind %s has no Hyperstack answer", k)
		}
		for _, s := range cloudmeter.Subjects() {
			m := mappingOf(cloudmeter.Errorf(k, "x").About(s))
			reasons, ok := allowed[m.Status]
			if !ok || reasons[0] != m.Reason {
				t.Errorf("kind %s about %q answers %d %q", k, s, m.Status, m.Reason)
			}
		}
	}
	if len(errorTable) != len(cloudmeter.Kinds()) {
		t.Errorf("the table maps %d kinds, cloudmeter declares %d", len(errorTable), len(cloudmeter.Kinds()))
	}
}

func TestErrorAnswers(t *testing.T) {
	for _, c := range []struct {
		name       string
		err        error
		status     int
		reason     string
		message    string
		retryAfter string
	}{
		{"Invalid", cloudmeter.Errorf(cloudmeter.KindInvalid, "start_date: bad"), 400, "bad_request", "start_date: bad", ""},
		{"NotFound", cloudmeter.Errorf(cloudmeter.KindNotFound, "virtual machine 1 not found"), 404, "not_found", "virtual machine 1 not found", ""},
		{"NoKey", cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "no key"), 401, "unauthorized", "no key", ""},
		{"Forbidden", cloudmeter.Errorf(cloudmeter.KindForbidden, "no"), 403, "forbidden", "no", ""},
		{"TooLarge", cloudmeter.Errorf(cloudmeter.KindTooLarge, "too many records"), 400, "bad_request", "too many records", ""},
		{"Conflict", cloudmeter.Errorf(cloudmeter.KindConflict, "conflict"), 400, "bad_request", "conflict", ""},
		{"Unavailable", cloudmeter.Errorf(cloudmeter.KindUnavailable, "database unavailable"), 429, "too_many_requests",
			"database unavailable: the service is unavailable for a moment, retry after 5 seconds", "5"},
		{"Deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 429, "too_many_requests",
			"the request was cancelled or timed out: the service is unavailable for a moment, retry after 5 seconds", "5"},
		{"Internal", errors.New("disk on fire"), 400, "bad_request", "internal error", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(nil, rec, httptest.NewRequest("GET", "/v1/billing/billing/usage", nil), c.err)
			if rec.Code != c.status {
				t.Errorf("status %d, want %d", rec.Code, c.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, c.retryAfter)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"status": false, "message": c.message, "error_reason": c.reason}
			if fmt.Sprint(body) != fmt.Sprint(want) {
				t.Errorf("body %v, want %v", body, want)
			}
		})
	}
}

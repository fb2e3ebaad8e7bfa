package marketplace

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

// TestEveryKindIsMapped checks every kind, and every kind with every subject, has an
// answer with a status and a code, and that only an uninstalled installation is 410.
func TestEveryKindIsMapped(t *testing.T) {
	for _, k := range cloudmeter.Kinds() {
		if _, ok := errorTable[k]; !ok {
			t.Errorf("kind %s has no marketplace answer", k)
		}
		for _, s := range cloudmeter.Subjects() {
			m := mappingOf(cloudmeter.Errorf(k, "x").About(s))
			if m.Status < 400 || m.Status > 599 || m.Code == "" {
				t.Errorf("kind %s about %q answers %d %q", k, s, m.Status, m.Code)
			}
			if (m.Status == http.StatusGone) != (k == cloudmeter.KindNotFound && s == cloudmeter.SubjectUninstalled) {
				t.Errorf("kind %s about %q answers %d", k, s, m.Status)
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
		code       string
		message    string
		retryAfter string
	}{
		{"Invalid", cloudmeter.Errorf(cloudmeter.KindInvalid, "eod: bad"), 400, "bad_request", "eod: bad", ""},
		{"NoToken", cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "no token"), 401, "unauthorized", "no token", ""},
		{"OtherInstallation", cloudmeter.Errorf(cloudmeter.KindForbidden, "no"), 403, "forbidden", "no", ""},
		{"UnknownInstallation", cloudmeter.Errorf(cloudmeter.KindNotFound, "installation x not found").About(cloudmeter.SubjectInstallation),
			404, "not_found", "installation x not found", ""},
		{"Uninstalled", cloudmeter.Errorf(cloudmeter.KindNotFound, "uninstalled").About(cloudmeter.SubjectUninstalled), 410, "gone", "uninstalled", ""},
		{"ExternalID", cloudmeter.Errorf(cloudmeter.KindConflict, "externalId: taken"), 409, "conflict", "externalId: taken", ""},
		{"TooLarge", cloudmeter.Errorf(cloudmeter.KindTooLarge, "too large"), 413, "payload_too_large", "too large", ""},
		{"Unavailable", cloudmeter.Errorf(cloudmeter.KindUnavailable, "database unavailable"), 503, "service_unavailable", "database unavailable", "5"},
		{"Deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "service_unavailable", "the request was cancelled or timed out", "5"},
		{"Internal", errors.New("disk on fire"), 500, "internal_error", "internal error", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(nil, rec, httptest.NewRequest("POST", "/v1/installations/icfg_x/billing", nil), c.err)
			if rec.Code != c.status {
				t.Errorf("status %d, want %d", rec.Code, c.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := rec.Header().Get("Retry-After"); got != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, c.retryAfter)
			}
			var body ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != c.code || body.Error.Message != c.message {
				t.Errorf("body %+v, want code %q message %q", body, c.code, c.message)
			}
		})
	}
}

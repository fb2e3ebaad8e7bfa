package dashboard

import (
	"errors"
	"net/http"
	"testing"

	"github.com/cloudmeter/cloudmeter"
)

// TestEveryKindIsMapped checks every kind, with every subject, has an answer with a
// client or server error status, and internal causes are never shown.
func TestEveryKindIsMapped(t *testing.T) {
	for _, k := range cloudmeter.Kinds() {
		if _, ok := errorTable[k]; !ok {
			t.Errorf("kind %s has no answer", k)
		}
		for _, s := range cloudmeter.Subjects() {
			m := mappingOf(cloudmeter.Errorf(k, "x").About(s))
			if m.Status < 400 || m.Heading == "" {
				t.Errorf("kind %s about %q answers %d %q", k, s, m.Status, m.Heading)
			}
			if (m.Status >= 500) != (k == cloudmeter.KindInternal || k == cloudmeter.KindUnavailable) {
				t.Errorf("kind %s answers %d: only internal and unavailable are the server's errors", k, m.Status)
			}
		}
	}
	if len(errorTable) != len(cloudmeter.Kinds()) {
		t.Errorf("the table maps %d kinds, cloudmeter declares %d", len(errorTable), len(cloudmeter.Kinds()))
	}
	if got := mappingOf(errors.New("disk on fire")); got.Status != http.StatusInternalServerError {
		t.Errorf("a plain error answers %d, want 500", got.Status)
	}
	if got := messageOf(cloudmeter.Internal(errors.New("disk on fire"))); got == "disk on fire" {
		t.Errorf("an internal cause is shown: %q", got)
	}
	if got := messageOf(cloudmeter.Errorf(cloudmeter.KindForbidden, "this API key may read only user 1's reports")); got != "this API key may read only user 1's reports" {
		t.Errorf("the service's message is not shown as it is: %q", got)
	}
}

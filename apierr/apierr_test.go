package apierr_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/apierr"
)

// allKinds lists every kind package cloudmeter declares.
var allKinds = []cloudmeter.Kind{
	cloudmeter.KindInternal, cloudmeter.KindInvalid, cloudmeter.KindTypeMismatch, cloudmeter.KindTimestampInvalid,
	cloudmeter.KindWindowTooLong, cloudmeter.KindTooLarge, cloudmeter.KindNotFound, cloudmeter.KindUserNotFound,
	cloudmeter.KindInfrastructureNotFound, cloudmeter.KindDatacenterNotFound, cloudmeter.KindConflict,
	cloudmeter.KindUnauthenticated, cloudmeter.KindKeyNotFound, cloudmeter.KindForbidden, cloudmeter.KindUnavailable,
}

func TestEveryKindIsMapped(t *testing.T) {
	mapped := apierr.Kinds()
	for _, k := range allKinds {
		if !slices.Contains(mapped, k) {
			t.Errorf("kind %s has no mapping", k)
		}
	}
	if len(mapped) != len(allKinds) {
		t.Errorf("apierr maps %d kinds, this test knows %d: add the new kind to allKinds", len(mapped), len(allKinds))
	}
}

// TestOnlyInternalIsInternal checks that -32603 and 500 mean a bug and nothing else:
// a client must be able to tell "retry later" from "report a bug".
func TestOnlyInternalIsInternal(t *testing.T) {
	for _, k := range allKinds {
		m := apierr.For(cloudmeter.Errorf(k, "x"))
		internal := k == cloudmeter.KindInternal
		if (m.RPCCode == -32603) != internal || (m.HTTPStatus == http.StatusInternalServerError) != internal {
			t.Errorf("%s maps to HTTP %d and JSON-RPC %d", k, m.HTTPStatus, m.RPCCode)
		}
	}
}

func TestUnavailable(t *testing.T) {
	err := fmt.Errorf("report: %w", &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the database cannot be reached",
		Err: errors.New("connection refused")})
	want := apierr.Mapping{HTTPStatus: http.StatusServiceUnavailable, RPCCode: apierr.RPCUnavailable, Reason: "unavailable"}
	if got := apierr.For(err); got != want {
		t.Errorf("For(unavailable) = %+v, want %+v", got, want)
	}
	if apierr.RPCUnavailable != -32000 {
		t.Errorf("RPCUnavailable = %d, want -32000 (documented in openapi.yaml and docs/api.md)", apierr.RPCUnavailable)
	}
}

func TestUnknownErrorIsInternal(t *testing.T) {
	if got := apierr.For(errors.New("disk on fire")); got.HTTPStatus != http.StatusInternalServerError || got.RPCCode != -32603 || got.Reason != "internal" {
		t.Errorf("For(plain error) = %+v, want the internal mapping", got)
	}
}

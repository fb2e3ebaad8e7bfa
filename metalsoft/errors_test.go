package metalsoft

import (
	"errors"
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
)

// TestEveryKindIsMapped checks every kind and every (kind, subject) pair has a code, and
// that only the internal kind answers -32603: a client must be able to tell "retry later"
// from "report a bug".
func TestEveryKindIsMapped(t *testing.T) {
	for _, k := range cloudmeter.Kinds() {
		if _, ok := kindCodes[k]; !ok {
			t.Errorf("kind %s has no MetalSoft code", k)
		}
		for _, s := range cloudmeter.Subjects() {
			code := ErrorCode(cloudmeter.Errorf(k, "x").About(s))
			if (code == jsonrpc.CodeInternalError) != (k == cloudmeter.KindInternal) {
				t.Errorf("kind %s about %q answers %d", k, s, code)
			}
		}
	}
	if len(kindCodes) != len(cloudmeter.Kinds()) {
		t.Errorf("the table maps %d kinds, cloudmeter declares %d", len(kindCodes), len(cloudmeter.Kinds()))
	}
}

func TestErrorCodes(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"NoKey", cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "x"), 73},
		{"UnknownKey", cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "x").About(cloudmeter.SubjectAPIKey), 322},
		{"SignedRequestExpired", cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "x").About(cloudmeter.SubjectTimestamp), 149},
		{"Forbidden", cloudmeter.Errorf(cloudmeter.KindForbidden, "x"), 71},
		{"UserNotFound", cloudmeter.Errorf(cloudmeter.KindNotFound, "x").About(cloudmeter.SubjectUser), 42},
		{"InfrastructureNotFound", cloudmeter.Errorf(cloudmeter.KindNotFound, "x").About(cloudmeter.SubjectInfrastructure), 152},
		{"DatacenterNotFound", cloudmeter.Errorf(cloudmeter.KindNotFound, "x").About(cloudmeter.SubjectDatacenter), 269},
		{"Invalid", cloudmeter.Errorf(cloudmeter.KindInvalid, "x"), 143},
		{"Timestamp", cloudmeter.Errorf(cloudmeter.KindInvalid, "x").About(cloudmeter.SubjectTimestamp), 149},
		{"WindowTooLong", cloudmeter.Errorf(cloudmeter.KindInvalid, "x").About(cloudmeter.SubjectReportWindow), 220},
		{"TooLarge", cloudmeter.Errorf(cloudmeter.KindTooLarge, "x"), -32600},
		{"Unavailable", cloudmeter.Errorf(cloudmeter.KindUnavailable, "x"), -32000},
		{"PlainError", errors.New("disk on fire"), -32603},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ErrorCode(c.err); got != c.want {
				t.Errorf("ErrorCode = %d, want %d", got, c.want)
			}
		})
	}
}

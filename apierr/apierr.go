// Package apierr is the one table from domain error kinds to what each API surface
// answers: an HTTP status for the native and compatible REST APIs, a MetalSoft error
// code for the JSON-RPC API, and the error reasons of the compatible APIs. Adapters
// look kinds up here; none chooses a status of its own.
package apierr

import (
	"github.com/cloudmeter/cloudmeter"
)

// RPCUnavailable is the JSON-RPC code of KindUnavailable: -32000, the first of the codes
// JSON-RPC 2.0 leaves to the server for its own errors (MetalSoft has none for it). It
// tells a client that the call may succeed when retried, which -32603 does not.
const RPCUnavailable = -32000

// Mapping is what one kind becomes on each surface.
type Mapping struct {
	HTTPStatus int
	// RPCCode is the MetalSoft JSON-RPC error code.
	RPCCode int
	// Reason is the short machine name used in REST error bodies.
	Reason string
}

var table = map[cloudmeter.Kind]Mapping{
	cloudmeter.KindInvalid:                {400, 143, "bad_request"},
	cloudmeter.KindTypeMismatch:           {400, 93, "bad_request"},
	cloudmeter.KindTimestampInvalid:       {400, 149, "bad_request"},
	cloudmeter.KindWindowTooLong:          {400, 220, "bad_request"},
	cloudmeter.KindTooLarge:               {413, -32600, "too_large"},
	cloudmeter.KindNotFound:               {404, 143, "not_found"},
	cloudmeter.KindUserNotFound:           {404, 42, "not_found"},
	cloudmeter.KindInfrastructureNotFound: {404, 152, "not_found"},
	cloudmeter.KindDatacenterNotFound:     {404, 269, "not_found"},
	cloudmeter.KindConflict:               {409, 143, "conflict"},
	cloudmeter.KindUnauthenticated:        {401, 73, "unauthorized"},
	cloudmeter.KindKeyNotFound:            {401, 322, "unauthorized"},
	cloudmeter.KindForbidden:              {403, 71, "forbidden"},
	cloudmeter.KindUnavailable:            {503, RPCUnavailable, "unavailable"},
	cloudmeter.KindInternal:               {500, -32603, "internal"},
}

// For returns the mapping of err's kind.
func For(err error) Mapping {
	m, ok := table[cloudmeter.KindOf(err)]
	if !ok {
		return table[cloudmeter.KindInternal]
	}
	return m
}

// Kinds lists every mapped kind (for tests that check the table is complete).
func Kinds() []cloudmeter.Kind {
	out := make([]cloudmeter.Kind, 0, len(table))
	for k := range table {
		out = append(out, k)
	}
	return out
}

package metalsoft

import (
	"context"
	"errors"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/jsonrpc"
)

// MetalSoft's error codes (DESIGN 3.2), and the JSON-RPC 2.0 ones it answers with.
const (
	CodeNotAuthenticated  = 73
	CodeNotAuthorized     = 71
	CodeAPIKeyNotFound    = 322
	CodeUserNotFound      = 42
	CodeParamTypeMismatch = 93
	CodeParamValueInvalid = 143
	CodeTimestampInvalid  = 149
	CodeReportTooLong     = 220
	CodeInfraNotFound     = 152
	CodeDatacenterUnknown = 269
	// CodeUnavailable is -32000, the first of the codes JSON-RPC 2.0 leaves to the server
	// for its own errors (MetalSoft has none for it). It tells a client that the call may
	// succeed when retried, which -32603 does not.
	CodeUnavailable = -32000
)

// kindCodes is the code of each error kind; subjectCodes refines it where MetalSoft has
// a code of its own for what the error is about.
var kindCodes = map[cloudmeter.Kind]int{
	cloudmeter.KindInvalid:         CodeParamValueInvalid,
	cloudmeter.KindNotFound:        CodeParamValueInvalid,
	cloudmeter.KindConflict:        CodeParamValueInvalid,
	cloudmeter.KindUnauthenticated: CodeNotAuthenticated,
	cloudmeter.KindForbidden:       CodeNotAuthorized,
	cloudmeter.KindTooLarge:        jsonrpc.CodeInvalidRequest,
	cloudmeter.KindUnavailable:     CodeUnavailable,
	cloudmeter.KindInternal:        jsonrpc.CodeInternalError,
}

type kindSubject struct {
	kind    cloudmeter.Kind
	subject cloudmeter.Subject
}

var subjectCodes = map[kindSubject]int{
	{cloudmeter.KindInvalid, cloudmeter.SubjectTimestamp}:       CodeTimestampInvalid,
	{cloudmeter.KindInvalid, cloudmeter.SubjectReportWindow}:    CodeReportTooLong,
	{cloudmeter.KindNotFound, cloudmeter.SubjectUser}:           CodeUserNotFound,
	{cloudmeter.KindNotFound, cloudmeter.SubjectInfrastructure}: CodeInfraNotFound,
	{cloudmeter.KindNotFound, cloudmeter.SubjectDatacenter}:     CodeDatacenterUnknown,
	{cloudmeter.KindNotFound, cloudmeter.SubjectAPIKey}:         CodeAPIKeyNotFound,
	{cloudmeter.KindUnauthenticated, cloudmeter.SubjectAPIKey}:  CodeAPIKeyNotFound,
	// A signed request past its "expires" time.
	{cloudmeter.KindUnauthenticated, cloudmeter.SubjectTimestamp}: CodeTimestampInvalid,
}

// ErrorCode is the MetalSoft error code of err: the code of its kind and subject, else
// of its kind, else the internal error's.
func ErrorCode(err error) int {
	k, s := cloudmeter.KindOf(err), cloudmeter.SubjectOf(err)
	if c, ok := subjectCodes[kindSubject{k, s}]; ok {
		return c
	}
	if c, ok := kindCodes[k]; ok {
		return c
	}
	return jsonrpc.CodeInternalError
}

// typeMismatch is MetalSoft's answer to a parameter of the wrong JSON type: a code the
// domain has no kind for, since only this API decodes its parameters by position.
func typeMismatch(name, want string) error {
	return &jsonrpc.Error{Code: CodeParamTypeMismatch, Message: "parameter " + name + ": must be " + want}
}

// mapError is the JSON-RPC server's ErrorMapper: the code of err's kind and subject, and
// its client-safe message. An internal error is left to the server (nil), which answers
// "internal error" and records it; an unavailable one is answered with its reason and
// recorded as the server's fault too. A context's end that reached no store (a call of
// a batch left unrun at the deadline) is answered as the store answers it: unavailable.
func mapError(err error) (*jsonrpc.Error, bool) {
	if _, ok := errors.AsType[*cloudmeter.Error](err); !ok &&
		(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		err = &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the request was cancelled or timed out", Err: err}
	}
	code := ErrorCode(err)
	if code == jsonrpc.CodeInternalError {
		return nil, true
	}
	return &jsonrpc.Error{Code: code, Message: cloudmeter.MessageOf(err)}, code == CodeUnavailable
}

// valueInvalid is MetalSoft's answer (143) to a string parameter that no valid request
// holds: invalid UTF-8 or a lone surrogate (which decoding would silently replace with
// U+FFFD) or a NUL character.
func valueInvalid(name string) error {
	return cloudmeter.Errorf(cloudmeter.KindInvalid, "parameter %s: must be valid UTF-8 text without NUL characters or lone surrogates", name)
}

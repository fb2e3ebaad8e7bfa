package metalsoft

import (
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

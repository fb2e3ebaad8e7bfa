package marketplace

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// UnavailableRetryAfter is the Retry-After, in seconds, of the answer to a request that
// failed because the database could not be reached.
const UnavailableRetryAfter = 5

// errorMapping is what one error becomes in this API: a status and an error code.
type errorMapping struct {
	Status int
	Code   string
}

// errorTable is this API's error table, by kind. Vercel's SDK takes any status it does
// not expect as a failure and shows the body's error.message, so every refusal is a
// plain HTTP status with a code a program can test.
var errorTable = map[cloudmeter.Kind]errorMapping{
	cloudmeter.KindInvalid:         {http.StatusBadRequest, "bad_request"},
	cloudmeter.KindNotFound:        {http.StatusNotFound, "not_found"},
	cloudmeter.KindConflict:        {http.StatusConflict, "conflict"},
	cloudmeter.KindUnauthenticated: {http.StatusUnauthorized, "unauthorized"},
	cloudmeter.KindForbidden:       {http.StatusForbidden, "forbidden"},
	cloudmeter.KindTooLarge:        {http.StatusRequestEntityTooLarge, "payload_too_large"},
	cloudmeter.KindUnavailable:     {http.StatusServiceUnavailable, "service_unavailable"},
	cloudmeter.KindInternal:        {http.StatusInternalServerError, "internal_error"},
}

// subjectTable holds the answers finer than their kind's.
var subjectTable = map[cloudmeter.Kind]map[cloudmeter.Subject]errorMapping{
	cloudmeter.KindNotFound: {cloudmeter.SubjectUninstalled: {http.StatusGone, "gone"}},
}

// mappingOf returns the answer to err.
func mappingOf(err error) errorMapping {
	err = normalize(err)
	k := cloudmeter.KindOf(err)
	if m, ok := subjectTable[k][cloudmeter.SubjectOf(err)]; ok {
		return m
	}
	if m, ok := errorTable[k]; ok {
		return m
	}
	return errorTable[cloudmeter.KindInternal]
}

// normalize turns the end of a request's context that reached no store into what the
// store would have answered: unavailable.
func normalize(err error) error {
	if _, ok := errors.AsType[*cloudmeter.Error](err); !ok &&
		(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the request was cancelled or timed out", Err: err}
	}
	return err
}

// ErrorBody is the marketplace's error shape: {"error":{"code":"...","message":"..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of an error answer.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers err in the marketplace's error shape with its mapped status. A
// failure of the server's is recorded for the access log (or logged here when the
// request carries no reqinfo); the client sees the kind's message only.
func writeError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	err = normalize(err)
	m := mappingOf(err)
	k := cloudmeter.KindOf(err)
	if (k == cloudmeter.KindInternal || k == cloudmeter.KindUnavailable) && !reqinfo.SetError(r.Context(), err) {
		if log == nil {
			log = slog.Default()
		}
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if k == cloudmeter.KindUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(UnavailableRetryAfter))
	}
	writeJSON(w, m.Status, ErrorBody{Error: ErrorDetail{Code: m.Code, Message: cloudmeter.MessageOf(err)}})
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal_error","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

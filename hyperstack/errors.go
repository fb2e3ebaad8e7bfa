package hyperstack

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// The error reasons of Hyperstack's error body, and the one cloudmeter adds for 429.
const (
	ReasonBadRequest      = "bad_request"
	ReasonUnauthorized    = "unauthorized"
	ReasonForbidden       = "forbidden"
	ReasonNotFound        = "not_found"
	ReasonTooManyRequests = "too_many_requests"
)

// UnavailableRetryAfter is the Retry-After, in seconds, of the answer to a request that
// failed because the database could not be reached.
const UnavailableRetryAfter = 5

// errorMapping is what one error kind becomes in this API: a status and an error_reason.
type errorMapping struct {
	Status int
	Reason string
}

// errorTable is this API's error table. Hyperstack's generated client decodes the error
// body of 400, 401, 403 and 404 only (DESIGN 3.3), so every kind is answered with one of
// them, but two:
//
//   - unavailable (the database cannot be reached, or the request ran out of time): 429
//     with Retry-After, as the rate limit is answered. A retry later may succeed, which
//     429 and Retry-After tell every HTTP client and proxy; a 4xx of the four would tell
//     the client the request itself is wrong and never to retry it, and a 503 is a status
//     the client decodes no better than 429 while the surface allows 429 alone
//     beyond the four.
//   - internal (a bug): 400 with the message "internal error". Retrying does not help, so
//     not 429; the failure is logged with its cause on the access log line.
//
// too_large (a report over --max-report-records) and conflict are client-side limits and
// answered 400 with a message that says what to change.
var errorTable = map[cloudmeter.Kind]errorMapping{
	cloudmeter.KindInvalid:         {http.StatusBadRequest, ReasonBadRequest},
	cloudmeter.KindNotFound:        {http.StatusNotFound, ReasonNotFound},
	cloudmeter.KindConflict:        {http.StatusBadRequest, ReasonBadRequest},
	cloudmeter.KindUnauthenticated: {http.StatusUnauthorized, ReasonUnauthorized},
	cloudmeter.KindForbidden:       {http.StatusForbidden, ReasonForbidden},
	cloudmeter.KindTooLarge:        {http.StatusBadRequest, ReasonBadRequest},
	cloudmeter.KindUnavailable:     {http.StatusTooManyRequests, ReasonTooManyRequests},
	cloudmeter.KindInternal:        {http.StatusBadRequest, ReasonBadRequest},
}

// mappingOf returns the answer to err; errors that are not domain errors are internal,
// but for the end of the request's context, which is the store's unavailability.
func mappingOf(err error) errorMapping {
	if m, ok := errorTable[cloudmeter.KindOf(normalize(err))]; ok {
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

// serverFault reports whether an error is the server's, not the client's: it is then
// recorded for the access log with its cause.
func serverFault(err error) bool {
	k := cloudmeter.KindOf(normalize(err))
	return k == cloudmeter.KindInternal || k == cloudmeter.KindUnavailable
}

// ErrorBody is Hyperstack's error shape.
type ErrorBody struct {
	Status      bool   `json:"status"`
	Message     string `json:"message"`
	ErrorReason string `json:"error_reason"`
}

// writeError answers err in Hyperstack's error shape with its mapped status. A failure
// of the server's is recorded for the access log line (or logged here when the request
// carries no reqinfo); the client sees the kind's message only.
func writeError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	err = normalize(err)
	m := mappingOf(err)
	if serverFault(err) && !reqinfo.SetError(r.Context(), err) {
		if log == nil {
			log = slog.Default()
		}
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	msg := cloudmeter.MessageOf(err)
	if cloudmeter.KindOf(err) == cloudmeter.KindUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(UnavailableRetryAfter))
		msg += ": the service is unavailable for a moment, retry after " + strconv.Itoa(UnavailableRetryAfter) + " seconds"
	}
	writeJSON(w, m.Status, ErrorBody{Status: false, Message: msg, ErrorReason: m.Reason})
}

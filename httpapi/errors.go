package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// errorMapping is what one error kind becomes in the native API: an HTTP status and the
// short machine name of the error body's code.
type errorMapping struct {
	Status int
	Code   string
}

// errorTable is the native API's error table. Subjects do not change the native answer:
// its message names what was not found or is invalid.
var errorTable = map[cloudmeter.Kind]errorMapping{
	cloudmeter.KindInvalid:         {http.StatusBadRequest, "bad_request"},
	cloudmeter.KindNotFound:        {http.StatusNotFound, "not_found"},
	cloudmeter.KindConflict:        {http.StatusConflict, "conflict"},
	cloudmeter.KindUnauthenticated: {http.StatusUnauthorized, "unauthorized"},
	cloudmeter.KindForbidden:       {http.StatusForbidden, "forbidden"},
	cloudmeter.KindTooLarge:        {http.StatusRequestEntityTooLarge, "too_large"},
	cloudmeter.KindUnavailable:     {http.StatusServiceUnavailable, "unavailable"},
	cloudmeter.KindInternal:        {http.StatusInternalServerError, "internal"},
}

// mappingOf returns the native answer to err; unknown errors are internal.
func mappingOf(err error) errorMapping {
	if m, ok := errorTable[cloudmeter.KindOf(err)]; ok {
		return m
	}
	return errorTable[cloudmeter.KindInternal]
}

// errorBody is the native error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// WriteError answers err in the native error shape with its mapped status. Errors of 5xx
// are logged with their cause, once: on the request's access log line when the server
// keeps one (package reqinfo), else here. The client sees only the kind's message ("internal error"
// for anything that is not a domain error). Every native answer of an error, the
// router's own 404 and 405 and a recovered panic included, goes through it.
func WriteError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	m := mappingOf(err)
	if m.Status >= 500 && !reqinfo.SetError(r.Context(), err) {
		if log == nil {
			log = slog.Default()
		}
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	body := errorBody{Error: errorDetail{Code: m.Code, Message: cloudmeter.MessageOf(err)}}
	var ce *cloudmeter.Error
	if errors.As(err, &ce) && m.Status < 500 {
		body.Error.Details = ce.Details
	}
	if r.ContentLength != 0 && m.Status >= 400 && m.Status < 500 {
		// The body may be unread (a refusal comes before it is read): close the
		// connection after the answer instead of reading the rest of a body nobody
		// wants, which a slow or endless client would make last for ever.
		w.Header().Set("Connection", "close")
	}
	if m.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cloudmeter"`)
	}
	WriteJSON(w, m.Status, body)
}

// writeMethodNotAllowed answers a known route asked with another method.
func writeMethodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	WriteJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed",
		Message: r.Method + " " + r.URL.Path + ": method not allowed; allowed: " + allow}})
}

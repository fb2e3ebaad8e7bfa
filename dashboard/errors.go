package dashboard

import (
	"net/http"

	"github.com/cloudmeter/cloudmeter"
)

// mapping is how the dashboard answers an error of one kind: a status and a heading for
// the error page. The message shown is the service's own (never an internal cause).
type mapping struct {
	Status  int
	Heading string
}

// errorTable maps every error kind to its answer (errors_test.go checks it is complete).
var errorTable = map[cloudmeter.Kind]mapping{
	cloudmeter.KindInvalid:         {http.StatusBadRequest, "This request cannot be answered"},
	cloudmeter.KindNotFound:        {http.StatusNotFound, "Not found"},
	cloudmeter.KindConflict:        {http.StatusConflict, "Conflict"},
	cloudmeter.KindUnauthenticated: {http.StatusUnauthorized, "Sign in again"},
	cloudmeter.KindForbidden:       {http.StatusForbidden, "Not allowed with this API key"},
	cloudmeter.KindTooLarge:        {http.StatusRequestEntityTooLarge, "Too large to show"},
	cloudmeter.KindUnavailable:     {http.StatusServiceUnavailable, "The database cannot be reached"},
	cloudmeter.KindInternal:        {http.StatusInternalServerError, "Something went wrong on the server"},
}

// mappingOf returns the answer to err.
func mappingOf(err error) mapping {
	if m, ok := errorTable[cloudmeter.KindOf(err)]; ok {
		return m
	}
	return errorTable[cloudmeter.KindInternal]
}

// messageOf is what the error page says: the service's message, except for internal
// errors, whose detail is logged only.
func messageOf(err error) string {
	if cloudmeter.KindOf(err) == cloudmeter.KindInternal {
		return "internal error: the server logged what happened"
	}
	return cloudmeter.MessageOf(err)
}

package cloudmeter

import (
	"errors"
	"fmt"
)

// Kind says what went wrong in terms a client can act on. Transports map each kind to a
// status code in one table (package apierr); the domain never chooses a status itself.
type Kind string

// The error kinds. The specific "not found" and "invalid" kinds exist because the
// MetalSoft-compatible API gives each of them its own error code.
const (
	KindInternal               Kind = "internal"
	KindInvalid                Kind = "invalid"                  // a value breaks a rule
	KindTypeMismatch           Kind = "type_mismatch"            // a value has the wrong JSON type
	KindTimestampInvalid       Kind = "timestamp_invalid"        // a timestamp does not parse
	KindWindowTooLong          Kind = "window_too_long"          // a report window exceeds the limit
	KindTooLarge               Kind = "too_large"                // a body or batch exceeds a limit
	KindNotFound               Kind = "not_found"                // a generic missing thing
	KindUserNotFound           Kind = "user_not_found"           // no such user
	KindInfrastructureNotFound Kind = "infrastructure_not_found" // no such infrastructure for the user
	KindDatacenterNotFound     Kind = "datacenter_not_found"     // no such datacenter
	KindConflict               Kind = "conflict"                 // a known key with other content
	KindUnauthenticated        Kind = "unauthenticated"          // no credentials were given
	KindKeyNotFound            Kind = "key_not_found"            // the credentials match no live key
	KindForbidden              Kind = "forbidden"                // the key lacks a permission
	KindUnavailable            Kind = "unavailable"              // the store cannot be reached
)

// Error is a domain error: a kind, a message a person can act on, and an optional cause
// that is logged but never shown to clients.
type Error struct {
	Kind    Kind
	Message string
	// Details carries structured detail for the client (for example the list of invalid
	// events of a batch). It must be safe to show.
	Details any
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return string(e.Kind) + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error. Its cause is logged, never shown.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Err: err}
}

// KindOf returns the kind of err: the kind of the first *Error in its chain, or
// KindInternal for any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// MessageOf returns the client-safe message of err: its *Error message, or "internal
// error" for anything that is not a domain error or whose kind is internal.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != KindInternal && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

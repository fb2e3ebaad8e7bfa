package cloudmeter

import (
	"errors"
	"fmt"
)

// Kind says what went wrong in terms a client can act on. It is generic on purpose: each
// API surface maps kinds (and, where its vendor has finer codes, subjects) to its own
// statuses and codes in a table of its own; the domain never chooses a status or a code.
type Kind string

// The error kinds.
const (
	KindInternal        Kind = "internal"        // a bug or an unexpected failure; never shown in detail
	KindInvalid         Kind = "invalid"         // a value breaks a rule
	KindNotFound        Kind = "not_found"       // a named thing does not exist
	KindConflict        Kind = "conflict"        // a known key with other content
	KindUnauthenticated Kind = "unauthenticated" // no credentials, or credentials that match no live key
	KindForbidden       Kind = "forbidden"       // the caller lacks a permission
	KindTooLarge        Kind = "too_large"       // a body or batch exceeds a limit
	KindUnavailable     Kind = "unavailable"     // the store cannot be reached; a retry may succeed
)

// Kinds lists every kind, for tests that check each surface maps them all.
func Kinds() []Kind {
	return []Kind{KindInternal, KindInvalid, KindNotFound, KindConflict, KindUnauthenticated, KindForbidden,
		KindTooLarge, KindUnavailable}
}

// Subject says what an error is about, when a surface may answer it more precisely than
// its kind alone (MetalSoft, for one, has a code for "user not found" and another for
// "infrastructure not found"). Most errors have no subject.
type Subject string

// The subjects.
const (
	SubjectNone           Subject = ""
	SubjectUser           Subject = "user"           // not found: no such user
	SubjectInfrastructure Subject = "infrastructure" // not found: no such infrastructure of the user
	SubjectDatacenter     Subject = "datacenter"     // not found: no such datacenter
	SubjectAPIKey         Subject = "api_key"        // not found or unauthenticated: a key was sent that matches no live key
	SubjectTimestamp      Subject = "timestamp"      // invalid: a timestamp does not parse or is out of range
	SubjectReportWindow   Subject = "report_window"  // invalid: a report window is longer than the limit
)

// Subjects lists every subject, SubjectNone included.
func Subjects() []Subject {
	return []Subject{SubjectNone, SubjectUser, SubjectInfrastructure, SubjectDatacenter, SubjectAPIKey, SubjectTimestamp,
		SubjectReportWindow, SubjectInstallation, SubjectUninstalled}
}

// Error is a domain error: a kind, what it is about, a message a person can act on, and
// an optional cause that is logged but never shown to clients.
type Error struct {
	Kind    Kind
	Subject Subject
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

// About sets what the error is about and returns it.
func (e *Error) About(s Subject) *Error {
	e.Subject = s
	return e
}

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

// SubjectOf returns what err is about: the subject of the first *Error in its chain, or
// SubjectNone.
func SubjectOf(err error) Subject {
	var e *Error
	if errors.As(err, &e) {
		return e.Subject
	}
	return SubjectNone
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

// ProductNotFound is the error for a product that is not there, or that the caller may
// not see: the two answers are the same, so that product ids cannot be probed.
func ProductNotFound(productID int64) *Error {
	return Errorf(KindNotFound, "product %d: no provisioned resource has this product_id", productID)
}

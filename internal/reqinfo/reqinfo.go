// Package reqinfo records what one request did as it goes through the layers (the route
// it matched, the API key it was authenticated with, the server failure it was answered
// with), so that the server can write one
// access log line and label its metrics once the request is answered. It holds no HTTP
// code: the service records the key, each API surface the route.
package reqinfo

import (
	"context"
	"sync"
)

// Info is what is known of a request so far. Its zero value is an unmatched request
// made without a key.
type Info struct {
	mu    sync.Mutex
	route string
	keyID string
	err   error
}

type ctxKey struct{}

// New returns ctx carrying a fresh Info, and the Info.
func New(ctx context.Context) (context.Context, *Info) {
	in := &Info{}
	return context.WithValue(ctx, ctxKey{}, in), in
}

func from(ctx context.Context) *Info {
	in, _ := ctx.Value(ctxKey{}).(*Info)
	return in
}

// SetRoute records the route pattern a request matched (never its raw path, which
// would make metric labels unbounded). It does nothing when ctx carries no Info.
func SetRoute(ctx context.Context, route string) {
	if in := from(ctx); in != nil {
		in.mu.Lock()
		in.route = route
		in.mu.Unlock()
	}
}

// SetKey records the id of the API key a request was authenticated with (the id, never
// the key). It does nothing when ctx carries no Info.
func SetKey(ctx context.Context, keyID string) {
	if in := from(ctx); in != nil {
		in.mu.Lock()
		in.keyID = keyID
		in.mu.Unlock()
	}
}

// SetError records the failure a request was answered with when it is the server's
// (5xx): the access log line then carries it, so a failed request is logged once. It
// reports false when ctx carries no Info, for the caller to log the error itself.
func SetError(ctx context.Context, err error) bool {
	in := from(ctx)
	if in == nil {
		return false
	}
	in.mu.Lock()
	if in.err == nil {
		in.err = err
	}
	in.mu.Unlock()
	return true
}

// Err returns the recorded failure, or nil.
func (in *Info) Err() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.err
}

// Route returns the recorded route, or "unmatched".
func (in *Info) Route() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.route == "" {
		return "unmatched"
	}
	return in.route
}

// KeyID returns the recorded key id, or "" when the request was not authenticated.
func (in *Info) KeyID() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.keyID
}

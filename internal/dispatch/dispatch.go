// Package dispatch serves an API surface's routes from an http.ServeMux and leaves to
// the surface the answers that are no route's: a panic, a path no route matches, and a
// route asked with another method. Each surface gives them in its own error shape; the
// matched route pattern is recorded for the access log and metrics (internal/reqinfo).
package dispatch

import (
	"net/http"
	"runtime/debug"

	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// Answers are a surface's answers to what no route of its mux answers.
type Answers struct {
	// Panic answers a request whose handler panicked with v; stack is where. (A handler
	// that aborts with http.ErrAbortHandler is not answered: the panic goes on.)
	Panic func(w http.ResponseWriter, r *http.Request, v any, stack []byte)
	// MethodNotAllowed answers a path that routes match only with other methods, allow
	// listing them. The Allow header is already set.
	MethodNotAllowed func(w http.ResponseWriter, r *http.Request, allow string)
	// NotFound answers a path no route matches.
	NotFound func(w http.ResponseWriter, r *http.Request)
}

// Handler serves mux's routes, and a's answers for the rest.
func Handler(mux *http.ServeMux, a Answers) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.Panic(w, r, v, debug.Stack())
			}
		}()
		h, pattern := mux.Handler(r)
		if pattern != "" {
			reqinfo.SetRoute(r.Context(), pattern)
			mux.ServeHTTP(w, r)
			return
		}
		// The mux's own answer says whether another method would match, and which.
		probe := &headerProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		if probe.code == http.StatusMethodNotAllowed {
			allow := probe.header.Get("Allow")
			w.Header().Set("Allow", allow)
			a.MethodNotAllowed(w, r, allow)
			return
		}
		a.NotFound(w, r)
	})
}

// headerProbe records what the mux's own 404 or 405 handler would answer.
type headerProbe struct {
	header http.Header
	code   int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.code = code }

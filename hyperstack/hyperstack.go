// Package hyperstack serves cloudmeter's usage and cost through a Hyperstack-compatible
// REST API (seed 002, DESIGN 3.3): the billing family under /v1/billing/ and the price
// book at /v1/pricebook, with the api_key header, Hyperstack's wrapper keys and JSON
// types (timestamps without a zone, money as JSON numbers), its error shape and a
// per-key rate limit. It is a thin adapter over package service: it parses queries,
// calls the service and writes the wire format; it holds no SQL and no rating rule.
//
// A Hyperstack organization is cloudmeter's: each user belongs to one, its own id unless
// an administrator put it in another (service.SetOrganization). A customer's key sees its
// organization's resources and prepaid credit; a key with utilization_reports_read sees
// every organization's.
package hyperstack

import (
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/dispatch"
	"github.com/cloudmeter/cloudmeter/service"
)

// OpenAPI is the OpenAPI 3.1 description of this API, served at /openapi-hyperstack.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Where the API is mounted: Prefix holds the billing family, PricebookPath the price
// book. Hyperstack's clients put /v1 in their base URL.
const (
	Prefix        = "/v1/billing/"
	PricebookPath = "/v1/pricebook"
)

// DefaultRateLimit is the requests a minute one API key may make when Options.RateLimit
// is 0.
const DefaultRateLimit = 500

// RateLimitFlag is the server flag that sets Options.RateLimit.
const RateLimitFlag = "--hyperstack-rate-limit"

// Options configure the API; zero fields take the defaults.
type Options struct {
	// RateLimit is how many requests a minute one API key may make, in a burst or spread
	// out, on this server process (DefaultRateLimit when 0; no limit when negative). A
	// request past it is answered 429 with Retry-After.
	RateLimit int
	// Logger receives a failed request's line when the request carries no reqinfo (in
	// tests); slog.Default() when nil.
	Logger *slog.Logger
	// Now is the rate limiter's clock; time.Now when nil.
	Now func() time.Time
}

type api struct {
	svc     *service.Service
	log     *slog.Logger
	limiter *limiter // nil: no limit
}

type keyHandler func(w http.ResponseWriter, r *http.Request, key cloudmeter.APIKey)

type route struct {
	pattern string
	handle  keyHandler
}

// routes is the API's route table; every route needs a key.
func (a *api) routes() []route {
	const b = "GET " + Prefix + "billing/"
	return []route{
		{b + "usage", a.usage},
		{b + "last-day-cost", a.lastDayCost},
		{b + "history", a.history},
		{b + "history/virtual-machine", a.vmHistory},
		{b + "history/virtual-machine/{id}", a.vmDetails},
		{b + "history/virtual-machine/{id}/graph", a.vmGraph},
		{b + "history/volume", a.volumeHistory},
		{b + "history/volume/{id}", a.volumeDetails},
		{b + "history/volume/{id}/graph", a.volumeGraph},
		{b + "virtual-machine/{id}/billing-events", a.productEvents(vmTypes, "virtual machine")},
		{b + "virtual-machine/{id}/sub-resource/graph", a.vmSubResources},
		{b + "volume/{id}/billing-events", a.productEvents(volumeTypes, "volume")},
		{"GET " + CreditPath, a.credit},
		{"GET " + PricebookPath, a.pricebook},
	}
}

// Routes lists the route patterns Handler serves ("METHOD /path").
func Routes() []string {
	var a api
	var out []string
	for _, rt := range a.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// Handler returns the API for every path under Prefix and for PricebookPath: each route
// authenticates the api_key header (any case) and takes a token of the key's rate limit;
// a path no route matches is answered 404, a route asked with another method 405 (with
// Allow), a panic 400 "internal error" (logged), all in Hyperstack's error shape.
func Handler(svc *service.Service, opts Options) http.Handler {
	a := &api{svc: svc, log: opts.Logger}
	if a.log == nil {
		a.log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.RateLimit == 0:
		a.limiter = newLimiter(DefaultRateLimit, opts.Now)
	case opts.RateLimit > 0:
		a.limiter = newLimiter(opts.RateLimit, opts.Now)
	}
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.HandleFunc(rt.pattern, a.auth(rt.handle))
	}
	return a.dispatch(mux)
}

// dispatch serves mux's routes in this API's shape: it records the matched route for the
// access log and metrics, and answers unknown paths, wrong methods and panics itself.
func (a *api) dispatch(mux *http.ServeMux) http.Handler {
	return dispatch.Handler(mux, dispatch.Answers{
		Panic: func(w http.ResponseWriter, r *http.Request, v any, stack []byte) {
			writeError(a.log, w, r, cloudmeter.Internal(fmt.Errorf("panic in the Hyperstack API: %v\n%s", v, stack)))
		},
		MethodNotAllowed: func(w http.ResponseWriter, r *http.Request, allow string) {
			writeJSON(w, http.StatusMethodNotAllowed, ErrorBody{Message: r.Method + " " + r.URL.Path + ": method not allowed; allowed: " + allow,
				ErrorReason: ReasonBadRequest})
		},
		NotFound: func(w http.ResponseWriter, r *http.Request) {
			writeError(a.log, w, r, cloudmeter.Errorf(cloudmeter.KindNotFound, "%s %s: no such route (see /openapi-hyperstack.yaml)", r.Method, r.URL.Path))
		},
	})
}

// auth reads the api_key header, takes a token of the key's rate limit (before the
// database is asked, so a key past its limit costs nothing), authenticates the key and
// calls h.
func (a *api) auth(h keyHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw := strings.TrimSpace(r.Header.Get("Api_key"))
		if raw == "" {
			a.fail(w, r, cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "not authenticated: send your API key in the api_key header"))
			return
		}
		if a.limiter != nil {
			if ok, wait := a.limiter.allow(service.HashKey(raw)); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(wait))
				writeJSON(w, http.StatusTooManyRequests, ErrorBody{ErrorReason: ReasonTooManyRequests,
					Message: fmt.Sprintf("rate limit exceeded: this API key may make %d requests a minute (%s); retry after %d seconds",
						a.limiter.perMinute, RateLimitFlag, wait)})
				return
			}
		}
		key, err := a.svc.AuthenticateKey(r.Context(), raw)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r, key)
	}
}

func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(a.log, w, r, err)
}

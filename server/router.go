package server

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/dashboard"
	"github.com/cloudmeter/cloudmeter/httpapi"
	"github.com/cloudmeter/cloudmeter/hyperstack"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
	"github.com/cloudmeter/cloudmeter/marketplace"
	"github.com/cloudmeter/cloudmeter/metalsoft"
	"github.com/cloudmeter/cloudmeter/service"
)

// Surfaces is what the router mounts.
type Surfaces struct {
	Service *service.Service
	Logger  *slog.Logger
	Limits  httpapi.Limits
	// MaxRPCBatch bounds the calls of one JSON-RPC batch (metalsoft.DefaultMaxBatchCalls
	// when 0).
	MaxRPCBatch int
	// HyperstackRateLimit is the requests a minute one API key may make of the
	// Hyperstack-compatible API (hyperstack.DefaultRateLimit when 0; none when negative).
	HyperstackRateLimit int
	// Ingested is called after each committed ingest batch.
	Ingested func(cloudmeter.AppendResult)
	// Ready reports whether the server can serve (the database answers).
	Ready func(ctx context.Context) error
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
}

// NewRouter mounts every API surface by its prefix on one ServeMux. Each surface is one
// handler that answers its own unknown routes, wrong methods and panics in its own error
// shape; what no prefix claims is answered by the operations handler in the native
// shape. A new surface is one more line here.
//
//	/api/v1/         the native REST API (package httpapi)
//	/api/developer/  the MetalSoft-compatible JSON-RPC API (package metalsoft)
//	/v1/billing/     the Hyperstack-compatible billing API (package hyperstack),
//	/v1/pricebook    and its price book
//	/v1/installations/ the Vercel-Marketplace-compatible partner API (package marketplace)
//	/ui/             the web dashboard (package dashboard)
//	/                operations: /healthz, /readyz, /metrics, /openapi.yaml,
//	                 /openapi-hyperstack.yaml, /openapi-marketplace.yaml
func NewRouter(s Surfaces) *Router {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle(httpapi.Prefix, httpapi.Handler(s.Service, log, s.Limits, httpapi.Hooks{Ingested: s.Ingested}))
	mux.Handle(metalsoft.Prefix, metalsoft.NewHandler(s.Service, metalsoft.Options{MaxBodyBytes: s.Limits.MaxBodyBytes,
		MaxBatchCalls: s.MaxRPCBatch, Logger: log}))
	hs := hyperstack.Handler(s.Service, hyperstack.Options{RateLimit: s.HyperstackRateLimit, Logger: log})
	mux.Handle(hyperstack.Prefix, hs)
	mux.Handle(hyperstack.PricebookPath, hs)
	mux.Handle(marketplace.Prefix, marketplace.Handler(s.Service, marketplace.Options{MaxBodyBytes: s.Limits.MaxBodyBytes, Logger: log}))
	mux.Handle(dashboard.Prefix, dashboard.Handler(s.Service, dashboard.Options{Logger: log}))
	ops, opsRoutes := operations(s, log)
	mux.Handle("/", ops)
	routes := slices.Concat(httpapi.Routes(), metalsoft.Routes(), hyperstack.Routes(), marketplace.Routes(), dashboard.Routes(), opsRoutes)
	return &Router{Handler: mux, routes: routes}
}

// Router is the assembled router of every surface.
type Router struct {
	http.Handler
	routes []string
}

// Routes lists every route pattern ("METHOD /path") the surfaces serve.
func (r *Router) Routes() []string { return slices.Clone(r.routes) }

// operations serves the endpoints an operator and a load balancer use, and lists their
// route patterns.
func operations(s Surfaces, log *slog.Logger) (http.Handler, []string) {
	mux := http.NewServeMux()
	var routes []string
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, h)
		routes = append(routes, pattern)
	}
	handle("GET /openapi.yaml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(httpapi.OpenAPI)
	}))
	handle("GET /openapi-hyperstack.yaml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(hyperstack.OpenAPI)
	}))
	handle("GET /openapi-marketplace.yaml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(marketplace.OpenAPI)
	}))
	handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	handle("GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := s.Ready(ctx); err != nil {
				reqinfo.SetError(r.Context(), err)
				httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": cloudmeter.MessageOf(err)})
				return
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}))
	if s.Metrics != nil {
		handle("GET /metrics", s.Metrics)
	}
	return httpapi.Dispatch(mux, log), routes
}

// Package server wires cloudmeter together and runs it: it opens the store, builds the
// service and the HTTP surfaces, serves until its context ends, then shuts down
// gracefully (stops accepting, drains in-flight requests within a deadline, closes the
// database). Run is what `cloudmeter serve` calls and what end-to-end tests call on
// port 0 with a temporary data directory.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/httpapi"
	"github.com/cloudmeter/cloudmeter/internal/keyseal"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/service"
)

// Config configures a server.
type Config struct {
	Listen  string
	DataDir string
	// DatabaseURL selects PostgreSQL; empty means SQLite in DataDir.
	DatabaseURL string
	Limits      httpapi.Limits
	// MaxRPCBatch bounds the calls of one JSON-RPC batch (default 100).
	MaxRPCBatch int
	// HyperstackRateLimit is the requests a minute one API key may make of the
	// Hyperstack-compatible API, per server process (500 when 0; none when negative).
	HyperstackRateLimit int
	Service             service.Limits
	// ShutdownTimeout bounds the drain of in-flight requests.
	ShutdownTimeout time.Duration
	// RequestTimeout bounds the work of one request (default 60 s): when the database
	// stops answering without closing its connections, a request fails with 503 after
	// this long instead of waiting for ever. Work cut short is rolled back.
	RequestTimeout time.Duration
	// ReadTimeout bounds the reading of one request, headers and body (default 60 s): a
	// client that sends its body a byte at a time is cut off, not waited for.
	ReadTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that carries no request for this long
	// (default 120 s).
	IdleTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end of its answer
	// (default 2 minutes, and never less than RequestTimeout plus 30 s): a client that
	// reads its answer a byte at a time is cut off.
	WriteTimeout time.Duration
	Logger       *slog.Logger
	// Now is the service's clock (time.Now when nil); tests set it to pin the server's
	// time.
	Now func() time.Time
	// SecretFile holds the server secret that seals the secrets of signing keys
	// (--secret-file); empty: signed requests are refused, Bearer keys work as ever.
	SecretFile string
	// Started, when set, is called with the address the server listens on.
	Started func(addr string)
}

// The server's timeouts; see Config.
const (
	// ReadHeaderTimeout bounds the arrival of a request's headers.
	ReadHeaderTimeout   = 10 * time.Second
	DefaultReadTimeout  = 60 * time.Second
	DefaultIdleTimeout  = 120 * time.Second
	DefaultWriteTimeout = 2 * time.Minute
)

// Run serves until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 15 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	cfg.WriteTimeout = max(cfg.WriteTimeout, cfg.RequestTimeout+30*time.Second)
	store, err := storeopen.Open(ctx, cfg.DataDir, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	var sealer *keyseal.Sealer
	if cfg.SecretFile != "" {
		if sealer, err = keyseal.Load(cfg.SecretFile); err != nil {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%v", err)
		}
	}
	svc := service.New(store, service.Options{Limits: cfg.Service, Logger: log, Now: cfg.Now, Sealer: sealer})

	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cloudmeter_ingest_commits_total",
			Help: "Transactions that stored ingest batches (on SQLite, batches that arrive together share one)."},
			func() float64 { return float64(store.IngestStats().Commits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "cloudmeter_ingest_batches_total",
			Help: "Ingest batches stored; divided by cloudmeter_ingest_commits_total, the batches per commit."},
			func() float64 { return float64(store.IngestStats().Batches) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudmeter_ingest_queued_batches",
			Help: "Ingest batches waiting for the writer (SQLite)."},
			func() float64 { return float64(store.IngestStats().Queued) }),
	)
	router := NewRouter(Surfaces{
		Service:             svc,
		Logger:              log,
		Limits:              cfg.Limits,
		MaxRPCBatch:         cfg.MaxRPCBatch,
		HyperstackRateLimit: cfg.HyperstackRateLimit,
		Ingested: func(res cloudmeter.AppendResult) {
			m.events.WithLabelValues("accepted").Add(float64(res.Accepted))
			m.events.WithLabelValues("duplicate").Add(float64(res.Duplicates))
		},
		Ready:   store.Ping,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return cloudmeter.Errorf(cloudmeter.KindUnavailable, "listen on %s: %v", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           observe(log, m, recoverer(log, withDeadline(cfg.RequestTimeout, router))),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	addr := ln.Addr().String()
	log.Info("cloudmeter serving", "addr", addr, "store", storeopen.Describe(cfg.DataDir, cfg.DatabaseURL))
	if cfg.Started != nil {
		cfg.Started(addr)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// recoverer is the last resort for a panic outside every surface's own handler (each
// surface answers its own panics in its own error shape): a logged 500 in the native
// shape, through the same encoder as every other native error.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				httpapi.WriteError(log, w, r, cloudmeter.Internal(fmt.Errorf("panic: %v\n%s", v, debug.Stack())))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	events   *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudmeter_http_requests_total", Help: "HTTP requests by route and status code."},
			[]string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cloudmeter_http_request_duration_seconds", Help: "HTTP request duration by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudmeter_events_total", Help: "Ingested events by result (accepted, duplicate)."},
			[]string{"result"}),
	}
	reg.MustRegister(m.requests, m.duration, m.events)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// observe writes one access log line per request (method, route pattern, status,
// duration, the id of the key it was authenticated with, and for a server failure its
// error and cause; never the key, a query string or a body) and counts it in the metrics by route pattern (never the raw path, which
// would make label values unbounded).
func observe(log *slog.Logger, m *metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, info := reqinfo.New(r.Context())
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(ctx))
		elapsed := time.Since(start)
		route, code := info.Route(), max(sw.code, 200)
		m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", route), slog.Int("status", code),
			slog.Duration("duration", elapsed), slog.String("key", info.KeyID())}
		level, msg := slog.LevelInfo, "request"
		if code >= 500 {
			level, msg = slog.LevelError, "request failed"
		}
		if err := info.Err(); err != nil {
			level, msg = slog.LevelError, "request failed"
			attrs = append(attrs, slog.Any("err", err))
			if cause := errors.Unwrap(err); cause != nil {
				attrs = append(attrs, slog.Any("cause", cause))
			}
		}
		log.LogAttrs(ctx, level, msg, attrs...)
	})
}

// withDeadline gives every request a context that ends after d.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

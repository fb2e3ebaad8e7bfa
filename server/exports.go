package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudmeter/cloudmeter/export"
	"github.com/cloudmeter/cloudmeter/service"
)

// ExportConfig configures the export worker that serve runs beside the HTTP server.
type ExportConfig struct {
	// Enabled runs the worker: it enqueues each export target's submissions on its
	// schedule and sends the outbox. Any number of instances may run it on one database.
	Enabled bool
	// Poll, Lease, MinBackoff and MaxBackoff: see export.Config (defaults when 0).
	Poll, Lease, MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one attempt to send a delivery (default 30 s).
	Timeout time.Duration
	// Now is the worker's clock (the server's when nil).
	Now func() time.Time
}

// startExports registers the delivery metrics and, when enabled, starts the worker. The
// returned function stops the worker and waits for it: a delivery in flight is finished
// and recorded first.
func startExports(ctx context.Context, server Config, svc *service.Service, reg prometheus.Registerer, log *slog.Logger) (stop func(), err error) {
	cfg := server.Exports
	if cfg.Now == nil {
		cfg.Now = server.Now
	}
	outbox, err := svc.Outbox(service.SystemKey)
	if err != nil {
		return nil, err
	}
	metrics := export.NewMetrics(reg, outbox, cfg.Now)
	if !cfg.Enabled {
		return func() {}, nil
	}
	var client *http.Client
	if cfg.Timeout > 0 {
		client = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: cfg.Timeout}
	}
	w, err := export.New(export.Config{Service: svc, Client: client, Poll: cfg.Poll, Lease: cfg.Lease, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff,
		Now: cfg.Now, Logger: log, Metrics: metrics})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(wctx)
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

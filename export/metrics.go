package export

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudmeter/cloudmeter"
)

// Metrics are the Prometheus metrics of deliveries: attempts by outcome, counted as they
// happen, and the backlog and the age of its oldest delivery, read from the outbox when
// scraped. Labels name targets by ID; no metric holds a token. A nil *Metrics counts
// nothing.
type Metrics struct {
	deliveries *prometheus.CounterVec
	store      cloudmeter.ExportStore
	now        func() time.Time
	backlog    *prometheus.Desc
	oldest     *prometheus.Desc
	failed     *prometheus.Desc
}

// NewMetrics registers the metrics with reg; the backlog is read from store.
func NewMetrics(reg prometheus.Registerer, store cloudmeter.ExportStore, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudmeter_export_deliveries_total",
			Help: "Attempts to send export deliveries by target and result: sent (accepted), failed (refused, not retried), retried (to be sent again)."},
			[]string{"target", "result"}),
		store: store, now: now,
		backlog: prometheus.NewDesc("cloudmeter_export_backlog", "Export deliveries waiting to be sent, by target.", []string{"target"}, nil),
		oldest: prometheus.NewDesc("cloudmeter_export_oldest_pending_age_seconds",
			"Age of the oldest export delivery waiting to be sent, by target (0: none waits).", []string{"target"}, nil),
		failed: prometheus.NewDesc("cloudmeter_export_failed", "Export deliveries the receiver refused (kept, not retried), by target.", []string{"target"}, nil),
	}
	reg.MustRegister(m.deliveries, m)
	return m
}

func (m *Metrics) observe(target string, s cloudmeter.DeliveryState) {
	if m == nil {
		return
	}
	result := "retried"
	switch s {
	case cloudmeter.DeliverySent:
		result = "sent"
	case cloudmeter.DeliveryFailed:
		result = "failed"
	}
	m.deliveries.WithLabelValues(target, result).Inc()
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.backlog
	ch <- m.oldest
	ch <- m.failed
}

// Collect implements prometheus.Collector: the outbox's state now.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sts, err := m.store.ExportStatuses(ctx)
	if err != nil {
		return
	}
	now := m.now().Unix()
	for _, st := range sts {
		age := int64(0)
		if st.OldestPendingAt > 0 {
			age = max(now-st.OldestPendingAt, 0)
		}
		ch <- prometheus.MustNewConstMetric(m.backlog, prometheus.GaugeValue, float64(st.Pending), st.Target.ID)
		ch <- prometheus.MustNewConstMetric(m.oldest, prometheus.GaugeValue, float64(age), st.Target.ID)
		ch <- prometheus.MustNewConstMetric(m.failed, prometheus.GaugeValue, float64(st.Failed), st.Target.ID)
	}
}

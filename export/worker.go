package export

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/service"
)

// Config configures a Worker; zero fields take the defaults.
type Config struct {
	Service *service.Service
	// Client sends the deliveries (default: no proxy, 30 s per request).
	Client *http.Client
	// Owner names this instance in leases (default: random).
	Owner string
	// Lease is how long a claimed delivery is this instance's alone (default 2 minutes):
	// after a crash, another instance (or this one restarted) sends it again after it.
	// It must be longer than a request may take.
	Lease time.Duration
	// Poll is the time between two rounds of the running worker (default 10 s).
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry (default 2 s and 15
	// minutes): it doubles with each failed attempt, with jitter.
	MinBackoff, MaxBackoff time.Duration
	Now                    func() time.Time
	Logger                 *slog.Logger
	Metrics                *Metrics
}

// Worker builds the rounds of the export targets that are due and sends the outbox.
type Worker struct {
	cfg     Config
	store   cloudmeter.ExportStore
	builder Builder
}

// New returns a Worker.
//
// Errors: KindForbidden (never, for the system caller it uses).
func New(cfg Config) (*Worker, error) {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second}
	}
	if cfg.Owner == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Owner = hex.EncodeToString(b[:])
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 10 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 2 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st, err := cfg.Service.Outbox(service.SystemKey)
	if err != nil {
		return nil, err
	}
	return &Worker{cfg: cfg, store: st, builder: Builder{Service: cfg.Service}}, nil
}

// Owner is the name this worker claims deliveries under.
func (w *Worker) Owner() string { return w.cfg.Owner }

// Run runs rounds until ctx ends. A delivery being sent when ctx ends is finished (within
// the client's timeout) and recorded before Run returns, so a shutdown loses nothing
// and leaves no lease held.
func (w *Worker) Run(ctx context.Context) {
	w.cfg.Logger.Info("export worker started", "owner", w.cfg.Owner, "poll", w.cfg.Poll)
	for {
		if _, err := w.Round(ctx, false); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("export round", "err", cloudmeter.MessageOf(err))
		}
		select {
		case <-ctx.Done():
			w.cfg.Logger.Info("export worker stopped", "owner", w.cfg.Owner)
			return
		case <-time.After(w.cfg.Poll):
		}
	}
}

// RoundResult counts what a round did.
type RoundResult struct {
	Enqueued, Sent, Failed, Retried int
}

// Round enqueues the deliveries of every target that is due (every target when force
// is set), then sends every delivery that is due until none is left or ctx ends.
func (w *Worker) Round(ctx context.Context, force bool) (RoundResult, error) {
	var res RoundResult
	n, serr := w.Schedule(ctx, force)
	res.Enqueued = n
	// What is in the outbox is sent even when a target's round could not be built.
	d, err := w.Deliver(ctx)
	res.Sent, res.Failed, res.Retried = d.Sent, d.Failed, d.Retried
	if err == nil {
		err = serr
	}
	return res, err
}

// Schedule enqueues a round of deliveries for each target that is due (each target when
// force is set). Of several instances only one enqueues a target's round: the round is
// stored only if the target's due time is still the one read.
func (w *Worker) Schedule(ctx context.Context, force bool) (int, error) {
	targets, err := w.cfg.Service.ExportTargets(ctx, service.SystemKey)
	if err != nil {
		return 0, err
	}
	enqueued := 0
	var first error // a target that cannot be built does not hold back the others
	for _, t := range targets {
		now := w.cfg.Now()
		if !force && t.NextRunAt > now.Unix() {
			continue
		}
		ds, open, err := w.builder.Round(ctx, t, now)
		if err == nil {
			var ok bool
			if ok, err = w.store.EnqueueDeliveries(ctx, t.ID, t.NextRunAt, now.Unix()+t.Schedule, open, ds); err == nil && ok {
				enqueued += len(ds)
				w.cfg.Logger.Info("export round enqueued", "target", t.ID, "deliveries", len(ds), "period", open)
			}
		}
		if err != nil {
			err = fmt.Errorf("export target %s: %w", t.ID, err)
			w.cfg.Logger.Warn("export round", "target", t.ID, "err", cloudmeter.MessageOf(err))
			if first == nil {
				first = err
			}
		}
	}
	return enqueued, first
}

// Deliver sends every delivery that is due, one claim at a time, until none is left or
// ctx ends.
func (w *Worker) Deliver(ctx context.Context) (RoundResult, error) {
	var res RoundResult
	targets := map[string]cloudmeter.ExportTarget{}
	for ctx.Err() == nil {
		now := w.cfg.Now()
		ds, err := w.store.ClaimDeliveries(ctx, w.cfg.Owner, now.Unix(), now.Add(w.cfg.Lease).Unix(), 8)
		if err != nil {
			return res, err
		}
		if len(ds) == 0 {
			return res, nil
		}
		for i, d := range ds {
			if ctx.Err() != nil {
				// Not started: give the leases back for the next round (or instance).
				for _, rest := range ds[i:] {
					_ = w.store.ReleaseDelivery(context.WithoutCancel(ctx), w.cfg.Owner, rest.TargetID, rest.Seq)
				}
				return res, nil
			}
			t, ok := targets[d.TargetID]
			if !ok {
				if t, err = w.store.ExportTarget(ctx, d.TargetID); err != nil {
					return res, err
				}
				targets[d.TargetID] = t
			}
			o := w.send(context.WithoutCancel(ctx), t, d)
			mine, err := w.store.FinishDelivery(context.WithoutCancel(ctx), w.cfg.Owner, d.TargetID, d.Seq, o)
			if err != nil {
				return res, err
			}
			if !mine {
				w.cfg.Logger.Warn("export delivery: the lease ended before the answer; another attempt will follow", "target", d.TargetID, "seq", d.Seq)
				continue
			}
			w.count(&res, t, d, o)
		}
	}
	return res, nil
}

func (w *Worker) count(res *RoundResult, t cloudmeter.ExportTarget, d cloudmeter.Delivery, o cloudmeter.DeliveryOutcome) {
	log := w.cfg.Logger.With("target", t.ID, "seq", d.Seq, "kind", d.Kind, "period", d.Period, "attempt", d.Attempts+1)
	switch o.State {
	case cloudmeter.DeliverySent:
		res.Sent++
		log.Info("export delivery sent")
	case cloudmeter.DeliveryFailed:
		res.Failed++
		log.Warn("export delivery refused: not retried", "err", o.Error)
	default:
		res.Retried++
		log.Warn("export delivery failed: will retry", "err", o.Error, "next_attempt", cloudmeter.FormatTime(o.NextAttemptAt))
	}
	w.cfg.Metrics.observe(t.ID, o.State)
}

// send makes one attempt and says what became of it. Nothing it returns holds the
// token.
func (w *Worker) send(ctx context.Context, t cloudmeter.ExportTarget, d cloudmeter.Delivery) cloudmeter.DeliveryOutcome {
	token, err := w.cfg.Service.ExportToken(t)
	if err != nil {
		// The operator's set-up, not the receiver: kept pending (nothing is lost) and
		// shown in exports status until a server secret that opens it is given.
		return w.retry(t, d, w.cfg.MaxBackoff, cloudmeter.MessageOf(err))
	}
	t.Token = token
	var body io.Reader = http.NoBody
	if d.Body != nil {
		body = bytes.NewReader(d.Body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(t.URL, "/")+d.Path, body)
	if err != nil {
		return w.failed(t, d, "building the request: "+err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+t.Token.Reveal())
	req.Header.Set("Accept", "application/json")
	if d.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return w.retry(t, d, 0, err.Error())
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	now := w.cfg.Now().Unix()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return cloudmeter.DeliveryOutcome{State: cloudmeter.DeliverySent, At: now}
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return w.retry(t, d, retryAfter(resp.Header.Get("Retry-After"), w.cfg.Now()), statusText(resp.StatusCode, msg))
	default:
		return w.failed(t, d, statusText(resp.StatusCode, msg))
	}
}

func statusText(code int, body []byte) string {
	s := fmt.Sprintf("HTTP %d", code)
	if b := strings.TrimSpace(string(body)); b != "" {
		s += ": " + b
	}
	return s
}

// clean removes the token from a message, wherever it came from.
func clean(t cloudmeter.ExportTarget, msg string) string {
	if tok := t.Token.Reveal(); tok != "" {
		msg = strings.ReplaceAll(msg, tok, "[redacted]")
	}
	return msg
}

func (w *Worker) failed(t cloudmeter.ExportTarget, d cloudmeter.Delivery, msg string) cloudmeter.DeliveryOutcome {
	now := w.cfg.Now().Unix()
	return cloudmeter.DeliveryOutcome{State: cloudmeter.DeliveryFailed, NextAttemptAt: now, Error: clean(t, msg), At: now}
}

// retry leaves a delivery pending: after wait when the receiver said (Retry-After),
// else after the exponential backoff of its attempts, with jitter.
func (w *Worker) retry(t cloudmeter.ExportTarget, d cloudmeter.Delivery, wait time.Duration, msg string) cloudmeter.DeliveryOutcome {
	if wait <= 0 {
		wait = Backoff(d.Attempts+1, w.cfg.MinBackoff, w.cfg.MaxBackoff, mrand.Float64())
	}
	now := w.cfg.Now()
	next := now.Add(wait)
	// Whole seconds: the outbox keeps seconds, and a retry never comes early.
	nextSec := next.Unix()
	if next.Nanosecond() > 0 {
		nextSec++
	}
	return cloudmeter.DeliveryOutcome{State: cloudmeter.DeliveryPending, NextAttemptAt: nextSec, Error: clean(t, msg), At: now.Unix()}
}

// Backoff is the wait before attempt n+1 after n failed attempts: min doubled n-1 times,
// at most max, of which a random part (jitter in [0, 1)) of the upper half is taken, so
// that instances that failed together do not retry together.
func Backoff(n int64, min, max time.Duration, jitter float64) time.Duration {
	d := min
	for i := int64(1); i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + time.Duration(float64(d/2)*jitter)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date (0 when absent or bad).
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return 0
		}
		return min(time.Duration(s)*time.Second, 24*time.Hour)
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), 24*time.Hour)
	}
	return 0
}

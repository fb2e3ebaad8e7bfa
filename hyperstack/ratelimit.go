package hyperstack

import (
	"math"
	"sync"
	"time"
)

// limiter is a token bucket per API key, in this process: each key may make perMinute
// requests in a burst, and one more each 60/perMinute seconds after that. Several
// instances behind a load balancer each keep their own buckets, so a key may make up to
// perMinute requests a minute on each.
type limiter struct {
	mu        sync.Mutex
	perMinute int
	now       func() time.Time
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets is how many buckets are kept before the full ones (keys idle for a minute
// or more) are dropped: a stream of made-up keys cannot grow the map without bound.
const maxBuckets = 10000

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{perMinute: perMinute, now: now, buckets: map[string]*bucket{}}
}

// rate is the refill in tokens per second.
func (l *limiter) rate() float64 { return float64(l.perMinute) / 60 }

// allow takes a token of key's bucket. When there is none it reports false and how long
// until there is one, in whole seconds (at least 1).
func (l *limiter) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(l.perMinute), at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := math.Ceil((1 - b.tokens) / l.rate())
	return false, max(1, int(wait))
}

func (l *limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = min(float64(l.perMinute), b.tokens+d*l.rate())
	}
	b.at = now
}

// sweep drops the buckets that are full again: forgetting them changes nothing.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= float64(l.perMinute) {
			delete(l.buckets, k)
		}
	}
}

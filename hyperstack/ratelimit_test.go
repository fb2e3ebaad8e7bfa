package hyperstack

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(3, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != 20 {
		t.Fatalf("4th request: ok %v, wait %d; want refused, 20 s", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another key is limited by the first")
	}
	now = now.Add(19 * time.Second)
	if ok, wait := l.allow("a"); ok || wait != 1 {
		t.Fatalf("after 19 s: ok %v, wait %d; want refused, 1 s", ok, wait)
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("after 20 s a token is back, yet the request was refused")
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("only one token came back in 20 s")
	}
	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("after an hour, request %d refused: the bucket holds a minute's worth", i+1)
		}
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("an idle hour gave more than a minute's worth")
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiter(60, func() time.Time { return now })
	for i := range maxBuckets {
		l.allow(string(rune(i)))
	}
	// A second later the buckets are not full again: none can be dropped.
	now = now.Add(500 * time.Millisecond)
	l.allow("new")
	if len(l.buckets) != maxBuckets+1 {
		t.Fatalf("%d buckets kept, want %d", len(l.buckets), maxBuckets+1)
	}
	// Once they are full again, the next new key drops them.
	now = now.Add(2 * time.Second)
	l.allow("newer")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept after every key was idle, want 1 (the new one)", len(l.buckets))
	}
}

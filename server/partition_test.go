package server_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/server"
)

// blackhole is a TCP proxy to a database that can stop passing bytes in either
// direction while keeping every connection open: a database behind a network partition,
// or frozen, that neither answers nor refuses.
type blackhole struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cut    bool
	resume chan struct{} // closed when the cut ends
}

func newBlackhole(t *testing.T, target string) *blackhole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{ln: ln, target: target, resume: make(chan struct{})}
	close(b.resume)
	t.Cleanup(func() { ln.Close(); b.setCut(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	return b
}

func (b *blackhole) setCut(cut bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cut == b.cut {
		return
	}
	b.cut = cut
	if cut {
		b.resume = make(chan struct{})
	} else {
		close(b.resume)
	}
}

// wait blocks while the cut lasts.
func (b *blackhole) wait() {
	b.mu.Lock()
	ch := b.resume
	b.mu.Unlock()
	<-ch
}

func (b *blackhole) serve(c net.Conn) {
	defer c.Close()
	b.wait() // a connection attempted during the cut gets no answer at all
	up, err := net.Dial("tcp", b.target)
	if err != nil {
		return
	}
	defer up.Close()
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				b.wait() // bytes read during the cut are held until it ends
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	go pipe(up, c)
	pipe(c, up)
}

// TestDatabaseStopsAnswering runs a server on PostgreSQL through a proxy that, mid-run,
// passes no more bytes while keeping connections open. Requests then fail with 503
// within the request timeout instead of hanging, /readyz says not ready, the server keeps
// running; when the proxy passes bytes again, everything works and nothing that was
// acknowledged is lost.
func TestDatabaseStopsAnswering(t *testing.T) {
	direct := pgtest.URL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	hole := newBlackhole(t, u.Host)
	u.Host = hole.ln.Addr().String()
	proxied := u.String()

	ctx := context.Background()
	key := seedStore(t, "", direct, "partition test")

	const requestTimeout = 2 * time.Second
	logs := &testutil.SyncBuffer{}
	srv, err := testserver.Start(ctx, "", proxied, server.Config{RequestTimeout: requestTimeout,
		ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	defer func() {
		switch err := srv.Stop(hangAfter); {
		case errors.Is(err, testserver.ErrStillRunning):
			t.Errorf("the server did not stop within %v of its shutdown", hangAfter)
		case err != nil:
			t.Errorf("server: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()
	c := &client{base: srv.URL, key: key, http: &http.Client{Timeout: hangAfter}}

	a, res, err := c.ingest(outageBatch(9, 0))
	if err != nil || a.status != http.StatusOK || res.Accepted != 10 {
		t.Fatalf("ingest before the cut: %d %s %v", a.status, a.body, err)
	}
	before := c.must(t, http.MethodPost, "/api/developer/developer", "application/json", reportOf(2))

	hole.setCut(true)
	// The server never learns the database is gone: each request must give up on its own.
	for _, r := range []struct{ name, method, path, ct string }{
		{"ingest", http.MethodPost, "/api/v1/events", "application/cloudevents-batch+json"},
		{"report", http.MethodPost, "/api/developer/developer", "application/json"},
	} {
		body := outageBatch(9, 1)
		if r.name == "report" {
			body = reportOf(2)
		}
		a := c.must(t, r.method, r.path, r.ct, body)
		if a.took > requestTimeout+5*time.Second {
			t.Errorf("%s during the cut took %v; the request timeout is %v", r.name, a.took, requestTimeout)
		}
		switch r.name {
		case "ingest":
			if a.status != http.StatusServiceUnavailable || !strings.Contains(string(a.body), "unavailable") {
				t.Errorf("ingest during the cut: %d %s; want 503 unavailable", a.status, a.body)
			}
		case "report":
			if a.status != http.StatusOK || !strings.Contains(string(a.body), `"code":-32000`) {
				t.Errorf("report during the cut: %d %s; want a -32000 error object", a.status, a.body)
			}
		}
	}
	status, body, err := readyz(c)
	if err != nil || status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the cut: %d %v %v; want 503", status, body, err)
	}
	if h := c.must(t, http.MethodGet, "/healthz", "", nil); h.status != http.StatusOK {
		t.Errorf("/healthz during the cut: %d", h.status)
	}

	hole.setCut(false)
	eventually(t, 30*time.Second, "ready after the cut", func() error {
		status, body, err := readyz(c)
		if err != nil || status != http.StatusOK {
			return errors.New("not ready: " + body["reason"])
		}
		return nil
	})
	a, res, err = c.ingest(outageBatch(9, 0))
	if err != nil || a.status != http.StatusOK || res.Duplicates != 10 {
		t.Errorf("resending the acknowledged batch after the cut: %d %s %v; want 10 duplicates", a.status, a.body, err)
	}
	a, res, err = c.ingest(outageBatch(9, 1))
	if err != nil || a.status != http.StatusOK || res.Accepted+res.Duplicates != 10 {
		t.Errorf("the batch refused during the cut, sent again: %d %s %v", a.status, a.body, err)
	}
	after := c.must(t, http.MethodPost, "/api/developer/developer", "application/json", reportOf(2))
	if after.status != http.StatusOK || len(after.body) <= len(before.body) {
		t.Errorf("report after the cut: %d, %d bytes (before: %d); want it to hold the second batch too", after.status, len(after.body), len(before.body))
	}
}

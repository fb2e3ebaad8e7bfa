package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/server"
)

// holdLimit is how long a test waits for the server to answer or close a connection
// before calling it held: a hang detector, far above the 1 s timeouts of these servers.
const holdLimit = 15 * time.Second

// TestSlowClients: a client that sends its body a byte at a time, announces a huge body
// with Expect: 100-continue, or keeps an idle connection cannot hold the server: each is
// answered or cut off by the server's own timeouts.
func TestSlowClients(t *testing.T) { e2etest.OnEachEngine(t, testSlowClients) }

func testSlowClients(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServerWith(t, eng, server.Config{ReadTimeout: time.Second, IdleTimeout: time.Second})
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	writer := srv.CreateKey(t, 1, "events_write")
	dial := func(t *testing.T) net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(holdLimit))
		return c
	}
	// trickle sends body, a byte every 100 ms, until it is sent or a write fails.
	trickle := func(c net.Conn, body string) {
		for i := range len(body) {
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	const body = `[{"specversion":"1.0","id":"slow-1","source":"s","type":"cloudmeter.resource.deleted","time":"2024-01-01T00:00:00Z","data":{"product_id":1}}]`

	t.Run("SlowBodyWithoutKey", func(t *testing.T) {
		// Refused before the body is read: the 401 comes at once, not after the body.
		c := dial(t)
		fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		sent := make(chan struct{})
		go func() { trickle(c, body); close(sent) }()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer while the body trickles in: %v", err)
		}
		select {
		case <-sent:
			t.Errorf("the answer came only after the whole body was sent")
		default:
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", resp.StatusCode)
		}
	})
	t.Run("SlowBodyWithKey", func(t *testing.T) {
		// The body would take 14 s; the read timeout (1 s) cuts it off.
		c := dial(t)
		fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
			writer, len(body))
		start := time.Now()
		go trickle(c, body)
		mustClose(t, c)
		if held := time.Since(start); held > 10*time.Second {
			t.Errorf("the connection was held %v", held)
		}
	})
	t.Run("ExpectContinueHugeBody", func(t *testing.T) {
		// 1 GiB announced: refused with 413 before any of it is asked for.
		c := dial(t)
		fmt.Fprintf(c, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
			writer, 1<<30)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413 (a 100 Continue invites the body)", resp.StatusCode)
		}
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "--max-body-bytes") {
			t.Errorf("the answer does not name the limit: %s", b)
		}
	})
	t.Run("IdleConnection", func(t *testing.T) {
		c := dial(t)
		r := bufio.NewReader(c)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mustClose(t, c)
	})
}

// mustClose waits for the server to close c, failing the test if it is still open when
// the connection's deadline passes.
func mustClose(t *testing.T, c net.Conn) {
	t.Helper()
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the connection open for %v", holdLimit)
	}
}

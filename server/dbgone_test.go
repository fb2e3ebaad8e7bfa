package server_test

// What a server does when its database is not there: refused at start with a message
// (a bad URL, a server that is down), and, while serving, a database that goes away and
// comes back. The outage test runs on a PostgreSQL server of its own (pgtest.NewServer),
// stopped with `pg_ctl stop -m immediate`, as a crash of the database would.
//
// The HTTP client's timeout below is a hang detector, not a performance assertion: every
// answer during the outage must come, and come as a clear error, well before it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/server"
)

// hangAfter bounds every request of these tests: an answer later than this is a hang.
const hangAfter = 30 * time.Second

// runServe runs `cloudmeter serve` with args and returns its exit code and stderr. It
// fails the test if the command does not return within a minute (it must give up on
// its own, not wait forever for a database).
func runServe(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...), &stdout, &stderr)
	}()
	select {
	case code := <-done:
		return code, stderr.String()
	case <-time.After(time.Minute):
		cancel()
		<-done
		t.Fatalf("cloudmeter serve %v was still running after a minute: %s", args, stderr.String())
		return 0, ""
	}
}

// TestStartRefusesBadDatabaseURL checks that `cloudmeter serve` refuses a database URL
// that is not a PostgreSQL URL, or does not parse, at once, with exit code 1 and a
// message that names the expected form and never the password.
func TestStartRefusesBadDatabaseURL(t *testing.T) {
	for _, c := range []struct{ name, url, want string }{
		{"OtherScheme", "mysql://billing:hunter2@db.internal/cloudmeter", "must start with postgres://"},
		{"Malformed", "postgres://billing:hunter2@db.internal:notaport/cloudmeter", "must look like postgres://"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stderr := runServe(t, "--database-url", c.url)
			if code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if !strings.Contains(stderr, "database URL") || !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not say the database URL %s", stderr, c.want)
			}
			if strings.Contains(stderr, "hunter2") {
				t.Errorf("stderr shows the password: %q", stderr)
			}
			if strings.Contains(stderr, "cloudmeter serving") {
				t.Errorf("the server started: %q", stderr)
			}
		})
	}
}

// TestStartWithDatabaseDown checks that `cloudmeter serve` on a PostgreSQL server that
// does not answer gives up with exit code 1 and a message saying the database cannot be
// reached, without the password: a supervisor that restarts it shows why each time.
func TestStartWithDatabaseDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	code, stderr := runServe(t, "--database-url", fmt.Sprintf("postgres://billing:hunter2@127.0.0.1:%d/cloudmeter?sslmode=disable", port))
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(stderr, "cannot be reached") || !strings.Contains(stderr, fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("stderr %q does not say which database cannot be reached", stderr)
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("stderr shows the password: %q", stderr)
	}
}

// answer is a complete HTTP answer.
type answer struct {
	status int
	body   []byte
	took   time.Duration
}

// client sends requests to one server with a key.
type client struct {
	base, key string
	http      *http.Client
}

func (c *client) do(method, path, contentType string, body []byte) (answer, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return answer{status: resp.StatusCode, body: b, took: time.Since(start)}, nil
}

func (c *client) must(t *testing.T, method, path, contentType string, body []byte) answer {
	t.Helper()
	a, err := c.do(method, path, contentType, body)
	if err != nil {
		t.Fatal(err) // a timeout here is a hang
	}
	return a
}

// ingest posts a batch; the answer's counts are decoded when it is a 200.
func (c *client) ingest(batch []byte) (answer, ingestResult, error) {
	a, err := c.do(http.MethodPost, "/api/v1/events", "application/cloudevents-batch+json", batch)
	var res ingestResult
	if err == nil && a.status == http.StatusOK {
		err = json.Unmarshal(a.body, &res)
	}
	return a, res, err
}

// reportOf is a JSON-RPC call for the detailed report of user 1 (the seed, in 2016) or
// user 2 (the writers' instances, in 2025).
func reportOf(user int) []byte {
	year := map[int]int{1: 2016, 2: 2025}[user]
	return fmt.Appendf(nil, `{"id":7,"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[%d,"%d-01-01T00:00:00Z","%d-12-31T23:59:59Z"]}`, user, year, year)
}

// outageBatch makes a batch of the writer w's round n: five instances of user 2, each
// provisioned and deleted, under keys no other batch uses.
func outageBatch(w, n int) []byte {
	var evs []map[string]any
	for i := 0; i < 5; i++ {
		product := 800000 + w*100000 + n*5 + i
		at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(product%1000) * time.Minute)
		evs = append(evs,
			map[string]any{"specversion": "1.0", "source": "outage-test", "id": fmt.Sprintf("p-%d", product), "type": "cloudmeter.resource.provisioned",
				"time": at.Format(time.RFC3339), "data": map[string]any{"product_id": product, "resource_type": "instance", "user_id": 2,
					"infrastructure_id": 20, "datacenter": "uk-reading", "label": fmt.Sprintf("i-%d", product), "attributes": map[string]any{}}},
			map[string]any{"specversion": "1.0", "source": "outage-test", "id": fmt.Sprintf("d-%d", product), "type": "cloudmeter.resource.deleted",
				"time": at.Add(90 * time.Minute).Format(time.RFC3339), "data": map[string]any{"product_id": product}})
	}
	b, _ := json.Marshal(evs)
	return b
}

// sent is one batch a writer sent and what it was answered.
type sent struct {
	batch  []byte
	status int
}

// writer sends batches until stop is closed, pausing between them, and records each
// answer. Every answer must be 200 (stored) or 503 (the database is unavailable, and the
// body says so), never a 500 or a hang.
func writer(c *client, w int, stop <-chan struct{}, out *[]sent, errs chan<- error) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-time.After(25 * time.Millisecond):
		}
		b := outageBatch(w, n)
		a, res, err := c.ingest(b)
		switch {
		case err != nil:
			errs <- fmt.Errorf("writer %d batch %d: %v", w, n, err)
			return
		case a.status == http.StatusOK && res.Accepted != 10:
			errs <- fmt.Errorf("writer %d batch %d: accepted %d of 10 new events: %s", w, n, res.Accepted, a.body)
		case a.status == http.StatusServiceUnavailable:
			if !bytes.Contains(a.body, []byte(`"unavailable"`)) || !bytes.Contains(a.body, []byte("database")) {
				errs <- fmt.Errorf("writer %d batch %d: 503 without a message naming the database: %s", w, n, a.body)
			}
		case a.status != http.StatusOK:
			errs <- fmt.Errorf("writer %d batch %d: status %d, want 200 or 503: %s", w, n, a.status, a.body)
		}
		*out = append(*out, sent{batch: b, status: a.status})
	}
}

// eventually polls check every 200 ms until it returns nil, for at most limit.
func eventually(t *testing.T, limit time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readyz returns /readyz's status and body.
func readyz(c *client) (int, map[string]string, error) {
	a, err := c.do(http.MethodGet, "/readyz", "", nil)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(a.body, &m); err != nil {
		return a.status, nil, fmt.Errorf("/readyz body is not a JSON object of strings: %s", a.body)
	}
	return a.status, m, nil
}

// TestDatabaseGoesAway runs a server on a PostgreSQL database that crashes while two
// clients keep writing, then comes back. While it is gone: /readyz answers 503 "not
// ready" with a reason, ingest answers 503 "unavailable" and the JSON-RPC report a
// -32000 error object, each with a message naming the database and none of them late;
// /healthz still answers, the server keeps running and logs what failed. When it is
// back: /readyz is ready again, ingest works, every batch that was acknowledged is there
// (a resend is all duplicates), the refused ones were not half stored, and the reports
// are what they were. A second server started during the outage fails with a message,
// and starts once the database is back.
func TestDatabaseGoesAway(t *testing.T) {
	pg := pgtest.NewServer(t)
	dbURL := pg.URL()
	ctx := context.Background()
	defer func() {
		if t.Failed() {
			t.Logf("PostgreSQL log:\n%s", pg.Log())
		}
	}()

	key := seedStore(t, "", dbURL, "outage test")

	logs := &testutil.SyncBuffer{}
	srv, err := testserver.Start(ctx, "", dbURL, server.Config{ShutdownTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	c := &client{base: srv.URL, key: key, http: &http.Client{Timeout: hangAfter, Transport: &http.Transport{Proxy: nil}}}
	defer func() {
		switch err := srv.Stop(time.Minute); {
		case errors.Is(err, testserver.ErrStillRunning):
			t.Error("server did not stop within a minute of its context ending")
		case err != nil:
			t.Errorf("server stopped with %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()

	// Up: ready, and the seed is stored and reported.
	if code, body, err := readyz(c); err != nil || code != http.StatusOK || body["status"] != "ready" {
		t.Fatalf("/readyz before the outage: %d %v %v", code, body, err)
	}
	var seedEvents []json.RawMessage
	if err := json.Unmarshal(demo.SeedEvents, &seedEvents); err != nil {
		t.Fatal(err)
	}
	if a, res, err := c.ingest(demo.SeedEvents); err != nil || a.status != http.StatusOK || res.Accepted != len(seedEvents) {
		t.Fatalf("seed events: %v %d %s", err, a.status, a.body)
	}
	seedReport := c.must(t, http.MethodPost, "/api/developer/developer", "", reportOf(1))
	if !bytes.Contains(seedReport.body, []byte(`"7.25925278"`)) {
		t.Fatalf("seed report before the outage: %s", seedReport.body)
	}

	// Two clients write throughout.
	stopWriters := make(chan struct{})
	writerErrs := make(chan error, 1000)
	sends := make([][]sent, 2)
	var wg sync.WaitGroup
	for w := range sends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			writer(c, w, stopWriters, &sends[w], writerErrs)
		}()
	}
	stopWritersOnce := sync.OnceFunc(func() { close(stopWriters); wg.Wait() })
	defer stopWritersOnce()
	time.Sleep(500 * time.Millisecond) // some batches stored before the crash

	pg.Stop(t)
	t.Log("database stopped")

	// /readyz says not ready, with a reason naming the database.
	var reason string
	eventually(t, hangAfter, "/readyz answers 503 after the database stopped", func() error {
		code, body, err := readyz(c)
		switch {
		case err != nil:
			t.Fatal(err)
		case code == http.StatusOK:
			return errors.New("still ready")
		case code != http.StatusServiceUnavailable || body["status"] != "not ready":
			t.Fatalf("/readyz: %d %v, want 503 not ready", code, body)
		}
		reason = body["reason"]
		return nil
	})
	if !strings.Contains(reason, "database") {
		t.Errorf("/readyz reason %q does not name the database", reason)
	}
	t.Logf("/readyz: not ready: %s", reason)

	// Each surface answers at once with a clear error.
	refused := outageBatch(9, 0)
	a, _, err := c.ingest(refused)
	if err != nil {
		t.Fatal(err)
	}
	if a.status != http.StatusServiceUnavailable || !bytes.Contains(a.body, []byte(`"code": "unavailable"`)) || !bytes.Contains(a.body, []byte("database")) {
		t.Errorf("ingest during the outage: %d %s; want 503 unavailable naming the database", a.status, a.body)
	}
	t.Logf("ingest during the outage: %d in %v: %s", a.status, a.took, bytes.TrimSpace(a.body))

	a = c.must(t, http.MethodPost, "/api/developer/developer", "", reportOf(1))
	var rpc struct {
		Error *struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
		} `json:"error"`
		Result  json.RawMessage `json:"result"`
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(a.body, &rpc); err != nil || a.status != http.StatusOK {
		t.Fatalf("JSON-RPC during the outage: %d %s (%v)", a.status, a.body, err)
	}
	if rpc.Error == nil || rpc.Error.Code != -32000 || !strings.Contains(rpc.Error.Message, "database") || rpc.Result != nil ||
		rpc.JSONRPC != "2.0" || string(rpc.ID) != "7" {
		t.Errorf("JSON-RPC during the outage: %s; want error -32000 naming the database, id 7", a.body)
	}
	t.Logf("JSON-RPC during the outage: in %v: %s", a.took, a.body)

	a = c.must(t, http.MethodGet, "/api/v1/resources/2416", "", nil)
	if a.status != http.StatusServiceUnavailable || !bytes.Contains(a.body, []byte("database")) {
		t.Errorf("GET /api/v1/resources/2416 during the outage: %d %s; want 503 naming the database", a.status, a.body)
	}
	if a = c.must(t, http.MethodGet, "/healthz", "", nil); a.status != http.StatusOK {
		t.Errorf("/healthz during the outage: %d %s; the process is alive and should say so", a.status, a.body)
	}

	// A second server started now gives up with a message.
	err = server.Run(ctx, server.Config{Listen: "127.0.0.1:0", DatabaseURL: dbURL, Logger: slog.New(slog.DiscardHandler),
		Started: func(string) { t.Error("a second server started on a database that is down") }})
	if cloudmeter.KindOf(err) != cloudmeter.KindUnavailable || !strings.Contains(err.Error(), "cannot be reached") {
		t.Errorf("a second server started during the outage: %v; want unavailable, cannot be reached", err)
	}

	time.Sleep(time.Second) // the writers keep meeting the outage
	select {
	case <-srv.Done():
		t.Fatalf("the server stopped during the outage: %v", srv.Err())
	default:
	}

	pg.Start(t)
	t.Log("database started")
	eventually(t, time.Minute, "/readyz answers 200 after the database came back", func() error {
		code, body, err := readyz(c)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusOK || body["status"] != "ready" {
			return fmt.Errorf("%d %v", code, body)
		}
		return nil
	})
	// Ingest works again.
	eventually(t, time.Minute, "ingest answers 200 after the database came back", func() error {
		a, res, err := c.ingest(refused)
		if err != nil {
			t.Fatal(err)
		}
		if a.status != http.StatusOK {
			return fmt.Errorf("%d %s", a.status, a.body)
		}
		if res.Accepted != 10 || res.Duplicates != 0 {
			t.Errorf("the batch refused during the outage, sent again: accepted %d, duplicates %d; want 10 and 0", res.Accepted, res.Duplicates)
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond) // the writers store a few more
	stopWritersOnce()
	close(writerErrs)
	for err := range writerErrs {
		t.Error(err)
	}

	// Nothing acknowledged was lost; nothing refused was half stored.
	var acked, refusedN, products int
	for _, list := range sends {
		for _, s := range list {
			products += 5
			_, res, err := c.ingest(s.batch)
			if err != nil {
				t.Fatal(err)
			}
			switch s.status {
			case http.StatusOK:
				acked++
				if res.Duplicates != 10 {
					t.Errorf("an acknowledged batch, sent again: accepted %d, duplicates %d; want 10 duplicates (it was stored)", res.Accepted, res.Duplicates)
				}
			default:
				refusedN++
				// A batch whose commit met the crash may or may not be stored, but whole.
				if res.Accepted+res.Duplicates != 10 || (res.Accepted != 0 && res.Duplicates != 0) {
					t.Errorf("a refused batch, sent again: accepted %d, duplicates %d; want all of one", res.Accepted, res.Duplicates)
				}
			}
		}
	}
	t.Logf("writers: %d batches acknowledged, %d refused", acked, refusedN)
	if acked == 0 || refusedN == 0 {
		t.Errorf("writers: %d batches acknowledged and %d refused; the test needs both", acked, refusedN)
	}
	if a, res, err := c.ingest(demo.SeedEvents); err != nil || a.status != http.StatusOK || res.Duplicates != len(seedEvents) {
		t.Errorf("seed events sent again: %v %d %s; want %d duplicates", err, a.status, a.body, len(seedEvents))
	}
	if got := c.must(t, http.MethodPost, "/api/developer/developer", "", reportOf(1)); !bytes.Equal(got.body, seedReport.body) {
		t.Errorf("user 1's report after the outage differs:\n%s\nwant\n%s", got.body, seedReport.body)
	}
	report := c.must(t, http.MethodPost, "/api/developer/developer", "", reportOf(2))
	if n := bytes.Count(report.body, []byte(`"product_id"`)); n != products+5 {
		t.Errorf("user 2's report has %d records, want one per instance sent: %d", n, products+5)
	}

	// The server said what went wrong, and never panicked.
	log := logs.String()
	if !strings.Contains(log, `msg="request failed"`) || !strings.Contains(log, `JSON-RPC calls failed`) {
		t.Errorf("the server did not log the failed requests:\n%s", log)
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "level=ERROR") && !strings.Contains(line, "database") {
			t.Errorf("an error logged during the outage does not name the database: %s", line)
		}
	}
	if strings.Contains(log, "panic") {
		t.Errorf("the server panicked:\n%s", log)
	}

	// The second server starts now.
	second := start(t, "", dbURL)
	sc := &client{base: second.URL, key: key, http: c.http}
	if code, body, err := readyz(sc); err != nil || code != http.StatusOK {
		t.Errorf("/readyz of the second server: %d %v %v", code, body, err)
	}
	if got := sc.must(t, http.MethodPost, "/api/developer/developer", "", reportOf(2)); !bytes.Equal(got.body, report.body) {
		t.Errorf("the second server's report of user 2 differs from the first's")
	}
	second.stop(t)
}

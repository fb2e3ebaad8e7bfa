package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/server"
)

// TestGlueTwoInstances: two servers on one PostgreSQL database both run the
// export worker over the same targets, with rounds every second; the receiver gets every
// submission the outbox holds as sent, and none twice.
func TestGlueTwoInstances(t *testing.T) { e2etest.OnEachEngine(t, testGlueTwoInstances) }

func testGlueTwoInstances(t *testing.T, eng e2etest.Engine) {
	if eng == e2etest.SQLite {
		t.Skip("several instances share one database on PostgreSQL; a SQLite data directory belongs to one instance")
	}
	url := e2etest.DatabaseURL(t, eng)
	dir := t.TempDir()
	key := e2etest.CreateKeyCLI(t, dir, url, 1, "admin")
	var mu sync.Mutex
	seen := map[string]int{} // path and timestamp: one submission
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		time.Sleep(20 * time.Millisecond) // long enough for the instances to overlap
		var s struct {
			Timestamp string `json:"timestamp"`
		}
		json.Unmarshal(r.Body, &s)
		mu.Lock()
		seen[r.Path+" "+s.Timestamp]++
		mu.Unlock()
		accept(w, r.Path)
	})
	cfg := server.Config{Exports: server.ExportConfig{Enabled: true, Poll: 50 * time.Millisecond, MinBackoff: 100 * time.Millisecond, Lease: 30 * time.Second}}
	var logs [2]*testutil.SyncBuffer
	var srvs [2]*testserver.Server
	for i := range srvs {
		logs[i] = &testutil.SyncBuffer{}
		c := cfg
		c.Logger = slog.New(slog.NewTextHandler(logs[i], nil))
		s, err := testserver.Start(context.Background(), t.TempDir(), url, c)
		if err != nil {
			t.Fatal(err)
		}
		srvs[i] = s
		t.Cleanup(func() { s.Close() })
	}
	a := &e2etest.Server{URL: srvs[0].URL, Engine: e2etest.Postgres, DataDir: dir, DatabaseURL: url, AdminKey: key, Client: &http.Client{Timeout: 30 * time.Second}}
	glueCloud(t, a)
	const targets = 6
	for i := range targets {
		addTarget(t, a, fmt.Sprintf("t%d", i), rec.URL, "1s")
	}
	time.Sleep(4 * time.Second)
	for _, s := range srvs {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	status, _ := glueCLI(t, 0, "exports", "status", "--database-url="+url)
	sent := 0
	for _, m := range regexp.MustCompile(`(?m)^t\d+\s+\S+\s+\S+\s+(\d+)\s+0\s+`).FindAllStringSubmatch(status, -1) {
		var n int
		fmt.Sscan(m[1], &n)
		sent += n
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range seen {
		if n != 1 {
			t.Errorf("submission %s was received %d times", k, n)
		}
	}
	if len(seen) != sent || sent < targets*2 {
		t.Errorf("the receiver got %d submissions; the outbox says %d were sent (want at least %d)\n%s", len(seen), sent, targets*2, status)
	}
	var by [2]int
	for i := range logs {
		by[i] = strings.Count(logs[i].String(), "export delivery sent")
		if strings.Contains(logs[i].String(), "level=ERROR") {
			t.Errorf("instance %d logged errors:\n%s", i, logs[i])
		}
	}
	t.Logf("%d submissions: %d sent by one instance, %d by the other", sent, by[0], by[1])
}

// TestGlueKillSender runs the real binary as the sending instance and kills it with
// SIGKILL while the receiver holds the month's invoice; the outbox still holds it, and
// the instance started again sends it with the same body (the same externalId), then the
// rest of the round, in order.
func TestGlueKillSender(t *testing.T) { e2etest.OnEachEngine(t, testGlueKillSender) }

func testGlueKillSender(t *testing.T, eng e2etest.Engine) {
	if testing.Short() {
		t.Skip("builds and runs the binary: skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "cloudmeter")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/cloudmeter").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir, url := t.TempDir(), e2etest.DatabaseURL(t, eng)
	key := e2etest.CreateKeyCLI(t, dir, url, 1, "admin")
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		if strings.HasSuffix(r.Path, "/invoices") && n == 1 {
			arrived <- struct{}{}
			<-release // held until the sender is killed
			return
		}
		accept(w, r.Path)
	})
	defer close(release)

	sender := startSender(t, bin, dir, url)
	a := &e2etest.Server{URL: sender.url, Engine: eng, DataDir: dir, DatabaseURL: url, AdminKey: key, Client: &http.Client{Timeout: 30 * time.Second}}
	glueCloud(t, a)
	// A target whose open period is last month: its next round closes that month (final
	// billing, invoice, finalize) before the interim billing of this one.
	now := time.Now().Unix()
	monthStart, _ := monthOf(now)
	last := time.Unix(monthStart-1, 0).UTC().Format("2006-01")
	lastStart, _ := monthOf(monthStart - 1)
	a.PostEvents(t, batch(provisioned("last-1", ts(lastStart+10), 9001, "instance", 1, 3668, "uk-reading", nil),
		deleted("last-2", ts(lastStart+3609), 9001)))
	// The target is added while no instance runs: a running worker could otherwise build
	// a round of this month between the target's creation and the change of its period.
	sender.kill(t)
	st, err := storeopen.Open(context.Background(), dir, url)
	if err != nil {
		t.Fatal(err)
	}
	addTarget(t, a, "k", rec.URL, "1h")
	if _, err := st.DB().Exec(`UPDATE export_targets SET open_period = '` + last + `'`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	sender = startSender(t, bin, dir, url)

	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("no invoice arrived:\n%s", sender.logs)
	}
	sender.kill(t)
	status, _ := glueCLI(t, 0, append([]string{"exports", "status"}, dbArgs(a)...)...)
	if !regexpLine(status, `^k\s+\S+\s+\S+\s+1\s+0\s+3\s+`) {
		t.Fatalf("after the kill the outbox should hold the invoice, the finalize and the interim billing (sent 1, backlog 3):\n%s", status)
	}

	sender = startSender(t, bin, dir, url)
	waitFor(t, 30*time.Second, "the round was sent after the restart", func() bool { return len(rec.requests()) >= 5 })
	got := rec.requests()
	var paths []string
	for _, r := range got {
		paths = append(paths, strings.TrimPrefix(r.Path, "/v1/installations/icfg_k"))
	}
	want := []string{"/billing", "/billing/invoices", "/billing/invoices", "/billing/finalize", "/billing"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("requests %v, want %v", paths, want)
	}
	if !bytes.Equal(got[1].Body, got[2].Body) {
		t.Errorf("the invoice sent again after the kill differs:\n%s\n%s", got[1].Body, got[2].Body)
	}
	var inv struct {
		ExternalID string `json:"externalId"`
		Period     struct{ Start, End string }
		Items      []struct{ Total string }
		Final      bool
	}
	json.Unmarshal(got[2].Body, &inv)
	if inv.ExternalID != "cloudmeter-k-"+last || inv.Period.Start != wire(lastStart) || inv.Period.End != wire(monthStart) {
		t.Errorf("invoice %+v: want externalId cloudmeter-k-%s over %s", inv, last, last)
	}
	if !inv.Final || len(inv.Items) != 1 || inv.Items[0].Total != "0.31000000" {
		t.Errorf("invoice %+v: want final, with last month's one hour of the instance at 0.31", inv)
	}
	if len(got[3].Body) != 0 || got[3].Header.Get("Content-Type") != "" {
		t.Errorf("finalize was sent with a body or a Content-Type: %q %q", got[3].Body, got[3].Header.Get("Content-Type"))
	}
	final, interim := decodeSubmission(t, got[0].Body), decodeSubmission(t, got[4].Body)
	if final.Period.End != wire(monthStart) || final.EOD != wire(monthStart) {
		t.Errorf("the final billing of %s: period %+v, eod %s", last, final.Period, final.EOD)
	}
	if interim.Period.Start != wire(monthStart) || len(interim.Billing.Items) == 0 {
		t.Errorf("the interim billing of this month: %+v", interim)
	}
	sender.stop(t)
	status, _ = glueCLI(t, 0, append([]string{"exports", "status"}, dbArgs(a)...)...)
	if !regexpLine(status, `^k\s+\S+\s+\S+\s+4\s+0\s+0\s+-`) {
		t.Errorf("after the restart: want 4 sent, nothing waiting:\n%s", status)
	}
}

// sender is `cloudmeter serve` running as a separate process.
type sender struct {
	cmd  *exec.Cmd
	url  string
	logs *testutil.SyncBuffer
	done chan struct{}
}

var servingRE = regexp.MustCompile(`msg="cloudmeter serving" addr=(\S+)`)

func startSender(t *testing.T, bin, dir, url string) *sender {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data-dir", dir, "--database-url="+url, "--listen", "127.0.0.1:0", "--export-poll", "100ms", "--export-lease", "2s",
		"--export-min-backoff", "200ms")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLOUDMETER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &sender{cmd: cmd, logs: &testutil.SyncBuffer{}, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(s.logs, sc.Text())
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-s.done })
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.done:
		t.Fatalf("serve exited:\n%s", s.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not listen:\n%s", s.logs)
	}
	return s
}

func (s *sender) kill(t *testing.T) {
	t.Helper()
	s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not die")
	}
}

func (s *sender) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop:\n%s", s.logs)
	}
	if strings.Contains(s.logs.String(), glueToken) {
		t.Errorf("the sender's log shows the token")
	}
}

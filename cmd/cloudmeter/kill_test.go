package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/testutil"
)

// TestKillLosesNoAcknowledgedWrite runs the real binary, kills it with SIGKILL right
// after acknowledged writes and while writers are busy, starts it again on the same data
// directory and checks that every acknowledged batch survived whole (DESIGN 6: a kill -9
// loses nothing that was acknowledged) and that no batch survived in part (DESIGN 2.5:
// atomic batches).
func TestKillLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary: skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "cloudmeter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	create := exec.Command(bin, "keys", "create", "--data-dir", data, "--user", "1",
		"--permissions", "events_write,utilization_reports_read", "--label", "kill test")
	create.Env = cleanEnv()
	out, err := create.CombinedOutput()
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(key, "1:") {
		t.Fatalf("keys create printed %q: want the key as the last line", out)
	}

	// An acknowledged batch, then SIGKILL at once.
	srv := startServer(t, bin, data)
	first := newBatch("first", 0, 20)
	if res := srv.post(t, key, first); res.status != http.StatusOK || res.Accepted != first.events {
		t.Fatalf("first batch: %+v; want 200 with %d accepted", res, first.events)
	}
	srv.kill(t)

	srv = startServer(t, bin, data)
	if res := srv.post(t, key, first); res.status != http.StatusOK || res.Accepted != 0 || res.Duplicates != first.events {
		t.Errorf("first batch again after the kill: %+v; want 200, 0 accepted, %d duplicates", res, first.events)
	}
	for _, p := range first.products {
		srv.checkResource(t, key, p)
	}

	// Writers keep sending while the server is killed.
	const writers = 4
	cur := srv
	var (
		mu    sync.Mutex
		acked []batch // answered 200 before the kill
		sent  []batch // sent, answer unknown (lost with the connection)
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				b := newBatch(fmt.Sprintf("w%d-%d", w, n), int64(100000+w*10000+n*10), 5)
				res, err := cur.send(client, key, b)
				mu.Lock()
				if err == nil && res.status == http.StatusOK && res.Accepted == b.events {
					acked = append(acked, b)
				} else {
					sent = append(sent, b)
				}
				mu.Unlock()
				if err != nil {
					return // the server is gone
				}
			}
		}()
	}
	// Kill once a few batches were acknowledged, with requests in flight.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 3*writers || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cur.kill(t)
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no batch was acknowledged before the kill")
	}
	t.Logf("%d batches acknowledged, %d unanswered at the kill", len(acked), len(sent))

	srv = startServer(t, bin, data)
	defer srv.kill(t)
	for _, b := range acked {
		res := srv.post(t, key, b)
		if res.status != http.StatusOK || res.Accepted != 0 || res.Duplicates != b.events {
			t.Errorf("acknowledged batch %s after the kill: %+v; want all %d events already stored", b.name, res, b.events)
		}
	}
	for _, b := range acked[:min(len(acked), 3)] {
		for _, p := range b.products {
			srv.checkResource(t, key, p)
		}
	}
	// A batch whose answer was lost is stored whole or not at all.
	for _, b := range sent {
		res := srv.post(t, key, b)
		if res.status != http.StatusOK || res.Accepted+res.Duplicates != b.events || (res.Accepted != 0 && res.Duplicates != 0) {
			t.Errorf("unanswered batch %s after the kill: %+v; want all %d events stored or none", b.name, res, b.events)
		}
	}
}

// batch is one request of provision and delete events.
type batch struct {
	name     string
	body     []byte
	events   int
	products []int64
}

// newBatch makes n products (from product id base+1), each provisioned and deleted.
func newBatch(name string, base int64, n int) batch {
	b := batch{name: name}
	var evs []string
	for i := int64(1); i <= int64(n); i++ {
		p := base + i
		if base == 0 {
			p = 500 + i
		}
		b.products = append(b.products, p)
		evs = append(evs,
			fmt.Sprintf(`{"specversion": "1.0", "id": "%s-%d-p", "source": "kill-test", "type": "cloudmeter.resource.provisioned",
			"time": "2024-01-01T00:00:00Z", "data": {"product_id": %d, "resource_type": "instance", "user_id": 1, "infrastructure_id": 1,
			"datacenter": "dc-a", "attributes": {"server_type_id": 1}}}`, name, p, p),
			fmt.Sprintf(`{"specversion": "1.0", "id": "%s-%d-d", "source": "kill-test", "type": "cloudmeter.resource.deleted",
			"time": "2024-01-02T00:00:00Z", "data": {"product_id": %d}}`, name, p, p))
	}
	b.body = []byte("[" + strings.Join(evs, ",") + "]")
	b.events = len(evs)
	return b
}

// server is a running `cloudmeter serve`.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	logs *testutil.SyncBuffer
}

var addrRE = regexp.MustCompile(`msg="cloudmeter serving" addr=(\S+)`)

// startServer starts `serve` on a free loopback port and waits until /readyz answers.
func startServer(t *testing.T, bin, data string) *server {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data-dir", data, "--listen", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	s := &server{cmd: cmd, done: make(chan struct{}), logs: &testutil.SyncBuffer{}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.logs, line)
			if m := addrRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case <-s.done:
		t.Fatalf("serve exited before listening:\n%s", s.logs)
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not start listening:\n%s", s.logs)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve is not ready: %v\n%s", err, s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not die")
	}
}

type ingestResult struct {
	status     int
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	body       string
}

func (s *server) send(client *http.Client, key string, b batch) (ingestResult, error) {
	req, err := http.NewRequest(http.MethodPost, s.url+"/api/v1/events", bytes.NewReader(b.body))
	if err != nil {
		return ingestResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := client.Do(req)
	if err != nil {
		return ingestResult{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ingestResult{}, err
	}
	res := ingestResult{status: resp.StatusCode, body: string(body)}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &res); err != nil {
			return res, fmt.Errorf("answer %s: %w", body, err)
		}
	}
	return res, nil
}

func (s *server) post(t *testing.T, key string, b batch) ingestResult {
	t.Helper()
	res, err := s.send(&http.Client{Timeout: 15 * time.Second}, key, b)
	if err != nil {
		t.Fatalf("POST /api/v1/events (%s): %v\n%s", b.name, err, s.logs)
	}
	return res
}

// checkResource checks that GET /api/v1/resources/{id} shows the product as sent.
func (s *server) checkResource(t *testing.T, key string, product int64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/resources/%d", s.url, product), nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET resource %d: %v", product, err)
	}
	defer resp.Body.Close()
	var v struct {
		ProductID     int64             `json:"product_id"`
		ProvisionedAt string            `json:"provisioned_at"`
		DeletedAt     string            `json:"deleted_at"`
		Segments      []json.RawMessage `json:"segments"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &v) != nil {
		t.Errorf("GET resource %d: %d %s", product, resp.StatusCode, body)
		return
	}
	if v.ProductID != product || v.ProvisionedAt != "2024-01-01T00:00:00Z" || v.DeletedAt != "2024-01-02T00:00:00Z" || len(v.Segments) != 1 {
		t.Errorf("GET resource %d: %s", product, body)
	}
}

// cleanEnv is the environment without CLOUDMETER_ settings, so that the binary under
// test uses the flags the test gives it (SQLite in the temporary data directory, text
// logs) and no other database.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLOUDMETER_") {
			out = append(out, kv)
		}
	}
	return out
}

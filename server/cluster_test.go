package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/server"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// instance is one running server.
type instance struct{ *testserver.Server }

func start(t *testing.T, dataDir, dbURL string) *instance {
	t.Helper()
	srv, err := testserver.Start(context.Background(), dataDir, dbURL, server.Config{ShutdownTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	return &instance{srv}
}

func (in *instance) stop(t *testing.T) {
	t.Helper()
	if err := in.Close(); err != nil {
		t.Errorf("server stopped with %v", err)
	}
}

// clusterEvents makes n events over products of users 1..3: each product is
// provisioned, changed or power-cycled and mostly deleted, with its events spread over
// different batches so that batches race on the same products.
func clusterEvents(n int) [][]byte {
	r := rand.New(rand.NewSource(7))
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var evs []map[string]any
	product := int64(500000)
	for len(evs) < n {
		product++
		user := 1 + product%3
		t0 := base.Add(time.Duration(r.Intn(20*86400)) * time.Second)
		ev := func(kind string, at time.Time, data map[string]any) {
			data["product_id"] = product
			evs = append(evs, map[string]any{"specversion": "1.0", "source": "cluster-test", "id": fmt.Sprintf("%d-%d", product, len(evs)),
				"type": "cloudmeter.resource." + kind, "time": at.Format(time.RFC3339), "data": data})
		}
		ev("provisioned", t0, map[string]any{"resource_type": "instance", "user_id": user, "infrastructure_id": 10 + user, "datacenter": "uk-reading",
			"label": fmt.Sprintf("i-%d", product), "attributes": map[string]any{"server_type_id": 1 + r.Intn(3)}})
		at := t0
		for k := r.Intn(6); k > 0 && len(evs) < n-1; k-- {
			at = at.Add(time.Duration(1+r.Intn(86400)) * time.Second)
			if r.Intn(2) == 0 {
				ev("changed", at, map[string]any{"attributes": map[string]any{"server_type_id": 1 + r.Intn(3)}})
			} else {
				ev("stopped", at, map[string]any{})
				at = at.Add(time.Duration(1+r.Intn(3600)) * time.Second)
				ev("started", at, map[string]any{})
			}
		}
		if len(evs) < n {
			ev("deleted", at.Add(time.Duration(1+r.Intn(86400))*time.Second), map[string]any{})
		}
	}
	evs = evs[:n]
	r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	var batches [][]byte
	for i := 0; i < len(evs); i += 1000 {
		b, _ := json.Marshal(evs[i:min(i+1000, len(evs))])
		batches = append(batches, b)
	}
	return batches
}

type ingestResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

func post(t *testing.T, client *http.Client, addr, key string, body []byte) (ingestResult, error) {
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := client.Do(req)
	if err != nil {
		return ingestResult{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ingestResult{}, fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	var res ingestResult
	return res, json.Unmarshal(raw, &res)
}

func detailed(t *testing.T, addr, key string, user int) []byte {
	t.Helper()
	body := fmt.Sprintf(`{"id":1,"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[%d,"2025-03-01T00:00:00Z","2025-04-30T23:59:59Z"]}`, user)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/developer/developer", bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(raw, []byte(`"detailed_report"`)) {
		t.Fatalf("report of user %d from %s: %s", user, addr, raw)
	}
	return raw
}

// TestThreeInstancesOnePostgres sends 100,000 events, every one at least twice and
// interleaved, through three servers on one PostgreSQL database, restarting one of them
// in the middle. Every event must be stored exactly once, no request may fail, and the
// three servers must return byte-identical reports, identical to SQLite's.
func TestThreeInstancesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 200,000 events: skipped with -short")
	}
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	key := seedStore(t, "", dbURL, "cluster test")

	const events = 100000
	batches := clusterEvents(events)
	insts := []*instance{start(t, "", dbURL), start(t, "", dbURL), start(t, "", dbURL)}

	// Each batch is sent twice, to two different instances, in a shuffled order.
	type send struct{ batch, inst int }
	var sends []send
	for b := range batches {
		sends = append(sends, send{b, b % 3}, send{b, (b + 1) % 3})
	}
	rand.New(rand.NewSource(3)).Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })

	var (
		mu          sync.RWMutex // guards insts and down
		down        = -1         // the instance being restarted, taken out of rotation
		accepted    int
		duplicates  int
		failures    []error
		resultsLock sync.Mutex
	)
	work := make(chan send)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 120 * time.Second}
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				mu.RLock()
				target := s.inst
				if target == down {
					target = (target + 1) % 3 // a balancer sends it elsewhere while it restarts
				}
				addr := insts[target].Addr
				res, err := post(t, client, addr, key, batches[s.batch])
				mu.RUnlock()
				resultsLock.Lock()
				if err != nil {
					failures = append(failures, fmt.Errorf("batch %d to instance %d: %w", s.batch, target, err))
				}
				accepted += res.Accepted
				duplicates += res.Duplicates
				resultsLock.Unlock()
			}
		}()
	}
	for i, s := range sends {
		if i == len(sends)/2 {
			// Restart instance 2 in the middle: out of rotation, drained, stopped, started again.
			mu.Lock()
			down = 2
			mu.Unlock()
			mu.Lock() // waits for requests in flight to any instance to finish
			old := insts[2]
			mu.Unlock()
			old.stop(t)
			fresh := start(t, "", dbURL)
			mu.Lock()
			insts[2], down = fresh, -1
			mu.Unlock()
		}
		work <- s
	}
	close(work)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if accepted != events || duplicates != events {
		t.Errorf("accepted %d and duplicates %d; want %d each (every event stored exactly once)", accepted, duplicates, events)
	}
	st, err := storeopen.Open(ctx, "", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var stored int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM events`).Scan(&stored); err != nil || stored != events {
		t.Errorf("events stored = %d (%v); want %d", stored, err, events)
	}

	// The same events ingested into SQLite once, in order, rate to the same reports.
	liteDir := t.TempDir()
	liteKey := seedStore(t, liteDir, "", "")
	lite := start(t, liteDir, "")
	for _, b := range batches {
		if _, err := post(t, client, lite.Addr, liteKey, b); err != nil {
			t.Fatal(err)
		}
	}

	for user := 1; user <= 3; user++ {
		want := detailed(t, insts[0].Addr, key, user)
		for i := 1; i < 3; i++ {
			if got := detailed(t, insts[i].Addr, key, user); !bytes.Equal(got, want) {
				t.Errorf("user %d: instance %d's report differs from instance 0's", user, i)
			}
		}
		if got := detailed(t, lite.Addr, liteKey, user); !bytes.Equal(got, want) {
			t.Errorf("user %d: the SQLite report differs from the PostgreSQL one", user)
		}
	}
	lite.stop(t)
	for _, in := range insts {
		in.stop(t)
	}
}

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// TestIngestMetrics: batches sent at once by several clients are all counted in
// /metrics: every stored batch once in cloudmeter_ingest_batches_total, in at least one
// and at most that many commits (one per batch on PostgreSQL), and their events in
// cloudmeter_events_total.
func TestIngestMetrics(t *testing.T) { e2etest.OnEachEngine(t, testIngestMetrics) }

func testIngestMetrics(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	before := scrape(t, srv)
	const clients, perClient = 6, 4
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				p := int64(70000 + c*100 + i)
				srv.PostEvents(t, batch(
					provisioned(fmt.Sprintf("m-%d-p", p), "2024-05-01T00:00:00Z", p, "instance", 7, 70, "dc-m", nil),
					deleted(fmt.Sprintf("m-%d-d", p), "2024-05-01T01:00:00Z", p)))
			}
		}()
	}
	wg.Wait()
	after := scrape(t, srv)
	delta := func(name string) float64 { return after[name] - before[name] }
	batches, commits := delta("cloudmeter_ingest_batches_total"), delta("cloudmeter_ingest_commits_total")
	if batches != clients*perClient {
		t.Errorf("cloudmeter_ingest_batches_total rose by %v; want %d", batches, clients*perClient)
	}
	if commits < 1 || commits > batches {
		t.Errorf("cloudmeter_ingest_commits_total rose by %v; want 1 to %v", commits, batches)
	}
	if eng == e2etest.Postgres && commits != batches {
		t.Errorf("on PostgreSQL every batch commits alone: %v commits for %v batches", commits, batches)
	}
	if got := delta(`cloudmeter_events_total{result="accepted"}`); got != 2*clients*perClient {
		t.Errorf("accepted events rose by %v; want %d", got, 2*clients*perClient)
	}
	if q, ok := after["cloudmeter_ingest_queued_batches"]; !ok || q != 0 {
		t.Errorf("cloudmeter_ingest_queued_batches = %v (present %v) once every answer is in; want 0", q, ok)
	}
}

// scrape reads /metrics into a map from series (name and labels, as printed) to value.
func scrape(t *testing.T, srv *e2etest.Server) map[string]float64 {
	t.Helper()
	r := srv.Do(t, http.MethodGet, "/metrics", "", "", nil)
	e2etest.MustStatus(t, r, http.StatusOK, "GET /metrics")
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

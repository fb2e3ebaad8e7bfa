package dashboard_test

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/demo"
)

// BenchmarkPages10k measures the render time of the dashboard's pages for a user with
// 10,000 resources (demo.Cloud's shape: user 1, month 2024-12, 23,885 events), asked of
// a real server on loopback by a signed-in client, the page read to its last byte
// (docs/benchmarks.md, section "Dashboard").
//
//	go test ./dashboard/ -run '^$' -bench Pages10k -benchtime 20x
func BenchmarkPages10k(b *testing.B) {
	w := newWorld(b, demo.Events(demo.Options{Seed: 1, Resources: 10000, From: demo.Month, Users: 1}))
	br := newBrowser(b, w.url)
	br.signIn(w.customer)
	for _, c := range []struct{ name, path string }{
		{"overview", "/ui/overview?month=2024-12"},
		{"lines", "/ui/users/1/lines?month=2024-12"},
		{"lines.csv", "/ui/users/1/lines.csv?month=2024-12"},
		{"resource", "/ui/resources/100000?month=2024-12"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var size int
			cpu0 := cpuTime()
			for b.Loop() {
				p := br.get(c.path)
				if p.status != http.StatusOK {
					b.Fatalf("GET %s: %d\n%.500s", c.path, p.status, p.body)
				}
				size = len(p.body)
			}
			if c.name == "overview" {
				b.Logf("the overview shows %d infrastructures of each month", strings.Count(br.get(c.path).body, `data-figure="infrastructure:`))
			}
			b.ReportMetric(float64(size), "bytes/page")
			// Process CPU time (server and client, both in this process): steadier than
			// the wall clock on a shared machine.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
	// For scale: one JSON-RPC summary of the same month, the report the overview shows
	// (the overview asks the service for that report, the month before's and the credit).
	b.Run("json-rpc-summary", func(b *testing.B) {
		body := `{"jsonrpc":"2.0","id":1,"method":"resource_utilization_summary","params":[1,"2024-12-01T00:00:00Z","2024-12-31T23:59:59Z"]}`
		cpu0 := cpuTime()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPost, w.url+"/api/developer/developer", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+w.customer)
			p := br.do(req)
			if p.status != http.StatusOK || !strings.Contains(p.body, `"total_cost"`) {
				b.Fatalf("summary: %d %.300s", p.status, p.body)
			}
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
}

// cpuTime is the user and system time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

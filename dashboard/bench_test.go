package dashboard_test

import (
	"net/http"
	"testing"

	"github.com/cloudmeter/cloudmeter/dashboard"
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
	for _, c := range []struct {
		name, path string
		parallel   int
	}{
		{"overview", "/ui/overview?month=2024-12", 4},
		{"overview-one-call-at-a-time", "/ui/overview?month=2024-12", 1},
		{"lines", "/ui/users/1/lines?month=2024-12", 4},
		{"lines.csv", "/ui/users/1/lines.csv?month=2024-12", 4},
		{"resource", "/ui/resources/100000?month=2024-12", 4},
	} {
		b.Run(c.name, func(b *testing.B) {
			defer dashboard.SetMaxParallel(c.parallel)()
			var size int
			for b.Loop() {
				p := br.get(c.path)
				if p.status != http.StatusOK {
					b.Fatalf("GET %s: %d\n%.500s", c.path, p.status, p.body)
				}
				size = len(p.body)
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// TestTrafficOverflowAcrossRequests (issue 15): traffic whose period total would pass
// 2^63-1 bytes, sent a sample per request, is refused with 400 naming the waypoint,
// direction and period, and every read that covers the waypoints afterwards answers
// without a server error: the native utilization report, both JSON-RPC reports, the
// unfiltered anomalies, each waypoint and its traffic series. The three inputs:
//
//   - waypoint 9101: two deltas of 2^63-1 bytes in one hour;
//   - waypoint 9102: three deltas of 2^62 bytes in one hour;
//   - waypoint 9103: counter readings 2^63-1, 0 (a reset), 2^63-1 in one hour;
//   - product 9104, never provisioned: two deltas of 2^63-1 bytes in one hour (its
//     samples are listed at GET /api/v1/anomalies for all users).
func TestTrafficOverflowAcrossRequests(t *testing.T) {
	e2etest.OnEachEngine(t, testTrafficOverflowAcrossRequests)
}

func testTrafficOverflowAcrossRequests(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	const hour = "2024-05-01T10:00:00Z"
	attrs := map[string]any{"measurement_period": 3600}
	srv.PostEvents(t, batch(
		provisioned("ov-1", hour, 9101, "network", 2, 91, "uk-reading", attrs),
		provisioned("ov-2", hour, 9102, "network", 2, 91, "uk-reading", attrs),
		provisioned("ov-3", hour, 9103, "data_lake", 2, 91, "uk-reading", attrs)))

	const maxBytes = int64(math.MaxInt64)
	type send struct {
		product int64
		field   string
		value   int64
		refused bool
	}
	sends := []send{
		{9101, "bytes", maxBytes, false}, {9101, "bytes", maxBytes, true},
		{9102, "bytes", 1 << 62, false}, {9102, "bytes", 1 << 62, true}, {9102, "bytes", 1 << 62, true},
		{9103, "counter", maxBytes, false}, {9103, "counter", 0, false}, {9103, "counter", maxBytes, true},
		{9104, "bytes", maxBytes, false}, {9104, "bytes", maxBytes, true},
	}
	for i, s := range sends {
		at := fmt.Sprintf("2024-05-01T10:%02d:00Z", 10+i)
		body := batch(sampleEvent(fmt.Sprint("ov-s", i), at, s.product, "upload", s.field, s.value))
		r := srv.Do(t, http.MethodPost, "/api/v1/events", srv.AdminKey, e2etest.CTBatch, body)
		what := fmt.Sprintf("request %d (product %d, %s %d)", i, s.product, s.field, s.value)
		if !s.refused {
			e2etest.MustStatus(t, r, http.StatusOK, what)
			continue
		}
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (refused): %s", what, r.Status, r.Body)
			continue
		}
		for _, part := range []string{fmt.Sprint(s.product), "upload", "2024-05-01T10:00:00Z", "2^63-1"} {
			if !strings.Contains(string(r.Body), part) {
				t.Errorf("%s: the refusal does not name %q: %s", what, part, r.Body)
			}
		}
	}

	// Every read answers; those that sum nothing past 2^63-1 answer 200.
	reads := []string{
		"/api/v1/users/2/utilization?from=2024-05-01T00:00:00Z&to=2024-05-31T23:59:59Z",
		"/api/v1/anomalies",
		"/api/v1/anomalies?user_id=2",
	}
	for _, p := range []int64{9101, 9102, 9103} {
		reads = append(reads, fmt.Sprint("/api/v1/resources/", p),
			fmt.Sprint("/api/v1/resources/", p, "/traffic?from=2024-05-01T00:00:00Z&to=2024-05-01T23:59:59Z"),
			fmt.Sprint("/api/v1/resources/", p, "/traffic?from=2024-05-01T00:00:00Z&to=2024-05-02T23:59:59Z&granularity=day"))
	}
	for _, path := range reads {
		if r := srv.Do(t, http.MethodGet, path, srv.AdminKey, "", nil); r.Status != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200: %s", path, r.Status, r.Body)
		}
	}
	anomalies := string(srv.Do(t, http.MethodGet, "/api/v1/anomalies", srv.AdminKey, "", nil).Body)
	if !strings.Contains(anomalies, "9104") {
		t.Errorf("GET /api/v1/anomalies does not list the samples of product 9104, never provisioned: %s", anomalies)
	}
	for _, req := range []string{detailed(2, "2024-05-01T00:00:00Z", "2024-05-31T23:59:59Z"), summary(2, "2024-05-01T00:00:00Z", "2024-05-31T23:59:59Z")} {
		r := srv.RPC(t, srv.AdminKey, req)
		if strings.Contains(string(r.Body), `"error"`) {
			t.Errorf("%s: %s", req, r.Body)
		}
	}

	// The totals are those of the accepted samples: 2^63-1, 2^62 and 2^63-1 bytes.
	var nr map[string]map[string]map[string]struct {
		Waypoints []struct {
			ProductID int64  `json:"product_id"`
			Quantity  string `json:"quantity"`
		} `json:"metered_waypoints"`
	}
	body := rawMember(t, srv.RPC(t, srv.AdminKey, detailed(2, "2024-05-01T00:00:00Z", "2024-05-31T23:59:59Z")).Body, "network_report")
	if err := json.Unmarshal(body, &nr); err != nil {
		t.Fatalf("network_report: %v: %s", err, body)
	}
	got := map[int64]string{}
	for _, types := range nr {
		for _, dirs := range types {
			for dir, tot := range dirs {
				for _, w := range tot.Waypoints {
					if dir == "upload" {
						got[w.ProductID] = w.Quantity
					}
				}
			}
		}
	}
	// 2^63-1 bytes = 8589934592 GB (to 4 places, half-up); 2^62 bytes = 4294967296 GB.
	want := map[int64]string{9101: "8589934592.0000", 9102: "4294967296.0000", 9103: "8589934592.0000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upload quantities of the waypoints (-want +got): the accepted samples only:\n%s", diff)
	}
}

// TestTrafficOverflowOverDays: a waypoint may meter 2^63-1 bytes on each of two days;
// a read that sums both cannot hold the total and says so with a 400 naming the
// waypoint, never a wrapped total, while the unfiltered anomaly list of all users still
// answers (listing the user whose traffic cannot be summed).
func TestTrafficOverflowOverDays(t *testing.T) { e2etest.OnEachEngine(t, testTrafficOverflowOverDays) }

func testTrafficOverflowOverDays(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	srv.PostEvents(t, batch(provisioned("od-1", "2024-05-01T00:00:00Z", 9201, "network", 3, 92, "uk-reading", map[string]any{"measurement_period": 3600})))
	for i, at := range []string{"2024-05-01T10:00:00Z", "2024-05-02T10:00:00Z"} {
		srv.PostEvents(t, batch(sampleEvent(fmt.Sprint("od-s", i), at, 9201, "download", "bytes", math.MaxInt64)))
	}
	r := srv.Do(t, http.MethodGet, "/api/v1/resources/9201/traffic?from=2024-05-01T00:00:00Z&to=2024-05-02T23:59:59Z&granularity=day", srv.AdminKey, "", nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "9201") {
		t.Errorf("the series over both days: status %d, want 400 naming the waypoint: %s", r.Status, r.Body)
	}
	r = srv.Do(t, http.MethodGet, "/api/v1/resources/9201/traffic?from=2024-05-01T00:00:00Z&to=2024-05-01T23:59:59Z&granularity=day", srv.AdminKey, "", nil)
	e2etest.MustStatus(t, r, http.StatusOK, "the series of one day")
	r = srv.Do(t, http.MethodGet, "/api/v1/anomalies", srv.AdminKey, "", nil)
	e2etest.MustStatus(t, r, http.StatusOK, "the anomalies of all users")
	r = srv.Do(t, http.MethodGet, "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z", srv.AdminKey, "", nil)
	e2etest.MustStatus(t, r, http.StatusOK, "another user's report")
	if r := srv.Do(t, http.MethodGet, "/api/v1/users/3/utilization?from=2024-05-01T00:00:00Z&to=2024-05-31T23:59:59Z", srv.AdminKey, "", nil); r.Status != http.StatusBadRequest {
		t.Errorf("user 3's report over both days: status %d, want 400: %s", r.Status, r.Body)
	}
}

package bench_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/bench"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

var (
	flagWaypoints = flag.Int("bench.waypoints", 1000, "waypoints of BenchmarkTraffic*")
	flagDays      = flag.Int("bench.days", 30, "days of hourly samples of BenchmarkTrafficReport")
)

var (
	trafficOnce sync.Once
	trafficData *bench.ReportData
	trafficErr  error
	trafficDir  string // removed by TestMain
)

func preparedTraffic(b *testing.B) *bench.ReportData {
	b.Helper()
	trafficOnce.Do(func() {
		trafficDir, trafficErr = os.MkdirTemp("", "cloudmeter-bench-traffic-*")
		if trafficErr != nil {
			return
		}
		start := time.Now()
		trafficData, trafficErr = bench.PrepareTraffic(context.Background(), trafficDir, *flagWaypoints, *flagDays, nil)
		if trafficErr == nil {
			fmt.Fprintf(os.Stderr, "prepared %d waypoints, %d events in %s\n", trafficData.Resources, trafficData.Events, time.Since(start).Round(time.Millisecond))
		}
	})
	if trafficErr != nil {
		b.Fatal(trafficErr)
	}
	return trafficData
}

// TestTrafficSmall runs the traffic measurements at a small scale and checks the report
// they measure: every waypoint in both directions, two upload records (the price change
// on the 16th), and the billed bytes of the generated readings.
func TestTrafficSmall(t *testing.T) {
	ctx := context.Background()
	ing, err := bench.IngestTraffic(ctx, t.TempDir(), 20, 5, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ing.Events != 20*2*5 || ing.PerSecond() <= 0 {
		t.Errorf("IngestTraffic: %+v", ing)
	}
	const n, days = 3, 20
	d, err := bench.PrepareTraffic(ctx, t.TempDir(), n, days, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.BuildTraffic(ctx, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != n*3 || res.Bytes == 0 {
		t.Errorf("BuildTraffic: %d records, %d bytes; want %d records", res.Records, res.Bytes, n*3)
	}
	st, err := sqlite.Open(ctx, d.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := service.New(st, service.Options{}).Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: 1, Start: d.From, End: d.To})
	if err != nil {
		t.Fatal(err)
	}
	// Waypoint i moves step_i bytes an hour in each direction, the reset included.
	hours := int64(24 * days)
	for _, r := range u.Traffic {
		i := r.Waypoint.ProductID - bench.FirstWaypointID
		step := int64(1<<29) + (i%64)<<24
		if r.Direction == "upload" {
			step += 1 << 28
		}
		var want int64
		switch {
		case r.Direction == "download":
			want = hours * step
		case r.Start == d.From: // upload until the 16th
			want = 15 * 24 * step
		default:
			want = (hours - 15*24) * step
		}
		if r.Bytes != want || r.Quantity != money.GBFromBytes(want) {
			t.Errorf("waypoint %d %s from %d: %d bytes, %d 1e-4 GB; want %d", r.Waypoint.ProductID, r.Direction, r.Start, r.Bytes, r.Quantity, want)
		}
	}
}

// BenchmarkTrafficIngestHTTP: one op is one hour of samples of -bench.waypoints
// waypoints (2 per waypoint) posted as one batch to a fresh server.
func BenchmarkTrafficIngestHTTP(b *testing.B) {
	n := *flagWaypoints
	res, err := bench.IngestTraffic(context.Background(), b.TempDir(), n, b.N, *flagClients, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.PerSecond(), "samples/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkTrafficReport: one op is the detailed report of -bench.waypoints waypoints
// with -bench.days days of hourly samples, built in process and encoded.
func BenchmarkTrafficReport(b *testing.B) {
	d := preparedTraffic(b)
	b.ResetTimer()
	res, err := d.BuildTraffic(context.Background(), b.N, true)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(bench.Median(res.Runs).Microseconds())/1000, "ms/report")
	b.ReportMetric(float64(res.Records), "records")
}

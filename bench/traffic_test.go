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
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
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

var (
	windowsOnce sync.Once
	windowsData *bench.TrafficWindowsData
	windowsErr  error
	windowsDir  string // removed by TestMain
)

// preparedWindows is the data set of BenchmarkTrafficWindows, made once per test binary.
func preparedWindows(b *testing.B) *bench.TrafficWindowsData {
	b.Helper()
	windowsOnce.Do(func() {
		var dir string
		if dir, windowsErr = os.MkdirTemp("", "cloudmeter-bench-windows-*"); windowsErr != nil {
			return
		}
		windowsDir = dir
		start := time.Now()
		windowsData, windowsErr = bench.PrepareTrafficWindows(context.Background(), dir, "", *flagWaypoints, *flagDays, nil)
		if windowsErr == nil {
			fmt.Fprintf(os.Stderr, "prepared %d waypoints, %d events in %s\n", windowsData.Waypoints, windowsData.Events, time.Since(start).Round(time.Millisecond))
		}
	})
	if windowsErr != nil {
		b.Fatal(windowsErr)
	}
	return windowsData
}

// TestTrafficWindowsSmall prepares the data set of the two windows at a small scale and
// checks the reports measured on it: every waypoint in both directions, two upload
// records (the price change at demo.Month), and the bytes of the days each record holds.
func TestTrafficWindowsSmall(t *testing.T) {
	ctx := context.Background()
	const n = 3
	d, err := bench.PrepareTrafficWindows(ctx, t.TempDir(), "", n, 30, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Events != n+2*n*bench.TrafficYearDays || bench.TrafficYearDays != 397 {
		t.Errorf("%d events over %d days; want %d over 397", d.Events, bench.TrafficYearDays, n+2*n*bench.TrafficYearDays)
	}
	res, err := d.Measure(ctx, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Short.Records != n*3 || res.Long.Records != n*3 || res.Short.Bytes == 0 || res.Long.Bytes == 0 || res.Ratio() <= 0 {
		t.Errorf("Measure: %+v; want %d records in each window", res, n*3)
	}
	st, err := sqlite.Open(ctx, d.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	change := demo.Month.Unix()
	for _, w := range []*bench.ReportData{&d.Short, &d.Long} {
		u, err := svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: 1, Start: w.From, End: w.To})
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Traffic) != n*3 {
			t.Errorf("window %d to %d: %d records, want %d", w.From, w.To, len(u.Traffic), n*3)
		}
		// Each waypoint meters its step a day, every day (the reset included).
		for _, r := range u.Traffic {
			days := (r.End + 1 - r.Start) / 86400
			want := days * bench.TrafficWindowsStep(int(r.Waypoint.ProductID-bench.FirstWaypointID), string(r.Direction))
			if r.Direction == "upload" && (r.Start != w.From && r.Start != change || r.End != change-1 && r.End != w.To) {
				t.Errorf("waypoint %d upload record from %d to %d: not cut at the price change %d", r.Waypoint.ProductID, r.Start, r.End, change)
			}
			if r.Bytes != want || r.Quantity != money.GBFromBytes(want) {
				t.Errorf("window %d to %d, waypoint %d %s from %d: %d bytes; want %d (%d days)", w.From, w.To, r.Waypoint.ProductID, r.Direction, r.Start, r.Bytes, want, days)
			}
		}
	}
}

// BenchmarkTrafficWindows: the network report of -bench.waypoints waypoints over the
// last -bench.days days and over 12 months of one data set of 397 days (prepared once,
// not timed), built in process and encoded, in turns: one op is one report of each.
// long/short is the ratio of the medians (target: at most 2).
//
//	go test ./bench -run '^$' -bench TrafficWindows -benchtime 20x
func BenchmarkTrafficWindows(b *testing.B) {
	benchmarkWindows(b, preparedWindows(b))
}

// BenchmarkTrafficWindowsPostgres is BenchmarkTrafficWindows on a fresh PostgreSQL
// database of the test server (fsync off: compare with care), prepared once by the
// benchmark and measured by its sub-benchmark "windows".
//
//	go test ./bench -run '^$' -bench TrafficWindowsPostgres -benchtime 20x
func BenchmarkTrafficWindowsPostgres(b *testing.B) {
	start := time.Now()
	d, err := bench.PrepareTrafficWindows(context.Background(), b.TempDir(), pgtest.URL(b), *flagWaypoints, *flagDays, nil)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "prepared %d waypoints, %d events on PostgreSQL in %s\n", d.Waypoints, d.Events, time.Since(start).Round(time.Millisecond))
	b.Run("windows", func(b *testing.B) { benchmarkWindows(b, d) })
}

func benchmarkWindows(b *testing.B, d *bench.TrafficWindowsData) {
	b.ResetTimer()
	res, err := d.Measure(context.Background(), b.N, true)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(historyMS(res.Short.Median()), "ms/report-short")
	b.ReportMetric(historyMS(res.Long.Median()), "ms/report-long")
	b.ReportMetric(res.Ratio(), "long/short")
	b.ReportMetric(res.CPURatio(), "cpu-long/short")
	b.ReportMetric(0, "ns/op")
	fmt.Fprintf(os.Stderr, "network report of %d waypoints: %d days %s (CPU %s), 12 months %s (CPU %s): x%.2f (CPU x%.2f), %d records each\n",
		d.Waypoints, *flagDays, res.Short.Median(), res.Short.CPU, res.Long.Median(), res.Long.CPU, res.Ratio(), res.CPURatio(), res.Short.Records)
}

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/metalsoft"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// Traffic benchmark: waypoints of user 1 (network resources, hourly periods, in
// infrastructures of 100) provisioned at demo.Month, each metering one cumulative
// counter reading per direction at minute 30 of every hour (a reset on the 10th of the
// month at 00:30). Samples arrive an hour at a time: one batch per hour holding every
// waypoint's two readings.

// FirstWaypointID is the product id of the first benchmark waypoint.
const FirstWaypointID = 900000

// TrafficProvisions returns the provisions of n waypoints as one batch.
func TrafficProvisions(n int) demo.Batch {
	evs := make([]json.RawMessage, n)
	at := cloudmeter.FormatTime(demo.Month.Unix())
	for i := range n {
		p := FirstWaypointID + i
		infra := 90000 + i/100
		evs[i] = json.RawMessage(fmt.Sprintf(`{"specversion":"1.0","id":"wp-%d-p","source":"bench/provisioner","time":%q,"type":"cloudmeter.resource.provisioned",`+
			`"data":{"product_id":%d,"resource_type":"network","user_id":1,"infrastructure_id":%d,"infrastructure_label":"net-%d","datacenter":"uk-reading",`+
			`"label":"wan-%d","subdomain":"wan-%d.net-%d.1.bench","attributes":{"measurement_period":3600}}}`, p, at, p, infra, infra, p, p, infra))
	}
	return demo.Batches(evs, n)[0]
}

// TrafficHour returns hour h's samples of n waypoints (2n events) as one batch.
func TrafficHour(n, h int) demo.Batch {
	evs := make([]json.RawMessage, 0, 2*n)
	at := cloudmeter.FormatTime(demo.Month.Unix() + int64(h)*3600 + 1800)
	for i := range n {
		p := FirstWaypointID + i
		for d, dir := range []string{"download", "upload"} {
			// About 0.5 to 2 GB an hour, growing with the waypoint; reset on day 10.
			step := int64(1<<29) + int64(i%64)<<24 + int64(d)<<28
			k := int64(h + 1)
			if h >= 9*24 {
				k = int64(h - 9*24 + 1)
			}
			evs = append(evs, json.RawMessage(fmt.Sprintf(`{"specversion":"1.0","id":"wp-%d-%s-%d","source":"bench/meter","time":%q,"type":"cloudmeter.traffic.metered",`+
				`"data":{"product_id":%d,"direction":%q,"counter":%d}}`, p, dir, h, at, p, dir, k*step)))
		}
	}
	return demo.Batches(evs, len(evs))[0]
}

// TrafficPrices is the demo price book with network traffic priced per GB: download
// 0.01, upload 0.06 then 0.07 from the 16th of the month (a price change inside the
// window, so each waypoint shows two upload records).
func TrafficPrices() []byte { return trafficPrices(demo.Month.AddDate(0, 0, 15)) }

// trafficPrices is TrafficPrices with the upload price changing at change.
func trafficPrices(change time.Time) []byte {
	var book struct {
		Currency string           `json:"currency"`
		Entries  []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(demo.DemoPrices, &book); err != nil {
		panic("bench: demo prices: " + err.Error())
	}
	kept := book.Entries[:0]
	for _, e := range book.Entries {
		if e["resource_type"] != "network" {
			kept = append(kept, e)
		}
	}
	mid := cloudmeter.FormatTime(change.Unix())
	book.Entries = append(kept,
		map[string]any{"resource_type": "network", "direction": "download", "price": "0.01", "unit": "gb"},
		map[string]any{"resource_type": "network", "direction": "upload", "price": "0.06", "unit": "gb", "valid_until": mid},
		map[string]any{"resource_type": "network", "direction": "upload", "price": "0.07", "unit": "gb", "valid_from": mid})
	b, err := json.Marshal(book)
	if err != nil {
		panic(err)
	}
	return b
}

// IngestTraffic serves a fresh database in dataDir, provisions n waypoints (not timed)
// and measures the ingest of hours hourly batches of their samples through the HTTP API.
// progress, when set, is called with the samples of each answered batch.
func IngestTraffic(ctx context.Context, dataDir string, n, hours, clients int, progress func(samples int)) (IngestResult, error) {
	srv, err := StartServer(ctx, dataDir, 2*n)
	if err != nil {
		return IngestResult{}, err
	}
	batches := make([]demo.Batch, hours)
	for h := range hours {
		batches[h] = TrafficHour(n, h)
	}
	var res IngestResult
	if err = srv.post(ctx, TrafficProvisions(n)); err == nil {
		var elapsed, cpu time.Duration
		elapsed, cpu, err = srv.ingest(ctx, batches, clients, progress)
		res = IngestResult{Events: Count(batches), Batches: len(batches), Clients: max(clients, 1), Elapsed: elapsed, CPU: cpu}
	}
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	return res, err
}

// PrepareTraffic fills dataDir (a fresh one) with TrafficPrices, n waypoints and days
// days of their hourly samples, ingested through the service an hour at a time (not
// timed: it is set-up). progress, when set, is called after each hour with the samples
// ingested so far and in all.
func PrepareTraffic(ctx context.Context, dataDir string, n, days int, progress func(done, total int)) (*ReportData, error) {
	st, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	if _, err := svc.PutPrices(ctx, service.SystemKey, TrafficPrices()); err != nil {
		return nil, err
	}
	d := &ReportData{DataDir: dataDir, Resources: n, From: demo.Month.Unix(), To: demo.Month.AddDate(0, 0, days).Unix() - 1}
	ingest := func(b demo.Batch) error {
		evs, err := ledger.DecodeBatch(BatchMedia, b.JSON, ledger.Limits{})
		if err != nil {
			return err
		}
		if _, err := svc.Ingest(ctx, service.SystemKey, evs); err != nil {
			return err
		}
		d.Events += len(evs)
		return nil
	}
	if err := ingest(TrafficProvisions(n)); err != nil {
		return nil, err
	}
	total := n + 2*n*24*days
	for h := range 24 * days {
		if err := ingest(TrafficHour(n, h)); err != nil {
			return nil, fmt.Errorf("hour %d: %w", h, err)
		}
		if progress != nil {
			progress(d.Events, total)
		}
	}
	return d, nil
}

// BuildTraffic measures service.Utilization of user 1 over d's window (the network
// report of every waypoint), runs times; encode adds metalsoft.DetailedJSON. Records
// counts the network report's metered_waypoints records.
func (d *ReportData) BuildTraffic(ctx context.Context, runs int, encode bool) (ReportResult, error) {
	return d.build(ctx, runs, encode, func(u *report.Utilization) int { return len(u.Traffic) })
}

// The network report over a short and a long window of one data set (issue 10: cost
// grows with the window asked for, never with what is stored). Waypoints of user 1 as
// above (hourly periods, infrastructures of 100) are provisioned at TrafficYearStart,
// twelve months before demo.Month, and meter one cumulative counter reading per
// direction a day, at 12:30, up to the last day of demo.Month's month: 397 days, reset on
// the 100th. A report reads the day and month totals of the window, never samples, so
// one reading a day makes the same rows to read as a reading an hour, at a 24th of the
// set-up. The upload price changes at demo.Month (0.06 per GB, then 0.07), inside both
// windows; downloads cost 0.01. Both windows end at TrafficWindowsEnd (the end of
// 2024-12-15): the long one is the 12 months from 2023-12-16, the short one its last
// days (30: from 2024-11-16). Neither starts or ends on a month, and the data extends
// past both ends.
var (
	// TrafficYearStart is the provision of the waypoints (2023-12-01).
	TrafficYearStart = demo.Month.AddDate(-1, 0, 0)
	// TrafficYearDays is the number of days of readings (to 2024-12-31).
	TrafficYearDays = int(demo.Month.AddDate(0, 1, 0).Sub(TrafficYearStart).Hours() / 24)
	// TrafficWindowsEnd is the second after both windows (2024-12-16T00:00:00Z).
	TrafficWindowsEnd = demo.Month.AddDate(0, 0, 15)
)

// TrafficWindowsProvisions returns the provisions of n waypoints at TrafficYearStart as
// one batch.
func TrafficWindowsProvisions(n int) demo.Batch {
	evs := make([]json.RawMessage, n)
	at := cloudmeter.FormatTime(TrafficYearStart.Unix())
	for i := range n {
		p := FirstWaypointID + i
		infra := 90000 + i/100
		evs[i] = json.RawMessage(fmt.Sprintf(`{"specversion":"1.0","id":"wy-%d-p","source":"bench/provisioner","time":%q,"type":"cloudmeter.resource.provisioned",`+
			`"data":{"product_id":%d,"resource_type":"network","user_id":1,"infrastructure_id":%d,"infrastructure_label":"net-%d","datacenter":"uk-reading",`+
			`"label":"wan-%d","subdomain":"wan-%d.net-%d.1.bench","attributes":{"measurement_period":3600}}}`, p, at, p, infra, infra, p, p, infra))
	}
	return demo.Batches(evs, n)[0]
}

// TrafficWindowsDay returns day's readings of n waypoints (2n events, day 0 being
// TrafficYearStart's) as one batch.
func TrafficWindowsDay(n, day int) demo.Batch {
	evs := make([]json.RawMessage, 0, 2*n)
	at := cloudmeter.FormatTime(TrafficYearStart.AddDate(0, 0, day).Unix() + 12*3600 + 1800)
	for i := range n {
		p := FirstWaypointID + i
		for _, dir := range []string{"download", "upload"} {
			step := TrafficWindowsStep(i, dir)
			k := int64(day + 1)
			if day >= 99 {
				k = int64(day - 99 + 1)
			}
			evs = append(evs, json.RawMessage(fmt.Sprintf(`{"specversion":"1.0","id":"wy-%d-%s-%d","source":"bench/meter","time":%q,"type":"cloudmeter.traffic.metered",`+
				`"data":{"product_id":%d,"direction":%q,"counter":%d}}`, p, dir, day, at, p, dir, k*step)))
		}
	}
	return demo.Batches(evs, len(evs))[0]
}

// TrafficWindowsStep is what waypoint i (counted from 0) meters a day in direction dir:
// about 12 to 48 GB, growing with the waypoint.
func TrafficWindowsStep(i int, dir string) int64 {
	step := int64(1<<29) + int64(i%64)<<24
	if dir == "upload" {
		step += 1 << 28
	}
	return 24 * step
}

// TrafficWindowsData is the data set of the network report over two windows.
type TrafficWindowsData struct {
	DataDir     string
	DatabaseURL string // "" for SQLite in DataDir
	Waypoints   int
	Events      int
	// Short and Long are the reports of the two windows.
	Short, Long ReportData
}

// PrepareTrafficWindows fills dataDir (a fresh one), or the empty PostgreSQL database at
// databaseURL when it is set, with the price book and n waypoints' TrafficYearDays days
// of readings, ingested through the service a day at a time (not timed: it is set-up).
// The short window is the last shortDays days of the long one. progress, when set, is
// called after each day with the samples ingested so far and in all.
func PrepareTrafficWindows(ctx context.Context, dataDir, databaseURL string, n, shortDays int, progress func(done, total int)) (*TrafficWindowsData, error) {
	end := TrafficWindowsEnd.Unix() - 1
	d := &TrafficWindowsData{DataDir: dataDir, DatabaseURL: databaseURL, Waypoints: n,
		Short: ReportData{DataDir: dataDir, DatabaseURL: databaseURL, Resources: n, From: TrafficWindowsEnd.AddDate(0, 0, -shortDays).Unix(), To: end},
		Long:  ReportData{DataDir: dataDir, DatabaseURL: databaseURL, Resources: n, From: TrafficWindowsEnd.AddDate(-1, 0, 0).Unix(), To: end}}
	batches := make([]demo.Batch, 0, 1+TrafficYearDays)
	batches = append(batches, TrafficWindowsProvisions(n))
	for day := range TrafficYearDays {
		batches = append(batches, TrafficWindowsDay(n, day))
	}
	var err error
	d.Events, err = load(ctx, dataDir, databaseURL, trafficPrices(demo.Month), batches, progress)
	d.Short.Events, d.Long.Events = d.Events, d.Events
	if err != nil {
		return nil, err
	}
	return d, nil
}

// WindowsResult is the network report over the short and the long window, measured in
// turns.
type WindowsResult struct {
	Short, Long ReportResult
}

// Ratio is the long window's median over the short one's.
func (r WindowsResult) Ratio() float64 {
	return float64(r.Long.Median()) / float64(max(r.Short.Median(), 1))
}

// CPURatio is the long window's CPU time per report over the short one's.
func (r WindowsResult) CPURatio() float64 {
	return float64(r.Long.CPU) / float64(max(r.Short.CPU, 1))
}

// Measure measures service.Utilization of user 1 over the short and the long window in
// turns (short, long, short, ...), runs times each, on one store opened on the data set,
// after one warm-up of each; encode adds metalsoft.DetailedJSON to each run. Records
// counts each report's metered_waypoints records.
func (d *TrafficWindowsData) Measure(ctx context.Context, runs int, encode bool) (WindowsResult, error) {
	var res WindowsResult
	st, err := storeopen.Open(ctx, d.DataDir, d.DatabaseURL)
	if err != nil {
		return res, err
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	var cpus [2][]time.Duration
	for i := -1; i < runs; i++ {
		for w, out := range []*ReportResult{&res.Short, &res.Long} {
			win := &d.Short
			if w == 1 {
				win = &d.Long
			}
			runtime.GC() // no run pays for the garbage of the one before
			start, cpu0 := time.Now(), CPUTime()
			u, err := svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: 1, Start: win.From, End: win.To})
			if err != nil {
				return res, err
			}
			if encode {
				out.Bytes = len(metalsoft.DetailedJSON(u))
			}
			elapsed, cpu := time.Since(start), CPUTime()-cpu0
			out.Records = len(u.Traffic)
			if i >= 0 {
				out.Runs = append(out.Runs, elapsed)
				cpus[w] = append(cpus[w], cpu)
			}
		}
	}
	res.Short.CPU, res.Long.CPU = Median(cpus[0]), Median(cpus[1])
	return res, nil
}

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/ledger"
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
func TrafficPrices() []byte {
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
	mid := cloudmeter.FormatTime(demo.Month.AddDate(0, 0, 15).Unix())
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

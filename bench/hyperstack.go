package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/service"
)

// HyperstackUsagePath is the Hyperstack-compatible usage endpoint (every VM and volume of
// the caller's organization over its whole life).
const HyperstackUsagePath = "/v1/billing/billing/usage"

// CustomerKey makes a key with no permission for user, directly on the store in dataDir
// (or at databaseURL when it is set): a customer's key, which sees its own organization.
// Make it before the server starts.
func CustomerKey(ctx context.Context, dataDir, databaseURL string, user int64) (string, error) {
	st, err := storeopen.Open(ctx, dataDir, databaseURL)
	if err != nil {
		return "", err
	}
	defer st.Close()
	key, _, err := service.New(st, service.Options{}).CreateKey(ctx, service.SystemKey, user, nil, "bench customer")
	return key, err
}

// HyperstackUsage measures GET /v1/billing/billing/usage with key (in the api_key
// header), runs times after one warm-up: each run's time to the last byte of the answer.
// Records counts the resources of the answer, Bytes its size.
func HyperstackUsage(ctx context.Context, srv *Server, key string, runs int) (ReportResult, error) {
	var res ReportResult
	var cpus []time.Duration
	for i := -1; i < runs; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+HyperstackUsagePath, nil)
		if err != nil {
			return res, err
		}
		req.Header["Api_key"] = []string{key}
		runtime.GC()
		start, cpu0 := time.Now(), CPUTime()
		resp, err := srv.Client.Do(req)
		if err != nil {
			return res, err
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		elapsed, cpu := time.Since(start), CPUTime()-cpu0
		if err != nil {
			return res, err
		}
		if resp.StatusCode != http.StatusOK {
			return res, fmt.Errorf("GET %s: %s: %.300s", HyperstackUsagePath, resp.Status, out)
		}
		var parsed struct {
			Status bool              `json:"status"`
			Data   []json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(out, &parsed); err != nil || !parsed.Status {
			return res, fmt.Errorf("GET %s: not a usage answer (%v): %.300s", HyperstackUsagePath, err, out)
		}
		res.Bytes, res.Records = len(out), len(parsed.Data)
		if i >= 0 {
			res.Runs = append(res.Runs, elapsed)
			cpus = append(cpus, cpu)
		}
	}
	res.CPU = Median(cpus)
	return res, nil
}

// Lifetime returns the data set with its window widened to hold every resource's whole
// life up to now (demo.Cloud provisions some resources up to 45 days before the month),
// so that a MetalSoft report of it covers what the usage endpoint does.
func (d *ReportData) Lifetime(now time.Time) *ReportData {
	life := *d
	life.From = time.Unix(d.From, 0).UTC().AddDate(0, 0, -46).Unix()
	life.To = now.Unix()
	if max := time.Unix(life.From, 0).UTC().AddDate(service.DefaultLimits.MaxReportYears, 0, 0).Unix(); life.To > max {
		life.To = max // the longest window a report may have
	}
	return &life
}

// WindowText describes the data set's window.
func (d *ReportData) WindowText() string {
	return cloudmeter.FormatTime(d.From) + " to " + cloudmeter.FormatTime(d.To)
}

package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/export"
	"github.com/cloudmeter/cloudmeter/service"
)

// The fixed data set's marketplace installations and export target (see world):
//
//   - installation "GPU Co" of user 1 in USD, which submitted billing data for 9 January
//     2025 (two items, one discount) and an invoice for December 2024 through the partner
//     API, then finalized its billing;
//   - installation "DB Co" of user 2 in EUR, uninstalled, which submitted nothing;
//   - export target "finance" for user 1, sending to a recording receiver on loopback,
//     whose worker ran three rounds: the first delivery was accepted, the second refused
//     (400), the third is pending after a 503.
const exportToken = "tok-dashboard-5e1c0a77d2"

// receiver is the export target's billing system: it records each request's
// Authorization header and answers 201, then 400, then 503.
type receiver struct {
	mu    sync.Mutex
	auths []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	rc.mu.Lock()
	rc.auths = append(rc.auths, r.Header.Get("Authorization"))
	n := len(rc.auths)
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch n {
	case 1:
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{}`))
	case 2:
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":{"code":"validation_error","message":"billing.items[0].resourceId: unknown resource"}}`))
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":{"code":"unavailable","message":"maintenance"}}`))
	}
}

// addPartners adds the installations and the export target to a served world.
func addPartners(t testing.TB, w *world) {
	t.Helper()
	ctx := context.Background()
	sys := service.SystemKey
	token, gpu, err := w.svc.CreateInstallation(ctx, sys, "GPU Co", 1, "USD")
	if err != nil {
		t.Fatal(err)
	}
	_, db, err := w.svc.CreateInstallation(ctx, sys, "DB Co", 2, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Uninstall(ctx, sys, db.ID); err != nil {
		t.Fatal(err)
	}
	w.replace[gpu.ID], w.replace[db.ID] = "icfg_GPU", "icfg_DB"
	partner := func(path, body string, want int) []byte {
		req, _ := http.NewRequest(http.MethodPost, w.url+"/v1/installations/"+gpu.ID+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d: %s", path, resp.StatusCode, want, b)
		}
		return b
	}
	partner("/billing", `{"timestamp":"2025-01-10T11:30:00.000Z","eod":"2025-01-10T00:00:00.000Z",`+
		`"period":{"start":"2025-01-01T00:00:00.000Z","end":"2025-02-01T00:00:00.000Z"},"billing":{"items":[`+
		`{"billingPlanId":"plan_gpu","resourceId":"res_gpu_1","name":"H100 GPU hours","price":"2.49","quantity":12.5,"units":"hour","total":"31.13"},`+
		`{"billingPlanId":"plan_gpu","resourceId":"res_gpu_1","name":"Block storage","price":"0.10","quantity":500,"units":"GB-month","total":"50.00"}],`+
		`"discounts":[{"billingPlanId":"plan_gpu","name":"Launch credit","amount":"5.00"}]},"usage":[]}`, http.StatusCreated)
	inv := partner("/billing/invoices", `{"externalId":"gpu-2024-12","invoiceDate":"2024-12-31T23:59:59.000Z","memo":"December GPU usage",`+
		`"period":{"start":"2024-12-01T00:00:00.000Z","end":"2025-01-01T00:00:00.000Z"},"items":[`+
		`{"billingPlanId":"plan_gpu","resourceId":"res_gpu_1","name":"H100 GPU hours","price":"2.49","quantity":100,"units":"hour","total":"249.00"}],`+
		`"discounts":[]}`, http.StatusOK)
	var invoice struct {
		InvoiceID string `json:"invoiceId"`
	}
	if err := json.Unmarshal(inv, &invoice); err != nil || invoice.InvoiceID == "" {
		t.Fatalf("the invoice's answer %s: %v", inv, err)
	}
	w.replace[invoice.InvoiceID] = "inv_GPU_2024_12"
	partner("/billing/finalize", "", http.StatusNoContent)

	rc := &receiver{}
	recv := httptest.NewServer(rc)
	t.Cleanup(recv.Close)
	w.replace[recv.URL] = "http://billing.example.test"
	if _, err := w.svc.PutExportTarget(ctx, sys, service.ExportTargetRequest{ID: "finance", URL: recv.URL, ConfigurationID: "icfg_finance_01",
		Token: exportToken, Users: []int64{1}, Schedule: time.Hour}); err != nil {
		t.Fatal(err)
	}
	clock := worldNow.Add(-3 * time.Hour)
	worker, err := export.New(export.Config{Service: w.svc, Now: func() time.Time { return clock }, Logger: slog.New(slog.DiscardHandler),
		MinBackoff: time.Hour, MaxBackoff: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		if _, err := worker.Round(ctx, true); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Hour)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.auths) != 3 {
		t.Fatalf("the receiver got %d requests, want 3", len(rc.auths))
	}
	for _, a := range rc.auths {
		if a != "Bearer "+exportToken {
			t.Fatalf("the receiver got Authorization %q, want the target's token", a)
		}
	}
}

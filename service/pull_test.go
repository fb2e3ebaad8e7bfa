package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

// TestImportPulledOneCurrency: records pulled in another currency than the price book in
// force are refused, naming both, and nothing of them is stored; records in the book's
// currency, or from a source that names none, are imported.
func TestImportPulledOneCurrency(t *testing.T) {
	ctx := context.Background()
	st, err := storeopen.Open(ctx, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	svc := service.New(st, service.Options{Now: func() time.Time { return now }})
	if _, err := svc.PutPrices(ctx, service.SystemKey, []byte(`{"currency":"GBP","entries":[{"resource_type":"instance","price":"0.31","unit":"item","period_seconds":3600}]}`)); err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC).Unix()
	rec := func(currency string) cloudmeter.PulledRecord {
		return cloudmeter.PulledRecord{Source: "metalsoft:a", UserID: 1, InfrastructureID: 5, Type: cloudmeter.ResourceInstance, ProductID: 7,
			Start: from + 60, End: from + 3659, Quantity: 3600, MeasurementPeriod: 3600, CostPerUnit: money.Amount(31e6), Cost: money.Amount(31e6), Currency: currency}
	}
	window := cloudmeter.PullWindow{Source: "metalsoft:a", UserID: 1, From: from, To: to}

	_, err = svc.ImportPulled(ctx, service.SystemKey, window, []cloudmeter.PulledRecord{rec("USD")})
	if cloudmeter.KindOf(err) != cloudmeter.KindConflict || !containsAll(cloudmeter.MessageOf(err), "USD", "GBP", "nothing was imported") {
		t.Fatalf("records in USD under a GBP book: error %v, want a conflict naming both", err)
	}
	if ws, err := svc.PullWindows(ctx, service.SystemKey, "", 0); err != nil || len(ws) != 0 {
		t.Fatalf("after the refusal: windows %v, %v; want none stored", ws, err)
	}
	for _, currency := range []string{"GBP", ""} {
		if _, err := svc.ImportPulled(ctx, service.SystemKey, window, []cloudmeter.PulledRecord{rec(currency)}); err != nil {
			t.Errorf("records in %q under a GBP book: %v", currency, err)
		}
	}
	u, err := svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: 1, Start: from, End: to})
	if err != nil {
		t.Fatal(err)
	}
	if u.Currency != "GBP" || u.Total != money.Amount(31e6) || len(u.Records) != 1 {
		t.Errorf("report: %s %s over %d records; want the pulled 0.31000000 GBP once", u.Total, u.Currency, len(u.Records))
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

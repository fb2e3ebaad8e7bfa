package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/export"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// seedService is a service over a new SQLite store holding the seed example, its clock
// at now.
func seedService(t *testing.T, now time.Time) *service.Service {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := service.New(st, service.Options{Now: func() time.Time { return now }})
	if _, err := svc.PutPrices(ctx, service.SystemKey, demo.SeedPrices); err != nil {
		t.Fatal(err)
	}
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", demo.SeedEvents, ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Ingest(ctx, service.SystemKey, evs); err != nil {
		t.Fatal(err)
	}
	return svc
}

var seedTarget = cloudmeter.ExportTarget{ID: "seed", URL: "https://billing.example", ConfigurationID: "icfg_cloudmeter_test", Token: "secret-token",
	Users: []int64{1}, Schedule: 3600, OpenPeriod: "2016-01"}

// TestRoundGolden: the round that runs on 2016-02-03 for a target whose open period is
// January closes January (final billing, invoice, finalize) and bills February so far,
// on the seed example: the bodies byte for byte, and the same when built again.
func TestRoundGolden(t *testing.T) {
	now := time.Date(2016, 2, 3, 12, 0, 0, 0, time.UTC)
	svc := seedService(t, now)
	b := export.Builder{Service: svc}
	ds, open, err := b.Round(context.Background(), seedTarget, now)
	if err != nil {
		t.Fatal(err)
	}
	if open != "2016-02" {
		t.Errorf("open period after the round %q, want 2016-02", open)
	}
	var out bytes.Buffer
	for _, d := range ds {
		out.WriteString(string(d.Kind) + " " + d.Period + " POST " + d.Path + "\n")
		if d.Body != nil {
			var v bytes.Buffer
			json.Indent(&v, d.Body, "", "  ")
			out.Write(v.Bytes())
			out.WriteString("\n")
		}
	}
	testutil.Golden(t, "testdata/round.golden", out.Bytes())

	again, _, err := b.Round(context.Background(), seedTarget, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ds {
		if !bytes.Equal(ds[i].Body, again[i].Body) {
			t.Errorf("delivery %d built again differs", i)
		}
	}
	// The invoice's items add up to January's report.
	u, err := svc.Utilization(context.Background(), service.SystemKey, service.ReportRequest{UserID: 1, Start: 1451606400, End: 1454284799})
	if err != nil {
		t.Fatal(err)
	}
	var inv export.Invoice
	if err := json.Unmarshal(ds[1].Body, &inv); err != nil {
		t.Fatal(err)
	}
	var totals []money.Amount
	for _, it := range inv.Items {
		a, err := money.ParseAmount(it.Total)
		if err != nil {
			t.Fatal(err)
		}
		totals = append(totals, a)
	}
	if sum, _ := money.SumAmounts(totals...); sum != u.Total || inv.ExternalID != "cloudmeter-seed-2016-01" || !inv.Final {
		t.Errorf("invoice %s: items total %s, January's report %s", inv.ExternalID, sum, u.Total)
	}
}

// TestRoundEmptyMonth: a month without usage is closed without an invoice (an invoice
// holds at least one item).
func TestRoundEmptyMonth(t *testing.T) {
	now := time.Date(2016, 2, 3, 12, 0, 0, 0, time.UTC)
	svc := seedService(t, now)
	tg := seedTarget
	tg.OpenPeriod = "2015-12"
	ds, _, err := export.Builder{Service: svc}.Round(context.Background(), tg, now)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, d := range ds {
		kinds = append(kinds, string(d.Kind)+" "+d.Period)
	}
	want := "billing 2015-12,finalize 2015-12,billing 2016-01,invoice 2016-01,finalize 2016-01,billing 2016-02"
	if got := strings.Join(kinds, ","); got != want {
		t.Errorf("deliveries %s, want %s", got, want)
	}
}

func TestPlanID(t *testing.T) {
	st, dc, user := int64(12), "uk-reading", int64(7)
	ssd, up := "iscsi_ssd", "upload"
	for _, c := range []struct {
		name string
		got  string
		want string
	}{
		{"Pulled", export.PlanID(cloudmeter.ResourceInstance, nil, "metalsoft x"), "pulled.instance"},
		{"Unpriced", export.PlanID(cloudmeter.ResourceDrive, nil, ""), "unpriced.drive"},
		{"Default", export.PlanID(cloudmeter.ResourceInstance, &pricebook.Entry{ResourceType: cloudmeter.ResourceInstance}, ""), "instance"},
		{"Discriminators", export.PlanID(cloudmeter.ResourceInstance, &pricebook.Entry{ResourceType: cloudmeter.ResourceInstance, ServerTypeID: &st,
			Datacenter: &dc, UserID: &user}, ""), "instance.server_type_12.dc_uk-reading.user_7"},
		{"Storage", export.PlanID(cloudmeter.ResourceDrive, &pricebook.Entry{ResourceType: cloudmeter.ResourceDrive, StorageType: &ssd}, ""), "drive.iscsi_ssd"},
		{"Direction", export.PlanID(cloudmeter.ResourceNetwork, &pricebook.Entry{ResourceType: cloudmeter.ResourceNetwork, Direction: &up}, ""), "network.upload"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

// TestBackoff: the wait doubles from min with each attempt up to max, and jitter takes
// it anywhere in the upper half, never beyond.
func TestBackoff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		minD := time.Duration(rapid.Int64Range(1, int64(time.Minute)).Draw(t, "min"))
		maxD := minD * time.Duration(rapid.Int64Range(1, 1000).Draw(t, "factor"))
		n := rapid.Int64Range(1, 200).Draw(t, "attempt")
		j := rapid.Float64Range(0, 0.999999).Draw(t, "jitter")
		d := export.Backoff(n, minD, maxD, j)
		ceil := minD
		for i := int64(1); i < n && ceil < maxD; i++ {
			ceil *= 2
		}
		ceil = min(ceil, maxD)
		if d < ceil/2 || d > ceil {
			t.Fatalf("Backoff(%d, %v, %v, %v) = %v, want in [%v, %v]", n, minD, maxD, j, d, ceil/2, ceil)
		}
		if export.Backoff(n+1, minD, maxD, j) < d {
			t.Fatalf("the wait shrank from attempt %d to %d", n, n+1)
		}
	})
}

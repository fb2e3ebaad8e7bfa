package dashboard_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/service"
)

// TestLinesShowInstallments: a month whose total holds reservation installments shows
// them on the lines page and in its CSV, so that the lines add up to the total the page
// and the JSON-RPC report give.
func TestLinesShowInstallments(t *testing.T) {
	w := newWorld(t, worldEvents())
	price, _ := money.ParseAmount("150.00")
	if _, err := w.svc.CreateReservations(context.Background(), service.SystemKey, service.ReservationRequest{UserID: 1, ServerTypeID: 12,
		ServerTypeName: "M.40.256", Datacenter: "uk-reading", Price: price, Start: time.Date(2024, 11, 16, 0, 0, 0, 0, time.UTC).Unix()}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, w.url)
	b.signIn(w.customer)
	p := b.get("/ui/users/1/lines?month=2024-12")
	if !strings.Contains(p.body, "reservation 1") || !strings.Contains(p.body, "150.00000000 GBP") {
		t.Errorf("the lines page does not show the installment of reservation 1 (150.00000000 GBP)")
	}
	rows, err := csv.NewReader(strings.NewReader(b.get("/ui/users/1/lines.csv?month=2024-12").body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sum money.Amount
	installments := 0
	for _, r := range rows[1:] {
		c, err := money.ParseAmount(r[13])
		if err != nil {
			t.Fatalf("cost %q: %v", r[13], err)
		}
		sum += c
		if r[0] == "installment" {
			installments++
		}
	}
	sum2 := rpcSummary(t, w, w.customer, 1, "2024-12-01T00:00:00Z", "2024-12-31T23:59:59Z")["total_cost"]
	if installments != 1 || sum.String() != sum2 {
		t.Errorf("the CSV holds %d installment lines and its costs add up to %s; want 1 and the report's total_cost %v", installments, sum, sum2)
	}

	// The overview says how much of each month's total the installments are.
	got := figures(t, b.get("/ui/overview?user=1&month=2024-12").body)
	for prefix, month := range map[string][2]string{"": {"2024-12-01T00:00:00Z", "2024-12-31T23:59:59Z"}, "prev:": {"2024-11-01T00:00:00Z", "2024-11-30T23:59:59Z"}} {
		want := rpcSummary(t, w, w.customer, 1, month[0], month[1])["reservation_installments_cost"]
		if got[prefix+"reservation_installments_cost"] != fmt.Sprint(want)+" GBP" {
			t.Errorf("overview %sreservation_installments_cost %q; want the summary's %v GBP", prefix, got[prefix+"reservation_installments_cost"], want)
		}
	}
}

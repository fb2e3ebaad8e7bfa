package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/server"
)

// mpSubmission is billing data for the day that ends at eod, stamped ts, whose one item
// bills n units of 1.00: its total tells which submission a slot kept.
func mpSubmission(ts time.Time, eod string, n int) []byte {
	return []byte(fmt.Sprintf(`{"timestamp":%q,"eod":%q,"period":{"start":"2026-12-01T00:00:00.000Z","end":"2027-01-01T00:00:00.000Z"},`+
		`"billing":[{"billingPlanId":"p","name":"GPU hours","price":"1.00","quantity":%d,"units":"hour","total":"%d.00"}],"usage":[]}`,
		ts.Format("2006-01-02T15:04:05.000Z"), eod, n, n))
}

// TestMarketplaceLatestWinsRacing sends the same day's billing data concurrently, with
// shuffled timestamps, through three servers on one PostgreSQL database (one server on
// SQLite), and checks that the day and the month keep the submission with the latest
// timestamp; then that a second day of the month, submitted with older timestamps, takes
// its day and leaves the month to the latest.
func TestMarketplaceLatestWinsRacing(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		e := startMarketplace(t, eng)
		urls := []string{e.URL}
		if eng == e2etest.Postgres {
			for range 2 {
				srv, err := testserver.Start(context.Background(), t.TempDir(), e.DatabaseURL,
					server.Config{Now: func() time.Time { return mpNow }, Logger: slog.New(slog.DiscardHandler), ShutdownTimeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { srv.Close() })
				urls = append(urls, srv.URL)
			}
		}
		base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		send := func(t *testing.T, eod string, order []int, offset time.Duration) {
			t.Helper()
			var wg sync.WaitGroup
			for k, n := range order {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, urls[k%len(urls)]+"/v1/installations/"+e.ID+"/billing",
						strings.NewReader(string(mpSubmission(base.Add(offset+time.Duration(n)*time.Millisecond), eod, n))))
					req.Header.Set("Authorization", "Bearer "+e.Token)
					req.Header.Set("Content-Type", "application/json")
					if r := e.Send(t, req); r.Status != http.StatusCreated {
						t.Errorf("submission %d: status %d: %s", n, r.Status, r.Body)
					}
				}()
			}
			wg.Wait()
		}
		kept := func(t *testing.T) (days, months map[string]string) {
			t.Helper()
			r := e.Do(t, http.MethodGet, "/api/v1/installations/"+e.ID+"/billing?from=2026-12-01T00:00:00Z&to=2026-12-31T00:00:00Z", e.AdminKey, "", nil)
			e2etest.MustStatus(t, r, http.StatusOK, "native billing")
			var b struct {
				Days, Months []struct{ Start, Timestamp, Total string }
			}
			if err := json.Unmarshal(r.Body, &b); err != nil {
				t.Fatal(err)
			}
			days, months = map[string]string{}, map[string]string{}
			for _, d := range b.Days {
				days[d.Start] = d.Total + " at " + d.Timestamp
			}
			for _, m := range b.Months {
				months[m.Start] = m.Total + " at " + m.Timestamp
			}
			return days, months
		}
		const n = 36
		rng := rand.New(rand.NewSource(12))
		for round := range 3 {
			order := rng.Perm(n)
			// Each round's timestamps are later than the last's, so each round takes over.
			send(t, "2026-12-02T00:00:00.000Z", order, time.Duration(round)*time.Second)
			days, months := kept(t)
			latest := base.Add(time.Duration(round)*time.Second + (n-1)*time.Millisecond).Format("2006-01-02T15:04:05.000Z")
			want := fmt.Sprintf("%d.00 at %s", n-1, latest)
			if days["2026-12-01T00:00:00Z"] != want || months["2026-12-01T00:00:00Z"] != want || len(days) != 1 {
				t.Fatalf("round %d: days %v, months %v; want %s kept", round, days, months, want)
			}
		}
		// 2 December, stamped before what the month holds: it takes its day only.
		send(t, "2026-12-03T00:00:00.000Z", rng.Perm(n), -time.Second)
		days, months := kept(t)
		want2 := fmt.Sprintf("%d.00 at %s", n-1, base.Add(-time.Second+(n-1)*time.Millisecond).Format("2006-01-02T15:04:05.000Z"))
		want1 := fmt.Sprintf("%d.00 at %s", n-1, base.Add(2*time.Second+(n-1)*time.Millisecond).Format("2006-01-02T15:04:05.000Z"))
		if days["2026-12-02T00:00:00Z"] != want2 || days["2026-12-01T00:00:00Z"] != want1 || months["2026-12-01T00:00:00Z"] != want1 {
			t.Errorf("days %v, months %v; want 2 December %s, 1 December and the month %s", days, months, want2, want1)
		}
	})
}

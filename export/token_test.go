package export_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/export"
	"github.com/cloudmeter/cloudmeter/internal/keyseal"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func sealer(t *testing.T, secret string) *keyseal.Sealer {
	t.Helper()
	s, err := keyseal.New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealedToken: with a server secret, an export target's token is stored sealed (the
// row holds neither the token nor anything that opens without the secret) and is sent
// opened; a process without that secret keeps the delivery pending, nothing lost, and
// says why without the token.
func TestSealedToken(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2016, 1, 20, 12, 0, 0, 0, time.UTC)
	const token = "tok-export-7f3a9c"
	var (
		mu    sync.Mutex
		auths []string
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{}`))
	}))
	defer receiver.Close()

	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := func() time.Time { return now }
	withSecret := service.New(st, service.Options{Now: clock, Sealer: sealer(t, strings.Repeat("s", 32))})
	if _, err := withSecret.PutPrices(ctx, service.SystemKey, demo.SeedPrices); err != nil {
		t.Fatal(err)
	}
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", demo.SeedEvents, ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := withSecret.Ingest(ctx, service.SystemKey, evs); err != nil {
		t.Fatal(err)
	}
	req := service.ExportTargetRequest{ID: "sealed", URL: receiver.URL, ConfigurationID: "icfg_sealed", Token: token, Users: []int64{1}}
	if _, err := withSecret.PutExportTarget(ctx, service.SystemKey, req); err != nil {
		t.Fatal(err)
	}

	var stored string
	if err := st.DB().QueryRowContext(ctx, `SELECT token FROM export_targets WHERE target_id = 'sealed'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "sealed:v1:") || strings.Contains(stored, token) {
		t.Fatalf("stored token %q: want it sealed, without the token", stored)
	}
	// The same sealed value under another target's id does not open.
	other := cloudmeter.ExportTarget{ID: "other", Token: cloudmeter.Secret(stored)}
	if _, err := withSecret.ExportToken(other); cloudmeter.KindOf(err) != cloudmeter.KindUnavailable {
		t.Errorf("sealed token moved to another target: error %v, want unavailable", err)
	}
	// Under another server secret it does not open either, and the message holds no token.
	wrong := service.New(st, service.Options{Now: clock, Sealer: sealer(t, strings.Repeat("w", 32))})
	if _, err := wrong.ExportToken(cloudmeter.ExportTarget{ID: "sealed", Token: cloudmeter.Secret(stored)}); cloudmeter.KindOf(err) != cloudmeter.KindUnavailable {
		t.Errorf("another server secret: error %v, want unavailable", err)
	}
	if _, err := withSecret.PutExportTarget(ctx, service.SystemKey, service.ExportTargetRequest{ID: "x", URL: receiver.URL,
		ConfigurationID: "icfg_x", Token: cloudmeter.Secret(stored), Users: []int64{1}}); cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
		t.Errorf("a token that looks sealed: error %v, want invalid", err)
	}

	// A process without the secret: the round is enqueued, its deliveries stay pending.
	without := service.New(st, service.Options{Now: clock})
	w, err := export.New(export.Config{Service: without, Now: clock, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Round(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Enqueued == 0 || res.Sent != 0 || res.Failed != 0 || res.Retried != res.Enqueued {
		t.Errorf("round without the secret: %+v, want every delivery kept to retry", res)
	}
	if len(auths) != 0 {
		t.Errorf("the receiver was called %d times without the token being opened", len(auths))
	}
	statuses, err := without.ExportStatuses(ctx, service.SystemKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 1 || statuses[0].Pending != int64(res.Enqueued) {
		t.Fatalf("status %+v: want %d pending", statuses, res.Enqueued)
	}

	// With the secret, once the retry is due: sent, with the token opened.
	now = now.Add(time.Hour)
	w, err = export.New(export.Config{Service: withSecret, Now: clock, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	res, err = w.Round(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Failed != 0 {
		t.Errorf("round with the secret: %+v, want the pending deliveries sent", res)
	}
	for _, a := range auths {
		if a != "Bearer "+token {
			t.Errorf("receiver got Authorization %q, want the opened token", a)
		}
	}
}

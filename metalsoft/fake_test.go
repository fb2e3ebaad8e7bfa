package metalsoft_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
	"github.com/cloudmeter/cloudmeter/internal/testutil"
	"github.com/cloudmeter/cloudmeter/metalsoft"
	"github.com/cloudmeter/cloudmeter/service"
)

// fakeStore is an in-memory cloudmeter.Store holding spans as given, so that the
// adapter is tested without a database. Methods a report does not use are left to the
// embedded nil interface (calling one panics, which the test would see).
type fakeStore struct {
	cloudmeter.Store

	mu     sync.Mutex
	keys   map[string]cloudmeter.APIKey // by hash
	users  map[int64]bool
	infras []cloudmeter.Infrastructure
	book   []byte
	spans  []cloudmeter.Span
	// fail, when set, is returned by UserExists.
	fail error
	// waitForEnd, when set, makes UserExists wait for the request's context to end and
	// answer as a real store does then.
	waitForEnd bool
	// userChecks counts the calls of UserExists.
	userChecks int
	// queries records the span queries made.
	queries []cloudmeter.SpanQuery
}

func (f *fakeStore) KeyByHash(_ context.Context, hash string) (cloudmeter.APIKey, error) {
	if k, ok := f.keys[hash]; ok {
		return k, nil
	}
	return cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindNotFound, "API key not found").About(cloudmeter.SubjectAPIKey)
}

func (f *fakeStore) UserExists(ctx context.Context, user int64) (bool, error) {
	f.mu.Lock()
	f.userChecks++
	f.mu.Unlock()
	if f.waitForEnd {
		<-ctx.Done()
		return false, &cloudmeter.Error{Kind: cloudmeter.KindUnavailable, Message: "the request was cancelled or timed out", Err: ctx.Err()}
	}
	if f.fail != nil {
		return false, f.fail
	}
	return f.users[user], nil
}

func (f *fakeStore) Infrastructures(_ context.Context, user int64) ([]cloudmeter.Infrastructure, error) {
	var out []cloudmeter.Infrastructure
	for _, inf := range f.infras {
		if inf.UserID == user {
			out = append(out, inf)
		}
	}
	return out, nil
}

func (f *fakeStore) DatacenterExists(_ context.Context, name string) (bool, error) {
	for _, inf := range f.infras {
		if inf.Datacenter == name {
			return true, nil
		}
	}
	return false, nil
}

// PulledRecords: the fake holds no pulled records.
func (f *fakeStore) PulledRecords(context.Context, cloudmeter.PulledQuery) ([]cloudmeter.PulledRecord, error) {
	return nil, nil
}

func (f *fakeStore) PriceBookVersion(context.Context) (int64, error) {
	if f.book == nil {
		return 0, nil
	}
	return 1, nil
}

func (f *fakeStore) PriceBook(context.Context) (cloudmeter.StoredPriceBook, error) {
	if f.book == nil {
		return cloudmeter.StoredPriceBook{}, cloudmeter.Errorf(cloudmeter.KindNotFound, "no price book")
	}
	return cloudmeter.StoredPriceBook{Version: 1, Body: f.book}, nil
}

func (f *fakeStore) Spans(_ context.Context, q cloudmeter.SpanQuery) ([]cloudmeter.Span, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	var out []cloudmeter.Span
	for _, s := range f.spans {
		if s.UserID != q.UserID || s.End < q.From || s.Start > q.To {
			continue
		}
		if len(q.InfrastructureIDs) > 0 && !slices.Contains(q.InfrastructureIDs, s.InfrastructureID) {
			continue
		}
		if len(q.Datacenters) > 0 && !slices.Contains(q.Datacenters, s.Datacenter) {
			continue
		}
		out = append(out, s)
	}
	// The store's order: infrastructure, type, product, start.
	slices.SortStableFunc(out, func(a, b cloudmeter.Span) int {
		switch {
		case a.InfrastructureID != b.InfrastructureID:
			return cmpInt(a.InfrastructureID, b.InfrastructureID)
		case a.Type != b.Type:
			return strings.Compare(string(a.Type), string(b.Type))
		case a.ProductID != b.ProductID:
			return cmpInt(a.ProductID, b.ProductID)
		}
		return cmpInt(a.Start, b.Start)
	})
	return out, nil
}

func (f *fakeStore) lastQuery() cloudmeter.SpanQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queries) == 0 {
		return cloudmeter.SpanQuery{}
	}
	return f.queries[len(f.queries)-1]
}

func (f *fakeStore) queryCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queries)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Keys of the fake store.
const (
	adminKey = "1:admin-secret"    // user 1, admin
	readKey  = "1:reader-secret"   // user 1, utilization_reports_read
	ownKey   = "2:own-secret"      // user 2, events_write only
	noneUser = "9:unknown-secret0" // not stored
)

// fixedNow is the clock of the service under test.
var fixedNow = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

func t0(s string) int64 {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return tm.Unix()
}

func i64(v int64) *int64    { return &v }
func strp(v string) *string { return &v }

// seedSpans are the spans of the seed example's four records.
func seedSpans() []cloudmeter.Span {
	base := func(product int64, typ cloudmeter.ResourceType, label, sub, start, end string, a cloudmeter.Attributes) cloudmeter.Span {
		return cloudmeter.Span{UserID: 1, ProductID: product, InfrastructureID: 3668, Datacenter: "uk-reading", Type: typ,
			Label: label, Subdomain: sub, State: cloudmeter.StateActive, Attributes: a, Start: t0(start), End: t0(end)}
	}
	return []cloudmeter.Span{
		base(779, cloudmeter.ResourceSharedDrive, "new-shared-drive", "new-shared-drive.test.1.integration.metalsoft.io",
			"2016-01-22T14:39:04Z", "2016-01-25T09:54:39Z", cloudmeter.Attributes{SharedDriveSizeMBytes: i64(51200), StorageType: strp("iscsi_hdd")}),
		base(3727, cloudmeter.ResourceDrive, "drive-3727", "drive-3727.new-drive-array.d-lake.1.integration.metalsoft.io",
			"2016-02-01T12:58:15Z", "2016-02-04T10:31:03Z", cloudmeter.Attributes{DriveSizeMBytes: i64(41000), StorageType: strp("iscsi_ssd")}),
		base(2416, cloudmeter.ResourceInstance, "instance-2416", "instance-2416.new-instance-array.d-lake.1.integration.metalsoft.io",
			"2016-02-01T12:58:00Z", "2016-02-02T12:23:00Z", cloudmeter.Attributes{}),
		base(6378, cloudmeter.ResourceSubnet, "subnet-6378", "subnet-6378.wan.d-lake.1.integration.metalsoft.io",
			"2016-02-01T12:57:58Z", "2016-02-04T10:30:53Z", cloudmeter.Attributes{SubnetType: strp("ipv6"), SubnetPrefixSize: i64(64)}),
	}
}

// testAPI is the adapter over a fake store, served by httptest.
type testAPI struct {
	store *fakeStore
	url   string
	logs  *testutil.SyncBuffer
	// accessLogged receives a value after each access log line (apiConfig.accessLog),
	// which is written after the answer.
	accessLogged chan struct{}
}

// waitAccessLog waits for the access log line of a request answered.
func (a *testAPI) waitAccessLog(t *testing.T) {
	t.Helper()
	select {
	case <-a.accessLogged:
	case <-time.After(10 * time.Second):
		t.Fatal("no access log line")
	}
}

func newTestAPI(t *testing.T, spans []cloudmeter.Span) *testAPI {
	t.Helper()
	return newTestAPIWith(t, spans, apiConfig{opts: metalsoft.Options{MaxBodyBytes: 1 << 16}})
}

// apiConfig configures newTestAPIWith.
type apiConfig struct {
	opts metalsoft.Options
	// accessLog wraps the API as the server does: each request carries a reqinfo, and one
	// access log line per request is written to the same log, with the recorded failure.
	accessLog bool
	// deadline, when set, ends each request's context after it.
	deadline time.Duration
}

func newTestAPIWith(t *testing.T, spans []cloudmeter.Span, cfg apiConfig) *testAPI {
	t.Helper()
	st := &fakeStore{
		keys: map[string]cloudmeter.APIKey{
			service.HashKey(adminKey): {ID: "kadmin", UserID: 1, Permissions: []cloudmeter.Permission{cloudmeter.PermAdmin}},
			service.HashKey(readKey):  {ID: "kread", UserID: 1, Permissions: []cloudmeter.Permission{cloudmeter.PermUtilizationReportsRead}},
			service.HashKey(ownKey):   {ID: "kown", UserID: 2, Permissions: []cloudmeter.Permission{cloudmeter.PermEventsWrite}},
		},
		users: map[int64]bool{1: true, 2: true},
		infras: []cloudmeter.Infrastructure{
			{ID: 3668, UserID: 1, Label: "d-lake", Datacenter: "uk-reading", ServiceStatus: "deleted"},
			{ID: 4000, UserID: 1, Label: "lab", Datacenter: "us-santaclara", ServiceStatus: "active"},
			{ID: 9300, UserID: 2, Label: "own", Datacenter: "uk-reading", ServiceStatus: "active"},
		},
		book:  demo.SeedPrices,
		spans: spans,
	}
	a := &testAPI{store: st, logs: &testutil.SyncBuffer{}, accessLogged: make(chan struct{}, 100)}
	log := slog.New(slog.NewTextHandler(a.logs, nil))
	svc := service.New(st, service.Options{Now: func() time.Time { return fixedNow }, Logger: log})
	cfg.opts.Logger = log
	h := metalsoft.NewHandler(svc, cfg.opts)
	if cfg.deadline > 0 {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), cfg.deadline)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	if cfg.accessLog {
		next := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, info := reqinfo.New(r.Context())
			next.ServeHTTP(w, r.WithContext(ctx))
			if err := info.Err(); err != nil {
				log.Error("request failed", "route", info.Route(), "err", err)
			} else {
				log.Info("request", "route", info.Route())
			}
			a.accessLogged <- struct{}{}
		})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *testAPI) logText() string { return a.logs.String() }

// logLines returns the lines logged so far.
func (a *testAPI) logLines() []string {
	var out []string
	for _, l := range strings.Split(a.logs.String(), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (a *testAPI) userChecks() int {
	a.store.mu.Lock()
	defer a.store.mu.Unlock()
	return a.store.userChecks
}

// call posts body with key (none when empty) and no Content-Type, and returns the body.
func (a *testAPI) call(t *testing.T, key, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.url+metalsoft.Path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d, want 200: %s", resp.StatusCode, out)
	}
	return out
}

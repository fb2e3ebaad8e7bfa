// Package bench measures cloudmeter where its product targets are stated: ingest through
// the real HTTP API (events per second), the raw SQLite insert rate of the same rows on
// the same machine (the ceiling ingest is compared with), and the detailed utilization
// report of one user with 10,000 resources over a month, built in process and requested
// over JSON-RPC. The `go test -bench` functions of this package and `cloudmeter bench`
// both use it, so they measure the same thing.
//
// It starts real servers (server.Run on 127.0.0.1:0, with package testserver, as the
// tests do) over temporary data directories and never asserts on wall-clock time: it
// reports figures.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/httpapi"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/internal/testserver"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/metalsoft"
	"github.com/cloudmeter/cloudmeter/postgres"
	"github.com/cloudmeter/cloudmeter/report"
	"github.com/cloudmeter/cloudmeter/server"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// Targets stated by the product owner for a 2-core machine.
const (
	TargetIngestPerSecond = 50000
	TargetReport          = 100 * time.Millisecond
)

// BatchMedia is the Content-Type of an ingest request holding a JSON array of events.
const BatchMedia = "application/cloudevents-batch+json"

// Machine describes where the benchmarks run.
type Machine struct {
	CPUs       int    // logical CPUs this process may use
	GOMAXPROCS int    // Go's parallelism
	CPUModel   string // "model name" of /proc/cpuinfo, "" when unknown
	OS, Arch   string
	GoVersion  string
}

// DescribeMachine returns the machine the process runs on.
func DescribeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				m.CPUModel = strings.TrimSpace(value)
				break
			}
		}
	}
	return m
}

func (m Machine) String() string {
	model := m.CPUModel
	if model == "" {
		model = "unknown CPU model"
	}
	return fmt.Sprintf("%d CPUs (GOMAXPROCS %d), %s, %s/%s, %s", m.CPUs, m.GOMAXPROCS, model, m.OS, m.Arch, m.GoVersion)
}

// Events returns exactly n generated events of one user's cloud (demo.Cloud's shape,
// month demo.Month) in ledger order: the first n events of a cloud large enough to hold
// them, a valid prefix of its history.
func Events(seed int64, n int) []json.RawMessage {
	if n <= 0 {
		return nil
	}
	resources := n/2 + 1
	for {
		evs := demo.Events(demo.Options{Seed: seed, Resources: resources, From: demo.Month, Users: 1})
		if len(evs) >= n {
			return evs[:n]
		}
		resources *= 2
	}
}

// Count returns the number of events in batches.
func Count(batches []demo.Batch) int {
	n := 0
	for _, b := range batches {
		n += b.Events
	}
	return n
}

// Server is a cloudmeter server serving a data directory on 127.0.0.1 (a free port),
// with an admin key of user 1.
type Server struct {
	URL     string // http://127.0.0.1:port
	Key     string // Bearer key of user 1 with admin
	DataDir string
	Client  *http.Client

	srv *testserver.Server
}

// StartServer creates an admin key for user 1 in dataDir (creating the database if
// needed) and serves dataDir with server.Run (started by testserver.Start) until Close.
// maxBatch raises the ingest batch limit when it is above the default; logs are
// discarded.
func StartServer(ctx context.Context, dataDir string, maxBatch int) (*Server, error) {
	return StartServerOn(ctx, dataDir, "", maxBatch)
}

// StartServerOn is StartServer on the PostgreSQL database at databaseURL when it is set.
func StartServerOn(ctx context.Context, dataDir, databaseURL string, maxBatch int) (*Server, error) {
	st, err := storeopen.Open(ctx, dataDir, databaseURL)
	if err != nil {
		return nil, err
	}
	key, _, err := service.New(st, service.Options{}).CreateKey(ctx, service.SystemKey, 1, []cloudmeter.Permission{cloudmeter.PermAdmin}, "bench")
	st.Close()
	if err != nil {
		return nil, err
	}
	srv, err := testserver.Start(ctx, dataDir, databaseURL, server.Config{
		Limits: httpapi.Limits{MaxBatchEvents: max(maxBatch, httpapi.DefaultLimits.MaxBatchEvents)},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	return &Server{URL: srv.URL, Key: key, DataDir: dataDir, srv: srv,
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}, nil
}

// Close shuts the server down and waits for it.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.Client.CloseIdleConnections()
	return err
}

// Ingest posts batches to POST /api/v1/events as BatchMedia from clients concurrent
// clients (at least 1), checks that every answer accepts the whole batch, and returns
// the wall-clock time from the first request to the last answer. progress, when set, is
// called with the events of each answered batch.
func (s *Server) Ingest(ctx context.Context, batches []demo.Batch, clients int, progress func(events int)) (time.Duration, error) {
	elapsed, _, err := s.ingest(ctx, batches, clients, progress)
	return elapsed, err
}

// ingest is Ingest that also returns the CPU time the process used meanwhile (server
// and client).
func (s *Server) ingest(ctx context.Context, batches []demo.Batch, clients int, progress func(events int)) (elapsed, cpu time.Duration, err error) {
	return ingestSpread(ctx, []*Server{s}, batches, max(clients, 1), progress)
}

func (s *Server) post(ctx context.Context, b demo.Batch) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v1/events", bytes.NewReader(b.JSON))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", BatchMedia)
	req.Header.Set("Authorization", "Bearer "+s.Key)
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /api/v1/events: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var ans struct {
		Accepted   int `json:"accepted"`
		Duplicates int `json:"duplicates"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("POST /api/v1/events: answer %q: %v", body, err)
	}
	if ans.Accepted != b.Events {
		return fmt.Errorf("POST /api/v1/events: %d of %d events accepted (%d duplicates)", ans.Accepted, b.Events, ans.Duplicates)
	}
	return nil
}

// IngestResult is one ingest measurement.
type IngestResult struct {
	Events, Batches, Clients int
	Elapsed                  time.Duration
	// CPU is the CPU time the process (server and client) used meanwhile.
	CPU time.Duration
}

// PerSecond is the ingest rate in events per second of wall-clock time.
func (r IngestResult) PerSecond() float64 { return rate(r.Events, r.Elapsed) }

// PerCPUSecond is the ingest rate in events per second of CPU time.
func (r IngestResult) PerCPUSecond() float64 { return rate(r.Events, r.CPU) }

// IngestHTTP serves a fresh database in dataDir (which should be empty) and measures the
// ingest of batches through the HTTP API.
func IngestHTTP(ctx context.Context, dataDir string, batches []demo.Batch, clients int, progress func(events int)) (IngestResult, error) {
	return IngestHTTPOn(ctx, dataDir, "", batches, clients, progress)
}

// IngestHTTPOn is IngestHTTP on the PostgreSQL database at databaseURL (an empty one)
// when it is set.
func IngestHTTPOn(ctx context.Context, dataDir, databaseURL string, batches []demo.Batch, clients int, progress func(events int)) (IngestResult, error) {
	maxBatch := 0
	for _, b := range batches {
		maxBatch = max(maxBatch, b.Events)
	}
	srv, err := StartServerOn(ctx, dataDir, databaseURL, maxBatch)
	if err != nil {
		return IngestResult{}, err
	}
	elapsed, cpu, err := srv.ingest(ctx, batches, clients, progress)
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	return IngestResult{Events: Count(batches), Batches: len(batches), Clients: max(clients, 1), Elapsed: elapsed, CPU: cpu}, err
}

// Rows decodes batches into the events they hold: the rows of the events table.
func Rows(batches []demo.Batch) ([]cloudmeter.Event, error) {
	var out []cloudmeter.Event
	for i, b := range batches {
		evs, err := ledger.DecodeBatch(BatchMedia, b.JSON, ledger.Limits{})
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", i, err)
		}
		out = append(out, evs...)
	}
	return out, nil
}

// InsertResult is one raw insert measurement.
type InsertResult struct {
	Rows    int
	TxRows  int // rows per transaction
	Elapsed time.Duration
	CPU     time.Duration // CPU time of the process meanwhile
}

// PerSecond is the insert rate in rows per second of wall-clock time.
func (r InsertResult) PerSecond() float64 { return rate(r.Rows, r.Elapsed) }

// PerCPUSecond is the insert rate in rows per second of CPU time.
func (r InsertResult) PerCPUSecond() float64 { return rate(r.Rows, r.CPU) }

// RowsPerStatement is the most rows one INSERT statement of RawInsert carries (9
// columns each: 9,000 variables, under SQLite's 32,766). Measured here, 1,000 rows per
// statement inserts about 10% faster than 200 and 5% faster than 500.
const RowsPerStatement = 1000

// RawInsert opens the SQLite store in dataDir (a fresh one) and measures inserting rows
// into its events table directly: multi-row INSERT statements in transactions of txRows
// rows, with no decoding, no duplicate check and no rating. It is the ceiling that
// ingest is compared with.
func RawInsert(ctx context.Context, dataDir string, rows []cloudmeter.Event, txRows int) (InsertResult, error) {
	st, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		return InsertResult{}, err
	}
	defer st.Close()
	cpu0 := CPUTime()
	elapsed, err := InsertRows(ctx, st.DB(), rows, txRows)
	return InsertResult{Rows: len(rows), TxRows: txRows, Elapsed: elapsed, CPU: CPUTime() - cpu0}, err
}

// InsertRows inserts rows into the events table of db in transactions of txRows rows
// (RowsPerStatement rows per statement) and returns the time it took.
func InsertRows(ctx context.Context, db *sql.DB, rows []cloudmeter.Event, txRows int) (time.Duration, error) {
	if txRows <= 0 {
		txRows = demo.BatchSize
	}
	const cols = 9
	perStmt := min(RowsPerStatement, txRows)
	stmts := map[int]string{}
	stmt := func(n int) string {
		if s, ok := stmts[n]; ok {
			return s
		}
		var b strings.Builder
		b.WriteString("INSERT INTO events (source, id, product_id, type, occurred_at, subject, digest, data, received_at) VALUES ")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?)")
		}
		stmts[n] = b.String()
		return stmts[n]
	}
	args := make([]any, 0, perStmt*cols)
	start := time.Now()
	now := start.Unix()
	for lo := 0; lo < len(rows); lo += txRows {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		txEnd := min(lo+txRows, len(rows))
		for s := lo; s < txEnd; s += perStmt {
			part := rows[s:min(s+perStmt, txEnd)]
			args = args[:0]
			for i := range part {
				e := &part[i]
				args = append(args, e.Source, e.ID, e.ProductID, string(e.Type), e.Time, e.Subject, e.Digest, string(e.Data), now)
			}
			if _, err := tx.ExecContext(ctx, stmt(len(part)), args...); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// ReportData is a data directory (or PostgreSQL database) holding one user's cloud for
// the report benchmark.
type ReportData struct {
	DataDir     string
	DatabaseURL string // "" for SQLite in DataDir
	Resources   int
	Events      int
	// From and To are the reported month, [demo.Month, end of month].
	From, To int64
}

// PrepareReport fills dataDir (a fresh one) with the demo price book and demo.Cloud's
// resources resources of user 1 over demo.Month, ingested through the service (not
// timed: it is set-up). progress, when set, is called after each batch with the events
// ingested so far and in all.
func PrepareReport(ctx context.Context, dataDir string, seed int64, resources int, progress func(done, total int)) (*ReportData, error) {
	return PrepareReportOn(ctx, dataDir, "", seed, resources, progress)
}

// PrepareReportOn is PrepareReport on the PostgreSQL database at databaseURL (an empty
// one) when it is set.
func PrepareReportOn(ctx context.Context, dataDir, databaseURL string, seed int64, resources int, progress func(done, total int)) (*ReportData, error) {
	d := &ReportData{DataDir: dataDir, DatabaseURL: databaseURL, Resources: resources, From: demo.Month.Unix(), To: demo.Month.AddDate(0, 1, 0).Unix() - 1}
	n, err := load(ctx, dataDir, databaseURL, demo.DemoPrices, demo.Cloud(seed, resources, demo.Month), progress)
	d.Events = n
	if err != nil {
		return nil, err
	}
	return d, nil
}

// load puts the price book prices and ingests batches through the service into the
// store in dataDir, or at databaseURL when it is set, and returns the events ingested.
// progress, when set, is called after each batch with the events ingested so far and in
// all.
func load(ctx context.Context, dataDir, databaseURL string, prices []byte, batches []demo.Batch, progress func(done, total int)) (int, error) {
	st, err := storeopen.Open(ctx, dataDir, databaseURL)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	if _, err := svc.PutPrices(ctx, service.SystemKey, prices); err != nil {
		return 0, err
	}
	total, done := Count(batches), 0
	for i, b := range batches {
		evs, err := ledger.DecodeBatch(BatchMedia, b.JSON, ledger.Limits{})
		if err != nil {
			return done, fmt.Errorf("batch %d: %w", i, err)
		}
		if _, err := svc.Ingest(ctx, service.SystemKey, evs); err != nil {
			return done, fmt.Errorf("batch %d: %w", i, err)
		}
		done += len(evs)
		if progress != nil {
			progress(done, total)
		}
	}
	return done, nil
}

// ReportResult is a report measurement: one duration per run.
type ReportResult struct {
	Runs []time.Duration
	// CPU is the CPU time of the process per run (median).
	CPU     time.Duration
	Records int
	// Bytes is the size of the JSON-RPC response body (0 for an in-process build).
	Bytes int
}

// Median is the median duration of the runs.
func (r ReportResult) Median() time.Duration { return Median(r.Runs) }

// Build measures service.Utilization of user 1 over the month, runs times, on a store
// opened on the data directory (the price book is parsed before the first run).
// encode adds metalsoft.DetailedJSON, the wire encoding, to each run.
func (d *ReportData) Build(ctx context.Context, runs int, encode bool) (ReportResult, error) {
	return d.build(ctx, runs, encode, func(u *report.Utilization) int { return len(u.Records) })
}

// build is Build with the records of a report counted by records.
func (d *ReportData) build(ctx context.Context, runs int, encode bool, records func(*report.Utilization) int) (ReportResult, error) {
	st, err := storeopen.Open(ctx, d.DataDir, d.DatabaseURL)
	if err != nil {
		return ReportResult{}, err
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	req := service.ReportRequest{UserID: 1, Start: d.From, End: d.To}
	var res ReportResult
	var cpus []time.Duration
	for i := -1; i < runs; i++ { // run -1 warms the price book cache and the page cache
		runtime.GC() // no run pays for the garbage of the one before
		start, cpu0 := time.Now(), CPUTime()
		u, err := svc.Utilization(ctx, service.SystemKey, req)
		if err != nil {
			return res, err
		}
		if encode {
			res.Bytes = len(metalsoft.DetailedJSON(u))
		}
		elapsed, cpu := time.Since(start), CPUTime()-cpu0
		res.Records = records(u)
		if i >= 0 {
			res.Runs = append(res.Runs, elapsed)
			cpus = append(cpus, cpu)
		}
	}
	res.CPU = Median(cpus)
	return res, nil
}

// RPC measures the full JSON-RPC request resource_utilization_detailed of user 1 over
// the month against srv (which serves d.DataDir), runs times: request sent, response
// read to the last byte.
func (d *ReportData) RPC(ctx context.Context, srv *Server, runs int) (ReportResult, error) {
	body := fmt.Sprintf(`{"id":1,"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[1,%q,%q]}`,
		cloudmeter.FormatTime(d.From), cloudmeter.FormatTime(d.To))
	var res ReportResult
	var cpus []time.Duration
	for i := -1; i < runs; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+metalsoft.Path, strings.NewReader(body))
		if err != nil {
			return res, err
		}
		req.Header.Set("Authorization", "Bearer "+srv.Key)
		runtime.GC() // no run pays for the garbage of the one before
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
			return res, fmt.Errorf("resource_utilization_detailed: %s: %.300s", resp.Status, out)
		}
		// Check the answer and count its records outside the timed part.
		var parsed struct {
			Result *struct {
				Detailed map[string]map[string][]json.RawMessage `json:"detailed_report"`
			} `json:"result"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(out, &parsed); err != nil || parsed.Result == nil {
			return res, fmt.Errorf("resource_utilization_detailed: not a result (%v): %.300s", err, out)
		}
		res.Bytes, res.Records = len(out), 0
		for _, types := range parsed.Result.Detailed {
			for _, recs := range types {
				res.Records += len(recs)
			}
		}
		if i >= 0 {
			res.Runs = append(res.Runs, elapsed)
			cpus = append(cpus, cpu)
		}
	}
	res.CPU = Median(cpus)
	return res, nil
}

// Median returns the median of ds (the mean of the middle two for an even count), 0
// for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MedianFloat returns the median of xs, 0 for none.
func MedianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// FreshDatabase creates an empty database on the PostgreSQL server at serverURL (whose
// user may create databases) and returns its URL, and a function that drops it.
func FreshDatabase(ctx context.Context, serverURL string) (string, func() error, error) {
	u, err := url.Parse(serverURL)
	if err != nil || !postgres.IsURL(serverURL) {
		return "", nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "PostgreSQL URL %s: must be a postgres:// URL", postgres.Redact(serverURL))
	}
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		return "", nil, cloudmeter.Errorf(cloudmeter.KindUnavailable, "PostgreSQL %s: %v", postgres.Redact(serverURL), err)
	}
	defer admin.Close()
	name := fmt.Sprintf("cloudmeter_bench_%d_%d_%d", os.Getpid(), time.Now().Unix(), freshCount.Add(1))
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", nil, cloudmeter.Errorf(cloudmeter.KindUnavailable, "PostgreSQL %s: cannot create a database for the benchmark (the user needs CREATEDB): %v",
			postgres.Redact(serverURL), err)
	}
	u.Path = "/" + name
	drop := func() error {
		a, err := sql.Open("pgx", serverURL)
		if err != nil {
			return err
		}
		defer a.Close()
		_, err = a.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
		return err
	}
	return u.String(), drop, nil
}

// freshCount numbers the databases FreshDatabase creates.
var freshCount atomic.Int64

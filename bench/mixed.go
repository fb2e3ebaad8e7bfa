package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/metalsoft"
)

// Mixed load: ingest and reports at once on one server. A data set of demo.Generate's
// shape (users 1 to 5, user 1 owning 40 % of the resources, a few thousand report records
// per user) is loaded first; then, on one server and one database, three phases of the
// same length run one after the other:
//
//   - reports alone: report clients request resource_utilization_detailed over JSON-RPC,
//     user after user, each response read to the last byte;
//   - ingest alone: ingest clients post batches of events of new products (of users the
//     reports never read) to POST /api/v1/events;
//   - mixed: both sets of clients at once.
//
// Each request's latency is recorded (request sent to last byte read), and the
// process's memory is sampled during each phase. Reported users never receive ingested
// events, so a report's work is the same in every phase, and each answer is checked to
// have the size of that user's report before the run.

// MixedUsers is the number of users whose reports the report clients request (users 1
// to MixedUsers: demo.Generate's users).
const MixedUsers = 5

// MixedFirstProductID is the product id of the first product the mixed-load ingest
// provisions: far above the data set's (demo.FirstProductID on).
const MixedFirstProductID = 50_000_000

// mixedFirstUser is the first of the users the mixed-load ingest provisions products of.
const mixedFirstUser = 100

// mixedUsers is how many users the mixed-load ingest spreads its products over.
const mixedIngestUsers = 10

// DefaultMaxRequests bounds the requests of one client in one phase, besides the
// phase's duration.
const DefaultMaxRequests = 100_000

// MixedData is a data directory (or PostgreSQL database) holding the data set the
// mixed load reports on.
type MixedData struct {
	DataDir     string
	DatabaseURL string // "" for SQLite in DataDir
	Resources   int    // of all users
	Events      int
	// From and To are the reported month, [demo.Month, end of month].
	From, To int64
}

// PrepareMixedOn fills dataDir, or the PostgreSQL database at databaseURL when it is set
// (an empty one), with the demo price book and demo.Generate's cloud of resources
// resources over demo.Month (users 1 to MixedUsers), ingested through the service (not
// timed). progress, when set, is called after each batch with the events ingested so far
// and in all.
func PrepareMixedOn(ctx context.Context, dataDir, databaseURL string, seed int64, resources int, progress func(done, total int)) (*MixedData, error) {
	d := &MixedData{DataDir: dataDir, DatabaseURL: databaseURL, Resources: resources, From: demo.Month.Unix(), To: demo.Month.AddDate(0, 1, 0).Unix() - 1}
	n, err := load(ctx, dataDir, databaseURL, demo.DemoPrices, demo.Generate(seed, resources, demo.Month), progress)
	d.Events = n
	if err != nil {
		return nil, err
	}
	return d, nil
}

// MixedIngestBatch returns batch k of the mixed-load ingest stream: size events of new
// products, none of them stored before and none in any other batch k. Each product is
// an instance of a user from 100 to 109 provisioned in demo.Month, then stopped an hour
// later (an odd size leaves the last product running): two events a product.
func MixedIngestBatch(k, size int) demo.Batch {
	b := make([]byte, 0, size*420+2)
	b = append(b, '[')
	products := (size + 1) / 2
	first := int64(MixedFirstProductID) + int64(k)*int64(products)
	base := demo.Month.Unix() + int64(k%1000)*60
	for j := range products {
		p := first + int64(j)
		user := mixedFirstUser + (k+j)%mixedIngestUsers
		infra := 30000 + user*10 + j%4
		dc := demo.Datacenters[j%len(demo.Datacenters)]
		st := demo.ServerTypes[j%len(demo.ServerTypes)]
		at := base + int64(j)
		if j > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"specversion":"1.0","id":"mx-%d-1","source":"bench/mixed","type":%q,"time":%q,`+
			`"data":{"product_id":%d,"resource_type":"instance","user_id":%d,"infrastructure_id":%d,"infrastructure_label":"mixed-%d",`+
			`"datacenter":%q,"label":"instance-%d","subdomain":"instance-%d.instance-array.mixed-%d.%d.bench",`+
			`"attributes":{"server_type_id":%d,"server_type_name":%q}}}`,
			p, cloudmeter.EventProvisioned, cloudmeter.FormatTime(at), p, user, infra, infra, dc, p, p, infra, user, st.ID, st.Name)
		if 2*j+1 < size {
			b = fmt.Appendf(b, `,{"specversion":"1.0","id":"mx-%d-2","source":"bench/mixed","type":%q,"time":%q,"data":{"product_id":%d}}`,
				p, cloudmeter.EventStopped, cloudmeter.FormatTime(at+3600), p)
		}
	}
	b = append(b, ']')
	return demo.Batch{JSON: b, Events: size}
}

// Percentile returns the p-th percentile (0 < p <= 100) of ds by the nearest-rank
// method: the smallest value that at least p % of ds are less than or equal to. p <= 0
// gives the least value; no values give 0. ds is not changed.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return percentileSorted(s, p)
}

func percentileSorted(s []time.Duration, p float64) time.Duration {
	// The rank is ceil(p/100 * n); the product is taken first and nudged down by far less
	// than one rank, so that a p like 99.9 whose float is a hair above it does not round
	// up to the next rank.
	rank := int(math.Ceil(p*float64(len(s))/100 - 1e-9))
	return s[min(max(rank, 1), len(s))-1]
}

// Latencies summarizes the requests of one kind in one phase.
type Latencies struct {
	Requests      int
	P50, P99, Max time.Duration
	// Units is what the requests carried: events for ingest, records for reports.
	Units int
	// Elapsed is the wall-clock time from the phase's start to its last answer of this
	// kind.
	Elapsed time.Duration
}

// Summarize returns the percentiles of ds.
func Summarize(ds []time.Duration, units int, elapsed time.Duration) Latencies {
	s := slices.Clone(ds)
	slices.Sort(s)
	l := Latencies{Requests: len(s), Units: units, Elapsed: elapsed}
	if len(s) > 0 {
		l.P50, l.P99, l.Max = percentileSorted(s, 50), percentileSorted(s, 99), s[len(s)-1]
	}
	return l
}

// PerSecond is the requests answered per second of the phase.
func (l Latencies) PerSecond() float64 { return rate(l.Requests, l.Elapsed) }

// UnitsPerSecond is the units (events, records) carried per second of the phase.
func (l Latencies) UnitsPerSecond() float64 { return rate(l.Units, l.Elapsed) }

// Memory is the peak memory of the process seen during a phase, sampled every
// MemorySampleInterval.
type Memory struct {
	// GoTotal is the memory the Go runtime has mapped (runtime.MemStats.Sys's
	// counterpart, /memory/classes/total:bytes); HeapInuse is the heap's spans in use
	// (objects and the free space of their spans).
	GoTotal, HeapInuse uint64
	// RSS is the resident set size of the process (/proc/self/statm; 0 where there is
	// none). It also counts what is not Go's heap, such as SQLite's page caches, and the
	// pages of files the process maps; RSSAnon leaves those files out (resident less
	// shared pages).
	RSS, RSSAnon uint64
	// GCs is the number of garbage collections that ran during the phase.
	GCs uint64
}

// MemorySampleInterval is how often a phase samples the process's memory.
const MemorySampleInterval = 20 * time.Millisecond

// MixedPhase is the outcome of one phase.
type MixedPhase struct {
	Name                         string
	IngestClients, ReportClients int
	Ingest, Reports              Latencies // Requests is 0 for a kind the phase did not run
	Elapsed                      time.Duration
	CPU                          time.Duration // CPU time of the process (server and clients)
	Memory                       Memory
	ReportBytes                  int
	// IngestLatencies and ReportLatencies are the latency of every request, client
	// after client.
	IngestLatencies, ReportLatencies []time.Duration
}

// MixedOptions shape a mixed-load measurement.
type MixedOptions struct {
	IngestClients, ReportClients int
	// Batch is the events of one ingest request (default demo.BatchSize).
	Batch int
	// Duration is how long each phase sends requests; the requests under way then are
	// waited for.
	Duration time.Duration
	// MaxRequests bounds the requests of one client in one phase (default
	// DefaultMaxRequests).
	MaxRequests int
	// FirstBatch is the first batch of the ingest stream (MixedIngestBatch) the runner
	// posts: above 0 for a store that already holds the batches before it.
	FirstBatch int
	// Progress, when set, is called about ten times a second during a phase with its
	// name, the time since its start, and the ingested events and the reports answered
	// so far.
	Progress func(phase string, elapsed time.Duration, events, reports int)
}

// MixedResult is a mixed-load measurement: each load alone, then both at once.
type MixedResult struct {
	ReportsAlone, IngestAlone, Mixed MixedPhase
	// Records is the records of each reported user's report (users 1 to MixedUsers), and
	// ReportBytes the size of its JSON-RPC response.
	Records, ReportBytes []int
	// MaxRSS is the largest resident set size of the process over its whole life
	// (getrusage; 0 where unknown), set-up included.
	MaxRSS uint64
}

// MixedRunner runs mixed-load phases against a server serving a MixedData. Its ingest
// stream goes on from phase to phase, with new products each batch.
type MixedRunner struct {
	d    *MixedData
	srv  *Server
	opts MixedOptions

	bodies  []string // JSON-RPC request of each reported user
	sizes   []int    // response size of each reported user
	records []int
	next    atomic.Int64 // the next ingest batch of the stream
}

// NewMixedRunner checks opts, requests each user's report once (not timed: it warms the
// caches and gives the size each answer must have) and posts one ingest batch (not
// timed: it prepares the write path's statements).
func NewMixedRunner(ctx context.Context, d *MixedData, srv *Server, opts MixedOptions) (*MixedRunner, error) {
	if opts.Batch <= 0 {
		opts.Batch = demo.BatchSize
	}
	if opts.MaxRequests <= 0 {
		opts.MaxRequests = DefaultMaxRequests
	}
	if opts.IngestClients < 0 || opts.ReportClients < 0 || opts.Duration <= 0 {
		return nil, cloudmeter.Errorf(cloudmeter.KindInvalid, "mixed load: %d ingest clients, %d report clients, phases of %v", opts.IngestClients, opts.ReportClients, opts.Duration)
	}
	r := &MixedRunner{d: d, srv: srv, opts: opts}
	r.next.Store(int64(opts.FirstBatch))
	for u := 1; u <= MixedUsers; u++ {
		r.bodies = append(r.bodies, fmt.Sprintf(`{"id":%d,"jsonrpc":"2.0","method":"resource_utilization_detailed","params":[%d,%q,%q]}`,
			u, u, cloudmeter.FormatTime(d.From), cloudmeter.FormatTime(d.To)))
		out, err := r.report(ctx, u-1, nil)
		if err != nil {
			return nil, err
		}
		var parsed struct {
			Result *struct {
				Detailed map[string]map[string][]json.RawMessage `json:"detailed_report"`
			} `json:"result"`
		}
		if err := json.Unmarshal(out, &parsed); err != nil || parsed.Result == nil {
			return nil, fmt.Errorf("resource_utilization_detailed of user %d: not a result (%v): %.300s", u, err, out)
		}
		n := 0
		for _, types := range parsed.Result.Detailed {
			for _, recs := range types {
				n += len(recs)
			}
		}
		r.records, r.sizes = append(r.records, n), append(r.sizes, len(out))
	}
	if opts.IngestClients > 0 {
		if _, err := r.ingestNext(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// report requests user i+1's report; with buf nil it returns the body, else it reads
// the body into buf (reset first) and checks its size against the warm-up's.
func (r *MixedRunner) report(ctx context.Context, i int, buf *bytes.Buffer) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.srv.URL+metalsoft.Path, strings.NewReader(r.bodies[i]))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.srv.Key)
	resp, err := r.srv.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("resource_utilization_detailed of user %d: %s: %.300s", i+1, resp.Status, buf.Bytes())
	}
	if len(r.sizes) == MixedUsers && buf.Len() != r.sizes[i] { // not while warming up
		return nil, fmt.Errorf("resource_utilization_detailed of user %d: %d bytes, not the %d of the report before the run: %.300s", i+1, buf.Len(), r.sizes[i], buf.Bytes())
	}
	return buf.Bytes(), nil
}

// NextBatch is the batch of the ingest stream the runner posts next.
func (r *MixedRunner) NextBatch() int { return int(r.next.Load()) }

// ingestNext posts the next batch of the ingest stream and returns its events.
func (r *MixedRunner) ingestNext(ctx context.Context) (int, error) {
	b := MixedIngestBatch(int(r.next.Add(1)-1), r.opts.Batch)
	return b.Events, r.srv.post(ctx, b)
}

// Records returns the records of each reported user's report, users 1 to MixedUsers.
func (r *MixedRunner) Records() []int { return slices.Clone(r.records) }

// ReportBytes returns the size of each reported user's JSON-RPC response.
func (r *MixedRunner) ReportBytes() []int { return slices.Clone(r.sizes) }

// Phase runs ingestClients ingest clients and reportClients report clients at once for
// the runner's duration (each client also stops after MaxRequests requests) and
// returns their latencies and the process's peak memory meanwhile. Report client c
// requests users c+1, c+2, ... in turn (after MixedUsers, 1 again).
func (r *MixedRunner) Phase(ctx context.Context, name string, ingestClients, reportClients int) (MixedPhase, error) {
	ph := MixedPhase{Name: name, IngestClients: ingestClients, ReportClients: reportClients}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu                    sync.Mutex
		firstErr              error
		ingestLat, reportLat  []time.Duration
		ingestEnd, reportEnd  time.Duration
		events, records, sent atomic.Int64
		reports               atomic.Int64
		wg                    sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	runtime.GC() // no phase pays for the garbage of the one before
	mem := startMemorySampler()
	start, cpu0 := time.Now(), CPUTime()
	deadline := start.Add(r.opts.Duration)
	for range ingestClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			for n := 0; n < r.opts.MaxRequests && ctx.Err() == nil && time.Now().Before(deadline); n++ {
				b := MixedIngestBatch(int(r.next.Add(1)-1), r.opts.Batch) // made before the clock starts
				t0 := time.Now()
				if err := r.srv.post(ctx, b); err != nil {
					fail(err)
					break
				}
				lat = append(lat, time.Since(t0))
				events.Add(int64(b.Events))
			}
			mu.Lock()
			ingestLat = append(ingestLat, lat...)
			ingestEnd = max(ingestEnd, time.Since(start))
			mu.Unlock()
		}()
	}
	for c := range reportClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var buf bytes.Buffer
			n := 0
			for ; n < r.opts.MaxRequests && ctx.Err() == nil && time.Now().Before(deadline); n++ {
				u := (c + n) % MixedUsers
				t0 := time.Now()
				out, err := r.report(ctx, u, &buf)
				if err != nil {
					fail(err)
					break
				}
				lat = append(lat, time.Since(t0))
				records.Add(int64(r.records[u]))
				sent.Add(int64(len(out)))
				reports.Add(1)
			}
			mu.Lock()
			reportLat = append(reportLat, lat...)
			reportEnd = max(reportEnd, time.Since(start))
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			if r.opts.Progress != nil {
				r.opts.Progress(name, time.Since(start), int(events.Load()), int(reports.Load()))
			}
		}
	}
	ph.Elapsed, ph.CPU = time.Since(start), CPUTime()-cpu0
	ph.Memory = mem.stop()
	ph.IngestLatencies, ph.ReportLatencies = ingestLat, reportLat
	ph.Ingest = Summarize(ingestLat, int(events.Load()), ingestEnd)
	ph.Reports = Summarize(reportLat, int(records.Load()), reportEnd)
	ph.ReportBytes = int(sent.Load())
	if firstErr != nil {
		return ph, fmt.Errorf("%s: %w", name, firstErr)
	}
	return ph, nil
}

// Run runs the three phases: reports alone, ingest alone, both at once.
func (r *MixedRunner) Run(ctx context.Context) (MixedResult, error) {
	res := MixedResult{Records: r.Records(), ReportBytes: r.ReportBytes()}
	var err error
	if res.ReportsAlone, err = r.Phase(ctx, "reports alone", 0, r.opts.ReportClients); err != nil {
		return res, err
	}
	if res.IngestAlone, err = r.Phase(ctx, "ingest alone", r.opts.IngestClients, 0); err != nil {
		return res, err
	}
	if res.Mixed, err = r.Phase(ctx, "ingest and reports", r.opts.IngestClients, r.opts.ReportClients); err != nil {
		return res, err
	}
	res.MaxRSS = MaxRSS()
	return res, nil
}

// MixedOn serves d (a prepared data set) and measures the mixed load on it.
func MixedOn(ctx context.Context, d *MixedData, opts MixedOptions) (MixedResult, error) {
	srv, err := StartServerOn(ctx, d.DataDir, d.DatabaseURL, opts.Batch)
	if err != nil {
		return MixedResult{}, err
	}
	var res MixedResult
	r, err := NewMixedRunner(ctx, d, srv, opts)
	if err == nil {
		res, err = r.Run(ctx)
	}
	if cerr := srv.Close(); err == nil {
		err = cerr
	}
	return res, err
}

// memorySampler records the peak memory of the process until stopped.
type memorySampler struct {
	stopc chan struct{}
	done  chan Memory
}

var memoryMetrics = []string{"/memory/classes/total:bytes", "/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes", "/gc/cycles/total:gc-cycles"}

func readMemory(samples []metrics.Sample) (Memory, uint64) {
	metrics.Read(samples)
	var m Memory
	val := func(i int) uint64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return samples[i].Value.Uint64()
		}
		return 0
	}
	m.GoTotal, m.HeapInuse = val(0), val(1)+val(2)
	m.RSS, m.RSSAnon = currentRSS()
	return m, val(3)
}

func startMemorySampler() *memorySampler {
	s := &memorySampler{stopc: make(chan struct{}), done: make(chan Memory, 1)}
	samples := make([]metrics.Sample, len(memoryMetrics))
	for i, name := range memoryMetrics {
		samples[i].Name = name
	}
	peak, gc0 := readMemory(samples)
	go func() {
		t := time.NewTicker(MemorySampleInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
			case <-s.stopc:
			}
			m, gcs := readMemory(samples)
			peak.GoTotal, peak.HeapInuse = max(peak.GoTotal, m.GoTotal), max(peak.HeapInuse, m.HeapInuse)
			peak.RSS, peak.RSSAnon = max(peak.RSS, m.RSS), max(peak.RSSAnon, m.RSSAnon)
			peak.GCs = gcs - gc0
			select {
			case <-s.stopc:
				s.done <- peak
				return
			default:
			}
		}
	}()
	return s
}

func (s *memorySampler) stop() Memory {
	close(s.stopc)
	return <-s.done
}

// FormatBytes formats a byte count in MiB with one decimal.
func FormatBytes(n uint64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

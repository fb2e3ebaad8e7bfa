package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/ledger"
	"github.com/cloudmeter/cloudmeter/rating"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// Cost against history (docs/benchmarks.md, "Cost against history"): the figures that
// show whether cost grows with the work asked for or with what is stored (DESIGN 5).
//
//   - History: the cost per event of one instance's stop and start events, one client,
//     batches of 100 through the service, when the instance has no history and when it
//     has 100,000 events; and a one-month report of a user whose one product has 100,000
//     events (its last 10 in the month), against one whose product has 10 (all in the
//     month);
//   - UsersReport: one user's one-month report in a database of 10 users of 10,000
//     resources each, against the same user alone in a database;
//   - WriteFloor: what the commit of an ingest batch must write, with nothing else
//     done, which ingest through HTTP with one client is judged against.
//
// They use nothing but the service and the store, so that the same file measures an
// earlier version of cloudmeter too.

// HistoryConfig shapes the history benchmarks.
type HistoryConfig struct {
	History int // events of the long history (100,000)
	Batch   int // events per ingest batch (100)
	Measure int // events timed at each end of the history (2,000)
	Quiet   int // events of the quiet product (10)
	Reports int // timed report runs of each user, median (200)
}

// DefaultHistory is the configuration the figures of docs/benchmarks.md use.
var DefaultHistory = HistoryConfig{History: 100000, Batch: 100, Measure: 2000, Quiet: 10, Reports: 200}

// historyStep is the time between two events of a history: 10 minutes.
const historyStep = 600

// powerEvents returns n events of instance product p of user u: a provision, then stops
// and starts in turn, one every historyStep seconds from start; event i has id prefix-i.
func powerEvents(p, u int64, start int64, first, n int, prefix string) []json.RawMessage {
	out := make([]json.RawMessage, 0, n)
	for i := first; i < first+n; i++ {
		t := cloudmeter.FormatTime(start + int64(i)*historyStep)
		var typ, data string
		switch {
		case i == 0:
			typ = "cloudmeter.resource.provisioned"
			data = fmt.Sprintf(`{"product_id":%d,"resource_type":"instance","user_id":%d,"infrastructure_id":%d,"infrastructure_label":"history",`+
				`"datacenter":"uk-reading","label":"instance-%d","subdomain":"instance-%d.history.example","attributes":{"server_type_id":1,"server_type_name":"M.8.32.1"}}`,
				p, u, 1000+u, p, p)
		case i%2 == 1:
			typ, data = "cloudmeter.resource.stopped", fmt.Sprintf(`{"product_id":%d}`, p)
		default:
			typ, data = "cloudmeter.resource.started", fmt.Sprintf(`{"product_id":%d}`, p)
		}
		out = append(out, json.RawMessage(fmt.Sprintf(`{"specversion":"1.0","id":"%s-%d","source":"bench/history","type":%q,"time":%q,"data":%s}`,
			prefix, i, typ, t, data)))
	}
	return out
}

// splitBatch returns the events of a batch.
func splitBatch(b demo.Batch) []json.RawMessage {
	var evs []json.RawMessage
	if err := json.Unmarshal(b.JSON, &evs); err != nil {
		panic(err)
	}
	return evs
}

// ingestTimed ingests events through svc in batches of size and returns the median
// wall-clock time per event of the batches (a checkpoint of the log or a collection
// that lands in one batch does not count), and the CPU time per event of all of them.
func ingestTimed(ctx context.Context, svc *service.Service, events []json.RawMessage, size int) (perEvent, cpu time.Duration, err error) {
	var decoded [][]cloudmeter.Event
	for _, b := range demo.Batches(events, size) {
		evs, err := ledger.DecodeBatch(BatchMedia, b.JSON, ledger.Limits{})
		if err != nil {
			return 0, 0, err
		}
		decoded = append(decoded, evs)
	}
	runtime.GC()
	cpu0 := CPUTime()
	var runs []time.Duration
	for _, evs := range decoded {
		start := time.Now()
		if _, err := svc.Ingest(ctx, service.SystemKey, evs); err != nil {
			return 0, 0, err
		}
		runs = append(runs, time.Since(start)/time.Duration(len(evs)))
	}
	return Median(runs), (CPUTime() - cpu0) / time.Duration(max(len(events), 1)), nil
}

// HistoryResult holds the figures of History.
type HistoryResult struct {
	Config HistoryConfig
	// Per event, the median over batches of Batch events of the wall-clock time per
	// event: product 1's first Measure events (history 0) and its last Measure events
	// (history History), as the issue measured them; and at the end, in turns, batches of
	// product 1 (history History) and of a product without history (product 4), so that
	// the load of the machine weighs on both alike.
	First, Last       time.Duration
	AtHistory, Fresh  time.Duration
	FirstCPU, LastCPU time.Duration // CPU time per event of the two phases
	// The month's report of the busy user (product 1) and of the quiet one (a product
	// with Quiet events), taken in turns, Reports times each.
	Busy, Quiet               ReportResult
	BusyRecords, QuietRecords int
}

// IngestRatio is the cost per event of a product with History events over one without,
// measured in turns.
func (r HistoryResult) IngestRatio() float64 { return float64(r.AtHistory) / float64(r.Fresh) }

// PhaseRatio is the cost per event of product 1's last Measure events over its first.
func (r HistoryResult) PhaseRatio() float64 { return float64(r.Last) / float64(r.First) }

// ReportRatio is the busy user's report time over the quiet one's.
func (r HistoryResult) ReportRatio() float64 {
	return float64(r.Busy.Median()) / float64(r.Quiet.Median())
}

// History measures the cost of ingest and of a report against a product's history on
// one SQLite store in dataDir (a fresh one): a warm-up product (not timed, so that no
// timed batch prepares statements), then product 1 of user 1: Measure events timed at
// history 0, the rest of History events in batches of 1,000 (not timed), then Measure
// events timed at history History in turns with Measure events of product 4, which has
// none before; product 1's events come every 10 minutes and its last 10 fall in
// demo.Month (December 2024). Then product 2 of user 2, Quiet events in the month, and
// the month's report of users 1 and 2, in turns. progress, when set, is told what is
// being done.
func History(ctx context.Context, dataDir string, cfg HistoryConfig, progress func(what string)) (HistoryResult, error) {
	res := HistoryResult{Config: cfg}
	say := func(what string) {
		if progress != nil {
			progress(what)
		}
	}
	st, err := storeopen.Open(ctx, dataDir, "")
	if err != nil {
		return res, err
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	if _, err := svc.PutPrices(ctx, service.SystemKey, demo.DemoPrices); err != nil {
		return res, err
	}
	month := demo.Month.Unix()
	total := cfg.History + cfg.Measure
	start := month - int64(total-10)*historyStep // the last 10 events in the month

	say("warm-up product")
	if _, _, err := ingestTimed(ctx, svc, powerEvents(3, 3, start, 0, cfg.Measure, "warm"), cfg.Batch); err != nil {
		return res, err
	}
	say(fmt.Sprintf("%d events at history 0", cfg.Measure))
	if res.First, res.FirstCPU, err = ingestTimed(ctx, svc, powerEvents(1, 1, start, 0, cfg.Measure, "busy"), cfg.Batch); err != nil {
		return res, err
	}
	say(fmt.Sprintf("history up to %d events (not timed)", cfg.History))
	for i := cfg.Measure; i < cfg.History; i += 1000 {
		n := min(1000, cfg.History-i)
		if _, _, err := ingestTimed(ctx, svc, powerEvents(1, 1, start, i, n, "busy"), n); err != nil {
			return res, err
		}
	}
	say(fmt.Sprintf("%d events at history %d, in turns with a product without history", cfg.Measure, cfg.History))
	busy := demo.Batches(powerEvents(1, 1, start, cfg.History, cfg.Measure, "busy"), cfg.Batch)
	fresh := demo.Batches(powerEvents(4, 4, start+int64(cfg.History)*historyStep, 0, cfg.Measure, "fresh"), cfg.Batch)
	var busyRuns, freshRuns []time.Duration
	var busyCPU time.Duration
	for i := range busy {
		for k, b := range []demo.Batch{busy[i], fresh[i]} {
			el, cpu, err := ingestTimed(ctx, svc, splitBatch(b), cfg.Batch)
			if err != nil {
				return res, err
			}
			if k == 0 {
				busyRuns, busyCPU = append(busyRuns, el), busyCPU+cpu*time.Duration(b.Events)
			} else {
				freshRuns = append(freshRuns, el)
			}
		}
	}
	res.AtHistory, res.Fresh = Median(busyRuns), Median(freshRuns)
	res.Last, res.LastCPU = res.AtHistory, busyCPU/time.Duration(cfg.Measure)
	if _, _, err := ingestTimed(ctx, svc, powerEvents(2, 2, month, 0, cfg.Quiet, "quiet"), cfg.Batch); err != nil {
		return res, err
	}

	say("reports")
	to := demo.Month.AddDate(0, 1, 0).Unix() - 1
	res.Busy, res.Quiet, err = reportPair(ctx, svc, svc, 1, 2, month, to, cfg.Reports)
	res.BusyRecords, res.QuietRecords = res.Busy.Records, res.Quiet.Records
	return res, err
}

// reportPair measures svc.Utilization of user a on svcA and of user b on svcB over
// [from, to], runs times each after a warm-up run of each, in turns (so that the state of
// the machine weighs on both alike).
func reportPair(ctx context.Context, svcA, svcB *service.Service, a, b, from, to int64, runs int) (ReportResult, ReportResult, error) {
	var out [2]ReportResult
	var cpus [2][]time.Duration
	for i := -1; i < runs; i++ {
		for k, r := range []struct {
			svc  *service.Service
			user int64
		}{{svcA, a}, {svcB, b}} {
			runtime.GC()
			start, cpu0 := time.Now(), CPUTime()
			u, err := r.svc.Utilization(ctx, service.SystemKey, service.ReportRequest{UserID: r.user, Start: from, End: to})
			if err != nil {
				return out[0], out[1], err
			}
			elapsed, cpu := time.Since(start), CPUTime()-cpu0
			out[k].Records = len(u.Records)
			if i >= 0 {
				out[k].Runs = append(out[k].Runs, elapsed)
				cpus[k] = append(cpus[k], cpu)
			}
		}
	}
	out[0].CPU, out[1].CPU = Median(cpus[0]), Median(cpus[1])
	return out[0], out[1], nil
}

// UsersResult holds the figures of UsersReport.
type UsersResult struct {
	Users, Resources int
	Alone, Among     ReportResult
	Records          int
}

// Ratio is the report's time among the other users over its time alone.
func (r UsersResult) Ratio() float64 { return float64(r.Among.Median()) / float64(r.Alone.Median()) }

var (
	userField    = regexp.MustCompile(`"user_id":1,`)
	productField = regexp.MustCompile(`"product_id":(\d+)`)
	idField      = regexp.MustCompile(`"id":"`)
)

// userCloud returns demo.Cloud's events (of user 1) as user u's: its own product ids and
// event ids.
func userCloud(seed int64, resources int, u int64) []json.RawMessage {
	var out []json.RawMessage
	for _, b := range demo.Cloud(seed, resources, demo.Month) {
		var evs []json.RawMessage
		if err := json.Unmarshal(b.JSON, &evs); err != nil {
			panic(err)
		}
		for _, e := range evs {
			if u != 1 {
				s := userField.ReplaceAllString(string(e), fmt.Sprintf(`"user_id":%d,`, u))
				s = productField.ReplaceAllStringFunc(s, func(m string) string {
					n, _ := strconv.ParseInt(m[len(`"product_id":`):], 10, 64)
					return fmt.Sprintf(`"product_id":%d`, n+u*10000000)
				})
				s = idField.ReplaceAllString(s, fmt.Sprintf(`"id":"u%d-`, u))
				e = json.RawMessage(s)
			}
			out = append(out, e)
		}
	}
	return out
}

// UsersReport measures the one-month report of user 1 (resources resources, demo.Cloud's)
// in a store holding it alone (in dirAlone) and in one holding users users of as many
// resources each (in dirAmong), runs times each after a warm-up run. progress, when
// set, is told what is being done.
func UsersReport(ctx context.Context, dirAlone, dirAmong string, users, resources, runs int, progress func(what string)) (UsersResult, error) {
	res := UsersResult{Users: users, Resources: resources}
	from, to := demo.Month.Unix(), demo.Month.AddDate(0, 1, 0).Unix()-1
	var svcs []*service.Service
	for _, d := range []struct {
		dir   string
		users int
	}{{dirAlone, 1}, {dirAmong, users}} {
		st, err := storeopen.Open(ctx, d.dir, "")
		if err != nil {
			return res, err
		}
		defer st.Close()
		svc := service.New(st, service.Options{})
		svcs = append(svcs, svc)
		if _, err := svc.PutPrices(ctx, service.SystemKey, demo.DemoPrices); err != nil {
			return res, err
		}
		// Users interleaved batch by batch, as a cloud's provisioning system sends them.
		clouds := make([][]json.RawMessage, d.users)
		for u := range d.users {
			clouds[u] = userCloud(1, resources, int64(u+1))
		}
		if progress != nil {
			progress(fmt.Sprintf("%d users of %d resources", d.users, resources))
		}
		for lo := 0; lo < len(clouds[0]); lo += demo.BatchSize {
			for u := range d.users {
				part := clouds[u][lo:min(lo+demo.BatchSize, len(clouds[u]))]
				if _, _, err := ingestTimed(ctx, svc, part, demo.BatchSize); err != nil {
					return res, err
				}
			}
		}
	}
	var err error
	res.Alone, res.Among, err = reportPair(ctx, svcs[0], svcs[1], 1, 1, from, to, runs)
	res.Records = res.Alone.Records
	return res, err
}

// FloorResult is one write floor measurement.
type FloorResult struct {
	Events  int
	Elapsed time.Duration
	CPU     time.Duration // CPU time of the process meanwhile
}

// PerSecond is the floor in events per second.
func (r FloorResult) PerSecond() float64 { return rate(r.Events, r.Elapsed) }

// PerCPUSecond is the floor in events per second of CPU time.
func (r FloorResult) PerCPUSecond() float64 { return rate(r.Events, r.CPU) }

// WriteFloor measures what the commit of an ingest batch must write, with nothing else
// done, on a fresh SQLite store in dataDir: the rows, in transactions of txRows events,
// inserted into events by multi-row statements of 250 rows (parsed each time, as
// RawInsert's: prepared once, they made no difference, docs/benchmarks.md), and each
// transaction's products rated by rating.Rate from their events so far (kept in memory,
// never read back) and upserted into resources, 250 rows a statement, with a spans value
// of 24 bytes a span (and, in a schema with a rating state, a state of 80 bytes). No
// HTTP, no decoding, no duplicate check, no users, infrastructures, datacenters or
// anomalies. Ingest through HTTP with one client is judged against it
// (docs/benchmarks.md, "The ingest ceiling").
func WriteFloor(ctx context.Context, dataDir string, rows []cloudmeter.Event, txRows int) (FloorResult, error) {
	st, err := sqlite.Open(ctx, dataDir)
	if err != nil {
		return FloorResult{}, err
	}
	defer st.Close()
	db := st.DB()
	withState := true
	if _, err := db.ExecContext(ctx, `SELECT rating_state FROM resources LIMIT 0`); err != nil {
		withState = false // a schema before rating states
	}
	resCols := `user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label, subdomain, exclude_billing, attributes,
		state, provisioned_at, deleted_at, rated_generation, spans`
	nres := 15
	if withState {
		resCols += `, spans_from, rating_state`
		nres = 17
	}
	upsert := func(n int) string {
		row := "(" + strings.TrimSuffix(strings.Repeat("?,", nres), ",") + ")"
		return `INSERT INTO resources (` + resCols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+",", n), ",") +
			` ON CONFLICT (product_id) DO UPDATE SET state = excluded.state, attributes = excluded.attributes, deleted_at = excluded.deleted_at,
			rated_generation = resources.rated_generation + 1, spans = excluded.spans` + map[bool]string{true: `, rating_state = excluded.rating_state`}[withState]
	}
	insert := func(n int) string {
		return "INSERT INTO events (source, id, product_id, type, occurred_at, subject, digest, data, received_at) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?),", n), ",")
	}
	exec := func(tx *sql.Tx, q string, args []any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	history := map[int64][]cloudmeter.Event{}
	state := make([]byte, 80)
	runtime.GC()
	start, cpu0 := time.Now(), CPUTime()
	now := start.Unix()
	for lo := 0; lo < len(rows); lo += txRows {
		batch := rows[lo:min(lo+txRows, len(rows))]
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return FloorResult{}, err
		}
		fail := func(err error) (FloorResult, error) {
			tx.Rollback()
			return FloorResult{}, err
		}
		for s := 0; s < len(batch); s += 250 {
			part := batch[s:min(s+250, len(batch))]
			args := make([]any, 0, len(part)*9)
			for i := range part {
				e := &part[i]
				args = append(args, e.Source, e.ID, e.ProductID, string(e.Type), e.Time, e.Subject, e.Digest, string(e.Data), now)
			}
			if err := exec(tx, insert(len(part)), args); err != nil {
				return fail(err)
			}
		}
		touched := map[int64]bool{}
		var order []int64
		for _, e := range batch {
			history[e.ProductID] = append(history[e.ProductID], e)
			if !touched[e.ProductID] {
				touched[e.ProductID] = true
				order = append(order, e.ProductID)
			}
		}
		var args []any
		n := 0
		flush := func() error {
			if n == 0 {
				return nil
			}
			err := exec(tx, upsert(n), args)
			args, n = args[:0], 0
			return err
		}
		for _, p := range order {
			r := rating.Rate(p, history[p])
			if r.Resource == nil {
				continue
			}
			res := r.Resource
			args = append(args, res.UserID, res.ProductID, res.InfrastructureID, res.InfrastructureLabel, res.Datacenter, string(res.Type), res.Label,
				res.Subdomain, 0, "{}", string(res.State), res.ProvisionedAt, res.DeletedAt, 1, make([]byte, 24*len(r.Spans)))
			if withState {
				args = append(args, res.ProvisionedAt, state)
			}
			if n++; n == 250 {
				if err := flush(); err != nil {
					return fail(err)
				}
			}
		}
		if err := flush(); err != nil {
			return fail(err)
		}
		if err := tx.Commit(); err != nil {
			return FloorResult{}, err
		}
	}
	return FloorResult{Events: len(rows), Elapsed: time.Since(start), CPU: CPUTime() - cpu0}, nil
}

// FloorRatio is ingest through HTTP with one client over the write floor, each measured
// runs times in turns on fresh stores (in dataDir), medians.
type FloorRatio struct {
	Ingest, Floor       float64 // events per second, medians
	IngestCPU, FloorCPU float64 // events per CPU-second, medians
}

// Ratio is ingest over the floor, by the wall clock.
func (r FloorRatio) Ratio() float64 { return r.Ingest / r.Floor }

// CPURatio is ingest over the floor, by CPU time.
func (r FloorRatio) CPURatio() float64 { return r.IngestCPU / r.FloorCPU }

// IngestOverFloor measures ingest of batches through HTTP with one client and the write
// floor of the same events, runs times each in turns, each on a fresh store in a
// directory of dataDir.
func IngestOverFloor(ctx context.Context, dataDir string, batches []demo.Batch, runs int, progress func(what string)) (FloorRatio, error) {
	rows, err := Rows(batches)
	if err != nil {
		return FloorRatio{}, err
	}
	txRows := 0
	for _, b := range batches {
		txRows = max(txRows, b.Events)
	}
	var ing, ingCPU, fl, flCPU []float64
	for run := range runs {
		if progress != nil {
			progress(fmt.Sprintf("ingest through HTTP and write floor, run %d of %d", run+1, runs))
		}
		r, err := IngestHTTP(ctx, fmt.Sprintf("%s/ingest-%d", dataDir, run), batches, 1, nil)
		if err != nil {
			return FloorRatio{}, err
		}
		f, err := WriteFloor(ctx, fmt.Sprintf("%s/floor-%d", dataDir, run), rows, txRows)
		if err != nil {
			return FloorRatio{}, err
		}
		ing, ingCPU = append(ing, r.PerSecond()), append(ingCPU, r.PerCPUSecond())
		fl, flCPU = append(fl, f.PerSecond()), append(flCPU, f.PerCPUSecond())
	}
	return FloorRatio{Ingest: MedianFloat(ing), Floor: MedianFloat(fl), IngestCPU: MedianFloat(ingCPU), FloorCPU: MedianFloat(flCPU)}, nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// Traffic storage (migration 00004). A batch's new samples are applied incrementally:
// each sample is inserted with its contribution; a counter reading also looks up the
// reading before it and the readings after it up to the next one outside the batch, whose
// contributions it may change. Period and day totals are adjusted by the differences, so
// a late or repeated sample never makes storage re-read a waypoint's history.

const daySeconds = 86400

// dayOf returns the first second of the UTC day holding t (t >= 0).
func dayOf(t int64) int64 { return t - t%daySeconds }

// waypointRow is a stored grouping of a waypoint's samples.
type waypointRow struct {
	rating.Waypoint
	user int64
}

// trafficKey is a period or day total of one waypoint and direction.
type trafficKey struct {
	product int64
	dir     cloudmeter.Direction
	start   int64
}

// trafficDelta is a change to a period or day total.
type trafficDelta struct{ bytes, samples int64 }

// storedSample is a row of traffic_samples.
type storedSample struct {
	rating.Sample
	bytes, period int64
	isNew         bool
}

// applyTraffic keeps the traffic tables in step with a committed batch: it regroups the
// samples of rated waypoints whose provision, deletion or measurement period changed, then
// stores the batch's new samples.
func (s *Store) applyTraffic(ctx context.Context, tx *sql.Tx, ratings []cloudmeter.Rating, samples []cloudmeter.Event) error {
	if err := s.syncWaypoints(ctx, tx, ratings); err != nil {
		return err
	}
	if len(samples) == 0 {
		return nil
	}
	return s.appendSamples(ctx, tx, samples)
}

// syncWaypoints records the grouping of every rated waypoint and regroups the samples of
// those whose grouping changed.
func (s *Store) syncWaypoints(ctx context.Context, tx *sql.Tx, ratings []cloudmeter.Rating) error {
	want := map[int64]waypointRow{}
	for i := range ratings {
		r := ratings[i].Resource
		if w, ok := rating.WaypointOf(r); ok {
			want[r.ProductID] = waypointRow{Waypoint: w, user: r.UserID}
		}
	}
	if len(want) == 0 {
		return nil
	}
	have, err := s.storedWaypoints(ctx, tx, keys(want))
	if err != nil {
		return err
	}
	for _, p := range keys(want) {
		w := want[p]
		old, known := have[p]
		if known && old == w {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO traffic_waypoints (product_id, user_id, anchor, measurement_period, deleted_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (product_id) DO UPDATE SET user_id = excluded.user_id, anchor = excluded.anchor,
			measurement_period = excluded.measurement_period, deleted_at = excluded.deleted_at`),
			p, w.user, w.Anchor, w.Period, w.Deleted); err != nil {
			return s.err(err)
		}
		if known && old.Waypoint != w.Waypoint {
			if err := s.regroup(ctx, tx, p, w.Waypoint); err != nil {
				return err
			}
		} else if !known {
			// Samples may have arrived before the provision, grouped by the default.
			if err := s.regroup(ctx, tx, p, w.Waypoint); err != nil {
				return err
			}
		}
	}
	return nil
}

// regroup recomputes the periods of a waypoint's samples and rebuilds its period and day
// totals: once per change of its provision, deletion or measurement period.
//
// Errors: KindInvalid, naming the total, when a total of the new grouping would pass
// 2^63-1 bytes.
func (s *Store) regroup(ctx context.Context, tx *sql.Tx, product int64, w rating.Waypoint) error {
	// anchor + floor((t - anchor) / M) * M, with SQL's truncating division corrected for t < anchor.
	if _, err := tx.ExecContext(ctx, s.rb(`UPDATE traffic_samples SET period_start = ? + ((occurred_at - ?) / ?) * ?
		- CASE WHEN occurred_at < ? AND (occurred_at - ?) % ? <> 0 THEN ? ELSE 0 END WHERE product_id = ?`),
		w.Anchor, w.Anchor, w.Period, w.Period, w.Anchor, w.Anchor, w.Period, w.Period, product); err != nil {
		return s.err(err)
	}
	if err := s.deleteTotals(ctx, tx, product); err != nil {
		return err
	}
	// The totals are summed in Go, checked: a regrouping that would take a total past
	// 2^63-1 bytes is refused like a batch of samples that would.
	return s.writeTotals(ctx, tx, product, w)
}

// storedWaypoints reads the groupings of the given waypoints that are stored.
func (s *Store) storedWaypoints(ctx context.Context, q querier, products []int64) (map[int64]waypointRow, error) {
	out := map[int64]waypointRow{}
	for start := 0; start < len(products); start += chunk {
		part := products[start:min(start+chunk, len(products))]
		rows, err := q.QueryContext(ctx, s.rb(`SELECT product_id, user_id, anchor, measurement_period, deleted_at FROM traffic_waypoints WHERE product_id IN `+inList(len(part))), anyInts(part)...)
		if err != nil {
			return nil, s.err(err)
		}
		for rows.Next() {
			var p int64
			var w waypointRow
			if err := rows.Scan(&p, &w.user, &w.Anchor, &w.Period, &w.Deleted); err != nil {
				rows.Close()
				return nil, s.err(err)
			}
			out[p] = w
		}
		if err := rows.Close(); err != nil {
			return nil, s.err(err)
		}
	}
	return out, nil
}

// groupings returns the grouping of each product, recording one for products met for the
// first time: from the rated resource when there is one (a database rated before traffic
// was stored), else the default period anchored at the epoch until the provision arrives.
func (s *Store) groupings(ctx context.Context, tx *sql.Tx, products []int64) (map[int64]rating.Waypoint, error) {
	have, err := s.storedWaypoints(ctx, tx, products)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]rating.Waypoint, len(products))
	var missing []int64
	for _, p := range products {
		if w, ok := have[p]; ok {
			out[p] = w.Waypoint
		} else {
			missing = append(missing, p)
		}
	}
	for _, p := range missing {
		w := waypointRow{Waypoint: rating.Waypoint{Period: cloudmeter.DefaultMeasurementPeriod}}
		var r cloudmeter.Resource
		var typ, attrs string
		err := tx.QueryRowContext(ctx, s.rb(`SELECT user_id, type, attributes, provisioned_at, deleted_at FROM resources WHERE product_id = ?`), p).
			Scan(&r.UserID, &typ, &attrs, &r.ProvisionedAt, &r.DeletedAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, s.err(err)
		default:
			r.ProductID, r.Type = p, cloudmeter.ResourceType(typ)
			if err := json.Unmarshal([]byte(attrs), &r.Attributes); err != nil {
				return nil, cloudmeter.Internal(err)
			}
			if rw, ok := rating.WaypointOf(&r); ok {
				w = waypointRow{Waypoint: rw, user: r.UserID}
			}
		}
		if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO traffic_waypoints (product_id, user_id, anchor, measurement_period, deleted_at) VALUES (?, ?, ?, ?, ?)`),
			p, w.user, w.Anchor, w.Period, w.Deleted); err != nil {
			return nil, s.err(err)
		}
		out[p] = w.Waypoint
	}
	return out, nil
}

type sampleGroup struct {
	product int64
	dir     cloudmeter.Direction
}

// appendSamples stores new samples (accepted events of the batch) and adjusts the totals.
func (s *Store) appendSamples(ctx context.Context, tx *sql.Tx, events []cloudmeter.Event) error {
	groups := map[sampleGroup][]rating.Sample{}
	products := map[int64]bool{}
	for i := range events {
		e := &events[i]
		if e.Traffic == nil {
			return cloudmeter.Internal(errors.New("traffic event " + e.Source + " " + e.ID + " has no decoded sample"))
		}
		g := sampleGroup{e.ProductID, e.Traffic.Direction}
		groups[g] = append(groups[g], rating.Sample{Time: e.Time, Source: e.Source, ID: e.ID, Counter: e.Traffic.Counter, Value: e.Traffic.Value})
		products[e.ProductID] = true
	}
	grouping, err := s.groupings(ctx, tx, keys(products))
	if err != nil {
		return err
	}
	var inserts, updates []storedSample
	var inserted []sampleGroup
	var updated []sampleGroup
	deltas := map[trafficKey]trafficDelta{}
	var overflow error // the first total the batch's own samples take past 2^63-1 bytes
	add := func(g sampleGroup, period, bytes, samples int64) {
		w := grouping[g.product]
		if !w.Billed(period) {
			return
		}
		k := trafficKey{g.product, g.dir, period}
		d := deltas[k]
		var ok bool
		if d.bytes, ok = rating.AddBytes(d.bytes, bytes); !ok && overflow == nil {
			overflow = batchOverflowError(periodTotals, k)
		}
		d.samples += samples
		deltas[k] = d
	}
	gs := make([]sampleGroup, 0, len(groups))
	for g := range groups {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b sampleGroup) int {
		if a.product != b.product {
			return cmpInt(a.product, b.product)
		}
		return strings.Compare(string(a.dir), string(b.dir))
	})
	latest, err := s.latestReadings(ctx, tx, gs, groups)
	if err != nil {
		return err
	}
	var newLatest []sampleGroup
	for _, g := range gs {
		w := grouping[g.product]
		var counters []rating.Sample
		for _, smp := range groups[g] {
			if !smp.Counter {
				p := rating.PeriodStart(smp.Time, w.Anchor, w.Period)
				inserts, inserted = append(inserts, storedSample{Sample: smp, bytes: smp.Value, period: p, isNew: true}), append(inserted, g)
				add(g, p, smp.Value, 1)
				continue
			}
			counters = append(counters, smp)
		}
		if len(counters) == 0 {
			continue
		}
		sortSamples(counters)
		last, known := latest[g]
		var merged []storedSample
		switch {
		case !known: // the first readings of the waypoint and direction
			merged = newReadings(counters, w)
		case rating.SampleLess(&last, &counters[0]): // all after the stored ones
			merged = append([]storedSample{{Sample: last, period: noPeriod}}, newReadings(counters, w)...)
		default: // late readings: look up their neighbours
			if merged, err = s.counterNeighbours(ctx, tx, g, counters, w); err != nil {
				return err
			}
		}
		if top := counters[len(counters)-1]; !known || rating.SampleLess(&last, &top) {
			latest[g] = top
			newLatest = append(newLatest, g)
		}
		var prev int64
		hasPrev := false
		for i := range merged {
			m := &merged[i]
			if m.period == noPeriod { // the reading before the batch's first: only a predecessor
				prev, hasPrev = m.Value, true
				continue
			}
			c := rating.CounterTraffic(prev, hasPrev, m.Value)
			prev, hasPrev = m.Value, true
			switch {
			case m.isNew:
				m.bytes = c
				inserts, inserted = append(inserts, *m), append(inserted, g)
				add(g, m.period, c, 1)
			case c != m.bytes:
				add(g, m.period, c-m.bytes, 0)
				m.bytes = c
				updates, updated = append(updates, *m), append(updated, g)
			}
		}
	}

	args := make([]any, 0, len(inserts)*9)
	for i, smp := range inserts {
		g := inserted[i]
		args = append(args, g.product, string(g.dir), boolInt(smp.Counter), smp.Time, smp.Value, smp.Source, smp.ID, smp.bytes, smp.period)
	}
	if err := s.execRows(ctx, tx, insertSamples, args); err != nil {
		return err
	}
	for i, smp := range updates {
		g := updated[i]
		if _, err := tx.ExecContext(ctx, s.rb(`UPDATE traffic_samples SET bytes = ? WHERE product_id = ? AND direction = ? AND counter = 1 AND occurred_at = ? AND value = ? AND source = ? AND id = ?`),
			smp.bytes, g.product, string(g.dir), smp.Time, smp.Value, smp.Source, smp.ID); err != nil {
			return s.err(err)
		}
	}
	args = make([]any, 0, len(newLatest)*6)
	for _, g := range newLatest {
		l := latest[g]
		args = append(args, g.product, string(g.dir), l.Time, l.Value, l.Source, l.ID)
	}
	if err := s.execRows(ctx, tx, upsertCounters, args); err != nil {
		return err
	}
	if overflow != nil {
		return overflow
	}
	days := map[trafficKey]trafficDelta{}
	for _, k := range sortedTrafficKeys(deltas) {
		d := deltas[k]
		dk := trafficKey{k.product, k.dir, dayOf(k.start)}
		t := days[dk]
		var ok bool
		if t.bytes, ok = rating.AddBytes(t.bytes, d.bytes); !ok {
			return batchOverflowError(dayTotals, dk)
		}
		t.samples += d.samples
		days[dk] = t
	}
	// Each upsert adds to the stored totals, checked against 2^63-1 bytes row by row.
	if err := s.upsertChecked(ctx, tx, periodTotals, deltas); err != nil {
		return err
	}
	if err := s.upsertChecked(ctx, tx, dayTotals, days); err != nil {
		return err
	}
	return s.addMonths(ctx, tx, days)
}

// noPeriod marks the stored reading that only precedes the batch's readings.
const noPeriod = -1 << 62

func sortSamples(ss []rating.Sample) {
	slices.SortFunc(ss, func(a, b rating.Sample) int {
		switch {
		case rating.SampleLess(&a, &b):
			return -1
		case rating.SampleLess(&b, &a):
			return 1
		}
		return 0
	})
}

// newReadings wraps sorted new readings with their periods.
func newReadings(news []rating.Sample, w rating.Waypoint) []storedSample {
	out := make([]storedSample, len(news))
	for i, n := range news {
		out[i] = storedSample{Sample: n, period: rating.PeriodStart(n.Time, w.Anchor, w.Period), isNew: true}
	}
	return out
}

// latestReadings returns the latest stored counter reading of each group with counter
// readings in the batch, when there is one.
func (s *Store) latestReadings(ctx context.Context, tx *sql.Tx, gs []sampleGroup, groups map[sampleGroup][]rating.Sample) (map[sampleGroup]rating.Sample, error) {
	var products []int64
	for _, g := range gs {
		for _, smp := range groups[g] {
			if smp.Counter {
				if len(products) == 0 || products[len(products)-1] != g.product {
					products = append(products, g.product)
				}
				break
			}
		}
	}
	out := map[sampleGroup]rating.Sample{}
	for start := 0; start < len(products); start += chunk {
		part := products[start:min(start+chunk, len(products))]
		rows, err := tx.QueryContext(ctx, s.rb(`SELECT product_id, direction, occurred_at, value, source, id FROM traffic_counters WHERE product_id IN `+inList(len(part))), anyInts(part)...)
		if err != nil {
			return nil, s.err(err)
		}
		for rows.Next() {
			var g sampleGroup
			var dir string
			smp := rating.Sample{Counter: true}
			if err := rows.Scan(&g.product, &dir, &smp.Time, &smp.Value, &smp.Source, &smp.ID); err != nil {
				rows.Close()
				return nil, s.err(err)
			}
			g.dir = cloudmeter.Direction(dir)
			out[g] = smp
		}
		if err := rows.Close(); err != nil {
			return nil, s.err(err)
		}
	}
	return out, nil
}

// counterNeighbours returns, in ledger order, the batch's new readings (sorted) of one
// waypoint and direction merged with the stored readings they may affect: the reading before the first
// new one (marked noPeriod), the stored readings between the first and the last new one,
// and the stored reading after the last.
func (s *Store) counterNeighbours(ctx context.Context, tx *sql.Tx, g sampleGroup, news []rating.Sample, w rating.Waypoint) ([]storedSample, error) {
	first, last := news[0], news[len(news)-1]
	var out []storedSample

	var before storedSample
	err := tx.QueryRowContext(ctx, s.rb(`SELECT value FROM traffic_samples WHERE product_id = ? AND direction = ? AND counter = 1
		AND (occurred_at, value, source, id) < (?, ?, ?, ?) ORDER BY occurred_at DESC, value DESC, source DESC, id DESC LIMIT 1`),
		g.product, string(g.dir), first.Time, first.Value, first.Source, first.ID).Scan(&before.Value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, s.err(err)
	default:
		before.Counter, before.period = true, noPeriod
		out = append(out, before)
	}

	rows, err := tx.QueryContext(ctx, s.rb(`SELECT occurred_at, value, source, id, bytes, period_start FROM traffic_samples WHERE product_id = ? AND direction = ? AND counter = 1
		AND (occurred_at, value, source, id) > (?, ?, ?, ?) ORDER BY occurred_at, value, source, id`),
		g.product, string(g.dir), first.Time, first.Value, first.Source, first.ID)
	if err != nil {
		return nil, s.err(err)
	}
	var stored []storedSample
	for rows.Next() {
		st := storedSample{Sample: rating.Sample{Counter: true}}
		if err := rows.Scan(&st.Time, &st.Value, &st.Source, &st.ID, &st.bytes, &st.period); err != nil {
			rows.Close()
			return nil, s.err(err)
		}
		stored = append(stored, st)
		if rating.SampleLess(&last, &st.Sample) {
			break // the first reading after the batch's last: the last one affected
		}
	}
	if err := rows.Close(); err != nil {
		return nil, s.err(err)
	}

	i, j := 0, 0
	for i < len(news) || j < len(stored) {
		if j == len(stored) || (i < len(news) && rating.SampleLess(&news[i], &stored[j].Sample)) {
			out = append(out, storedSample{Sample: news[i], period: rating.PeriodStart(news[i].Time, w.Anchor, w.Period), isNew: true})
			i++
			continue
		}
		out = append(out, stored[j])
		j++
	}
	return out, nil
}

// totalsStatement upserts rows of (product, direction, start, bytes, samples) into a
// table of traffic totals, adding to the row already there, and returns the keys of the
// rows it wrote. It skips, and so does not return, a row whose total would pass 2^63-1
// bytes: the guard is evaluated before the sum, so neither engine ever computes one that
// overflows (SQLite would store it as a REAL, PostgreSQL fail the statement without
// naming the row). See upsertChecked.
func totalsStatement(table, startColumn string) rowsStatement {
	return rowsStatement{head: `INSERT INTO ` + table + ` (product_id, direction, ` + startColumn + `, bytes, samples) VALUES `,
		tail: ` ON CONFLICT (product_id, direction, ` + startColumn + `) DO UPDATE SET bytes = ` + table + `.bytes + excluded.bytes, samples = ` +
			table + `.samples + excluded.samples WHERE CASE WHEN excluded.bytes > 0 THEN ` + table + `.bytes <= ` + maxBytesSQL + ` - excluded.bytes ELSE ` +
			table + `.bytes >= -` + maxBytesSQL + ` - 1 - excluded.bytes END RETURNING product_id, direction, ` + startColumn, cols: 5}
}

// The statements of the traffic write path, prepared like the others (see prepared).
var (
	insertSamples = rowsStatement{head: `INSERT INTO traffic_samples (product_id, direction, counter, occurred_at, value, source, id, bytes, period_start) VALUES `,
		cols: 9}
	upsertCounters = rowsStatement{head: `INSERT INTO traffic_counters (product_id, direction, occurred_at, value, source, id) VALUES `,
		tail: ` ON CONFLICT (product_id, direction) DO UPDATE SET occurred_at = excluded.occurred_at, value = excluded.value, source = excluded.source, id = excluded.id`,
		cols: 6}
	upsertPeriods = totalsStatement("traffic_periods", "period_start")
	upsertDays    = totalsStatement("traffic_days", "day_start")
	// A month total is kept in two columns, bytes_hi * 2^32 + bytes_lo with bytes_lo in
	// [0, 2^32): the sum of 31 day totals of up to 2^63-1 bytes fits, so the upsert never
	// refuses a row (the limit is per period and per day, rating.md "Limits"), and a read
	// that sums more than 2^63-1 bytes is refused as for days. The carry of the low
	// halves goes to the high one in the upsert itself.
	upsertMonths = rowsStatement{head: `INSERT INTO traffic_months (product_id, direction, month_start, bytes_hi, bytes_lo, samples) VALUES `,
		tail: ` ON CONFLICT (product_id, direction, month_start) DO UPDATE SET
			bytes_hi = traffic_months.bytes_hi + excluded.bytes_hi + ((traffic_months.bytes_lo + excluded.bytes_lo) >> 32),
			bytes_lo = (traffic_months.bytes_lo + excluded.bytes_lo) & 4294967295, samples = traffic_months.samples + excluded.samples`,
		cols: 6}
)

// monthSumSQL sums the month totals of a read: the sum of the high halves times 2^32
// plus that of the low ones, in one value and one subquery. It never fails: PostgreSQL
// sums BIGINT as numeric (a total past 64 bits reads as valueTooLarge), and SQLite's
// integer arithmetic turns a product or sum past 64 bits into a REAL (read as
// valueNotInteger, which for months can only mean that). When it fits, neither part
// overflowed (both are at most the total, as bytes_lo >= 0), so it is exact.
const monthSumSQL = "SUM(t.bytes_hi) * 4294967296 + SUM(t.bytes_lo)"

// monthDelta is a change to a month total, in the halves of its columns: hi * 2^32 + lo.
type monthDelta struct{ hi, lo, samples int64 }

// addMonths adds the changes of day totals to the month totals that hold them.
func (s *Store) addMonths(ctx context.Context, tx *sql.Tx, days map[trafficKey]trafficDelta) error {
	months := map[trafficKey]monthDelta{}
	for k, d := range days {
		mk := trafficKey{k.product, k.dir, monthStart(k.start)}
		m := months[mk]
		// d.bytes = (d.bytes >> 32) * 2^32 + (d.bytes & (2^32-1)), the low part in [0, 2^32):
		// at most 31 days a month, so neither part can overflow.
		m.hi += d.bytes >> 32
		m.lo += d.bytes & 0xFFFFFFFF
		m.samples += d.samples
		months[mk] = m
	}
	ks := sortedTrafficKeys(months)
	args := make([]any, 0, len(ks)*upsertMonths.cols)
	for _, k := range ks {
		m := months[k]
		args = append(args, k.product, string(k.dir), k.start, m.hi+(m.lo>>32), m.lo&0xFFFFFFFF, m.samples)
	}
	return s.execRows(ctx, tx, upsertMonths, args)
}

// deleteTotals deletes the period, day and month totals of a waypoint.
func (s *Store) deleteTotals(ctx context.Context, tx *sql.Tx, product int64) error {
	for _, tt := range trafficTables {
		if _, err := tx.ExecContext(ctx, s.rb(`DELETE FROM `+tt.name+` WHERE product_id = ?`), product); err != nil {
			return s.err(err)
		}
	}
	return nil
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

func anyInts(xs []int64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// TrafficPeriods returns the billed traffic of a waypoint per direction and period,
// ordered by direction and period start.
func (s *Store) TrafficPeriods(ctx context.Context, productID int64) ([]cloudmeter.TrafficPeriod, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT direction, period_start, bytes, samples FROM traffic_periods WHERE product_id = ? ORDER BY direction, period_start`), productID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.TrafficPeriod
	for rows.Next() {
		tp := cloudmeter.TrafficPeriod{ProductID: productID}
		var dir string
		var bytes intValue
		if err := rows.Scan(&dir, &tp.Start, &bytes, &tp.Samples); err != nil {
			return nil, s.err(err)
		}
		tp.Direction = cloudmeter.Direction(dir)
		if bytes.state != valueInteger {
			return nil, notIntegerError(periodTotals, trafficKey{productID, tp.Direction, tp.Start})
		}
		tp.Bytes = bytes.v
		out = append(out, tp)
	}
	return out, s.err(rows.Err())
}

// TrafficSums sums the billed traffic of a user's waypoints per direction over the
// periods that start within [q.From, q.To], split at q.Cuts. Whole UTC months inside one
// piece are read from the month totals, whole days left from the day totals, and the
// days a window edge or a cut falls inside period by period (planTraffic).
func (s *Store) TrafficSums(ctx context.Context, q cloudmeter.TrafficQuery) ([]cloudmeter.TrafficSum, error) {
	if q.To < q.From {
		return nil, nil
	}
	cuts := make([]int64, 0, len(q.Cuts))
	for _, c := range q.Cuts {
		if c > q.From && c <= q.To && (len(cuts) == 0 || c > cuts[len(cuts)-1]) {
			cuts = append(cuts, c)
		}
	}
	// One query per rangesPerQuery reads (one for any report but one cut by many price
	// changes): a row per waypoint of the user, and per read and direction a scalar
	// subquery that sums the read's range of totals of that waypoint and direction. Each
	// is one index seek on the totals' key (product_id, direction, start) and a scan of
	// the range, whatever the engine's statistics: a join would let PostgreSQL's planner
	// scan a whole totals table when one user owns most of it (and so read the whole
	// history stored to sum a window of it). A subquery over no rows is NULL: no total
	// in the range.
	reads := planTraffic(q.From, q.To, cuts)
	// On PostgreSQL the queries run in one read-only transaction (one snapshot for all
	// of them) without JIT compilation: the planner prices a subquery per waypoint and
	// read high enough to compile the query, which takes longer (tens of ms) than running
	// it does.
	var db querier = s.db
	if s.d.Name() == "postgres" {
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, s.err(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SET LOCAL jit = off"); err != nil {
			return nil, s.err(err)
		}
		db = tx
	}
	window := "the traffic of its measurement periods starting from " + cloudmeter.FormatTime(q.From) + " to " + cloudmeter.FormatTime(q.To)
	// run adds the sums of reads to sums, checked; halved sums days and periods in
	// halves.
	run := func(reads []trafficRead, halved bool, sums map[trafficKey]int64) error {
		var sel strings.Builder
		args := make([]any, 0, 4*len(reads)+1)
		for _, r := range reads {
			tt := trafficTables[r.level]
			aggs := []string{"SUM(t.bytes)"}
			switch {
			case r.level == levelMonths:
				aggs = []string{monthSumSQL}
			case halved:
				aggs = []string{"SUM(t.bytes >> 32)", "SUM(t.bytes & 4294967295)"}
			}
			for _, dir := range cloudmeter.Directions {
				for _, agg := range aggs {
					sel.WriteString(", (SELECT " + agg + " FROM " + tt.name + " t WHERE t.product_id = w.product_id AND t.direction = '" + string(dir) +
						"' AND t." + tt.start + " >= ? AND t." + tt.start + " <= ?)")
					args = append(args, r.lo, r.hi)
				}
			}
		}
		args = append(args, q.UserID)
		rows, err := db.QueryContext(ctx, s.rb(`SELECT w.product_id`+sel.String()+` FROM traffic_waypoints w WHERE w.user_id = ?`), args...)
		if err != nil {
			return s.err(err)
		}
		defer rows.Close()
		cells := make([]sumValue, len(reads)*len(cloudmeter.Directions))
		var product int64
		dest := []any{&product}
		for i := range cells {
			cells[i].halved = halved && reads[i/len(cloudmeter.Directions)].level != levelMonths
			dest = append(dest, cells[i].dest()...)
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return s.err(err)
			}
			for i := range cells {
				v := &cells[i]
				if v.null() {
					continue
				}
				r := reads[i/len(cloudmeter.Directions)]
				k := trafficKey{product, cloudmeter.Directions[i%len(cloudmeter.Directions)], int64(r.piece)}
				bytes, state := v.get()
				if state == valueNotInteger && r.level == levelMonths {
					state = valueTooLarge // SQLite's product past 64 bits (monthSumSQL)
				}
				if state == valueNotInteger {
					return s.firstNotInteger(ctx, trafficTables[r.level], k.product, k.dir)
				}
				ok := state == valueInteger
				if ok {
					sums[k], ok = rating.AddBytes(sums[k], bytes)
				}
				if !ok {
					return sumOverflowError(k.product, k.dir, window)
				}
			}
		}
		return s.err(rows.Err())
	}
	sums := map[trafficKey]int64{} // start holds the piece
	for start := 0; start < len(reads); start += rangesPerQuery {
		part := reads[start:min(start+rangesPerQuery, len(reads))]
		err := run(part, false, sums)
		if engineOverflow(err) {
			// SQLite stopped at an overflow without naming it: sum again, in halves.
			if named := run(part, true, map[trafficKey]int64{}); named != nil {
				err = named
			}
		}
		if err != nil {
			return nil, err
		}
	}

	out := make([]cloudmeter.TrafficSum, 0, len(sums))
	for k, b := range sums {
		out = append(out, cloudmeter.TrafficSum{ProductID: k.product, Direction: k.dir, Piece: int(k.start), Bytes: b})
	}
	slices.SortFunc(out, func(a, b cloudmeter.TrafficSum) int {
		if a.ProductID != b.ProductID {
			return cmpInt(a.ProductID, b.ProductID)
		}
		if a.Direction != b.Direction {
			return strings.Compare(string(a.Direction), string(b.Direction))
		}
		return a.Piece - b.Piece
	})
	return out, nil
}

// rangesPerQuery bounds the reads of one TrafficSums query: each adds two or four
// subqueries (and their placeholders) to it.
const rangesPerQuery = 32

// TrafficSeries sums one waypoint's samples by bucket of their own time.
func (s *Store) TrafficSeries(ctx context.Context, q cloudmeter.TrafficSeriesQuery) ([]cloudmeter.TrafficPoint, error) {
	if q.Bucket <= 0 || q.To < q.From {
		return nil, nil
	}
	// run sums the samples by bucket and direction, checked (see sumSQL).
	run := func(halved bool) (map[int64]*cloudmeter.TrafficPoint, error) {
		rows, err := s.db.QueryContext(ctx, s.rb(`SELECT occurred_at - occurred_at % ?, direction, `+sumSQL("bytes", halved)+`, COUNT(*) FROM traffic_samples
			WHERE product_id = ? AND occurred_at >= ? AND occurred_at <= ? GROUP BY 1, 2`),
			q.Bucket, q.ProductID, q.From, q.To)
		if err != nil {
			return nil, s.err(err)
		}
		defer rows.Close()
		byStart := map[int64]*cloudmeter.TrafficPoint{}
		for rows.Next() {
			var start, n int64
			var dir string
			v := sumValue{halved: halved}
			if err := rows.Scan(append(append([]any{&start, &dir}, v.dest()...), &n)...); err != nil {
				return nil, s.err(err)
			}
			p := byStart[start]
			if p == nil {
				p = &cloudmeter.TrafficPoint{Start: start}
				byStart[start] = p
			}
			total := &p.Download
			if cloudmeter.Direction(dir) == cloudmeter.DirectionUpload {
				total = &p.Upload
			}
			// Samples' contributions are integers, written from Go: a sum can only overflow.
			bytes, state := v.get()
			ok := state == valueInteger
			if ok {
				*total, ok = rating.AddBytes(*total, bytes)
			}
			if !ok {
				return nil, sumOverflowError(q.ProductID, cloudmeter.Direction(dir), "the traffic of its samples from "+cloudmeter.FormatTime(start)+
					" to "+cloudmeter.FormatTime(start+q.Bucket-1))
			}
			p.Samples += n
		}
		return byStart, s.err(rows.Err())
	}
	byStart, err := run(false)
	if engineOverflow(err) {
		// SQLite stopped at an overflow without naming it: sum again, in halves.
		if _, named := run(true); named != nil {
			err = named
		}
	}
	if err != nil {
		return nil, err
	}
	out := make([]cloudmeter.TrafficPoint, 0, len(byStart))
	for _, p := range byStart {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b cloudmeter.TrafficPoint) int { return cmpInt(a.Start, b.Start) })
	return out, nil
}

// ledgerEvents returns every stored event of a product, traffic samples included, with
// Data but without the typed fields.
func (s *Store) ledgerEvents(ctx context.Context, productID int64) ([]cloudmeter.Event, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT source, id, product_id, type, occurred_at, subject, digest, data FROM events WHERE product_id = ?`), productID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.Event
	for rows.Next() {
		var e cloudmeter.Event
		var typ, data string
		if err := rows.Scan(&e.Source, &e.ID, &e.ProductID, &typ, &e.Time, &e.Subject, &e.Digest, &data); err != nil {
			return nil, s.err(err)
		}
		e.Type, e.Data = cloudmeter.EventType(typ), []byte(data)
		out = append(out, e)
	}
	return out, s.err(rows.Err())
}

// TrafficTooLarge says that a traffic total does not fit the 64-bit byte counts: the
// message of the KindInvalid error the engines give for their own overflow errors. The
// store checks every total it writes or sums itself, with messages that name it
// (trafficcheck.go), so this is a last resort.
const TrafficTooLarge = "a traffic total (bytes of one waypoint and direction) would pass 2^63-1 bytes; nothing was changed"

// UnbilledTraffic lists the samples of products whose grouping has no user: products not
// provisioned (yet) and resources that are not waypoints.
func (s *Store) UnbilledTraffic(ctx context.Context, userID int64) ([]cloudmeter.UnbilledTraffic, error) {
	q := `SELECT w.product_id, COALESCE(r.user_id, 0), COALESCE(r.type, ''), COUNT(*), MIN(t.occurred_at), MAX(t.occurred_at)
		FROM traffic_waypoints w JOIN traffic_samples t ON t.product_id = w.product_id
		LEFT JOIN resources r ON r.product_id = w.product_id
		WHERE w.user_id = 0`
	var args []any
	if userID > 0 {
		q += ` AND r.user_id = ?`
		args = append(args, userID)
	}
	q += ` GROUP BY w.product_id, r.user_id, r.type ORDER BY w.product_id`
	rows, err := s.db.QueryContext(ctx, s.rb(q), args...)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.UnbilledTraffic
	for rows.Next() {
		var u cloudmeter.UnbilledTraffic
		var typ string
		if err := rows.Scan(&u.ProductID, &u.UserID, &typ, &u.Samples, &u.First, &u.Last); err != nil {
			return nil, s.err(err)
		}
		u.Type = cloudmeter.ResourceType(typ)
		out = append(out, u)
	}
	return out, s.err(rows.Err())
}

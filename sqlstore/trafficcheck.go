package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// Checked traffic totals (issue 15). A waypoint's traffic in one direction may total at
// most rating.MaxTotalBytes (2^63-1) bytes per measurement period and per UTC day.
//
//   - Ingest checks every total it writes: sums within the batch in Go, and the sum of
//     a stored total and the batch's addition in the upsert itself, whose DO UPDATE is
//     guarded so that it skips a row it would overflow; the key the upsert does not
//     return is named in the refusal (upsertChecked). Without the guard SQLite turns the
//     overflowing sum into a REAL, and PostgreSQL refuses it without naming the total.
//   - Regrouping a waypoint's samples (and repairing it) sums them in two 32-bit halves
//     (sumBytes), which no engine can overflow, put together in Go, checked.
//   - Reads sum with a plain SUM, checked as it is scanned (sumSQL, intValue): a REAL
//     where an integer belongs (an overflowed total written by an earlier version) or a
//     sum past 64 bits is an error naming the waypoint, never a scan error or a wrapped
//     number.
//   - Opening the store repairs such totals from the stored samples (RepairTraffic).

// maxBytesSQL is rating.MaxTotalBytes as an SQL literal.
const maxBytesSQL = "9223372036854775807"

// sumBytes is the SQL that sums the bytes column col in two parts, the high and the low
// 32 bits summed apart, which no engine can overflow before 2^31 rows: exact sums that
// halves puts together in Go, checked.
func sumBytes(col string) string {
	return "SUM(" + col + " >> 32), SUM(" + col + " & 4294967295)"
}

// halves adds the two columns of sumBytes: hi * 2^32 + lo, or ok false when that does
// not fit in 64 bits.
func halves(hi, lo int64) (int64, bool) {
	if hi > math.MaxInt64>>32 || hi < math.MinInt64>>32 {
		return 0, false
	}
	return rating.AddBytes(hi<<32, lo)
}

// sumSQL is the sum of bytes a read asks for: a plain SUM, as cheap as a sum can be, or
// (halved) sumBytes. A plain SUM is exact and checked too: PostgreSQL sums BIGINT as
// numeric (a sum past 64 bits reads as valueTooLarge), and SQLite gives a REAL when a
// summed value is one (valueNotInteger) and stops the query with an integer overflow
// error otherwise, without saying which group overflowed; only then does a read sum
// again in halves, to name it.
func sumSQL(col string, halved bool) string {
	if halved {
		return sumBytes(col)
	}
	return "SUM(" + col + ")"
}

// sumValue scans what sumSQL sums.
type sumValue struct {
	halved        bool
	plain, hi, lo intValue
}

func (v *sumValue) dest() []any {
	if v.halved {
		return []any{&v.hi, &v.lo}
	}
	return []any{&v.plain}
}

// null reports whether the sum was over no rows (SQL's NULL).
func (v *sumValue) null() bool {
	if v.halved {
		return v.hi.null && v.lo.null
	}
	return v.plain.null
}

// get returns the sum and what it was.
func (v *sumValue) get() (int64, valueState) {
	if !v.halved {
		return v.plain.v, v.plain.state
	}
	if v.hi.state != valueInteger || v.lo.state != valueInteger {
		return 0, max(v.hi.state, v.lo.state)
	}
	sum, ok := halves(v.hi.v, v.lo.v)
	if !ok {
		return 0, valueTooLarge
	}
	return sum, valueInteger
}

// engineOverflow reports whether err is an engine's own overflow error (SQLite's SUM).
func engineOverflow(err error) bool {
	return cloudmeter.KindOf(err) == cloudmeter.KindInvalid && cloudmeter.MessageOf(err) == TrafficTooLarge
}

// valueState says what an integer column or sum held.
type valueState uint8

const (
	valueInteger    valueState = iota // a 64-bit integer (NULL reads as 0)
	valueTooLarge                     // a whole number past the 64-bit range (a PostgreSQL numeric sum)
	valueNotInteger                   // not a whole number (a REAL SQLite stored for an overflowing sum)
)

// intValue scans an integer column or sum without failing on a value that is not a
// 64-bit integer, saying what it was instead.
type intValue struct {
	v     int64
	state valueState
	null  bool // it was NULL (read as 0)
}

// Scan implements sql.Scanner.
func (iv *intValue) Scan(src any) error {
	iv.v, iv.state, iv.null = 0, valueInteger, false
	switch x := src.(type) {
	case nil:
		iv.null = true
	case int64:
		iv.v = x
	case []byte:
		iv.parse(string(x))
	case string:
		iv.parse(x)
	default: // float64 above all
		iv.state = valueNotInteger
	}
	return nil
}

func (iv *intValue) parse(s string) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	switch {
	case err == nil:
		iv.v = v
	case errors.Is(err, strconv.ErrRange):
		iv.state = valueTooLarge
	default:
		iv.state = valueNotInteger
	}
}

// The totals tables and the columns that date their rows.
var (
	periodTotals = totalsTable{name: "traffic_periods", start: "period_start"}
	dayTotals    = totalsTable{name: "traffic_days", start: "day_start", day: true}
	// monthTotals holds its bytes in two columns (upsertMonths), never refused and never
	// a REAL: only reads name it.
	monthTotals = totalsTable{name: "traffic_months", start: "month_start", month: true}
	// trafficTables is the table of each level (trafficplan.go).
	trafficTables = [...]totalsTable{levelMonths: monthTotals, levelDays: dayTotals, levelPeriods: periodTotals}
)

type totalsTable struct {
	name, start string
	day         bool // rows are UTC days, not measurement periods
	month       bool // rows are UTC months
}

// what names a total of the table for messages.
func (tt totalsTable) what(k trafficKey) string {
	if tt.month {
		return fmt.Sprintf("waypoint %d (product_id), %s: the traffic of its measurement periods starting in the UTC month %s",
			k.product, k.dir, time.Unix(k.start, 0).UTC().Format("2006-01"))
	}
	if tt.day {
		return fmt.Sprintf("waypoint %d (product_id), %s: the traffic of its measurement periods starting on the UTC day %s",
			k.product, k.dir, time.Unix(k.start, 0).UTC().Format(time.DateOnly))
	}
	return fmt.Sprintf("waypoint %d (product_id), %s: the traffic of its measurement period starting %s", k.product, k.dir, cloudmeter.FormatTime(k.start))
}

// trafficRule is the rule a refused total breaks, for messages.
const trafficRule = "more than 2^63-1 bytes (9223372036854775807), the most one waypoint may total in one direction over a measurement period or a UTC day"

// overflowError refuses a batch that would take the total k of tt past the limit.
func overflowError(tt totalsTable, k trafficKey, stored, adding int64) error {
	sum := new(big.Int).Add(big.NewInt(stored), big.NewInt(adding))
	return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s would total %s bytes (%d stored, %d more in this batch): %s; nothing of the batch was stored",
		tt.what(k), sum, stored, adding, trafficRule)
}

// batchOverflowError refuses a batch whose own samples take the total k of tt past the
// limit.
func batchOverflowError(tt totalsTable, k trafficKey) error {
	return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s would total %s by this batch's samples alone; nothing of the batch was stored", tt.what(k), trafficRule)
}

// notIntegerError reports a stored total that is not an integer, read by a store whose
// opening did not repair it (the database was written by an earlier version meanwhile).
func notIntegerError(tt totalsTable, k trafficKey) error {
	return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s is stored as a number that is not a whole count of bytes (an overflowed total written by a version before the "+
		"2^63-1 rule): restart cloudmeter, which repairs it from the stored samples when the store is opened (docs/operations.md, \"Traffic totals\")", tt.what(k))
}

// sumOverflowError refuses a read whose sum of one waypoint and direction does not fit.
func sumOverflowError(product int64, dir cloudmeter.Direction, what string) error {
	return cloudmeter.Errorf(cloudmeter.KindInvalid, "waypoint %d (product_id), %s: %s totals more than 2^63-1 bytes (9223372036854775807), "+
		"which cannot be reported; ask for a shorter window", product, dir, what)
}

// upsertChecked adds deltas to a totals table, refusing (with an error naming it) a
// total that would pass 2^63-1 bytes. The upsert skips a row it would overflow (its DO
// UPDATE is guarded) and returns the keys of the rows it wrote, so a key missing from
// them was refused; only then is its stored total read, to name it. The caller rolls the
// transaction back.
func (s *Store) upsertChecked(ctx context.Context, tx *sql.Tx, tt totalsTable, deltas map[trafficKey]trafficDelta) error {
	ks := sortedTrafficKeys(deltas)
	args := make([]any, 0, len(ks)*5)
	for _, k := range ks {
		d := deltas[k]
		args = append(args, k.product, string(k.dir), k.start, d.bytes, d.samples)
	}
	st := upsertPeriods
	if tt.day {
		st = upsertDays
	}
	written := make([]trafficKey, 0, len(ks))
	for _, n := range rowCounts(len(ks)) {
		stmt, err := s.prepared(ctx, tx, st.text(n))
		if err != nil {
			return err
		}
		rows, err := stmt.QueryContext(ctx, args[:n*st.cols]...)
		if err != nil {
			return s.err(err)
		}
		for rows.Next() {
			var k trafficKey
			var dir string
			if err := rows.Scan(&k.product, &dir, &k.start); err != nil {
				rows.Close()
				return s.err(err)
			}
			k.dir = cloudmeter.Direction(dir)
			written = append(written, k)
		}
		if err := rows.Close(); err != nil {
			return s.err(err)
		}
		args = args[n*st.cols:]
	}
	if len(written) == len(ks) {
		return nil
	}
	done := make(map[trafficKey]bool, len(written))
	for _, k := range written {
		done[k] = true
	}
	for _, k := range ks {
		if done[k] {
			continue
		}
		var stored intValue
		if err := tx.QueryRowContext(ctx, s.rb(`SELECT bytes FROM `+tt.name+` WHERE product_id = ? AND direction = ? AND `+tt.start+` = ?`),
			k.product, string(k.dir), k.start).Scan(&stored); err != nil {
			return s.err(err)
		}
		if stored.state != valueInteger {
			return notIntegerError(tt, k)
		}
		return overflowError(tt, k, stored.v, deltas[k].bytes)
	}
	return cloudmeter.Internal(fmt.Errorf("%s: the upsert returned %d rows for %d keys", tt.name, len(written), len(ks)))
}

func sortedTrafficKeys[V any](m map[trafficKey]V) []trafficKey {
	ks := make([]trafficKey, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b trafficKey) int {
		if a.product != b.product {
			return cmpInt(a.product, b.product)
		}
		if a.dir != b.dir {
			return strings.Compare(string(a.dir), string(b.dir))
		}
		return cmpInt(a.start, b.start)
	})
	return ks
}

// writeTotals computes the period and day totals of waypoint product from its stored
// samples' contributions, checked, and inserts them; the product must have no totals
// stored (the caller deleted them). Only billed periods of w count.
func (s *Store) writeTotals(ctx context.Context, tx *sql.Tx, product int64, w rating.Waypoint) error {
	last := int64(cloudmeter.OpenEnd)
	if w.Deleted != 0 {
		last = w.Deleted
	}
	rows, err := tx.QueryContext(ctx, s.rb(`SELECT direction, period_start, `+sumBytes("bytes")+`, COUNT(*) FROM traffic_samples
		WHERE product_id = ? AND period_start >= ? AND period_start <= ? GROUP BY direction, period_start`), product, w.Anchor, last)
	if err != nil {
		return s.err(err)
	}
	periods := map[trafficKey]trafficDelta{}
	for rows.Next() {
		var dir string
		var hi, lo, n int64
		k := trafficKey{product: product}
		if err := rows.Scan(&dir, &k.start, &hi, &lo, &n); err != nil {
			rows.Close()
			return s.err(err)
		}
		k.dir = cloudmeter.Direction(dir)
		sum, ok := halves(hi, lo)
		if !ok {
			rows.Close()
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: its stored samples, grouped by its measurement periods, would total %s; nothing was changed", periodTotals.what(k), trafficRule)
		}
		periods[k] = trafficDelta{bytes: sum, samples: n}
	}
	if err := rows.Close(); err != nil {
		return s.err(err)
	}
	days := map[trafficKey]trafficDelta{}
	for _, k := range sortedTrafficKeys(periods) {
		d := periods[k]
		dk := trafficKey{k.product, k.dir, dayOf(k.start)}
		t := days[dk]
		var ok bool
		if t.bytes, ok = rating.AddBytes(t.bytes, d.bytes); !ok {
			return cloudmeter.Errorf(cloudmeter.KindInvalid, "%s: its stored samples, grouped by its measurement periods, would total %s; nothing was changed", dayTotals.what(dk), trafficRule)
		}
		t.samples += d.samples
		days[dk] = t
	}
	if err := s.upsertChecked(ctx, tx, periodTotals, periods); err != nil {
		return err
	}
	if err := s.upsertChecked(ctx, tx, dayTotals, days); err != nil {
		return err
	}
	return s.addMonths(ctx, tx, days)
}

// TrafficRepair is a waypoint whose traffic totals RepairTraffic rebuilt.
type TrafficRepair struct {
	ProductID int64
	// Periods and Days count the totals that were not whole numbers of bytes.
	Periods, Days int
}

// RepairTraffic finds the traffic totals that are not whole numbers of bytes (a REAL that
// SQLite stored when a sum passed 2^63-1 bytes, before ingest refused such sums) and
// rebuilds the traffic of their waypoints from the stored samples: what each sample
// contributes (in ledger order), its period, the period and day totals, and the latest
// counter reading. Opening the store calls it. Finding them reads only such rows (a
// partial index of migration 7 holds them); PostgreSQL stores no such value (its
// BIGINT columns refuse one), so there it does nothing.
//
// Errors: KindUnavailable, naming the waypoint, direction and period, when a total
// rebuilt from the samples still passes 2^63-1 bytes: the samples that should have been
// refused are still stored, and nothing is changed (docs/operations.md says how to
// remove them).
func (s *Store) RepairTraffic(ctx context.Context) ([]TrafficRepair, error) {
	if s.d.Name() != "sqlite" {
		return nil, nil
	}
	bad := map[int64]*TrafficRepair{}
	for _, tt := range []totalsTable{periodTotals, dayTotals} {
		rows, err := s.db.QueryContext(ctx, `SELECT product_id, COUNT(*) FROM `+tt.name+` WHERE typeof(bytes) <> 'integer' GROUP BY product_id`)
		if err != nil {
			return nil, s.err(err)
		}
		for rows.Next() {
			var p int64
			var n int
			if err := rows.Scan(&p, &n); err != nil {
				rows.Close()
				return nil, s.err(err)
			}
			r := bad[p]
			if r == nil {
				r = &TrafficRepair{ProductID: p}
				bad[p] = r
			}
			if tt.day {
				r.Days += n
			} else {
				r.Periods += n
			}
		}
		if err := rows.Close(); err != nil {
			return nil, s.err(err)
		}
	}
	var out []TrafficRepair
	for _, p := range keys(bad) {
		if err := s.rebuildTraffic(ctx, p); err != nil {
			var ce *cloudmeter.Error
			if errors.As(err, &ce) && ce.Kind == cloudmeter.KindInvalid {
				return out, cloudmeter.Errorf(cloudmeter.KindUnavailable, "the stored traffic cannot be repaired: %s. The samples that should have been refused "+
					"are still stored: remove them, or restore a backup, and start again (docs/operations.md, \"Traffic totals\")", ce.Message)
			}
			return out, err
		}
		out = append(out, *bad[p])
	}
	return out, nil
}

// rebuildTraffic recomputes a waypoint's traffic from its stored samples, in one
// transaction.
func (s *Store) rebuildTraffic(ctx context.Context, product int64) error {
	if s.d.OneWriter() {
		if err := s.lockWriter(ctx); err != nil {
			return err
		}
		defer s.unlockWriter()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.err(err)
	}
	defer tx.Rollback()
	grouping, err := s.groupings(ctx, tx, []int64{product})
	if err != nil {
		return err
	}
	w := grouping[product]
	rows, err := tx.QueryContext(ctx, s.rb(`SELECT direction, counter, occurred_at, value, source, id, bytes, period_start FROM traffic_samples WHERE product_id = ?`), product)
	if err != nil {
		return s.err(err)
	}
	samples := map[cloudmeter.Direction][]storedSample{}
	for rows.Next() {
		var dir string
		var counter int64
		var st storedSample
		if err := rows.Scan(&dir, &counter, &st.Time, &st.Value, &st.Source, &st.ID, &st.bytes, &st.period); err != nil {
			rows.Close()
			return s.err(err)
		}
		st.Counter = counter != 0
		samples[cloudmeter.Direction(dir)] = append(samples[cloudmeter.Direction(dir)], st)
	}
	if err := rows.Close(); err != nil {
		return s.err(err)
	}
	for _, dir := range cloudmeter.Directions {
		ss := samples[dir]
		slices.SortFunc(ss, func(a, b storedSample) int {
			switch {
			case rating.SampleLess(&a.Sample, &b.Sample):
				return -1
			case rating.SampleLess(&b.Sample, &a.Sample):
				return 1
			}
			return 0
		})
		var prev int64
		hasPrev := false
		var latest *storedSample
		for i := range ss {
			st := &ss[i]
			c := st.Value
			if st.Counter {
				c = rating.CounterTraffic(prev, hasPrev, st.Value)
				prev, hasPrev, latest = st.Value, true, st
			}
			p := rating.PeriodStart(st.Time, w.Anchor, w.Period)
			if c == st.bytes && p == st.period {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.rb(`UPDATE traffic_samples SET bytes = ?, period_start = ? WHERE product_id = ? AND direction = ? AND counter = ?
				AND occurred_at = ? AND value = ? AND source = ? AND id = ?`), c, p, product, string(dir), boolInt(st.Counter), st.Time, st.Value, st.Source, st.ID); err != nil {
				return s.err(err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.rb(`DELETE FROM traffic_counters WHERE product_id = ? AND direction = ?`), product, string(dir)); err != nil {
			return s.err(err)
		}
		if latest != nil {
			if err := s.execRows(ctx, tx, upsertCounters, []any{product, string(dir), latest.Time, latest.Value, latest.Source, latest.ID}); err != nil {
				return err
			}
		}
	}
	if err := s.deleteTotals(ctx, tx, product); err != nil {
		return err
	}
	if err := s.writeTotals(ctx, tx, product, w); err != nil {
		return err
	}
	return s.err(tx.Commit())
}

// firstNotInteger names the first total of a waypoint and direction in tt that is not a
// whole number of bytes: the error of a read that summed it.
func (s *Store) firstNotInteger(ctx context.Context, tt totalsTable, product int64, dir cloudmeter.Direction) error {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT `+tt.start+`, bytes FROM `+tt.name+` WHERE product_id = ? AND direction = ? ORDER BY `+tt.start), product, string(dir))
	if err != nil {
		return s.err(err)
	}
	defer rows.Close()
	for rows.Next() {
		k := trafficKey{product: product, dir: dir}
		var v intValue
		if err := rows.Scan(&k.start, &v); err != nil {
			return s.err(err)
		}
		if v.state == valueNotInteger {
			return notIntegerError(tt, k)
		}
	}
	if err := rows.Err(); err != nil {
		return s.err(err)
	}
	return cloudmeter.Errorf(cloudmeter.KindInvalid, "waypoint %d (product_id), %s: a stored traffic total is not a whole number of bytes: restart cloudmeter, "+
		"which repairs it when the store is opened (docs/operations.md, \"Traffic totals\")", product, dir)
}

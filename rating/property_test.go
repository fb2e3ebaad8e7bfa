package rating_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
	"github.com/cloudmeter/cloudmeter/rating"
)

// horizon bounds the seconds (relative to t0) of generated histories, so that the
// per-second oracles stay cheap.
const horizon = 40

var historyTypes = []cloudmeter.ResourceType{cloudmeter.ResourceInstance, cloudmeter.ResourceDrive, cloudmeter.ResourceSharedDrive, cloudmeter.ResourceSubnet}

// genAttributes draws attributes that apply to typ; initial says every attribute of the
// type is set (a provision), otherwise a non-empty subset is (a change).
func genAttributes(t *rapid.T, typ cloudmeter.ResourceType, initial bool, label string) cloudmeter.Attributes {
	var a cloudmeter.Attributes
	for {
		set := func(name string) bool { return initial || rapid.Bool().Draw(t, label+"."+name+"?") }
		switch typ {
		case cloudmeter.ResourceInstance:
			if set("server_type_id") {
				a.ServerTypeID = ptr(rapid.Int64Range(1, 3).Draw(t, label+".server_type_id"))
			}
			if set("server_type_name") {
				a.ServerTypeName = ptr(rapid.SampledFrom([]string{"M.8.8", "M.16.16"}).Draw(t, label+".server_type_name"))
			}
		case cloudmeter.ResourceDrive:
			if set("drive_size_mbytes") {
				a.DriveSizeMBytes = ptr(1024 * rapid.Int64Range(1, 3).Draw(t, label+".drive_size_mbytes"))
			}
			if set("storage_type") {
				a.StorageType = ptr(rapid.SampledFrom([]string{"ssd", "hdd"}).Draw(t, label+".storage_type"))
			}
		case cloudmeter.ResourceSharedDrive:
			if set("shared_drive_size_mbytes") {
				a.SharedDriveSizeMBytes = ptr(1024 * rapid.Int64Range(1, 3).Draw(t, label+".shared_drive_size_mbytes"))
			}
			if set("storage_type") {
				a.StorageType = ptr(rapid.SampledFrom([]string{"ssd", "hdd"}).Draw(t, label+".storage_type"))
			}
		case cloudmeter.ResourceSubnet:
			if set("subnet_type") {
				a.SubnetType = ptr("ipv4")
			}
			if set("subnet_prefix_size") {
				a.SubnetPrefixSize = ptr(rapid.Int64Range(28, 30).Draw(t, label+".subnet_prefix_size"))
			}
		}
		if a != (cloudmeter.Attributes{}) {
			return a
		}
	}
}

// genHistory draws the events of one product: usually a provision, then any mix of
// changes, power events, deletes and further provisions, anywhere in time (before the
// provision, after the delete, in the same second), from two sources. Keys are unique.
func genHistory(t *rapid.T) []cloudmeter.Event {
	typ := rapid.SampledFrom(historyTypes).Draw(t, "type")
	var evs []cloudmeter.Event
	id := 0
	next := func() (string, string) {
		id++
		return rapid.SampledFrom([]string{"src-a", "src-b"}).Draw(t, "source"), fmt.Sprintf("e%02d", id)
	}
	provision := func(at int64) {
		src, eid := next()
		e := provisioned(eid, at, typ, rapid.Int64Range(1, 3).Draw(t, "user"), genAttributes(t, typ, true, eid))
		e.Source = src
		e.Provision.ExcludeBilling = rapid.Bool().Draw(t, "exclude_billing")
		evs = append(evs, e)
	}
	if rapid.IntRange(0, 9).Draw(t, "provisioned") < 8 {
		provision(rapid.Int64Range(0, 10).Draw(t, "provision_at"))
	}
	n := rapid.IntRange(0, 12).Draw(t, "events")
	for range n {
		at := rapid.Int64Range(-3, horizon-5).Draw(t, "at")
		var e cloudmeter.Event
		switch kind := rapid.IntRange(0, 9).Draw(t, "kind"); kind {
		case 0:
			provision(at)
			continue
		case 1, 2, 3:
			_, eid := next()
			e = changed(eid, at, genAttributes(t, typ, false, eid))
		case 4:
			_, eid := next()
			e = stopped(eid, at)
		case 5:
			_, eid := next()
			e = hibernated(eid, at)
		case 6:
			_, eid := next()
			e = started(eid, at)
		case 7, 8:
			_, eid := next()
			e = deleted(eid, at)
		case 9:
			_, eid := next()
			e = traffic(eid, at)
		}
		e.Source = rapid.SampledFrom([]string{"src-a", "src-b"}).Draw(t, "source")
		evs = append(evs, e)
	}
	return evs
}

// model is an independent statement of the metering rules: the ledger order of the
// documentation (time, then provision < change < stop < start < delete, then source and
// id) and the state each effective event leaves behind.
type model struct {
	provisioned bool
	prov, del   int64 // del is 0 while alive
	user        int64
	typ         cloudmeter.ResourceType
	steps       []step // effective states, by time
	anomalies   map[string]cloudmeter.AnomalyKind
}

type step struct {
	at    int64
	state cloudmeter.State
	attrs cloudmeter.Attributes
}

var ledgerOrder = map[cloudmeter.EventType]int{
	cloudmeter.EventProvisioned: 0, cloudmeter.EventChanged: 1, cloudmeter.EventStopped: 2, cloudmeter.EventStarted: 3, cloudmeter.EventDeleted: 4,
}

func newModel(events []cloudmeter.Event) model {
	var evs []cloudmeter.Event
	for _, e := range events {
		if e.Type != cloudmeter.EventTrafficMetered {
			evs = append(evs, e)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		switch {
		case a.Time != b.Time:
			return a.Time < b.Time
		case ledgerOrder[a.Type] != ledgerOrder[b.Type]:
			return ledgerOrder[a.Type] < ledgerOrder[b.Type]
		case a.Source != b.Source:
			return a.Source < b.Source
		}
		return a.ID < b.ID
	})
	m := model{anomalies: map[string]cloudmeter.AnomalyKind{}}
	for _, e := range evs {
		if !m.provisioned {
			if e.Type == cloudmeter.EventProvisioned {
				m.provisioned, m.prov, m.user, m.typ = true, e.Time, e.Provision.UserID, e.Provision.ResourceType
				m.steps = append(m.steps, step{e.Time, cloudmeter.StateActive, e.Attributes})
				for id, k := range m.anomalies {
					if k == cloudmeter.AnomalyNotProvisioned {
						m.anomalies[id] = cloudmeter.AnomalyBeforeProvision
					}
				}
				continue
			}
			m.anomalies[e.ID] = cloudmeter.AnomalyNotProvisioned
			continue
		}
		cur := m.steps[len(m.steps)-1]
		switch {
		case m.del != 0 && e.Type == cloudmeter.EventDeleted:
			m.anomalies[e.ID] = cloudmeter.AnomalyDuplicateDelete
		case m.del != 0:
			m.anomalies[e.ID] = cloudmeter.AnomalyAfterDelete
		case e.Type == cloudmeter.EventProvisioned:
			m.anomalies[e.ID] = cloudmeter.AnomalyDuplicateProvision
		case e.Type == cloudmeter.EventChanged:
			m.steps = append(m.steps, step{e.Time, cur.state, cur.attrs.Merge(e.Attributes)})
		case e.Type == cloudmeter.EventStopped || e.Type == cloudmeter.EventStarted:
			switch {
			case m.typ != cloudmeter.ResourceInstance:
				m.anomalies[e.ID] = cloudmeter.AnomalyNotApplicable
			case e.State == cur.state:
				m.anomalies[e.ID] = cloudmeter.AnomalyRedundantPower
			default:
				m.steps = append(m.steps, step{e.Time, e.State, cur.attrs})
			}
		case e.Type == cloudmeter.EventDeleted:
			m.del = e.Time
		}
	}
	return m
}

// at returns the state and attributes in force during second s: those of the last
// effective event at or before s.
func (m model) at(s int64) step {
	cur := m.steps[0]
	for _, st := range m.steps {
		if st.at <= s {
			cur = st
		}
	}
	return cur
}

// TestPropMeterOrderFree: any permutation of a product's events gives the same rating.
func TestPropMeterOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		evs := genHistory(t)
		perm := rapid.Permutation(evs).Draw(t, "permutation")
		want, got := rating.Meter(pid, evs), rating.Meter(pid, perm)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("rating depends on the order of events (-given order +permuted):\n%s", diff)
		}
	})
}

// TestPropMeterSpans: spans are contiguous and cover exactly [provision, delete] (or are
// open-ended), so the billed seconds do not depend on the changes; at every second they
// carry the state and attributes in force; the anomalies are those the rules name.
func TestPropMeterSpans(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		evs := genHistory(t)
		r := rating.Meter(pid, evs)
		m := newModel(evs)

		gotAnomalies := map[string]cloudmeter.AnomalyKind{}
		for _, a := range r.Anomalies {
			if _, dup := gotAnomalies[a.EventID]; dup {
				t.Errorf("event %s has two anomalies", a.EventID)
			}
			gotAnomalies[a.EventID] = a.Kind
			wantUser := int64(0)
			if m.provisioned {
				wantUser = m.user
			}
			if a.UserID != wantUser || a.ProductID != pid {
				t.Errorf("anomaly %+v: want user %d, product %d", a, wantUser, pid)
			}
		}
		if diff := cmp.Diff(m.anomalies, gotAnomalies); diff != "" {
			t.Errorf("anomalies by event id (-model +Meter):\n%s", diff)
		}

		if !m.provisioned {
			if r.Resource != nil || len(r.Spans) != 0 {
				t.Fatalf("never provisioned, yet resource %+v and %d spans", r.Resource, len(r.Spans))
			}
			return
		}
		if r.Resource == nil || len(r.Spans) == 0 {
			t.Fatalf("provisioned at %d, yet resource %v and %d spans", m.prov-t0, r.Resource, len(r.Spans))
		}
		if r.Spans[0].Start != m.prov {
			t.Errorf("first span starts at %d, want the provision at %d", r.Spans[0].Start-t0, m.prov-t0)
		}
		var billed int64
		for i, s := range r.Spans {
			if s.Start > s.End {
				t.Errorf("span %d: start %d after end %d", i, s.Start-t0, s.End-t0)
			}
			if i > 0 && s.Start != r.Spans[i-1].End+1 {
				t.Errorf("span %d starts at %d, previous ended at %d: gap or overlap", i, s.Start-t0, r.Spans[i-1].End-t0)
			}
			if i < len(r.Spans)-1 && s.End == cloudmeter.OpenEnd {
				t.Errorf("span %d is open-ended but not the last", i)
			}
			billed += s.End - s.Start + 1
		}
		last := r.Spans[len(r.Spans)-1]
		if m.del != 0 {
			if last.End != m.del {
				t.Errorf("last span ends at %d, want the delete at %d", last.End-t0, m.del-t0)
			}
			if billed != m.del-m.prov+1 {
				t.Errorf("billed %d seconds, want delete - provision + 1 = %d", billed, m.del-m.prov+1)
			}
		} else if last.End != cloudmeter.OpenEnd {
			t.Errorf("alive, yet the last span ends at %d", last.End-t0)
		}

		end := m.del
		if end == 0 {
			end = t0 + horizon + 2
		}
		k := 0
		for s := m.prov; s <= end; s++ {
			for k < len(r.Spans) && r.Spans[k].End < s {
				k++
			}
			if k == len(r.Spans) || r.Spans[k].Start > s {
				t.Fatalf("second %d is in no span", s-t0)
			}
			want := m.at(s)
			if r.Spans[k].State != want.state || !cmp.Equal(r.Spans[k].Attributes, want.attrs) {
				t.Fatalf("second %d: span says %s %s, want %s %s", s-t0, r.Spans[k].State, attrString(r.Spans[k].Attributes),
					want.state, attrString(want.attrs))
			}
		}

		res := r.Resource
		final := m.steps[len(m.steps)-1]
		if res.ProvisionedAt != m.prov || res.DeletedAt != m.del || res.UserID != m.user || res.State != final.state ||
			!cmp.Equal(res.Attributes, final.attrs) {
			t.Errorf("resource %+v: want provisioned %d, deleted %d, user %d, state %s, attributes %s", *res, m.prov, m.del, m.user,
				final.state, attrString(final.attrs))
		}
	})
}

// bookSubjects are the subjects the pricing properties price.
var bookSubjects = []cloudmeter.ResourceType{cloudmeter.ResourceInstance, cloudmeter.ResourceDrive, cloudmeter.ResourceSharedDrive, cloudmeter.ResourceSubnet}

// genEntry draws a valid time-based entry, usually for typ.
func genEntry(t *rapid.T, typ cloudmeter.ResourceType, i int) *pricebook.Entry {
	l := func(name string) string { return fmt.Sprintf("entries[%d].%s", i, name) }
	e := &pricebook.Entry{
		ResourceType:  rapid.SampledFrom(append([]cloudmeter.ResourceType{typ, typ, typ, typ, typ, typ, typ, typ}, bookSubjects...)).Draw(t, l("resource_type")),
		Price:         money.Price(rapid.Int64Range(0, 5000).Draw(t, l("price")) * money.PriceScale / 10000),
		PeriodSeconds: rapid.SampledFrom([]int64{1, 3600, 86400, 2592000}).Draw(t, l("period_seconds")),
		Unit:          pricebook.UnitItem,
	}
	maybe := func(name string) bool { return rapid.IntRange(0, 2).Draw(t, l(name)+"?") == 0 }
	if maybe("datacenter") {
		e.Datacenter = ptr(rapid.SampledFrom([]string{"dc-a", "dc-b"}).Draw(t, l("datacenter")))
	}
	if maybe("user_id") {
		e.UserID = ptr(rapid.Int64Range(1, 2).Draw(t, l("user_id")))
	}
	switch e.ResourceType {
	case cloudmeter.ResourceInstance:
		if maybe("server_type_id") {
			e.ServerTypeID = ptr(rapid.Int64Range(1, 2).Draw(t, l("server_type_id")))
		}
		if maybe("state") {
			e.State = ptr(rapid.SampledFrom([]string{"active", "stopped"}).Draw(t, l("state")))
		}
	case cloudmeter.ResourceDrive, cloudmeter.ResourceSharedDrive:
		if maybe("storage_type") {
			e.StorageType = ptr(rapid.SampledFrom([]string{"ssd", "hdd"}).Draw(t, l("storage_type")))
		}
		e.Unit = rapid.SampledFrom([]pricebook.Unit{pricebook.UnitGiB, pricebook.UnitItem}).Draw(t, l("unit"))
	case cloudmeter.ResourceSubnet:
		if maybe("subnet_type") {
			e.SubnetType = ptr(rapid.SampledFrom([]string{"ipv4", "ipv6"}).Draw(t, l("subnet_type")))
		}
		if e.SubnetType != nil && *e.SubnetType == "ipv4" {
			e.Unit = rapid.SampledFrom([]pricebook.Unit{pricebook.UnitIP, pricebook.UnitItem}).Draw(t, l("unit"))
		}
	}
	var from *int64
	if maybe("valid_from") {
		f := t0 + rapid.Int64Range(-5, horizon).Draw(t, l("valid_from"))
		from = &f
		e.ValidFrom = ptr(time.Unix(f, 0).UTC())
	}
	if maybe("valid_until") {
		u := t0 + rapid.Int64Range(-3, horizon+5).Draw(t, l("valid_until"))
		if from != nil {
			u = *from + rapid.Int64Range(1, horizon).Draw(t, l("valid_length"))
		}
		e.ValidUntil = ptr(time.Unix(u, 0).UTC())
	}
	return e
}

// genSpan draws a span of a resource of type typ with every attribute set.
func genSpan(t *rapid.T, typ cloudmeter.ResourceType) cloudmeter.Span {
	s := cloudmeter.Span{
		UserID: rapid.Int64Range(1, 2).Draw(t, "span.user"), ProductID: pid, InfrastructureID: 7,
		Datacenter: rapid.SampledFrom([]string{"dc-a", "dc-b"}).Draw(t, "span.datacenter"), Type: typ,
		State: cloudmeter.StateActive, Attributes: genAttributes(t, typ, true, "span"),
	}
	if typ == cloudmeter.ResourceInstance {
		s.State = rapid.SampledFrom([]cloudmeter.State{cloudmeter.StateActive, cloudmeter.StateStopped}).Draw(t, "span.state")
	}
	if typ == cloudmeter.ResourceSubnet && rapid.Bool().Draw(t, "span.ipv6") {
		s.Attributes = cloudmeter.Attributes{SubnetType: ptr("ipv6"), SubnetPrefixSize: ptr[int64](64)}
	}
	s.Start = t0 + rapid.Int64Range(-5, horizon/2).Draw(t, "span.start")
	s.End = s.Start + rapid.Int64Range(0, horizon).Draw(t, "span.length")
	if rapid.IntRange(0, 3).Draw(t, "span.open") == 0 {
		s.End = cloudmeter.OpenEnd
	}
	return s
}

// oracleEntry is the entry that prices the subject at second sec by the documented rule,
// found by brute force: among the matching entries valid at sec, the per-user one beats
// the per-datacenter one beats the default; then more discriminators; then the one that
// names the power state; then the later valid_from; then the later entry of the book.
func oracleEntry(b *pricebook.Book, s *cloudmeter.Span, sec int64) *pricebook.Entry {
	rank := func(i int, e *pricebook.Entry) [5]int64 {
		scope := int64(0)
		if e.UserID != nil {
			scope = 2
		} else if e.Datacenter != nil {
			scope = 1
		}
		var d int64
		for _, set := range []bool{e.ServerTypeID != nil, e.StorageType != nil, e.SubnetType != nil, e.State != nil, e.Direction != nil} {
			if set {
				d++
			}
		}
		from := int64(-1 << 62)
		if e.ValidFrom != nil {
			from = e.ValidFrom.Unix()
		}
		state := int64(0)
		if e.State != nil {
			state = 1
		}
		return [5]int64{scope, d, state, from, int64(i)}
	}
	less := func(a, b [5]int64) bool {
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	}
	var win *pricebook.Entry
	var winRank [5]int64
	a := &s.Attributes
	for i, e := range b.Entries {
		switch {
		case e.ResourceType != s.Type, e.Unit == pricebook.UnitGB,
			e.UserID != nil && *e.UserID != s.UserID,
			e.Datacenter != nil && *e.Datacenter != s.Datacenter,
			e.ServerTypeID != nil && (a.ServerTypeID == nil || *a.ServerTypeID != *e.ServerTypeID),
			e.StorageType != nil && (a.StorageType == nil || *a.StorageType != *e.StorageType),
			e.SubnetType != nil && (a.SubnetType == nil || *a.SubnetType != *e.SubnetType),
			e.State != nil && *e.State != string(s.State),
			e.ValidFrom != nil && e.ValidFrom.Unix() > sec,
			e.ValidUntil != nil && e.ValidUntil.Unix() <= sec:
			continue
		}
		if r := rank(i, e); win == nil || less(winRank, r) {
			win, winRank = e, r
		}
	}
	return win
}

// oracleUnits counts the units of the subject for a unit, as DESIGN 2.2 defines them.
func oracleUnits(s *cloudmeter.Span, u pricebook.Unit) (num, den int64, ok bool) {
	a := &s.Attributes
	switch u {
	case pricebook.UnitItem:
		return 1, 1, true
	case pricebook.UnitGiB:
		if s.Type == cloudmeter.ResourceDrive && a.DriveSizeMBytes != nil {
			return *a.DriveSizeMBytes, 1024, true
		}
		if s.Type == cloudmeter.ResourceSharedDrive && a.SharedDriveSizeMBytes != nil {
			return *a.SharedDriveSizeMBytes, 1024, true
		}
	case pricebook.UnitIP:
		if a.SubnetType != nil && *a.SubnetType == "ipv4" && a.SubnetPrefixSize != nil {
			return 1 << (32 - *a.SubnetPrefixSize), 1, true
		}
	}
	return 0, 0, false
}

// TestPropPrice: the segments of a priced span tile the requested range exactly, and
// each second is priced by the entry the specificity rule picks, at the cost per unit
// DESIGN 2.2 defines.
func TestPropPrice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		typ := rapid.SampledFrom(bookSubjects).Draw(t, "type")
		book := &pricebook.Book{Currency: "GBP"}
		for i := range rapid.IntRange(0, 8).Draw(t, "entries") {
			book.Entries = append(book.Entries, genEntry(t, typ, i))
		}
		if errs := book.Validate(); len(errs) != 0 {
			t.Fatalf("generated book is invalid: %v", errs)
		}
		// Several subjects and ranges per book, so that contested seconds are common.
		for range 8 {
			checkPrice(t, book, typ)
		}
	})
}

// checkPrice prices a random span of type typ over a random range and compares every
// second with the oracle.
func checkPrice(t *rapid.T, book *pricebook.Book, typ cloudmeter.ResourceType) {
	s := genSpan(t, typ)
	from := t0 + rapid.Int64Range(-10, horizon/2).Draw(t, "from")
	to := from + rapid.Int64Range(0, horizon+10).Draw(t, "length")
	if rapid.IntRange(0, 19).Draw(t, "empty") == 0 {
		to = from - 1
	}

	segs, err := rating.NewPricer(book).Price(&s, from, to)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := max(from, s.Start), min(to, s.End)
	if lo > hi {
		if len(segs) != 0 {
			t.Fatalf("[%d, %d] misses the span, yet %d segments", from-t0, to-t0, len(segs))
		}
		return
	}
	if len(segs) == 0 || segs[0].Start != lo || segs[len(segs)-1].End != hi {
		t.Fatalf("segments %s do not tile [%d, %d]", segBounds(segs), lo-t0, hi-t0)
	}
	var seconds int64
	for i, seg := range segs {
		if seg.Start > seg.End || (i > 0 && seg.Start != segs[i-1].End+1) {
			t.Fatalf("segments %s do not tile [%d, %d]", segBounds(segs), lo-t0, hi-t0)
		}
		seconds += seg.End - seg.Start + 1
		want := s
		want.Start, want.End = seg.Start, seg.End
		if diff := cmp.Diff(want, seg.Span); diff != "" {
			t.Errorf("segment %d does not carry its span (-want +got):\n%s", i, diff)
		}
		if seg.MeasurementPeriod != 3600 {
			t.Errorf("segment %d: measurement period %d, want 3600", i, seg.MeasurementPeriod)
		}
		for sec := seg.Start; sec <= seg.End; sec++ {
			w := oracleEntry(book, &s, sec)
			var num, den int64
			ok := false
			if w != nil {
				num, den, ok = oracleUnits(&s, w.Unit)
			}
			switch {
			case !ok:
				if seg.Entry != nil || seg.Unpriced == "" || seg.CostPerUnit != 0 {
					t.Fatalf("second %d: winner %s cannot price it, yet segment has entry %s, cpu %s, unpriced %q",
						sec-t0, entryName(w), entryName(seg.Entry), seg.CostPerUnit, seg.Unpriced)
				}
			case seg.Entry != w:
				t.Fatalf("second %d: priced by %s, want %s (book %s)", sec-t0, entryName(seg.Entry), entryName(w), book.JSON())
			default:
				cpu, err := money.CostPerUnit(num, den, w.Price, 3600, w.PeriodSeconds)
				if err != nil {
					t.Fatal(err)
				}
				if seg.CostPerUnit != cpu || seg.Unpriced != "" {
					t.Fatalf("second %d: cost per unit %s (unpriced %q), want %s", sec-t0, seg.CostPerUnit, seg.Unpriced, cpu)
				}
			}
		}
	}
	if seconds != hi-lo+1 {
		t.Fatalf("segments hold %d seconds, want %d", seconds, hi-lo+1)
	}

	// Pieces split only where the winner changes.
	subj := rating.Subject(&s)
	pieces := book.Pieces(&subj, lo, hi)
	for i := 1; i < len(pieces); i++ {
		if pieces[i].Entry == pieces[i-1].Entry {
			t.Fatalf("pieces %d and %d have the same entry: not merged", i-1, i)
		}
	}
}

func segBounds(segs []rating.Segment) string {
	s := ""
	for _, seg := range segs {
		s += fmt.Sprintf("[%d, %d] ", seg.Start-t0, seg.End-t0)
	}
	return s
}

func entryName(e *pricebook.Entry) string {
	if e == nil {
		return "no entry"
	}
	return fmt.Sprintf("entries[%d]", e.Index())
}

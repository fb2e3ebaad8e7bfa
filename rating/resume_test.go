package rating_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// genLedger draws the events of one product for the incremental properties: genHistory's
// mix over a longer stretch of time, with more events in one second, changes that set
// attributes of another type, waypoints, and traffic samples.
func genLedger(t *rapid.T) []cloudmeter.Event {
	typ := rapid.SampledFrom(append(slices.Clone(historyTypes), cloudmeter.ResourceNetwork)).Draw(t, "type")
	attrs := func(initial bool, label string) cloudmeter.Attributes {
		var a cloudmeter.Attributes
		if typ == cloudmeter.ResourceNetwork {
			a.MeasurementPeriod = ptr(rapid.SampledFrom([]int64{60, 3600}).Draw(t, label+".measurement_period"))
		} else {
			a = genAttributes(t, typ, initial, label)
		}
		if rapid.IntRange(0, 5).Draw(t, label+".foreign?") == 0 {
			a.StoredGBytes = ptr(rapid.Int64Range(1, 3).Draw(t, label+".stored_gbytes")) // applies to a data lake only
		}
		return a
	}
	span := rapid.Int64Range(5, 120).Draw(t, "span")
	at := func() int64 { return rapid.Int64Range(-3, span).Draw(t, "at") }
	source := func() string { return rapid.SampledFrom([]string{"src-a", "src-b"}).Draw(t, "source") }
	var evs []cloudmeter.Event
	provision := func(id string, when int64) {
		e := provisioned(id, when, typ, rapid.Int64Range(1, 3).Draw(t, "user"), attrs(true, id))
		e.Provision.ExcludeBilling = rapid.Bool().Draw(t, "exclude_billing")
		evs = append(evs, e)
	}
	if rapid.IntRange(0, 9).Draw(t, "provisioned") < 8 {
		provision("e00", rapid.Int64Range(-2, 10).Draw(t, "provision_at"))
	}
	for i := range rapid.IntRange(0, 40).Draw(t, "events") {
		id := fmt.Sprintf("e%02d", i+1)
		var e cloudmeter.Event
		switch rapid.IntRange(0, 12).Draw(t, "kind") {
		case 0:
			provision(id, at())
			evs[len(evs)-1].Source = source()
			continue
		case 1, 2, 3:
			e = changed(id, at(), attrs(false, id))
		case 4:
			e = stopped(id, at())
		case 5:
			e = hibernated(id, at())
		case 6, 7:
			e = started(id, at())
		case 8:
			e = deleted(id, at())
		default:
			e = traffic(id, at())
		}
		e.Source = source()
		evs = append(evs, e)
	}
	return evs
}

// genArrival draws the order and the batches the events arrive in: a random order, or the
// ledger order with some events moved later (late arrivals), split into batches.
func genArrival(t *rapid.T, evs []cloudmeter.Event) [][]cloudmeter.Event {
	var order []cloudmeter.Event
	if rapid.Bool().Draw(t, "shuffled") {
		order = rapid.Permutation(evs).Draw(t, "order")
	} else {
		order = slices.Clone(evs)
		rating.Sort(order)
		for range rapid.IntRange(0, 6).Draw(t, "late") {
			if len(order) < 2 {
				break
			}
			i := rapid.IntRange(0, len(order)-2).Draw(t, "late.from")
			j := rapid.IntRange(i+1, len(order)-1).Draw(t, "late.to")
			e := order[i]
			order = slices.Insert(slices.Delete(order, i, i+1), j, e)
		}
	}
	var batches [][]cloudmeter.Event
	for len(order) > 0 {
		n := rapid.IntRange(1, max(1, len(order))).Draw(t, "batch")
		if rapid.IntRange(0, 3).Draw(t, "small?") > 0 {
			n = min(n, rapid.IntRange(1, 4).Draw(t, "small"))
		}
		batches = append(batches, order[:n])
		order = order[n:]
	}
	return batches
}

// stored is what storage keeps of a product's rating, as the incremental path updates it.
type stored struct {
	events    []cloudmeter.Event
	state     rating.State
	rated     bool // state holds a rating that can be resumed
	spans     []cloudmeter.Span
	marks     []int
	anomalies []cloudmeter.Anomaly
	resource  *cloudmeter.Resource
}

// replace puts a step's spans and anomalies in place of those it replaces.
func (s *stored) replace(t *rapid.T, st rating.Step, from int64) {
	keep := 0
	for keep < len(s.spans) && s.spans[keep].Start < from {
		keep++
	}
	s.spans, s.marks = s.spans[:keep], s.marks[:keep]
	for i, sp := range st.Spans {
		if sp.Start < from {
			continue
		}
		s.spans = append(s.spans, sp)
		s.marks = append(s.marks, st.Marks[i])
	}
	if st.AnomaliesFrom > len(s.anomalies) {
		t.Fatalf("step follows %d anomalies, only %d stored", st.AnomaliesFrom, len(s.anomalies))
	}
	s.anomalies = append(s.anomalies[:st.AnomaliesFrom], st.Anomalies...)
	s.state, s.rated = st.State, true
	s.resource = st.Rating(pid).Resource
}

// add stores a batch the way sqlstore does: resumed when it comes after everything
// applied, resumed from an earlier span's start when it is late (at a resume point drawn
// among those before it), replayed otherwise. It returns how it was rated.
func (s *stored) add(t *rapid.T, batch []cloudmeter.Event) string {
	s.events = append(s.events, batch...)
	var life []cloudmeter.Event
	for _, e := range batch {
		if e.Type != cloudmeter.EventTrafficMetered {
			life = append(life, e)
		}
	}
	if len(life) == 0 {
		return "traffic only"
	}
	replay := func() string {
		st, ok := rating.Replay(pid, s.events)
		if !ok {
			t.Fatalf("Replay refused typed events")
		}
		s.spans, s.marks, s.anomalies = nil, nil, nil
		s.replace(t, st, st.From)
		return "replayed"
	}
	if !s.rated {
		return replay()
	}
	if st, ok := rating.Resume(s.state, pid, batch); ok {
		s.replace(t, st, st.From)
		return "resumed"
	}
	if s.state.Resource == nil {
		return replay()
	}
	u := life[0].Time
	for _, e := range life {
		u = min(u, e.Time)
	}
	var points []int // spans but the first that start before u
	for i := 1; i < len(s.spans) && s.spans[i].Start < u; i++ {
		points = append(points, i)
	}
	if len(points) == 0 {
		return replay()
	}
	i := rapid.SampledFrom(points).Draw(t, "resume_point")
	at := s.spans[i].Start
	if s.marks[i] < 0 {
		t.Fatalf("span %d at %d: anomalies before it not known", i, at-t0)
	}
	from := rating.StateBefore(*s.resource, s.spans[i-1], at, s.marks[i])
	var again []cloudmeter.Event
	for _, e := range s.events {
		if e.Time >= at {
			again = append(again, e)
		}
	}
	st, ok := rating.Resume(from, pid, again)
	if !ok {
		t.Fatalf("Resume from the span at %d refused the events from it on", at-t0)
	}
	// The spans before the resume point come back unchanged.
	for j, sp := range st.Spans {
		if sp.Start < at {
			if k := slices.IndexFunc(s.spans, func(x cloudmeter.Span) bool { return x.Start == sp.Start }); k < 0 || !cmp.Equal(s.spans[k], sp) {
				t.Fatalf("resumed at %d, the span before it changed: %+v (span %d of the step)", at-t0, sp, j)
			}
		}
	}
	s.replace(t, st, at)
	return "resumed late"
}

var emptyEqual = cmpopts.EquateEmpty()

// check compares what is stored with rating every event received from scratch.
func (s *stored) check(t *rapid.T, how string) {
	want := rating.Rate(pid, s.events)
	if diff := cmp.Diff(want.Resource, s.resource); diff != "" {
		t.Fatalf("%s: resource (-from scratch +incremental):\n%s", how, diff)
	}
	if diff := cmp.Diff(want.Spans, s.spans, emptyEqual); diff != "" {
		t.Fatalf("%s: spans (-from scratch +incremental):\n%s", how, diff)
	}
	if diff := cmp.Diff(want.Anomalies, s.anomalies, emptyEqual); diff != "" {
		t.Fatalf("%s: anomalies (-from scratch +incremental):\n%s", how, diff)
	}
	// The state too is a function of the set of events: what Replay ends in.
	all, _ := rating.Replay(pid, s.events)
	if diff := cmp.Diff(all.State, s.state); diff != "" {
		t.Fatalf("%s: state (-replayed +incremental):\n%s", how, diff)
	}
	if diff := cmp.Diff(all.Marks, s.marks, emptyEqual); diff != "" {
		t.Fatalf("%s: marks (-replayed +incremental):\n%s", how, diff)
	}
}

// TestPropReplayIsRate: replaying a product's events gives Rate's rating.
func TestPropReplayIsRate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		evs := genLedger(t)
		st, ok := rating.Replay(pid, evs)
		if !ok {
			t.Fatalf("Replay refused typed events")
		}
		want := rating.Rate(pid, evs)
		if diff := cmp.Diff(want, st.Rating(pid), emptyEqual); diff != "" {
			t.Fatalf("Replay (-Rate +Replay):\n%s", diff)
		}
		if len(st.Marks) != len(st.Spans) {
			t.Fatalf("%d marks for %d spans", len(st.Marks), len(st.Spans))
		}
	})
}

// TestPropIncrementalIsFromScratch: whatever order and batches a product's events arrive
// in, rating each batch incrementally (resumed from the stored state, from an earlier
// span when late, replayed when nothing else will do) leaves, after every batch, the
// resource, spans and anomalies of rating every event received from scratch, and the
// state and marks of replaying them.
func TestPropIncrementalIsFromScratch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		evs := genLedger(t)
		var s stored
		for i, b := range genArrival(t, evs) {
			how := s.add(t, b)
			s.check(t, fmt.Sprintf("batch %d (%d events, %s)", i, len(b), how))
		}
	})
}

// TestResumeRefuses: Resume will not apply an event that is not after the state's last
// one, nor a provision to a product that has events but none.
func TestResumeRefuses(t *testing.T) {
	evs := []cloudmeter.Event{provisioned("p", 0, cloudmeter.ResourceInstance, 1, server(1)), stopped("s", 10)}
	st, _ := rating.Replay(pid, evs)
	if _, ok := rating.Resume(st.State, pid, []cloudmeter.Event{started("a", 5)}); ok {
		t.Errorf("Resume applied an event earlier than the last one applied")
	}
	if _, ok := rating.Resume(st.State, pid, []cloudmeter.Event{stopped("s", 10)}); ok {
		t.Errorf("Resume applied the last event again")
	}
	if r, ok := rating.Resume(st.State, pid, []cloudmeter.Event{started("s2", 10)}); !ok || len(r.Spans) != 1 || r.Spans[0].State != cloudmeter.StateActive {
		t.Errorf("a start in the same second as the stop: %+v, %v; want one active span", r.Spans, ok)
	}
	orphan, _ := rating.Replay(pid, []cloudmeter.Event{stopped("s", 10)})
	if _, ok := rating.Resume(orphan.State, pid, []cloudmeter.Event{provisioned("p", 20, cloudmeter.ResourceInstance, 1, server(1))}); ok {
		t.Errorf("Resume applied a provision after events of a product never provisioned")
	}
	if r, ok := rating.Resume(orphan.State, pid, []cloudmeter.Event{started("a", 20)}); !ok || len(r.Anomalies) != 1 || r.AnomaliesFrom != 1 {
		t.Errorf("an event of a product never provisioned: %+v, %v; want one more not_provisioned anomaly", r, ok)
	}
}

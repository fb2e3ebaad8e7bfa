package rating

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/cloudmeter/cloudmeter"
)

// Incremental rating (docs/rating.md, "Incremental rating").
//
// Meter rates a product from the set of all its events. Storage cannot afford that for
// every batch: a product's history only grows. Replay and Resume compute the same rating
// as a fold over the events in ledger order, and hand back the State the fold stopped
// in, so that later events extend the rating without its history:
//
//   - An event later in ledger order than everything applied (the usual case) is applied
//     to the stored State: Resume(state, new events).
//   - A late event (one that sorts before the last event applied) is applied from a
//     point before it: StateBefore derives the state at the start of any span but the
//     first from what storage keeps of it (the span before it, the product's view and
//     the number of anomalies of the earlier events), and Resume re-applies the events
//     from that second on, the late one among them.
//   - A product without a provision, or one whose late event lands before its provision
//     or in its first span, is replayed whole (Replay): there is no earlier state to
//     start from.
//
// The fold emits spans second by second: all the events of one second are applied, and
// the span in progress is cut at that second only if they left the power state or the
// attributes different from the span's. That is Meter's rule (a cut at each effective
// event, then adjacent equal spans merged) stated without looking back, so a span once
// cut never changes unless an event of its own seconds arrives. The span in progress is
// kept as it stood at the start of the last second applied (more events of that second
// may still arrive), so the spans handed back end with a tail of one or two spans that
// the next Resume hands back again.
//
// Anomalies are appended in ledger order; once a product is provisioned, the anomalies of
// the events before a second are a prefix of its list (the provision's own and the
// before_provision ones come first), so a resume point carries their number.

// Key is an event's place in ledger order (Sort): time, then type order, then source and
// id.
type Key struct {
	Time   int64
	Type   cloudmeter.EventType
	Source string
	ID     string
}

// KeyOf returns the ledger key of e.
func KeyOf(e *cloudmeter.Event) Key { return Key{e.Time, e.Type, e.Source, e.ID} }

// Compare orders keys as Sort orders events.
func (k Key) Compare(o Key) int {
	if k.Time != o.Time {
		return cmp.Compare(k.Time, o.Time)
	}
	if a, b := typeOrder[k.Type], typeOrder[o.Type]; a != b {
		return cmp.Compare(a, b)
	}
	if k.Source != o.Source {
		return strings.Compare(k.Source, o.Source)
	}
	return strings.Compare(k.ID, o.ID)
}

// State is what rating needs to go on with a product without reading its history: where
// the fold over its events (in ledger order) stopped.
type State struct {
	// Resource is the product's current view (after every event applied); nil while no
	// provision was applied.
	Resource *cloudmeter.Resource
	// Applied reports whether any event was applied; Last is the last one.
	Applied bool
	Last    Key
	// Deleted reports whether the delete was applied (Resource.DeletedAt holds it).
	Deleted bool
	// Span is the span in progress as it stood at the start of second Last.Time, or once
	// deleted, the last span.
	Span OpenSpan
	// SecondAnomalies is the number of anomalies of the events before second Last.Time.
	SecondAnomalies int
	// Anomalies is the number of anomalies so far.
	Anomalies int
}

// OpenSpan is the span in progress: its first second, what it bills, and the number of
// anomalies of the events before its first second (-1 when not known).
type OpenSpan struct {
	Start           int64
	State           cloudmeter.State
	Attributes      cloudmeter.Attributes
	AnomaliesBefore int
}

// Step is what Replay or Resume gives: the new State and what changed.
type Step struct {
	State State
	// From is where the spans handed back start: the start of the span in progress of
	// the state resumed (the provision for Replay). Stored spans that start at or after
	// From are replaced by Spans; spans before From are unchanged.
	From  int64
	Spans []cloudmeter.Span
	// Marks[i] is the number of anomalies of the events before the second Spans[i]
	// starts: what a resume point at Spans[i].Start needs (-1 when not known, only ever
	// for Spans[0]).
	Marks []int
	// Anomalies follow the first AnomaliesFrom anomalies of the state resumed (0 for
	// Replay): stored anomalies past that many are replaced by these.
	AnomaliesFrom int
	Anomalies     []cloudmeter.Anomaly
}

// Rating returns the step as a Rating of the product: its view, the spans handed back and
// the new anomalies (for Replay: the product's whole rating).
func (st *Step) Rating(productID int64) cloudmeter.Rating {
	r := cloudmeter.Rating{ProductID: productID, Spans: st.Spans, Anomalies: st.Anomalies}
	if st.State.Resource != nil {
		res := *st.State.Resource
		r.Resource = &res
	}
	return r
}

// decodeStored completes the typed fields of events read back from storage, as Rate
// does, and returns the anomalies of those that no longer decode.
func decodeStored(productID int64, events []cloudmeter.Event) (ok []cloudmeter.Event, bad []cloudmeter.Anomaly) {
	ok = events[:0:0]
	for _, e := range events {
		if e.Digest != "" && e.Provision == nil && e.State == "" && e.Traffic == nil && len(e.Data) > 0 && e.Attributes == (cloudmeter.Attributes{}) {
			if err := decodeData(&e); err != nil {
				// Stored events were validated on the way in; one that no longer decodes is
				// shown, never dropped silently.
				bad = append(bad, cloudmeter.Anomaly{ProductID: productID, Kind: cloudmeter.AnomalyNotApplicable,
					Message: "stored event no longer decodes: " + err.Error(), EventSource: e.Source, EventID: e.ID, Time: e.Time})
				continue
			}
		}
		ok = append(ok, e)
	}
	return ok, bad
}

// lifecycle returns the events that are not traffic samples, in ledger order.
func lifecycle(events []cloudmeter.Event) []cloudmeter.Event {
	evs := make([]cloudmeter.Event, 0, len(events))
	for _, e := range events {
		if e.Type != cloudmeter.EventTrafficMetered {
			evs = append(evs, e)
		}
	}
	Sort(evs)
	return evs
}

// Replay rates a product from the set of all its events (in any order; stored events are
// decoded as Rate decodes them) and returns the state it ends in. Its rating
// (Step.Rating) is Rate's. ok is false when a stored event no longer decodes: the
// rating then holds its anomaly (last, as Rate puts it), and the state must not be
// resumed (a later rating must replay the product again).
func Replay(productID int64, events []cloudmeter.Event) (st Step, ok bool) {
	good, bad := decodeStored(productID, events)
	evs := lifecycle(good)
	f := fold{pid: productID}
	prov := -1
	for i := range evs {
		if evs[i].Type == cloudmeter.EventProvisioned && evs[i].Provision != nil {
			prov = i
			break
		}
	}
	if prov < 0 {
		for i := range evs {
			f.notProvisioned(&evs[i])
		}
	} else {
		f.provision(evs[prov], evs[:prov])
		for i := range evs[prov+1:] {
			f.apply(&evs[prov+1+i])
		}
		f.tail()
	}
	st = f.step()
	for i := range bad {
		if st.State.Resource != nil {
			bad[i].UserID = st.State.Resource.UserID
		}
	}
	st.Anomalies = append(st.Anomalies, bad...)
	return st, len(bad) == 0
}

// Resume applies events (in any order; stored events are decoded as Rate decodes them;
// traffic samples are ignored) to a state and returns the new state, the spans from the
// span in progress on and the new anomalies. ok is false, and nothing is returned, when
// an event does not come after s.Last in ledger order, when s has no provision and an
// event is one, or when a stored event no longer decodes: the product must then be
// replayed, or resumed from an earlier point.
func Resume(s State, productID int64, events []cloudmeter.Event) (st Step, ok bool) {
	good, bad := decodeStored(productID, events)
	if len(bad) > 0 {
		return Step{}, false
	}
	evs := lifecycle(good)
	if len(evs) > 0 && s.Applied && KeyOf(&evs[0]).Compare(s.Last) <= 0 {
		return Step{}, false
	}
	f := fold{pid: productID, s: s, from: s.Span.Start, anomaliesFrom: s.Anomalies}
	if s.Resource != nil {
		res := *s.Resource
		f.s.Resource = &res
	}
	if f.s.Resource == nil {
		for i := range evs {
			if evs[i].Type == cloudmeter.EventProvisioned && evs[i].Provision != nil {
				return Step{}, false
			}
			f.notProvisioned(&evs[i])
		}
		return f.step(), true
	}
	for i := range evs {
		f.apply(&evs[i])
	}
	f.tail()
	return f.step(), true
}

// StateBefore returns the state of a provisioned product just before second at, where a
// span of it starts that is not its first: res is its view (its provision's fields are
// all that is read), prev the span that ends at at-1, anomalies the number of anomalies
// of its events before at. Resume it with every event from second at on.
//
// The view of the product at at-1 is what prev bills: a span is cut where the events of
// a second change it, and ends where the next starts.
func StateBefore(res cloudmeter.Resource, prev cloudmeter.Span, at int64, anomalies int) State {
	res.State, res.Attributes, res.DeletedAt = prev.State, prev.Attributes, 0
	return State{
		Resource:        &res,
		Applied:         true,
		Last:            Key{Time: at - 1},
		Span:            OpenSpan{Start: prev.Start, State: prev.State, Attributes: prev.Attributes, AnomaliesBefore: -1},
		SecondAnomalies: anomalies,
		Anomalies:       anomalies,
	}
}

// fold applies events in ledger order to a state, collecting what it emits.
type fold struct {
	pid           int64
	s             State
	from          int64
	anomaliesFrom int
	spans         []cloudmeter.Span
	marks         []int
	anomalies     []cloudmeter.Anomaly
}

func (f *fold) step() Step {
	return Step{State: f.s, From: f.from, Spans: f.spans, Marks: f.marks, AnomaliesFrom: f.anomaliesFrom, Anomalies: f.anomalies}
}

func (f *fold) anomaly(e *cloudmeter.Event, kind cloudmeter.AnomalyKind, msg string) {
	var user int64
	if f.s.Resource != nil {
		user = f.s.Resource.UserID
	}
	f.anomalies = append(f.anomalies, anomaly(*e, user, kind, msg))
	f.s.Anomalies++
}

func (f *fold) notProvisioned(e *cloudmeter.Event) {
	f.anomaly(e, cloudmeter.AnomalyNotProvisioned, fmt.Sprintf("%s for product %d, which was never provisioned: not billed", e.Type, f.pid))
	f.s.Applied, f.s.Last = true, KeyOf(e)
}

// provision applies the winning provision e, with before the events that sort before it.
func (f *fold) provision(e cloudmeter.Event, before []cloudmeter.Event) {
	p := e.Provision
	res := &cloudmeter.Resource{
		ProductID:           f.pid,
		UserID:              p.UserID,
		InfrastructureID:    p.InfrastructureID,
		InfrastructureLabel: p.InfrastructureLabel,
		Datacenter:          p.Datacenter,
		Type:                p.ResourceType,
		Label:               p.Label,
		Subdomain:           p.Subdomain,
		ExcludeBilling:      p.ExcludeBilling,
		Attributes:          applicable(p.ResourceType, e.Attributes),
		State:               cloudmeter.StateActive,
		ProvisionedAt:       e.Time,
	}
	f.s.Resource = res
	if dropped := inapplicable(p.ResourceType, e.Attributes); dropped != "" {
		f.anomaly(&e, cloudmeter.AnomalyNotApplicable, fmt.Sprintf("%s do not apply to a %s: ignored", dropped, p.ResourceType))
	}
	for i := range before {
		b := &before[i]
		f.anomaly(b, cloudmeter.AnomalyBeforeProvision,
			fmt.Sprintf("%s at %s is before the provision at %s: ignored", b.Type, ts(b.Time), ts(res.ProvisionedAt)))
	}
	f.from = e.Time
	f.s.Applied, f.s.Last = true, KeyOf(&e)
	f.s.Span = OpenSpan{Start: e.Time, State: res.State, Attributes: res.Attributes, AnomaliesBefore: f.s.Anomalies}
	f.s.SecondAnomalies = f.s.Anomalies
}

// changed reports whether the view differs from what the span in progress bills.
func (f *fold) changed() bool {
	res := f.s.Resource
	return res.State != f.s.Span.State || !sameAttributes(res.Attributes, f.s.Span.Attributes)
}

// settle ends second sec for the span in progress: when the events of sec changed what it
// bills, it is cut at sec.
func (f *fold) settle(sec int64) {
	if f.s.Deleted || !f.changed() {
		return
	}
	if f.s.Span.Start <= sec-1 {
		f.emit(f.s.Span, sec-1)
	}
	res := f.s.Resource
	f.s.Span = OpenSpan{Start: sec, State: res.State, Attributes: res.Attributes, AnomaliesBefore: f.s.SecondAnomalies}
}

func (f *fold) emit(o OpenSpan, end int64) {
	res := f.s.Resource
	f.spans = append(f.spans, cloudmeter.Span{
		UserID:           res.UserID,
		ProductID:        res.ProductID,
		InfrastructureID: res.InfrastructureID,
		Datacenter:       res.Datacenter,
		Type:             res.Type,
		Label:            res.Label,
		Subdomain:        res.Subdomain,
		ExcludeBilling:   res.ExcludeBilling,
		State:            o.State,
		Attributes:       o.Attributes,
		Start:            o.Start,
		End:              end,
	})
	f.marks = append(f.marks, o.AnomaliesBefore)
}

// apply applies one event of a provisioned product, later than every event applied.
func (f *fold) apply(e *cloudmeter.Event) {
	s := &f.s
	if e.Time > s.Last.Time {
		f.settle(s.Last.Time)
		s.SecondAnomalies = s.Anomalies
	}
	s.Applied, s.Last = true, KeyOf(e)
	res := s.Resource
	if s.Deleted {
		kind, what := cloudmeter.AnomalyAfterDelete, "is after the delete"
		if e.Type == cloudmeter.EventDeleted {
			kind, what = cloudmeter.AnomalyDuplicateDelete, "repeats the delete"
		}
		f.anomaly(e, kind, fmt.Sprintf("%s at %s %s at %s: ignored", e.Type, ts(e.Time), what, ts(res.DeletedAt)))
		return
	}
	switch e.Type {
	case cloudmeter.EventProvisioned:
		f.anomaly(e, cloudmeter.AnomalyDuplicateProvision,
			fmt.Sprintf("a second provision at %s: the one at %s stands", ts(e.Time), ts(res.ProvisionedAt)))
	case cloudmeter.EventChanged:
		if dropped := inapplicable(res.Type, e.Attributes); dropped != "" {
			f.anomaly(e, cloudmeter.AnomalyNotApplicable, fmt.Sprintf("%s do not apply to a %s: ignored", dropped, res.Type))
		}
		next := res.Attributes.Merge(applicable(res.Type, e.Attributes))
		if !sameAttributes(next, res.Attributes) {
			res.Attributes = next
		}
	case cloudmeter.EventStopped, cloudmeter.EventStarted:
		if res.Type != cloudmeter.ResourceInstance {
			f.anomaly(e, cloudmeter.AnomalyNotApplicable,
				fmt.Sprintf("%s applies only to instances, not to a %s: ignored", e.Type, res.Type))
			return
		}
		if e.State == res.State {
			f.anomaly(e, cloudmeter.AnomalyRedundantPower,
				fmt.Sprintf("%s at %s: the instance is already %s: ignored", e.Type, ts(e.Time), res.State))
			return
		}
		res.State = e.State
	case cloudmeter.EventDeleted:
		f.settle(e.Time)
		res.DeletedAt = e.Time
		s.Deleted = true
	}
}

// tail emits the spans from the span in progress on as they stand now, without ending
// the last second: more events of it may come.
func (f *fold) tail() {
	s := &f.s
	if s.Deleted {
		f.emit(s.Span, s.Resource.DeletedAt)
		return
	}
	if !f.changed() {
		f.emit(s.Span, cloudmeter.OpenEnd)
		return
	}
	sec := s.Last.Time
	if s.Span.Start <= sec-1 {
		f.emit(s.Span, sec-1)
	}
	res := s.Resource
	f.emit(OpenSpan{Start: sec, State: res.State, Attributes: res.Attributes, AnomaliesBefore: s.SecondAnomalies}, cloudmeter.OpenEnd)
}

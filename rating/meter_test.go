package rating_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// t0 is an arbitrary second the test histories start from (2024-01-01T00:00:00Z).
const t0 int64 = 1704067200

const pid int64 = 42

func ptr[T any](v T) *T { return &v }

// ev builds events of product pid; each helper takes the event's id (source "s") and its
// second relative to t0.
func provisioned(id string, at int64, typ cloudmeter.ResourceType, user int64, attrs cloudmeter.Attributes) cloudmeter.Event {
	return cloudmeter.Event{Source: "s", ID: id, Type: cloudmeter.EventProvisioned, Time: t0 + at, ProductID: pid,
		Provision: &cloudmeter.Provision{ResourceType: typ, UserID: user, InfrastructureID: 7, InfrastructureLabel: "infra-7",
			Datacenter: "dc-a", Label: "product-42", Subdomain: "product-42.example"},
		Attributes: attrs}
}

func changed(id string, at int64, attrs cloudmeter.Attributes) cloudmeter.Event {
	return cloudmeter.Event{Source: "s", ID: id, Type: cloudmeter.EventChanged, Time: t0 + at, ProductID: pid, Attributes: attrs}
}

func stopped(id string, at int64) cloudmeter.Event {
	return cloudmeter.Event{Source: "s", ID: id, Type: cloudmeter.EventStopped, Time: t0 + at, ProductID: pid, State: cloudmeter.StateStopped}
}

func hibernated(id string, at int64) cloudmeter.Event {
	e := stopped(id, at)
	e.State = cloudmeter.StateHibernated
	return e
}

func started(id string, at int64) cloudmeter.Event {
	return cloudmeter.Event{Source: "s", ID: id, Type: cloudmeter.EventStarted, Time: t0 + at, ProductID: pid, State: cloudmeter.StateActive}
}

func deleted(id string, at int64) cloudmeter.Event {
	return cloudmeter.Event{Source: "s", ID: id, Type: cloudmeter.EventDeleted, Time: t0 + at, ProductID: pid}
}

func traffic(id string, at int64) cloudmeter.Event {
	return cloudmeter.Event{Source: "s", ID: id, Type: cloudmeter.EventTrafficMetered, Time: t0 + at, ProductID: pid}
}

func server(id int64) cloudmeter.Attributes { return cloudmeter.Attributes{ServerTypeID: ptr(id)} }

func driveSize(mb int64) cloudmeter.Attributes {
	return cloudmeter.Attributes{DriveSizeMBytes: ptr(mb)}
}

// sp is what a test expects of a span: its bounds relative to t0 (end -1: open), state
// and attributes.
type sp struct {
	Start, End int64
	State      cloudmeter.State
	Attrs      cloudmeter.Attributes
}

// an is what a test expects of an anomaly.
type an struct {
	Kind cloudmeter.AnomalyKind
	ID   string
}

func spansOf(r cloudmeter.Rating) []sp {
	var out []sp
	for _, s := range r.Spans {
		end := s.End - t0
		if s.End == cloudmeter.OpenEnd {
			end = -1
		}
		out = append(out, sp{Start: s.Start - t0, End: end, State: s.State, Attrs: s.Attributes})
	}
	return out
}

func anomaliesOf(r cloudmeter.Rating) []an {
	var out []an
	for _, a := range r.Anomalies {
		out = append(out, an{Kind: a.Kind, ID: a.EventID})
	}
	return out
}

// TestMeterRules checks every rule of Meter's documentation, one subtest per rule.
func TestMeterRules(t *testing.T) {
	act, stop, hib := cloudmeter.StateActive, cloudmeter.StateStopped, cloudmeter.StateHibernated
	inst := cloudmeter.ResourceInstance
	tests := []struct {
		name   string
		events []cloudmeter.Event
		// want spans and anomalies; wantNoResource says the product has no view.
		spans          []sp
		anomalies      []an
		wantNoResource bool
		// provisioned and deleted seconds relative to t0 (deleted -1: still alive).
		provAt, delAt int64
		user          int64
		state         cloudmeter.State
	}{
		{
			name:   "OK/ProvisionOnly",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1))},
			spans:  []sp{{0, -1, act, server(1)}},
			provAt: 0, delAt: -1, user: 1, state: act,
		},
		{
			name:   "OK/ProvisionDelete",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), deleted("d", 100)},
			spans:  []sp{{0, 100, act, server(1)}},
			provAt: 0, delAt: 100, user: 1, state: act,
		},
		{
			name:   "OK/DeleteInTheProvisionSecond",
			events: []cloudmeter.Event{deleted("d", 5), provisioned("p", 5, inst, 1, server(1))},
			spans:  []sp{{5, 5, act, server(1)}},
			provAt: 5, delAt: 5, user: 1, state: act,
		},
		{
			name:   "OK/ChangeSplitsAtItsSecond",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), changed("c", 10, server(2)), deleted("d", 20)},
			spans:  []sp{{0, 9, act, server(1)}, {10, 20, act, server(2)}},
			provAt: 0, delAt: 20, user: 1, state: act,
		},
		{
			name:   "OK/ChangeInTheProvisionSecondStartsWithTheChange",
			events: []cloudmeter.Event{changed("c", 0, server(2)), provisioned("p", 0, inst, 1, server(1))},
			spans:  []sp{{0, -1, act, server(2)}},
			provAt: 0, delAt: -1, user: 1, state: act,
		},
		{
			name:   "OK/ChangeInTheDeleteSecondBillsOneSecond",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), deleted("d", 10), changed("c", 10, server(2))},
			spans:  []sp{{0, 9, act, server(1)}, {10, 10, act, server(2)}},
			provAt: 0, delAt: 10, user: 1, state: act,
		},
		{
			name:   "OK/ChangeToTheSameValueDoesNotSplit",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), changed("c", 10, server(1))},
			spans:  []sp{{0, -1, act, server(1)}},
			provAt: 0, delAt: -1, user: 1, state: act,
		},
		{
			name: "OK/ChangeMergesAttributes",
			events: []cloudmeter.Event{
				provisioned("p", 0, cloudmeter.ResourceDrive, 1, cloudmeter.Attributes{DriveSizeMBytes: ptr[int64](1024), StorageType: ptr("ssd")}),
				changed("c", 10, driveSize(2048)),
			},
			spans: []sp{
				{0, 9, act, cloudmeter.Attributes{DriveSizeMBytes: ptr[int64](1024), StorageType: ptr("ssd")}},
				{10, -1, act, cloudmeter.Attributes{DriveSizeMBytes: ptr[int64](2048), StorageType: ptr("ssd")}},
			},
			provAt: 0, delAt: -1, user: 1, state: act,
		},
		{
			name:   "OK/StopStart",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), stopped("s1", 10), started("s2", 20)},
			spans:  []sp{{0, 9, act, server(1)}, {10, 19, stop, server(1)}, {20, -1, act, server(1)}},
			provAt: 0, delAt: -1, user: 1, state: act,
		},
		{
			name:   "OK/Hibernate",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), hibernated("h", 10)},
			spans:  []sp{{0, 9, act, server(1)}, {10, -1, hib, server(1)}},
			provAt: 0, delAt: -1, user: 1, state: hib,
		},
		{
			name:   "OK/TrafficSamplesAreIgnored",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), traffic("t", 10), traffic("t0", -10)},
			spans:  []sp{{0, -1, act, server(1)}},
			provAt: 0, delAt: -1, user: 1, state: act,
		},
		{
			name:           "NotProvisioned",
			events:         []cloudmeter.Event{changed("c", 10, server(2)), deleted("d", 20), traffic("t", 5)},
			anomalies:      []an{{cloudmeter.AnomalyNotProvisioned, "c"}, {cloudmeter.AnomalyNotProvisioned, "d"}},
			wantNoResource: true,
		},
		{
			name: "DuplicateProvision/EarliestWins",
			events: []cloudmeter.Event{provisioned("p2", 10, inst, 2, server(2)), provisioned("p1", 0, inst, 1, server(1)),
				deleted("d", 20)},
			spans:     []sp{{0, 20, act, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyDuplicateProvision, "p2"}},
			provAt:    0, delAt: 20, user: 1, state: act,
		},
		{
			name:      "DuplicateProvision/SameSecondLowestIDWins",
			events:    []cloudmeter.Event{provisioned("pb", 0, inst, 2, server(2)), provisioned("pa", 0, inst, 1, server(1))},
			spans:     []sp{{0, -1, act, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyDuplicateProvision, "pb"}},
			provAt:    0, delAt: -1, user: 1, state: act,
		},
		{
			name: "BeforeProvision/Ignored",
			events: []cloudmeter.Event{deleted("d0", -20), changed("c0", -10, server(9)), stopped("s0", -5),
				provisioned("p", 0, inst, 1, server(1))},
			spans:     []sp{{0, -1, act, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyBeforeProvision, "d0"}, {cloudmeter.AnomalyBeforeProvision, "c0"}, {cloudmeter.AnomalyBeforeProvision, "s0"}},
			provAt:    0, delAt: -1, user: 1, state: act,
		},
		{
			name: "AfterDelete/Ignored",
			events: []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), deleted("d", 10), changed("c", 11, server(2)),
				stopped("s", 12), provisioned("p2", 13, inst, 1, server(3))},
			spans:     []sp{{0, 10, act, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyAfterDelete, "c"}, {cloudmeter.AnomalyAfterDelete, "s"}, {cloudmeter.AnomalyAfterDelete, "p2"}},
			provAt:    0, delAt: 10, user: 1, state: act,
		},
		{
			name:      "DuplicateDelete/EarliestWins",
			events:    []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), deleted("d2", 30), deleted("d1", 10)},
			spans:     []sp{{0, 10, act, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyDuplicateDelete, "d2"}},
			provAt:    0, delAt: 10, user: 1, state: act,
		},
		{
			name:      "DuplicateDelete/SameSecond",
			events:    []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), deleted("db", 10), deleted("da", 10)},
			spans:     []sp{{0, 10, act, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyDuplicateDelete, "db"}},
			provAt:    0, delAt: 10, user: 1, state: act,
		},
		{
			name:      "RedundantPower/StopWhileStopped",
			events:    []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), stopped("s1", 10), stopped("s2", 20)},
			spans:     []sp{{0, 9, act, server(1)}, {10, -1, stop, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyRedundantPower, "s2"}},
			provAt:    0, delAt: -1, user: 1, state: stop,
		},
		{
			name:      "RedundantPower/StartWhileActive",
			events:    []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), started("s", 10)},
			spans:     []sp{{0, -1, act, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyRedundantPower, "s"}},
			provAt:    0, delAt: -1, user: 1, state: act,
		},
		{
			name:      "NotApplicable/StopOfADrive",
			events:    []cloudmeter.Event{provisioned("p", 0, cloudmeter.ResourceDrive, 1, driveSize(1024)), stopped("s", 10), started("s2", 20)},
			spans:     []sp{{0, -1, act, driveSize(1024)}},
			anomalies: []an{{cloudmeter.AnomalyNotApplicable, "s"}, {cloudmeter.AnomalyNotApplicable, "s2"}},
			provAt:    0, delAt: -1, user: 1, state: act,
		},
		{
			// cloudmeter.AnomalyNotApplicable: "an event or attribute that does not apply to
			// the resource type: ignored". A drive size on an instance must neither split
			// its usage nor end up in its attributes.
			name:      "NotApplicable/AttributeOfAnotherType",
			events:    []cloudmeter.Event{provisioned("p", 0, inst, 1, server(1)), changed("c", 10, driveSize(2048))},
			spans:     []sp{{0, -1, act, server(1)}},
			anomalies: []an{{cloudmeter.AnomalyNotApplicable, "c"}},
			provAt:    0, delAt: -1, user: 1, state: act,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rating.Meter(pid, tc.events)
			if r.ProductID != pid {
				t.Errorf("ProductID = %d, want %d", r.ProductID, pid)
			}
			if diff := cmp.Diff(tc.spans, spansOf(r)); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.anomalies, anomaliesOf(r)); diff != "" {
				t.Errorf("anomalies (-want +got):\n%s", diff)
			}
			for _, a := range r.Anomalies {
				if a.ProductID != pid || a.Message == "" || a.EventSource != "s" || a.UserID != tc.user {
					t.Errorf("anomaly %+v: want product %d, user %d, source s and a message", a, pid, tc.user)
				}
			}
			if tc.wantNoResource {
				if r.Resource != nil {
					t.Errorf("Resource = %+v, want nil", r.Resource)
				}
				return
			}
			if r.Resource == nil {
				t.Fatal("Resource = nil")
			}
			res := r.Resource
			wantDel := int64(0)
			if tc.delAt >= 0 {
				wantDel = t0 + tc.delAt
			}
			if res.ProvisionedAt != t0+tc.provAt || res.DeletedAt != wantDel || res.UserID != tc.user || res.State != tc.state {
				t.Errorf("Resource: provisioned %d deleted %d user %d state %s, want %d %d %d %s", res.ProvisionedAt-t0, res.DeletedAt,
					res.UserID, res.State, tc.provAt, wantDel, tc.user, tc.state)
			}
			if last := tc.spans[len(tc.spans)-1]; !cmp.Equal(res.Attributes, last.Attrs) {
				t.Errorf("Resource attributes %s, want those of the last span %s", attrString(res.Attributes), attrString(last.Attrs))
			}
			for _, s := range r.Spans {
				if s.UserID != res.UserID || s.ProductID != pid || s.InfrastructureID != res.InfrastructureID || s.Datacenter != res.Datacenter ||
					s.Type != res.Type || s.Label != res.Label || s.Subdomain != res.Subdomain || s.ExcludeBilling != res.ExcludeBilling {
					t.Errorf("span %+v does not carry the resource's description %+v", s, res)
				}
			}
		})
	}
}

// TestMeterDoesNotModifyItsInput checks that Meter is pure: the caller's slice keeps its
// order and contents.
func TestMeterDoesNotModifyItsInput(t *testing.T) {
	in := []cloudmeter.Event{deleted("d", 20), changed("c", 10, server(2)), provisioned("p", 0, cloudmeter.ResourceInstance, 1, server(1))}
	keep := append([]cloudmeter.Event(nil), in...)
	rating.Meter(pid, in)
	if diff := cmp.Diff(keep, in); diff != "" {
		t.Errorf("Meter changed its input (-before +after):\n%s", diff)
	}
}

// TestMeterExcludeBilling checks that the provision's exclude_billing flag reaches every span.
func TestMeterExcludeBilling(t *testing.T) {
	p := provisioned("p", 0, cloudmeter.ResourceInstance, 1, server(1))
	p.Provision.ExcludeBilling = true
	r := rating.Meter(pid, []cloudmeter.Event{p, changed("c", 5, server(2))})
	if len(r.Spans) != 2 {
		t.Fatalf("spans = %d, want 2", len(r.Spans))
	}
	for _, s := range r.Spans {
		if !s.ExcludeBilling {
			t.Errorf("span [%d, %d] lost exclude_billing", s.Start-t0, s.End-t0)
		}
	}
}

func attrString(a cloudmeter.Attributes) string {
	s := ""
	add := func(name string, v any) { s += fmt.Sprintf("%s=%v ", name, v) }
	if a.ServerTypeID != nil {
		add("server_type_id", *a.ServerTypeID)
	}
	if a.DriveSizeMBytes != nil {
		add("drive_size_mbytes", *a.DriveSizeMBytes)
	}
	if a.SharedDriveSizeMBytes != nil {
		add("shared_drive_size_mbytes", *a.SharedDriveSizeMBytes)
	}
	if a.StorageType != nil {
		add("storage_type", *a.StorageType)
	}
	if a.SubnetType != nil {
		add("subnet_type", *a.SubnetType)
	}
	if a.SubnetPrefixSize != nil {
		add("subnet_prefix_size", *a.SubnetPrefixSize)
	}
	return "{" + s + "}"
}

// Package rating turns a product's events into usage spans (Meter) and prices those
// spans against a price book (Price). Both are pure functions: no clock, no storage, no
// I/O. The rating of a product depends only on the set of its events, whatever order
// they arrived in.
//
// It imports no SQL and no HTTP.
package rating

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cloudmeter/cloudmeter"
)

// typeOrder orders events of the same second: a provision comes first and a delete
// last, so that a product provisioned and changed in one second starts with the change.
var typeOrder = map[cloudmeter.EventType]int{
	cloudmeter.EventProvisioned: 0,
	cloudmeter.EventChanged:     1,
	cloudmeter.EventStopped:     2,
	cloudmeter.EventStarted:     3,
	cloudmeter.EventDeleted:     4,
}

// Sort puts events in ledger order: by time, then type order, then source and id. As
// (source, id) is unique this is a total order, which is what makes rating order-free.
func Sort(events []cloudmeter.Event) {
	sort.Slice(events, func(i, j int) bool {
		a, b := &events[i], &events[j]
		if a.Time != b.Time {
			return a.Time < b.Time
		}
		if typeOrder[a.Type] != typeOrder[b.Type] {
			return typeOrder[a.Type] < typeOrder[b.Type]
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.ID < b.ID
	})
}

// Meter rates one product from the set of all its events and returns its current view,
// its usage spans and its anomalies. Traffic samples are ignored here. The rules for
// impossible histories (docs/rating.md):
//
//   - no provision: nothing is billed; one not_provisioned anomaly per event;
//   - several provisions: the earliest wins, the others are duplicate_provision;
//   - events before the provision are before_provision and ignored;
//   - events after the delete are after_delete, further deletes duplicate_delete; ignored;
//   - stop or start that does not change the power state is redundant_power; ignored;
//   - stop or start of anything but an instance is not_applicable; ignored.
//
// The spans cover [provision, delete] (or are open-ended) without gap or overlap, so a
// split never changes the total billed seconds.
func Meter(productID int64, events []cloudmeter.Event) cloudmeter.Rating {
	r := cloudmeter.Rating{ProductID: productID}
	evs := make([]cloudmeter.Event, 0, len(events))
	for _, e := range events {
		if e.Type != cloudmeter.EventTrafficMetered {
			evs = append(evs, e)
		}
	}
	Sort(evs)

	prov := -1
	for i := range evs {
		if evs[i].Type == cloudmeter.EventProvisioned && evs[i].Provision != nil {
			prov = i
			break
		}
	}
	if prov < 0 {
		for _, e := range evs {
			r.Anomalies = append(r.Anomalies, anomaly(e, 0, cloudmeter.AnomalyNotProvisioned,
				fmt.Sprintf("%s for product %d, which was never provisioned: not billed", e.Type, productID)))
		}
		return r
	}

	p := evs[prov].Provision
	res := &cloudmeter.Resource{
		ProductID:           productID,
		UserID:              p.UserID,
		InfrastructureID:    p.InfrastructureID,
		InfrastructureLabel: p.InfrastructureLabel,
		Datacenter:          p.Datacenter,
		Type:                p.ResourceType,
		Label:               p.Label,
		Subdomain:           p.Subdomain,
		ExcludeBilling:      p.ExcludeBilling,
		Attributes:          applicable(p.ResourceType, evs[prov].Attributes),
		State:               cloudmeter.StateActive,
		ProvisionedAt:       evs[prov].Time,
	}
	user := p.UserID
	if dropped := inapplicable(p.ResourceType, evs[prov].Attributes); dropped != "" {
		r.Anomalies = append(r.Anomalies, anomaly(evs[prov], user, cloudmeter.AnomalyNotApplicable,
			fmt.Sprintf("%s do not apply to a %s: ignored", dropped, p.ResourceType)))
	}
	for _, e := range evs[:prov] {
		r.Anomalies = append(r.Anomalies, anomaly(e, user, cloudmeter.AnomalyBeforeProvision,
			fmt.Sprintf("%s at %s is before the provision at %s: ignored", e.Type, ts(e.Time), ts(res.ProvisionedAt))))
	}

	start := res.ProvisionedAt
	deleted := false
	// cut closes the current span just before t and starts the next at t.
	cut := func(t int64) {
		if t-1 >= start {
			r.Spans = append(r.Spans, span(res, start, t-1))
		}
		start = t
	}
	for _, e := range evs[prov+1:] {
		if deleted {
			kind, what := cloudmeter.AnomalyAfterDelete, "is after the delete"
			if e.Type == cloudmeter.EventDeleted {
				kind, what = cloudmeter.AnomalyDuplicateDelete, "repeats the delete"
			}
			r.Anomalies = append(r.Anomalies, anomaly(e, user, kind,
				fmt.Sprintf("%s at %s %s at %s: ignored", e.Type, ts(e.Time), what, ts(res.DeletedAt))))
			continue
		}
		switch e.Type {
		case cloudmeter.EventProvisioned:
			r.Anomalies = append(r.Anomalies, anomaly(e, user, cloudmeter.AnomalyDuplicateProvision,
				fmt.Sprintf("a second provision at %s: the one at %s stands", ts(e.Time), ts(res.ProvisionedAt))))
		case cloudmeter.EventChanged:
			if dropped := inapplicable(res.Type, e.Attributes); dropped != "" {
				r.Anomalies = append(r.Anomalies, anomaly(e, user, cloudmeter.AnomalyNotApplicable,
					fmt.Sprintf("%s do not apply to a %s: ignored", dropped, res.Type)))
			}
			next := res.Attributes.Merge(applicable(res.Type, e.Attributes))
			if !sameAttributes(next, res.Attributes) {
				cut(e.Time)
				res.Attributes = next
			}
		case cloudmeter.EventStopped, cloudmeter.EventStarted:
			if res.Type != cloudmeter.ResourceInstance {
				r.Anomalies = append(r.Anomalies, anomaly(e, user, cloudmeter.AnomalyNotApplicable,
					fmt.Sprintf("%s applies only to instances, not to a %s: ignored", e.Type, res.Type)))
				continue
			}
			if e.State == res.State {
				r.Anomalies = append(r.Anomalies, anomaly(e, user, cloudmeter.AnomalyRedundantPower,
					fmt.Sprintf("%s at %s: the instance is already %s: ignored", e.Type, ts(e.Time), res.State)))
				continue
			}
			cut(e.Time)
			res.State = e.State
		case cloudmeter.EventDeleted:
			r.Spans = append(r.Spans, span(res, start, e.Time))
			res.DeletedAt = e.Time
			deleted = true
		}
	}
	if !deleted {
		r.Spans = append(r.Spans, span(res, start, cloudmeter.OpenEnd))
	}
	r.Spans = mergeSame(r.Spans)
	r.Resource = res
	return r
}

// mergeSame joins adjacent spans that ended up alike (two changes in one second that
// cancel out), so a report never shows two lines where nothing changed.
func mergeSame(spans []cloudmeter.Span) []cloudmeter.Span {
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && out[n-1].State == s.State && sameAttributes(out[n-1].Attributes, s.Attributes) {
			out[n-1].End = s.End
			continue
		}
		out = append(out, s)
	}
	return out
}

// attributesOf lists the attributes that apply to each resource type.
var attributesOf = map[cloudmeter.ResourceType][]string{
	cloudmeter.ResourceInstance:    {"server_type_id", "server_type_name"},
	cloudmeter.ResourceDrive:       {"drive_size_mbytes", "storage_type"},
	cloudmeter.ResourceSharedDrive: {"shared_drive_size_mbytes", "storage_type"},
	cloudmeter.ResourceSubnet:      {"subnet_type", "subnet_prefix_size"},
	cloudmeter.ResourceNetwork:     {"measurement_period"},
	cloudmeter.ResourceDataLake:    {"measurement_period", "stored_gbytes"},
}

// setAttributes names the attributes a sets, in a fixed order.
func setAttributes(a cloudmeter.Attributes) []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"server_type_id", a.ServerTypeID != nil}, {"server_type_name", a.ServerTypeName != nil},
		{"drive_size_mbytes", a.DriveSizeMBytes != nil}, {"shared_drive_size_mbytes", a.SharedDriveSizeMBytes != nil},
		{"storage_type", a.StorageType != nil}, {"subnet_type", a.SubnetType != nil},
		{"subnet_prefix_size", a.SubnetPrefixSize != nil}, {"measurement_period", a.MeasurementPeriod != nil},
		{"stored_gbytes", a.StoredGBytes != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

func applies(t cloudmeter.ResourceType, name string) bool {
	for _, n := range attributesOf[t] {
		if n == name {
			return true
		}
	}
	return false
}

// inapplicable names the attributes a sets that do not apply to type t, or "".
func inapplicable(t cloudmeter.ResourceType, a cloudmeter.Attributes) string {
	var out []string
	for _, n := range setAttributes(a) {
		if !applies(t, n) {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// applicable keeps the attributes of a that apply to type t.
func applicable(t cloudmeter.ResourceType, a cloudmeter.Attributes) cloudmeter.Attributes {
	var k cloudmeter.Attributes
	if applies(t, "server_type_id") {
		k.ServerTypeID, k.ServerTypeName = a.ServerTypeID, a.ServerTypeName
	}
	if applies(t, "drive_size_mbytes") {
		k.DriveSizeMBytes = a.DriveSizeMBytes
	}
	if applies(t, "shared_drive_size_mbytes") {
		k.SharedDriveSizeMBytes = a.SharedDriveSizeMBytes
	}
	if applies(t, "storage_type") {
		k.StorageType = a.StorageType
	}
	if applies(t, "subnet_type") {
		k.SubnetType, k.SubnetPrefixSize = a.SubnetType, a.SubnetPrefixSize
	}
	if applies(t, "measurement_period") {
		k.MeasurementPeriod = a.MeasurementPeriod
	}
	if applies(t, "stored_gbytes") {
		k.StoredGBytes = a.StoredGBytes
	}
	return k
}

// sameAttributes compares attribute values, not pointers.
func sameAttributes(a, b cloudmeter.Attributes) bool {
	return eqInt(a.ServerTypeID, b.ServerTypeID) && eqStr(a.ServerTypeName, b.ServerTypeName) &&
		eqInt(a.DriveSizeMBytes, b.DriveSizeMBytes) && eqInt(a.SharedDriveSizeMBytes, b.SharedDriveSizeMBytes) &&
		eqStr(a.StorageType, b.StorageType) && eqStr(a.SubnetType, b.SubnetType) &&
		eqInt(a.SubnetPrefixSize, b.SubnetPrefixSize) && eqInt(a.MeasurementPeriod, b.MeasurementPeriod) &&
		eqInt(a.StoredGBytes, b.StoredGBytes)
}

func eqInt(a, b *int64) bool  { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func eqStr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func span(res *cloudmeter.Resource, start, end int64) cloudmeter.Span {
	return cloudmeter.Span{
		UserID:           res.UserID,
		ProductID:        res.ProductID,
		InfrastructureID: res.InfrastructureID,
		Datacenter:       res.Datacenter,
		Type:             res.Type,
		Label:            res.Label,
		Subdomain:        res.Subdomain,
		ExcludeBilling:   res.ExcludeBilling,
		State:            res.State,
		Attributes:       res.Attributes,
		Start:            start,
		End:              end,
	}
}

func anomaly(e cloudmeter.Event, user int64, kind cloudmeter.AnomalyKind, msg string) cloudmeter.Anomaly {
	return cloudmeter.Anomaly{ProductID: e.ProductID, UserID: user, Kind: kind, Message: msg, EventSource: e.Source, EventID: e.ID, Time: e.Time}
}

// ts formats unix seconds as an RFC 3339 UTC timestamp.
func ts(t int64) string { return cloudmeter.FormatTime(t) }

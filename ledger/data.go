package ledger

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/cloudmeter/cloudmeter"
)

// field is a member of an event's data object.
type field uint8

// The data fields of all event types (DESIGN 2.5), in the order missing ones are
// reported.
const (
	fieldUnknown field = iota
	fieldProductID
	fieldResourceType
	fieldUserID
	fieldInfrastructureID
	fieldInfrastructureLabel
	fieldDatacenter
	fieldLabel
	fieldSubdomain
	fieldAttributes
	fieldExcludeBilling
	fieldState
	fieldDirection
	fieldBytes
	fieldCounter
	fieldCount
)

// fieldNames are the JSON names of the fields.
var fieldNames = [fieldCount]string{
	fieldProductID:           "product_id",
	fieldResourceType:        "resource_type",
	fieldUserID:              "user_id",
	fieldInfrastructureID:    "infrastructure_id",
	fieldInfrastructureLabel: "infrastructure_label",
	fieldDatacenter:          "datacenter",
	fieldLabel:               "label",
	fieldSubdomain:           "subdomain",
	fieldAttributes:          "attributes",
	fieldExcludeBilling:      "exclude_billing",
	fieldState:               "state",
	fieldDirection:           "direction",
	fieldBytes:               "bytes",
	fieldCounter:             "counter",
}

// fieldOf returns the field called name, or fieldUnknown.
func fieldOf(name string) field {
	switch name {
	case "product_id":
		return fieldProductID
	case "resource_type":
		return fieldResourceType
	case "user_id":
		return fieldUserID
	case "infrastructure_id":
		return fieldInfrastructureID
	case "infrastructure_label":
		return fieldInfrastructureLabel
	case "datacenter":
		return fieldDatacenter
	case "label":
		return fieldLabel
	case "subdomain":
		return fieldSubdomain
	case "attributes":
		return fieldAttributes
	case "exclude_billing":
		return fieldExcludeBilling
	case "state":
		return fieldState
	case "direction":
		return fieldDirection
	case "bytes":
		return fieldBytes
	case "counter":
		return fieldCounter
	}
	return fieldUnknown
}

// fieldSet is a set of fields.
type fieldSet uint32

// setOf returns the set of fs.
func setOf(fs ...field) fieldSet {
	var s fieldSet
	for _, f := range fs {
		s |= 1 << f
	}
	return s
}

func (s fieldSet) has(f field) bool { return s&(1<<f) != 0 }

// dataRules says which data fields an event type allows and requires.
type dataRules struct {
	allowed, required fieldSet
	// notAField is the reason for a field the type does not allow.
	notAField string
}

// newRules returns the rules of type t.
func newRules(t cloudmeter.EventType, allowed, required fieldSet) dataRules {
	var names []string
	for f := range fieldCount {
		if allowed.has(f) {
			names = append(names, fieldNames[f])
		}
	}
	return dataRules{allowed: allowed, required: required,
		notAField: "is not a field of " + string(t) + " events (they have " + strings.Join(names, ", ") + ")"}
}

// rulesOf holds the data rules of every known event type.
var rulesOf = map[cloudmeter.EventType]dataRules{
	cloudmeter.EventProvisioned: newRules(cloudmeter.EventProvisioned,
		setOf(fieldProductID, fieldResourceType, fieldUserID, fieldInfrastructureID, fieldInfrastructureLabel,
			fieldDatacenter, fieldLabel, fieldSubdomain, fieldAttributes, fieldExcludeBilling),
		setOf(fieldProductID, fieldResourceType, fieldUserID, fieldInfrastructureID, fieldDatacenter)),
	cloudmeter.EventChanged: newRules(cloudmeter.EventChanged,
		setOf(fieldProductID, fieldAttributes), setOf(fieldProductID, fieldAttributes)),
	cloudmeter.EventStopped: newRules(cloudmeter.EventStopped,
		setOf(fieldProductID, fieldState), setOf(fieldProductID)),
	cloudmeter.EventStarted: newRules(cloudmeter.EventStarted,
		setOf(fieldProductID), setOf(fieldProductID)),
	cloudmeter.EventDeleted: newRules(cloudmeter.EventDeleted,
		setOf(fieldProductID), setOf(fieldProductID)),
	cloudmeter.EventTrafficMetered: newRules(cloudmeter.EventTrafficMetered,
		setOf(fieldProductID, fieldDirection, fieldBytes, fieldCounter), setOf(fieldProductID, fieldDirection)),
}

// reasonResourceType states the rule of data.resource_type.
var reasonResourceType = func() string {
	names := make([]string, len(cloudmeter.ResourceTypes))
	for i, t := range cloudmeter.ResourceTypes {
		names[i] = string(t)
	}
	return "must be one of " + strings.Join(names, ", ")
}()

// maxMeasurementPeriod is the longest measurement period: a leap year, in seconds.
const maxMeasurementPeriod = 366 * 24 * 3600

// maxSizeMBytes bounds drive sizes at 1 EiB (2^40 MiB), and maxStoredGBytes a data lake's
// stored gigabytes the same: far above any drive, and low enough that a size times any
// sane price fits in an amount.
const (
	maxSizeMBytes   = 1 << 40
	maxStoredGBytes = 1 << 30
)

// data checks the members ms (sorted by name) of the data object of an event of type
// e.Type and fills e's typed fields.
func (d *decoder) data(ev int, e *cloudmeter.Event, ms []node) {
	rules, ok := rulesOf[e.Type]
	if !ok {
		return
	}
	var p *cloudmeter.Provision
	switch e.Type {
	case cloudmeter.EventProvisioned:
		p = new(cloudmeter.Provision)
		e.Provision = p
	case cloudmeter.EventStopped:
		e.State = cloudmeter.StateStopped
	case cloudmeter.EventStarted:
		e.State = cloudmeter.StateActive
	case cloudmeter.EventTrafficMetered:
		e.Traffic = new(cloudmeter.TrafficSample)
	}
	var seen fieldSet
	for i, m := range ms {
		if i > 0 && m.name == ms[i-1].name {
			continue // reported as a duplicate
		}
		f := fieldOf(m.name)
		if !rules.allowed.has(f) {
			d.fail(ev, "data."+m.name, rules.notAField)
			continue
		}
		seen |= 1 << f
		v := m.value
		switch f {
		case fieldProductID:
			e.ProductID = d.intField(ev, "data.product_id", v, 1, math.MaxInt64)
		case fieldResourceType:
			if s, _, ok := stringValue(v); ok && cloudmeter.ResourceType(s).Known() {
				p.ResourceType = cloudmeter.ResourceType(s)
			} else {
				d.fail(ev, "data.resource_type", reasonResourceType)
			}
		case fieldUserID:
			p.UserID = d.intField(ev, "data.user_id", v, 1, math.MaxInt64)
		case fieldInfrastructureID:
			p.InfrastructureID = d.intField(ev, "data.infrastructure_id", v, 1, math.MaxInt64)
		case fieldInfrastructureLabel:
			p.InfrastructureLabel = d.stringField(ev, "data.infrastructure_label", v, false, cloudmeter.MaxTextBytes)
		case fieldDatacenter:
			p.Datacenter = d.stringField(ev, "data.datacenter", v, true, cloudmeter.MaxNameBytes)
		case fieldLabel:
			p.Label = d.stringField(ev, "data.label", v, false, cloudmeter.MaxTextBytes)
		case fieldSubdomain:
			p.Subdomain = d.stringField(ev, "data.subdomain", v, false, cloudmeter.MaxTextBytes)
		case fieldAttributes:
			d.attributes(ev, &e.Attributes, m, e.Type == cloudmeter.EventChanged)
		case fieldExcludeBilling:
			switch v {
			case "true":
				p.ExcludeBilling = true
			case "false":
			default:
				d.fail(ev, "data.exclude_billing", "must be true or false")
			}
		case fieldState:
			switch s, _, _ := stringValue(v); cloudmeter.State(s) {
			case cloudmeter.StateStopped, cloudmeter.StateHibernated:
				e.State = cloudmeter.State(s)
			default:
				d.fail(ev, "data.state", `must be "stopped" or "hibernated"`)
			}
		case fieldDirection:
			if s, _, _ := stringValue(v); s != "upload" && s != "download" {
				d.fail(ev, "data.direction", `must be "upload" or "download"`)
			} else {
				e.Traffic.Direction = cloudmeter.Direction(s)
			}
		case fieldBytes:
			e.Traffic.Value = d.intField(ev, "data.bytes", v, 0, math.MaxInt64)
		case fieldCounter:
			e.Traffic.Value = d.intField(ev, "data.counter", v, 0, math.MaxInt64)
			e.Traffic.Counter = true
		}
	}
	for f := range fieldCount {
		if rules.required.has(f) && !seen.has(f) {
			d.fail(ev, "data."+fieldNames[f], reasonRequired)
		}
	}
	if e.Type == cloudmeter.EventTrafficMetered {
		switch {
		case seen.has(fieldBytes) && seen.has(fieldCounter):
			d.fail(ev, "data", "must have bytes (a delta) or counter (a cumulative count), not both")
		case !seen.has(fieldBytes) && !seen.has(fieldCounter):
			d.fail(ev, "data", "must have bytes (a delta) or counter (a cumulative count)")
		}
	}
}

// attributes checks the attributes object n and fills a. Unknown names are allowed (they
// stay in the stored data) and ignored. changed says the object must set something.
func (d *decoder) attributes(ev int, a *cloudmeter.Attributes, n node, changed bool) {
	const prefix = "data.attributes"
	if n.value[0] != '{' {
		d.fail(ev, prefix, reasonObject)
		return
	}
	ms := d.sortedKids(n)
	if changed && len(ms) == 0 {
		d.fail(ev, prefix, "must set at least one attribute")
	}
	for i, m := range ms {
		if i > 0 && m.name == ms[i-1].name {
			continue // reported as a duplicate
		}
		v := m.value
		switch m.name {
		case "server_type_id":
			a.ServerTypeID = d.intPtr(ev, prefix+".server_type_id", v, 1, math.MaxInt64)
		case "server_type_name":
			a.ServerTypeName = d.stringPtr(ev, prefix+".server_type_name", v)
		case "drive_size_mbytes":
			a.DriveSizeMBytes = d.intPtr(ev, prefix+".drive_size_mbytes", v, 1, maxSizeMBytes)
		case "shared_drive_size_mbytes":
			a.SharedDriveSizeMBytes = d.intPtr(ev, prefix+".shared_drive_size_mbytes", v, 1, maxSizeMBytes)
		case "storage_type":
			a.StorageType = d.stringPtr(ev, prefix+".storage_type", v)
		case "subnet_type":
			if s, _, _ := stringValue(v); s == "ipv4" || s == "ipv6" {
				a.SubnetType = &s
			} else {
				d.fail(ev, prefix+".subnet_type", `must be "ipv4" or "ipv6"`)
			}
		case "subnet_prefix_size":
			a.SubnetPrefixSize = d.intPtr(ev, prefix+".subnet_prefix_size", v, 0, 128)
		case "measurement_period":
			a.MeasurementPeriod = d.intPtr(ev, prefix+".measurement_period", v, 1, maxMeasurementPeriod)
		case "stored_gbytes":
			a.StoredGBytes = d.intPtr(ev, prefix+".stored_gbytes", v, 0, maxStoredGBytes)
		}
	}
	if a.SubnetType != nil && *a.SubnetType == "ipv4" && a.SubnetPrefixSize != nil && *a.SubnetPrefixSize > 32 {
		d.fail(ev, prefix+".subnet_prefix_size", "must be a whole number from 0 to 32 for an ipv4 subnet")
	}
}

// intField decodes an integer from lo to hi. The JSON value must be a number without
// fraction or exponent: the ledger keeps the literal text, so 5, 5.0 and 5e0 would be
// different events.
func (d *decoder) intField(ev int, field, v string, lo, hi int64) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err == nil && n >= lo && n <= hi {
		return n
	}
	if errors.Is(err, strconv.ErrRange) && isInteger(v) && v[0] != '-' && hi == math.MaxInt64 {
		d.fail(ev, field, "must be a whole number no larger than "+strconv.FormatInt(hi, 10))
		return 0
	}
	d.fail(ev, field, rangeReason(lo, hi))
	return 0
}

// intPtr is intField for an optional attribute.
func (d *decoder) intPtr(ev int, field, v string, lo, hi int64) *int64 {
	n := d.intField(ev, field, v, lo, hi)
	return &n
}

// isInteger reports whether v is JSON integer text: an optional minus and digits.
func isInteger(v string) bool {
	if v != "" && v[0] == '-' {
		v = v[1:]
	}
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// rangeReason states the rule of an integer field.
func rangeReason(lo, hi int64) string {
	switch {
	case lo == 1 && hi == math.MaxInt64:
		return "must be a whole number above 0"
	case lo == 0 && hi == math.MaxInt64:
		return "must be a whole number, 0 or more"
	default:
		return "must be a whole number from " + strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10)
	}
}

// stringField decodes a string of at most maxBytes bytes without control characters;
// nonEmpty says it must not be "".
func (d *decoder) stringField(ev int, field, v string, nonEmpty bool, maxBytes int) string {
	s, _, ok := stringValue(v)
	switch {
	case !ok:
		d.fail(ev, field, reasonString)
	case nonEmpty && s == "":
		d.fail(ev, field, reasonNonEmpty)
	case len(s) > maxBytes:
		d.fail(ev, field, "must be at most "+strconv.Itoa(maxBytes)+" bytes long")
	case hasControl(s):
		d.fail(ev, field, "must not contain control characters")
	}
	return s
}

// stringPtr is stringField for an optional non-empty attribute that names something.
func (d *decoder) stringPtr(ev int, field, v string) *string {
	s := d.stringField(ev, field, v, true, cloudmeter.MaxNameBytes)
	return &s
}

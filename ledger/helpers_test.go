package ledger_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
)

// t0 is the time of the seed's instance, 2016-02-01T12:58:00Z.
const (
	t0     = "2016-02-01T12:58:00Z"
	t0Unix = 1454331480
)

// Data objects of valid events of every type.
const (
	dataProvisioned = `{"product_id": 2416, "resource_type": "instance", "user_id": 1, "infrastructure_id": 3668,
		"infrastructure_label": "d-lake", "datacenter": "uk-reading", "label": "instance-2416",
		"subdomain": "instance-2416.new-instance-array.d-lake.1.integration.metalsoft.io", "attributes": {}}`
	dataChanged = `{"product_id": 2416, "attributes": {"server_type_id": 12}}`
	dataStopped = `{"product_id": 2416}`
	dataStarted = `{"product_id": 2416}`
	dataDeleted = `{"product_id": 2416}`
	dataTraffic = `{"product_id": 77, "direction": "upload", "bytes": 1048576}`
)

// event returns the JSON text of a valid event of type typ with data, changed by set:
// pairs of an attribute name and its raw JSON value ("-" removes the attribute).
func event(typ cloudmeter.EventType, data string, set ...string) string {
	type kv struct{ k, v string }
	attrs := []kv{
		{"specversion", `"1.0"`}, {"id", `"op-1001"`}, {"source", `"provisioner/uk-reading"`},
		{"type", `"` + string(typ) + `"`}, {"time", `"` + t0 + `"`}, {"data", data},
	}
	for i := 0; i+1 < len(set); i += 2 {
		k, v := set[i], set[i+1]
		found := false
		for j := range attrs {
			if attrs[j].k == k {
				attrs[j].v, found = v, true
			}
		}
		if !found {
			attrs = append(attrs, kv{k, v})
		}
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, a := range attrs {
		if a.v == "-" {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(`"` + a.k + `": ` + a.v)
	}
	b.WriteString("}")
	return b.String()
}

// batch joins event texts into a JSON array.
func batch(events ...string) string { return "[" + strings.Join(events, ",\n") + "]" }

// mustDecode decodes body as application/json and fails the test on error.
func mustDecode(tb testing.TB, body string) []cloudmeter.Event {
	tb.Helper()
	events, err := ledger.DecodeBatch("application/json", []byte(body), ledger.Limits{})
	if err != nil {
		tb.Fatalf("DecodeBatch(%s): %v", body, err)
	}
	return events
}

// mustDecodeOne decodes one event and fails the test on error.
func mustDecodeOne(tb testing.TB, body string) cloudmeter.Event {
	tb.Helper()
	events := mustDecode(tb, body)
	if len(events) != 1 {
		tb.Fatalf("DecodeBatch(%s) returned %d events, want 1", body, len(events))
	}
	return events[0]
}

// domainError returns err as a *cloudmeter.Error, failing the test if it is not one.
func domainError(tb testing.TB, err error) *cloudmeter.Error {
	tb.Helper()
	var e *cloudmeter.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v (%T) is not a *cloudmeter.Error", err, err)
	}
	return e
}

// details returns the EventErrors of a DecodeBatch error.
func details(tb testing.TB, err error) []ledger.EventError {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want an invalid batch")
	}
	e := domainError(tb, err)
	if e.Kind != cloudmeter.KindInvalid {
		tb.Fatalf("error kind = %s, want %s (%v)", e.Kind, cloudmeter.KindInvalid, err)
	}
	d, ok := e.Details.([]ledger.EventError)
	if !ok {
		tb.Fatalf("error details = %T, want []ledger.EventError (%v)", e.Details, err)
	}
	return d
}

// typed is what DecodeData fills.
type typed struct {
	ProductID  int64
	Provision  *cloudmeter.Provision
	Attributes cloudmeter.Attributes
	State      cloudmeter.State
}

func typedOf(e cloudmeter.Event) typed {
	return typed{ProductID: e.ProductID, Provision: e.Provision, Attributes: e.Attributes, State: e.State}
}

func ptr[T any](v T) *T { return &v }

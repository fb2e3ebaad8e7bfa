package ledger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
)

// FuzzDecodeBatch checks that DecodeBatch never panics and that every event it returns
// is complete, its data decodes again through DecodeData to the same typed fields, and its
// canonical data is a fixed point: sending the event again with the stored data gives the
// same digest.
func FuzzDecodeBatch(f *testing.F) {
	seeds := []string{
		event(cloudmeter.EventProvisioned, dataProvisioned),
		event(cloudmeter.EventProvisioned, `{"product_id": 5, "resource_type": "subnet", "user_id": 7, "infrastructure_id": 9,
			"datacenter": "dc", "exclude_billing": true, "attributes": {"subnet_type": "ipv4", "subnet_prefix_size": 27,
			"x": [1, 2.5e3, "\u00e9\u2028<&>", {"b": null, "a": false}]}}`, "subject", `"s"`, "traceparent", `"t"`),
		event(cloudmeter.EventChanged, dataChanged),
		event(cloudmeter.EventStopped, `{"product_id": 1, "state": "hibernated"}`),
		event(cloudmeter.EventStarted, dataStarted, "time", `"2016-02-01T12:58:00.5+01:00"`),
		event(cloudmeter.EventTrafficMetered, dataTraffic),
		batch(event(cloudmeter.EventDeleted, dataDeleted), event(cloudmeter.EventTrafficMetered, `{"product_id": 1, "direction": "download", "counter": 0}`)),
		batch(event(cloudmeter.EventDeleted, `{"product_id": 1.5}`), `7`),
		`{"\u0069d": "a", "data": {"a": 1, "a": 2}}`,
		`[]`, `{}`, `[{"id": "a",}]`, `"x"`, ``,
	}
	for _, s := range seeds {
		f.Add("application/json", []byte(s), 0)
	}
	f.Add("application/cloudevents+json", []byte(seeds[0]), 1)
	f.Add("application/cloudevents-batch+json", []byte(seeds[6]), 1)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, max int) {
		events, err := ledger.DecodeBatch(contentType, body, ledger.Limits{MaxEvents: max})
		if err != nil {
			if events != nil {
				t.Fatalf("DecodeBatch returned %d events and error %v", len(events), err)
			}
			var e *cloudmeter.Error
			if k := cloudmeter.KindOf(err); k != cloudmeter.KindInvalid && k != cloudmeter.KindTooLarge || !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("DecodeBatch error %v (%T, kind %s) is not an invalid or too-large *cloudmeter.Error with a message", err, err, k)
			}
			if d, ok := e.Details.([]ledger.EventError); ok && (len(d) == 0 || len(d) > ledger.MaxDetails) {
				t.Fatalf("DecodeBatch error has %d details", len(d))
			}
			return
		}
		if len(events) == 0 {
			t.Fatalf("DecodeBatch returned no events and no error")
		}
		for i, e := range events {
			if e.Source == "" || e.ID == "" || len(e.Digest) != 64 || !e.Type.Known() || e.ProductID <= 0 {
				t.Fatalf("event %d is incomplete: %+v", i, e)
			}
			again := cloudmeter.Event{Source: e.Source, ID: e.ID, Type: e.Type, Time: e.Time, Subject: e.Subject, Data: e.Data, Digest: e.Digest}
			if err := ledger.DecodeData(&again); err != nil {
				t.Fatalf("DecodeData of event %d (data %s): %v", i, e.Data, err)
			}
			if diff := cmp.Diff(e, again); diff != "" {
				t.Fatalf("DecodeData of event %d (-DecodeBatch +DecodeData):\n%s", i, diff)
			}
			if ref := refCanonical(t, e.Data); ref != string(e.Data) {
				t.Fatalf("event %d data is not canonical:\n got %s\nwant %s", i, e.Data, ref)
			}
			resent := resend(t, e)
			if string(resent.Data) != string(e.Data) || resent.Digest != e.Digest {
				t.Fatalf("event %d sent again with its stored data:\ndata %s\n  -> %s\ndigest %s -> %s", i, e.Data, resent.Data, e.Digest, resent.Digest)
			}
		}
	})
}

// resend encodes e as a CloudEvent with its stored data and decodes it again.
func resend(t *testing.T, e cloudmeter.Event) cloudmeter.Event {
	t.Helper()
	m := map[string]any{
		"specversion": "1.0", "id": e.ID, "source": e.Source, "type": e.Type,
		"time": cloudmeter.FormatTime(e.Time), "data": json.RawMessage(e.Data),
	}
	if e.Subject != "" {
		m["subject"] = e.Subject
	}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encoding event: %v", err)
	}
	events, err := ledger.DecodeBatch("application/cloudevents+json", body, ledger.Limits{})
	if err != nil {
		t.Fatalf("DecodeBatch of %s: %v", body, err)
	}
	return events[0]
}

// FuzzCanonicalData checks the canonical form of data against an independent one built
// with encoding/json: any valid JSON value placed among the attributes of an event comes
// out as encoding/json writes it after decoding with UseNumber (maps sorted by key,
// numbers as sent, HTML escaping off), unless it has a duplicate name or U+0000, which
// are reported.
func FuzzCanonicalData(f *testing.F) {
	for _, s := range []string{
		`1`, `-0.5e+10`, `"x"`, `"\u00e9\u2028\u2029<>&\"\\\/\b\f\n\r\t\u0001"`, `"\ud800"`, `null`, `true`,
		`{"b": 1, "a": [2, {"d": null, "c": "é"}], "": {}}`, `[[], {}, [[1]]]`, `{"a": 1, "a": 2}`, `"a\u0000"`,
		`{"\u0061": 1, "b\u2028": 2, "Z": 3, "é": 4}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		if !json.Valid(value) || !utf8.Valid(value) {
			return
		}
		data := `{"product_id": 5, "resource_type": "network", "user_id": 7, "infrastructure_id": 9, "datacenter": "dc", ` +
			`"attributes": {"x": ` + string(value) + `}}`
		events, err := ledger.DecodeBatch("", []byte(event(cloudmeter.EventProvisioned, data)), ledger.Limits{})
		if err != nil {
			var e *cloudmeter.Error
			if !errors.As(err, &e) {
				t.Fatalf("DecodeBatch: %v", err)
			}
			for _, d := range e.Details.([]ledger.EventError) {
				if !strings.HasPrefix(d.Field, "data.attributes.x") ||
					d.Reason != "appears more than once" && !strings.HasSuffix(d.Reason, "must not contain the character U+0000") {
					t.Fatalf("DecodeBatch of attribute %s: %v", value, err)
				}
			}
			return
		}
		if want := refCanonical(t, []byte(data)); string(events[0].Data) != want {
			t.Fatalf("canonical data of attribute %s:\n got %s\nwant %s", value, events[0].Data, want)
		}
	})
}

// refCanonical is the canonical form of JSON text according to encoding/json.
func refCanonical(t *testing.T, data []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding %s: %v", data, err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

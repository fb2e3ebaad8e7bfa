package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/rating"
)

// A rating state and a checkpoint read back as they were written.
func TestPropStateRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		attrs := func(label string) cloudmeter.Attributes {
			var a cloudmeter.Attributes
			if rapid.Bool().Draw(t, label+".server_type_id?") {
				v := rapid.Int64().Draw(t, label+".server_type_id")
				a.ServerTypeID = &v
			}
			if rapid.Bool().Draw(t, label+".server_type_name?") {
				v := rapid.String().Draw(t, label+".server_type_name")
				a.ServerTypeName = &v
			}
			if rapid.Bool().Draw(t, label+".stored_gbytes?") {
				v := rapid.Int64().Draw(t, label+".stored_gbytes")
				a.StoredGBytes = &v
			}
			return a
		}
		states := []cloudmeter.State{cloudmeter.StateActive, cloudmeter.StateStopped, cloudmeter.StateHibernated}
		view := cloudmeter.Resource{ProductID: 9, UserID: 3, Type: cloudmeter.ResourceInstance, Label: "l", ProvisionedAt: 100, DeletedAt: rapid.Int64().Draw(t, "deleted_at")}
		res := view
		res.State, res.Attributes = rapid.SampledFrom(states).Draw(t, "state"), attrs("view")
		s := rating.State{
			Resource: &res,
			Applied:  rapid.Bool().Draw(t, "applied"),
			Last: rating.Key{Time: rapid.Int64().Draw(t, "last.time"), Type: rapid.SampledFrom(eventTypes).Draw(t, "last.type"),
				Source: rapid.String().Draw(t, "last.source"), ID: rapid.String().Draw(t, "last.id")},
			Deleted:         rapid.Bool().Draw(t, "deleted"),
			Span:            rating.OpenSpan{Start: rapid.Int64().Draw(t, "span.start"), State: res.State, Attributes: res.Attributes, AnomaliesBefore: rapid.IntRange(-1, 1<<20).Draw(t, "span.anomalies")},
			SecondAnomalies: rapid.IntRange(0, 1<<20).Draw(t, "second_anomalies"),
			Anomalies:       rapid.IntRange(0, 1<<20).Draw(t, "anomalies"),
		}
		if rapid.Bool().Draw(t, "span differs?") {
			s.Span.State, s.Span.Attributes = rapid.SampledFrom(states).Draw(t, "span.state"), attrs("span")
		}
		got, err := decodeState(encodeState(nil, &s), view)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Fatalf("state (-written +read):\n%s", diff)
		}
		c := checkpoint{anomalies: rapid.IntRange(0, 1<<20).Draw(t, "cp.anomalies"),
			prev: cloudmeter.Span{Start: rapid.Int64Range(-1<<40, 1<<40).Draw(t, "cp.start"), State: rapid.SampledFrom(states).Draw(t, "cp.state"), Attributes: attrs("cp")}}
		at := c.prev.Start + rapid.Int64Range(1, 1<<30).Draw(t, "cp.length")
		c.prev.End = at - 1
		gotc, err := decodeCheckpoint(encodeCheckpoint(nil, &c), at)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, gotc, cmp.AllowUnexported(checkpoint{})); diff != "" {
			t.Fatalf("checkpoint (-written +read):\n%s", diff)
		}
	})
}

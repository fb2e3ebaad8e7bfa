package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter"
)

func optInt(t *rapid.T, label string) *int64 {
	if !rapid.Bool().Draw(t, label+"?") {
		return nil
	}
	v := rapid.Int64().Draw(t, label)
	return &v
}

func optString(t *rapid.T, label string) *string {
	if !rapid.Bool().Draw(t, label+"?") {
		return nil
	}
	v := rapid.String().Draw(t, label)
	return &v
}

// genSpans draws the spans of one product: shared fields, then per-span values.
func genSpans(t *rapid.T) (cloudmeter.Span, []cloudmeter.Span) {
	shared := cloudmeter.Span{
		UserID:           rapid.Int64().Draw(t, "user"),
		ProductID:        rapid.Int64().Draw(t, "product"),
		InfrastructureID: rapid.Int64().Draw(t, "infrastructure"),
		Datacenter:       rapid.String().Draw(t, "datacenter"),
		Type:             cloudmeter.ResourceType(rapid.SampledFrom([]string{"instance", "drive", "subnet", ""}).Draw(t, "type")),
		Label:            rapid.String().Draw(t, "label"),
		Subdomain:        rapid.String().Draw(t, "subdomain"),
		ExcludeBilling:   rapid.Bool().Draw(t, "exclude"),
	}
	n := rapid.IntRange(0, 6).Draw(t, "spans")
	spans := make([]cloudmeter.Span, n)
	for i := range spans {
		sp := shared
		sp.Start = rapid.Int64().Draw(t, "start")
		sp.End = rapid.SampledFrom([]int64{cloudmeter.OpenEnd, 0, rapid.Int64().Draw(t, "end")}).Draw(t, "end-kind")
		sp.State = cloudmeter.State(rapid.SampledFrom([]string{"active", "stopped", "", "x"}).Draw(t, "state"))
		sp.Attributes = cloudmeter.Attributes{
			ServerTypeID: optInt(t, "server_type_id"), ServerTypeName: optString(t, "server_type_name"),
			DriveSizeMBytes: optInt(t, "drive"), SharedDriveSizeMBytes: optInt(t, "shared"),
			StorageType: optString(t, "storage"), SubnetType: optString(t, "subnet_type"),
			SubnetPrefixSize: optInt(t, "prefix"), MeasurementPeriod: optInt(t, "period"), StoredGBytes: optInt(t, "stored"),
		}
		spans[i] = sp
	}
	return shared, spans
}

func TestSpanCodecRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		shared, spans := genSpans(t)
		prefix := []cloudmeter.Span{{ProductID: -1}}
		got, err := decodeSpans(prefix, appendSpans(nil, &shared, spans))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if diff := cmp.Diff(append([]cloudmeter.Span{{ProductID: -1}}, spans...), got); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

func TestSpanCodecRejectsDamage(t *testing.T) {
	shared := cloudmeter.Span{UserID: 1, ProductID: 2, InfrastructureID: 3, Datacenter: "dc", Type: "instance", Label: "l", Subdomain: "s"}
	st := "M.8.8"
	sp := shared
	sp.Start, sp.End, sp.State, sp.Attributes.ServerTypeName = 10, 20, "active", &st
	good := appendSpans(nil, &shared, []cloudmeter.Span{sp, sp})
	// Every strict prefix of a valid value is malformed, and so is a value with a byte
	// more: nothing is decoded from either.
	for n := range len(good) {
		if _, err := decodeSpans(nil, good[:n]); err == nil {
			t.Errorf("the first %d of %d bytes decoded without error", n, len(good))
		}
	}
	if _, err := decodeSpans(nil, append(good[:len(good):len(good)], 0)); err == nil {
		t.Error("a trailing byte decoded without error")
	}
	bad := append([]byte{}, good...)
	bad[0] = 2
	if _, err := decodeSpans(nil, bad); err == nil {
		t.Error("an unknown version decoded without error")
	}
}

// FuzzDecodeSpans: any bytes either decode to spans that encode back to the same bytes,
// or give an error; never a panic or a huge allocation.
func FuzzDecodeSpans(f *testing.F) {
	shared := cloudmeter.Span{UserID: 7, ProductID: 9, InfrastructureID: 11, Datacenter: "uk-reading", Type: "drive", Label: "d", Subdomain: "d.x"}
	sp := shared
	size, period := int64(40960), int64(3600)
	sp.Start, sp.End, sp.State = 100, cloudmeter.OpenEnd, "active"
	sp.Attributes.DriveSizeMBytes, sp.Attributes.MeasurementPeriod = &size, &period
	f.Add(appendSpans(nil, &shared, []cloudmeter.Span{sp}))
	f.Add(appendSpans(nil, &shared, nil))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		spans, err := decodeSpans(nil, b)
		if err != nil {
			return
		}
		hdr, err := decodeHeader(b)
		if err != nil {
			t.Fatalf("spans decoded but the header did not: %v", err)
		}
		if again := appendSpans(nil, &hdr, spans); string(again) != string(b) {
			// Varints have one shortest form; a longer form decodes too but is not what
			// appendSpans writes. Decoding the re-encoding must still give the same spans.
			back, err := decodeSpans(nil, again)
			if err != nil || !cmp.Equal(back, spans) {
				t.Fatalf("re-encoded spans decode differently: %v", err)
			}
		}
	})
}

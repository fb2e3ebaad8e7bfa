package ledger_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/ledger"
)

// TestTrafficSampleDecoded: a traffic event's direction and bytes or counter reach the
// typed Traffic field, on the way in and when read back from storage.
func TestTrafficSampleDecoded(t *testing.T) {
	tests := []struct {
		name string
		data string
		want cloudmeter.TrafficSample
	}{
		{"Delta", `{"product_id":8381,"direction":"upload","bytes":1073741824}`, cloudmeter.TrafficSample{Direction: "upload", Value: 1 << 30}},
		{"Counter", `{"product_id":8381,"direction":"download","counter":42}`, cloudmeter.TrafficSample{Direction: "download", Counter: true, Value: 42}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"specversion":"1.0","id":"t-1","source":"meter/wan","type":"cloudmeter.traffic.metered","time":"2016-02-01T13:00:00Z","data":` + tc.data + `}`
			evs, err := ledger.DecodeBatch("application/cloudevents+json", []byte(body), ledger.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if evs[0].Traffic == nil {
				t.Fatal("Traffic is nil")
			}
			if diff := cmp.Diff(tc.want, *evs[0].Traffic); diff != "" {
				t.Errorf("decoded sample (-want +got):\n%s", diff)
			}
			stored := cloudmeter.Event{Source: evs[0].Source, ID: evs[0].ID, Type: evs[0].Type, Data: evs[0].Data}
			if err := ledger.DecodeData(&stored); err != nil {
				t.Fatal(err)
			}
			if stored.Traffic == nil || *stored.Traffic != tc.want || stored.ProductID != 8381 {
				t.Errorf("DecodeData: product %d, sample %+v, want 8381 and %+v", stored.ProductID, stored.Traffic, tc.want)
			}
		})
	}
}

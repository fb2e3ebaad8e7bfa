package pull

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
)

func seedAnswer(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/seed_detailed.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSeedDetailed: the seed's own resource_utilization_detailed answer (seed 000, its
// typo mended) is imported record for record, with its quantities and costs as written,
// measurement periods given as numbers or strings alike.
func TestSeedDetailed(t *testing.T) {
	var ans rpcAnswer
	if err := json.Unmarshal(seedAnswer(t), &ans); err != nil {
		t.Fatal(err)
	}
	recs, warnings, err := ans.Result.records()
	if err != nil || len(warnings) > 0 {
		t.Fatalf("records: %v %v", err, warnings)
	}
	type brief struct {
		Infra    int64
		Type     cloudmeter.ResourceType
		Dir      cloudmeter.Direction
		Product  int64
		Start    string
		End      string
		Quantity int64
		MP       int64
		CPU      string
		Cost     string
	}
	var got []brief
	for _, r := range recs {
		got = append(got, brief{r.InfrastructureID, r.Type, r.Direction, r.ProductID, cloudmeter.FormatTime(r.Start), cloudmeter.FormatTime(r.End),
			r.Quantity, r.MeasurementPeriod, r.CostPerUnit.String(), r.Cost.String()})
	}
	want := []brief{
		{3668, "drive", "", 3727, "2016-02-01T12:58:15Z", "2016-02-04T10:31:03Z", 250369, 3600, "0.01601563", "1.11383813"},
		{3668, "instance", "", 2416, "2016-02-01T12:58:00Z", "2016-02-02T12:23:00Z", 84301, 3600, "0.31000000", "7.25925278"},
		{3668, "shared_drive", "", 779, "2016-01-22T14:39:04Z", "2016-01-25T09:54:39Z", 242136, 3600, "0.00347222", "0.23354152"},
		{3668, "subnet", "", 6378, "2016-02-01T12:57:58Z", "2016-02-04T10:30:53Z", 250376, 3600, "0.00000000", "0.00000000"},
		{3688, "data_lake", "download", 8, "2016-02-01T13:10:05Z", "2016-02-09T08:11:39Z", 0, 3600, "0.00000000", "0.00000000"},
		{3688, "data_lake", "upload", 8, "2016-02-01T13:10:06Z", "2016-02-09T08:11:39Z", 0, 3600, "0.06000000", "0.00000000"},
		{3688, "network", "download", 8381, "2016-02-01T12:57:59Z", "2016-02-04T10:30:54Z", 0, 10800, "0.00000000", "0.00000000"},
		{3688, "network", "upload", 8381, "2016-02-01T12:57:59Z", "2016-02-04T10:30:54Z", 0, 10800, "0.06000000", "0.00000000"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if r := recs[0]; r.Attributes.DriveSizeMBytes == nil || *r.Attributes.DriveSizeMBytes != 41000 || r.InfrastructureLabel != "d-lake" {
		t.Errorf("drive %+v", r)
	}
	if r := recs[3]; r.Attributes.SubnetType == nil || *r.Attributes.SubnetType != "ipv6" || *r.Attributes.SubnetPrefixSize != 64 {
		t.Errorf("subnet %+v", r)
	}
}

func TestDecimalScaled(t *testing.T) {
	for _, c := range []struct {
		in      string
		scale   int
		want    int64
		rounded bool
		err     bool
	}{
		{"7.25925278", 8, 725925278, false, false},
		{"0.5025967747999994", 8, 50259677, true, false},
		{"0.000000005", 8, 1, true, false},
		{"0.0000000049", 8, 0, true, false},
		{"12.3457", 4, 123457, false, false},
		{"84301", 0, 84301, false, false},
		{"1e2", 0, 100, false, false},
		{"-1", 8, 0, false, true},
		{"abc", 8, 0, false, true},
		{"", 8, 0, false, true},
		{"99999999999999999999", 8, 0, false, true},
	} {
		got, rounded, err := decimalScaled("f", c.in, c.scale)
		if (err != nil) != c.err || (err == nil && (got != c.want || rounded != c.rounded)) {
			t.Errorf("decimalScaled(%q, %d) = %d, %v, %v; want %d, %v, error %v", c.in, c.scale, got, rounded, err, c.want, c.rounded, c.err)
		}
	}
}

// TestHyperstackIncrements: the first pull of a resource imports its whole totals, a
// pull with unchanged totals nothing, a later one the growth from the end of the last;
// totals that went down are not imported but said.
func TestHyperstackIncrements(t *testing.T) {
	h := Hyperstack{}
	bpm := flex("0.00516667")
	e := usageEntry{ResourceID: "398", ResourceType: "vm", Name: "TestVM", OrganizationID: "29", CreateTime: "2023-08-23T15:36:10",
		TotalUpTime: "47.0", TotalBill: "0.5025967747999994", BillPerMinute: &bpm}
	totals := map[int64]cloudmeter.PulledTotal{}
	pulledAt := int64(1692806400 + 7200) // 2023-08-23T18:00:00Z
	r, warn, err := h.record("data[0]", e, totals, pulledAt)
	if err != nil || r == nil {
		t.Fatalf("first pull: %v %v", r, err)
	}
	if r.Cost != money.Amount(50259677) || r.Quantity != 47*60 || r.UserID != 29 || r.Type != cloudmeter.ResourceInstance ||
		cloudmeter.FormatTime(r.Start) != "2023-08-23T15:36:10Z" || r.End != pulledAt || r.CostPerUnit != money.Amount(31000020) {
		t.Errorf("first pull: %+v", r)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "rounded half-up to 8") {
		t.Errorf("warnings %v", warn)
	}
	totals[398] = cloudmeter.PulledTotal{Quantity: r.Quantity, Cost: r.Cost, LastEnd: r.End}
	if r, _, err := h.record("data[0]", e, totals, pulledAt+60); err != nil || r != nil {
		t.Errorf("unchanged totals: %+v %v; want nothing", r, err)
	}
	e.TotalBill, e.TotalUpTime, e.TerminateTime = "0.75", "60.5", "2023-08-23T18:30:00"
	r, _, err = h.record("data[0]", e, totals, pulledAt+3600)
	if err != nil || r == nil || r.Cost != money.Amount(75000000-50259677) || r.Quantity != 810 || r.Start != pulledAt+1 ||
		cloudmeter.FormatTime(r.End) != "2023-08-23T18:30:00Z" {
		t.Errorf("growth: %+v %v", r, err)
	}
	e.TotalBill = "0.1"
	r, warn, err = h.record("data[0]", e, totals, pulledAt+3600)
	if err != nil || r != nil || len(warn) != 1 || !strings.Contains(warn[0], "went down") {
		t.Errorf("totals down: %+v %v %v", r, warn, err)
	}
	e.ResourceType = "cluster"
	if _, _, err := h.record("data[0]", e, totals, pulledAt); cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.Contains(err.Error(), "data[0].resource_type") {
		t.Errorf("an unknown type: %v", err)
	}
}

// FuzzDetailed: whatever a source answers, the parser returns records or an error naming
// the member, never panics, and never a negative quantity or cost.
func FuzzDetailed(f *testing.F) {
	f.Add(seedAnswer(f))
	f.Add([]byte(`{"result":{"detailed_report":{"x":{}}}}`))
	f.Add([]byte(`{"result":{"network_report":{"1":{"network":{"sideways":{}}}}}}`))
	f.Add([]byte(`{"result":{"detailed_report":{"1":{"instance":[{"product_id":"1","start_timestamp":"2016-01-01T00:00:00Z","end_timestamp":"2016-01-01T00:00:00Z","quantity":-1}]}}}}`))
	f.Add([]byte(`{"error":{"message":"User not found","code":42}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ans rpcAnswer
		if json.Unmarshal(b, &ans) != nil || ans.Result == nil {
			return
		}
		recs, _, err := ans.Result.records()
		if err != nil {
			if cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
				t.Fatalf("error of kind %s: %v", cloudmeter.KindOf(err), err)
			}
			return
		}
		for _, r := range recs {
			if r.Quantity < 0 || r.Cost < 0 || r.CostPerUnit < 0 || r.MeasurementPeriod <= 0 {
				t.Fatalf("record %+v", r)
			}
		}
	})
}

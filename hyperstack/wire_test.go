package hyperstack

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"testing"

	"pgregory.net/rapid"

	"github.com/cloudmeter/cloudmeter/money"
)

// jsonNumber is the grammar of a JSON number (RFC 8259).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func TestAppendNumber(t *testing.T) {
	for _, c := range []struct {
		in   money.Amount
		want string
	}{
		{0, "0.00000000"},
		{1, "0.00000001"},
		{725925278, "7.25925278"},
		{2400000000, "24.00000000"},
		{-50000000, "-0.50000000"},
		{math.MaxInt64, "92233720368.54775807"},
		{math.MinInt64, "-92233720368.54775808"},
	} {
		if got := string(AppendNumber(nil, c.in)); got != c.want {
			t.Errorf("AppendNumber(%d) = %s, want %s", int64(c.in), got, c.want)
		}
	}
}

// TestAppendNumberExact: every amount is written as a valid JSON number whose exact
// value is the amount, the same digits as its string form, through encoding/json too.
func TestAppendNumberExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := money.Amount(rapid.Int64().Draw(t, "amount"))
		lit := AppendNumber(nil, a)
		if !jsonNumber.Match(lit) {
			t.Fatalf("%s is not a JSON number", lit)
		}
		if string(lit) != a.String() {
			t.Fatalf("%s differs from the amount's string %s", lit, a)
		}
		got, ok := new(big.Rat).SetString(string(lit))
		want := new(big.Rat).SetFrac64(int64(a), money.AmountScale)
		if !ok || got.Cmp(want) != 0 {
			t.Fatalf("%s reads as %v, want %v", lit, got, want)
		}
		// Through encoding/json, inside an object, the literal is kept byte for byte.
		b, err := json.Marshal(map[string]Number{"v": Number(a)})
		if err != nil || !bytes.Equal(b, []byte(`{"v":`+string(lit)+`}`)) {
			t.Fatalf("json.Marshal: %s, %v", b, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var back map[string]json.Number
		if err := dec.Decode(&back); err != nil || back["v"].String() != string(lit) {
			t.Fatalf("decoded %v, %v", back, err)
		}
	})
}

func TestTime(t *testing.T) {
	b, _ := json.Marshal(struct {
		A Time `json:"a"`
		B Time `json:"b"`
	}{A: At(1454331480)})
	if string(b) != `{"a":"2016-02-01T12:58:00","b":null}` {
		t.Errorf("got %s", b)
	}
}

// TestUsageAppenderMatchesEncodingJSON: the hand-written usage answer is byte for byte
// what encoding/json writes for the same struct.
func TestUsageAppenderMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		u := usageResponse{envelope: ok(), Data: []usageItem{}}
		for range rapid.IntRange(0, 5).Draw(t, "items") {
			it := usageItem{ResourceID: rapid.Int64().Draw(t, "id"), ResourceType: rapid.SampledFrom([]string{"vm", "volume"}).Draw(t, "type"),
				Name: rapid.String().Draw(t, "name"), OrganizationID: rapid.Int64().Draw(t, "org"),
				TotalUpTime: Number(rapid.Int64().Draw(t, "up")), TotalBill: Number(rapid.Int64().Draw(t, "bill")),
				Active: rapid.Bool().Draw(t, "active"), ExcludeBilling: rapid.Bool().Draw(t, "exclude")}
			if rapid.Bool().Draw(t, "live") {
				n := Number(rapid.Int64().Draw(t, "perMinute"))
				it.BillPerMinute = &n
				it.CreateTime = At(rapid.Int64Range(0, 253402300799).Draw(t, "created"))
			} else {
				it.TerminateTime = At(rapid.Int64Range(0, 253402300799).Draw(t, "terminated"))
			}
			u.Data = append(u.Data, it)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(struct {
			envelope
			Data []usageItem `json:"data"`
		}(u)); err != nil {
			t.Fatal(err)
		}
		if got := append(u.appendJSON(nil), '\n'); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendJSON:\n%s\nencoding/json:\n%s", got, want.Bytes())
		}
	})
}

package pricebook_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/money"
	"github.com/cloudmeter/cloudmeter/pricebook"
)

// designExample is the price book of DESIGN 2.2, verbatim.
const designExample = `{"currency": "GBP", "entries": [
  {"resource_type": "instance", "price": "0.31", "unit": "item", "period_seconds": 3600},
  {"resource_type": "instance", "server_type_id": 12, "datacenter": "us-santaclara", "price": "0.35",
   "unit": "item", "period_seconds": 3600, "valid_from": "2024-01-01T00:00:00Z"},
  {"resource_type": "drive", "storage_type": "iscsi_ssd", "price": "0.0004", "unit": "gib", "period_seconds": 3600},
  {"resource_type": "shared_drive", "price": "0.05", "unit": "gib", "period_seconds": 2592000},
  {"resource_type": "subnet", "subnet_type": "ipv4", "price": "0.005", "unit": "ip", "period_seconds": 3600},
  {"resource_type": "subnet", "subnet_type": "ipv6", "price": "0", "unit": "item", "period_seconds": 3600},
  {"resource_type": "network", "direction": "upload", "price": "0.06", "unit": "gb"},
  {"resource_type": "instance", "user_id": 7, "price": "0.25", "unit": "item", "period_seconds": 3600}]}`

// valid is an entry that breaks no rule; the tests put it first so that the broken
// entry is entries[1].
const valid = `{"resource_type": "instance", "price": "0.31", "unit": "item", "period_seconds": 3600}`

func book(entries ...string) string {
	return `{"currency": "GBP", "entries": [` + strings.Join(entries, ", ") + `]}`
}

func ptr[T any](v T) *T { return &v }

func TestParseDesignExample(t *testing.T) {
	b, err := pricebook.Parse([]byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	if b.Currency != "GBP" || len(b.Entries) != 8 {
		t.Fatalf("currency %s, %d entries; want GBP, 8", b.Currency, len(b.Entries))
	}
	e := b.Entries[1]
	jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if e.ResourceType != cloudmeter.ResourceInstance || e.ServerTypeID == nil || *e.ServerTypeID != 12 || e.Datacenter == nil ||
		*e.Datacenter != "us-santaclara" || e.Price.String() != "0.35" || e.Unit != pricebook.UnitItem || e.PeriodSeconds != 3600 ||
		e.ValidFrom == nil || !e.ValidFrom.Equal(jan) || e.ValidUntil != nil {
		t.Errorf("entries[1] = %+v", e)
	}
	if e.Index() != 1 || e.From() != jan.Unix() || e.Until() != pricebook.Forever {
		t.Errorf("entries[1]: index %d, from %d, until %d; want 1, %d, Forever", e.Index(), e.From(), e.Until(), jan.Unix())
	}
	if e := b.Entries[0]; e.From() != -pricebook.Forever || e.Until() != pricebook.Forever || e.Traffic() {
		t.Errorf("entries[0]: from %d until %d traffic %v; want always valid, not traffic", e.From(), e.Until(), e.Traffic())
	}
	if e := b.Entries[6]; !e.Traffic() || e.Direction == nil || *e.Direction != "upload" || e.PeriodSeconds != 0 || e.Price.String() != "0.06" {
		t.Errorf("entries[6] = %+v, want the upload traffic price", e)
	}
	if e := b.Entries[7]; e.UserID == nil || *e.UserID != 7 || e.Price.String() != "0.25" {
		t.Errorf("entries[7] = %+v, want user 7's price", e)
	}
	for i, e := range b.Entries {
		if e.Index() != i {
			t.Errorf("entries[%d].Index() = %d", i, e.Index())
		}
	}
}

// TestJSONRoundTrip: a parsed book written out with JSON and parsed again is the same
// book, and JSON is a fixed point.
func TestJSONRoundTrip(t *testing.T) {
	for _, body := range []string{designExample, book(valid,
		`{"resource_type": "drive", "price": "0.000000000001", "unit": "item", "period_seconds": 1,
		  "valid_from": "2024-01-01T00:00:00Z", "valid_until": "2024-02-01T00:00:00.9Z"}`,
		`{"resource_type": "instance", "state": "stopped", "server_type_id": 3, "price": "123456.789012345678", "unit": "item", "period_seconds": 60}`)} {
		b1, err := pricebook.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		out := b1.JSON()
		b2, err := pricebook.Parse(out)
		if err != nil {
			t.Fatalf("JSON() does not parse: %v\n%s", err, out)
		}
		if diff := cmp.Diff(b1, b2, cmp.AllowUnexported(pricebook.Entry{})); diff != "" {
			t.Errorf("round trip changed the book (-parsed +reparsed):\n%s", diff)
		}
		if again := b2.JSON(); string(again) != string(out) {
			t.Errorf("JSON is not a fixed point:\n%s\n%s", out, again)
		}
	}
}

func TestParseRejectsExcessPrecision(t *testing.T) {
	_, err := pricebook.Parse([]byte(book(valid, `{"resource_type": "instance", "price": "123456.7890123456789", "unit": "item", "period_seconds": 60}`)))
	if err == nil {
		t.Fatal("a price with 13 decimals parsed: it must be exact to 12 places")
	}
}

// TestValidate checks every rule of Validate; each error names its field.
func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"CurrencyLowerCase", `{"currency": "gbp", "entries": [` + valid + `]}`, "currency"},
		{"CurrencyTooShort", `{"currency": "GB", "entries": [` + valid + `]}`, "currency"},
		{"CurrencyTooLong", `{"currency": "GBPX", "entries": [` + valid + `]}`, "currency"},
		{"CurrencyDigit", `{"currency": "G1P", "entries": [` + valid + `]}`, "currency"},
		{"CurrencyMissing", `{"entries": [` + valid + `]}`, "currency"},
		{"CurrencyPunctuation", `{"currency": "G-P", "entries": [` + valid + `]}`, "currency"},
		{"CurrencySymbols", `{"currency": "$$$", "entries": [` + valid + `]}`, "currency"},
		{"CurrencyNotASCII", `{"currency": "ÄB", "entries": [` + valid + `]}`, "currency"},
		{"EntryNull", book(valid, `null`), "entries[1]"},
		{"ResourceTypeUnknown", book(valid, `{"resource_type": "gpu", "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].resource_type"},
		{"ResourceTypeMissing", book(valid, `{"price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].resource_type"},
		{"UnitWrongForType", book(valid, `{"resource_type": "instance", "price": "1", "unit": "gib", "period_seconds": 3600}`), "entries[1].unit"},
		{"UnitUnknown", book(valid, `{"resource_type": "drive", "price": "1", "unit": "tb", "period_seconds": 3600}`), "entries[1].unit"},
		{"UnitMissing", book(valid, `{"resource_type": "drive", "price": "1", "period_seconds": 3600}`), "entries[1].unit"},
		{"UnitGBForTime", book(valid, `{"resource_type": "instance", "price": "1", "unit": "gb", "direction": "upload"}`), "entries[1].unit"},
		{"TrafficWithPeriod", book(valid, `{"resource_type": "network", "direction": "upload", "price": "1", "unit": "gb", "period_seconds": 3600}`), "entries[1].period_seconds"},
		{"TrafficWithoutDirection", book(valid, `{"resource_type": "network", "price": "1", "unit": "gb"}`), "entries[1].direction"},
		{"TrafficDirectionUnknown", book(valid, `{"resource_type": "network", "direction": "sideways", "price": "1", "unit": "gb"}`), "entries[1].direction"},
		{"PeriodMissing", book(valid, `{"resource_type": "instance", "price": "1", "unit": "item"}`), "entries[1].period_seconds"},
		{"PeriodZero", book(valid, `{"resource_type": "instance", "price": "1", "unit": "item", "period_seconds": 0}`), "entries[1].period_seconds"},
		{"PeriodNegative", book(valid, `{"resource_type": "instance", "price": "1", "unit": "item", "period_seconds": -3600}`), "entries[1].period_seconds"},
		{"DirectionOnTime", book(valid, `{"resource_type": "instance", "direction": "upload", "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].direction"},
		{"ServerTypeOnDrive", book(valid, `{"resource_type": "drive", "server_type_id": 1, "price": "1", "unit": "gib", "period_seconds": 3600}`), "entries[1].server_type_id"},
		{"ServerTypeZero", book(valid, `{"resource_type": "instance", "server_type_id": 0, "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].server_type_id"},
		{"StateOnDrive", book(valid, `{"resource_type": "drive", "state": "active", "price": "1", "unit": "gib", "period_seconds": 3600}`), "entries[1].state"},
		{"StateUnknown", book(valid, `{"resource_type": "instance", "state": "sleeping", "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].state"},
		{"StorageTypeOnInstance", book(valid, `{"resource_type": "instance", "storage_type": "ssd", "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].storage_type"},
		{"SubnetTypeOnDrive", book(valid, `{"resource_type": "drive", "subnet_type": "ipv4", "price": "1", "unit": "gib", "period_seconds": 3600}`), "entries[1].subnet_type"},
		{"SubnetTypeUnknown", book(valid, `{"resource_type": "subnet", "subnet_type": "ipv5", "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].subnet_type"},
		{"UnitIPForIPv6", book(valid, `{"resource_type": "subnet", "subnet_type": "ipv6", "price": "1", "unit": "ip", "period_seconds": 3600}`), "entries[1].unit"},
		{"UnitIPWithoutSubnetType", book(valid, `{"resource_type": "subnet", "price": "1", "unit": "ip", "period_seconds": 3600}`), "entries[1].unit"},
		{"DatacenterEmpty", book(valid, `{"resource_type": "instance", "datacenter": "", "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].datacenter"},
		{"UserZero", book(valid, `{"resource_type": "instance", "user_id": 0, "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].user_id"},
		{"UserNegative", book(valid, `{"resource_type": "instance", "user_id": -7, "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].user_id"},
		{"ValidUntilEqualsValidFrom", book(valid, `{"resource_type": "instance", "price": "1", "unit": "item", "period_seconds": 3600,
			"valid_from": "2024-01-01T00:00:00Z", "valid_until": "2024-01-01T00:00:00Z"}`), "entries[1].valid_until"},
		{"ValidUntilBeforeValidFrom", book(valid, `{"resource_type": "instance", "price": "1", "unit": "item", "period_seconds": 3600,
			"valid_from": "2024-01-02T00:00:00Z", "valid_until": "2024-01-01T00:00:00Z"}`), "entries[1].valid_until"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pricebook.Parse([]byte(tc.body))
			fe := fieldErrors(t, err)
			found := false
			for _, e := range fe {
				found = found || e.Field == tc.field
				if e.Reason == "" {
					t.Errorf("%s: no reason", e.Field)
				}
			}
			if !found {
				t.Errorf("errors %+v do not name %s", fe, tc.field)
			}
			if !strings.Contains(cloudmeter.MessageOf(err), tc.field+": ") {
				t.Errorf("message %q does not name %s", cloudmeter.MessageOf(err), tc.field)
			}
		})
	}
}

// TestParseNamesTheField: a value of the wrong JSON type or format is reported with the
// path of its field, like every broken rule.
func TestParseNamesTheField(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"PriceNegative", book(valid, `{"resource_type": "instance", "price": "-1", "unit": "item", "period_seconds": 3600}`), "entries[1].price"},
		{"PriceNotADecimal", book(valid, `{"resource_type": "instance", "price": "cheap", "unit": "item", "period_seconds": 3600}`), "entries[1].price"},
		{"PeriodAString", book(valid, `{"resource_type": "instance", "price": "1", "unit": "item", "period_seconds": "3600"}`), "entries[1].period_seconds"},
		{"ServerTypeAString", book(valid, `{"resource_type": "instance", "server_type_id": "12", "price": "1", "unit": "item", "period_seconds": 3600}`), "entries[1].server_type_id"},
		{"ValidFromNotATimestamp", book(valid, `{"resource_type": "instance", "price": "1", "unit": "item", "period_seconds": 3600, "valid_from": "yesterday"}`), "entries[1].valid_from"},
		{"UnknownField", book(valid, `{"resource_type": "instance", "price": "1", "unit": "item", "period_seconds": 3600, "colour": "red"}`), "entries[1].colour"},
		{"CurrencyANumber", `{"currency": 826, "entries": []}`, "currency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pricebook.Parse([]byte(tc.body))
			if err == nil {
				t.Fatal("parsed")
			}
			if k := cloudmeter.KindOf(err); k != cloudmeter.KindInvalid {
				t.Errorf("kind %s, want invalid", k)
			}
			if msg := cloudmeter.MessageOf(err); !strings.Contains(msg, tc.field) {
				t.Errorf("message %q does not name %s", msg, tc.field)
			}
		})
	}
}

func TestParseBody(t *testing.T) {
	for name, body := range map[string]string{
		"Empty":        ``,
		"NotJSON":      `{"currency": "GBP", `,
		"Array":        `[]`,
		"TrailingData": `{"currency": "GBP", "entries": []} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := pricebook.Parse([]byte(body))
			if cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.HasPrefix(cloudmeter.MessageOf(err), "price book") {
				t.Errorf("error %v, want an invalid price book", err)
			}
		})
	}
}

// TestValidateListsEveryError: all broken rules are listed, in order.
func TestValidateListsEveryError(t *testing.T) {
	_, err := pricebook.Parse([]byte(`{"currency": "gbp", "entries": [` + valid + `,
		{"resource_type": "instance", "price": "1", "unit": "gib", "period_seconds": 0},
		{"resource_type": "gpu", "price": "1", "unit": "item", "period_seconds": 3600}]}`))
	var got []string
	for _, e := range fieldErrors(t, err) {
		got = append(got, e.Field)
	}
	want := []string{"currency", "entries[1].unit", "entries[1].period_seconds", "entries[2].resource_type"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestValidateStruct covers the rules only a book built in Go can break.
func TestValidateStruct(t *testing.T) {
	b := &pricebook.Book{Currency: "GBP", Entries: []*pricebook.Entry{
		{ResourceType: cloudmeter.ResourceInstance, Price: money.Price(-1), Unit: pricebook.UnitItem, PeriodSeconds: 3600},
		nil,
	}}
	var got []string
	for _, e := range b.Validate() {
		got = append(got, e.Field)
	}
	if diff := cmp.Diff([]string{"entries[0].price", "entries[1]"}, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	ok := &pricebook.Book{Currency: "EUR", Entries: []*pricebook.Entry{{ResourceType: cloudmeter.ResourceDrive, Price: 1, Unit: pricebook.UnitGiB, PeriodSeconds: 1}}}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Errorf("valid book: %v", errs)
	}
	// Empty is no book to store but the absence of one: no entries, and no currency.
	if pricebook.Empty.Currency != "" || len(pricebook.Empty.Entries) != 0 {
		t.Errorf("Empty = %+v, want no currency and no entries", pricebook.Empty)
	}
}

func fieldErrors(tb testing.TB, err error) []pricebook.FieldError {
	tb.Helper()
	if err == nil {
		tb.Fatal("the book parsed")
	}
	var ce *cloudmeter.Error
	if !errors.As(err, &ce) || ce.Kind != cloudmeter.KindInvalid {
		tb.Fatalf("error %v: want a cloudmeter.Error of kind invalid", err)
	}
	fe, ok := ce.Details.([]pricebook.FieldError)
	if !ok {
		tb.Fatalf("details %T, want []pricebook.FieldError (%v)", ce.Details, err)
	}
	return fe
}

// t0 is 2024-01-01T00:00:00Z; tests price [t0, t0+99].
const t0 int64 = 1704067200

// at renders t0+s as a JSON timestamp.
func at(s int64) string { return `"` + cloudmeter.FormatTime(t0+s) + `"` }

// inst is an instance entry with extra members.
func inst(price string, extra ...string) string {
	s := `{"resource_type": "instance", "price": "` + price + `", "unit": "item", "period_seconds": 3600`
	for _, x := range extra {
		s += ", " + x
	}
	return s + "}"
}

func from(s int64) string  { return `"valid_from": ` + at(s) }
func until(s int64) string { return `"valid_until": ` + at(s) }

type piece struct {
	Start, End int64 // relative to t0
	Entry      int   // index, -1 for none
}

func TestPieces(t *testing.T) {
	subject := pricebook.Subject{Type: cloudmeter.ResourceInstance, UserID: 7, Datacenter: "dc-a", ServerTypeID: ptr[int64](12), State: cloudmeter.StateActive}
	tests := []struct {
		name       string
		entries    []string
		start, end int64
		subject    *pricebook.Subject
		want       []piece
	}{
		{"NoEntry", []string{`{"resource_type": "drive", "price": "1", "unit": "gib", "period_seconds": 3600}`}, 0, 99, nil, []piece{{0, 99, -1}}},
		{"OpenDefault", []string{inst("1")}, 0, 99, nil, []piece{{0, 99, 0}}},
		{"OneSecond", []string{inst("1")}, 50, 50, nil, []piece{{50, 50, 0}}},
		{"StartsMidway", []string{inst("1", from(10))}, 0, 99, nil, []piece{{0, 9, -1}, {10, 99, 0}}},
		{"ValidUntilIsExclusive", []string{inst("1", until(50))}, 0, 99, nil, []piece{{0, 49, 0}, {50, 99, -1}}},
		{"ValidUntilJustAfterTheRange", []string{inst("1", until(100))}, 0, 99, nil, []piece{{0, 99, 0}}},
		{"ValidUntilAtTheLastSecond", []string{inst("1", until(99))}, 0, 99, nil, []piece{{0, 98, 0}, {99, 99, -1}}},
		{"ValidFromAtTheLastSecond", []string{inst("1", from(99))}, 0, 99, nil, []piece{{0, 98, -1}, {99, 99, 0}}},
		{"ValidAfterTheRange", []string{inst("1", from(100))}, 0, 99, nil, []piece{{0, 99, -1}}},
		{"ValidBeforeTheRange", []string{inst("1", until(0))}, 0, 99, nil, []piece{{0, 99, -1}}},
		{"DatedOverride", []string{inst("1"), inst("2", from(20), until(40))}, 0, 99, nil, []piece{{0, 19, 0}, {20, 39, 1}, {40, 99, 0}}},
		{"LaterValidFromWins", []string{inst("1", from(10)), inst("2", from(5))}, 0, 99, nil, []piece{{0, 4, -1}, {5, 9, 1}, {10, 99, 0}}},
		{"ConsecutivePrices", []string{inst("1", until(30)), inst("2", from(30), until(60)), inst("3", from(60))}, 0, 99, nil,
			[]piece{{0, 29, 0}, {30, 59, 1}, {60, 99, 2}}},
		{"DatacenterBeatsLaterDefault", []string{inst("1", `"datacenter": "dc-a"`), inst("2", from(20))}, 0, 99, nil, []piece{{0, 99, 0}}},
		{"UserBeatsDatacenter", []string{inst("1", `"user_id": 7`, from(30)), inst("2", `"datacenter": "dc-a"`)}, 0, 99, nil,
			[]piece{{0, 29, 1}, {30, 99, 0}}},
		{"UserBeatsMoreDiscriminators", []string{inst("1", `"user_id": 7`), inst("2", `"datacenter": "dc-a"`, `"server_type_id": 12`, `"state": "active"`)},
			0, 99, nil, []piece{{0, 99, 0}}},
		{"MoreDiscriminatorsWin", []string{inst("1", `"server_type_id": 12`, `"state": "active"`, from(50), until(60)), inst("2", `"server_type_id": 12`, from(0))},
			0, 99, nil, []piece{{0, 49, 1}, {50, 59, 0}, {60, 99, 1}}},
		{"LaterEntryWinsATie", []string{inst("1"), inst("2")}, 0, 99, nil, []piece{{0, 99, 1}}},
		{"LosingEntryDoesNotSplit", []string{inst("1", `"user_id": 7`), inst("2", from(20), until(40))}, 0, 99, nil, []piece{{0, 99, 0}}},
		{"OtherSubjectsDoNotSplit", []string{inst("1"), inst("2", `"datacenter": "dc-b"`, from(20)), inst("3", `"user_id": 8`, from(30)),
			inst("4", `"server_type_id": 13`, from(40)), inst("5", `"state": "stopped"`, from(50)),
			`{"resource_type": "drive", "price": "1", "unit": "gib", "period_seconds": 3600, "valid_from": ` + at(60) + `}`}, 0, 99, nil,
			[]piece{{0, 99, 0}}},
		{"ServerTypeEntryNeedsAServerType", []string{inst("1"), inst("2", `"server_type_id": 12`)}, 0, 99,
			&pricebook.Subject{Type: cloudmeter.ResourceInstance, UserID: 7, Datacenter: "dc-a", State: cloudmeter.StateActive}, []piece{{0, 99, 0}}},
		{"TrafficEntriesDoNotPriceTime", []string{`{"resource_type": "network", "direction": "upload", "price": "1", "unit": "gb"}`}, 0, 99,
			&pricebook.Subject{Type: cloudmeter.ResourceNetwork, UserID: 7, Datacenter: "dc-a"}, []piece{{0, 99, -1}}},
		{"TrafficByDirection", []string{`{"resource_type": "network", "direction": "upload", "price": "1", "unit": "gb"}`,
			`{"resource_type": "network", "direction": "download", "price": "2", "unit": "gb", "valid_from": ` + at(50) + `}`}, 0, 99,
			&pricebook.Subject{Type: cloudmeter.ResourceNetwork, UserID: 7, Datacenter: "dc-a", Direction: "download"}, []piece{{0, 49, -1}, {50, 99, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := pricebook.Parse([]byte(book(tc.entries...)))
			if err != nil {
				t.Fatal(err)
			}
			subj := subject
			if tc.subject != nil {
				subj = *tc.subject
			}
			var got []piece
			for _, p := range b.Pieces(&subj, t0+tc.start, t0+tc.end) {
				idx := -1
				if p.Entry != nil {
					idx = p.Entry.Index()
				}
				got = append(got, piece{p.Start - t0, p.End - t0, idx})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pieces (-want +got):\n%s", diff)
			}
		})
	}
}

func ExampleBook_Pieces() {
	b, _ := pricebook.Parse([]byte(`{"currency": "GBP", "entries": [
		{"resource_type": "instance", "price": "0.31", "unit": "item", "period_seconds": 3600},
		{"resource_type": "instance", "price": "0.35", "unit": "item", "period_seconds": 3600, "valid_from": "2024-01-01T12:00:00Z"}]}`))
	s := pricebook.Subject{Type: cloudmeter.ResourceInstance, UserID: 1, Datacenter: "uk-reading", State: cloudmeter.StateActive}
	for _, p := range b.Pieces(&s, t0, t0+86399) {
		fmt.Println(cloudmeter.FormatTime(p.Start), cloudmeter.FormatTime(p.End), p.Entry.Price)
	}
	// Output:
	// 2024-01-01T00:00:00Z 2024-01-01T11:59:59Z 0.31
	// 2024-01-01T12:00:00Z 2024-01-01T23:59:59Z 0.35
}

// TestStoppedPriceSurvivesATypePriceChange: a stopped instance keeps its stopped price
// when a new price for its server type takes effect later. Both entries set one
// discriminator; the power state must decide, not the later valid_from.
func TestStoppedPriceSurvivesATypePriceChange(t *testing.T) {
	b, err := pricebook.Parse([]byte(`{"currency":"GBP","entries":[
		{"resource_type":"instance","state":"stopped","price":"0.02","unit":"item","period_seconds":3600},
		{"resource_type":"instance","server_type_id":2,"price":"0.25","unit":"item","period_seconds":3600},
		{"resource_type":"instance","server_type_id":2,"price":"0.29","unit":"item","period_seconds":3600,"valid_from":"2024-12-16T00:00:00Z"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	two := int64(2)
	change := time.Date(2024, 12, 16, 0, 0, 0, 0, time.UTC).Unix()
	for _, c := range []struct {
		name  string
		state cloudmeter.State
		want  string
	}{{"Stopped", cloudmeter.StateStopped, "0.02"}, {"Active", cloudmeter.StateActive, ""}} {
		t.Run(c.name, func(t *testing.T) {
			s := pricebook.Subject{Type: cloudmeter.ResourceInstance, UserID: 1, Datacenter: "uk-reading", ServerTypeID: &two, State: c.state}
			pieces := b.Pieces(&s, change-10, change+10)
			var got []string
			for _, p := range pieces {
				got = append(got, p.Entry.Price.String())
			}
			want := []string{c.want}
			if c.want == "" {
				want = []string{"0.25", "0.29"}
			}
			if !cmp.Equal(got, want) {
				t.Errorf("prices across the change = %v; want %v", got, want)
			}
		})
	}
}

// TestParseSaysTheShapeInWords: a book of the wrong shape is answered with the field and
// the shape it must have, in words, never with Go's type names.
func TestParseSaysTheShapeInWords(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"Array", `[]`, "must be a JSON object {\"currency\": \"GBP\", \"entries\": [...]}, not an array"},
		{"String", `"GBP"`, "not a string"},
		{"Null", `null`, "not null"},
		{"EntriesAnObject", `{"currency": "GBP", "entries": {}}`, "entries: must be a JSON array of price entries"},
		{"EntriesNull", `{"currency": "GBP", "entries": null}`, "entries: must be a JSON array of price entries"},
		{"CurrencyAnArray", `{"currency": ["GBP"], "entries": []}`, "currency: must be a string: a three-letter ISO 4217 code"},
		{"UnknownTopField", `{"currency": "GBP", "entries": [], "discount": 1}`, "discount: is not a price book field (currency, entries, server_types)"},
		{"ServerTypesAnObject", `{"currency": "GBP", "entries": [], "server_types": {}}`, "server_types: must be a JSON array of server types"},
		{"ServerTypeIDAString", `{"currency": "GBP", "entries": [], "server_types": [{"id": "12", "name": "M"}]}`, "server_types[0].id: must be a whole number above 0"},
		{"ServerTypeUnknownField", `{"currency": "GBP", "entries": [], "server_types": [{"id": 12, "name": "M", "cores": 8}]}`, "server_types[0].cores: is not a server type field"},
		{"ServerTypeNoName", `{"currency": "GBP", "entries": [], "server_types": [{"id": 12}]}`, "server_types[0].name: must be a name of 1 to"},
		{"ServerTypeTwice", `{"currency": "GBP", "entries": [], "server_types": [{"id": 12, "name": "A"}, {"id": 12, "name": "B"}]}`, "server_types[1].id: server type 12 is named twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pricebook.Parse([]byte(tc.body))
			msg := cloudmeter.MessageOf(err)
			if cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.Contains(msg, tc.want) {
				t.Errorf("message %q, want it to hold %q", msg, tc.want)
			}
			for _, goWords := range []string{"Go value", "Go struct", "unmarshal", "json.RawMessage", "*string", "struct {"} {
				if strings.Contains(msg, goWords) {
					t.Errorf("message %q speaks Go (%q)", msg, goWords)
				}
			}
		})
	}
}

func TestServerTypes(t *testing.T) {
	b, err := pricebook.Parse([]byte(`{"currency": "GBP", "entries": [], "server_types": [{"id": 12, "name": "M.8.8.2", "display_name": "8 cores"}, {"id": 3, "name": "S.4"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := b.ServerType(12); !ok || st.Name != "M.8.8.2" || st.DisplayName != "8 cores" {
		t.Errorf("ServerType(12) = %+v, %v", st, ok)
	}
	if _, ok := b.ServerType(4); ok {
		t.Errorf("ServerType(4) found")
	}
	again, err := pricebook.Parse(b.JSON())
	if err != nil || !cmp.Equal(again.ServerTypes, b.ServerTypes) {
		t.Errorf("server types do not round-trip: %+v, %v", again.ServerTypes, err)
	}
	if strings.Contains(string(pricebook.Empty.JSON()), "server_types") {
		t.Errorf("a book without server types writes them: %s", pricebook.Empty.JSON())
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter/internal/e2etest"
)

// The seed example's report window, over all of 2016.
const (
	seedStart = "2016-01-01T00:00:00Z"
	seedEnd   = "2016-12-31T23:59:59Z"
)

// seedRequest is the seed's curl request with the 2016 window, byte for byte as the seed
// writes it ("jsonrpc" a number, "id" null).
const seedRequest = `{"id":null, "jsonrpc": 2.0, "method": "resource_utilization_detailed", "params": [1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]}`

// indent is b indented when it is JSON, for a readable difference.
func indent(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// rpcCall builds a JSON-RPC 2.0 request body with id 1.
func rpcCall(method string, params ...any) string {
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// detailed is a resource_utilization_detailed call with positional params.
func detailed(params ...any) string { return rpcCall("resource_utilization_detailed", params...) }

// summary is a resource_utilization_summary call with positional params.
func summary(params ...any) string { return rpcCall("resource_utilization_summary", params...) }

// rpcResult decodes a single JSON-RPC answer and returns its result, failing the test if
// it is an error or not JSON-RPC 2.0.
func rpcResult(t *testing.T, r *e2etest.Response) map[string]any {
	t.Helper()
	m := r.Object(t)
	if m["jsonrpc"] != "2.0" {
		t.Fatalf(`answer has "jsonrpc" %v, want "2.0": %s`, m["jsonrpc"], r.Body)
	}
	if e, ok := m["error"]; ok {
		t.Fatalf("JSON-RPC error %v, want a result: %s", e, r.Body)
	}
	res, ok := m["result"].(map[string]any)
	if !ok {
		t.Fatalf("answer has no result object: %s", r.Body)
	}
	return res
}

// rpcError decodes a single JSON-RPC error answer.
func rpcError(t *testing.T, r *e2etest.Response) (code int, message string) {
	t.Helper()
	m := r.Object(t)
	if m["jsonrpc"] != "2.0" {
		t.Fatalf(`answer has "jsonrpc" %v, want "2.0": %s`, m["jsonrpc"], r.Body)
	}
	if _, ok := m["result"]; ok {
		t.Fatalf("answer has a result, want an error: %s", r.Body)
	}
	return errorOf(t, m)
}

func errorOf(t *testing.T, m map[string]any) (int, string) {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer has no error object: %v", m)
	}
	if len(e) != 2 {
		t.Errorf("error object has members %v, want exactly message and code", keys(e))
	}
	n, ok := e["code"].(json.Number)
	if !ok {
		t.Fatalf("error code %v is not a number", e["code"])
	}
	code, err := n.Int64()
	if err != nil {
		t.Fatalf("error code %v is not an integer", n)
	}
	msg, ok := e["message"].(string)
	if !ok || msg == "" {
		t.Fatalf("error message %v is not a non-empty string", e["message"])
	}
	return int(code), msg
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// records returns the records of one infrastructure and type in a detailed report.
func records(t *testing.T, result map[string]any, infra int64, typ string) []map[string]any {
	t.Helper()
	dr, ok := result["detailed_report"].(map[string]any)
	if !ok {
		t.Fatalf("result has no detailed_report object: %v", result)
	}
	inf, ok := dr[fmt.Sprint(infra)].(map[string]any)
	if !ok {
		return nil
	}
	list, _ := inf[typ].([]any)
	out := make([]map[string]any, len(list))
	for i, r := range list {
		out[i] = r.(map[string]any)
	}
	return out
}

// allRecords returns every record of a detailed report with its infrastructure id.
func allRecords(t *testing.T, result map[string]any) []map[string]any {
	t.Helper()
	dr, ok := result["detailed_report"].(map[string]any)
	if !ok {
		t.Fatalf("result has no detailed_report object: %v", result)
	}
	var out []map[string]any
	for infra, types := range dr {
		for _, list := range types.(map[string]any) {
			for _, r := range list.([]any) {
				rec := r.(map[string]any)
				rec["_infra"] = infra
				out = append(out, rec)
			}
		}
	}
	return out
}

// objectKeys returns the sorted keys of an object member of result.
func objectKeys(t *testing.T, result map[string]any, member string) []string {
	t.Helper()
	m, ok := result[member].(map[string]any)
	if !ok {
		t.Fatalf("result has no %s object: %v", member, result)
	}
	out := keys(m)
	slices.Sort(out)
	return out
}

// wantRecord is what a test asserts of one record.
type wantRecord struct {
	ProductID   int64
	Start, End  string
	Quantity    string
	CostPerUnit string
	Cost        string
}

func (w wantRecord) check(t *testing.T, what string, got map[string]any) {
	t.Helper()
	gotW := wantRecord{
		ProductID:   numberOf(t, got["product_id"]),
		Start:       str(got["start_timestamp"]),
		End:         str(got["end_timestamp"]),
		Quantity:    str(got["quantity"]),
		CostPerUnit: str(got["cost_per_unit"]),
		Cost:        str(got["cost"]),
	}
	if d := cmp.Diff(w, gotW); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
	// Every record obeys the billing rules: quantity = end - start + 1, and cost =
	// round_half_up_8(quantity / measurement_period x cost_per_unit).
	checkArithmetic(t, what, got)
}

// checkArithmetic checks a record's quantity and cost against its own start, end,
// measurement period and cost per unit, computed independently with big.Rat.
func checkArithmetic(t *testing.T, what string, rec map[string]any) {
	t.Helper()
	start := parseTime(t, str(rec["start_timestamp"]))
	end := parseTime(t, str(rec["end_timestamp"]))
	if q := fmt.Sprint(end - start + 1); str(rec["quantity"]) != q {
		t.Errorf("%s: quantity %v, want end - start + 1 = %s", what, rec["quantity"], q)
	}
	var period int64
	if _, err := fmt.Sscan(str(rec["measurement_period"]), &period); err != nil || period <= 0 {
		t.Errorf("%s: measurement_period %v is not a whole number of seconds", what, rec["measurement_period"])
		return
	}
	if want := expectCost(t, end-start+1, period, str(rec["cost_per_unit"])); str(rec["cost"]) != want {
		t.Errorf("%s: cost %v, want round_half_up_8(%d / %d x %v) = %s", what, rec["cost"], end-start+1, period, rec["cost_per_unit"], want)
	}
}

// expectCost is round_half_up_8(quantity / period x costPerUnit), computed exactly.
func expectCost(t *testing.T, quantity, period int64, costPerUnit string) string {
	t.Helper()
	cpu, ok := new(big.Rat).SetString(costPerUnit)
	if !ok {
		t.Fatalf("cost_per_unit %q is not a decimal", costPerUnit)
	}
	v := new(big.Rat).Mul(cpu, big.NewRat(quantity, period))
	return roundHalfUp8(v)
}

// roundHalfUp8 formats a non-negative v rounded half-up to 8 decimal places.
func roundHalfUp8(v *big.Rat) string {
	scaled := new(big.Rat).Mul(v, big.NewRat(100000000, 1))
	scaled.Add(scaled, big.NewRat(1, 2))
	n := new(big.Int).Quo(scaled.Num(), scaled.Denom()) // floor, as v >= 0
	s := fmt.Sprintf("%09s", n.String())
	return s[:len(s)-8] + "." + s[len(s)-8:]
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return "<null>"
	}
	return fmt.Sprint(v)
}

func numberOf(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Errorf("%v (%T) is not a JSON number", v, v)
		return 0
	}
	i, err := n.Int64()
	if err != nil {
		t.Errorf("%v is not an integer", n)
	}
	return i
}

func parseTime(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	if !strings.HasSuffix(s, "Z") {
		t.Errorf("timestamp %q is not in UTC with a Z suffix", s)
	}
	return tm.Unix()
}

func ts(unix int64) string { return time.Unix(unix, 0).UTC().Format("2006-01-02T15:04:05Z") }

// Event builders. Every test event has the source "e2e/test" unless it reuses a seed
// event's key on purpose.
const testSource = "e2e/test"

type event = map[string]any

func provisioned(id, at string, product int64, typ string, user, infra int64, dc string, attrs map[string]any) event {
	if attrs == nil {
		attrs = map[string]any{}
	}
	return event{
		"specversion": "1.0", "id": id, "source": testSource, "time": at,
		"type": "cloudmeter.resource.provisioned",
		"data": map[string]any{
			"product_id": product, "resource_type": typ, "user_id": user, "infrastructure_id": infra,
			"infrastructure_label": fmt.Sprintf("infra-%d", infra), "datacenter": dc,
			"label": fmt.Sprintf("%s-%d", typ, product), "subdomain": fmt.Sprintf("%s-%d.infra-%d.%d.example.test", typ, product, infra, user),
			"attributes": attrs,
		},
	}
}

func deleted(id, at string, product int64) event {
	return event{
		"specversion": "1.0", "id": id, "source": testSource, "time": at,
		"type": "cloudmeter.resource.deleted", "data": map[string]any{"product_id": product},
	}
}

func batch(events ...event) []byte {
	b, err := json.Marshal(events)
	if err != nil {
		panic(err)
	}
	return b
}

// seedPricesWith returns the seed price book with extra entries appended (as JSON
// objects), or with the entries of the given resource type removed.
func seedPricesWith(t *testing.T, seed []byte, drop string, extra ...map[string]any) []byte {
	t.Helper()
	var book struct {
		Currency string           `json:"currency"`
		Entries  []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(seed, &book); err != nil {
		t.Fatal(err)
	}
	kept := book.Entries[:0]
	for _, e := range book.Entries {
		if e["resource_type"] != drop {
			kept = append(kept, e)
		}
	}
	book.Entries = append(kept, extra...)
	b, err := json.Marshal(book)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

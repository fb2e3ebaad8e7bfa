package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/cli"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/money"
)

// goWords are what a message speaks when it shows a Go decoding error instead of saying
// the field and its shape in words.
var goWords = []string{"Go value", "Go struct", "unmarshal", "struct {", "*string", "int64", "json.RawMessage", "ptr", "slice", "interface"}

func speaksGo(msg string) string {
	for _, w := range goWords {
		if strings.Contains(msg, w) {
			return w
		}
	}
	return ""
}

// TestDecodeErrorsInWords sends bodies of the wrong shape to every native route that takes
// JSON, and calls of the wrong shape to the JSON-RPC API: each answer names the field and
// the shape it must have, in words, never Go's type names; an unknown method is named.
func TestDecodeErrorsInWords(t *testing.T) { e2etest.OnEachEngine(t, testDecodeErrorsInWords) }

func testDecodeErrorsInWords(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	for _, c := range []struct {
		name, method, path, ct, body, field string
	}{
		{"PriceBookAnArray", "PUT", "/api/v1/prices", "application/json", `[]`, "must be a JSON object"},
		{"PriceBookEntriesAnObject", "PUT", "/api/v1/prices", "application/json", `{"currency":"GBP","entries":{}}`, "entries"},
		{"PriceBookCurrencyANumber", "PUT", "/api/v1/prices", "application/json", `{"currency":826,"entries":[]}`, "currency"},
		{"KeyUserAString", "POST", "/api/v1/keys", "application/json", `{"user_id":"7","permissions":[]}`, "user_id"},
		{"KeyPermissionsAString", "POST", "/api/v1/keys", "application/json", `{"user_id":7,"permissions":"admin"}`, "permissions"},
		{"KeyLabelANumber", "POST", "/api/v1/keys", "application/json", `{"user_id":7,"label":5}`, "label"},
		{"KeyAnArray", "POST", "/api/v1/keys", "application/json", `[1]`, "must be a JSON object"},
		{"OrganizationAString", "PUT", "/api/v1/users/1/organization", "application/json", `{"organization_id":"2"}`, "organization_id"},
		{"CreditAmountANumber", "POST", "/api/v1/organizations/1/credit", "application/json", `{"amount":10}`, "amount"},
		{"CreditSettingsThresholdABool", "PUT", "/api/v1/organizations/1/credit/settings", "application/json", `{"threshold":true}`, "threshold"},
		{"EventDataAnArray", "POST", "/api/v1/events", e2etest.CTEvent, `{"specversion":"1.0","id":"x","source":"s","type":"cloudmeter.resource.deleted","time":"2016-01-01T00:00:00Z","data":[]}`, "data"},
		{"EventsAString", "POST", "/api/v1/events", e2etest.CTBatch, `"events"`, "array"},
		{"EventProductIDAString", "POST", "/api/v1/events", e2etest.CTEvent, `{"specversion":"1.0","id":"x","source":"s","type":"cloudmeter.resource.deleted","time":"2016-01-01T00:00:00Z","data":{"product_id":"2416"}}`, "product_id"},
		{"EventTimeANumber", "POST", "/api/v1/events", e2etest.CTEvent, `{"specversion":"1.0","id":"x","source":"s","type":"cloudmeter.resource.deleted","time":1451606400,"data":{"product_id":2416}}`, "time"},
		{"EventAttributesAnArray", "POST", "/api/v1/events", e2etest.CTEvent, `{"specversion":"1.0","id":"x","source":"s","type":"cloudmeter.resource.changed","time":"2016-01-01T00:00:00Z","data":{"product_id":2416,"attributes":[]}}`, "attributes"},
		{"EventBytesAString", "POST", "/api/v1/events", e2etest.CTEvent, `{"specversion":"1.0","id":"x","source":"s","type":"cloudmeter.traffic.metered","time":"2016-01-01T00:00:00Z","data":{"product_id":8381,"direction":"upload","bytes":"5"}}`, "bytes"},
		{"EventIDANumber", "POST", "/api/v1/events", e2etest.CTEvent, `{"specversion":"1.0","id":5,"source":"s","type":"cloudmeter.resource.deleted","time":"2016-01-01T00:00:00Z","data":{"product_id":2416}}`, "id"},
		{"CreditNoteANumber", "POST", "/api/v1/organizations/1/credit", "application/json", `{"amount":"10.00","note":5}`, "note"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := srv.Do(t, c.method, c.path, srv.AdminKey, c.ct, []byte(c.body))
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			msg := string(r.Body)
			if w := speaksGo(msg); w != "" {
				t.Errorf("answer speaks Go (%q): %s", w, msg)
			}
			if !strings.Contains(msg, c.field) {
				t.Errorf("answer does not name %s: %s", c.field, msg)
			}
		})
	}
	t.Run("MethodNotFound", func(t *testing.T) {
		code, msg := rpcError(t, srv.RPC(t, srv.AdminKey, rpcCall("resource_utilisation_detailed", 1)))
		if code != -32601 || !strings.Contains(msg, `"resource_utilisation_detailed"`) {
			t.Errorf("answer %d %q, want -32601 naming the method", code, msg)
		}
	})
}

// wanTraffic is the README tour's traffic of the seed's network wan: 35 GB up, 1.5 GB down.
const wanTraffic = `[
 {"specversion": "1.0", "id": "wan-1", "source": "meter/uk-reading", "time": "2016-02-01T14:00:00Z", "type": "cloudmeter.traffic.metered", "data": {"product_id": 8381, "direction": "upload", "counter": 10737418240}},
 {"specversion": "1.0", "id": "wan-2", "source": "meter/uk-reading", "time": "2016-02-01T17:00:00Z", "type": "cloudmeter.traffic.metered", "data": {"product_id": 8381, "direction": "upload", "counter": 32212254720}},
 {"specversion": "1.0", "id": "wan-3", "source": "meter/uk-reading", "time": "2016-02-01T20:00:00Z", "type": "cloudmeter.traffic.metered", "data": {"product_id": 8381, "direction": "upload", "counter": 5368709120}},
 {"specversion": "1.0", "id": "wan-4", "source": "meter/uk-reading", "time": "2016-02-01T20:00:00Z", "type": "cloudmeter.traffic.metered", "data": {"product_id": 8381, "direction": "download", "bytes": 1610612736}}]`

// cliRun runs the command line and returns its exit code, stdout and stderr.
func cliRun(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// csvLines reads a CSV report export: its columns by name, how many lines of each kind
// (the "line" column) come before the last one, the sum of their cost, and the last line.
func csvLines(t *testing.T, out string) (col map[string]int, kinds map[string]int, sum money.Amount, last []string) {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	col, kinds = map[string]int{}, map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, row := range rows[1 : len(rows)-1] {
		kinds[row[col["line"]]]++
		c, err := money.ParseAmount(row[col["cost"]])
		if err != nil {
			t.Fatalf("cost %q: %v", row[col["cost"]], err)
		}
		sum, _ = sum.Add(c)
	}
	return col, kinds, sum, rows[len(rows)-1]
}

func reportArgs(srv *e2etest.Server, format string) []string {
	return []string{"report", "--data-dir", srv.DataDir, "--database-url=" + srv.DatabaseURL, "--user", "1", "--from", seedStart, "--to", seedEnd, "--format", format}
}

// TestReportExportsAddUp: the README tour's report with traffic exported as a table, CSV
// and JSON: CSV and JSON carry every line the table shows, traffic included, and each says
// how its lines add up to the same total, 10.70663243 GBP (the seed's 8.60663243 and 35 GB
// uploaded at 0.06).
func TestReportExportsAddUp(t *testing.T) { e2etest.OnEachEngine(t, testReportExportsAddUp) }

func testReportExportsAddUp(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	srv.PostEvents(t, []byte(wanTraffic))
	const total = "10.70663243"

	code, table, stderr := cliRun(reportArgs(srv, "table")...)
	if code != 0 || !strings.Contains(table, "TOTAL "+total+" GBP over 4 records and 4 traffic records") {
		t.Fatalf("table: exit %d %s\n%s", code, stderr, table)
	}

	code, out, stderr := cliRun(reportArgs(srv, "csv")...)
	if code != 0 {
		t.Fatalf("csv: exit %d: %s", code, stderr)
	}
	col, kinds, sum, last := csvLines(t, out)
	if kinds["usage"] != 4 || kinds["traffic"] != 4 {
		t.Errorf("csv lines %v, want the table's 4 usage and 4 traffic lines", kinds)
	}
	if last[col["line"]] != "total" || last[col["cost"]] != total || sum.String() != total || last[col["currency"]] != "GBP" {
		t.Errorf("csv: lines sum to %s, total line %v; want both %s GBP", sum, last, total)
	}
	if !strings.Contains(last[col["label"]], "sum of the cost of the 4 usage and 4 traffic lines above") {
		t.Errorf("the total line does not say how it adds up: %v", last)
	}

	code, out, stderr = cliRun(reportArgs(srv, "json")...)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	var rep struct {
		Detailed map[string]map[string][]struct {
			Cost string `json:"cost"`
		} `json:"detailed_report"`
		Network map[string]map[string]map[string]struct {
			Waypoints []struct {
				Cost string `json:"cost"`
			} `json:"metered_waypoints"`
		} `json:"network_report"`
		Totals struct {
			UsageRecords   int    `json:"usage_records"`
			UsageCost      string `json:"usage_cost"`
			TrafficRecords int    `json:"traffic_records"`
			TrafficCost    string `json:"traffic_cost"`
			TotalCost      string `json:"total_cost"`
			Currency       string `json:"cost_currency"`
			AddsUp         string `json:"adds_up"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	var usage, traffic money.Amount
	nUsage, nTraffic := 0, 0
	for _, types := range rep.Detailed {
		for _, recs := range types {
			for _, r := range recs {
				c, _ := money.ParseAmount(r.Cost)
				usage, _ = usage.Add(c)
				nUsage++
			}
		}
	}
	for _, types := range rep.Network {
		for _, dirs := range types {
			for _, d := range dirs {
				for _, w := range d.Waypoints {
					c, _ := money.ParseAmount(w.Cost)
					traffic, _ = traffic.Add(c)
					nTraffic++
				}
			}
		}
	}
	both, _ := usage.Add(traffic)
	tt := rep.Totals
	if tt.UsageCost != usage.String() || tt.TrafficCost != traffic.String() || tt.TotalCost != both.String() || tt.TotalCost != total ||
		tt.UsageRecords != nUsage || tt.TrafficRecords != nTraffic || nTraffic != 4 || tt.Currency != "GBP" || tt.AddsUp == "" {
		t.Errorf("json totals %+v; its lines: %d usage costing %s, %d traffic costing %s; want them equal and %s", tt, nUsage, usage, nTraffic, traffic, total)
	}
}

// TestNoPriceBookNamesNoCurrency: with no price book, reports say so instead of naming a
// currency nobody chose.
func TestNoPriceBookNamesNoCurrency(t *testing.T) {
	e2etest.OnEachEngine(t, testNoPriceBookNamesNoCurrency)
}

func testNoPriceBookNamesNoCurrency(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.PostEvents(t, []byte(santaClaraInstance))
	args := func(format string) []string {
		return []string{"report", "--data-dir", srv.DataDir, "--database-url=" + srv.DatabaseURL, "--user", "1", "--from", seedStart, "--to", seedEnd, "--format", format}
	}
	for _, format := range []string{"table", "csv", "json"} {
		code, out, stderr := cliRun(args(format)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, stderr)
		}
		if strings.Contains(out, "GBP") {
			t.Errorf("%s names a currency with no price book:\n%s", format, out)
		}
		if format != "json" && !strings.Contains(out, "no price book loaded") {
			t.Errorf("%s does not say that no price book is loaded:\n%s", format, out)
		}
	}
	r := srv.RPC(t, srv.AdminKey, detailed(1, seedStart, seedEnd))
	if bytes.Contains(r.Body, []byte("GBP")) || !bytes.Contains(r.Body, []byte(`"cost_currency":null`)) {
		t.Errorf("JSON-RPC report with no price book: %s", r.Body)
	}
	r = srv.Do(t, "GET", "/api/v1/users/1/utilization?from="+seedStart+"&to="+seedEnd, srv.AdminKey, "", nil)
	if c, ok := r.Object(t)["currency"]; bytes.Contains(r.Body, []byte("GBP")) || !ok || c != nil {
		t.Errorf("native report with no price book: %s", r.Body)
	}
}

// TestReadOnlyCommandsNeedTheDataDirectory: a command that only reads refuses a data
// directory that does not exist (a typo) instead of creating an empty database and
// answering about it; the directory is not created.
func TestReadOnlyCommandsNeedTheDataDirectory(t *testing.T) {
	e2etest.OnEachEngine(t, func(t *testing.T, eng e2etest.Engine) {
		if eng != e2etest.SQLite {
			t.Skip("the data directory is SQLite's; PostgreSQL is named by --database-url")
		}
		missing := filepath.Join(t.TempDir(), "dta")
		for _, args := range [][]string{
			{"report", "--user", "1", "--from", seedStart, "--to", seedEnd},
			{"prices", "show"},
			{"keys", "list"},
		} {
			t.Run(args[0], func(t *testing.T) {
				code, out, stderr := cliRun(append(args, "--data-dir", missing, "--database-url=")...)
				if code != 1 || !strings.Contains(stderr, "data directory "+missing+" does not exist") {
					t.Errorf("exit %d, stderr %q, stdout %q; want 1 and the directory named", code, stderr, out)
				}
				if _, err := os.Stat(missing); !os.IsNotExist(err) {
					t.Errorf("the command created %s", missing)
				}
			})
		}
	})
}

// TestCustomerKey: a key made with no permission, by the command line or the keys API, is
// a customer's key: it reads its own user's usage through every surface and nothing else.
func TestCustomerKey(t *testing.T) { e2etest.OnEachEngine(t, testCustomerKey) }

func testCustomerKey(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	srv.PostEvents(t, []byte(santaClaraInstance)) // user 7 owns instance 9002
	code, out, stderr := cliRun("keys", "create", "--data-dir", srv.DataDir, "--database-url="+srv.DatabaseURL, "--user", "7")
	if code != 0 || !strings.Contains(out, "no permission (a customer's key: it reads its own user's usage only)") {
		t.Fatalf("keys create --user 7: exit %d %s%s", code, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for name, key := range map[string]string{"CLI": lines[len(lines)-1], "API": srv.CreateKey(t, 7)} {
		t.Run(name, func(t *testing.T) {
			own := rpcResult(t, srv.RPC(t, key, detailed(7, seedStart, seedEnd)))
			if len(records(t, own, 5001, "instance")) != 1 {
				t.Errorf("the customer does not read its own instance: %v", own)
			}
			rpcResult(t, srv.RPC(t, key, summary(7, seedStart, seedEnd)))
			rpcResult(t, srv.RPC(t, key, rpcCall("user_prices", 7)))
			for path, want := range map[string]int{
				"/api/v1/users/7/utilization?from=" + seedStart + "&to=" + seedEnd: 200,
				"/api/v1/resources/9002": 200,
				"/api/v1/anomalies":      200,
				"/api/v1/users/1/utilization?from=" + seedStart + "&to=" + seedEnd: 403,
				"/api/v1/resources/2416": 404, // another user's product is answered as a missing one
				"/api/v1/prices":         403,
				"/api/v1/keys":           403,
			} {
				if r := srv.Do(t, "GET", path, key, "", nil); r.Status != want {
					t.Errorf("GET %s: %d, want %d: %s", path, r.Status, want, r.Body)
				}
			}
			if r := srv.Do(t, "POST", "/api/v1/events", key, e2etest.CTBatch, []byte(santaClaraInstance)); r.Status != 403 {
				t.Errorf("POST events: %d, want 403", r.Status)
			}
			if r := srv.Do(t, "PUT", "/api/v1/prices", key, "application/json", demo.SeedPrices); r.Status != 403 {
				t.Errorf("PUT prices: %d, want 403", r.Status)
			}
			for _, call := range []string{detailed(1, seedStart, seedEnd), rpcCall("user_prices", 1)} {
				if code, msg := rpcError(t, srv.RPC(t, key, call)); code != 71 {
					t.Errorf("%s: %d %q, want 71", call, code, msg)
				}
			}
		})
	}
}

// TestReportExportsAddUpWithInstallments: with a reservation whose first installment
// falls in the window, the CSV export has an installment line and the JSON export an
// installments_cost, and each still adds up to the table's total, which includes it.
func TestReportExportsAddUpWithInstallments(t *testing.T) {
	e2etest.OnEachEngine(t, testReportExportsAddUpWithInstallments)
}

func testReportExportsAddUpWithInstallments(t *testing.T, eng e2etest.Engine) {
	srv := e2etest.StartServer(t, eng)
	srv.LoadSeed(t)
	srv.PostEvents(t, []byte(wanTraffic))
	r := srv.Do(t, "POST", "/api/v1/reservations", srv.AdminKey, "application/json",
		[]byte(`{"user_id": 1, "server_type_id": 12, "datacenter": "uk-reading", "price": "100.00", "start": "2016-02-01T00:00:00Z", "cycle_months": 1}`))
	if r.Status != 201 {
		t.Fatalf("reservation: %d %s", r.Status, r.Body)
	}
	const total = "110.70663243" // 10.70663243 of usage and traffic, and one installment of 100.00

	code, table, stderr := cliRun(reportArgs(srv, "table")...)
	if code != 0 || !strings.Contains(table, "TOTAL "+total+" GBP over 4 records and 4 traffic records, 1 reservation installments") {
		t.Fatalf("table: exit %d %s\n%s", code, stderr, table)
	}

	code, out, stderr := cliRun(reportArgs(srv, "csv")...)
	if code != 0 {
		t.Fatalf("csv: exit %d: %s", code, stderr)
	}
	col, kinds, sum, last := csvLines(t, out)
	if kinds["usage"] != 4 || kinds["traffic"] != 4 || kinds["installment"] != 1 {
		t.Errorf("csv lines %v, want the table's 4 usage, 4 traffic and 1 installment lines", kinds)
	}
	if last[col["cost"]] != total || sum.String() != total ||
		!strings.Contains(last[col["label"]], "sum of the cost of the 4 usage, 4 traffic and 1 installment lines above") {
		t.Errorf("csv: lines sum to %s, total line %v; want both %s", sum, last, total)
	}

	code, out, stderr = cliRun(reportArgs(srv, "json")...)
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr)
	}
	var rep struct {
		Installments struct {
			ServerTypes []struct {
				Cost string `json:"cost"`
			} `json:"server_types"`
		} `json:"reservation_installments"`
		Totals struct {
			UsageCost        string `json:"usage_cost"`
			TrafficCost      string `json:"traffic_cost"`
			Installments     int    `json:"installments"`
			InstallmentsCost string `json:"installments_cost"`
			TotalCost        string `json:"total_cost"`
			AddsUp           string `json:"adds_up"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	tt := rep.Totals
	var parts money.Amount
	for _, s := range []string{tt.UsageCost, tt.TrafficCost, tt.InstallmentsCost} {
		a, err := money.ParseAmount(s)
		if err != nil {
			t.Fatalf("json totals %+v: %v", tt, err)
		}
		parts, _ = parts.Add(a)
	}
	if len(rep.Installments.ServerTypes) != 1 || rep.Installments.ServerTypes[0].Cost != tt.InstallmentsCost || tt.Installments != 1 ||
		tt.InstallmentsCost != "100.00000000" || parts.String() != total || tt.TotalCost != total || !strings.Contains(tt.AddsUp, "installments_cost") {
		t.Errorf("json: installments %+v, totals %+v (parts sum to %s); want one installment of 100.00000000 and parts adding up to %s",
			rep.Installments, tt, parts, total)
	}
}

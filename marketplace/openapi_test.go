package marketplace

// The OpenAPI document (openapi.yaml) is held to the code: the routes it describes are
// the routes Handler serves (TestOpenAPIRoutes), and the answers pinned by the end-to-end
// golden files, and the document's own examples, validate against the schemas it gives
// for them (TestOpenAPIDescribesAnswers, TestOpenAPIExamples).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type document struct {
	root map[string]any
	ops  map[string]map[string]any // "GET /v1/..." -> operation
}

func loadDocument(t *testing.T) *document {
	t.Helper()
	var raw any
	if err := yaml.Unmarshal(OpenAPI, &raw); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	root, ok := normalizeYAML(raw).(map[string]any)
	if !ok {
		t.Fatal("openapi.yaml is not a mapping")
	}
	d := &document{root: root, ops: map[string]map[string]any{}}
	servers, _ := root["servers"].([]any)
	if len(servers) == 0 {
		t.Fatal("openapi.yaml: no servers")
	}
	base := strings.TrimPrefix(servers[0].(map[string]any)["url"].(string), "http://127.0.0.1:8080")
	if base != "" {
		t.Fatalf("the server URL ends in %q, want none (the paths hold /v1, as Vercel's SDK has them)", base)
	}
	for path, item := range root["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			d.ops[strings.ToUpper(method)+" "+base+path] = op.(map[string]any)
		}
	}
	return d
}

// normalizeYAML turns YAML's maps into map[string]any and its numbers into json.Number,
// as a JSON decoder with UseNumber gives them.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
		return x
	case int:
		return json.Number(strconv.Itoa(x))
	case float64:
		return json.Number(strconv.FormatFloat(x, 'f', -1, 64))
	}
	return v
}

func (d *document) resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = d.root
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[p]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

func TestOpenAPIRoutes(t *testing.T) {
	d := loadDocument(t)
	if v, _ := d.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	var documented []string
	ids := map[string]string{}
	for key, op := range d.ops {
		documented = append(documented, key)
		id, _ := op["operationId"].(string)
		if id == "" || ids[id] != "" {
			t.Errorf("%s: operationId %q missing or used twice", key, id)
		}
		ids[id] = key
		for code, r := range op["responses"].(map[string]any) {
			if desc, _ := d.resolve(r)["description"].(string); desc == "" {
				t.Errorf("%s %s: a response needs a description", key, code)
			}
		}
		declared := map[string]bool{}
		ps, _ := op["parameters"].([]any)
		for _, p := range ps {
			pm := d.resolve(p)
			if pm["in"] == "path" {
				declared[pm["name"].(string)] = pm["required"] == true
			}
		}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(key, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared as required", key, m[1])
			}
		}
	}
	served := Routes()
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("openapi.yaml describes\n  %s\nHandler serves\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}
}

// goldenOps names the operation and status of each golden answer of the e2e tests.
var goldenOps = map[string]string{
	"sdk_001_billing_object":                "POST /v1/installations/{id}/billing 201",
	"sdk_002_billing_array":                 "POST /v1/installations/{id}/billing 201",
	"sdk_003_invoice_submit":                "POST /v1/installations/{id}/billing/invoices 200",
	"sdk_004_invoice_get":                   "GET /v1/installations/{id}/billing/invoices/{invoiceId} 200",
	"sdk_invoice_refunded":                  "GET /v1/installations/{id}/billing/invoices/{invoiceId} 200",
	"sdk_006_balance":                       "POST /v1/installations/{id}/billing/balance 201",
	"sdk_007_resource":                      "PATCH /v1/installations/{id}/resources/{resourceId} 200",
	"error_401_no_token":                    "POST /v1/installations/{id}/billing 401",
	"error_401_unknown_token":               "POST /v1/installations/{id}/billing 401",
	"error_401_api_key":                     "POST /v1/installations/{id}/billing 401",
	"error_403_other_installation":          "POST /v1/installations/{id}/billing 403",
	"error_404_unknown_installation":        "POST /v1/installations/{id}/billing 404",
	"error_410_uninstalled":                 "POST /v1/installations/{id}/billing 410",
	"error_410_uninstalled_finalize":        "POST /v1/installations/{id}/billing/finalize 410",
	"error_404_id_not_text":                 "POST /v1/installations/{id}/billing 404",
	"error_404_invoice_id_not_text":         "GET /v1/installations/{id}/billing/invoices/{invoiceId} 404",
	"error_404_route":                       "",
	"error_405_method":                      "",
	"error_400_malformed_amount":            "POST /v1/installations/{id}/billing 400",
	"error_400_negative_quantity":           "POST /v1/installations/{id}/billing 400",
	"error_400_null_number":                 "POST /v1/installations/{id}/billing 400",
	"error_400_period_backwards":            "POST /v1/installations/{id}/billing 400",
	"error_400_eod_outside_period":          "POST /v1/installations/{id}/billing 400",
	"error_400_period_end_old":              "POST /v1/installations/{id}/billing 400",
	"error_400_eod_old":                     "POST /v1/installations/{id}/billing 400",
	"error_400_empty_body":                  "POST /v1/installations/{id}/billing 400",
	"error_400_balance_empty_body":          "POST /v1/installations/{id}/billing/balance 400",
	"error_409_external_id":                 "POST /v1/installations/{id}/billing/invoices 409",
	"error_400_invoice_date":                "POST /v1/installations/{id}/billing/invoices 400",
	"error_404_invoice":                     "GET /v1/installations/{id}/billing/invoices/{invoiceId} 404",
	"error_404_other_installations_invoice": "GET /v1/installations/{id}/billing/invoices/{invoiceId} 404",
	"error_409_refund_not_paid":             "POST /v1/installations/{id}/billing/invoices/{invoiceId}/actions 409",
	"error_400_refund_negative":             "POST /v1/installations/{id}/billing/invoices/{invoiceId}/actions 400",
	"error_400_refund_past_total":           "POST /v1/installations/{id}/billing/invoices/{invoiceId}/actions 400",
	"error_400_resource_status":             "PATCH /v1/installations/{id}/resources/{resourceId} 400",
	"error_413_body":                        "POST /v1/installations/{id}/billing 413",
	// not answers of this API: native ones (described in httpapi/openapi.yaml) and the
	// command line's
	"native_billing":         "-",
	"native_partner_charges": "-",
	"cli_show":               "-",
}

// TestOpenAPIDescribesAnswers validates every golden answer of the end-to-end tests
// against the schema the document gives for its operation and status.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	d := loadDocument(t)
	files, err := filepath.Glob(filepath.Join("..", "e2e", "testdata", "marketplace", "*.golden"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden answers: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".golden")
		t.Run(name, func(t *testing.T) {
			opStatus, ok := goldenOps[name]
			if !ok {
				t.Fatalf("golden answer %s: add its operation to goldenOps", name)
			}
			if opStatus == "-" {
				t.Skip("not an answer of this API")
			}
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var schema any = map[string]any{"$ref": "#/components/schemas/Error"} // a path no route matches
			if opStatus != "" {
				i := strings.LastIndex(opStatus, " ")
				op, ok := d.ops[opStatus[:i]]
				if !ok {
					t.Fatalf("%s is not in openapi.yaml", opStatus[:i])
				}
				r, ok := op["responses"].(map[string]any)[opStatus[i+1:]]
				if !ok {
					t.Fatalf("%s does not list the status %s", opStatus[:i], opStatus[i+1:])
				}
				schema = d.resolve(r)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if errs := d.validate(schema, v, "$"); len(errs) > 0 {
				t.Errorf("the answer does not match the documented schema:\n  %s", strings.Join(errs, "\n  "))
			}
		})
	}
}

// TestOpenAPIExamples validates every example of a response against its schema.
func TestOpenAPIExamples(t *testing.T) {
	d := loadDocument(t)
	n := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ex, ok := x["example"]; ok && x["schema"] != nil {
				n++
				if errs := d.validate(x["schema"], ex, at+".example"); len(errs) > 0 {
					t.Errorf("%s", strings.Join(errs, "\n"))
				}
			}
			for k, e := range x {
				walk(e, at+"."+k)
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	walk(d.root, "$")
	if n < 5 {
		t.Errorf("only %d examples found", n)
	}
}

// validate checks v against a schema of the subset of JSON Schema the document uses.
func (d *document) validate(schema any, v any, at string) []string {
	s := d.resolve(schema)
	if s == nil {
		return []string{at + ": no schema"}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if c, ok := s["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		fail("%v, want the constant %v", v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
		fail("%v is not one of %v", v, e)
	}
	var types []string
	switch ty := s["type"].(type) {
	case string:
		types = []string{ty}
	case []any:
		for _, x := range ty {
			types = append(types, x.(string))
		}
	}
	if len(types) > 0 && !slices.ContainsFunc(types, func(ty string) bool { return hasType(v, ty) }) {
		fail("%v (%T) is not of type %v", v, v, types)
		return errs
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				fail("%s is required", r)
			}
		}
		for k, e := range x {
			ps, ok := props[k]
			if !ok {
				if s["additionalProperties"] == false {
					fail("%s is not a documented member", k)
				}
				continue
			}
			errs = append(errs, d.validate(ps, e, at+"."+k)...)
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, e := range x {
				errs = append(errs, d.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func hasType(v any, ty string) bool {
	switch ty {
	case "null":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		n, ok := v.(json.Number)
		_, isRat := new(big.Rat).SetString(string(n))
		return ok && isRat
	case "integer":
		n, ok := v.(json.Number)
		return ok && !strings.ContainsAny(string(n), ".eE")
	}
	return false
}

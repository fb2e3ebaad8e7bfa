// Package openapitest holds an API surface's OpenAPI 3.1 document to the code that serves
// it: the routes it describes against the routes served, every golden answer of the
// end-to-end tests against the schema it gives for that answer's operation and status,
// and its own examples against their schemas. It validates the subset of JSON Schema the
// documents use (type, const, enum, pattern, properties, required, additionalProperties,
// items, $ref). The surfaces with a document of their own (hyperstack, marketplace) call
// it from their tests.
package openapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
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

// Document is a parsed OpenAPI document.
type Document struct {
	Root map[string]any
	// Ops maps "METHOD /path" (the server URL's path, then the document's path) to the
	// operation.
	Ops map[string]map[string]any
}

// Load parses spec, an OpenAPI document whose first server's URL path is base ("" for
// none).
func Load(t testing.TB, spec []byte, base string) *Document {
	t.Helper()
	var raw any
	if err := yaml.Unmarshal(spec, &raw); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	root, ok := normalizeYAML(raw).(map[string]any)
	if !ok {
		t.Fatal("openapi.yaml is not a mapping")
	}
	d := &Document{Root: root, Ops: map[string]map[string]any{}}
	servers, _ := root["servers"].([]any)
	if len(servers) == 0 {
		t.Fatal("openapi.yaml: no servers")
	}
	u, err := url.Parse(servers[0].(map[string]any)["url"].(string))
	if err != nil {
		t.Fatalf("openapi.yaml: the server URL: %v", err)
	}
	if got := strings.TrimSuffix(u.Path, "/"); got != base {
		t.Fatalf("the server URL's path is %q, want %q (as the API's clients have it)", got, base)
	}
	for path, item := range root["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			d.Ops[strings.ToUpper(method)+" "+base+path] = op.(map[string]any)
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

// Resolve follows v's $ref, if any, to the object it names.
func (d *Document) Resolve(v any) map[string]any {
	m, _ := v.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = d.Root
		for _, p := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[p]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

// CheckRoutes checks that the document is OpenAPI 3.1, that each operation has a unique
// operationId, described responses and its path parameters declared as required, and
// that it describes exactly the routes served ("METHOD /path" patterns).
func (d *Document) CheckRoutes(t *testing.T, served []string) {
	t.Helper()
	if v, _ := d.Root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	var documented []string
	ids := map[string]string{}
	for key, op := range d.Ops {
		documented = append(documented, key)
		id, _ := op["operationId"].(string)
		if id == "" || ids[id] != "" {
			t.Errorf("%s: operationId %q missing or used twice", key, id)
		}
		ids[id] = key
		for code, r := range op["responses"].(map[string]any) {
			if desc, _ := d.Resolve(r)["description"].(string); desc == "" {
				t.Errorf("%s %s: a response needs a description", key, code)
			}
		}
		declared := map[string]bool{}
		ps, _ := op["parameters"].([]any)
		for _, p := range ps {
			pm := d.Resolve(p)
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
	served = slices.Clone(served)
	sort.Strings(documented)
	sort.Strings(served)
	if !slices.Equal(documented, served) {
		t.Errorf("openapi.yaml describes\n  %s\nHandler serves\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}
}

// CheckGoldenAnswers validates each golden answer (*.golden in dir) against the schema
// the document gives for its operation and status in ops: "METHOD /path STATUS"; "" for
// an answer to a path no route matches (validated as the Error schema); "-" for a file
// that is not an answer of this API (skipped). A golden file missing from ops fails.
func (d *Document) CheckGoldenAnswers(t *testing.T, dir string, ops map[string]string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.golden"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden answers in %s: %v", dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".golden")
		t.Run(name, func(t *testing.T) {
			opStatus, ok := ops[name]
			if !ok {
				t.Fatalf("golden answer %s: add its operation and status", name)
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
				op, ok := d.Ops[opStatus[:i]]
				if !ok {
					t.Fatalf("%s is not in openapi.yaml", opStatus[:i])
				}
				r, ok := op["responses"].(map[string]any)[opStatus[i+1:]]
				if !ok {
					t.Fatalf("%s does not list the status %s", opStatus[:i], opStatus[i+1:])
				}
				schema = d.Resolve(r)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if errs := d.Validate(schema, v, "$"); len(errs) > 0 {
				t.Errorf("the answer does not match the documented schema:\n  %s", strings.Join(errs, "\n  "))
			}
		})
	}
}

// CheckExamples validates every example of the document against its schema; it fails
// when the document has fewer than five.
func (d *Document) CheckExamples(t *testing.T) {
	t.Helper()
	n := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ex, ok := x["example"]; ok && x["schema"] != nil {
				n++
				if errs := d.Validate(x["schema"], ex, at+".example"); len(errs) > 0 {
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
	walk(d.Root, "$")
	if n < 5 {
		t.Errorf("only %d examples found", n)
	}
}

// Validate checks v against a schema of the subset of JSON Schema the document uses.
func (d *Document) Validate(schema any, v any, at string) []string {
	s := d.Resolve(schema)
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
			errs = append(errs, d.Validate(ps, e, at+"."+k)...)
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, e := range x {
				errs = append(errs, d.Validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
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

package httpapi_test

// The OpenAPI document (openapi.yaml) is held to the code three ways:
//
//  1. TestOpenAPIRoutes: the set of (method, path) the document describes equals the set
//     of routes of the assembled router (server.NewRouter: every surface's route table),
//     confirmed at run time: a request for each documented operation reaches its own
//     route. A route added without its description, or described but not served, fails.
//  2. TestOpenAPIExercise: every documented operation is called on a real server
//     (server.NewRouter over a real store: SQLite in a temporary directory, then a fresh
//     database on a real PostgreSQL server from package pgtest); each answer's status
//     must be one the document lists for the operation, and its body must validate against
//     the documented schema. On each engine, every documented status (but 500 and 503,
//     which need a broken database) and every MetalSoft error code (but -32603 and
//     -32000, the same) must be seen at least once. server/dbgone_test.go covers the 503s
//     and -32000 with a database that goes away.
//  3. TestOpenAPIExamples: every example in the document validates against its schema.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gopkg.in/yaml.v3"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/dashboard"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/httpapi"
	"github.com/cloudmeter/cloudmeter/hyperstack"
	"github.com/cloudmeter/cloudmeter/internal/e2etest"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/marketplace"
	"github.com/cloudmeter/cloudmeter/metalsoft"
	"github.com/cloudmeter/cloudmeter/server"
	"github.com/cloudmeter/cloudmeter/service"
)

// TestMain stops the PostgreSQL server pgtest started, if any, when the tests end.
func TestMain(m *testing.M) { pgtest.Main(m) }

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// ---------------------------------------------------------------------------------------
// The document.

type openAPI struct {
	root map[string]any
	// ops maps "METHOD /path" to the operation object.
	ops map[string]map[string]any
}

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	var raw any
	if err := yaml.Unmarshal(httpapi.OpenAPI, &raw); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	root, ok := normalize(raw).(map[string]any)
	if !ok {
		t.Fatalf("openapi.yaml: the document is not a mapping")
	}
	d := &openAPI{root: root, ops: map[string]map[string]any{}}
	paths, _ := root["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatalf("openapi.yaml: no paths")
	}
	for p, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range httpMethods {
			if op, ok := item[m].(map[string]any); ok {
				d.ops[strings.ToUpper(m)+" "+p] = op
			}
		}
	}
	return d
}

// normalize turns YAML mappings with non-string keys (such as 200:) into
// map[string]any, so the document looks like decoded JSON.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	}
	return v
}

// resolve follows a local $ref ("#/components/...") until it reaches an object.
func (d *openAPI) resolve(v any) (map[string]any, error) {
	for range 20 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object: %v", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		target, err := d.pointer(ref)
		if err != nil {
			return nil, err
		}
		v = target
	}
	return nil, fmt.Errorf("$ref chain too long")
}

func (d *openAPI) pointer(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q: only local references are used", ref)
	}
	var cur any = d.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: %q not found", ref, part)
		}
	}
	return cur, nil
}

// response returns the documented response of op for status, or nil.
func (d *openAPI) response(t *testing.T, op map[string]any, status int) map[string]any {
	t.Helper()
	rs, _ := op["responses"].(map[string]any)
	r, ok := rs[strconv.Itoa(status)]
	if !ok {
		return nil
	}
	m, err := d.resolve(r)
	if err != nil {
		t.Fatalf("response %d: %v", status, err)
	}
	return m
}

// ---------------------------------------------------------------------------------------
// A small JSON Schema (2020-12, as OpenAPI 3.1 uses it) validator. It knows the keywords
// the document uses and refuses any other, so that no rule is silently ignored.

var annotations = map[string]bool{
	"description": true, "example": true, "examples": true, "format": true, "title": true,
	"default": true, "deprecated": true, "readOnly": true, "writeOnly": true, "summary": true,
}

func (d *openAPI) validate(schema any, v any, at string) []string {
	if b, ok := schema.(bool); ok {
		if !b {
			return []string{at + ": no value is allowed here"}
		}
		return nil
	}
	s, ok := schema.(map[string]any)
	if !ok {
		return []string{at + ": the schema is not an object"}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	for k := range s {
		switch k {
		case "$ref", "type", "const", "enum", "properties", "required", "additionalProperties", "items",
			"minItems", "maxItems", "oneOf", "anyOf", "allOf", "pattern", "minLength", "maxLength", "minimum", "maximum":
		default:
			if !annotations[k] && !strings.HasPrefix(k, "x-") {
				fail("schema keyword %q is not known to the test's validator: teach it", k)
			}
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		target, err := d.pointer(ref)
		if err != nil {
			fail("%v", err)
			return errs
		}
		errs = append(errs, d.validate(target, v, at)...)
	}
	if ts, ok := s["type"]; ok {
		var types []string
		switch x := ts.(type) {
		case string:
			types = []string{x}
		case []any:
			for _, e := range x {
				types = append(types, fmt.Sprint(e))
			}
		}
		if !slices.ContainsFunc(types, func(typ string) bool { return hasType(v, typ) }) {
			fail("want type %s, got %s", strings.Join(types, " or "), describe(v))
			return errs
		}
	}
	if c, ok := s["const"]; ok && !jsonEqual(c, v) {
		fail("want %v, got %s", c, describe(v))
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(c any) bool { return jsonEqual(c, v) }) {
		fail("%s is not one of %v", describe(v), e)
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[fmt.Sprint(r)]; !ok {
					fail("required property %q is missing", r)
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				errs = append(errs, d.validate(ps, x[k], at+"."+k)...)
			} else if ap, ok := s["additionalProperties"]; ok {
				if b, isBool := ap.(bool); isBool && !b {
					fail("property %q is not documented", k)
				} else if !isBool {
					errs = append(errs, d.validate(ap, x[k], at+"."+k)...)
				}
			}
		}
	case []any:
		if n, ok := number(s["minItems"]); ok && big.NewRat(int64(len(x)), 1).Cmp(n) < 0 {
			fail("%d items, want at least %v", len(x), n)
		}
		if n, ok := number(s["maxItems"]); ok && big.NewRat(int64(len(x)), 1).Cmp(n) > 0 {
			fail("%d items, want at most %v", len(x), n)
		}
		if is, ok := s["items"]; ok {
			for i, e := range x {
				errs = append(errs, d.validate(is, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case string:
		if p, ok := s["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				fail("pattern %q: %v", p, err)
			} else if !re.MatchString(x) {
				fail("%q does not match %s", x, p)
			}
		}
		if n, ok := number(s["minLength"]); ok && big.NewRat(int64(len([]rune(x))), 1).Cmp(n) < 0 {
			fail("%q is shorter than %v", x, n)
		}
		if n, ok := number(s["maxLength"]); ok && big.NewRat(int64(len([]rune(x))), 1).Cmp(n) > 0 {
			fail("%q is longer than %v", x, n)
		}
	}
	if n, ok := number(v); ok {
		if lo, ok := number(s["minimum"]); ok && n.Cmp(lo) < 0 {
			fail("%v is below the minimum %v", n.RatString(), lo.RatString())
		}
		if hi, ok := number(s["maximum"]); ok && n.Cmp(hi) > 0 {
			fail("%v is above the maximum %v", n.RatString(), hi.RatString())
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, d.validate(sub, v, at)...)
		}
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		var sub []string
		matched := false
		for _, alt := range anyOf {
			e := d.validate(alt, v, at)
			matched = matched || len(e) == 0
			sub = append(sub, e...)
		}
		if !matched {
			fail("matches none of anyOf: %s", strings.Join(sub, "; "))
		}
	}
	if oneOf, ok := s["oneOf"].([]any); ok {
		var sub []string
		n := 0
		for _, alt := range oneOf {
			e := d.validate(alt, v, at)
			if len(e) == 0 {
				n++
			}
			sub = append(sub, e...)
		}
		if n != 1 {
			fail("matches %d of oneOf, want exactly 1: %s", n, strings.Join(sub, "; "))
		}
	}
	return errs
}

// number returns v as an exact rational when it is a JSON or YAML number.
func number(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		return r, ok
	case int:
		return big.NewRat(int64(x), 1), true
	case int64:
		return big.NewRat(x, 1), true
	case uint64:
		return new(big.Rat).SetFrac(new(big.Int).SetUint64(x), big.NewInt(1)), true
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(x) == nil {
			return nil, false
		}
		return r, true
	}
	return nil, false
}

func hasType(v any, typ string) bool {
	switch typ {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := number(v)
		return ok
	case "integer":
		n, ok := number(v)
		return ok && n.IsInt()
	}
	return false
}

func jsonEqual(a, b any) bool {
	na, aok := number(a)
	nb, bok := number(b)
	if aok || bok {
		return aok && bok && na.Cmp(nb) == 0
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !jsonEqual(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 200 {
		return fmt.Sprintf("%T", v)
	}
	return string(b)
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// ---------------------------------------------------------------------------------------
// splitPattern splits a ServeMux pattern into its method ("" for any) and path, with
// {name...} wildcards written as OpenAPI's {name}.
func splitPattern(p string) (method, path string) {
	if i := strings.IndexByte(p, ' '); i >= 0 {
		method, p = p[:i], strings.TrimSpace(p[i+1:])
	}
	return method, strings.ReplaceAll(p, "...}", "}")
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// sampleURL fills the path parameters of a documented path with their examples.
func (d *openAPI) sampleURL(t *testing.T, op map[string]any, path string) string {
	t.Helper()
	params := map[string]string{}
	ps, _ := op["parameters"].([]any)
	for _, p := range ps {
		pm, err := d.resolve(p)
		if err != nil {
			t.Fatal(err)
		}
		if pm["in"] == "path" {
			params[fmt.Sprint(pm["name"])] = fmt.Sprint(pm["example"])
		}
	}
	return pathParam.ReplaceAllStringFunc(path, func(m string) string {
		v, ok := params[m[1:len(m)-1]]
		if !ok || v == "<nil>" {
			t.Errorf("%s: path parameter %s has no parameter with an example", path, m)
			return "1"
		}
		return v
	})
}

func TestOpenAPIRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	if v, _ := d.root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: %q, want 3.1.x", v)
	}
	bearer, err := d.resolve(d.root["components"].(map[string]any)["securitySchemes"].(map[string]any)["bearer"])
	if err != nil || bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("components.securitySchemes.bearer must be {type: http, scheme: bearer}, got %v (%v)", bearer, err)
	}

	documented := map[string]bool{}
	documentedPaths := map[string]bool{}
	opIDs := map[string]string{}
	for key, op := range d.ops {
		documented[key] = true
		_, path := splitPattern(key)
		documentedPaths[path] = true
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", key)
		} else if other, dup := opIDs[id]; dup {
			t.Errorf("%s: operationId %s is also used by %s", key, id, other)
		}
		opIDs[id] = key
		rs, _ := op["responses"].(map[string]any)
		if len(rs) == 0 {
			t.Errorf("%s: no responses", key)
		}
		for code, r := range rs {
			rm, err := d.resolve(r)
			if err != nil {
				t.Errorf("%s %s: %v", key, code, err)
			} else if s, _ := rm["description"].(string); s == "" {
				t.Errorf("%s %s: a response needs a description", key, code)
			}
		}
		// Every {param} of the path is declared, required, in: path.
		declared := map[string]bool{}
		ps, _ := op["parameters"].([]any)
		for _, p := range ps {
			pm, err := d.resolve(p)
			if err != nil {
				t.Errorf("%s: %v", key, err)
				continue
			}
			if pm["in"] == "path" {
				declared[fmt.Sprint(pm["name"])] = true
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v must be required", key, pm["name"])
				}
			}
		}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", key, m[1])
			}
		}
	}

	e := newEnv(t, "sqlite") // routing does not depend on the engine
	registered := map[string]bool{}
	for _, p := range e.router.Routes() {
		if slices.Contains(hyperstack.Routes(), p) || slices.Contains(marketplace.Routes(), p) {
			continue // described in hyperstack/ and marketplace/openapi.yaml, and checked against them there
		}
		if slices.Contains(dashboard.Routes(), p) {
			continue // the web dashboard's pages: HTML, no API (docs/dashboard.md)
		}
		if method, _ := splitPattern(p); method == "" {
			t.Errorf("the router serves %q for every method: a route names its method", p)
		}
		registered[p] = true
	}
	for key := range registered {
		if !documented[key] {
			t.Errorf("route %q is served by the router but not described in httpapi/openapi.yaml", key)
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("openapi.yaml describes %q, which the router does not serve", key)
		}
	}

	// At run time, every documented operation reaches its own route: the surface records
	// the route it matched for the access log. The requests carry no key, so the API
	// answers them without doing anything.
	for key, op := range d.ops {
		method, path := splitPattern(key)
		ctx, info := reqinfo.New(context.Background())
		req := httptest.NewRequestWithContext(ctx, method, d.sampleURL(t, op, path), strings.NewReader("{}"))
		e.handler.ServeHTTP(httptest.NewRecorder(), req)
		if got := info.Route(); got != key {
			t.Errorf("%s: a request for %s %s is routed to %q", key, method, req.URL.Path, got)
		}
	}
}

// ---------------------------------------------------------------------------------------
// The live server.

type env struct {
	handler  http.Handler
	router   *server.Router
	srv      *httptest.Server
	svc      *service.Service
	keys     map[string]string
	notReady atomic.Bool
	vars     map[string]string
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Limits of the test server: small, so that 413 is cheap to provoke.
const (
	testMaxBody   = 256 << 10
	testMaxEvents = 100
)

// newEnv starts a live server on the engine eng: "sqlite" (in a temporary directory) or
// "postgres" (a fresh database from pgtest, which skips the test when no PostgreSQL
// server can be had).
func newEnv(t *testing.T, eng string) *env {
	t.Helper()
	ctx := context.Background()
	dbURL := e2etest.DatabaseURL(t, e2etest.Engine(eng))
	st, err := storeopen.Open(ctx, t.TempDir(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{svc: service.New(st, service.Options{}), keys: map[string]string{}, vars: map[string]string{}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudmeter_test_total", Help: "A counter."}))
	e.router = server.NewRouter(server.Surfaces{
		Service: e.svc,
		Logger:  slog.New(slog.NewTextHandler(logWriter{t}, nil)),
		Limits:  httpapi.Limits{MaxBodyBytes: testMaxBody, MaxBatchEvents: testMaxEvents},
		Ready: func(ctx context.Context) error {
			if e.notReady.Load() {
				return cloudmeter.Errorf(cloudmeter.KindUnavailable, "the database is not reachable")
			}
			return st.Ping(ctx)
		},
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	})
	e.handler = e.router
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(e.srv.Close)
	for name, k := range map[string]struct {
		user  int64
		perms []cloudmeter.Permission
	}{
		"admin":    {1, []cloudmeter.Permission{cloudmeter.PermAdmin}},
		"writer":   {50, []cloudmeter.Permission{cloudmeter.PermEventsWrite}},
		"reader":   {2, []cloudmeter.Permission{cloudmeter.PermUtilizationReportsRead, cloudmeter.PermPricesRead}},
		"stranger": {3, []cloudmeter.Permission{cloudmeter.PermPricesRead}},
	} {
		plain, _, err := e.svc.CreateKey(ctx, service.SystemKey, k.user, k.perms, name)
		if err != nil {
			t.Fatal(err)
		}
		e.keys[name] = plain
	}
	return e
}

// tcase is one request against the live server.
type tcase struct {
	name string
	op   string // the documented operation; "" for a request no route matches
	url  string // default: the op's path; $NAME is replaced by vars[NAME]
	key  string // a key of env.keys, "bogus", "raw:<header value>", or "" for none
	// ctype is the Content-Type; "" sends none.
	ctype string
	body  string
	// status is the status the case expects.
	status int
	// rpcCode is, for the JSON-RPC endpoint, the error code expected; 0 expects results.
	rpcCode int
	// checkRequest validates the request body against the documented request schema.
	checkRequest bool
	before       func(e *env)
	check        func(t *testing.T, e *env, body []byte)
}

func event(id, typ, time, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test/openapi","type":%q,"time":%q,"data":%s}`, id, typ, time, data)
}

func rpc(id, method, params string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`, id, method, params)
}

// seedRequest is the request of MetalSoft's documentation, byte for byte.
const seedRequest = `{"id":null, "jsonrpc": 2.0, "method": "resource_utilization_detailed", "params": [1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"]}`

func cases() []tcase {
	const (
		events    = "POST /api/v1/events"
		getPrices = "GET /api/v1/prices"
		putPrices = "PUT /api/v1/prices"
		anomalies = "GET /api/v1/anomalies"
		resource  = "GET /api/v1/resources/{product_id}"
		traffic   = "GET /api/v1/resources/{product_id}/traffic"
		util      = "GET /api/v1/users/{user_id}/utilization"
		getKeys   = "GET /api/v1/keys"
		postKey   = "POST /api/v1/keys"
		delKey    = "DELETE /api/v1/keys/{id}"
		getOrg    = "GET /api/v1/users/{user_id}/organization"
		putOrg    = "PUT /api/v1/users/{user_id}/organization"
		getCredit = "GET /api/v1/organizations/{organization_id}/credit"
		topUp     = "POST /api/v1/organizations/{organization_id}/credit"
		settings  = "PUT /api/v1/organizations/{organization_id}/credit/settings"
		rpcOp     = "POST /api/developer/developer"
	)
	tooBig := "[" + strings.Repeat(" ", testMaxBody) + "]"
	var many []string
	for i := range testMaxEvents + 1 {
		many = append(many, event(fmt.Sprintf("many-%d", i), "cloudmeter.resource.deleted", "2016-03-01T00:00:00Z", `{"product_id":1}`))
	}
	hddDrive := event("op-9001-p", "cloudmeter.resource.provisioned", "2024-03-01T00:00:00Z",
		`{"product_id":9001,"resource_type":"drive","user_id":1,"infrastructure_id":3668,"infrastructure_label":"d-lake",`+
			`"datacenter":"uk-reading","label":"drive-9001","subdomain":"drive-9001.d-lake","attributes":{"drive_size_mbytes":10240,"storage_type":"iscsi_hdd"}}`)
	stopSubnet := event("op-6378-s", "cloudmeter.resource.stopped", "2016-02-02T00:00:00Z", `{"product_id":6378}`)
	window := `[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]`

	return append([]tcase{
		// Operations endpoints.
		{name: "healthz", op: "GET /healthz", status: 200},
		{name: "readyz", op: "GET /readyz", status: 200},
		{name: "readyz not ready", op: "GET /readyz", status: 503,
			before: func(e *env) { e.notReady.Store(true) }},
		{name: "readyz again", op: "GET /readyz", status: 200,
			before: func(e *env) { e.notReady.Store(false) }},
		{name: "metrics", op: "GET /metrics", status: 200},
		{name: "openapi", op: "GET /openapi.yaml", status: 200, check: func(t *testing.T, e *env, body []byte) {
			if !bytes.Equal(body, httpapi.OpenAPI) {
				t.Error("GET /openapi.yaml does not serve the embedded document")
			}
		}},
		{name: "openapi-hyperstack", op: "GET /openapi-hyperstack.yaml", status: 200, check: func(t *testing.T, e *env, body []byte) {
			if !bytes.Equal(body, hyperstack.OpenAPI) {
				t.Error("GET /openapi-hyperstack.yaml does not serve the embedded document of package hyperstack")
			}
		}},

		// The price book.
		{name: "prices before any", op: getPrices, key: "admin", status: 404},
		{name: "prices no key", op: getPrices, status: 401},
		{name: "prices no permission", op: getPrices, key: "writer", status: 403},
		{name: "put prices invalid", op: putPrices, key: "admin", ctype: "application/json", status: 400,
			body: `{"currency":"gbp","entries":[{"resource_type":"instance","price":"0.31","unit":"gib","period_seconds":3600}]}`},
		{name: "put prices not JSON", op: putPrices, key: "admin", ctype: "application/json", body: `{"currency":`, status: 400},
		{name: "put prices no key", op: putPrices, ctype: "application/json", body: string(demo.SeedPrices), status: 401},
		{name: "put prices bad key", op: putPrices, key: "bogus", ctype: "application/json", body: string(demo.SeedPrices), status: 401},
		{name: "put prices no permission", op: putPrices, key: "reader", ctype: "application/json", body: string(demo.SeedPrices), status: 403},
		{name: "put prices too large", op: putPrices, key: "admin", ctype: "application/json", body: tooBig, status: 413},
		{name: "put prices seed", op: putPrices, key: "admin", ctype: "application/json", body: string(demo.SeedPrices), status: 200,
			checkRequest: true},
		{name: "get prices", op: getPrices, key: "reader", status: 200},

		// Events.
		{name: "events no key", op: events, ctype: "application/cloudevents-batch+json", body: string(demo.SeedEvents), status: 401},
		{name: "events bad key", op: events, key: "bogus", ctype: "application/cloudevents-batch+json", body: string(demo.SeedEvents), status: 401},
		{name: "events no permission", op: events, key: "reader", ctype: "application/cloudevents-batch+json", body: string(demo.SeedEvents), status: 403},
		{name: "events invalid", op: events, key: "writer", ctype: "application/cloudevents-batch+json", status: 400,
			body: "[" + event("x-1", "cloudmeter.resource.deleted", "2016-03-01T00:00:00Z", `{"product_id":1}`) +
				`,{"specversion":"1.0","id":"x-2","source":"test/openapi","type":"cloudmeter.resource.deleted","data":{}}]`},
		{name: "events wrong content type", op: events, key: "writer", ctype: "text/plain", body: string(demo.SeedEvents), status: 400},
		{name: "events batch too large", op: events, key: "writer", ctype: "application/json", body: "[" + strings.Join(many, ",") + "]", status: 413},
		{name: "events body too large", op: events, key: "writer", ctype: "application/json", body: tooBig, status: 413},
		{name: "events seed batch", op: events, key: "writer", ctype: "application/cloudevents-batch+json", body: string(demo.SeedEvents),
			status: 200, checkRequest: true, check: wantIngest(12, 0)},
		{name: "events single", op: events, key: "writer", ctype: "application/cloudevents+json", body: hddDrive,
			status: 200, checkRequest: true, check: wantIngest(1, 0)},
		{name: "events json duplicates", op: events, key: "admin", ctype: "application/json", body: string(demo.SeedEvents),
			status: 200, checkRequest: true, check: wantIngest(0, 12)},
		{name: "events json single", op: events, key: "writer", ctype: "application/json", body: stopSubnet,
			status: 200, checkRequest: true, check: wantIngest(1, 0)},
		{name: "events conflict", op: events, key: "writer", ctype: "application/cloudevents+json", status: 409,
			body: `{"specversion":"1.0","id":"op-1001","source":"provisioner/uk-reading","type":"cloudmeter.resource.deleted","time":"2016-02-01T12:58:01Z","data":{"product_id":2416}}`},
		{name: "put prices dry run", op: putPrices, url: "/api/v1/prices?dry_run=true", key: "admin", ctype: "application/json",
			body: `{"currency":"GBP","entries":[]}`, status: 200},
		{name: "put prices leaving usage unpriced", op: putPrices, key: "admin", ctype: "application/json", body: `{"currency":"GBP","entries":[]}`, status: 409},
		{name: "put prices bad dry_run", op: putPrices, url: "/api/v1/prices?dry_run=yes", key: "admin", ctype: "application/json",
			body: string(demo.SeedPrices), status: 400},
		{name: "put prices forced", op: putPrices, url: "/api/v1/prices?force=true", key: "admin", ctype: "application/json",
			body: string(demo.SeedPrices), status: 200},

		// Anomalies.
		{name: "anomalies", op: anomalies, key: "admin", status: 200, check: wantKinds("not_applicable", "unpriced")},
		{name: "anomalies of a user", op: anomalies, url: "/api/v1/anomalies?user=1&limit=10", key: "reader", status: 200,
			check: wantKinds("not_applicable", "unpriced")},
		{name: "anomalies own", op: anomalies, key: "stranger", status: 200, check: wantKinds()},
		{name: "anomalies bad limit", op: anomalies, url: "/api/v1/anomalies?limit=-1", key: "admin", status: 400},
		{name: "anomalies no key", op: anomalies, status: 401},
		{name: "anomalies other user", op: anomalies, url: "/api/v1/anomalies?user=1", key: "stranger", status: 403},

		// Resources.
		{name: "resource", op: resource, url: "/api/v1/resources/2416", key: "reader", status: 200},
		{name: "resource live", op: resource, url: "/api/v1/resources/9001", key: "admin", status: 200},
		{name: "resource bad id", op: resource, url: "/api/v1/resources/abc", key: "admin", status: 400},
		{name: "resource no key", op: resource, url: "/api/v1/resources/2416", status: 401},
		{name: "resource other user", op: resource, url: "/api/v1/resources/2416", key: "stranger", status: 404},
		{name: "resource unknown", op: resource, url: "/api/v1/resources/424242", key: "admin", status: 404},

		// A waypoint's traffic: the seed's network 8381, with samples of 2016-02-01.
		{name: "traffic samples", op: events, key: "writer", ctype: "application/cloudevents-batch+json", status: 200, checkRequest: true,
			body: "[" + event("wan-1", "cloudmeter.traffic.metered", "2016-02-01T13:10:00Z", `{"product_id":8381,"direction":"download","counter":1073741824}`) +
				"," + event("wan-2", "cloudmeter.traffic.metered", "2016-02-01T15:00:00Z", `{"product_id":8381,"direction":"download","counter":1610612736}`) +
				"," + event("wan-3", "cloudmeter.traffic.metered", "2016-02-01T15:00:00Z", `{"product_id":8381,"direction":"upload","bytes":536870912}`) + "]",
			check: wantIngest(3, 0)},
		{name: "traffic", op: traffic, url: "/api/v1/resources/8381/traffic?from=2016-02-01T00:00:00Z&to=2016-02-02T23:59:59Z&granularity=day",
			key: "reader", status: 200, check: wantTraffic(2, 1610612736, 536870912)},
		{name: "traffic hourly by default", op: traffic, url: "/api/v1/resources/8381/traffic?from=2016-02-01T00:00:00Z&to=2016-02-01T23:59:59Z",
			key: "admin", status: 200, check: wantTraffic(24, 1610612736, 536870912)},
		{name: "traffic lifetime", op: traffic, url: "/api/v1/resources/8381/traffic?granularity=day", key: "admin", status: 200,
			check: wantTraffic(4, 1610612736, 536870912)},
		{name: "traffic bad granularity", op: traffic, url: "/api/v1/resources/8381/traffic?granularity=week", key: "admin", status: 400},
		{name: "traffic not a waypoint", op: traffic, url: "/api/v1/resources/2416/traffic", key: "admin", status: 400},
		{name: "traffic too many hours", op: traffic, url: "/api/v1/resources/8381/traffic?from=2016-01-01T00:00:00Z&to=2017-12-31T23:59:59Z", key: "admin", status: 400},
		{name: "traffic bad timestamp", op: traffic, url: "/api/v1/resources/8381/traffic?from=monday", key: "admin", status: 400},
		{name: "traffic no key", op: traffic, url: "/api/v1/resources/8381/traffic", status: 401},
		{name: "traffic other user", op: traffic, url: "/api/v1/resources/8381/traffic", key: "stranger", status: 404},
		{name: "traffic unknown", op: traffic, url: "/api/v1/resources/424242/traffic", key: "admin", status: 404},

		// Utilization.
		{name: "utilization 2016", op: util, url: "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z",
			key: "reader", status: 200, check: wantNativeTotal("8.63663243", 4)}, // the seed, and 0.5 GB uploaded by network 8381 at 0.06
		{name: "utilization filtered", op: util,
			url: "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z&infrastructure_id=3668&datacenter=uk-reading",
			key: "admin", status: 200, check: wantNativeTotal("8.60663243", 4)},
		{name: "utilization bad timestamp", op: util, url: "/api/v1/users/1/utilization?from=yesterday&to=2016-12-31T23:59:59Z",
			key: "admin", status: 400},
		{name: "utilization window too long", op: util, url: "/api/v1/users/1/utilization?from=2010-01-01T00:00:00Z&to=2016-12-31T23:59:59Z",
			key: "admin", status: 400},
		{name: "utilization no key", op: util, url: "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z", status: 401},
		{name: "utilization other user", op: util, url: "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z",
			key: "stranger", status: 403},
		{name: "utilization unknown user", op: util, url: "/api/v1/users/999/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z",
			key: "admin", status: 404},
		{name: "utilization unknown infrastructure", op: util,
			url: "/api/v1/users/1/utilization?from=2016-01-01T00:00:00Z&to=2016-12-31T23:59:59Z&infrastructure_id=999", key: "admin", status: 404},

		// Keys.
		{name: "keys", op: getKeys, key: "admin", status: 200},
		{name: "keys no key", op: getKeys, status: 401},
		{name: "keys not admin", op: getKeys, key: "reader", status: 403},
		{name: "create key", op: postKey, key: "admin", ctype: "application/json", status: 201, checkRequest: true,
			body: `{"user_id":7,"permissions":["utilization_reports_read"],"label":"billing system"}`,
			check: func(t *testing.T, e *env, body []byte) {
				var k struct{ ID, Key string }
				if err := json.Unmarshal(body, &k); err != nil || k.ID == "" || !strings.HasPrefix(k.Key, "7:") {
					t.Fatalf("created key: %s (%v)", body, err)
				}
				e.vars["KEYID"], e.keys["created"] = k.ID, k.Key
			}},
		{name: "created key works", op: rpcOp, key: "created", body: rpc("1", "resource_utilization_summary", window), status: 200},
		{name: "create key bad permission", op: postKey, key: "admin", ctype: "application/json", status: 400,
			body: `{"user_id":7,"permissions":["root"]}`},
		{name: "create key bad body", op: postKey, key: "admin", ctype: "application/json", status: 400, body: `{"user":7}`},
		{name: "create key no key", op: postKey, ctype: "application/json", status: 401, body: `{"user_id":7,"permissions":["admin"]}`},
		{name: "create key not admin", op: postKey, key: "reader", ctype: "application/json", status: 403, body: `{"user_id":7,"permissions":["admin"]}`},
		{name: "create key too large", op: postKey, key: "admin", ctype: "application/json", status: 413, body: tooBig},
		{name: "revoke key no key", op: delKey, url: "/api/v1/keys/$KEYID", status: 401},
		{name: "revoke key not admin", op: delKey, url: "/api/v1/keys/$KEYID", key: "reader", status: 403},
		{name: "revoke key", op: delKey, url: "/api/v1/keys/$KEYID", key: "admin", status: 204},
		{name: "revoke unknown key", op: delKey, url: "/api/v1/keys/knosuchkey", key: "admin", status: 404},
		{name: "revoked key is refused", op: getPrices, key: "created", status: 401},
		{name: "keys lists the revoked", op: getKeys, key: "admin", status: 200, check: func(t *testing.T, e *env, body []byte) {
			if !bytes.Contains(body, []byte(`"revoked_at"`)) {
				t.Errorf("the revoked key is not listed with revoked_at: %s", body)
			}
		}},

		// Organizations: user 3 (the stranger) joins user 1's.
		{name: "organization own", op: getOrg, url: "/api/v1/users/3/organization", key: "stranger", status: 200, check: wantMembership(3, 3, 3)},
		{name: "organization other user", op: getOrg, url: "/api/v1/users/1/organization", key: "stranger", status: 403},
		{name: "organization bad id", op: getOrg, url: "/api/v1/users/abc/organization", key: "admin", status: 400},
		{name: "organization unknown user", op: getOrg, url: "/api/v1/users/999/organization", key: "admin", status: 404},
		{name: "organization no key", op: getOrg, url: "/api/v1/users/3/organization", status: 401},
		{name: "set organization no key", op: putOrg, url: "/api/v1/users/3/organization", ctype: "application/json", body: `{"organization_id":1}`, status: 401},
		{name: "set organization not admin", op: putOrg, url: "/api/v1/users/3/organization", key: "reader", ctype: "application/json",
			body: `{"organization_id":1}`, status: 403},
		{name: "set organization not a number", op: putOrg, url: "/api/v1/users/3/organization", key: "admin", ctype: "application/json",
			body: `{"organization_id":"one"}`, status: 400},
		{name: "set organization missing", op: putOrg, url: "/api/v1/users/3/organization", key: "admin", ctype: "application/json", body: `{}`, status: 400},
		{name: "set organization zero", op: putOrg, url: "/api/v1/users/3/organization", key: "admin", ctype: "application/json",
			body: `{"organization_id":0}`, status: 400},
		{name: "set organization unknown user", op: putOrg, url: "/api/v1/users/999/organization", key: "admin", ctype: "application/json",
			body: `{"organization_id":1}`, status: 404},
		{name: "set organization too large", op: putOrg, url: "/api/v1/users/3/organization", key: "admin", ctype: "application/json", body: tooBig, status: 413},
		{name: "set organization", op: putOrg, url: "/api/v1/users/3/organization", key: "admin", ctype: "application/json", checkRequest: true,
			body: `{"organization_id":1}`, status: 200, check: wantMembership(3, 1, 1, 3)},
		{name: "organization of a user joined", op: getOrg, url: "/api/v1/users/1/organization", key: "reader", status: 200, check: wantMembership(1, 1, 1, 3)},

		// Prepaid credit of organization 1 (users 1 and 3).
		{name: "credit not prepaid", op: getCredit, url: "/api/v1/organizations/1/credit", key: "stranger", status: 200,
			check: wantCredit(false, "0.00000000", "0.00000000", true, 0)},
		{name: "credit other organization", op: getCredit, url: "/api/v1/organizations/2/credit", key: "stranger", status: 403},
		{name: "credit unknown organization", op: getCredit, url: "/api/v1/organizations/424242/credit", key: "reader", status: 404},
		{name: "credit bad id", op: getCredit, url: "/api/v1/organizations/x/credit", key: "admin", status: 400},
		{name: "credit no key", op: getCredit, url: "/api/v1/organizations/1/credit", status: 401},
		{name: "top up no key", op: topUp, url: "/api/v1/organizations/1/credit", ctype: "application/json", body: `{"amount":"100.00"}`, status: 401},
		{name: "top up not admin", op: topUp, url: "/api/v1/organizations/1/credit", key: "reader", ctype: "application/json", body: `{"amount":"100.00"}`, status: 403},
		{name: "top up negative", op: topUp, url: "/api/v1/organizations/1/credit", key: "admin", ctype: "application/json", body: `{"amount":"-5"}`, status: 400},
		{name: "top up zero", op: topUp, url: "/api/v1/organizations/1/credit", key: "admin", ctype: "application/json", body: `{"amount":"0.00"}`, status: 400},
		{name: "top up malformed", op: topUp, url: "/api/v1/organizations/1/credit", key: "admin", ctype: "application/json", body: `{"amount":"1e3"}`, status: 400},
		{name: "top up 9 decimals", op: topUp, url: "/api/v1/organizations/1/credit", key: "admin", ctype: "application/json", body: `{"amount":"0.000000001"}`, status: 400},
		{name: "top up number", op: topUp, url: "/api/v1/organizations/1/credit", key: "admin", ctype: "application/json", body: `{"amount":100}`, status: 400},
		{name: "top up no amount", op: topUp, url: "/api/v1/organizations/1/credit", key: "admin", ctype: "application/json", body: `{"note":"x"}`, status: 400},
		{name: "top up unknown organization", op: topUp, url: "/api/v1/organizations/424242/credit", key: "admin", ctype: "application/json",
			body: `{"amount":"100.00"}`, status: 404},
		{name: "top up too large", op: topUp, url: "/api/v1/organizations/1/credit", key: "admin", ctype: "application/json", body: tooBig, status: 413},
		{name: "top up", op: topUp, url: "/api/v1/organizations/1/credit", key: "admin", ctype: "application/json", checkRequest: true,
			body: `{"amount":"100.00","note":"PO 42"}`, status: 201, check: func(t *testing.T, e *env, body []byte) {
				var r struct {
					TopUp  struct{ Seq int64 } `json:"top_up"`
					Credit json.RawMessage     `json:"credit"`
				}
				if err := json.Unmarshal(body, &r); err != nil || r.TopUp.Seq != 1 {
					t.Fatalf("top-up answered %s (%v)", body, err)
				}
				// The seed's usage is of 2016, before the first top-up: nothing is spent.
				wantCredit(true, "100.00000000", "100.00000000", true, 1)(t, e, r.Credit)
			}},
		{name: "credit settings no key", op: settings, url: "/api/v1/organizations/1/credit/settings", ctype: "application/json",
			body: `{"threshold":"150"}`, status: 401},
		{name: "credit settings not admin", op: settings, url: "/api/v1/organizations/1/credit/settings", key: "stranger", ctype: "application/json",
			body: `{"threshold":"150"}`, status: 403},
		{name: "credit settings negative threshold", op: settings, url: "/api/v1/organizations/1/credit/settings", key: "admin", ctype: "application/json",
			body: `{"threshold":"-1"}`, status: 400},
		{name: "credit settings bad start", op: settings, url: "/api/v1/organizations/1/credit/settings", key: "admin", ctype: "application/json",
			body: `{"threshold":"1","spend_from":"yesterday"}`, status: 400},
		{name: "credit settings unknown organization", op: settings, url: "/api/v1/organizations/424242/credit/settings", key: "admin", ctype: "application/json",
			body: `{"threshold":"1"}`, status: 404},
		{name: "credit settings too large", op: settings, url: "/api/v1/organizations/1/credit/settings", key: "admin", ctype: "application/json",
			body: tooBig, status: 413},
		// Charged from 2016: the seed and network 8381's upload, 8.63663243, as the 2016 report says.
		{name: "credit settings", op: settings, url: "/api/v1/organizations/1/credit/settings", key: "admin", ctype: "application/json", checkRequest: true,
			body: `{"threshold":"150","spend_from":"2016-01-01T00:00:00Z"}`, status: 200, check: wantCredit(true, "100.00000000", "91.36336757", false, 1)},
		{name: "credit", op: getCredit, url: "/api/v1/organizations/1/credit", key: "stranger", status: 200,
			check: wantCredit(true, "100.00000000", "91.36336757", false, 1)},

		// Unknown routes.
		{name: "unknown route", url: "/api/v1/nothing", key: "admin", status: 404},
		{name: "known path, other method", url: "/api/v1/prices", key: "admin", ctype: "application/json", body: "{}", status: 405},

		// The MetalSoft-compatible JSON-RPC API.
		{name: "rpc seed request as written", op: rpcOp, key: "admin", body: seedRequest, status: 200,
			check: func(t *testing.T, e *env, body []byte) {
				if !bytes.Contains(body, []byte(`"id":null`)) || !bytes.Contains(body, []byte(`"product_id":9001`)) {
					t.Errorf("the seed request answers %s", body)
				}
			}},
		{name: "rpc detailed 2016", op: rpcOp, key: "reader", ctype: "application/json", checkRequest: true, status: 200,
			body: rpc("1", "resource_utilization_detailed", window), check: wantSeedRecords},
		{name: "rpc detailed filtered", op: rpcOp, key: "admin", ctype: "application/json", checkRequest: true, status: 200,
			body:  rpc(`"a"`, "resource_utilization_detailed", `[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z",[3668],["uk-reading"]]`),
			check: wantSeedRecords},
		{name: "rpc summary named", op: rpcOp, key: "admin", ctype: "application/json", checkRequest: true, status: 200,
			body: rpc("7", "resource_utilization_summary",
				`{"strUserIDOwner":1,"strStartTimestamp":"2016-01-01T00:00:00Z","strEndTimestamp":"2016-12-31T23:59:59Z"}`),
			check: func(t *testing.T, e *env, body []byte) {
				// The seed's 8.60663243 and network 8381's 0.5 GB upload at 0.06.
				if !bytes.Contains(body, []byte(`"total_cost":"8.63663243"`)) || !bytes.Contains(body, []byte(`"internet_upload_cost":"0.03000000","internet_upload_gbytes":"0.5000"`)) {
					t.Errorf("summary: %s", body)
				}
			}},
		{name: "rpc own user", op: rpcOp, key: "stranger", body: rpc("1", "resource_utilization_detailed", `[3,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]`), status: 200},
		{name: "rpc batch", op: rpcOp, key: "admin", ctype: "application/json", status: 200,
			body: "[" + rpc("1", "resource_utilization_summary", window) + "," + rpc("2", "nope", "[]") + "]",
			check: func(t *testing.T, e *env, body []byte) {
				if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
					t.Errorf("a batch is not answered with an array: %s", body)
				}
			}},
		{name: "rpc notification", op: rpcOp, key: "admin", status: 200,
			body: `{"jsonrpc":"2.0","method":"resource_utilization_summary","params":` + window + `}`,
			check: func(t *testing.T, e *env, body []byte) {
				if len(bytes.TrimSpace(body)) != 0 {
					t.Errorf("a notification is answered: %s", body)
				}
			}},
		{name: "rpc not authenticated", op: rpcOp, body: seedRequest, status: 200, rpcCode: 73},
		{name: "rpc not bearer", op: rpcOp, key: "raw:Basic Zm9vOmJhcg==", body: seedRequest, status: 200, rpcCode: 73},
		{name: "rpc key not found", op: rpcOp, key: "bogus", body: seedRequest, status: 200, rpcCode: 322},
		{name: "rpc not authorized", op: rpcOp, key: "stranger", body: rpc("1", "resource_utilization_detailed", window), status: 200, rpcCode: 71},
		{name: "rpc user not found", op: rpcOp, key: "admin", body: rpc("1", "resource_utilization_detailed", `[999,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]`), status: 200, rpcCode: 42},
		{name: "rpc infrastructure not found", op: rpcOp, key: "admin", body: rpc("1", "resource_utilization_detailed", `[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z",[999]]`), status: 200, rpcCode: 152},
		{name: "rpc datacenter not found", op: rpcOp, key: "admin", body: rpc("1", "resource_utilization_detailed", `[1,"2016-01-01T00:00:00Z","2016-12-31T23:59:59Z",null,["nowhere"]]`), status: 200, rpcCode: 269},
		{name: "rpc type mismatch", op: rpcOp, key: "admin", body: rpc("1", "resource_utilization_detailed", `["abc","2016-01-01T00:00:00Z","2016-12-31T23:59:59Z"]`), status: 200, rpcCode: 93},
		{name: "rpc value invalid", op: rpcOp, key: "admin", body: rpc("1", "resource_utilization_detailed", `[1,"2016-12-31T23:59:59Z","2016-01-01T00:00:00Z"]`), status: 200, rpcCode: 143},
		{name: "rpc timestamp invalid", op: rpcOp, key: "admin", body: rpc("1", "resource_utilization_detailed", `[1,"yesterday","2016-01-01T00:00:00Z"]`), status: 200, rpcCode: 149},
		{name: "rpc window too long", op: rpcOp, key: "admin", body: rpc("1", "resource_utilization_detailed", `[1,"2010-01-01T00:00:00Z","2016-12-31T23:59:59Z"]`), status: 200, rpcCode: 220},
		{name: "rpc parse error", op: rpcOp, key: "admin", body: `{"jsonrpc":`, status: 200, rpcCode: -32700},
		{name: "rpc invalid request", op: rpcOp, key: "admin", body: `{"jsonrpc":"1.0","id":1,"method":"resource_utilization_detailed"}`, status: 200, rpcCode: -32600},
		{name: "rpc method not found", op: rpcOp, key: "admin", body: rpc("1", "nope", "[]"), status: 200, rpcCode: -32601},
		{name: "rpc invalid params", op: rpcOp, key: "admin", body: rpc("1", "resource_utilization_detailed", "[]"), status: 200, rpcCode: -32602},
	}, reservationCases()...)
}

func wantIngest(accepted, duplicates int) func(t *testing.T, e *env, body []byte) {
	return func(t *testing.T, e *env, body []byte) {
		var r struct{ Accepted, Duplicates int }
		if err := json.Unmarshal(body, &r); err != nil || r.Accepted != accepted || r.Duplicates != duplicates {
			t.Errorf("ingest answered %s, want accepted %d and duplicates %d (%v)", body, accepted, duplicates, err)
		}
	}
}

func wantKinds(kinds ...string) func(t *testing.T, e *env, body []byte) {
	return func(t *testing.T, e *env, body []byte) {
		var r struct{ Anomalies []struct{ Kind string } }
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range r.Anomalies {
			got = append(got, a.Kind)
		}
		sort.Strings(got)
		if !slices.Equal(got, kinds) && !(len(got) == 0 && len(kinds) == 0) {
			t.Errorf("anomaly kinds %v, want %v", got, kinds)
		}
	}
}

// wantTraffic checks a traffic series: its number of points and its totals.
func wantTraffic(points int, download, upload int64) func(t *testing.T, e *env, body []byte) {
	return func(t *testing.T, e *env, body []byte) {
		var r struct {
			Download int64 `json:"download_bytes"`
			Upload   int64 `json:"upload_bytes"`
			Points   []struct {
				Download int64 `json:"download_bytes"`
				Upload   int64 `json:"upload_bytes"`
			}
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		var d, u int64
		for _, p := range r.Points {
			d, u = d+p.Download, u+p.Upload
		}
		if len(r.Points) != points || r.Download != download || r.Upload != upload || d != download || u != upload {
			t.Errorf("series of %d points, totals %d/%d, points sum to %d/%d; want %d points, %d/%d", len(r.Points), r.Download, r.Upload, d, u,
				points, download, upload)
		}
	}
}

func wantMembership(user, org int64, users ...int64) func(t *testing.T, e *env, body []byte) {
	return func(t *testing.T, e *env, body []byte) {
		var r struct {
			UserID         int64   `json:"user_id"`
			OrganizationID int64   `json:"organization_id"`
			Users          []int64 `json:"users"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.UserID != user || r.OrganizationID != org || !slices.Equal(r.Users, users) {
			t.Errorf("membership %s, want user %d in organization %d of users %v (%v)", body, user, org, users, err)
		}
	}
}

func wantCredit(prepaid bool, balance, credit string, canCreate bool, topUps int) func(t *testing.T, e *env, body []byte) {
	return func(t *testing.T, e *env, body []byte) {
		var r struct {
			Prepaid           bool   `json:"prepaid"`
			Balance           string `json:"balance"`
			Credit            string `json:"credit"`
			CanCreateInstance bool   `json:"can_create_instance"`
			TopUps            []any  `json:"top_ups"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Prepaid != prepaid || r.Balance != balance || r.Credit != credit ||
			r.CanCreateInstance != canCreate || len(r.TopUps) != topUps {
			t.Errorf("credit %s; want prepaid %v, balance %s, credit %s, can_create_instance %v, %d top-ups (%v)", body, prepaid, balance, credit,
				canCreate, topUps, err)
		}
	}
}

func wantNativeTotal(total string, records int) func(t *testing.T, e *env, body []byte) {
	return func(t *testing.T, e *env, body []byte) {
		var r struct {
			TotalCost string `json:"total_cost"`
			Records   []any
		}
		if err := json.Unmarshal(body, &r); err != nil || r.TotalCost != total || len(r.Records) != records {
			t.Errorf("utilization: total %s over %d records, want %s over %d (%v)", r.TotalCost, len(r.Records), total, records, err)
		}
	}
}

// wantSeedRecords checks the four records of the seed example, to the last digit.
func wantSeedRecords(t *testing.T, e *env, body []byte) {
	var r struct {
		Result struct {
			DetailedReport map[string]map[string][]struct {
				ProductID   int64  `json:"product_id"`
				Quantity    string `json:"quantity"`
				CostPerUnit string `json:"cost_per_unit"`
				Cost        string `json:"cost"`
			} `json:"detailed_report"`
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"shared_drive": "779 242136 0.00347222 0.23354152",
		"drive":        "3727 250369 0.01601563 1.11383813",
		"instance":     "2416 84301 0.31000000 7.25925278",
		"subnet":       "6378 250376 0.00000000 0.00000000",
	}
	got := map[string]string{}
	for typ, recs := range r.Result.DetailedReport["3668"] {
		for _, rec := range recs {
			got[typ] += strings.TrimSpace(fmt.Sprintf("%d %s %s %s", rec.ProductID, rec.Quantity, rec.CostPerUnit, rec.Cost))
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("seed records:\n got %v\nwant %v", got, want)
	}
}

// TestOpenAPIExercise runs every case on each storage engine.
func TestOpenAPIExercise(t *testing.T) {
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) { exercise(t, eng) })
	}
}

func exercise(t *testing.T, eng string) {
	d := loadOpenAPI(t)
	e := newEnv(t, eng)
	seen := map[string]map[int]bool{} // op -> statuses answered
	rpcCodes := map[int]bool{}
	for _, c := range slices.Concat(cases(), installationCases(), exportCases()) {
		t.Run(c.name, func(t *testing.T) {
			if c.before != nil {
				c.before(e)
			}
			var op map[string]any
			method, path := "GET", c.url
			if c.op != "" {
				var ok bool
				if op, ok = d.ops[c.op]; !ok {
					t.Fatalf("operation %q is not in openapi.yaml", c.op)
				}
				method, path = splitPattern(c.op)
				if c.url != "" {
					path = c.url
				}
			} else if c.body != "" {
				method = "POST"
			}
			for k, v := range e.vars {
				path = strings.ReplaceAll(path, "$"+k, v)
			}
			req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			switch {
			case c.key == "":
			case c.key == "bogus":
				req.Header.Set("Authorization", "Bearer 1:no-such-key")
			case strings.HasPrefix(c.key, "raw:"):
				req.Header.Set("Authorization", strings.TrimPrefix(c.key, "raw:"))
			default:
				k, ok := e.keys[c.key]
				if !ok {
					t.Fatalf("no key %q", c.key)
				}
				req.Header.Set("Authorization", "Bearer "+k)
			}
			if c.checkRequest {
				checkRequestBody(t, d, op, c)
			}
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, c.status, body)
			}
			if op == nil {
				// No route: the generic answers the document describes in info.description.
				v, err := decodeJSON(body)
				if err != nil {
					t.Fatal(err)
				}
				if errs := d.validate(map[string]any{"$ref": "#/components/schemas/Error"}, v, "body"); len(errs) > 0 {
					t.Error(strings.Join(errs, "\n"))
				}
				switch resp.StatusCode {
				case http.StatusNotFound:
					if !bytes.Contains(body, []byte(`"not_found"`)) || !bytes.Contains(body, []byte("no such route")) {
						t.Errorf("unknown route answered %s", body)
					}
				case http.StatusMethodNotAllowed:
					if !bytes.Contains(body, []byte(`"method_not_allowed"`)) || resp.Header.Get("Allow") == "" {
						t.Errorf("a known path with another method answered %s, Allow %q", body, resp.Header.Get("Allow"))
					}
				}
				return
			}
			if seen[c.op] == nil {
				seen[c.op] = map[int]bool{}
			}
			seen[c.op][resp.StatusCode] = true
			r := d.response(t, op, resp.StatusCode)
			if r == nil {
				t.Fatalf("%s answered %d, which openapi.yaml does not list for it: %s", c.op, resp.StatusCode, body)
			}
			checkResponse(t, d, r, resp, body)
			if c.op == "POST /api/developer/developer" && len(bytes.TrimSpace(body)) > 0 {
				checkRPC(t, body, c.rpcCode, rpcCodes)
			}
			if c.check != nil && !t.Failed() {
				c.check(t, e, body)
			}
		})
	}

	// Every documented status was answered at least once (500 and 503 need a broken
	// database and are exempt), and every MetalSoft error code was produced.
	for key, op := range d.ops {
		rs, _ := op["responses"].(map[string]any)
		for code, r := range rs {
			if ref, _ := r.(map[string]any)["$ref"].(string); ref == "#/components/responses/Internal" || ref == "#/components/responses/Unavailable" {
				continue
			}
			n, _ := strconv.Atoi(code)
			if !seen[key][n] {
				t.Errorf("%s: the documented response %s is never exercised: add a case", key, code)
			}
		}
	}
	codes := rpcErrorCodes(t, d)
	for _, c := range codes {
		// -32603 (internal) and -32000 (database unavailable) need a broken database.
		if c != -32603 && c != -32000 && !rpcCodes[c] {
			t.Errorf("MetalSoft error code %d is documented but no case produces it", c)
		}
	}
	// The document knows every code and reason of the error table.
	reasons := errorReasons(t, d)
	for _, k := range cloudmeter.Kinds() {
		for _, subj := range cloudmeter.Subjects() {
			err := cloudmeter.Errorf(k, "x").About(subj)
			if c := metalsoft.ErrorCode(err); !slices.Contains(codes, c) {
				t.Errorf("metalsoft maps %s about %q to JSON-RPC code %d, which MetalSoftErrorCode does not list", k, subj, c)
			}
			rec := httptest.NewRecorder()
			httpapi.WriteError(slog.New(slog.DiscardHandler), rec, httptest.NewRequest("GET", "/", nil), err)
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &body); !slices.Contains(reasons, body.Error.Code) {
				t.Errorf("the native API answers %s with the error code %q, which the Error schema does not list", k, body.Error.Code)
			}
		}
	}
}

func checkRequestBody(t *testing.T, d *openAPI, op map[string]any, c tcase) {
	t.Helper()
	rb, err := d.resolve(op["requestBody"])
	if err != nil {
		t.Fatalf("%s: requestBody: %v", c.op, err)
	}
	content, _ := rb["content"].(map[string]any)
	mt := mediaType(c.ctype)
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Fatalf("%s: the request's Content-Type %q is not documented", c.op, c.ctype)
	}
	v, err := decodeJSON([]byte(c.body))
	if err != nil {
		t.Fatalf("request body: %v", err)
	}
	if errs := d.validate(media["schema"], v, "request"); len(errs) > 0 {
		t.Errorf("the request body does not validate against the documented schema:\n%s", strings.Join(errs, "\n"))
	}
}

func checkResponse(t *testing.T, d *openAPI, r map[string]any, resp *http.Response, body []byte) {
	t.Helper()
	if hs, ok := r["headers"].(map[string]any); ok {
		for h := range hs {
			if resp.Header.Get(h) == "" {
				t.Errorf("documented header %s is missing", h)
			}
		}
	}
	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) != 0 {
			t.Errorf("the response documents no content, yet the body is %q", body)
		}
		return
	}
	if len(bytes.TrimSpace(body)) == 0 && resp.Request.URL.Path == metalsoft.Path {
		return // every call was a notification
	}
	mt := mediaType(resp.Header.Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if !ok {
		keys := make([]string, 0, len(content))
		for k := range content {
			keys = append(keys, k)
		}
		t.Fatalf("Content-Type %q is not documented for this response (documented: %v)", mt, keys)
	}
	switch {
	case isJSON(mt):
		v, err := decodeJSON(body)
		if err != nil {
			t.Fatalf("the body is not JSON: %v: %s", err, body)
		}
		if errs := d.validate(media["schema"], v, "body"); len(errs) > 0 {
			t.Errorf("the body does not validate against the documented schema:\n%s\nbody: %.2000s", strings.Join(errs, "\n"), body)
		}
	case mt == "application/yaml":
		var v any
		if err := yaml.Unmarshal(body, &v); err != nil {
			t.Errorf("the body is not YAML: %v", err)
		}
	default:
		if len(body) == 0 {
			t.Errorf("empty %s body", mt)
		}
	}
}

// checkRPC checks the JSON-RPC answer: an error with wantCode, or results when wantCode
// is 0. It records the error codes seen.
func checkRPC(t *testing.T, body []byte, wantCode int, seen map[int]bool) {
	t.Helper()
	var answers []struct {
		Result json.RawMessage
		Error  *struct{ Code int }
	}
	trimmed := bytes.TrimSpace(body)
	var err error
	if trimmed[0] == '[' {
		err = json.Unmarshal(trimmed, &answers)
	} else {
		answers = answers[:0]
		answers = append(answers, struct {
			Result json.RawMessage
			Error  *struct{ Code int }
		}{})
		err = json.Unmarshal(trimmed, &answers[0])
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range answers {
		if a.Error != nil {
			seen[a.Error.Code] = true
		}
		if i > 0 || trimmed[0] == '[' {
			continue // a batch may mix results and errors
		}
		switch {
		case wantCode == 0 && a.Error != nil:
			t.Errorf("JSON-RPC error %d, want a result: %s", a.Error.Code, body)
		case wantCode != 0 && (a.Error == nil || a.Error.Code != wantCode):
			t.Errorf("want JSON-RPC error %d: %s", wantCode, body)
		}
	}
}

func rpcErrorCodes(t *testing.T, d *openAPI) []int {
	t.Helper()
	s, err := d.pointer("#/components/schemas/MetalSoftErrorCode/enum")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, v := range s.([]any) {
		n, ok := number(v)
		if !ok || !n.IsInt() {
			t.Fatalf("MetalSoftErrorCode: %v is not an integer", v)
		}
		out = append(out, int(n.Num().Int64()))
	}
	return out
}

func errorReasons(t *testing.T, d *openAPI) []string {
	t.Helper()
	s, err := d.pointer("#/components/schemas/Error/properties/error/properties/code/enum")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range s.([]any) {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// TestOpenAPIExamples validates every example of a request or response against its
// schema, so the document's examples cannot drift from its schemas.
func TestOpenAPIExamples(t *testing.T) {
	d := loadOpenAPI(t)
	n := 0
	checkMedia := func(where string, content map[string]any) {
		for mt, m := range content {
			media, _ := m.(map[string]any)
			schema, ok := media["schema"]
			if !ok {
				t.Errorf("%s %s: no schema", where, mt)
				continue
			}
			var values []any
			var names []string
			if ex, ok := media["example"]; ok {
				values, names = append(values, ex), append(names, "example")
			}
			if exs, ok := media["examples"].(map[string]any); ok {
				for name, ex := range exs {
					exm, err := d.resolve(ex)
					if err != nil {
						t.Errorf("%s %s examples.%s: %v", where, mt, name, err)
						continue
					}
					values, names = append(values, exm["value"]), append(names, "examples."+name)
				}
			}
			for i, v := range values {
				n++
				// Round-trip through JSON, as a client would send or receive it.
				b, err := json.Marshal(v)
				if err != nil {
					t.Errorf("%s %s %s: %v", where, mt, names[i], err)
					continue
				}
				jv, _ := decodeJSON(b)
				if errs := d.validate(schema, jv, names[i]); len(errs) > 0 {
					t.Errorf("%s %s: the example does not validate:\n%s", where, mt, strings.Join(errs, "\n"))
				}
			}
		}
	}
	for key, op := range d.ops {
		if rb, ok := op["requestBody"]; ok {
			rbm, err := d.resolve(rb)
			if err != nil {
				t.Errorf("%s requestBody: %v", key, err)
			} else {
				content, _ := rbm["content"].(map[string]any)
				checkMedia(key+" request", content)
			}
		}
		rs, _ := op["responses"].(map[string]any)
		for code, r := range rs {
			rm, err := d.resolve(r)
			if err != nil {
				continue // reported by TestOpenAPIRoutes
			}
			content, _ := rm["content"].(map[string]any)
			checkMedia(key+" "+code, content)
		}
	}
	if n < 20 {
		t.Errorf("only %d examples were checked: the walk is broken", n)
	}
}

// TestOpenAPIFileIsEmbedded guards against an empty or stale embed.
func TestOpenAPIFileIsEmbedded(t *testing.T) {
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || !bytes.Equal(b, httpapi.OpenAPI) {
		t.Fatal("httpapi.OpenAPI is not the content of openapi.yaml")
	}
}

package cloudmeter_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/cloudmeter/cloudmeter"

// domainPackages are the domain: what is billed and how, with no API surface, no database
// and no HTTP. They may import each other and the standard library (net/http aside), and
// nothing else of this module. A new domain package is added here on purpose.
var domainPackages = []string{
	module,
	module + "/ledger",
	module + "/money",
	module + "/pricebook",
	module + "/rating",
	module + "/report",
	module + "/reservation",
}

// forbidden says why a domain package may not depend on path, or "" when it may.
func forbidden(path string) string {
	switch {
	case slices.Contains(domainPackages, path):
		return ""
	case path == "net/http" || strings.HasPrefix(path, "net/http/"):
		return "HTTP"
	case path == "database/sql" || strings.HasPrefix(path, "database/sql/"),
		strings.HasPrefix(path, "github.com/jackc/"),
		path == "modernc.org/sqlite" || strings.HasPrefix(path, "modernc.org/sqlite/"),
		path == "github.com/lib/pq" || strings.HasPrefix(path, "github.com/lib/pq/"),
		path == "github.com/mattn/go-sqlite3" || strings.HasPrefix(path, "github.com/mattn/go-sqlite3/"),
		strings.HasPrefix(path, "github.com/pressly/goose/"):
		return "a database driver or database package"
	case strings.HasPrefix(path, module+"/"):
		// sqlstore, sqlite, postgres, httpapi, metalsoft, internal/jsonrpc, server, cli,
		// service, ... and any package added later: none of them is the domain.
		return "a package of this module outside the domain (an API surface, storage or wiring)"
	}
	return ""
}

// TestDomainImportsNoAPIDatabaseOrHTTP checks the layering: no domain package depends,
// directly or through any chain of imports, on an API surface, another non-domain package
// of this module, a database package or driver, or net/http. It reads the import graph
// from `go list -deps -json` (test files are not part of it: the rule is for the code
// that ships).
func TestDomainImportsNoAPIDatabaseOrHTTP(t *testing.T) {
	pkgs, err := goListDeps(domainPackages)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range domainPackages {
		if _, ok := pkgs[d]; !ok {
			t.Fatalf("go list did not report the domain package %s: update domainPackages in imports_test.go if it moved", d)
		}
	}
	// go test caches a passing result keyed on the test binary and on the files and
	// environment the test itself read. The root package's test binary does not contain
	// money or rating, and what `go list` reads is not seen, so read the listed packages
	// of this module here, and go.mod: a changed file or a new one then runs the test again.
	if _, err := os.ReadFile("go.mod"); err != nil {
		t.Fatal(err)
	}
	for path, p := range pkgs {
		if path != module && !strings.HasPrefix(path, module+"/") {
			continue
		}
		entries, err := os.ReadDir(p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".go") {
				if _, err := os.ReadFile(filepath.Join(p.Dir, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	imports := make(map[string][]string, len(pkgs))
	for path, p := range pkgs {
		imports[path] = p.Imports
	}
	for _, v := range importViolations(domainPackages, imports) {
		t.Error(v)
	}
}

type listedPackage struct {
	ImportPath string
	Dir        string
	Imports    []string
	Error      *struct{ Err string }
}

// goListDeps runs `go list -deps -json` on patterns and returns the packages by path.
func goListDeps(patterns []string) (map[string]listedPackage, error) {
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json=ImportPath,Dir,Imports,Error"}, patterns...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps -json %s: %v\n%s", strings.Join(patterns, " "), err, stderr.Bytes())
	}
	pkgs := map[string]listedPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list -deps -json: decoding its output: %v", err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs, nil
}

// importViolations walks the import graph breadth-first from each root and returns one
// message per forbidden package reached, with the shortest import chain that reaches it.
// A forbidden package is not walked further: what it imports in turn is its own matter,
// and the first forbidden link of the chain is the one to cut.
func importViolations(roots []string, imports map[string][]string) []string {
	var out []string
	for _, root := range roots {
		parent := map[string]string{root: ""}
		queue := []string{root}
		var found []string
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			for _, imp := range imports[p] {
				if _, seen := parent[imp]; seen {
					continue
				}
				parent[imp] = p
				if forbidden(imp) != "" {
					found = append(found, imp)
					continue
				}
				queue = append(queue, imp)
			}
		}
		sort.Strings(found)
		for _, f := range found {
			var chain []string
			for p := f; p != ""; p = parent[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			out = append(out, fmt.Sprintf("domain package %s depends on %s (%s): %s",
				root, f, forbidden(f), strings.Join(chain, " -> ")))
		}
	}
	return out
}

// The rule itself, on a made-up graph: chains are found through the standard library and
// through other domain packages, and reported shortest first-link only.
func TestImportViolationsNamesTheChain(t *testing.T) {
	imports := map[string][]string{
		module + "/money":    {"fmt", "math/big"},
		module + "/rating":   {module + "/money", "log/slog"},
		module + "/report":   {module + "/rating", "expvar"},
		"expvar":             {"net/http"},
		"net/http":           {"crypto/tls"},
		module + "/ledger":   {module + "/sqlstore"},
		module + "/sqlstore": {"database/sql", module + "/httpapi"},
		module:               {"github.com/jackc/pgx/v5", "github.com/google/uuid"},
	}
	got := importViolations([]string{module, module + "/money", module + "/rating", module + "/report", module + "/ledger"}, imports)
	want := []string{
		"domain package " + module + " depends on github.com/jackc/pgx/v5 (a database driver or database package): " + module + " -> github.com/jackc/pgx/v5",
		"domain package " + module + "/report depends on net/http (HTTP): " + module + "/report -> expvar -> net/http",
		"domain package " + module + "/ledger depends on " + module + "/sqlstore (a package of this module outside the domain (an API surface, storage or wiring)): " + module + "/ledger -> " + module + "/sqlstore",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

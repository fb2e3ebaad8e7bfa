package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryTestOnEachEngine reads this package's test files and fails for a test
// function that does not run its body through e2etest.OnEachEngine, so that no API test can
// quietly cover SQLite alone.
func TestEveryTestOnEachEngine(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			switch fn.Name.Name {
			case "TestMain", "TestEveryTestOnEachEngine":
				continue
			}
			n++
			if !callsOnEachEngine(fn) {
				t.Errorf("%s: %s does not run through e2etest.OnEachEngine(t, ...), so it would test one engine only",
					fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
	if n < 10 {
		t.Errorf("found only %d test functions: the walk is broken", n)
	}
}

// callsOnEachEngine reports whether fn's body is the single statement
// e2etest.OnEachEngine(t, ...).
func callsOnEachEngine(fn *ast.FuncDecl) bool {
	if fn.Body == nil || len(fn.Body.List) != 1 {
		return false
	}
	es, ok := fn.Body.List[0].(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "e2etest" && sel.Sel.Name == "OnEachEngine" && len(call.Args) == 2
}

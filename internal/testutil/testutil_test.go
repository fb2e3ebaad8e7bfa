package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestGolden(t *testing.T) {
	if *update {
		t.Skip("with -update Golden writes instead of comparing")
	}
	path := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(path, []byte(`{"a":1,"b":[2,3]}`), 0o644); err != nil {
		t.Fatal(err)
	}

	r := &recorder{TB: t}
	Golden(r, path, []byte(`{"a":1,"b":[2,3]}`))
	if len(r.errors) != 0 {
		t.Errorf("equal bytes: %q", r.errors)
	}

	r = &recorder{TB: t}
	Golden(r, path, []byte(`{"a":1,"b":[2,4]}`))
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "differs from the golden file") {
		t.Errorf("different bytes: %q", r.errors)
	}

	r = &recorder{TB: t}
	Golden(r, path, []byte(`{"a":1, "b":[2,3]}`)) // the same JSON, not the same bytes
	if len(r.errors) != 1 {
		t.Errorf("different spacing: %q", r.errors)
	}

	r = &recorder{TB: t}
	Golden(r, path+".missing", nil)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "-update") {
		t.Errorf("missing file: %q", r.errors)
	}
}

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintln(&b, "line")
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "line\n"); n != 800 {
		t.Errorf("%d lines, want 800", n)
	}
}

// Package testutil holds the small helpers the test packages share: Golden, which
// compares output with a golden file (rewritten with the -update flag), and SyncBuffer,
// which collects a server's or a logger's output from many goroutines.
//
// It is for tests only (it imports testing and registers the -update flag), and it
// imports nothing of cloudmeter, so that any package's tests, internal ones included,
// may use it.
package testutil

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update is the -update flag of every test binary that imports the package.
var update = flag.Bool("update", false, "rewrite the golden files (testdata/*.golden) with the current output")

// Golden compares got with the file at path (relative to the package's directory, such
// as "testdata/seed_detailed.golden") and fails the test unless they are byte for byte
// equal. With -update it writes got to the file instead.
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (-want +got):\n%s\ngot bytes:\n%s", path, cmp.Diff(indent(want), indent(got)), got)
	}
}

// indent is b indented when it is JSON, so that a difference shows line by line; b as it
// is otherwise.
func indent(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// SyncBuffer is a bytes.Buffer safe for concurrent use: a log handler's writer.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

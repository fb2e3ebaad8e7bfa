package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudmeter/cloudmeter/cli"
)

// TestDemoCommand runs `cloudmeter demo` as a user would (cli.Main) on a fresh directory,
// then again on the same directory, which must be refused.
func TestDemoCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"demo", "--data-dir", dir, "--resources", "60"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"7.25925278", "1.11383813", "0.23354152", "0.00000000", // the seed example's four costs
		"TOTAL 8.60663243 GBP over 4 records",
		"cloudmeter serve --data-dir " + dir,
		`curl -X POST -H "Authorization: Bearer $METALCLOUD_API_KEY" http://127.0.0.1:8080/api/developer/developer -d '{"id":null, "jsonrpc": 2.0, "method": "resource_utilization_detailed", "params": [1,"2023-12-31T23:59:59Z","2024-12-31T23:59:59Z"]}'`,
		"2024-12-01T00:00:00Z to 2024-12-31T23:59:59Z",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q\n%s", want, got)
		}
	}
	if !regexp.MustCompile(`(?m)^  export METALCLOUD_API_KEY=1:[A-Za-z0-9_-]{43}$`).MatchString(got) {
		t.Errorf("output lacks the key line export METALCLOUD_API_KEY=1:...\n%s", got)
	}
	if strings.Contains(got, "unpriced") {
		t.Errorf("the demo month has unpriced records\n%s", got)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr is not a terminal, yet something was written to it: %q", errOut.String())
	}

	out.Reset()
	errOut.Reset()
	code = cli.Main(context.Background(), []string{"demo", "--data-dir", dir}, &out, &errOut)
	if code == 0 {
		t.Fatalf("a second demo on the same directory succeeded:\n%s", out.String())
	}
	if msg := errOut.String(); !strings.Contains(msg, "already exists and is not empty") || !strings.Contains(msg, dir) {
		t.Errorf("second demo: stderr %q; want it to say %s already exists and is not empty", msg, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "cloudmeter.db")); err != nil {
		t.Errorf("the refused run touched the first run's database: %v", err)
	}
}

// TestDemoCommandEmptyDir accepts an existing empty directory.
func TestDemoCommandEmptyDir(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := cli.Main(context.Background(), []string{"demo", "--data-dir", dir, "--resources", "5"}, &out, &errOut); code != 0 {
		t.Fatalf("demo on an empty directory: exit %d: %s", code, errOut.String())
	}
}

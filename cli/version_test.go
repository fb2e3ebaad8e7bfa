package cli

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// The commit is not checked: CI builds with -buildvcs=false, and go test never stamps it.
func checkVersionOutput(t *testing.T, out, wantVersion string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("printed %q: want 3 lines (version, commit, go)", out)
	}
	if want := "cloudmeter " + wantVersion; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if !strings.HasPrefix(lines[1], "commit: ") || lines[1] == "commit: " {
		t.Errorf("second line %q, want \"commit: <revision or unknown>\"", lines[1])
	}
	if want := "go: " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH; lines[2] != want {
		t.Errorf("third line %q, want %q", lines[2], want)
	}
}

func TestVersionCommandAndFlag(t *testing.T) {
	want := ReadBuildInfo().Version
	if want == "" {
		t.Fatal("ReadBuildInfo gave an empty version: want (devel) at least")
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runMain(t, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("cloudmeter %s: exit %d, stderr %q; want 0 and nothing", args[0], code, errOut)
		}
		if !strings.Contains(out, runtime.Version()) {
			t.Errorf("cloudmeter %s printed %q: want the Go version %s", args[0], out, runtime.Version())
		}
		checkVersionOutput(t, out, want)
	}
}

func TestVersionOverride(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v9.8.7"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runMain(t, args...)
		if code != 0 {
			t.Fatalf("cloudmeter %s: exit %d", args[0], code)
		}
		checkVersionOutput(t, out, "v9.8.7")
	}
}

func TestBuildInfoString(t *testing.T) {
	b := BuildInfo{Version: "v1.0.0", Commit: "0123abc", Modified: true, Go: "go1.99", Platform: "plan9/arm"}
	want := "cloudmeter v1.0.0\ncommit: 0123abc (modified: built with uncommitted changes)\ngo: go1.99 plan9/arm"
	if got := b.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	b.Modified = false
	if got := b.String(); !strings.Contains(got, "\ncommit: 0123abc\n") {
		t.Errorf("unmodified: got %q", got)
	}
}

func TestBareCommandPointsToHelp(t *testing.T) {
	code, out, errOut := runMain(t)
	if code != 2 {
		t.Errorf("bare cloudmeter: exit %d, want 2 (a usage error, like every other)", code)
	}
	if out != "" {
		t.Errorf("bare cloudmeter printed %q on stdout: want nothing", out)
	}
	if strings.Count(errOut, "\n") != 1 {
		t.Errorf("bare cloudmeter printed %q: want one line", errOut)
	}
	for _, want := range []string{"cloudmeter --help", "serve", "demo", "report", "version"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("bare cloudmeter printed %q: want it to name %q", errOut, want)
		}
	}
	if strings.Contains(errOut, "expected one of") {
		t.Errorf("bare cloudmeter printed kong's error %q", errOut)
	}
}

func TestHelpNamesVersion(t *testing.T) {
	code, out, _ := runMain(t, "--help")
	if code != 0 {
		t.Fatalf("cloudmeter --help: exit %d", code)
	}
	for _, want := range []string{"--version", "\n  version "} {
		if !strings.Contains(out, want) {
			t.Errorf("cloudmeter --help does not name %q:\n%s", want, out)
		}
	}
}

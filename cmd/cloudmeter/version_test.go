package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersionLdflags builds the binary with the version set by the linker, as a release
// build does, and runs `cloudmeter version`, `cloudmeter --version` and a bare `cloudmeter`.
// The commit is not checked: CI builds with -buildvcs=false.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary: skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "cloudmeter")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X github.com/cloudmeter/cloudmeter/cli.Version=v0.0.0-ldflags-test", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("cloudmeter %s: %v", arg, err)
		}
		s := string(out)
		if !strings.HasPrefix(s, "cloudmeter v0.0.0-ldflags-test\ncommit: ") {
			t.Errorf("cloudmeter %s printed %q: want the version set by -ldflags -X first", arg, s)
		}
		if !strings.Contains(s, "\ngo: "+runtime.Version()+" ") {
			t.Errorf("cloudmeter %s printed %q: want the Go version %s", arg, s, runtime.Version())
		}
	}

	cmd := exec.Command(bin)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("bare cloudmeter: %v; want exit status 2", err)
	}
	if !strings.Contains(string(out), "cloudmeter --help") {
		t.Errorf("bare cloudmeter printed %q: want it to point to cloudmeter --help", out)
	}
}

package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version, when set at link time, overrides the version read from the build information:
//
//	go build -ldflags "-X github.com/cloudmeter/cloudmeter/cli.Version=v1.2.3" ./cmd/cloudmeter
//
// It must stay a plain string variable with a constant (empty) initial value, or the
// linker's -X cannot set it.
var Version string

// BuildInfo is what `cloudmeter version` and `cloudmeter --version` print.
type BuildInfo struct {
	Version  string // Version if set, else the main module's version, else "(devel)"
	Commit   string // the vcs.revision build setting, else "unknown"
	Modified bool   // the vcs.modified build setting: the checkout had uncommitted changes
	Go       string // runtime.Version()
	Platform string // GOOS/GOARCH
}

// ReadBuildInfo reads the version from Version and runtime/debug.ReadBuildInfo. A binary
// built without VCS stamping (go run, go test, -buildvcs=false) has no commit: "unknown".
func ReadBuildInfo() BuildInfo {
	b := BuildInfo{
		Version:  "(devel)",
		Commit:   "unknown",
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" {
			b.Version = v
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if s.Value != "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if v := strings.TrimSpace(Version); v != "" {
		b.Version = v
	}
	return b
}

// String is the text printed, three lines without a final newline:
//
//	cloudmeter (devel)
//	commit: unknown
//	go: go1.26.8 linux/amd64
func (b BuildInfo) String() string {
	commit := b.Commit
	if b.Modified {
		commit += " (modified: built with uncommitted changes)"
	}
	return fmt.Sprintf("cloudmeter %s\ncommit: %s\ngo: %s %s", b.Version, commit, b.Go, b.Platform)
}

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the version, the commit and the Go version.
func (c *VersionCmd) Run(g *Globals) error {
	fmt.Fprintln(g.Stdout, ReadBuildInfo())
	return nil
}

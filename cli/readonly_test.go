package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListingCommandsNeedTheDataDirectory: the commands that only list or show refuse a
// data directory that does not exist (a typo such as ./dta), as report and keys list do,
// instead of creating an empty database and answering that it holds nothing.
func TestListingCommandsNeedTheDataDirectory(t *testing.T) {
	for _, args := range [][]string{
		{"reservations", "list", "--user", "2"},
		{"reservations", "show", "1"},
		{"installations", "list"},
		{"installations", "show", "icfg_0123456789abcdefghijklmn"},
		{"exports", "list"},
		{"exports", "status"},
		{"pull", "windows"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			missing := filepath.Join(t.TempDir(), "dta")
			code, out, errOut := runMain(t, append(args, "--data-dir", missing, "--database-url=")...)
			if code != 1 || !strings.Contains(errOut, "data directory "+missing+" does not exist") {
				t.Errorf("exit %d, stderr %q, stdout %q; want 1 and the directory named", code, errOut, out)
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Errorf("the command created %s", missing)
			}
		})
	}
}

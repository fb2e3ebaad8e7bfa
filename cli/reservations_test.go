package cli

import (
	"strings"
	"testing"
)

// TestReservationsCommands: create two reservations on a new data directory (no price
// book loaded, so no currency is named), list and show them, and refuse bad flags naming
// them.
func TestReservationsCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runMain(t, "reservations", "create", "--data-dir", dir, "--user", "1", "--server-type-id", "12",
		"--server-type-name", "M.40.256", "--datacenter", "uk-reading", "--price", "150", "--utilization-price", "0.05",
		"--start", "2024-01-31T12:00:00Z", "--cycle-months", "1", "--quantity", "2")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"1   1     12 (M.40.256)  uk-reading  2024-01-31T12:00:00Z  2024-02-29T11:59:59Z  1       150.00000000  0.05000000  expired",
		"2   1     12 (M.40.256)  uk-reading  2024-01-31T12:00:00Z  2024-02-29T11:59:59Z  1       150.00000000  0.05000000  expired",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("create printed\n%s\nwant a line %q", out, want)
		}
	}
	if code, list, _ := runMain(t, "reservations", "list", "--data-dir", dir, "--user", "1"); code != 0 || list != out {
		t.Errorf("list: exit %d:\n%s\nwant what create printed", code, list)
	}
	if code, show, _ := runMain(t, "reservations", "show", "--data-dir", dir, "2"); code != 0 || !strings.Contains(show, "\n2   1 ") || strings.Contains(show, "\n1   1 ") {
		t.Errorf("show 2: exit %d:\n%s", code, show)
	}
	if code, unused, _ := runMain(t, "reservations", "list", "--data-dir", dir, "--user", "1", "--unused"); code != 0 || unused != "no reservations\n" {
		t.Errorf("list --unused: exit %d: %q; want none (both expired)", code, unused)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--price", "1.123456789"}, "--price: "},
		{[]string{"--price", "1", "--cycle-months", "0"}, "--cycle-months: 0 must be from 1 to 120"},
		{[]string{"--price", "1", "--quantity", "1001"}, "quantity: 1001 must be from 1 to 1000"},
		{[]string{"--price", "1", "--start", "soon"}, "--start: "},
	} {
		args := append([]string{"reservations", "create", "--data-dir", dir, "--user", "1", "--server-type-id", "12", "--datacenter", "uk-reading"}, c.args...)
		if code, _, errOut := runMain(t, args...); code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q; want 1 and %q", c.args, code, errOut, c.want)
		}
	}
}

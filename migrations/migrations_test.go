package migrations

import (
	"strings"
	"testing"
)

func TestSQLiteText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"CREATE TABLE t (a BIGINT) /*+sqlite WITHOUT ROWID */;", "CREATE TABLE t (a BIGINT) WITHOUT ROWID ;"},
		{"/*+sqlite\nDROP TABLE a;\nDROP TABLE b;\n*/\n", "DROP TABLE a;\nDROP TABLE b;\n\n"},
		{"a /*+sqlite x */ b /*+sqlite y */ c", "a x  b y  c"},
		{"/* plain comment */ /*+sqlitex */", "/* plain comment */ /*+sqlitex */"},
		{"unterminated /*+sqlite x", "unterminated /*+sqlite x"},
		{"no marker", "no marker"},
	} {
		if got := string(SQLiteText([]byte(c.in))); got != c.want {
			t.Errorf("SQLiteText(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

// FuzzSQLiteText: the rewrite never fails, leaves text without the marker as it is, and
// never makes the text longer (it only removes markers and their closing "*/").
func FuzzSQLiteText(f *testing.F) {
	for _, s := range []string{"CREATE TABLE t (a BIGINT) /*+sqlite WITHOUT ROWID */;", "/*+sqlite\nDROP TABLE a;\n*/", "/*+sqlite", "/*+sqlite */*/", "x /*+sqlitey */"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := string(SQLiteText([]byte(in)))
		if !strings.Contains(in, "/*+sqlite") && out != in {
			t.Fatalf("SQLiteText(%q) = %q; text without the marker must stay as it is", in, out)
		}
		if len(out) > len(in) {
			t.Fatalf("SQLiteText(%q) = %q is longer than its input", in, out)
		}
	})
}

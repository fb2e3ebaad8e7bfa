package migrations

import "testing"

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

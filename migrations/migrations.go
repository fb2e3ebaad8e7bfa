// Package migrations holds the database schema of cloudmeter as goose migrations, one
// source of truth for every engine. The SQL stays within what SQLite, PostgreSQL and
// PostgreSQL-compatible distributed engines accept: BIGINT, TEXT and BYTEA columns,
// composite primary keys that lead with the user where a user is known, no sequences,
// no engine-only functions.
//
// SQLite-only text is written as a comment that other engines skip: "/*+sqlite TEXT */"
// is TEXT on SQLite and a comment everywhere else. Migration 4 uses it for "WITHOUT
// ROWID" (a table stored in its primary key order, as PostgreSQL-compatible distributed
// engines always store tables), migration 6 for a whole table rebuild that only SQLite
// needs. SQLite reads the files through SQLite, which turns such comments into their
// text.
package migrations

import (
	"bytes"
	"embed"
	"io"
	"io/fs"
)

// FS holds the migration files as written, for every engine but SQLite.
//
//go:embed *.sql
var FS embed.FS

// SQLite is FS with the "/*+sqlite ... */" comments turned into their text.
var SQLite fs.FS = sqliteFS{}

type sqliteFS struct{}

// Open opens a migration file of FS, rewritten by SQLiteText.
func (sqliteFS) Open(name string) (fs.File, error) {
	f, err := FS.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		return f, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	b = SQLiteText(b)
	return &memFile{Reader: bytes.NewReader(b), info: info, size: int64(len(b))}, nil
}

// ReadDir implements fs.ReadDirFS (goose lists the files with fs.Glob).
func (sqliteFS) ReadDir(name string) ([]fs.DirEntry, error) { return FS.ReadDir(name) }

// memFile is a rewritten migration file.
type memFile struct {
	*bytes.Reader
	info fs.FileInfo
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return sizedInfo{f.info, f.size}, nil }
func (f *memFile) Close() error               { return nil }

type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (i sizedInfo) Size() int64 { return i.size }

// SQLiteText turns every "/*+sqlite TEXT */" of a migration into TEXT: the marker is
// followed by a space or a line break, and TEXT may span lines (a whole migration that
// only SQLite needs).
func SQLiteText(b []byte) []byte {
	const open, end = "/*+sqlite", "*/"
	var out []byte
	for {
		i := bytes.Index(b, []byte(open))
		if i < 0 {
			return append(out, b...)
		}
		rest := b[i+len(open):]
		if len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\n' && rest[0] != '\r' && rest[0] != '\t') {
			out = append(out, b[:i+len(open)]...) // not the marker ("/*+sqlitex")
			b = rest
			continue
		}
		j := bytes.Index(rest, []byte(end))
		if j < 0 {
			return append(out, b...)
		}
		out = append(out, b[:i]...)
		out = append(out, rest[1:j]...)
		b = rest[j+len(end):]
	}
}

// Package migrations holds the database schema of cloudmeter as goose migrations, one
// source of truth for every engine. The SQL stays within what SQLite, PostgreSQL and
// PostgreSQL-compatible distributed engines accept: BIGINT, TEXT and BYTEA columns,
// composite primary keys that lead with the user where a user is known, no sequences,
// no engine-only functions.
//
// One engine-only clause is allowed, written as a comment that other engines skip:
// "/*+sqlite WITHOUT ROWID */" is "WITHOUT ROWID" on SQLite (the table is stored in its
// primary key order, as PostgreSQL-compatible distributed engines always store tables)
// and a comment everywhere else. SQLite reads the files through SQLite, which turns
// such comments into their text.
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

// SQLiteText turns every "/*+sqlite TEXT */" of a migration into TEXT.
func SQLiteText(b []byte) []byte {
	const open, end = "/*+sqlite ", "*/"
	var out []byte
	for {
		i := bytes.Index(b, []byte(open))
		if i < 0 {
			return append(out, b...)
		}
		j := bytes.Index(b[i:], []byte(end))
		if j < 0 {
			return append(out, b...)
		}
		out = append(out, b[:i]...)
		out = append(out, b[i+len(open):i+j]...)
		b = b[i+j+len(end):]
	}
}

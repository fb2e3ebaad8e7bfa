package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/storetest"
	"github.com/cloudmeter/cloudmeter/service"
	"github.com/cloudmeter/cloudmeter/sqlite"
)

// TestStore runs the storage suite on SQLite in a temporary data directory.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cloudmeter.Store {
		s, err := sqlite.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestReopen: what a store committed is there when the data directory is opened again,
// and opening migrates nothing twice.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutPriceBook(ctx, []byte(`{"currency":"GBP","entries":[]}`), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, cloudmeter.APIKey{ID: "k1", UserID: 1, Hash: service.HashKey("1:secret"), CreatedAt: 1,
		Permissions: []cloudmeter.Permission{cloudmeter.PermAdmin}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	s, err = sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if v, err := s.PriceBookVersion(ctx); err != nil || v != 1 {
		t.Errorf("PriceBookVersion after reopening = %d, %v; want 1", v, err)
	}
	if k, err := s.KeyByHash(ctx, service.HashKey("1:secret")); err != nil || k.ID != "k1" {
		t.Errorf("KeyByHash after reopening = %+v, %v", k, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrNoDataDir", func(t *testing.T) {
		_, err := sqlite.Open(ctx, "")
		if cloudmeter.KindOf(err) != cloudmeter.KindInvalid {
			t.Errorf("Open(\"\") = %v, want an invalid error", err)
		}
	})
	t.Run("ErrDataDirIsAFile", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := sqlite.Open(ctx, file)
		if cloudmeter.KindOf(err) != cloudmeter.KindUnavailable {
			t.Errorf("Open(a file) = %v, want unavailable", err)
		}
	})
}

package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/storetest"
	"github.com/cloudmeter/cloudmeter/ledger"
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

// Reads run beside the writer: while the writer lock is held and a write transaction is
// open, seven reads at once (every connection but the writer's) each read the committed
// state, none of the uncommitted write, without waiting for the writer. Every
// connection maps the database file (mmap_size).
func TestReadsBesideTheWriter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound on a hang, not a timing
	defer cancel()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := ledger.DecodeBatch("application/cloudevents-batch+json", demo.Cloud(1, 20, demo.Month)[0].JSON, ledger.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := service.New(st, service.Options{}).Ingest(ctx, service.SystemKey, evs); err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE user_id = 1`).Scan(&stored); err != nil || stored != 20 {
		t.Fatalf("%d resources stored (%v); want 20", stored, err)
	}

	release, err := st.HoldWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	tx, err := st.DB().BeginTx(ctx, nil) // BEGIN IMMEDIATE: SQLite's write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE user_id = 1`); err != nil {
		t.Fatal(err)
	}

	const readers = 7 // every connection of the store but the writer's
	var wg, open sync.WaitGroup
	open.Add(readers)
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := st.DB().Conn(ctx)
			if err != nil {
				open.Done()
				errs <- err
				return
			}
			defer conn.Close()
			open.Done()
			open.Wait() // all seven connections are out of the pool at once
			var n int
			var mmap int64
			if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE user_id = 1`).Scan(&n); err != nil {
				errs <- err
				return
			}
			if err := conn.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&mmap); err != nil {
				errs <- err
				return
			}
			if n != stored || mmap < 1<<30 {
				errs <- fmt.Errorf("a reader beside the writer saw %d resources (want %d) and mmap_size %d", n, stored, mmap)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

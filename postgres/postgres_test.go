package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/pgtest"
	"github.com/cloudmeter/cloudmeter/internal/storetest"
	"github.com/cloudmeter/cloudmeter/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestOpenMigratesAndPings(t *testing.T) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := st.PriceBookVersion(ctx); err != nil || v != 0 {
		t.Fatalf("PriceBookVersion = %d, %v; want 0, nil", v, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrMalformedURL", func(t *testing.T) {
		_, err := postgres.Open(ctx, "postgres://%zz")
		if cloudmeter.KindOf(err) != cloudmeter.KindInvalid || !strings.Contains(err.Error(), "database URL") {
			t.Fatalf("err = %v; want an invalid database URL error", err)
		}
	})
	t.Run("ErrServerDown", func(t *testing.T) {
		start := time.Now()
		_, err := postgres.Open(ctx, "postgres://nobody:secret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
		if cloudmeter.KindOf(err) != cloudmeter.KindUnavailable || !strings.Contains(err.Error(), "cannot be reached") {
			t.Fatalf("err = %v; want unavailable", err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error shows the password: %v", err)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("Open took %v to give up", time.Since(start))
		}
	})
}

// TestStore runs the storage suite, the same one SQLite runs, on a real PostgreSQL
// server.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cloudmeter.Store {
		st, err := postgres.Open(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return st
	})
}

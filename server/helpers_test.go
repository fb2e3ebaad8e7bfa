package server_test

import (
	"context"
	"testing"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/demo"
	"github.com/cloudmeter/cloudmeter/internal/storeopen"
	"github.com/cloudmeter/cloudmeter/service"
)

// seedStore opens the store (SQLite in dataDir, or PostgreSQL at dbURL when set), creates
// an admin key of user 1, loads the seed's price book, closes the store and returns the
// key: what an operator does before the first server starts.
func seedStore(t *testing.T, dataDir, dbURL, label string) string {
	t.Helper()
	ctx := context.Background()
	st, err := storeopen.Open(ctx, dataDir, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := service.New(st, service.Options{})
	key, _, err := svc.CreateKey(ctx, service.SystemKey, 1, []cloudmeter.Permission{cloudmeter.PermAdmin}, label)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutPrices(ctx, service.SystemKey, demo.SeedPrices); err != nil {
		t.Fatal(err)
	}
	return key
}

package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
)

// RunKeys runs the cases of the KeyStore role: keys created, found by hash, refused when
// taken, revoked and listed. open must return a new, empty store each time it is called.
func RunKeys(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"Keys", testKeys},
	})
}

func testKeys(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	k1 := cloudmeter.APIKey{ID: "k-one", UserID: 9, Hash: "hash-one", Label: "ingest", CreatedAt: t0,
		Permissions: []cloudmeter.Permission{cloudmeter.PermEventsWrite, cloudmeter.PermPricesRead}}
	k2 := cloudmeter.APIKey{ID: "k-two", UserID: 10, Hash: "hash-two", CreatedAt: t0 + 1, Permissions: []cloudmeter.Permission{cloudmeter.PermAdmin}}
	for _, k := range []cloudmeter.APIKey{k1, k2} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatalf("CreateKey(%s): %v", k.ID, err)
		}
	}
	got, err := s.KeyByHash(ctx, "hash-one")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k1, got); diff != "" {
		t.Errorf("KeyByHash (-created +stored):\n%s", diff)
	}
	_, err = s.KeyByHash(ctx, "hash-nope")
	wantKind(t, "KeyByHash of an unknown hash", err, cloudmeter.KindNotFound)
	if ok, err := s.UserExists(ctx, 9); err != nil || !ok {
		t.Errorf("UserExists(9) = %v, %v; a user with a key exists", ok, err)
	}

	err = s.CreateKey(ctx, cloudmeter.APIKey{ID: "k-one", UserID: 11, Hash: "hash-three", CreatedAt: t0, Permissions: k1.Permissions})
	wantKind(t, "CreateKey with a taken id", err, cloudmeter.KindConflict)
	err = s.CreateKey(ctx, cloudmeter.APIKey{ID: "k-three", UserID: 11, Hash: "hash-one", CreatedAt: t0, Permissions: k1.Permissions})
	wantKind(t, "CreateKey with a taken hash", err, cloudmeter.KindConflict)

	if err := s.RevokeKey(ctx, "k-one", t0+100); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	_, err = s.KeyByHash(ctx, "hash-one")
	wantKind(t, "KeyByHash of a revoked key", err, cloudmeter.KindNotFound)
	wantKind(t, "RevokeKey twice", s.RevokeKey(ctx, "k-one", t0+200), cloudmeter.KindNotFound)
	wantKind(t, "RevokeKey of an unknown id", s.RevokeKey(ctx, "k-nope", t0+200), cloudmeter.KindNotFound)

	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revoked := k1
	revoked.RevokedAt = t0 + 100
	if diff := cmp.Diff([]cloudmeter.APIKey{revoked, k2}, keys); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	if got, err := s.KeyByHash(ctx, "hash-two"); err != nil || got.ID != "k-two" {
		t.Errorf("KeyByHash(hash-two) = %+v, %v", got, err)
	}
}

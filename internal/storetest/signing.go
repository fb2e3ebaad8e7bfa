package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudmeter/cloudmeter"
)

// RunSigningKeys runs the cases of the SigningKeyStore role: signing keys stored with
// their sealed secret, found by user while live, listed and found by hash like any key.
func RunSigningKeys(t *testing.T, open func(t *testing.T) cloudmeter.Store) {
	runTests(t, open, []suiteTest{
		{"SigningKeys", testSigningKeys},
	})
}

func testSigningKeys(t *testing.T, s cloudmeter.Store) {
	ctx := ctxOf(t)
	plain := cloudmeter.APIKey{ID: "k-plain", UserID: 5, Hash: "hash-plain", CreatedAt: t0}
	if err := s.CreateKey(ctx, plain); err != nil {
		t.Fatal(err)
	}
	a := cloudmeter.SigningKey{APIKey: cloudmeter.APIKey{ID: "k-a", UserID: 5, Hash: "hash-a", Label: "sdk", CreatedAt: t0 + 1, Signing: true,
		Permissions: []cloudmeter.Permission{cloudmeter.PermUtilizationReportsRead}}, Sealed: []byte{0, 1, 2, 250, 255}}
	b := cloudmeter.SigningKey{APIKey: cloudmeter.APIKey{ID: "k-b", UserID: 5, Hash: "hash-b", CreatedAt: t0 + 2, Signing: true}, Sealed: []byte("sealed-b")}
	other := cloudmeter.SigningKey{APIKey: cloudmeter.APIKey{ID: "k-o", UserID: 6, Hash: "hash-o", CreatedAt: t0, Signing: true}, Sealed: []byte("sealed-o")}
	for _, k := range []cloudmeter.SigningKey{a, b, other} {
		if err := s.CreateSigningKey(ctx, k); err != nil {
			t.Fatalf("CreateSigningKey(%s): %v", k.ID, err)
		}
	}
	wantKind(t, "CreateSigningKey with a taken hash", s.CreateSigningKey(ctx, cloudmeter.SigningKey{
		APIKey: cloudmeter.APIKey{ID: "k-c", UserID: 5, Hash: "hash-a", CreatedAt: t0}, Sealed: []byte("x")}), cloudmeter.KindConflict)

	got, err := s.SigningKeys(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]cloudmeter.SigningKey{a, b}, got); diff != "" {
		t.Errorf("SigningKeys(5): a hash-only key is no signing key, another user's neither (-want +got):\n%s", diff)
	}
	if k, err := s.KeyByHash(ctx, "hash-a"); err != nil || !k.Signing || k.ID != "k-a" {
		t.Errorf("KeyByHash(hash-a) = %+v, %v; a signing key is a key like any other", k, err)
	}
	if err := s.RevokeKey(ctx, "k-a", t0+10); err != nil {
		t.Fatal(err)
	}
	got, err = s.SigningKeys(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]cloudmeter.SigningKey{b}, got); diff != "" {
		t.Errorf("SigningKeys(5) after revoking k-a (-want +got):\n%s", diff)
	}
	if got, err := s.SigningKeys(ctx, 7); err != nil || len(got) != 0 {
		t.Errorf("SigningKeys(7) = %v, %v; want none", got, err)
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signing := map[string]bool{}
	for _, k := range keys {
		signing[k.ID] = k.Signing
	}
	if diff := cmp.Diff(map[string]bool{"k-plain": false, "k-a": true, "k-b": true, "k-o": true}, signing); diff != "" {
		t.Errorf("Keys: which are signing keys (-want +got):\n%s", diff)
	}
}

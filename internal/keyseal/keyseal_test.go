package keyseal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustNew(t *testing.T, secret string) *Sealer {
	t.Helper()
	s, err := New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	s := mustNew(t, strings.Repeat("a", 32))
	key := []byte("1:the-whole-api-key")
	sealed, err := s.Seal("k1", key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, key) || bytes.Contains(sealed, []byte("the-whole-api-key")) {
		t.Fatalf("the sealed secret holds the key in plain: %q", sealed)
	}
	got, err := s.Open("k1", sealed)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("Open = %q, %v; want %q", got, err, key)
	}
	again, _ := s.Seal("k1", key)
	if bytes.Equal(again, sealed) {
		t.Errorf("two seals of one secret are equal: the nonce is not random")
	}

	for name, open := range map[string]func() ([]byte, error){
		"OtherServerSecret": func() ([]byte, error) { return mustNew(t, strings.Repeat("b", 32)).Open("k1", sealed) },
		"OtherKeyID":        func() ([]byte, error) { return s.Open("k2", sealed) },
		"Altered": func() ([]byte, error) {
			b := bytes.Clone(sealed)
			b[len(b)-1] ^= 1
			return s.Open("k1", b)
		},
		"Short": func() ([]byte, error) { return s.Open("k1", sealed[:10]) },
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := open(); !errors.Is(err, ErrOpen) || got != nil {
				t.Errorf("Open = %q, %v; want ErrOpen", got, err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("too-short-secret\n"), 0o600)
	if _, err := Load(short); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") || strings.Contains(err.Error(), "too-short-secret") {
		t.Errorf("Load(short) = %v; want the rule, never the secret", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), Flag) {
		t.Errorf("Load(missing) = %v; want an error naming %s", err, Flag)
	}
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("  "+strings.Repeat("c", 40)+"\n"), 0o600)
	s, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := s.Seal("k", []byte("x"))
	if _, err := mustNew(t, strings.Repeat("c", 40)).Open("k", sealed); err != nil {
		t.Errorf("white space around the secret in its file is not ignored: %v", err)
	}
}

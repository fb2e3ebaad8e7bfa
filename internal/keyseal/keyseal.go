// Package keyseal seals the secrets of signing keys under the operator's server secret
// (AES-256-GCM with a key derived by HKDF-SHA256), so that the database holds only what
// is useless without that secret. The key's id is bound to each sealed secret as
// additional data: a sealed secret copied to another key's row does not open.
package keyseal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
)

// MinSecretBytes is the shortest server secret accepted.
const MinSecretBytes = 32

// Flag and Env name where the operator gives the server secret, for error messages.
const (
	Flag = "--secret-file"
	Env  = "CLOUDMETER_SECRET_FILE"
)

// Sealer seals and opens secrets under one server secret.
type Sealer struct{ aead cipher.AEAD }

// New returns a Sealer for a server secret of at least MinSecretBytes bytes.
func New(serverSecret []byte) (*Sealer, error) {
	if len(serverSecret) < MinSecretBytes {
		return nil, fmt.Errorf("the server secret must hold at least %d bytes, it holds %d (make one with: head -c 32 /dev/urandom | base64 > FILE)",
			MinSecretBytes, len(serverSecret))
	}
	key, err := hkdf.Key(sha256.New, serverSecret, nil, "cloudmeter signing keys v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Load reads the server secret from a file (its surrounding white space ignored) and
// returns its Sealer. The error names the file but never shows its content.
func Load(path string) (*Sealer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", Flag, path, err)
	}
	s, err := New(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", Flag, path, err)
	}
	return s, nil
}

// Seal encrypts secret for the key keyID: a random nonce followed by the ciphertext.
func (s *Sealer) Seal(keyID string, secret []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, secret, []byte(keyID)), nil
}

// ErrOpen is returned for a sealed secret that does not open: sealed under another
// server secret, for another key, or altered.
var ErrOpen = errors.New("keyseal: the sealed secret does not open with this server secret")

// Open decrypts a secret sealed for keyID.
func (s *Sealer) Open(keyID string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(keyID))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

package cloudmeter

import "context"

// SigningKey is a key made for signing requests (MetalSoft's SDKs sign each request's
// body with the whole key instead of sending it, DESIGN 4), with its secret sealed: the
// key itself encrypted under the operator's server secret, which the database never
// holds. A row of the database alone gives no usable secret.
type SigningKey struct {
	APIKey
	// Sealed is the key encrypted under the server secret (package keyseal).
	Sealed []byte
}

// SigningKeyStore keeps the sealed secrets of signing keys beside their hashes, so that a
// signed request can be verified. Every other key stays hash-only.
//
// Every method may return KindUnavailable when the database cannot be reached.
type SigningKeyStore interface {
	// CreateSigningKey stores a new key with its sealed secret. Errors: KindConflict when
	// its ID or hash is taken.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// SigningKeys returns the live signing keys of a user, oldest first.
	SigningKeys(ctx context.Context, userID int64) ([]SigningKey, error)
}

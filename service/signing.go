package service

import (
	"context"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/keyseal"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// CreateSigningKey makes a key that can also sign requests, as MetalSoft's SDKs do: besides
// its hash, its secret is kept sealed under the server secret, so that a signature can be
// checked. It is used like any other key otherwise (as a Bearer key too).
//
// Errors: those of CreateKey; KindInvalid (naming "signing") when the service has no
// server secret to seal it under.
func (s *Service) CreateSigningKey(ctx context.Context, caller cloudmeter.APIKey, userID int64, perms []cloudmeter.Permission, label string) (string, cloudmeter.APIKey, error) {
	if s.sealer == nil {
		return "", cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindInvalid,
			"signing: a signing key needs the server secret, and this server was started without one: give %s FILE (or %s), the file the server is started with", keyseal.Flag, keyseal.Env)
	}
	return s.createKey(ctx, caller, userID, perms, label, true)
}

// AuthenticateSigned finds the live signing key of userID whose whole key, as verify
// checks it, signed the request (verify computes the signature with that key and compares
// it with the one sent, in constant time). The keys' secrets never leave the service.
//
// Errors: KindUnauthenticated about SubjectAPIKey when no live signing key of the user
// made the signature (a wrong or altered signature, a revoked key, another user's key),
// or when the server has no server secret to verify with.
func (s *Service) AuthenticateSigned(ctx context.Context, userID int64, verify func(key []byte) bool) (cloudmeter.APIKey, error) {
	if s.sealer == nil {
		return cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindUnauthenticated,
			"not authenticated: this server verifies no signed requests (it was started without %s); send Authorization: Bearer <api key>", keyseal.Flag).
			About(cloudmeter.SubjectAPIKey)
	}
	keys, err := s.store.SigningKeys(ctx, userID)
	if err != nil {
		return cloudmeter.APIKey{}, err
	}
	for _, k := range keys {
		secret, err := s.sealer.Open(k.ID, k.Sealed)
		if err != nil {
			// Sealed under another server secret: this key cannot sign here. Said once
			// per attempt, without any secret.
			s.log.WarnContext(ctx, "a signing key does not open with this server's secret: was --secret-file changed?", "key", k.ID)
			continue
		}
		ok := verify(secret)
		clear(secret)
		if ok {
			reqinfo.SetKey(ctx, k.ID)
			return k.APIKey, nil
		}
	}
	return cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindUnauthenticated,
		"API key not found: the signature matches no live signing key of user %d (a wrong signature, an altered body, or a revoked key)", userID).
		About(cloudmeter.SubjectAPIKey)
}

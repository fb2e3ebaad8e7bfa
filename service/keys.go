package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/cloudmeter/cloudmeter"
	"github.com/cloudmeter/cloudmeter/internal/reqinfo"
)

// HashKey returns the stored form of an API key: the hex SHA-256 of the whole key. Keys
// carry 256 random bits, so a fast hash is enough.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Authenticate checks an Authorization header value ("Bearer <key>").
//
// Errors: KindUnauthenticated when there is no key, and about SubjectAPIKey when it
// matches no live key.
func (s *Service) Authenticate(ctx context.Context, authorization string) (cloudmeter.APIKey, error) {
	raw := strings.TrimSpace(authorization)
	if raw == "" {
		return cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "not authenticated: send the header Authorization: Bearer <api key>")
	}
	scheme, key, ok := strings.Cut(raw, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "not authenticated: the Authorization header must be \"Bearer <api key>\"")
	}
	return s.AuthenticateKey(ctx, strings.TrimSpace(key))
}

// AuthenticateKey checks a bare API key.
//
// Errors: KindUnauthenticated when empty, and about SubjectAPIKey when it matches no
// live key.
func (s *Service) AuthenticateKey(ctx context.Context, key string) (cloudmeter.APIKey, error) {
	if key == "" {
		return cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindUnauthenticated, "not authenticated: no API key was sent")
	}
	k, err := s.store.KeyByHash(ctx, HashKey(key))
	if cloudmeter.KindOf(err) == cloudmeter.KindNotFound {
		return cloudmeter.APIKey{}, &cloudmeter.Error{Kind: cloudmeter.KindUnauthenticated, Subject: cloudmeter.SubjectAPIKey,
			Message: cloudmeter.MessageOf(err), Err: err}
	}
	if err != nil {
		return cloudmeter.APIKey{}, err
	}
	reqinfo.SetKey(ctx, k.ID)
	return k, nil
}

// CreateKey makes a new key for user with the given permissions and returns the key
// itself, which is shown once and never stored.
//
// A key with no permission is a customer's key: it reads its own user's usage and
// nothing else.
//
// Errors: KindForbidden when the caller is not an admin; KindInvalid for a bad user id
// or a label that is not text of at most cloudmeter.MaxTextBytes.
func (s *Service) CreateKey(ctx context.Context, caller cloudmeter.APIKey, userID int64, perms []cloudmeter.Permission, label string) (string, cloudmeter.APIKey, error) {
	return s.createKey(ctx, caller, userID, perms, label, false)
}

func (s *Service) createKey(ctx context.Context, caller cloudmeter.APIKey, userID int64, perms []cloudmeter.Permission, label string, signing bool) (string, cloudmeter.APIKey, error) {
	if err := caller.Require(cloudmeter.PermAdmin); err != nil {
		return "", cloudmeter.APIKey{}, err
	}
	if userID <= 0 {
		return "", cloudmeter.APIKey{}, cloudmeter.Errorf(cloudmeter.KindInvalid, "user: must be a user id above 0")
	}
	if err := cloudmeter.CheckText("label", label, cloudmeter.MaxTextBytes); err != nil {
		return "", cloudmeter.APIKey{}, err
	}
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", cloudmeter.APIKey{}, cloudmeter.Internal(err)
	}
	plain := strconv.FormatInt(userID, 10) + ":" + base64.RawURLEncoding.EncodeToString(secret[:])
	hash := HashKey(plain)
	k := cloudmeter.APIKey{ID: "k" + hash[:11], UserID: userID, Hash: hash, Label: label, Permissions: perms, CreatedAt: s.Now()}
	if signing {
		k.Signing = true
		sealed, err := s.sealer.Seal(k.ID, []byte(plain))
		if err != nil {
			return "", cloudmeter.APIKey{}, cloudmeter.Internal(err)
		}
		if err := s.store.CreateSigningKey(ctx, cloudmeter.SigningKey{APIKey: k, Sealed: sealed}); err != nil {
			return "", cloudmeter.APIKey{}, err
		}
		return plain, k, nil
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		return "", cloudmeter.APIKey{}, err
	}
	return plain, k, nil
}

// Keys lists every key. Errors: KindForbidden without admin.
func (s *Service) Keys(ctx context.Context, key cloudmeter.APIKey) ([]cloudmeter.APIKey, error) {
	if err := key.Require(cloudmeter.PermAdmin); err != nil {
		return nil, err
	}
	return s.store.Keys(ctx)
}

// RevokeKey revokes a key by id.
//
// Errors: KindForbidden without admin; KindInvalid for an id that is no text;
// KindNotFound.
func (s *Service) RevokeKey(ctx context.Context, key cloudmeter.APIKey, id string) error {
	if err := key.Require(cloudmeter.PermAdmin); err != nil {
		return err
	}
	if err := cloudmeter.CheckText("id", id, cloudmeter.MaxNameBytes); err != nil {
		return err
	}
	return s.store.RevokeKey(ctx, id, s.Now())
}

// SystemKey is the caller the command line acts as: the operator, who works on the
// database directly, with every permission and no user of its own. It is never stored
// and no request can authenticate as it.
var SystemKey = cloudmeter.APIKey{ID: "system", Permissions: []cloudmeter.Permission{cloudmeter.PermAdmin}}

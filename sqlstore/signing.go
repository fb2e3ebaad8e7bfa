package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/cloudmeter/cloudmeter"
)

// CreateSigningKey stores a new key with its sealed secret (base64 in api_keys.sealed_secret).
func (s *Store) CreateSigningKey(ctx context.Context, k cloudmeter.SigningKey) error {
	if len(k.Sealed) == 0 {
		return cloudmeter.Internal(errNoSealedSecret)
	}
	k.Signing = true
	return s.insertKey(ctx, k.APIKey, base64.StdEncoding.EncodeToString(k.Sealed))
}

var errNoSealedSecret = errors.New("sqlstore: a signing key needs a sealed secret")

// SigningKeys returns the live signing keys of a user, oldest first: one seek of the
// primary key (user_id, id).
func (s *Store) SigningKeys(ctx context.Context, userID int64) ([]cloudmeter.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT `+keyColumns+`, sealed_secret FROM api_keys
		WHERE user_id = ? AND revoked_at = 0 AND sealed_secret <> '' ORDER BY created_at, id`), userID)
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.SigningKey
	for rows.Next() {
		var k cloudmeter.SigningKey
		var sealed string
		var perms string
		if err := rows.Scan(&k.UserID, &k.ID, &k.Hash, &k.Label, &perms, &k.CreatedAt, &k.RevokedAt, &k.Signing, &sealed); err != nil {
			return nil, s.err(err)
		}
		k.Permissions = splitPermissions(perms)
		if k.Sealed, err = base64.StdEncoding.DecodeString(sealed); err != nil {
			return nil, cloudmeter.Internal(err)
		}
		out = append(out, k)
	}
	return out, s.err(rows.Err())
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/cloudmeter/cloudmeter"
)

// PutPriceBook stores a new version of the price book.
func (s *Store) PutPriceBook(ctx context.Context, body []byte, now int64) (cloudmeter.StoredPriceBook, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return cloudmeter.StoredPriceBook{}, s.err(err)
	}
	defer tx.Rollback()
	var v int64
	if err := tx.QueryRowContext(ctx, s.rb(`SELECT COALESCE(MAX(version), 0) + 1 FROM price_books`)).Scan(&v); err != nil {
		return cloudmeter.StoredPriceBook{}, s.err(err)
	}
	if _, err := tx.ExecContext(ctx, s.rb(`INSERT INTO price_books (version, body, created_at) VALUES (?, ?, ?)`), v, string(body), now); err != nil {
		return cloudmeter.StoredPriceBook{}, s.err(err)
	}
	if err := tx.Commit(); err != nil {
		return cloudmeter.StoredPriceBook{}, s.err(err)
	}
	return cloudmeter.StoredPriceBook{Version: v, Body: body, CreatedAt: now}, nil
}

// PriceBook returns the newest price book.
func (s *Store) PriceBook(ctx context.Context) (cloudmeter.StoredPriceBook, error) {
	var b cloudmeter.StoredPriceBook
	var body string
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT version, body, created_at FROM price_books ORDER BY version DESC LIMIT 1`)).Scan(&b.Version, &body, &b.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return b, cloudmeter.Errorf(cloudmeter.KindNotFound, "no price book has been loaded yet: PUT /api/v1/prices or run cloudmeter prices import FILE")
	}
	b.Body = []byte(body)
	return b, s.err(err)
}

// PriceBookVersion returns the newest version number, 0 when there is none.
func (s *Store) PriceBookVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, s.rb(`SELECT COALESCE(MAX(version), 0) FROM price_books`)).Scan(&v)
	return v, s.err(err)
}

// PriceBookVersions lists the versions kept, newest first.
func (s *Store) PriceBookVersions(ctx context.Context) ([]cloudmeter.StoredPriceBook, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT version, created_at FROM price_books ORDER BY version DESC`))
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.StoredPriceBook
	for rows.Next() {
		var b cloudmeter.StoredPriceBook
		if err := rows.Scan(&b.Version, &b.CreatedAt); err != nil {
			return nil, s.err(err)
		}
		out = append(out, b)
	}
	return out, s.err(rows.Err())
}

// CreateKey stores a new key.
func (s *Store) CreateKey(ctx context.Context, k cloudmeter.APIKey) error {
	return s.insertKey(ctx, k, "")
}

// insertKey stores a key with its sealed secret, base64 ("" for a hash-only key).
func (s *Store) insertKey(ctx context.Context, k cloudmeter.APIKey, sealed string) error {
	perms := make([]string, len(k.Permissions))
	for i, p := range k.Permissions {
		perms[i] = string(p)
	}
	_, err := s.db.ExecContext(ctx, s.rb(`INSERT INTO api_keys (user_id, id, hash, label, permissions, created_at, revoked_at, sealed_secret) VALUES (?, ?, ?, ?, ?, ?, 0, ?)`),
		k.UserID, k.ID, k.Hash, k.Label, strings.Join(perms, ","), k.CreatedAt, sealed)
	return s.err(err)
}

const keyColumns = `user_id, id, hash, label, permissions, created_at, revoked_at, sealed_secret <> ''`

func scanKey(sc interface{ Scan(...any) error }) (cloudmeter.APIKey, error) {
	var k cloudmeter.APIKey
	var perms string
	if err := sc.Scan(&k.UserID, &k.ID, &k.Hash, &k.Label, &perms, &k.CreatedAt, &k.RevokedAt, &k.Signing); err != nil {
		return k, err
	}
	k.Permissions = splitPermissions(perms)
	return k, nil
}

func splitPermissions(perms string) []cloudmeter.Permission {
	var out []cloudmeter.Permission
	for _, p := range strings.Split(perms, ",") {
		if p != "" {
			out = append(out, cloudmeter.Permission(p))
		}
	}
	return out
}

// KeyByHash returns the live key with the given hash.
func (s *Store) KeyByHash(ctx context.Context, hash string) (cloudmeter.APIKey, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, s.rb(`SELECT `+keyColumns+` FROM api_keys WHERE hash = ? AND revoked_at = 0`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, cloudmeter.Errorf(cloudmeter.KindNotFound, "API key not found: it is unknown or revoked").About(cloudmeter.SubjectAPIKey)
	}
	return k, s.err(err)
}

// Keys lists all keys.
func (s *Store) Keys(ctx context.Context) ([]cloudmeter.APIKey, error) {
	rows, err := s.db.QueryContext(ctx, s.rb(`SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, id`))
	if err != nil {
		return nil, s.err(err)
	}
	defer rows.Close()
	var out []cloudmeter.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, s.err(err)
		}
		out = append(out, k)
	}
	return out, s.err(rows.Err())
}

// RevokeKey revokes a key.
func (s *Store) RevokeKey(ctx context.Context, id string, now int64) error {
	res, err := s.db.ExecContext(ctx, s.rb(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0`), now, id)
	if err != nil {
		return s.err(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return cloudmeter.Errorf(cloudmeter.KindNotFound, "key %s: no live key has this id", id)
	}
	return nil
}

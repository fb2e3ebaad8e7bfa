-- +goose Up
-- Keys made for signing requests keep their secret sealed (encrypted under the server
-- secret, which the database never holds), base64; '' for every other key, which stays
-- hash-only.
ALTER TABLE api_keys ADD COLUMN sealed_secret TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_keys DROP COLUMN sealed_secret;

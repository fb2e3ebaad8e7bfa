-- +goose Up
-- Organizations and prepaid credit.

-- The users put in another organization than their own. A user without a row belongs to
-- its own organization, whose id is its user id; putting it back there deletes its row.
CREATE TABLE organization_members (
    user_id         BIGINT NOT NULL PRIMARY KEY,
    organization_id BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX organization_members_organization ON organization_members (organization_id, user_id);

-- One prepaid account per organization: balance is the sum of its top-ups (a count of
-- 1e-8, as every amount), top_ups how many there were (the seq of the last one, which a
-- top-up compares and sets so that concurrent top-ups never lose one), threshold and
-- spend_from (0: from first_top_up_at) its settings. What the organization spent is not
-- stored: it is computed from the ledger when read.
CREATE TABLE credit_accounts (
    organization_id BIGINT NOT NULL PRIMARY KEY,
    balance         BIGINT NOT NULL,
    top_ups         BIGINT NOT NULL,
    first_top_up_at BIGINT NOT NULL,
    threshold       BIGINT NOT NULL,
    spend_from      BIGINT NOT NULL,
    settings_at     BIGINT NOT NULL,
    settings_by     TEXT   NOT NULL
);

-- The audit of every top-up: appended with the account's update, never edited.
CREATE TABLE credit_top_ups (
    organization_id BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    amount          BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    by_key          TEXT   NOT NULL,
    by_user         BIGINT NOT NULL,
    note            TEXT   NOT NULL,
    PRIMARY KEY (organization_id, seq)
);

-- +goose Down
DROP TABLE credit_top_ups;
DROP TABLE credit_accounts;
DROP TABLE organization_members;

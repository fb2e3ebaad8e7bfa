-- +goose Up
-- Marketplace installations and the billing data their partners submit.

-- One row per installation of a partner for a user. The access token is kept only as
-- the hex SHA-256 of itself; uninstalled_at and finalized_at are 0 until they happen.
CREATE TABLE marketplace_installations (
    id             TEXT   NOT NULL PRIMARY KEY,
    partner        TEXT   NOT NULL,
    user_id        BIGINT NOT NULL,
    currency       TEXT   NOT NULL,
    token_hash     TEXT   NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    uninstalled_at BIGINT NOT NULL,
    finalized_at   BIGINT NOT NULL
);
CREATE INDEX marketplace_installations_user ON marketplace_installations (user_id, id);

-- The billing data kept per installation and slot (day, week or month, named by its
-- first second): only the submission with the latest timestamp_ms (milliseconds of the
-- partner's clock), ties broken by the larger tiebreak (the first 63 bits of the body's
-- SHA-256), which a conditional upsert decides in one statement. Amounts are the
-- partner's decimal strings, exact; billing and usage_json the members as sent.
CREATE TABLE marketplace_billing (
    installation_id TEXT   NOT NULL,
    slot            TEXT   NOT NULL,
    slot_start      BIGINT NOT NULL,
    timestamp_ms    BIGINT NOT NULL,
    tiebreak        BIGINT NOT NULL,
    digest          TEXT   NOT NULL,
    eod_ms          BIGINT NOT NULL,
    period_start_ms BIGINT NOT NULL,
    period_end_ms   BIGINT NOT NULL,
    day             BIGINT NOT NULL,
    items_total     TEXT   NOT NULL,
    discounts_total TEXT   NOT NULL,
    items           BIGINT NOT NULL,
    usage_metrics   BIGINT NOT NULL,
    anomalies       TEXT   NOT NULL,
    billing         TEXT   NOT NULL,
    usage_json      TEXT   NOT NULL,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (installation_id, slot, slot_start)
) /*+sqlite WITHOUT ROWID */;

-- +goose Down
DROP TABLE marketplace_billing;
DROP TABLE marketplace_installations;

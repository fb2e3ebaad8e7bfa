-- +goose Up
-- Partners' invoices, prepaid balances and resource states.

-- An invoice as the partner submitted it (items and discounts as sent, amounts exact),
-- with its state and the refunds requested. external_id is unique per installation.
-- version counts the invoice's changes, for compare-and-set updates.
CREATE TABLE marketplace_invoices (
    installation_id TEXT   NOT NULL,
    id              TEXT   NOT NULL,
    external_id     TEXT   NOT NULL,
    invoice_date_ms BIGINT NOT NULL,
    period_start_ms BIGINT NOT NULL,
    period_end_ms   BIGINT NOT NULL,
    memo            TEXT   NOT NULL,
    items           TEXT   NOT NULL,
    discounts       TEXT   NOT NULL,
    total           TEXT   NOT NULL,
    refunded        TEXT   NOT NULL,
    refund_reason   TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    final           BIGINT NOT NULL,
    test            BIGINT NOT NULL,
    anomalies       TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    PRIMARY KEY (installation_id, id),
    UNIQUE (installation_id, external_id)
);

-- The latest prepaid balance of each resource ('' for the installation as a whole).
CREATE TABLE marketplace_balances (
    installation_id         TEXT   NOT NULL,
    resource_id             TEXT   NOT NULL,
    timestamp_ms            BIGINT NOT NULL,
    credit                  TEXT   NOT NULL,
    name_label              TEXT   NOT NULL,
    currency_value_in_cents BIGINT NOT NULL,
    received_at             BIGINT NOT NULL,
    PRIMARY KEY (installation_id, resource_id)
);

-- The latest state a partner reported of each of its resources.
CREATE TABLE marketplace_resources (
    installation_id TEXT   NOT NULL,
    resource_id     TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (installation_id, resource_id)
);

-- +goose Down
DROP TABLE marketplace_resources;
DROP TABLE marketplace_balances;
DROP TABLE marketplace_invoices;

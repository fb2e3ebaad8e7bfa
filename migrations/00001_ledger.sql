-- +goose Up
-- The ledger: every event ever accepted, identified forever by (source, id).
CREATE TABLE events (
    source      TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    product_id  BIGINT NOT NULL,
    type        TEXT   NOT NULL,
    occurred_at BIGINT NOT NULL,
    subject     TEXT   NOT NULL DEFAULT '',
    digest      TEXT   NOT NULL,
    data        TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (source, id)
);
CREATE INDEX events_product ON events (product_id);

-- Users known to cloudmeter: owners of resources and of keys.
CREATE TABLE users (
    user_id BIGINT NOT NULL PRIMARY KEY
);

-- The current view of each provisioned product, derived by rating.
CREATE TABLE resources (
    user_id              BIGINT NOT NULL,
    product_id           BIGINT NOT NULL,
    infrastructure_id    BIGINT NOT NULL,
    infrastructure_label TEXT   NOT NULL,
    datacenter           TEXT   NOT NULL,
    type                 TEXT   NOT NULL,
    label                TEXT   NOT NULL,
    subdomain            TEXT   NOT NULL,
    exclude_billing      BIGINT NOT NULL,
    attributes           TEXT   NOT NULL,
    state                TEXT   NOT NULL,
    provisioned_at       BIGINT NOT NULL,
    deleted_at           BIGINT NOT NULL,
    rated_generation     BIGINT NOT NULL,
    PRIMARY KEY (user_id, product_id)
);
CREATE UNIQUE INDEX resources_product ON resources (product_id);
CREATE INDEX resources_datacenter ON resources (datacenter);
CREATE INDEX resources_infrastructure ON resources (user_id, infrastructure_id, deleted_at);

-- Infrastructures, as their resources' provisions name them.
CREATE TABLE infrastructures (
    user_id           BIGINT NOT NULL,
    infrastructure_id BIGINT NOT NULL,
    label             TEXT   NOT NULL,
    datacenter        TEXT   NOT NULL,
    PRIMARY KEY (user_id, infrastructure_id)
);

-- Usage spans: closed second intervals over which nothing that affects a price changed.
-- ends_at is 4611686018427387903 while the resource lives.
CREATE TABLE spans (
    user_id                  BIGINT NOT NULL,
    product_id               BIGINT NOT NULL,
    starts_at                BIGINT NOT NULL,
    ends_at                  BIGINT NOT NULL,
    infrastructure_id        BIGINT NOT NULL,
    datacenter               TEXT   NOT NULL,
    type                     TEXT   NOT NULL,
    label                    TEXT   NOT NULL,
    subdomain                TEXT   NOT NULL,
    exclude_billing          BIGINT NOT NULL,
    state                    TEXT   NOT NULL,
    server_type_id           BIGINT,
    server_type_name         TEXT,
    drive_size_mbytes        BIGINT,
    shared_drive_size_mbytes BIGINT,
    storage_type             TEXT,
    subnet_type              TEXT,
    subnet_prefix_size       BIGINT,
    measurement_period       BIGINT,
    PRIMARY KEY (user_id, product_id, starts_at)
);
CREATE INDEX spans_product ON spans (product_id);

-- Anomalies found by rating, rewritten with each re-rating of their product.
CREATE TABLE anomalies (
    product_id   BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    user_id      BIGINT NOT NULL,
    kind         TEXT   NOT NULL,
    message      TEXT   NOT NULL,
    event_source TEXT   NOT NULL,
    event_id     TEXT   NOT NULL,
    occurred_at  BIGINT NOT NULL,
    PRIMARY KEY (product_id, seq)
);
CREATE INDEX anomalies_user ON anomalies (user_id);

-- Every version of the price book; the newest is in force.
CREATE TABLE price_books (
    version    BIGINT NOT NULL PRIMARY KEY,
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- API keys, stored only as hashes.
CREATE TABLE api_keys (
    user_id     BIGINT NOT NULL,
    id          TEXT   NOT NULL,
    hash        TEXT   NOT NULL,
    label       TEXT   NOT NULL,
    permissions TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, id)
);
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE price_books;
DROP TABLE anomalies;
DROP TABLE spans;
DROP TABLE infrastructures;
DROP TABLE resources;
DROP TABLE users;
DROP TABLE events;

-- +goose Up
-- A product's spans move into its resources row as one encoded value (sqlstore's span
-- codec): re-rating a product rewrites one row instead of deleting and inserting one row
-- per span, and a report reads one row per resource. The table is rebuilt so that SQLite
-- stores it in primary key order (a user's resources side by side, as distributed
-- engines store every table). Rows rated before this migration hold no encoded spans
-- until they are rated again: the migration leaves a task that the store carries out when
-- it is next opened (it re-rates every product from the ledger, which is unchanged).
CREATE TABLE resources_v2 (
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
    spans                BYTEA,
    PRIMARY KEY (user_id, product_id)
) /*+sqlite WITHOUT ROWID */;
INSERT INTO resources_v2 (user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label, subdomain,
    exclude_billing, attributes, state, provisioned_at, deleted_at, rated_generation)
    SELECT user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label, subdomain,
    exclude_billing, attributes, state, provisioned_at, deleted_at, rated_generation FROM resources;

-- Datacenters that resources live in, so that checking a datacenter name needs no index
-- over every resource.
CREATE TABLE datacenters (
    name TEXT NOT NULL PRIMARY KEY
);
INSERT INTO datacenters (name) SELECT DISTINCT datacenter FROM resources;

-- Work left by a migration for the store to finish with code (see above).
CREATE TABLE store_tasks (
    name TEXT NOT NULL PRIMARY KEY
);
INSERT INTO store_tasks (name) SELECT 'rerate' WHERE EXISTS (SELECT 1 FROM resources);

DROP TABLE spans;
DROP TABLE resources;
ALTER TABLE resources_v2 RENAME TO resources;
CREATE UNIQUE INDEX resources_product ON resources (product_id);
CREATE INDEX resources_infrastructure ON resources (user_id, infrastructure_id, deleted_at);

-- +goose Down
-- The spans table comes back empty: run cloudmeter rerate after migrating down.
DROP TABLE store_tasks;
DROP TABLE datacenters;
ALTER TABLE resources DROP COLUMN spans;
CREATE INDEX resources_datacenter ON resources (datacenter);
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
CREATE INDEX spans_report_order ON spans (user_id, infrastructure_id, type, product_id, starts_at);

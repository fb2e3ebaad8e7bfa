-- +goose Up
-- On SQLite (the /*+sqlite ... */ part, a comment on every other engine), resources
-- becomes an ordinary rowid table, in which a new product's row is appended
-- at the end instead of being put in (user_id, product_id) order. In key order every
-- batch of new products touched a page of the table per product, and each touched page
-- is written to the log whole: that table was 58 % of the pages an ingest batch wrote.
-- The primary key stays, as an index; reports read a user's rows through it.
--
-- On every engine, the index on (user_id, infrastructure_id, deleted_at) goes: only the
-- service status of a user's infrastructures read it, which the primary key's user_id
-- prefix serves as well, and every new product paid for it with one more index page
-- written.
DROP INDEX resources_infrastructure;

-- +goose StatementBegin
/*+sqlite
CREATE TABLE resources_v3 (
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
);
INSERT INTO resources_v3 SELECT user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label,
    subdomain, exclude_billing, attributes, state, provisioned_at, deleted_at, rated_generation, spans FROM resources;
DROP TABLE resources;
ALTER TABLE resources_v3 RENAME TO resources;
CREATE UNIQUE INDEX resources_product ON resources (product_id);
*/
-- +goose StatementEnd

-- +goose Down
CREATE INDEX resources_infrastructure ON resources (user_id, infrastructure_id, deleted_at);

-- +goose StatementBegin
/*+sqlite
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
) WITHOUT ROWID;
INSERT INTO resources_v2 SELECT user_id, product_id, infrastructure_id, infrastructure_label, datacenter, type, label,
    subdomain, exclude_billing, attributes, state, provisioned_at, deleted_at, rated_generation, spans FROM resources;
DROP TABLE resources;
ALTER TABLE resources_v2 RENAME TO resources;
CREATE UNIQUE INDEX resources_product ON resources (product_id);
CREATE INDEX resources_infrastructure ON resources (user_id, infrastructure_id, deleted_at);
*/
-- +goose StatementEnd

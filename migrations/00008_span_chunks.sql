-- +goose Up
-- Cost that follows the work asked for, not the history stored (docs/scaling.md, "How
-- spans are stored").
--
-- A product's spans are split into chunks: a chunk holds the spans that start in one UTC
-- month, 64 at most. The last chunk stays in the product's resources row (column spans,
-- its first second in spans_from, what resuming at that second needs in checkpoint),
-- with the product's rating state (rating_state), so that an event later than the
-- product's history rewrites that one row; earlier chunks move to span_chunks, where a
-- report reads those that overlap its window (index span_chunks_window) and a late event
-- finds the chunk it lands in. Rows rated before this migration keep every span in
-- their resources row and no state: they are read as they are, and rated again from the
-- ledger when their product next gets an event; the task left below re-rates every
-- product when the store is next opened, so that none is left so.
--
-- events_product gains occurred_at, so that a late event reads the events of its product
-- from where it lands on, not the product's whole history.
DROP INDEX events_product;
CREATE INDEX events_product ON events (product_id, occurred_at);

ALTER TABLE resources ADD COLUMN spans_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE resources ADD COLUMN rating_state BYTEA;
ALTER TABLE resources ADD COLUMN checkpoint BYTEA;
UPDATE resources SET spans_from = provisioned_at;

-- Every chunk of a product's spans but the last. chunk_start is its first span's start,
-- chunk_end its last span's end (the next chunk's start - 1); user_id, infrastructure_id
-- and datacenter are the product's, for the report's filters.
CREATE TABLE span_chunks (
    product_id        BIGINT NOT NULL,
    chunk_start       BIGINT NOT NULL,
    chunk_end         BIGINT NOT NULL,
    user_id           BIGINT NOT NULL,
    infrastructure_id BIGINT NOT NULL,
    datacenter        TEXT   NOT NULL,
    spans             BYTEA  NOT NULL,
    checkpoint        BYTEA,
    PRIMARY KEY (product_id, chunk_start)
);
CREATE INDEX span_chunks_window ON span_chunks (user_id, chunk_end);

INSERT INTO store_tasks (name) SELECT 'rerate' WHERE EXISTS (SELECT 1 FROM resources) ON CONFLICT (name) DO NOTHING;

-- +goose Down
-- Each resources row keeps only its last chunk: the task left re-rates every product
-- when the store is next opened, which puts every span back in its row.
DROP TABLE span_chunks;
ALTER TABLE resources DROP COLUMN checkpoint;
ALTER TABLE resources DROP COLUMN rating_state;
ALTER TABLE resources DROP COLUMN spans_from;
DROP INDEX events_product;
CREATE INDEX events_product ON events (product_id);
INSERT INTO store_tasks (name) SELECT 'rerate' WHERE EXISTS (SELECT 1 FROM resources) ON CONFLICT (name) DO NOTHING;

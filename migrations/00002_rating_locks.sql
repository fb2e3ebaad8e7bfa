-- +goose Up
-- One row per product, locked (by an upsert) by a transaction that re-rates the product on
-- engines where several writers run at once, so two instances never rate one product
-- from different sets of events. Portable: a row lock, not an engine-only advisory lock.
CREATE TABLE rating_locks (
    product_id BIGINT NOT NULL PRIMARY KEY,
    generation BIGINT NOT NULL
);

-- +goose Down
DROP TABLE rating_locks;

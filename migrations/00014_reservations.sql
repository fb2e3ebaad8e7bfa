-- +goose Up
-- Server type reservations: one row per reserved instance, never edited. Amounts are
-- counts of 1e-8, as every amount; times are unix seconds, ends_at the last second in
-- force. Ids come from the counter row 'reservation' of store_counters (made by the first
-- reservation), taken under its row lock.
CREATE TABLE reservations (
    user_id           BIGINT NOT NULL,
    reservation_id    BIGINT NOT NULL,
    server_type_id    BIGINT NOT NULL,
    server_type_name  TEXT   NOT NULL,
    datacenter        TEXT   NOT NULL,
    price             BIGINT NOT NULL,
    utilization_price BIGINT NOT NULL,
    cycle_months      BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    starts_at         BIGINT NOT NULL,
    ends_at           BIGINT NOT NULL,
    PRIMARY KEY (user_id, reservation_id)
);
CREATE UNIQUE INDEX reservations_id ON reservations (reservation_id);
-- A report reads the reservations in force in its window: those of the user that end
-- after the window's start, found without reading the ones that ended before.
CREATE INDEX reservations_user_end ON reservations (user_id, ends_at);

CREATE TABLE store_counters (
    name  TEXT   NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL
);

-- +goose Down
DROP TABLE store_counters;
DROP TABLE reservations;

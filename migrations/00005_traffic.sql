-- +goose Up
-- Traffic metering. Traffic events stored before this migration (they were validated but
-- not rated) are not copied into these tables. Samples are kept apart from the ledger's lifecycle events so that a
-- new sample never makes storage re-read a waypoint's history: it touches its own row,
-- its period's total and, for a counter reading, the contribution of the next reading.

-- How each waypoint's samples are grouped: periods of measurement_period seconds anchored
-- at the provisioning second; periods that start after deleted_at (when not 0) are not
-- billed. user_id is 0 until the waypoint's provision is known.
CREATE TABLE traffic_waypoints (
    product_id         BIGINT NOT NULL PRIMARY KEY,
    user_id            BIGINT NOT NULL,
    anchor             BIGINT NOT NULL,
    measurement_period BIGINT NOT NULL,
    deleted_at         BIGINT NOT NULL
);
CREATE INDEX traffic_waypoints_user ON traffic_waypoints (user_id, product_id);

-- Every sample with what it contributes (bytes) and the period it falls in. The key is the
-- ledger order of a waypoint's readings, so the reading before or after one is an index
-- lookup. counter is 1 for a cumulative reading, 0 for a delta.
CREATE TABLE traffic_samples (
    product_id   BIGINT NOT NULL,
    direction    TEXT   NOT NULL,
    counter      BIGINT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    value        BIGINT NOT NULL,
    source       TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    bytes        BIGINT NOT NULL,
    period_start BIGINT NOT NULL,
    PRIMARY KEY (product_id, direction, counter, occurred_at, value, source, id)
);

-- The latest counter reading of each waypoint and direction in ledger order: a batch of
-- readings that all come after it (the usual case) needs no other lookup.
CREATE TABLE traffic_counters (
    product_id  BIGINT NOT NULL,
    direction   TEXT   NOT NULL,
    occurred_at BIGINT NOT NULL,
    value       BIGINT NOT NULL,
    source      TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    PRIMARY KEY (product_id, direction)
);

-- Billed traffic per waypoint, direction and measurement period.
CREATE TABLE traffic_periods (
    product_id   BIGINT NOT NULL,
    direction    TEXT   NOT NULL,
    period_start BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    samples      BIGINT NOT NULL,
    PRIMARY KEY (product_id, direction, period_start)
);

-- The same, summed per UTC day of the period's start: reports read days and fall back to
-- periods only for the days a window edge or a price change cuts.
CREATE TABLE traffic_days (
    product_id BIGINT NOT NULL,
    direction  TEXT   NOT NULL,
    day_start  BIGINT NOT NULL,
    bytes      BIGINT NOT NULL,
    samples    BIGINT NOT NULL,
    PRIMARY KEY (product_id, direction, day_start)
);

-- What a data lake stores (stored_gbytes) is an attribute of its spans, kept in the
-- encoded spans of its resources row (migration 00004): no column here.

-- +goose Down
DROP TABLE traffic_days;
DROP TABLE traffic_periods;
DROP TABLE traffic_counters;
DROP TABLE traffic_samples;
DROP TABLE traffic_waypoints;

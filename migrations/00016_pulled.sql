-- +goose Up
-- Usage records imported by the pull connectors, kept as their source gave them.

-- One row per pulled window of a source and user.
CREATE TABLE pull_windows (
    user_id   BIGINT NOT NULL,
    source    TEXT   NOT NULL,
    from_at   BIGINT NOT NULL,
    to_at     BIGINT NOT NULL,
    pulled_at BIGINT NOT NULL,
    records   BIGINT NOT NULL,
    cost      BIGINT NOT NULL,
    PRIMARY KEY (user_id, source, from_at)
);

-- The records of the windows. direction is '' except for traffic; quantity is seconds,
-- or for traffic 1e-4 GB; cost_per_unit and cost are counts of 1e-8 as every amount.
CREATE TABLE pulled_records (
    user_id              BIGINT NOT NULL,
    source               TEXT   NOT NULL,
    window_from          BIGINT NOT NULL,
    idx                  BIGINT NOT NULL,
    infrastructure_id    BIGINT NOT NULL,
    infrastructure_label TEXT   NOT NULL,
    datacenter           TEXT   NOT NULL,
    resource_type        TEXT   NOT NULL,
    direction            TEXT   NOT NULL,
    product_id           BIGINT NOT NULL,
    label                TEXT   NOT NULL,
    subdomain            TEXT   NOT NULL,
    attributes           TEXT   NOT NULL,
    starts_at            BIGINT NOT NULL,
    ends_at              BIGINT NOT NULL,
    quantity             BIGINT NOT NULL,
    measurement_period   BIGINT NOT NULL,
    cost_per_unit        BIGINT NOT NULL,
    cost                 BIGINT NOT NULL,
    currency             TEXT   NOT NULL,
    PRIMARY KEY (user_id, source, window_from, idx)
);
CREATE INDEX pulled_records_start ON pulled_records (user_id, starts_at);

-- +goose Down
DROP TABLE pulled_records;
DROP TABLE pull_windows;

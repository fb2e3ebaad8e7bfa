-- +goose Up
-- Export targets and the outbox of their deliveries.

-- One row per external billing system. token is the installation's access token, kept
-- so that it can be sent (see docs/security.md); users and infrastructures are JSON
-- lists of ids. next_seq numbers the next delivery; next_run_at is compared and set by
-- the round that enqueues deliveries, so that one round runs per due time whatever the
-- number of instances.
CREATE TABLE export_targets (
    target_id        TEXT   NOT NULL PRIMARY KEY,
    url              TEXT   NOT NULL,
    configuration_id TEXT   NOT NULL,
    token            TEXT   NOT NULL,
    users            TEXT   NOT NULL,
    infrastructures  TEXT   NOT NULL,
    schedule_seconds BIGINT NOT NULL,
    next_run_at      BIGINT NOT NULL,
    open_period      TEXT   NOT NULL,
    next_seq         BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);

-- The outbox: each delivery is built once (body and all) and sent until the receiver
-- accepts (state 'sent') or refuses it (state 'failed'). lease_owner and lease_until say
-- which instance holds it and until when.
CREATE TABLE export_deliveries (
    target_id       TEXT   NOT NULL,
    seq             BIGINT NOT NULL,
    kind            TEXT   NOT NULL,
    period          TEXT   NOT NULL,
    path            TEXT   NOT NULL,
    body            BYTEA  NOT NULL,
    created_at      BIGINT NOT NULL,
    state           TEXT   NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT   NOT NULL,
    sent_at         BIGINT NOT NULL,
    lease_owner     TEXT   NOT NULL,
    lease_until     BIGINT NOT NULL,
    PRIMARY KEY (target_id, seq)
);
CREATE INDEX export_deliveries_pending ON export_deliveries (state, next_attempt_at, target_id, seq);

-- +goose Down
DROP TABLE export_deliveries;
DROP TABLE export_targets;

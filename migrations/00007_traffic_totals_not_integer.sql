-- +goose Up
-- SQLite only (the /*+sqlite ... */ part, a comment on every other engine): partial
-- indexes of the traffic totals whose bytes are not an integer. Before ingest refused
-- totals past 2^63-1 bytes (issue 15), SQLite stored such a sum as a REAL, which every
-- later read of it failed on. Opening the store looks for those rows and rebuilds their
-- waypoints from the stored samples (sqlstore.RepairTraffic); the indexes hold only
-- such rows, so the look costs nothing however much traffic is stored, and a write pays
-- only the test of its row. Creating them reads the totals once. PostgreSQL's BIGINT
-- columns refuse a value that is not an integer: there is nothing to look for.
-- +goose StatementBegin
/*+sqlite
CREATE INDEX traffic_periods_not_integer ON traffic_periods (product_id) WHERE typeof(bytes) <> 'integer';
CREATE INDEX traffic_days_not_integer ON traffic_days (product_id) WHERE typeof(bytes) <> 'integer';
*/
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
/*+sqlite
DROP INDEX traffic_days_not_integer;
DROP INDEX traffic_periods_not_integer;
*/
-- +goose StatementEnd

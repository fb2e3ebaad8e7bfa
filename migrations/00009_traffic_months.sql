-- +goose Up
-- Traffic totals per UTC month (docs/scaling.md, "How traffic totals are stored"): the
-- billed traffic of each waypoint and direction summed over the measurement periods that
-- start in one UTC month, kept by ingest in the same transaction as the period and day
-- totals. A report reads the months that lie whole inside its window (and inside one
-- piece between price changes) from here, and only the days at its edges from
-- traffic_days, so its cost follows its window, not the history stored.
--
-- The bytes are kept in two columns, bytes_hi * 2^32 + bytes_lo with bytes_lo in
-- [0, 2^32): a month may hold 31 days of up to 2^63-1 bytes each (the limit is per
-- period and per day, docs/rating.md "Limits"), which no BIGINT holds, and a read that
-- sums more than 2^63-1 bytes is refused as before. month_start is the month's first
-- second. On SQLite the table is stored in its key order (WITHOUT ROWID).
CREATE TABLE traffic_months (
    product_id  BIGINT NOT NULL,
    direction   TEXT   NOT NULL,
    month_start BIGINT NOT NULL,
    bytes_hi    BIGINT NOT NULL,
    bytes_lo    BIGINT NOT NULL,
    samples     BIGINT NOT NULL,
    PRIMARY KEY (product_id, direction, month_start)
) /*+sqlite WITHOUT ROWID */;

-- Filled from the day totals. The first second of the UTC month of a day is computed with
-- integers alone, the same on every engine (H. Hinnant's civil_from_days: doe is the day
-- of a 400-year era starting on a 1 March, yoe the year of the era, doy the day of that
-- year from 1 March, and (153 * mp + 2) / 5 the first day of its month mp counted from
-- March): the day minus its day of the month. Day totals are whole numbers of bytes from
-- 0 to 2^63-1, summed in halves that cannot overflow. A day total that an earlier version
-- stored as a REAL (docs/rating.md "Limits") makes a wrong month here; opening the store
-- rebuilds every total of such a waypoint from its samples (sqlstore.RepairTraffic),
-- months included.
INSERT INTO traffic_months (product_id, direction, month_start, bytes_hi, bytes_lo, samples)
SELECT product_id, direction, month_start,
       CAST(SUM(bytes >> 32) AS BIGINT) + (CAST(SUM(bytes & 4294967295) AS BIGINT) >> 32),
       CAST(SUM(bytes & 4294967295) AS BIGINT) & 4294967295,
       CAST(SUM(samples) AS BIGINT)
FROM (SELECT product_id, direction, bytes, samples, day_start - (doy - (153 * ((5 * doy + 2) / 153) + 2) / 5) * 86400 AS month_start
      FROM (SELECT product_id, direction, bytes, samples, day_start, doe - (365 * yoe + yoe / 4 - yoe / 100) AS doy
            FROM (SELECT product_id, direction, bytes, samples, day_start, doe, (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365 AS yoe
                  FROM (SELECT product_id, direction, bytes, samples, day_start, (day_start / 86400 + 719468) % 146097 AS doe
                        FROM traffic_days) AS d) AS y) AS o) AS m
GROUP BY product_id, direction, month_start;

-- +goose Down
DROP TABLE traffic_months;

-- Per-address rate limits shared by every instance on this database (RATE_LIMIT_PER_MINUTE on
-- /signup, /login and the routes that reuse the server's limiter), as a generic cell rate
-- algorithm: one row per (route, client address) holds its theoretical arrival time `tat`
-- (milliseconds since the epoch, by the database's clock). A request is allowed when
-- max(tat, now) + interval - now <= the burst; it then moves `tat` on by one interval.
-- `allowed` is the last decision (what the one upsert returns).
--
-- UNLOGGED: no WAL for these writes; after a crash of PostgreSQL the table is empty (every
-- address starts with a full budget), which a rate limit can afford. Rows whose `tat` is in
-- the past (a full budget) are deleted by each instance's housekeeping.
CREATE UNLOGGED TABLE rate_limit_buckets (
    key     TEXT PRIMARY KEY,
    tat     BIGINT NOT NULL,
    allowed BOOLEAN NOT NULL DEFAULT TRUE
);

-- SQLite twin of migrations/20261202000101_cookie_sessions.sql: browser sessions are named by
-- the SHA-256 (hex) of their cookie value; last_seen_at is when a request last used one.
ALTER TABLE sessions ADD COLUMN cookie_hash TEXT
    CHECK (cookie_hash IS NULL OR length(cookie_hash) = 64);
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;

CREATE UNIQUE INDEX sessions_cookie_hash_idx ON sessions (cookie_hash)
    WHERE cookie_hash IS NOT NULL;

-- SQLite twin of migrations/20261122000002_create_login_attempts.sql.
CREATE TABLE login_attempts (
    account_key       TEXT    NOT NULL PRIMARY KEY,
    attempts          INTEGER NOT NULL CHECK (attempts > 0),
    window_started_at INTEGER NOT NULL
);

CREATE INDEX login_attempts_window_started_at_idx ON login_attempts (window_started_at);

-- The tables of passport-actix's shipped store (`passport_actix::store::SqlStore`), as
-- passport-server's SQLite migrations build them step by step: users, the login throttle,
-- sessions (token and cookie) and their refresh tokens. Ids are hyphenated UUID text; times
-- are Unix milliseconds, except the throttle window's start (Unix seconds).
CREATE TABLE users (
    id                  TEXT    NOT NULL PRIMARY KEY,
    email               TEXT    NOT NULL COLLATE NOCASE CHECK (length(email) BETWEEN 3 AND 254),
    password_hash       TEXT    NOT NULL,
    created_at          TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    credentials_version INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE login_attempts (
    account_key       TEXT    NOT NULL PRIMARY KEY,
    attempts          INTEGER NOT NULL CHECK (attempts > 0),
    window_started_at INTEGER NOT NULL
);
CREATE INDEX login_attempts_window_started_at_idx ON login_attempts (window_started_at);

CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    cookie_hash  TEXT CHECK (cookie_hash IS NULL OR length(cookie_hash) = 64),
    last_seen_at INTEGER,
    amr          TEXT    NOT NULL DEFAULT 'pwd'
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE UNIQUE INDEX sessions_cookie_hash_idx ON sessions (cookie_hash) WHERE cookie_hash IS NOT NULL;

CREATE TABLE refresh_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 64),
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- The tables of passport-actix's shipped store (`passport_actix::store::SqlStore`): users, the
-- login throttle, sessions (token and cookie) and their refresh tokens. The same schema as
-- passport-server's migrations build step by step (names of tables, columns and constraints
-- included), so one set of statements serves both. Times are Unix milliseconds, except the
-- throttle window's start (Unix seconds).
CREATE TABLE users (
    id                  UUID        PRIMARY KEY,
    email               TEXT        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash       TEXT        NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Bumped by every password change: a login's session starts only while it still holds.
    credentials_version BIGINT      NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- account_key: the SHA-256 (hex) of the normalized email, whether or not the account exists.
CREATE TABLE login_attempts (
    account_key       TEXT    PRIMARY KEY,
    attempts          INTEGER NOT NULL CHECK (attempts > 0),
    window_started_at BIGINT  NOT NULL
);
CREATE INDEX login_attempts_window_started_at_idx ON login_attempts (window_started_at);

CREATE TABLE sessions (
    id           UUID   PRIMARY KEY,
    user_id      UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    -- A browser session's cookie value, as its SHA-256 (hex); NULL for a token session.
    cookie_hash  TEXT CHECK (cookie_hash IS NULL OR length(cookie_hash) = 64),
    last_seen_at BIGINT,
    -- RFC 8176 amr values, space-separated.
    amr          TEXT   NOT NULL DEFAULT 'pwd'
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE UNIQUE INDEX sessions_cookie_hash_idx ON sessions (cookie_hash) WHERE cookie_hash IS NOT NULL;

-- Only the SHA-256 (hex) of a refresh token is stored; used tokens are kept until their
-- session ends (a used token presented late is how theft is detected).
CREATE TABLE refresh_tokens (
    token_hash TEXT   PRIMARY KEY CHECK (length(token_hash) = 64),
    session_id UUID   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

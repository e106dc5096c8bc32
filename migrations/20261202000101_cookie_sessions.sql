-- Browser sessions (contract v3, "Browser sessions (cookie)"): a session started by
-- `POST /login?session=cookie` is named by an HttpOnly cookie whose value is stored here only
-- as its SHA-256 (hex), like a refresh token's. Such a session has no refresh token; it ends
-- like every other session (revoked_at, expires_at, deletion of its user).
-- last_seen_at (Unix milliseconds) is when a request last used the session, written at most
-- once a minute per session and instance (NULL: not used since its login).
ALTER TABLE sessions ADD COLUMN cookie_hash TEXT
    CHECK (cookie_hash IS NULL OR length(cookie_hash) = 64);
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;

CREATE UNIQUE INDEX sessions_cookie_hash_idx ON sessions (cookie_hash)
    WHERE cookie_hash IS NOT NULL;

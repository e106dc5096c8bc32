-- Sessions (one per login) and their rotating refresh tokens (contract v2).
-- Times are Unix milliseconds. A session ends at expires_at or when revoked_at is set.
CREATE TABLE sessions (
    id         UUID   PRIMARY KEY,
    user_id    UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Only the SHA-256 (hex) of a refresh token is stored. used_at is the first use; a token
-- presented again after the reuse grace revokes its session, so used tokens are kept until
-- their session ends (and is purged, with them, by the cascade).
CREATE TABLE refresh_tokens (
    token_hash TEXT   PRIMARY KEY CHECK (length(token_hash) = 64),
    session_id UUID   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

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

-- Only the SHA-256 (hex) of a refresh token is stored. used_at is the first use; a token
-- presented again after the reuse grace revokes its session.
CREATE TABLE refresh_tokens (
    token_hash TEXT   PRIMARY KEY CHECK (length(token_hash) = 64),
    session_id UUID   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_used_at_idx ON refresh_tokens (used_at) WHERE used_at IS NOT NULL;

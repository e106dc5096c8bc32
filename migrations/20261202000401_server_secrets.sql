-- Secrets every instance on this database must share, created once by the first instance to
-- start (INSERT … ON CONFLICT DO NOTHING, then read back). `refresh_token_derivation`: the
-- HMAC key from which a refresh token's replacement is derived, so that a retry inside the
-- reuse grace gets the same new token from any instance (contract v3, "Refresh, tightened").
-- It is useless without a refresh token in clear, which the database never holds.
CREATE TABLE server_secrets (
    name       TEXT        NOT NULL PRIMARY KEY,
    secret     TEXT        NOT NULL CHECK (length(secret) >= 64),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

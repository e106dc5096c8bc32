-- Users of the auth server.
-- Emails are stored normalized (trimmed, lower-cased) by the application, and the schema
-- enforces case-insensitive uniqueness on its own so that no code path can create duplicates.
CREATE TABLE users (
    id            UUID        PRIMARY KEY,
    email         TEXT        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

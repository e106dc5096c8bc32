-- SQLite twin of migrations/20261202000301_totp.sql (ids are UUID strings).
CREATE TABLE totp_factors (
    user_id      TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT -1
);

CREATE TABLE recovery_codes (
    user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT    NOT NULL CHECK (length(code_hash) = 64),
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    token_hash TEXT    NOT NULL PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    failures   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER
);

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);

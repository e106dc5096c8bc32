-- Second factor (contract v3): one TOTP factor per user, its recovery codes, and the
-- pending second steps of logins (mfa_token). Times are Unix milliseconds, except last_step.

-- secret: the TOTP secret encrypted with MFA_ENCRYPTION_KEY (ChaCha20-Poly1305, bound to the
-- user id), never the secret itself. confirmed_at NULL: enrolment pending (a new enrolment
-- replaces the row). last_step: the last RFC 6238 time step accepted; a code is accepted only
-- by `UPDATE … SET last_step = $step WHERE last_step < $step`, so never twice, on any instance.
CREATE TABLE totp_factors (
    user_id      UUID   PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT NOT NULL DEFAULT -1
);

-- Only the SHA-256 (hex) of each recovery code (80 random bits) is stored; used_at marks
-- it spent.
CREATE TABLE recovery_codes (
    user_id   UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT   NOT NULL CHECK (length(code_hash) = 64),
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A login waiting for its code: only the SHA-256 (hex) of the mfa_token is stored; amr is the
-- first factor's ("pwd", "fed"); failures counts wrong codes (at 5 the token is dead).
CREATE TABLE mfa_challenges (
    token_hash TEXT   PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id    UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amr        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures   BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT
);

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);

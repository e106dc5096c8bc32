-- Mail (contract v3): email verification, one-time links, the outbox and the resend limit.

-- NULL: the address is verified (every account created before this migration, every OpenID
-- account, every signup with EMAIL_VERIFICATION=off). Set (Unix ms): a signup with
-- EMAIL_VERIFICATION=required whose address is not confirmed yet.
ALTER TABLE users ADD COLUMN unverified_since BIGINT;

-- One-time links (password reset, magic login, email verification). Only the SHA-256 (hex)
-- of the token is stored. A link works once (used_at), until expires_at, and until a newer
-- link of the same user and purpose supersedes it (revoked_at). Times are Unix milliseconds.
CREATE TABLE one_time_links (
    token_hash TEXT   PRIMARY KEY CHECK (length(token_hash) = 64),
    purpose    TEXT   NOT NULL CHECK (purpose IN ('password_reset', 'magic_login', 'email_verification')),
    user_id    UUID   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);

CREATE INDEX one_time_links_user_purpose_idx ON one_time_links (user_id, purpose);
CREATE INDEX one_time_links_expires_at_idx ON one_time_links (expires_at);

-- The transactional outbox: a mail is inserted in the same transaction as the change that
-- asks for it, and delivered by a worker off the request path. A worker claims due rows by
-- setting locked_until (a lease, FOR UPDATE SKIP LOCKED on PostgreSQL), so several instances
-- deliver each mail once. body is erased once the mail is sent or given up (it may hold a
-- link). attempts counts the tries the SMTP server answered (a server that cannot be reached
-- does not count: the mail waits for it).
CREATE TABLE mail_outbox (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT      NOT NULL,
    recipient       TEXT      NOT NULL,
    subject         TEXT      NOT NULL,
    body            TEXT,
    created_at      BIGINT    NOT NULL,
    next_attempt_at BIGINT    NOT NULL,
    locked_until    BIGINT,
    attempts        INTEGER   NOT NULL DEFAULT 0,
    sent_at         BIGINT,
    failed_at       BIGINT,
    last_error      TEXT
);

CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- MAIL_RESEND_SECONDS: the last mail of each kind sent to an address (the SHA-256 hex of the
-- normalized address, never the address itself).
CREATE TABLE mail_throttle (
    address_key  TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    last_sent_at BIGINT NOT NULL,
    PRIMARY KEY (address_key, kind)
);

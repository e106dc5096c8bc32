-- Per-account login throttling (OWASP ASVS 6.3.1), shared by every server instance.
-- account_key is the SHA-256 (hex) of the submitted, normalized email, whether or not such
-- an account exists, so the table reveals nothing about which emails are registered.
-- window_started_at is in Unix seconds; a row older than the window counts as empty.
CREATE TABLE login_attempts (
    account_key       TEXT    PRIMARY KEY,
    attempts          INTEGER NOT NULL CHECK (attempts > 0),
    window_started_at BIGINT  NOT NULL
);

CREATE INDEX login_attempts_window_started_at_idx ON login_attempts (window_started_at);

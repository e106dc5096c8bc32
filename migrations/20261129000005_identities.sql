-- Users who log in with an OpenID provider, linked by (issuer, subject): the provider's
-- stable identity, never the email. Such a user's password_hash is '!' (no password): no
-- hasher recognizes it and the store hides it from local login, which answers as for an
-- unknown email.
CREATE TABLE identities (
    issuer     TEXT        NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2048),
    subject    TEXT        NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id    UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);

CREATE INDEX identities_user_id ON identities (user_id);

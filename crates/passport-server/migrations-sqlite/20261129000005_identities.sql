-- SQLite twin of migrations/20261129000005_identities.sql (ids are UUID strings).
CREATE TABLE identities (
    issuer     TEXT NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2048),
    subject    TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (issuer, subject)
);

CREATE INDEX identities_user_id ON identities (user_id);

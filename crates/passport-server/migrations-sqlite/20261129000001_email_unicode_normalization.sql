-- Twin of migrations/20261129000001_email_unicode_normalization.sql: emails are normalized
-- with NFKC and IDNA; the server renormalizes older rows once at start and records it here.
CREATE TABLE data_migrations (
    name       TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

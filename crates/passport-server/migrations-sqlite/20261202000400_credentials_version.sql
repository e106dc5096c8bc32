-- SQLite twin of migrations/20261202000400_credentials_version.sql.
ALTER TABLE users ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 0;

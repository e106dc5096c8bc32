-- SQLite twin of migrations/20261202000401_server_secrets.sql.
CREATE TABLE server_secrets (
    name       TEXT NOT NULL PRIMARY KEY,
    secret     TEXT NOT NULL CHECK (length(secret) >= 64),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

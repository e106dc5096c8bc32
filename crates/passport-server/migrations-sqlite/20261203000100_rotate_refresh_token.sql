-- SQLite twin of migrations/20261203000100_rotate_refresh_token.sql: SQLite has no
-- stored functions; `SqlStore` runs the same steps in one write transaction (store/sqlite.rs),
-- which costs no network round trip on an embedded file.
SELECT 1;

-- SQLite twin of migrations/20261202000600_rotate_refresh_token.sql: SQLite has no stored
-- functions; the server runs the same steps in one write transaction (store/sqlite.rs), which
-- costs no network round trips on an embedded file.
SELECT 1;

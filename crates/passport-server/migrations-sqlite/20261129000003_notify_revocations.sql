-- SQLite twin of migrations/20261129000003_notify_revocations.sql: SQLite has no
-- LISTEN/NOTIFY. One process sees its own changes at once, and cached sessions are
-- re-read from the file at least once a second (see the server's revocation module).
SELECT 1;

-- SQLite twin of migrations/20261129000003_notify_revocations.sql: SQLite has no
-- LISTEN/NOTIFY, so the server never trusts its session cache on SQLite and reads every
-- session from the file (changes made by another process are seen at once).
SELECT 1;

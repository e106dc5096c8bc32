-- SQLite twin of migrations/20261202000300_session_amr.sql.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

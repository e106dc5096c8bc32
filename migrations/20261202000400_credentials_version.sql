-- A counter every password change bumps (the rehash of an unchanged password at login does
-- not): a login remembers the version it checked, and its session is inserted only while the
-- user's row still holds that version. A login whose password check finished just before a
-- concurrent change committed therefore gets no session (security round 3, defect 2).
ALTER TABLE users ADD COLUMN credentials_version BIGINT NOT NULL DEFAULT 0;

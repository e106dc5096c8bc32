-- The audit trail: one row per security event (signup, login success/failure/throttle,
-- refresh, refresh-token reuse, logout, password change, account deletion).
-- Never a password, token or hash: only who (user, session), from where (client address,
-- user agent), what (event, outcome, detail) and when (Unix milliseconds).
-- user_id has no foreign key: the trail outlives a deleted account. Rows older than
-- AUDIT_RETENTION_DAYS are purged by the server's housekeeping.
CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    occurred_at BIGINT    NOT NULL,
    event       TEXT      NOT NULL,
    outcome     TEXT      NOT NULL,
    detail      TEXT,
    user_id     UUID,
    session_id  UUID,
    client_addr TEXT,
    user_agent  TEXT
);

CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id) WHERE user_id IS NOT NULL;

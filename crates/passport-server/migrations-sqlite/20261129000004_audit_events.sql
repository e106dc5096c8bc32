-- SQLite twin of migrations/20261129000004_audit_events.sql (ids are UUID strings).
CREATE TABLE audit_events (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    occurred_at INTEGER NOT NULL,
    event       TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    detail      TEXT,
    user_id     TEXT,
    session_id  TEXT,
    client_addr TEXT,
    user_agent  TEXT
);

CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at);
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id) WHERE user_id IS NOT NULL;

-- Every change that can end a session's access tokens is published on the channel
-- 'passport_revocations', so that every server instance drops it from its liveness cache
-- within milliseconds — also when an operator changes rows by hand in psql.
--   session:<id>   a session was revoked or deleted (deleting a user deletes its sessions)
--   user:<id>      a user was deleted or changed (email, password hash)
--   all            sessions or users were truncated: forget everything
-- Changes made with session_replication_role = replica (pg_restore, logical replication)
-- fire no triggers: restart the instances after such a change.
CREATE FUNCTION passport_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('passport_revocations', 'session:' || OLD.id::text);
    RETURN NULL;
END;
$$;

CREATE FUNCTION passport_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('passport_revocations', 'user:' || OLD.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_notify_revoked
    AFTER UPDATE OF revoked_at, expires_at, user_id ON sessions
    FOR EACH ROW EXECUTE FUNCTION passport_notify_session();

CREATE TRIGGER sessions_notify_deleted
    AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION passport_notify_session();

CREATE TRIGGER users_notify_changed
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION passport_notify_user();

CREATE FUNCTION passport_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('passport_revocations', 'all');
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_notify_truncated
    AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION passport_notify_all();

CREATE TRIGGER users_notify_truncated
    AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION passport_notify_all();

-- A refresh-token rotation in one statement (issue 25): `SqlStore` calls
-- `SELECT … FROM passport_rotate_refresh_token($1, $2, $3, $4)` where it ran six statements of
-- one transaction (BEGIN, the clock, the lock, the mark, the insert, COMMIT). The rules are
-- unchanged:
--   * the reuse grace and the session's end are measured on the database's clock, read first;
--   * the presented token's session row is locked first (FOR UPDATE OF s, the order of a
--     revocation or a deletion, so they cannot deadlock), which serializes the rotations of
--     one session; no such token, or its session revoked or expired: 'unknown', nothing
--     changed;
--   * every later statement takes a fresh snapshot (PL/pgSQL, READ COMMITTED): after the lock
--     it sees what a concurrent rotation of the same session committed — which one statement
--     of CTEs, all on one snapshot, would not;
--   * the token was first used longer than p_grace_ms ago: the session is revoked, 'reuse';
--   * otherwise the replacement goes in while the session holds fewer than p_max_unused unused
--     tokens besides the presented one; already there (a retry inside the grace gets the token
--     derived from the same presented one): fine; neither: 'cap', nothing changed; then the
--     presented token is marked used (an earlier use time is kept), 'rotated'.
-- The answer is one row: the outcome, the session and its user (NULL for 'unknown' and 'cap').
CREATE FUNCTION passport_rotate_refresh_token(
    p_presented   TEXT,
    p_replacement TEXT,
    p_grace_ms    BIGINT,
    p_max_unused  BIGINT
) RETURNS TABLE (
    outcome    TEXT,
    session_id UUID,
    user_id    UUID,
    email      TEXT,
    expires_at BIGINT,
    amr        TEXT
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_now     BIGINT := CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT);
    v_session UUID;
    v_user    UUID;
    v_email   TEXT;
    v_expires BIGINT;
    v_amr     TEXT;
    v_used    BIGINT;
BEGIN
    SELECT s.id, u.id, u.email, s.expires_at, s.amr
      INTO v_session, v_user, v_email, v_expires, v_amr
      FROM refresh_tokens t
      JOIN sessions s ON s.id = t.session_id
      JOIN users u ON u.id = s.user_id
     WHERE t.token_hash = p_presented AND s.revoked_at IS NULL AND s.expires_at > v_now
       FOR UPDATE OF s;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::TEXT, NULL::UUID, NULL::UUID, NULL::TEXT, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;

    -- Read after the lock, on a fresh snapshot: the use a concurrent rotation committed.
    SELECT t.used_at INTO v_used FROM refresh_tokens t WHERE t.token_hash = p_presented;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::TEXT, NULL::UUID, NULL::UUID, NULL::TEXT, NULL::BIGINT, NULL::TEXT;
        RETURN;
    END IF;

    IF v_used IS NOT NULL AND v_now - v_used > p_grace_ms THEN
        UPDATE sessions s SET revoked_at = v_now WHERE s.id = v_session;
        RETURN QUERY SELECT 'reuse'::TEXT, v_session, v_user, v_email, v_expires, v_amr;
        RETURN;
    END IF;

    INSERT INTO refresh_tokens (token_hash, session_id, created_at)
    SELECT p_replacement, v_session, v_now
     WHERE (SELECT count(*) FROM refresh_tokens r
             WHERE r.session_id = v_session AND r.used_at IS NULL
               AND r.token_hash <> p_presented) < p_max_unused
        ON CONFLICT (token_hash) DO NOTHING;
    IF NOT FOUND THEN
        -- The replacement is there already (a retry of this rotation), or the cap is reached.
        PERFORM 1 FROM refresh_tokens r
         WHERE r.token_hash = p_replacement AND r.session_id = v_session;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'cap'::TEXT, NULL::UUID, NULL::UUID, NULL::TEXT, NULL::BIGINT, NULL::TEXT;
            RETURN;
        END IF;
    END IF;

    UPDATE refresh_tokens t SET used_at = COALESCE(t.used_at, v_now)
     WHERE t.token_hash = p_presented;
    RETURN QUERY SELECT 'rotated'::TEXT, v_session, v_user, v_email, v_expires, v_amr;
END;
$$;

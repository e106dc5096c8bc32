-- A refresh-token rotation in one round trip (issue 25): the steps the server ran as six
-- statements of one transaction (clock, lock, mark, insert, commit) and a second transaction
-- for the audit row, now one function called by one statement. The semantics are unchanged:
--   * the grace is measured on the database's clock (clock_timestamp(), taken first);
--   * the session row is locked first (FOR UPDATE OF s: the order of a revocation or a
--     deletion, so they cannot deadlock), which serializes the rotations of one session;
--     an ended session (revoked, expired) or an unknown token: 'invalid', nothing changed;
--   * every later statement runs on a fresh snapshot (plpgsql, READ COMMITTED), so after the
--     lock it sees what a concurrent rotation of the same session committed;
--   * a token used longer ago than p_grace_ms: the session is revoked, 'reuse';
--   * otherwise the replacement is inserted while the session holds fewer than p_max_unused
--     unused tokens besides the presented one; already there (a retry inside the grace gets the
--     same derived token): fine; neither: 'invalid', nothing changed; then the presented token
--     is marked used (an earlier use time is kept), 'rotated';
--   * with p_audit, the audit row ('token_refresh' success or 'refresh_token_reuse' revoked,
--     at p_occurred_at) is written in the same transaction: it can neither be lost nor be
--     written without its change.
-- The answer is one row: outcome ('rotated', 'reuse', 'invalid'), and for 'rotated' the
-- session (session_id, expires_at, amr) and its user (id, email); 'reuse' names the session.
CREATE FUNCTION passport_rotate_refresh_token(
    p_presented   TEXT,
    p_replacement TEXT,
    p_grace_ms    BIGINT,
    p_max_unused  BIGINT,
    p_audit       BOOLEAN,
    p_occurred_at BIGINT,
    p_client_addr TEXT,
    p_user_agent  TEXT
) RETURNS TABLE (outcome TEXT, session_id UUID, expires_at BIGINT, amr TEXT, id UUID, email TEXT)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_now     BIGINT := CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT);
    v_session UUID;
    v_expires BIGINT;
    v_amr     TEXT;
    v_user    UUID;
    v_email   TEXT;
    v_used    BIGINT;
BEGIN
    SELECT s.id, s.expires_at, s.amr, u.id, u.email
      INTO v_session, v_expires, v_amr, v_user, v_email
      FROM refresh_tokens t
      JOIN sessions s ON s.id = t.session_id
      JOIN users u ON u.id = s.user_id
     WHERE t.token_hash = p_presented AND s.revoked_at IS NULL AND s.expires_at > v_now
       FOR UPDATE OF s;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'invalid'::TEXT, NULL::UUID, NULL::BIGINT, NULL::TEXT, NULL::UUID, NULL::TEXT;
        RETURN;
    END IF;

    SELECT t.used_at INTO v_used FROM refresh_tokens t WHERE t.token_hash = p_presented;
    IF NOT FOUND THEN -- deleted since (its session purged): as unknown
        RETURN QUERY SELECT 'invalid'::TEXT, NULL::UUID, NULL::BIGINT, NULL::TEXT, NULL::UUID, NULL::TEXT;
        RETURN;
    END IF;

    IF v_used IS NOT NULL AND v_now - v_used > p_grace_ms THEN
        UPDATE sessions s SET revoked_at = v_now WHERE s.id = v_session;
        IF p_audit THEN
            INSERT INTO audit_events
                (occurred_at, event, outcome, detail, user_id, session_id, client_addr, user_agent)
            VALUES (p_occurred_at, 'refresh_token_reuse', 'revoked', NULL, v_user, v_session,
                    p_client_addr, p_user_agent);
        END IF;
        RETURN QUERY SELECT 'reuse'::TEXT, v_session, NULL::BIGINT, NULL::TEXT, NULL::UUID, NULL::TEXT;
        RETURN;
    END IF;

    INSERT INTO refresh_tokens (token_hash, session_id, created_at)
    SELECT p_replacement, v_session, v_now
     WHERE (SELECT count(*) FROM refresh_tokens r
             WHERE r.session_id = v_session AND r.used_at IS NULL
               AND r.token_hash <> p_presented) < p_max_unused
        ON CONFLICT (token_hash) DO NOTHING;
    IF NOT FOUND THEN
        -- Either the replacement is there already (a retry of this rotation: inside the grace
        -- it is derived from the presented token) or the session holds too many unused tokens.
        PERFORM 1 FROM refresh_tokens r
         WHERE r.token_hash = p_replacement AND r.session_id = v_session;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'invalid'::TEXT, NULL::UUID, NULL::BIGINT, NULL::TEXT, NULL::UUID, NULL::TEXT;
            RETURN;
        END IF;
    END IF;

    UPDATE refresh_tokens t SET used_at = COALESCE(t.used_at, v_now)
     WHERE t.token_hash = p_presented;
    IF p_audit THEN
        INSERT INTO audit_events
            (occurred_at, event, outcome, detail, user_id, session_id, client_addr, user_agent)
        VALUES (p_occurred_at, 'token_refresh', 'success', NULL, v_user, v_session,
                p_client_addr, p_user_agent);
    END IF;
    RETURN QUERY SELECT 'rotated'::TEXT, v_session, v_expires, v_amr, v_user, v_email;
END;
$$;

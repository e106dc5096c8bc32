-- EXPLAIN (ANALYZE, BUFFERS) of the hot queries, on the database bench/load.sh seeded
-- (bench users and sessions; ids as bench/seed.sh and bench/seed-sessions.sh make them).
-- Read-only: the writes run inside a transaction that is rolled back.
--   psql postgres://postgres@127.0.0.1:5432/passport_bench -f bench/explain.sql
\echo '--- live_session: every guarded request whose session is not in the liveness cache'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT u.id, u.email, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = md5('passport-bench-session-1')::uuid AND s.revoked_at IS NULL
  AND s.expires_at > (extract(epoch FROM now()) * 1000)::bigint;

\echo '--- credentials_by_email: every login'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT id, email, password_hash FROM users WHERE lower(email) = lower('user500@bench.test');

\echo '--- rotate: every refresh, one statement (passport_rotate_refresh_token, migration'
\echo '    20261203000100, with the audit row as a data-modifying WITH, as the server sends it):'
\echo '    the statement, then each statement inside the function (auto_explain, as NOTICEs)'
BEGIN;
LOAD 'auto_explain';
SET LOCAL auto_explain.log_min_duration = 0;
SET LOCAL auto_explain.log_nested_statements = on;
SET LOCAL auto_explain.log_analyze = on;
SET LOCAL auto_explain.log_buffers = on;
SET LOCAL auto_explain.log_timing = on;
SET LOCAL auto_explain.log_level = notice;
SET LOCAL client_min_messages = notice;
WITH rotated AS MATERIALIZED (SELECT * FROM passport_rotate_refresh_token(
       (SELECT t.token_hash FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
        WHERE t.used_at IS NULL AND s.revoked_at IS NULL LIMIT 1),
       repeat('e', 64), 10000, 32)),
     rotation AS (SELECT outcome, session_id, user_id FROM rotated),
     recorded AS (
       INSERT INTO audit_events
         (occurred_at, event, outcome, user_id, session_id, client_addr, user_agent)
       SELECT 0, CASE WHEN rotation.outcome = 'rotated' THEN 'token_refresh' ELSE 'refresh_token_reuse' END,
              CASE WHEN rotation.outcome = 'rotated' THEN 'success' ELSE 'revoked' END,
              rotation.user_id, rotation.session_id, '127.0.0.1', 'explain'
       FROM rotation WHERE rotation.outcome IN ('rotated', 'reuse'))
SELECT outcome, session_id, user_id AS id, email, expires_at, amr FROM rotated;
ROLLBACK;

BEGIN;
\echo '--- the audit row of every login, refresh and logout'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
INSERT INTO audit_events (occurred_at, event, outcome, detail, user_id, session_id, client_addr, user_agent)
VALUES (0, 'token_refresh', 'success', NULL,
        COALESCE(NULL, (SELECT user_id FROM sessions WHERE id = md5('passport-bench-session-1')::uuid)),
        md5('passport-bench-session-1')::uuid, '127.0.0.1', 'bench');
ROLLBACK;

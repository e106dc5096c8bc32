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

\echo '--- rotate, step 1: every refresh (the token looked up, its session locked)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT s.id, s.expires_at, u.id AS user_id, u.email
FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
WHERE t.token_hash = (SELECT token_hash FROM refresh_tokens LIMIT 1)
  AND s.revoked_at IS NULL AND s.expires_at > 0
FOR UPDATE OF s;

\echo '--- rotate, step 3: the replacement token, bounded per session'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
INSERT INTO refresh_tokens (token_hash, session_id, created_at)
SELECT repeat('e', 64), md5('passport-bench-session-1')::uuid, 0
WHERE (SELECT count(*) FROM refresh_tokens
       WHERE session_id = md5('passport-bench-session-1')::uuid AND used_at IS NULL) < 16
ON CONFLICT (token_hash) DO NOTHING;

\echo '--- the audit row of every login, refresh and logout'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
INSERT INTO audit_events (occurred_at, event, outcome, detail, user_id, session_id, client_addr, user_agent)
VALUES (0, 'token_refresh', 'success', NULL,
        COALESCE(NULL, (SELECT user_id FROM sessions WHERE id = md5('passport-bench-session-1')::uuid)),
        md5('passport-bench-session-1')::uuid, '127.0.0.1', 'bench');
ROLLBACK;

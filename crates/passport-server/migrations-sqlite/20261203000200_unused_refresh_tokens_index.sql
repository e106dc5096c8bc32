-- A rotation counts the session's unused refresh tokens (the cap of 32) on every refresh. Used
-- tokens stay for reuse detection as long as their session lives, so through the session-wide
-- index that count read every token the session ever had: a session refreshed every few
-- minutes for a month made each of its refreshes read thousands of rows. This index holds
-- only the unused ones (at most 32 per session), so the count reads those alone. IF NOT EXISTS:
-- an operator may build it CONCURRENTLY before upgrading (migrations/README.md).
CREATE INDEX IF NOT EXISTS refresh_tokens_unused_idx ON refresh_tokens (session_id) WHERE used_at IS NULL;

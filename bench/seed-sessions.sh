#!/usr/bin/env bash
# Seeds live sessions into an already migrated database with bench users (bench/seed.sh):
# session i (1..TOTAL) has id md5('passport-bench-session-' || i)::uuid and belongs to bench
# user ((i - 1) % USERS) + 1, so bench/tokens.js can sign access tokens for it. Sessions
# already there are kept. With REFRESH_FROM..REFRESH_TO, those sessions also get one unused
# refresh token each, printed one per line on stdout (the pool of bench/wrk.lua's refresh mode).
#
#   bench/seed-sessions.sh <postgres-url> <total-sessions> <users> [refresh-from refresh-to]
set -euo pipefail

if [ "$#" -ne 3 ] && [ "$#" -ne 5 ]; then
  echo "usage: $0 <postgres-url> <total-sessions> <users> [refresh-from refresh-to]" >&2
  exit 2
fi
url=$1 total=$2 users=$3 rfrom=${4:-1} rto=${5:-0}
for n in "$total" "$users" "$rfrom" "$rto"; do
  case "$n" in '' | *[!0-9]*) echo "seed-sessions.sh: numbers expected" >&2; exit 2 ;; esac
done

started=$(date +%s%N)
psql "$url" -v ON_ERROR_STOP=1 -q -v total="$total" -v users="$users" >&2 <<'SQL'
INSERT INTO sessions (id, user_id, created_at, expires_at)
SELECT md5('passport-bench-session-' || i)::uuid,
       md5('passport-bench-user-' || ((i - 1) % :users::int + 1))::uuid,
       (extract(epoch FROM now()) * 1000)::bigint,
       (extract(epoch FROM now() + interval '30 days') * 1000)::bigint
FROM generate_series(1, :total::int) AS i
ON CONFLICT DO NOTHING;
ANALYZE sessions;
SQL
echo "seed-sessions.sh: $(psql "$url" -Atqc 'SELECT count(*) FROM sessions') sessions (in $((($(date +%s%N) - started) / 1000000)) ms)" >&2

if [ "$rto" -ge "$rfrom" ]; then
  # The token text: base64url of SHA-256('passport-bench-refresh-<i>-<time>') (43 characters,
  # like the server's own); only its SHA-256 hex is stored, as the server does.
  psql "$url" -v ON_ERROR_STOP=1 -Atq -v rfrom="$rfrom" -v rto="$rto" -v salt="$(date +%s%N)" <<'SQL'
WITH minted AS (
  SELECT i, rtrim(translate(encode(sha256(convert_to('passport-bench-refresh-' || i || '-' || :'salt', 'UTF8')), 'base64'), '+/', '-_'), '=') AS token
  FROM generate_series(:rfrom::int, :rto::int) AS i
), stored AS (
  INSERT INTO refresh_tokens (token_hash, session_id, created_at)
  SELECT encode(sha256(convert_to(token, 'UTF8')), 'hex'), md5('passport-bench-session-' || i)::uuid,
         (extract(epoch FROM now()) * 1000)::bigint
  FROM minted
)
SELECT token FROM minted;
SQL
fi

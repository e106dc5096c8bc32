#!/usr/bin/env bash
# Seeds bench users user<i>@bench.test (i = 1..TOTAL) into an already migrated database, all
# with one precomputed bcrypt hash, so that a million users take seconds, not days of hashing.
# Users already there are kept: calling it with 1000, then 1000000, adds the 999000 missing.
#
#   bench/seed.sh <postgres-url> <total-users> <bcrypt-hash>
#   bench/seed.sh postgres://postgres@127.0.0.1:5432/passport_bench 1000000 \
#       "$(cargo run -q --release -p passport-actix --example hash_time -- hash 12 bench-password-1)"
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 <postgres-url> <total-users> <bcrypt-hash>" >&2
  exit 2
fi
url=$1 total=$2 hash=$3
case "$total" in '' | *[!0-9]*) echo "seed.sh: total-users must be a number" >&2; exit 2 ;; esac
# shellcheck disable=SC2016 # a literal "$2": bcrypt's version prefix
case "$hash" in '$2'*) ;; *) echo "seed.sh: the third argument must be a bcrypt hash" >&2; exit 2 ;; esac

existing=$(psql "$url" -Atqc "SELECT count(*) FROM users WHERE email LIKE 'user%@bench.test'")
from=$((existing + 1))
if [ "$from" -gt "$total" ]; then
  echo "seed.sh: $existing bench users already present"
  exit 0
fi
started=$(date +%s%N)
# The id is derived from the index so that reruns are idempotent; ON CONFLICT covers both the
# primary key and the unique lower(email) index.
psql "$url" -v ON_ERROR_STOP=1 -q -v hash="$hash" -v from="$from" -v total="$total" <<'SQL'
INSERT INTO users (id, email, password_hash)
SELECT md5('passport-bench-user-' || i)::uuid, 'user' || i || '@bench.test', :'hash'
FROM generate_series(:from::int, :total::int) AS i
ON CONFLICT DO NOTHING;
ANALYZE users;
SQL
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
count=$(psql "$url" -Atqc "SELECT count(*) FROM users WHERE email LIKE 'user%@bench.test'")
echo "seed.sh: $count bench users (added $((total - existing)) in ${elapsed_ms} ms)"

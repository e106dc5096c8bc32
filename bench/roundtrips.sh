#!/usr/bin/env bash
# Counts the PostgreSQL round trips of one POST /token/refresh (and of one password login, for
# comparison): the release server talks to PostgreSQL through bench/pg-roundtrips.py, which
# counts the protocol messages that end a round trip (Sync, simple Query). N refreshes run one
# after another, each presenting the token the previous answer handed back; the background
# traffic of an idle interval as long as the run is subtracted.
#
#   bench/roundtrips.sh                 # N=200
#   BENCH_ROUNDTRIP_N=500 bench/roundtrips.sh
#
# Needs a release build (cargo build --release -p passport-server), psql, curl, jq, python3.
# Loopback only; the database passport_roundtrips is dropped and created.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_ROUNDTRIP_N:-200}
PG_ADMIN_URL=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PROXY_PORT=${BENCH_PROXY_PORT:-5499}
PORT=${BENCH_PORT:-3097}
BASE="http://127.0.0.1:$PORT"
DB=passport_roundtrips
SERVER_BIN=${BENCH_SERVER_BIN:-${CARGO_TARGET_DIR:-$(pwd)/target}/release/passport-server}
[ -x "$SERVER_BIN" ] || { echo "no release server at $SERVER_BIN" >&2; exit 1; }
export PGOPTIONS=--client-min-messages=warning
psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
RUN_DIR=$(mktemp -d)
OUT=$RUN_DIR/proxy.out
python3 bench/pg-roundtrips.py "$PROXY_PORT" >"$OUT" 2>"$RUN_DIR/proxy.err" &
PROXY_PID=$!
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  kill "$PROXY_PID" 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
sleep 0.5
(cd "$RUN_DIR" && exec env APP_ENV=development BIND_ADDR="127.0.0.1:$PORT" BCRYPT_COST=4 \
  JWT_SECRET=roundtrip-counting-secret-0123456789abcdef RUST_LOG=warn \
  RATE_LIMIT_PER_MINUTE=1000000 \
  DATABASE_URL="postgres://postgres@127.0.0.1:$PROXY_PORT/$DB?sslmode=disable" "$SERVER_BIN") \
  >"$RUN_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 200); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200 ] && break
  sleep 0.05
done
curl -sf -X POST "$BASE/signup" -H 'content-type: application/json' \
  -d '{"email":"rt@bench.test","password":"correct horse battery staple"}' >/dev/null
login() {
  curl -sf -X POST "$BASE/login" -H 'content-type: application/json' \
    -d '{"email":"rt@bench.test","password":"correct horse battery staple"}'
}
REFRESH=$(login | jq -er .refresh_token)
counter() { # the sync+query total after a SIGUSR1
  local before
  before=$(grep -c PG_ROUNDTRIPS "$OUT" || true)
  kill -USR1 "$PROXY_PID"
  while [ "$(grep -c PG_ROUNDTRIPS "$OUT" || true)" = "$before" ]; do sleep 0.01; done
  tail -n 1 "$OUT" | awk '{ split($2, s, "="); split($3, q, "="); print s[2] + q[2] }'
}
sleep 1 # the pool's first connections and the listener settle
t0=$(date +%s%N)
c0=$(counter)
for _ in $(seq "$N"); do
  REFRESH=$(curl -sf -X POST "$BASE/token/refresh" -H 'content-type: application/json' \
    -d "{\"refresh_token\":\"$REFRESH\"}" | jq -er .refresh_token)
done
c1=$(counter)
t1=$(date +%s%N)
idle_ns=$((t1 - t0))
sleep "$(awk "BEGIN { print $idle_ns / 1e9 }")"
c2=$(counter)
for _ in $(seq 20); do login >/dev/null; done
c3=$(counter)
awk -v n="$N" -v a="$c0" -v b="$c1" -v c="$c2" -v d="$c3" 'BEGIN {
  idle = c - b
  printf "ROUNDTRIPS refresh=%.2f per request (%d over %d refreshes, %d idle background subtracted); login=%.2f\n",
    (b - a - idle) / n, b - a, n, idle, (d - c) / 20
}'

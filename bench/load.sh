#!/usr/bin/env bash
# Load benchmark of passport-server: the release server pinned to one core, wrk pinned to
# another, PostgreSQL on 127.0.0.1:5432. Loopback only; every run is bounded in time.
#
#   bench/load.sh                       # full run: 15 s per scenario, users 1k -> 100k -> 1M,
#                                       # 1M sessions (about 10 minutes with the build done)
#   BENCH_QUICK=1 bench/load.sh         # smoke: 3 s per scenario, users 1k -> 20k, 20k sessions
#
# Settings (environment):
#   BENCH_DURATION        seconds per measured scenario (default 15; quick 3)
#   BENCH_SERVER_CPUS     taskset list for the server (default 0)
#   BENCH_CLIENT_CPUS     taskset list for wrk (default 1)
#   BENCH_CONNECTIONS     wrk connections for GET scenarios (default 64)
#   BENCH_LOGIN_CONNECTIONS  wrk connections of the login storm (default 16)
#   BENCH_USER_STEPS      user counts for the login-latency scenario (default "1000 100000 1000000")
#   BCRYPT_COST           the server's bcrypt cost (default 12, the server's default)
#   BENCH_RUST_LOG        the server's RUST_LOG (default warn: no per-request log line)
#   BENCH_PG_ADMIN_URL    a URL to the postgres database (default postgres://postgres@127.0.0.1:5432/postgres)
#   BENCH_PORT            the server's port (default 3099)
#   BENCH_OUT             the results file (default bench/results/load-<UTC time>.txt)
#   BENCH_SESSIONS        live sessions seeded in the database (default 1000000; quick 20000)
#   BENCH_FLOOD_TOKENS    distinct tokens of the flood (i) (default 10000)
#   BENCH_WIDE_FLOOD_TOKENS  distinct tokens of the flood (i') beyond both caches (default
#                         200000; quick 18000; 0 skips it)
#   BENCH_PROBES          revocations timed in (h) (default 200)
#   BENCH_NODE_PORT       the seeds' Node app's port (default 3098); BENCH_PORT+1 is instance B
#   BENCH_HASH_QUEUE_LIMIT  the server's HASH_QUEUE_LIMIT (default 4 per server core)
#   BENCH_SERVER_BIN      a passport-server binary to measure instead of building this tree's
#                         (with BENCH_HASH_BIN, the hash_time example): to compare two builds
#                         side by side in one sitting, e.g. one saved before a change
#   BENCH_OUTBOX_MAILS    mails queued for the outbox scenario (o) (default 2000; quick 200)
#   BENCH_SMTP_PORT       the loopback SMTP server's port for (o) (default BENCH_PORT+2)
#   BENCH_HASH_THREAD_NICE  the server's HASH_THREAD_NICE (unset: the server's default)
#   BENCH_MFA_USERS       users enrolled in TOTP for (m) (default 200; quick 100)
#
# Scenarios (a fresh server process for each, so each peak RSS is its own):
#   (a) GET /bench/plain  (b0) GET /bench/bare (a bare actix route verifying the token with
#   jsonwebtoken, no passport, no DB: the floor)  (b) GET /bench/guarded (passport JWT, no DB)
#   (c) GET /user/profile (JWT + session liveness)  (c') the same with ?secret_token=
#   (c'') GET /user/profile by the session cookie of POST /login?session=cookie
#   (d) GET /bench/db (one DB query, no auth)  (n) the seeds' Node app, GET /user/profile?secret_token=
#   (e) POST /login saturated  (f) GET /user/profile while (e) runs
#   (g) POST /token/refresh saturated, every request with a never-used refresh token
#   (h) two instances on one database: revoke on A (POST /logout), poll B until 401
#   (i) GET /user/profile with 10,000 distinct valid tokens in turn (cache misses)
#   (i') the same with more distinct tokens than both caches hold
#   (j) login latency with 1k .. 1M users
#   (k) POST /password/forgot for a registered address, (k') for an unknown one (same answer,
#   same time: the lookup and the mail are queued off the request path)
#   (o) the outbox draining BENCH_OUTBOX_MAILS queued mails into a real SMTP server on loopback
#   (tests/smtp/server.py, Debian's python3-aiosmtpd; skipped when it is missing)
#   (m) POST /login/mfa (mfa_token + TOTP code), each of BENCH_MFA_USERS enrolled users once
#   plus: startup to first answer on SQLite, the bcrypt hashing limit, (a) with RUST_LOG=info.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  default_duration=3 default_steps="1000 20000" default_sessions=20000 default_wide=18000
  default_mails=200 default_mfa_users=100
else
  default_duration=15 default_steps="1000 100000 1000000" default_sessions=1000000 default_wide=200000
  default_mails=2000 default_mfa_users=200
fi
OUTBOX_MAILS=${BENCH_OUTBOX_MAILS:-$default_mails}
MFA_USERS=${BENCH_MFA_USERS:-$default_mfa_users}
SMTP_PORT=${BENCH_SMTP_PORT:-$(( ${BENCH_PORT:-3099} + 2 ))}
SESSIONS=${BENCH_SESSIONS:-$default_sessions}
FLOOD_TOKENS=${BENCH_FLOOD_TOKENS:-10000}
WIDE_TOKENS=${BENCH_WIDE_FLOOD_TOKENS:-$default_wide}
PROBES=${BENCH_PROBES:-200}
NODE_PORT=${BENCH_NODE_PORT:-3098}
DURATION=${BENCH_DURATION:-$default_duration}
DURATION=${DURATION%s}
USER_STEPS=${BENCH_USER_STEPS:-$default_steps}
SERVER_CPUS=${BENCH_SERVER_CPUS:-0}
CLIENT_CPUS=${BENCH_CLIENT_CPUS:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
LOGIN_CONNECTIONS=${BENCH_LOGIN_CONNECTIONS:-16}
COST=${BCRYPT_COST:-12}
SERVER_LOG_LEVEL=${BENCH_RUST_LOG:-warn}
PG_ADMIN_URL=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=${BENCH_PORT:-3099}
PORT_B=$((PORT + 1))
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-bench/results/load-$STAMP.txt}
LOGS=bench/results/logs-$STAMP
DB_NAME=passport_bench
DB_URL="${PG_ADMIN_URL%/*}/$DB_NAME"
BASE="http://127.0.0.1:$PORT"
BASE_B="http://127.0.0.1:$PORT_B"
NODE_BASE="http://127.0.0.1:$NODE_PORT"
PASSWORD=bench-password-1
WRK_TIMEOUT=30
# Peak RSS target: 50 MB = 50,000,000 bytes (the stricter reading), in KiB as VmHWM reports.
RSS_LIMIT_KIB=48828

for n in "$DURATION" "$SESSIONS" "$FLOOD_TOKENS" "$WIDE_TOKENS" "$PROBES" "$OUTBOX_MAILS"; do
  case "$n" in '' | *[!0-9]*) echo "BENCH_DURATION, BENCH_SESSIONS, BENCH_*FLOOD_TOKENS and BENCH_PROBES must be whole numbers" >&2; exit 2 ;; esac
done
# Session ranges: 1.. the floods; the last PROBES the probe (revoked); 256 before them the refresh pool.
[ "$SESSIONS" -ge $((FLOOD_TOKENS + PROBES + 256)) ] || { echo "BENCH_SESSIONS is too small for the floods and the probe" >&2; exit 2; }
[ "$WIDE_TOKENS" -le $((SESSIONS - PROBES - 256)) ] || WIDE_TOKENS=$((SESSIONS - PROBES - 256))
mkdir -p "$(dirname "$OUT")" "$LOGS"
: >"$OUT"

say() { printf '%s\n' "$*" | tee -a "$OUT"; }
fail() { say "FATAL: $*"; exit 1; }

# --- tools ----------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
for tool in wrk psql taskset curl jq cargo awk node npm; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is required (apt-get install -y wrk postgresql-client util-linux curl jq nodejs npm)"
done
if [ ! -d bench/node-seed/node_modules ]; then
  echo "installing the seeds' Node app (npm ci in bench/node-seed)"
  (cd bench/node-seed && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in bench/node-seed failed"
fi
psql "$PG_ADMIN_URL" -Atqc 'SELECT 1' >/dev/null 2>&1 || fail "PostgreSQL is not reachable at $PG_ADMIN_URL"
[ "$(nproc)" -ge 2 ] || say "WARNING: fewer than 2 cores: server and wrk share a core; figures are not comparable"

# --- build ----------------------------------------------------------------------------------
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if [ -n "${BENCH_SERVER_BIN:-}" ]; then
  SERVER_BIN=$BENCH_SERVER_BIN
  HASH_BIN=${BENCH_HASH_BIN:-$TARGET_DIR/release/examples/hash_time}
else
  echo "building the release server and the hash timer..."
  cargo build --release --locked -q -p passport-server --bin passport-server
  cargo build --release --locked -q -p passport-actix --example hash_time
  SERVER_BIN=$TARGET_DIR/release/passport-server
  HASH_BIN=$TARGET_DIR/release/examples/hash_time
fi
if [ ! -x "$SERVER_BIN" ] || [ ! -x "$HASH_BIN" ]; then fail "binaries not found under $TARGET_DIR/release"; fi

# --- processes we start, and their cleanup ----------------------------------------------------
RUN_DIR=$(mktemp -d) # the server's working directory: no project .env is read
SERVER_PID=""
SERVER_B_PID=""
SMTP_PID=""
BG_PIDS=()
cleanup() {
  for pid in "${BG_PIDS[@]}" $SERVER_PID $SERVER_B_PID $SMTP_PID; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGOPTIONS=--client-min-messages=warning
JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export APP_ENV=development BENCH_ROUTES=true BIND_ADDR="127.0.0.1:$PORT" JWT_SECRET BCRYPT_COST=$COST
export RATE_LIMIT_PER_MINUTE=4000000000 LOGIN_MAX_FAILURES=1000000000 LOG_FORMAT=pretty
# At most 4 logins hashing or waiting per core, the rest answered 503 + Retry-After at once
# (the server's default is 64 per core, so that ordinary bursts are never refused).
export HASH_QUEUE_LIMIT=${BENCH_HASH_QUEUE_LIMIT:-$((4 * $(taskset -c "${BENCH_SERVER_CPUS:-0}" nproc)))}
export RUST_LOG=$SERVER_LOG_LEVEL
[ -n "${BENCH_HASH_THREAD_NICE:-}" ] && export HASH_THREAD_NICE=$BENCH_HASH_THREAD_NICE

# launch <label> <base-url> <command...>: starts it pinned to the server's cpus in RUN_DIR,
# sets LAUNCHED_PID and READY_MS, and waits for <base-url>/health (10 s at most).
launch() {
  local label=$1 base=$2
  shift 2
  if curl -s -o /dev/null --max-time 1 "$base/health"; then fail "something already listens at $base"; fi
  STARTED_NS=$(date +%s%N)
  (cd "$RUN_DIR" && exec taskset -c "$SERVER_CPUS" "$@") >"$LOGS/server-$label.log" 2>&1 &
  LAUNCHED_PID=$!
  local deadline=$((SECONDS + 10))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$base/health")" = 200 ]; do
    kill -0 "$LAUNCHED_PID" 2>/dev/null || fail "the server ($label) exited; see $LOGS/server-$label.log"
    [ "$SECONDS" -lt "$deadline" ] || fail "the server ($label) did not answer within 10 s"
    sleep 0.02
  done
  READY_MS=$((($(date +%s%N) - STARTED_NS) / 1000000))
}

# start_server <label> <database-url> [extra VAR=value ...]: passport-server on BENCH_PORT.
start_server() {
  local label=$1 url=$2
  shift 2
  launch "$label" "$BASE" env DATABASE_URL="$url" "$@" "$SERVER_BIN"
  SERVER_PID=$LAUNCHED_PID
}

# The peak resident set (VmHWM) in KiB of the server, or of the given process.
peak_rss() { awk '/^VmHWM:/ { print $2 }' "/proc/${1:-$SERVER_PID}/status"; }

# stop_pid <pid>: SIGTERM, up to 35 s for a graceful stop, then SIGKILL.
stop_pid() {
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null || true
  local deadline=$((SECONDS + 35))
  while kill -0 "$1" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}

# wrk_run <label> <connections> <seconds> <wrk args...>: the WRK_RESULT line, or fails.
# WRK_THREADS (default 1) and BENCH_WRK_RESPONSES (see bench/wrk.lua) pass through.
wrk_run() {
  local label=$1 conns=$2 secs=$3
  shift 3
  timeout $((secs + WRK_TIMEOUT + 30)) taskset -c "$CLIENT_CPUS" \
    wrk -t"${WRK_THREADS:-1}" -c"$conns" -d"${secs}s" --timeout "${WRK_TIMEOUT}s" -s bench/wrk.lua "$@" \
    >"$LOGS/wrk-$label.txt" 2>&1 || true
  grep '^WRK_RESULT' "$LOGS/wrk-$label.txt" || fail "wrk ($label) printed no result; see $LOGS/wrk-$label.txt"
}

# login_run <label> <seconds> <users>: a login storm, one wrk thread per connection honouring
# Retry-After; the LOGIN_RESULT line (successful logins), or fails.
login_run() {
  WRK_THREADS=$LOGIN_CONNECTIONS BENCH_WRK_RESPONSES=1 \
    wrk_run "$1" "$LOGIN_CONNECTIONS" "$2" "$BASE/login" -- login "$3" "$PASSWORD" >/dev/null
  grep '^LOGIN_RESULT' "$LOGS/wrk-$1.txt" || fail "wrk ($1) printed no login result"
}

field() { # field <name> <WRK_RESULT line>
  printf '%s\n' "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'
}

calc() { awk "BEGIN { printf \"%.3f\", $* }"; }

# CPU used during a measurement, in % of one core: the server process, and the PostgreSQL
# backends serving the bench database (which run on either core).
CLK_TCK=$(getconf CLK_TCK)
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_snapshot() { # "pid ticks" of each backend of the bench database
  local pid
  for pid in $(pgrep -f "^postgres: .* $DB_NAME " || true); do echo "$pid $(proc_ticks "$pid")"; done
}
cpu_begin() { CPU_T0=$(date +%s%N); CPU_S0=$(proc_ticks "$SERVER_PID"); pg_snapshot >"$LOGS/pg.before"; }
cpu_end() { # sets SRV_CPU and PG_CPU (percent of one core over the interval)
  local secs pg_ticks
  secs=$(calc "($(date +%s%N) - $CPU_T0) / 1e9")
  SRV_CPU=$(calc "($(proc_ticks "$SERVER_PID") - $CPU_S0) * 100 / $CLK_TCK / $secs")
  pg_ticks=$(pg_snapshot | awk -v before="$LOGS/pg.before" '
    BEGIN { while ((getline line < before) > 0) { split(line, f, " "); start[f[1]] = f[2] } }
    { total += $2 - start[$1] }
    END { print total + 0 }')
  PG_CPU=$(calc "$pg_ticks * 100 / $CLK_TCK / $secs")
}

declare -A RPS P50 P99 ERRS RSS SCPU PGCPU LOGIN_OK_RPS LOGIN_OK_P50 LOGIN_OK_P99 LOGIN_BUSY
record() { # record <scenario> <WRK_RESULT line> [rss KiB]; takes SRV_CPU/PG_CPU of the last cpu_end
  RPS[$1]=$(field rps "$2")
  P50[$1]=$(field p50_ms "$2")
  P99[$1]=$(field p99_ms "$2")
  ERRS[$1]=$(($(field non2xx "$2") + $(field socket_errors "$2") + $(field timeouts "$2")))
  RSS[$1]=${3:-}
  SCPU[$1]=${SRV_CPU:-}
  PGCPU[$1]=${PG_CPU:-}
}
verdict() { awk "BEGIN { exit !($*) }" && echo MET || echo MISSED; }

# --- machine --------------------------------------------------------------------------------
say "passport-server load benchmark ($([ "$QUICK" = 1 ] && echo quick || echo full) mode)"
say "date:        $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
if [ -n "${BENCH_SERVER_BIN:-}" ]; then
  say "binary:      $SERVER_BIN (BENCH_SERVER_BIN; not built from this tree)"
else
  say "commit:      $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)')"
fi
say "cpu:         $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo) x $(nproc)"
say "memory:      $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
say "kernel:      $(uname -sr)"
say "rustc:       $(rustc --version)"
say "wrk:         $(wrk --version 2>&1 | head -n 1 | awk '{ print $1, $2 }')"
say "postgres:    $(psql "$PG_ADMIN_URL" -Atqc 'SHOW server_version')"
say "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (at start)"
say "settings:    server cpus=$SERVER_CPUS (workers: one per core it may use), wrk cpus=$CLIENT_CPUS -t1,"
say "             ${DURATION}s per scenario, $CONNECTIONS connections (login storm $LOGIN_CONNECTIONS), BCRYPT_COST=$COST, RUST_LOG=$SERVER_LOG_LEVEL"
say "             PostgreSQL is not pinned (it shares both cores); a fresh server process per scenario"
say ""

SERVER_CORES=$(taskset -c "$SERVER_CPUS" nproc)

# --- hashing limit --------------------------------------------------------------------------
hash_iterations=$([ "$QUICK" = 1 ] && echo 4 || echo 16)
hash_line=$(taskset -c "$SERVER_CPUS" "$HASH_BIN" time "$COST" "$hash_iterations")
MS_PER_VERIFY=$(field ms_per_verify "$hash_line")
HASH_LIMIT=$(calc "$SERVER_CORES * 1000 / $MS_PER_VERIFY")
say "bcrypt:      $hash_line (pinned to the server's cpu)"
say "hash limit:  $SERVER_CORES core(s) / $MS_PER_VERIFY ms = $HASH_LIMIT logins/s"

# --- startup on SQLite ----------------------------------------------------------------------
# READY_MS: from launching the process to the first 200 from /health.
SQLITE_URL="sqlite://$RUN_DIR/startup.db"
start_server startup-sqlite-new "$SQLITE_URL"
STARTUP_COLD=$READY_MS
stop_server
start_server startup-sqlite-existing "$SQLITE_URL"
STARTUP_WARM=$READY_MS
stop_server
say "startup:     SQLite, new file (migrations): ${STARTUP_COLD} ms; existing file: ${STARTUP_WARM} ms"
say "             (from exec to the first 200 from /health, polled every 20 ms, incl. the cost-$COST dummy hash)"
say ""

# --- PostgreSQL: fresh database, one real user, seeded users and sessions -----------------
psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null
start_server setup "$DB_URL" # applies the migrations
signup=$(curl -s --max-time 30 -X POST "$BASE/signup" -H 'content-type: application/json' \
  -d '{"email":"profile@bench.test","password":"correct horse battery staple"}')
USER_ID=$(printf '%s' "$signup" | jq -er .user.id) || fail "signup failed: $signup"
login=$(curl -s --max-time 30 -X POST "$BASE/login" -H 'content-type: application/json' \
  -d '{"email":"profile@bench.test","password":"correct horse battery staple"}')
TOKEN=$(printf '%s' "$login" | jq -er .token) || fail "login failed: $login"
# A browser session of the same user, for the cookie scenario (c_cookie).
COOKIE=$(curl -s --max-time 30 -D - -o /dev/null -X POST "$BASE/login?session=cookie" \
  -H 'content-type: application/json' \
  -d '{"email":"profile@bench.test","password":"correct horse battery staple"}' |
  tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -n 1)
[ -n "$COOKIE" ] || fail "the cookie login set no cookie"
stop_server
SEED_HASH=$("$HASH_BIN" hash "$COST" "$PASSWORD")
first_step=${USER_STEPS%% *}
bench/seed.sh "$DB_URL" "$first_step" "$SEED_HASH" | tee -a "$OUT"
AUTH="Authorization: Bearer $TOKEN"
# Sessions 1..SESSIONS over the first_step users; the refresh pool just before the probe's.
PROBE_FROM=$((SESSIONS - PROBES + 1))
POOL_FROM=$((PROBE_FROM - 256)) POOL_TO=$((PROBE_FROM - 1))
bench/seed-sessions.sh "$DB_URL" "$SESSIONS" "$first_step" "$POOL_FROM" "$POOL_TO" \
  >"$LOGS/refresh-pool.txt" 2> >(tee -a "$OUT" >&2)
mint() { node bench/tokens.js mint "$JWT_SECRET" "$1" "$2" "$first_step" >"$3"; }
mint 1 "$FLOOD_TOKENS" "$LOGS/flood-tokens.txt"
mint "$PROBE_FROM" "$SESSIONS" "$LOGS/probe-tokens.txt"
[ "$WIDE_TOKENS" -gt 0 ] && mint 1 "$WIDE_TOKENS" "$LOGS/wide-tokens.txt"
say "tokens:      $FLOOD_TOKENS (flood i), $WIDE_TOKENS (flood i'), $PROBES (probe h) signed; $(wc -l <"$LOGS/refresh-pool.txt") refresh tokens (g)"
say "database:    $(psql "$DB_URL" -Atqc "SELECT pg_size_pretty(pg_database_size('$DB_NAME'))") ($(psql "$DB_URL" -Atqc 'SELECT count(*) FROM users') users, $(psql "$DB_URL" -Atqc 'SELECT count(*) FROM sessions') sessions)"

# Sanity: every route answers 200 before anything is measured.
start_server check "$DB_URL"
for path in /bench/plain /bench/bare /bench/guarded /user/profile "/bench/db?id=$USER_ID"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "$AUTH" "$BASE$path")
  [ "$code" = 200 ] || fail "GET $path answered $code"
done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Cookie: $COOKIE" "$BASE/user/profile")
[ "$code" = 200 ] || fail "GET /user/profile by the session cookie answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $(head -n 1 "$LOGS/flood-tokens.txt")" "$BASE/user/profile")
[ "$code" = 200 ] || fail "GET /user/profile with a signed bench token answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST "$BASE/login" -H 'content-type: application/json' \
  -d "{\"email\":\"user1@bench.test\",\"password\":\"$PASSWORD\"}")
[ "$code" = 200 ] || fail "POST /login for a seeded user answered $code"
stop_server

# --- GET scenarios ----------------------------------------------------------------------------
# measure <key> <connections> <wrk args...>: against the running server, 1 s of warm-up first.
measure() {
  local key=$1 conns=$2
  shift 2
  wrk_run "$key-warmup" "$conns" 1 "$@" >/dev/null
  local line
  cpu_begin
  line=$(wrk_run "$key" "$conns" "$DURATION" "$@")
  cpu_end
  record "$key" "$line" "$(peak_rss)"
  echo "  $key: $line"
}
get_scenario() { # get_scenario <key> <path> [extra env]
  local key=$1 path=$2
  shift 2
  start_server "$key" "$DB_URL" "$@"
  measure "$key" "$CONNECTIONS" -H "$AUTH" "$BASE$path"
  stop_server
}
echo "running the scenarios (${DURATION}s each)..."
get_scenario a /bench/plain
get_scenario b0 /bench/bare
get_scenario b /bench/guarded
get_scenario c /user/profile
start_server c_query "$DB_URL"
measure c_query "$CONNECTIONS" "$BASE/user/profile?secret_token=$TOKEN"
stop_server
start_server c_cookie "$DB_URL"
measure c_cookie "$CONNECTIONS" -H "Cookie: $COOKIE" "$BASE/user/profile"
stop_server
get_scenario d "/bench/db?id=$USER_ID"
get_scenario a_info /bench/plain RUST_LOG=info

# --- (n) the seeds' Node app ----------------------------------------------------------------
launch node "$NODE_BASE" env PORT="$NODE_PORT" JWT_SECRET="$JWT_SECRET" BCRYPT_COST="$COST" \
  node "$ROOT/bench/node-seed/app.js"
NODE_PID=$LAUNCHED_PID
curl -s --max-time 30 -X POST "$NODE_BASE/signup" -d 'email=profile@bench.test&password=correct horse' >/dev/null
NODE_TOKEN=$(curl -s --max-time 30 -X POST "$NODE_BASE/login" -H 'content-type: application/json' \
  -d '{"email":"profile@bench.test","password":"correct horse"}' | jq -er .token) || fail "the Node app's login failed"
SERVER_PID=$NODE_PID # for cpu_begin/peak_rss
measure n "$CONNECTIONS" "$NODE_BASE/user/profile?secret_token=$NODE_TOKEN"
stop_server

# --- (e) login storm, (f) profile during the storm ------------------------------------------
start_server e "$DB_URL"
cpu_begin
login_line=$(login_run e "$DURATION" "$first_step")
line=$(grep '^WRK_RESULT' "$LOGS/wrk-e.txt")
cpu_end
record e "$line" "$(peak_rss)"
LOGIN_OK_RPS[e]=$(field ok_rps "$login_line") LOGIN_OK_P50[e]=$(field ok_p50_ms "$login_line")
LOGIN_OK_P99[e]=$(field ok_p99_ms "$login_line") LOGIN_BUSY[e]=$(field busy503 "$login_line")
stop_server
echo "  e: $login_line"

start_server f "$DB_URL"
login_run f-login $((DURATION + 4)) "$first_step" >"$LOGS/f-login.result" &
BG_PIDS+=($!)
sleep 2 # let the storm fill the hashing queue first
cpu_begin
line=$(wrk_run f "$CONNECTIONS" "$DURATION" -H "$AUTH" "$BASE/user/profile")
cpu_end
wait "${BG_PIDS[-1]}" || true
login_line=$(cat "$LOGS/f-login.result")
record f_login "$(grep '^WRK_RESULT' "$LOGS/wrk-f-login.txt")"
LOGIN_OK_RPS[f_login]=$(field ok_rps "$login_line") LOGIN_OK_P50[f_login]=$(field ok_p50_ms "$login_line")
LOGIN_OK_P99[f_login]=$(field ok_p99_ms "$login_line") LOGIN_BUSY[f_login]=$(field busy503 "$login_line")
SCPU[f_login]="" PGCPU[f_login]=""
record f "$line" "$(peak_rss)"
RSS[f_login]=${RSS[f]}
stop_server
echo "  f: $line"
echo "  f (logins): $login_line"

# --- (g) refresh saturated --------------------------------------------------------------------
# The pool holds 256 never-used refresh tokens of distinct sessions; every answer hands back
# the next one of its session (bench/wrk.lua), so no token is ever presented twice. The warm-up
# is skipped: it would spend the pool.
start_server g "$DB_URL"
cpu_begin
line=$(BENCH_WRK_RESPONSES=1 wrk_run g "$CONNECTIONS" "$DURATION" "$BASE/token/refresh" -- refresh "$LOGS/refresh-pool.txt")
cpu_end
record g "$line" "$(peak_rss)"
stop_server
echo "  g: $line"

# --- (k) /password/forgot, a registered address vs an unknown one ------------------------------
# The same answer (202) whatever the address; the lookup, the link and the mail are queued
# off the request path, so the time should be the same too (MAIL_RESEND_SECONDS holds back
# the registered address's repeats, as it would an attacker's).
start_server k "$DB_URL"
measure k "$CONNECTIONS" "$BASE/password/forgot" -- post '{"email":"profile@bench.test"}'
stop_server
start_server k_unknown "$DB_URL"
measure k_unknown "$CONNECTIONS" "$BASE/password/forgot" -- post '{"email":"nobody-here@bench.test"}'
stop_server

# --- (o) the outbox draining queued mails --------------------------------------------------------
# OUTBOX_MAILS mails queued in the table while no server runs, then one server started with
# SMTP_URL at a real SMTP server on loopback: the time from its start to an empty queue.
OUTBOX_LINE=""
if [ "$OUTBOX_MAILS" -gt 0 ] && /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  psql "$DB_URL" -qc "DELETE FROM mail_outbox" >/dev/null
  psql "$DB_URL" -qc "INSERT INTO mail_outbox (kind, recipient, subject, body, created_at, next_attempt_at)
    SELECT 'password_reset', 'user' || i || '@bench.test', 'Reset your password',
           'Open http://localhost/reset-password?token=bench' || i, 0, 0
    FROM generate_series(1, $OUTBOX_MAILS) AS i" >/dev/null
  mkdir -p "$LOGS/smtp"
  # The SMTP server exits when its standard input closes: keep a pipe open until cleanup.
  mkfifo "$RUN_DIR/smtp.in"
  taskset -c "$CLIENT_CPUS" /usr/bin/python3 tests/smtp/server.py "$SMTP_PORT" "$LOGS/smtp" \
    <"$RUN_DIR/smtp.in" >"$LOGS/smtp.log" 2>&1 &
  SMTP_PID=$!
  exec 9>"$RUN_DIR/smtp.in"
  for _ in $(seq 100); do grep -q ready "$LOGS/smtp.log" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$LOGS/smtp.log" || fail "the SMTP server did not start; see $LOGS/smtp.log"
  o_started=$(date +%s%N)
  start_server o "$DB_URL" SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" MAIL_POLL_SECONDS=1
  cpu_begin
  deadline=$((SECONDS + 300))
  while [ "$(psql "$DB_URL" -Atqc 'SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL')" != 0 ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the outbox did not drain within 300 s"
    sleep 0.05
  done
  o_ms=$((($(date +%s%N) - o_started) / 1000000))
  cpu_end
  o_sent=$(psql "$DB_URL" -Atqc 'SELECT count(*) FROM mail_outbox WHERE sent_at IS NOT NULL')
  o_files=$(find "$LOGS/smtp" -name '*.eml' | wc -l)
  RSS[o]=$(peak_rss)
  stop_server
  exec 9>&-
  stop_pid "$SMTP_PID"
  SMTP_PID=""
  OUTBOX_LINE="$o_sent of $OUTBOX_MAILS sent ($o_files received by the SMTP server) in $o_ms ms from the server's start = $(calc "$o_sent * 1000 / $o_ms") mails/s; server cpu ${SRV_CPU}%, pg cpu ${PG_CPU}%"
  echo "  o: $OUTBOX_LINE"
else
  OUTBOX_LINE="skipped (BENCH_OUTBOX_MAILS=0 or no python3-aiosmtpd: apt-get install -y python3-aiosmtpd)"
fi

# --- (h) two instances, revocation propagation ---------------------------------------------------
start_server h_a "$DB_URL"
launch h_b "$BASE_B" env DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT_B" "$SERVER_BIN"
SERVER_B_PID=$LAUNCHED_PID
sleep 1 # B's listener subscribes and hears its first heartbeat
PROBE_LINE=$(taskset -c "$CLIENT_CPUS" node bench/tokens.js probe "$BASE" "$BASE_B" "$LOGS/probe-tokens.txt" "$PROBES" \
  2>"$LOGS/probe.err" | grep '^PROBE_RESULT') || fail "the revocation probe failed; see $LOGS/probe.err"
RSS[h]=$(peak_rss "$SERVER_B_PID")
stop_pid "$SERVER_B_PID"
SERVER_B_PID=""
stop_server
echo "  h: $PROBE_LINE"

# --- (i) distinct-token floods -------------------------------------------------------------------
start_server i "$DB_URL"
cpu_begin # no warm-up: the first pass over the tokens is the cache-miss path being measured
line=$(wrk_run i "$CONNECTIONS" "$DURATION" "$BASE/user/profile" -- tokens "$LOGS/flood-tokens.txt")
cpu_end
record i "$line" "$(peak_rss)"
stop_server
echo "  i: $line"
if [ "$WIDE_TOKENS" -gt 0 ]; then
  start_server i_wide "$DB_URL"
  cpu_begin
  line=$(wrk_run i_wide "$CONNECTIONS" "$DURATION" "$BASE/user/profile" -- tokens "$LOGS/wide-tokens.txt")
  cpu_end
  record i_wide "$line" "$(peak_rss)"
  stop_server
  echo "  i_wide: $line"
fi

# --- (j) login latency against the number of users ------------------------------------------
J_KEYS=()
for users in $USER_STEPS; do
  bench/seed.sh "$DB_URL" "$users" "$SEED_HASH" | tee -a "$OUT"
  key="j_$users"
  start_server "$key" "$DB_URL"
  cpu_begin
  line=$(wrk_run "$key" 1 "$DURATION" "$BASE/login" -- login "$users" "$PASSWORD")
  cpu_end
  record "$key" "$line" "$(peak_rss)"
  stop_server
  J_KEYS+=("$key")
  echo "  $key: $line"
done

# --- (m) POST /login/mfa: the second step of a login with TOTP ---------------------------------
# Last: enrolling ends the user's other sessions, which the scenarios above use. bench/mfa.js
# enrols MFA_USERS bench users (not timed: each costs three password hashes), then sends each
# user's mfa_token and a fresh code once, 16 in flight (a code is accepted once, RFC 6238 §5.2).
start_server m "$DB_URL"
MFA_LINE=$(taskset -c "$CLIENT_CPUS" node bench/mfa.js "$BASE" 1 "$MFA_USERS" "$PASSWORD" 16 \
  2>"$LOGS/mfa.err" | grep '^MFA_RESULT') || fail "the /login/mfa scenario failed; see $LOGS/mfa.err"
RSS[m]=$(peak_rss)
stop_server
echo "  m: $MFA_LINE"
# Every mfa_token must have been redeemed: one that expired during a long setup (300 s) would
# be a refusal measured as if it were a login.
[ "$(field requests "$MFA_LINE")" = "$(field ok "$MFA_LINE")" ] ||
  fail "(m): not every /login/mfa succeeded ($MFA_LINE); see $LOGS/server-m.log"

# --- report ---------------------------------------------------------------------------------
say ""
say "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (at end)"
say ""
row() { printf '%-44s %10s %10s %10s %7s %9s %8s %7s %10s\n' "$@" | tee -a "$OUT"; }
row scenario req/s p50_ms p99_ms errors peak_MiB srv_cpu% pg_cpu% srv_us/req
per_request() { if [ -n "$1" ]; then calc "$1 * 10000 / $2"; else echo -; fi; } # CPU us per request
mib() { [ -n "$1" ] && calc "$1 / 1024" || echo -; }
label_of() {
  case $1 in
    a) echo "(a) GET /bench/plain" ;;
    a_info) echo "(a') GET /bench/plain, RUST_LOG=info" ;;
    b0) echo "(b0) GET /bench/bare (floor: actix+jwt)" ;;
    b) echo "(b) GET /bench/guarded (passport, no DB)" ;;
    c) echo "(c) GET /user/profile (Bearer)" ;;
    c_query) echo "(c') GET /user/profile?secret_token=" ;;
    c_cookie) echo "(c'') GET /user/profile (session cookie)" ;;
    d) echo "(d) GET /bench/db (DB, no auth)" ;;
    n) echo "(n) Node seed app /user/profile?secret_token" ;;
    e) echo "(e) POST /login, $LOGIN_CONNECTIONS conns (all answers)" ;;
    f) echo "(f) GET /user/profile during (e)" ;;
    f_login) echo "    POST /login during (f) (all answers)" ;;
    g) echo "(g) POST /token/refresh, $CONNECTIONS conns" ;;
    k) echo "(k) POST /password/forgot, registered" ;;
    k_unknown) echo "(k') POST /password/forgot, unknown" ;;
    i) echo "(i) /user/profile, $FLOOD_TOKENS distinct tokens" ;;
    i_wide) echo "(i') /user/profile, $WIDE_TOKENS distinct tokens" ;;
    j_*) echo "(j) POST /login, 1 conn, ${1#j_} users" ;;
  esac
}
KEYS=(a a_info b0 b c c_query c_cookie d n e f f_login g k k_unknown)
KEYS+=(i)
[ "$WIDE_TOKENS" -gt 0 ] && KEYS+=(i_wide)
KEYS+=("${J_KEYS[@]}")
for key in "${KEYS[@]}"; do
  row "$(label_of "$key")" "${RPS[$key]}" "${P50[$key]}" "${P99[$key]}" "${ERRS[$key]}" "$(mib "${RSS[$key]}")" \
    "${SCPU[$key]:--}" "${PGCPU[$key]:--}" "$(per_request "${SCPU[$key]}" "${RPS[$key]}")"
done
say "(srv_cpu%: the server process's CPU over the measured interval, in % of one core; pg_cpu%: the"
say " PostgreSQL backends of $DB_NAME over the same interval; srv_us/req: server CPU per request;"
say " peak_MiB: the server's VmHWM; (n) is the Node process)"
say ""
say "successful logins (200), from bench/wrk.lua's LOGIN_RESULT:"
for key in e f_login; do
  say "  $(label_of "$key" | sed 's/ (all answers)//'): ${LOGIN_OK_RPS[$key]}/s, p50 ${LOGIN_OK_P50[$key]} ms, p99 ${LOGIN_OK_P99[$key]} ms, ${LOGIN_BUSY[$key]} answered 503 server_busy"
done
say "outbox (o): $OUTBOX_LINE"
say "second factor (m): $MFA_LINE"
say "  (POST /login/mfa with an mfa_token and a TOTP code, each user once, 16 in flight; the password step and enrolment not timed)"
say "revocation propagation (h): $PROBE_LINE"
say "  (two instances on $DB_NAME; POST /logout on A, then GET /user/profile on B until 401; ms from A's 204 to B's 401)"
say ""
say "targets (ratios within this run):"
target() { printf '  %-62s %-24s %s\n' "$1" "$2" "$3" | tee -a "$OUT"; }
vs_node=$(calc "${RPS[c_query]} / ${RPS[n]}")
vs_floor=$(calc "${RPS[c]} / ${RPS[b0]}")
fc=$(calc "${RPS[f]} / ${RPS[c]}")
fp=$(calc "${P99[f]} / ${P99[c]}")
storm_logins=$(calc "${LOGIN_OK_RPS[f_login]} / $HASH_LIMIT")
eh=$(calc "${LOGIN_OK_RPS[e]} / $HASH_LIMIT")
probe_p99=$(field p99_ms "$PROBE_LINE")
target "(c') /user/profile >= 25 x the seeds' Node app (n)" "$vs_node x" "$(verdict "$vs_node >= 25")"
target "(c) /user/profile >= 0.8 x the bare floor (b0)" "$vs_floor x" "$(verdict "$vs_floor >= 0.8")"
cookie_vs_bearer=$(calc "${RPS[c_cookie]} / ${RPS[c]}")
target "(c'') cookie /user/profile within 10 % of Bearer (c)" "$cookie_vs_bearer x" "$(verdict "$cookie_vs_bearer >= 0.90")"
target "storm: (f)/(c) throughput >= 0.45" "$fc" "$(verdict "$fc >= 0.45")"
target "storm: (f) p99 <= 3 x (c) p99 (${P99[c]} ms)" "$fp x" "$(verdict "$fp <= 3")"
target "storm: logins during (f) >= 0.45 x hash limit ($HASH_LIMIT/s)" "$storm_logins x" "$(verdict "$storm_logins >= 0.45")"
target "(e) logins alone >= 0.90 x hash limit" "$eh x" "$(verdict "$eh >= 0.90")"
target "(g) POST /token/refresh >= 4000 req/s, one core, no errors" "${RPS[g]}/s (${ERRS[g]} errors)" "$(verdict "${RPS[g]} >= 4000 && ${ERRS[g]} == 0")"
target "(g) POST /token/refresh p99 <= 20 ms" "${P99[g]} ms" "$(verdict "${P99[g]} <= 20")"
kk=$(calc "${P50[k]} / ${P50[k_unknown]}")
target "(k)/(k') /password/forgot p50, registered vs unknown (0.8..1.25)" "$kk x" "$(verdict "$kk >= 0.8 && $kk <= 1.25")"
target "(h) revocation propagation p99 <= 100 ms" "$probe_p99 ms" "$(verdict "$probe_p99 <= 100")"
max_rss=0 max_key=""
for key in "${!RSS[@]}"; do
  [ "$key" = n ] && continue # the Node app is not held to the target
  [ -n "${RSS[$key]}" ] && [ "${RSS[$key]}" -gt "$max_rss" ] && max_rss=${RSS[$key]} max_key=$key
done
target "peak RSS <= 50 MB in every scenario ($SESSIONS sessions in the DB)" "max $(mib "$max_rss") MiB ($max_key)" "$(verdict "$max_rss <= $RSS_LIMIT_KIB")"
say "  peak RSS per scenario (MiB): $(for key in "${KEYS[@]}" h; do printf '%s=%s ' "$key" "$(mib "${RSS[$key]}")"; done)"
ba=$(calc "${RPS[b]} / ${RPS[a]}")
target "(b)/(a) >= 0.85 (passport's guard vs a plain route)" "$ba" "$(verdict "$ba >= 0.85")"
target "startup to first answer <= 1 s (SQLite, new file)" "$STARTUP_COLD ms" "$(verdict "$STARTUP_COLD <= 1000")"
j_first=${J_KEYS[0]} j_last=${J_KEYS[-1]}
jl=$(calc "${P50[$j_last]} / ${P50[$j_first]}")
target "login p50 flat ${j_first#j_} -> ${j_last#j_} users (<= 1.10 x)" "$jl x" "$(verdict "$jl <= 1.10")"
say ""
say "results: $OUT   logs: $LOGS/"

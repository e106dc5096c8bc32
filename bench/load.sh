#!/usr/bin/env bash
# Load benchmark of passport-server: the release server pinned to one core, wrk pinned to
# another, PostgreSQL on 127.0.0.1:5432. Loopback only; every run is bounded in time.
#
#   bench/load.sh                       # full run: 15 s per scenario, users 1k -> 100k -> 1M
#   BENCH_QUICK=1 bench/load.sh         # smoke: 3 s per scenario, users 1k -> 20k
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
#
# Scenarios (a fresh server process for each, so each peak RSS is its own):
#   (a) GET /bench/plain  (b) GET /bench/guarded (JWT, no DB)  (c) GET /user/profile (JWT + DB)
#   (d) GET /bench/db (the DB query of (c), no auth)  (e) POST /login saturated
#   (f) GET /user/profile while (e) runs  (g) login latency with 1k .. 1M users
#   plus: startup to first answer on SQLite, the bcrypt hashing limit, (a) with RUST_LOG=info.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then default_duration=3; default_steps="1000 20000"; else default_duration=15; default_steps="1000 100000 1000000"; fi
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
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-bench/results/load-$STAMP.txt}
LOGS=bench/results/logs-$STAMP
DB_NAME=passport_bench
DB_URL="${PG_ADMIN_URL%/*}/$DB_NAME"
BASE="http://127.0.0.1:$PORT"
PASSWORD=bench-password-1
WRK_TIMEOUT=30
# Peak RSS target: 50 MB = 50,000,000 bytes (the stricter reading), in KiB as VmHWM reports.
RSS_LIMIT_KIB=48828

case "$DURATION" in '' | *[!0-9]*) echo "BENCH_DURATION must be whole seconds" >&2; exit 2 ;; esac
mkdir -p "$(dirname "$OUT")" "$LOGS"
: >"$OUT"

say() { printf '%s\n' "$*" | tee -a "$OUT"; }
fail() { say "FATAL: $*"; exit 1; }

# --- tools ----------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
for tool in wrk psql taskset curl jq cargo awk; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is required (apt-get install -y wrk postgresql-client util-linux curl jq)"
done
psql "$PG_ADMIN_URL" -Atqc 'SELECT 1' >/dev/null 2>&1 || fail "PostgreSQL is not reachable at $PG_ADMIN_URL"
[ "$(nproc)" -ge 2 ] || say "WARNING: fewer than 2 cores: server and wrk share a core; figures are not comparable"

# --- build ----------------------------------------------------------------------------------
echo "building the release server and the hash timer..."
cargo build --release --locked -q -p passport-server --bin passport-server
cargo build --release --locked -q -p passport-actix --example hash_time
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
SERVER_BIN=$TARGET_DIR/release/passport-server
HASH_BIN=$TARGET_DIR/release/examples/hash_time
if [ ! -x "$SERVER_BIN" ] || [ ! -x "$HASH_BIN" ]; then fail "binaries not found under $TARGET_DIR/release"; fi

# --- processes we start, and their cleanup ----------------------------------------------------
RUN_DIR=$(mktemp -d) # the server's working directory: no project .env is read
SERVER_PID=""
BG_PIDS=()
cleanup() {
  for pid in "${BG_PIDS[@]}" $SERVER_PID; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export PGOPTIONS=--client-min-messages=warning
JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export APP_ENV=development BENCH_ROUTES=true BIND_ADDR="127.0.0.1:$PORT" JWT_SECRET BCRYPT_COST=$COST
export RATE_LIMIT_PER_MINUTE=4000000000 LOGIN_MAX_FAILURES=1000000000 LOG_FORMAT=pretty
export RUST_LOG=$SERVER_LOG_LEVEL

# start_server <label> <database-url> [extra VAR=value ...]: waits for /health (10 s at most).
start_server() {
  local label=$1 url=$2
  shift 2
  if curl -s -o /dev/null --max-time 1 "$BASE/health"; then fail "something already listens on port $PORT"; fi
  STARTED_NS=$(date +%s%N)
  (cd "$RUN_DIR" && exec env DATABASE_URL="$url" "$@" taskset -c "$SERVER_CPUS" "$SERVER_BIN") \
    >"$LOGS/server-$label.log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 10))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/health")" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server ($label) exited; see $LOGS/server-$label.log"
    [ "$SECONDS" -lt "$deadline" ] || fail "the server ($label) did not answer within 10 s"
    sleep 0.02
  done
  READY_MS=$((($(date +%s%N) - STARTED_NS) / 1000000))
}

# The server's peak resident set (VmHWM) in KiB.
peak_rss() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local deadline=$((SECONDS + 35))
  while kill -0 "$SERVER_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# wrk_run <label> <connections> <seconds> <wrk args...>: the WRK_RESULT line, or fails.
wrk_run() {
  local label=$1 conns=$2 secs=$3
  shift 3
  timeout $((secs + WRK_TIMEOUT + 30)) taskset -c "$CLIENT_CPUS" \
    wrk -t1 -c"$conns" -d"${secs}s" --timeout "${WRK_TIMEOUT}s" -s bench/wrk.lua "$@" \
    >"$LOGS/wrk-$label.txt" 2>&1 || true
  grep '^WRK_RESULT' "$LOGS/wrk-$label.txt" || fail "wrk ($label) printed no result; see $LOGS/wrk-$label.txt"
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

declare -A RPS P50 P99 ERRS RSS SCPU PGCPU
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
say "commit:      $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)')"
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

# --- PostgreSQL: fresh database, one real user, seeded users --------------------------------
psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null
start_server setup "$DB_URL" # applies the migrations
signup=$(curl -s --max-time 30 -X POST "$BASE/signup" -H 'content-type: application/json' \
  -d '{"email":"profile@bench.test","password":"correct horse battery staple"}')
USER_ID=$(printf '%s' "$signup" | jq -er .user.id) || fail "signup failed: $signup"
login=$(curl -s --max-time 30 -X POST "$BASE/login" -H 'content-type: application/json' \
  -d '{"email":"profile@bench.test","password":"correct horse battery staple"}')
TOKEN=$(printf '%s' "$login" | jq -er .token) || fail "login failed: $login"
stop_server
SEED_HASH=$("$HASH_BIN" hash "$COST" "$PASSWORD")
first_step=${USER_STEPS%% *}
bench/seed.sh "$DB_URL" "$first_step" "$SEED_HASH" | tee -a "$OUT"
AUTH="Authorization: Bearer $TOKEN"

# Sanity: every route answers 200 before anything is measured.
start_server check "$DB_URL"
for path in /bench/plain /bench/guarded /user/profile "/bench/db?id=$USER_ID"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "$AUTH" "$BASE$path")
  [ "$code" = 200 ] || fail "GET $path answered $code"
done
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST "$BASE/login" -H 'content-type: application/json' \
  -d "{\"email\":\"user1@bench.test\",\"password\":\"$PASSWORD\"}")
[ "$code" = 200 ] || fail "POST /login for a seeded user answered $code"
stop_server

# --- (a)-(d): GET scenarios -----------------------------------------------------------------
get_scenario() { # get_scenario <key> <path> [extra env]
  local key=$1 path=$2
  shift 2
  start_server "$key" "$DB_URL" "$@"
  wrk_run "$key-warmup" "$CONNECTIONS" 1 -H "$AUTH" "$BASE$path" >/dev/null
  local line
  cpu_begin
  line=$(wrk_run "$key" "$CONNECTIONS" "$DURATION" -H "$AUTH" "$BASE$path")
  cpu_end
  record "$key" "$line" "$(peak_rss)"
  stop_server
  echo "  $key: $line"
}
echo "running the scenarios (${DURATION}s each)..."
get_scenario a /bench/plain
get_scenario b /bench/guarded
get_scenario c /user/profile
get_scenario d "/bench/db?id=$USER_ID"
get_scenario a_info /bench/plain RUST_LOG=info

# --- (e) login storm, (f) profile during the storm ------------------------------------------
start_server e "$DB_URL"
cpu_begin
line=$(wrk_run e "$LOGIN_CONNECTIONS" "$DURATION" "$BASE/login" -- login "$first_step" "$PASSWORD")
cpu_end
record e "$line" "$(peak_rss)"
stop_server
echo "  e: $line"

start_server f "$DB_URL"
wrk_run f-login "$LOGIN_CONNECTIONS" $((DURATION + 4)) "$BASE/login" -- login "$first_step" "$PASSWORD" >"$LOGS/f-login.result" &
BG_PIDS+=($!)
sleep 2 # let the storm fill the hashing queue first
cpu_begin
line=$(wrk_run f "$CONNECTIONS" "$DURATION" -H "$AUTH" "$BASE/user/profile")
cpu_end
wait "${BG_PIDS[-1]}" || true
record f_login "$(cat "$LOGS/f-login.result")"
SCPU[f_login]="" PGCPU[f_login]=""
record f "$line" "$(peak_rss)"
RSS[f_login]=${RSS[f]}
stop_server
echo "  f: $line"

# --- (g) login latency against the number of users ------------------------------------------
G_KEYS=()
for users in $USER_STEPS; do
  bench/seed.sh "$DB_URL" "$users" "$SEED_HASH" | tee -a "$OUT"
  key="g_$users"
  start_server "$key" "$DB_URL"
  cpu_begin
  line=$(wrk_run "$key" 1 "$DURATION" "$BASE/login" -- login "$users" "$PASSWORD")
  cpu_end
  record "$key" "$line" "$(peak_rss)"
  stop_server
  G_KEYS+=("$key")
  echo "  $key: $line"
done

# --- report ---------------------------------------------------------------------------------
say ""
say "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (at end)"
say ""
row() { printf '%-40s %10s %10s %10s %7s %9s %8s %7s %10s\n' "$@" | tee -a "$OUT"; }
row scenario req/s p50_ms p99_ms errors peak_MiB srv_cpu% pg_cpu% srv_us/req
per_request() { if [ -n "$1" ]; then calc "$1 * 10000 / $2"; else echo -; fi; } # CPU us per request
mib() { [ -n "$1" ] && calc "$1 / 1024" || echo -; }
label_of() {
  case $1 in
    a) echo "(a) GET /bench/plain" ;;
    a_info) echo "(a') GET /bench/plain, RUST_LOG=info" ;;
    b) echo "(b) GET /bench/guarded (JWT, no DB)" ;;
    c) echo "(c) GET /user/profile (JWT + DB)" ;;
    d) echo "(d) GET /bench/db (DB, no auth)" ;;
    e) echo "(e) POST /login, $LOGIN_CONNECTIONS conns" ;;
    f) echo "(f) GET /user/profile during (e)" ;;
    f_login) echo "    POST /login during (f)" ;;
    g_*) echo "(g) POST /login, 1 conn, ${1#g_} users" ;;
  esac
}
for key in a a_info b c d e f f_login "${G_KEYS[@]}"; do
  row "$(label_of "$key")" "${RPS[$key]}" "${P50[$key]}" "${P99[$key]}" "${ERRS[$key]}" "$(mib "${RSS[$key]}")" \
    "${SCPU[$key]:--}" "${PGCPU[$key]:--}" "$(per_request "${SCPU[$key]}" "${RPS[$key]}")"
done

say "(srv_cpu%: the server process's CPU over the measured interval, in % of one core; pg_cpu%: the"
say " PostgreSQL backends of $DB_NAME over the same interval; srv_us/req: server CPU per request;"
say " peak_MiB: the server's VmHWM)"
say ""
say "targets (ratios within this run):"
target() { printf '  %-58s %-26s %s\n' "$1" "$2" "$3" | tee -a "$OUT"; }
ba=$(calc "${RPS[b]} / ${RPS[a]}")
cd_=$(calc "${RPS[c]} / ${RPS[d]}")
eh=$(calc "${RPS[e]} / $HASH_LIMIT")
fc=$(calc "${RPS[f]} / ${RPS[c]}")
fp=$(calc "${P99[f]} / ${P99[c]}")
target "(b)/(a) >= 0.85" "$ba" "$(verdict "$ba >= 0.85")"
target "(c)/(d) >= 0.85" "$cd_" "$(verdict "$cd_ >= 0.85")"
target "(e) >= 0.90 x hash limit ($HASH_LIMIT/s)" "$eh" "$(verdict "$eh >= 0.90")"
target "(f)/(c) >= 0.5" "$fc" "$(verdict "$fc >= 0.5")"
target "(f) p99 <= 3 x (c) p99 (${P99[c]} ms)" "$fp x" "$(verdict "$fp <= 3")"
max_rss=0
for key in "${!RSS[@]}"; do [ -n "${RSS[$key]}" ] && [ "${RSS[$key]}" -gt "$max_rss" ] && max_rss=${RSS[$key]}; done
target "peak RSS <= 50 MB in every scenario" "max $(mib "$max_rss") MiB" "$(verdict "$max_rss <= $RSS_LIMIT_KIB")"
target "startup to first answer <= 1 s (SQLite, new file)" "$STARTUP_COLD ms" "$(verdict "$STARTUP_COLD <= 1000")"
g_first=${G_KEYS[0]} g_last=${G_KEYS[-1]}
gl=$(calc "${P50[$g_last]} / ${P50[$g_first]}")
target "login p50 flat ${g_first#g_} -> ${g_last#g_} users (<= 1.10 x)" "$gl x" "$(verdict "$gl <= 1.10")"
say ""
say "results: $OUT   logs: $LOGS/"

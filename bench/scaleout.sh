#!/usr/bin/env bash
# Throughput through a real load balancer and a transaction pooler (issue 24): HAProxy
# (round-robin) in front of 1, 2 and 3 release passport-server instances, every instance on
# PgBouncer (transaction mode) in front of PostgreSQL, as tests/support/scaleout.rs starts
# them; plus one instance reached directly (no balancer, no pooler) for comparison. On a
# machine of few cores the instances share them: the ratios say what the balancer and the
# pooler cost, not what more machines would give.
#
#   bench/scaleout.sh                      # 10 s per measurement
#   BENCH_DURATION=5 bench/scaleout.sh
#
# Measured: GET /user/profile (Bearer, 64 connections) and POST /login (16 connections, one
# wrk thread each, Retry-After honoured; bcrypt cost BCRYPT_COST, default 10).
# Needs: a release build (or BENCH_SERVER_BIN, BENCH_HASH_BIN), wrk, psql, curl, jq,
# pgbouncer and haproxy (apt-get install -y pgbouncer haproxy). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10}
COST=${BCRYPT_COST:-10}
PG_ADMIN_URL=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=passport_scaleout
TARGET_DIR=${CARGO_TARGET_DIR:-$(pwd)/target}
SERVER_BIN=${BENCH_SERVER_BIN:-$TARGET_DIR/release/passport-server}
HASH_BIN=${BENCH_HASH_BIN:-$TARGET_DIR/release/examples/hash_time}
PGB_PORT=${BENCH_PGBOUNCER_PORT:-6499}
LB_PORT=${BENCH_LB_PORT:-3190}
FIRST_PORT=${BENCH_PORT:-3191}
PASSWORD=bench-password-1
USERS=1000
for tool in wrk psql curl jq pgbouncer haproxy; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
    { echo "$tool is required (apt-get install -y wrk postgresql-client curl jq pgbouncer haproxy)" >&2; exit 1; }
done
[ -x "$SERVER_BIN" ] && [ -x "$HASH_BIN" ] || { echo "no release build: cargo build --release -p passport-server && cargo build --release -p passport-actix --example hash_time" >&2; exit 1; }
export PATH=$PATH:/usr/sbin PGOPTIONS=--client-min-messages=warning

RUN_DIR=$(mktemp -d)
chmod 755 "$RUN_DIR" # PgBouncer runs as postgres when started by root: it reads its ini here
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT

wait_port() { # wait_port <port> <what>
  for _ in $(seq 250); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.04
  done
  echo "$2 did not listen on $1" >&2
  exit 1
}

psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null
DIRECT_URL="${PG_ADMIN_URL%/*}/$DB"
pg_host_port=${PG_ADMIN_URL#*@}
pg_host_port=${pg_host_port%%/*}
cat >"$RUN_DIR/pgbouncer.ini" <<EOF
[databases]
$DB = host=${pg_host_port%%:*} port=${pg_host_port##*:} dbname=$DB user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 30
max_client_conn = 200
log_connections = 0
log_disconnections = 0
EOF
chmod 644 "$RUN_DIR/pgbouncer.ini"
if [ "$(id -u)" = 0 ]; then
  runuser -u postgres -- pgbouncer "$RUN_DIR/pgbouncer.ini" >"$RUN_DIR/pgbouncer.log" 2>&1 &
else
  pgbouncer "$RUN_DIR/pgbouncer.ini" >"$RUN_DIR/pgbouncer.log" 2>&1 &
fi
PIDS+=($!)
wait_port "$PGB_PORT" pgbouncer
POOLED_URL="postgres://postgres@127.0.0.1:$PGB_PORT/$DB?sslmode=disable"

JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export APP_ENV=development JWT_SECRET BCRYPT_COST=$COST RUST_LOG=warn LOG_FORMAT=pretty
export RATE_LIMIT_PER_MINUTE=4000000000 LOGIN_MAX_FAILURES=1000000000 HASH_QUEUE_LIMIT=8

start_instance() { # start_instance <port> <pooled|direct>: sets INSTANCE_PID
  local url=$POOLED_URL mode=transaction
  [ "$2" = direct ] && url=$DIRECT_URL mode=session
  (cd "$RUN_DIR" && exec env -u PGOPTIONS BIND_ADDR="127.0.0.1:$1" DATABASE_URL="$url" DATABASE_POOL_MODE=$mode \
    DATABASE_DIRECT_URL="$DIRECT_URL" "$SERVER_BIN") >"$RUN_DIR/server-$1.log" 2>&1 &
  INSTANCE_PID=$!
  PIDS+=("$INSTANCE_PID")
  for _ in $(seq 250); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/ready")" = 200 ] && return 0
    sleep 0.04
  done
  echo "the instance on $1 did not become ready; see $RUN_DIR/server-$1.log" >&2
  cat "$RUN_DIR/server-$1.log" >&2
  exit 1
}

# Migrations and the users, through one direct instance.
start_instance "$FIRST_PORT" direct
SETUP_PID=$INSTANCE_PID
bench/seed.sh "$DIRECT_URL" "$USERS" "$("$HASH_BIN" hash "$COST" "$PASSWORD")" >/dev/null
curl -sf -X POST "http://127.0.0.1:$FIRST_PORT/signup" -H 'content-type: application/json' \
  -d '{"email":"profile@bench.test","password":"correct horse battery staple"}' >/dev/null
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$FIRST_PORT/login" -H 'content-type: application/json' \
  -d '{"email":"profile@bench.test","password":"correct horse battery staple"}' | jq -er .token)

field() { printf '%s\n' "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
measure() { # measure <label> <base-url>: one line of figures
  local base=$1
  wrk -t1 -c64 -d1s -s bench/wrk.lua -H "Authorization: Bearer $TOKEN" "$base/user/profile" >/dev/null 2>&1 || true
  local profile login
  profile=$(wrk -t1 -c64 -d"${DURATION}s" --timeout 30s -s bench/wrk.lua -H "Authorization: Bearer $TOKEN" \
    "$base/user/profile" 2>&1 | grep '^WRK_RESULT')
  login=$(BENCH_WRK_RESPONSES=1 wrk -t16 -c16 -d"${DURATION}s" --timeout 30s -s bench/wrk.lua \
    "$base/login" -- login "$USERS" "$PASSWORD" 2>&1 | grep '^LOGIN_RESULT')
  printf '%-36s %12s %9s %9s %8s %12s %10s\n' "$2" "$(field rps "$profile")" "$(field p50_ms "$profile")" \
    "$(field p99_ms "$profile")" "$(($(field non2xx "$profile") + $(field socket_errors "$profile")))" \
    "$(field ok_rps "$login")" "$(field ok_p99_ms "$login")"
}

echo "scale-out benchmark: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  ${DURATION}s per measurement; /user/profile 64 conns; /login 16 conns (bcrypt cost $COST, HASH_QUEUE_LIMIT=8 per instance)"
echo "  PgBouncer $(pgbouncer --version 2>&1 | head -n 1 | awk '{ print $2 }') transaction mode, pool 30; $(haproxy -v 2>&1 | head -n 1 | awk '{ print $1, $3 }') round-robin"
printf '%-36s %12s %9s %9s %8s %12s %10s\n' setup profile_rps p50_ms p99_ms errors login_ok/s login_p99
measure "http://127.0.0.1:$FIRST_PORT" "1 instance, direct (no LB, no pooler)"
kill "$SETUP_PID"
wait "$SETUP_PID" 2>/dev/null || true

backends=()
for n in 1 2 3; do
  port=$((FIRST_PORT + n))
  start_instance "$port" pooled
  backends+=("$port")
  servers=""
  for i in "${!backends[@]}"; do
    servers+="    server s$i 127.0.0.1:${backends[$i]} check inter 500ms fall 2 rise 1"$'\n'
  done
  cat >"$RUN_DIR/haproxy.cfg" <<EOF
global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option forwardfor
    option redispatch
    retries 2
frontend api
    bind 127.0.0.1:$LB_PORT
    default_backend instances
backend instances
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
$servers
EOF
  haproxy -db -f "$RUN_DIR/haproxy.cfg" >"$RUN_DIR/haproxy-$n.log" 2>&1 &
  LB_PID=$!
  PIDS+=("$LB_PID")
  wait_port "$LB_PORT" haproxy
  sleep 1.2 # every backend passes its first check
  measure "http://127.0.0.1:$LB_PORT" "$n instance(s) via HAProxy + PgBouncer"
  kill "$LB_PID"
  wait "$LB_PID" 2>/dev/null || true
done

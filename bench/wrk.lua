-- wrk script for bench/load.sh.
--
--   wrk ... http://127.0.0.1:3099/bench/plain                     -- GET the URL as given
--   wrk ... http://127.0.0.1:3099/login -- login <users> <password>
--       POST /login with a JSON body for a random seeded user user<i>@bench.test, 1 <= i <= users
--
-- Whatever the mode, done() prints one machine-readable line:
--   WRK_RESULT requests=… duration_s=… rps=… p50_ms=… p99_ms=… max_ms=… non2xx=… socket_errors=… timeouts=…

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
end

local mode = "get"
local users = 1
local password = "bench-password-1"
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  if args[1] == "login" then
    mode = "login"
    users = tonumber(args[2]) or 1
    password = args[3] or password
  end
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
  if mode == "login" then
    local i = math.random(1, users)
    local body = string.format('{"email":"user%d@bench.test","password":"%s"}', i, password)
    return wrk.format("POST", "/login", headers, body)
  end
  return wrk.format(nil)
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "WRK_RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d timeouts=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write, e.timeout))
end

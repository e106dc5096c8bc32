-- wrk script for bench/load.sh.
--
--   wrk ... http://127.0.0.1:3099/bench/plain                     -- GET the URL as given
--   wrk ... http://127.0.0.1:3099/login -- login <users> <password>
--       POST /login with a JSON body for a random seeded user user<i>@bench.test, 1 <= i <= users.
--       A 503 with Retry-After (the server's hashing queue is full) is honoured like a real
--       client would: that connection waits Retry-After seconds before its next request. Run it
--       with as many threads as connections (-tN -cN): each thread's state is then one
--       connection's; set BENCH_WRK_RESPONSES=1 (refresh mode too). Prints a LOGIN_RESULT line: successful logins/s and their latency.
--   wrk ... http://127.0.0.1:3099/user/profile -- tokens <file>
--       GET with "Authorization: Bearer <token>", the file's tokens in turn (one per line).
--   wrk ... http://127.0.0.1:3099/token/refresh -- refresh <file>
--       POST /token/refresh, each request with a refresh token never presented before: the
--       file's tokens first, then the one each answer returns (one in, one out, so the pool
--       never runs dry while every answer is a 200). No token is presented twice, so the
--       server's reuse grace never serves a request from an earlier rotation.
--   wrk ... http://127.0.0.1:3099/password/forgot -- post <json body>
--       POST the URL's path with that JSON body, the same on every request.
--
-- Whatever the mode, done() prints one machine-readable line:
--   WRK_RESULT requests=… duration_s=… rps=… p50_ms=… p99_ms=… max_ms=… non2xx=… socket_errors=… timeouts=…

local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

local mode = "get"
local users = 1
local password = "bench-password-1"
local headers = { ["Content-Type"] = "application/json" }
local tokens = {}
local next_token = 1
local fresh = {}
local fresh_head, fresh_tail = 1, 0
local post_request = nil
-- Globals, so that done() can read them from each thread.
login_mode = false
ok, busy, other = 0, 0, 0
lat = {}
local sent_at = 0
local wait_ms = 0
local now_ms = function() return 0 end

local function read_lines(path)
  local list = {}
  for line in io.lines(path) do
    if line ~= "" then list[#list + 1] = line end
  end
  return list
end

function init(args)
  mode = args[1] or "get"
  if mode == "login" then
    login_mode = true
    users = tonumber(args[2]) or 1
    password = args[3] or password
    local ffi = require("ffi")
    ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clk_id, bench_timespec *tp);
    ]]
    local ts = ffi.new("bench_timespec")
    now_ms = function()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
    end
  elseif mode == "tokens" or mode == "refresh" then
    tokens = read_lines(args[2])
  elseif mode == "post" then
    post_request = wrk.format("POST", nil, headers, args[2] or "{}")
  end
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
  if mode == "login" then
    local i = math.random(1, users)
    local body = string.format('{"email":"user%d@bench.test","password":"%s"}', i, password)
    sent_at = now_ms()
    return wrk.format("POST", "/login", headers, body)
  elseif mode == "tokens" then
    local token = tokens[next_token]
    next_token = next_token % #tokens + 1
    return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. token })
  elseif mode == "refresh" then
    local token
    if fresh_head <= fresh_tail then
      token = fresh[fresh_head]
      fresh[fresh_head] = nil
      fresh_head = fresh_head + 1
    elseif next_token <= #tokens then
      token = tokens[next_token]
      next_token = next_token + 1
    else
      token = "exhausted-pool-xxxxxxxxxxxxxxxxxxxxxxxxxxx" -- answered 400: counted in non2xx
    end
    return wrk.format("POST", "/token/refresh", headers, '{"refresh_token":"' .. token .. '"}')
  elseif mode == "post" then
    return post_request
  end
  return wrk.format(nil)
end

-- Defined only when asked for (login and refresh modes): wrk calls them on every request of
-- every connection once they exist, which would slow the client down in the GET floods.
if os.getenv("BENCH_WRK_RESPONSES") == "1" then
function delay()
  local ms = wait_ms
  wait_ms = 0
  return ms
end

function response(status, hdrs, body)
  if mode == "login" then
    if status == 200 then
      ok = ok + 1
      lat[#lat + 1] = now_ms() - sent_at
    elseif status == 503 then
      busy = busy + 1
      wait_ms = (tonumber(hdrs["Retry-After"] or hdrs["retry-after"] or "1") or 1) * 1000
    else
      other = other + 1
    end
  elseif mode == "refresh" and status == 200 then
    local token = body:match('"refresh_token":"([^"]+)"')
    if token then
      fresh_tail = fresh_tail + 1
      fresh[fresh_tail] = token
    end
  end
end
end

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  local i = math.max(1, math.min(#sorted, math.ceil(p / 100 * #sorted)))
  return sorted[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "WRK_RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d timeouts=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write, e.timeout))
  -- done() runs in wrk's main Lua state, where init() never ran: the threads tell the mode.
  if threads[1] and threads[1]:get("login_mode") then
    local n_ok, n_busy, n_other, all = 0, 0, 0, {}
    for _, thread in ipairs(threads) do
      n_ok = n_ok + (thread:get("ok") or 0)
      n_busy = n_busy + (thread:get("busy") or 0)
      n_other = n_other + (thread:get("other") or 0)
      for _, v in ipairs(thread:get("lat") or {}) do all[#all + 1] = v end
    end
    table.sort(all)
    io.write(string.format(
      "LOGIN_RESULT ok=%d ok_rps=%.2f ok_p50_ms=%.1f ok_p99_ms=%.1f busy503=%d other=%d\n",
      n_ok, n_ok / seconds, percentile(all, 50), percentile(all, 99), n_busy, n_other))
  end
end

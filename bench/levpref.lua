-- wrk script for levpref's benchmark: replays pre-signed Kraken requests, cycling over accounts and leverages.
--
-- Environment (read at load time, because wrk decides whether delay() exists before init() runs):
--   LEVPREF_BENCH_FILE     signed requests from bench/world.py write_signed (required)
--   LEVPREF_BENCH_MODE     put | get | hello (hello: the same PUT requests, aimed at the ceiling server)
--   LEVPREF_BENCH_RATE     total requests per second across threads; 0 or unset = as fast as possible
--   LEVPREF_BENCH_OFFSET   position in the request sequence to start from (so successive runs keep changing state)
--   LEVPREF_BENCH_THREADS  the -t given to wrk
--
-- Sequence: request j of the run goes to account (j mod S) of the file and, for PUTs, leverage LEV[(j div S) mod L]:
-- a round over every account, then the next leverage value. Thread t of T sends the requests j = t, t+T, t+2T, …
-- Every response body is checked for "result":"success" (Kraken errors are HTTP 200, so status alone says nothing).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } levpref_timespec;
int clock_gettime(int clk_id, levpref_timespec *tp);
]]
local ts = ffi.new("levpref_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local file = os.getenv("LEVPREF_BENCH_FILE")
local mode = os.getenv("LEVPREF_BENCH_MODE") or "put"
local rate = tonumber(os.getenv("LEVPREF_BENCH_RATE") or "0") or 0
local offset = tonumber(os.getenv("LEVPREF_BENCH_OFFSET") or "0") or 0
local nthreads = tonumber(os.getenv("LEVPREF_BENCH_THREADS") or "1") or 1
local path = "/derivatives/api/v3/leveragepreferences"

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local keys, symbols, gets, puts, levs = {}, {}, {}, {}, {}
local count = 0
seq = 0 -- global, so done() can read where each thread stopped
local interval = 0
local next_slot = nil
ok, bad, bad_sample = 0, 0, ""

local function split(line)
  local out = {}
  for word in line:gmatch("%S+") do
    out[#out + 1] = word
  end
  return out
end

function init(args)
  local first = true
  for line in io.lines(file) do
    local words = split(line)
    if first then
      for i = 2, #words do
        levs[#levs + 1] = words[i]
      end
      first = false
    elseif #words > 0 then
      count = count + 1
      keys[count] = words[1]
      symbols[count] = words[2]
      gets[count] = words[3]
      local auths = {}
      for i = 4, #words do
        auths[#auths + 1] = words[i]
      end
      puts[count] = auths
    end
  end
  seq = offset + tid
  if rate > 0 then
    interval = 1000.0 * nthreads / rate
  end
end

if rate > 0 then
  -- Paced mode: thread-wide send slots every `interval` ms; a connection whose slot has passed sends at once,
  -- so the schedule catches up after a stall instead of silently lowering the rate.
  function delay()
    local now = now_ms()
    if next_slot == nil then
      next_slot = now
    end
    local slot = next_slot
    next_slot = next_slot + interval
    local wait = slot - now
    if wait < 0 then
      return 0
    end
    return math.floor(wait)
  end
end

function request()
  local j = seq
  seq = seq + nthreads
  local i = (j % count) + 1
  if mode == "get" then
    return wrk.format("GET", path, { ["APIKey"] = keys[i], ["Authent"] = gets[i] })
  end
  local v = (math.floor(j / count) % #levs) + 1
  local lev = levs[v]
  local query = "symbol=" .. symbols[i]
  if lev ~= "-" then
    query = query .. "&maxLeverage=" .. lev
  end
  return wrk.format("PUT", path .. "?" .. query, { ["APIKey"] = keys[i], ["Authent"] = puts[i][v] })
end

function response(status, headers, body)
  if status == 200 and body:find('"result":"success"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if bad_sample == "" then
      bad_sample = tostring(status) .. " " .. body:sub(1, 200)
    end
  end
end

local function q(s)
  return '"' .. tostring(s):gsub('[%c"\\]', " ") .. '"'
end

function done(summary, latency, requests)
  local total_ok, total_bad, sample, sent = 0, 0, "", 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + (t:get("ok") or 0)
    total_bad = total_bad + (t:get("bad") or 0)
    local s = t:get("bad_sample") or ""
    if sample == "" then
      sample = s
    end
    sent = math.max(sent, (t:get("seq") or 0))
  end
  local e = summary.errors
  local parts = {
    '"requests":' .. summary.requests,
    '"duration_us":' .. summary.duration,
    '"ok":' .. total_ok,
    '"bad":' .. total_bad,
    '"bad_sample":' .. q(sample),
    '"socket_errors":' .. (e.connect + e.read + e.write + e.timeout),
    '"status_errors":' .. e.status,
    '"next_offset":' .. sent,
    '"lat_mean_us":' .. latency.mean,
    '"lat_max_us":' .. latency.max,
    '"lat_p50_us":' .. latency:percentile(50),
    '"lat_p90_us":' .. latency:percentile(90),
    '"lat_p99_us":' .. latency:percentile(99),
    '"lat_p999_us":' .. latency:percentile(99.9),
  }
  io.write("LEVPREF_BENCH " .. "{" .. table.concat(parts, ",") .. "}\n")
end

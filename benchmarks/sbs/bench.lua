-- wrk script for the side-by-side benchmark (benchmarks/side_by_side.py).
--
--   wrk -t T -c C -d D -s bench.lua URL -- MODE PATH AUTH FILE
--
-- MODE get        GET PATH (discovery, JWKS, the static ceiling)
-- MODE userinfo   GET PATH with "Authorization: Bearer <token>", tokens from FILE in turn
-- MODE introspect POST PATH token=<access token> with AUTH (a Basic header), tokens from FILE
-- MODE refresh    POST PATH grant_type=refresh_token with AUTH. Every request spends a refresh
--                 token that has never been used: thread i takes lines i, i+T, ... of FILE, and each
--                 200 answer puts the rotated refresh token it carries back into the thread's pool.
--                 With at least C/T tokens per thread the pool never runs dry; if it does, the
--                 request is sent with an invalid token and counted (non-2xx) rather than reusing one.
-- done() prints one JSON line: requests, duration, errors, latency percentiles (microseconds).

local thread_count = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  mode, path, auth, file = args[1], args[2], args[3], args[4]
  nthreads = tonumber(args[5] or "1")
  pool, next_index, exhausted = {}, 1, 0
  if file ~= nil and file ~= "" and file ~= "-" then
    local i = 0
    for line in io.lines(file) do
      if line ~= "" and (mode ~= "refresh" or i % nthreads == tid) then
        table.insert(pool, line)
      end
      i = i + 1
    end
  end
  form_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if auth ~= nil and auth ~= "" and auth ~= "-" then
    form_headers["Authorization"] = auth
  end
  fixed_request = wrk.format("GET", path)
end

local function next_in_turn()
  local token = pool[next_index]
  next_index = next_index % #pool + 1
  return token
end

function request()
  if mode == "get" then
    return fixed_request
  elseif mode == "userinfo" then
    return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. next_in_turn() })
  elseif mode == "introspect" then
    return wrk.format("POST", path, form_headers, "token=" .. next_in_turn())
  elseif mode == "refresh" then
    local token = table.remove(pool)
    if token == nil then
      exhausted = exhausted + 1
      token = "pool-exhausted"
    end
    return wrk.format("POST", path, form_headers, "grant_type=refresh_token&refresh_token=" .. token)
  end
end

function response(status, headers, body)
  if status >= 400 and first_error == nil then
    first_error = status .. " " .. string.sub(body or "", 1, 160)
  end
  if mode == "refresh" and status == 200 then
    local token = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
    if token ~= nil then
      table.insert(pool, token)
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local sample, exhausted_total = "", 0
  for _, thread in ipairs(threads) do
    local seen = thread:get("first_error")
    if seen ~= nil and sample == "" then
      sample = seen
    end
    exhausted_total = exhausted_total + (thread:get("exhausted") or 0)
  end
  sample = string.gsub(sample, '[%c"\\]', " ")
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"pool_exhausted":%d,"first_error":"%s"}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    exhausted_total, sample
  ))
end

-- wrk script for bench/load.py: one script, several kinds of request.
--
--   wrk -t2 -c32 -d10s -s bench/load.lua URL -- MODE DIR THREADS [PATH]
--
-- MODE submit:    POST DIR/answers.txt to /s/<token>, a different token (DIR/tokens.txt) for
--                 every request; thread k of n takes tokens k, k+n, k+2n, ...
-- MODE complaint: POST DIR/complaint.json to /api/v1/complaints with DIR/api_token.txt
-- MODE get:       GET PATH, with the cookie in DIR/cookie.txt when present
-- The done() hook prints one JSON line: requests, statuses, latency percentiles (ms).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function read(path)
  local f = io.open(path, "r")
  if f == nil then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

function init(args)
  mode, dir = args[1], args[2]
  local nthreads = tonumber(args[3])
  path = args[4] or "/"
  tokens, idx = {}, 0
  ok, thanks, answered, other, statuses = 0, 0, 0, 0, ""
  headers = { ["User-Agent"] = "kesheng-bench" }
  if mode == "submit" then
    local n = 0
    for line in io.lines(dir .. "/tokens.txt") do
      if line ~= "" then
        if n % nthreads == id then table.insert(tokens, line) end
        n = n + 1
      end
    end
    body = read(dir .. "/answers.txt")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  elseif mode == "complaint" then
    body = read(dir .. "/complaint.json")
    headers["Content-Type"] = "application/json"
    headers["Authorization"] = "Bearer " .. trim(read(dir .. "/api_token.txt"))
  else
    local cookie = read(dir .. "/cookie.txt")
    if cookie then headers["Cookie"] = trim(cookie) end
  end
end

function request()
  if mode == "submit" then
    idx = idx + 1
    local token = tokens[idx] or "exhausted"
    return wrk.format("POST", "/s/" .. token, headers, body)
  elseif mode == "complaint" then
    return wrk.format("POST", "/api/v1/complaints", headers, body)
  end
  return wrk.format("GET", path, headers)
end

local seen = {}

function response(status, hdrs, resp)
  if status >= 200 and status < 300 then
    ok = ok + 1
    if mode == "submit" then
      if resp:find("提交成功", 1, true) then
        thanks = thanks + 1
      else
        answered = answered + 1
      end
    end
  else
    other = other + 1
    if not seen[status] then
      seen[status] = true
      statuses = statuses .. status .. " "
    end
  end
end

function done(summary, latency, requests)
  local t_ok, t_thanks, t_answered, t_other, t_statuses = 0, 0, 0, 0, ""
  for _, thread in ipairs(threads) do
    t_ok = t_ok + thread:get("ok")
    t_thanks = t_thanks + thread:get("thanks")
    t_answered = t_answered + thread:get("answered")
    t_other = t_other + thread:get("other")
    t_statuses = t_statuses .. thread:get("statuses")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "ok": %d, "thanks": %d, "answered": %d, ' ..
    '"non_2xx": %d, "statuses": "%s", "socket_errors": %d, "timeouts": %d, ' ..
    '"p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    t_ok, t_thanks, t_answered, t_other, t_statuses,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end

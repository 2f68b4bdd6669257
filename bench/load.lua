-- One endpoint under load, for wrk (bench/load.py runs it; see docs/performance.md, "Load").
--
--   wrk -t1 -c4 -d15s -s bench/load.lua http://127.0.0.1:PORT -- PATH FIRST LAST COOKIES [BODY]
--
-- PATH may contain {case}: each request takes a random case id between FIRST and LAST, so the
-- load spreads over every case instead of one that stays in cache. COOKIES is one Cookie
-- header per signed-in user, separated by "|": each request is sent as a random one of them.
-- With BODY the request is a form POST (its CSRF token must fit every user's cookie). Every response status is counted: a signed-out redirect or a form shown again
-- (200 instead of 302) is not an error to wrk, but it is to us. done() prints one JSON line.

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  template = args[1]
  first = tonumber(args[2])
  last = tonumber(args[3])
  cookies = {}
  for cookie in string.gmatch(args[4], "[^|]+") do
    cookies[#cookies + 1] = cookie
  end
  body = args[5]
  statuses = {}
  math.randomseed(os.time() * 1000 + thread_id)
end

function request()
  local path = string.gsub(template, "{case}", tostring(math.random(first, last)))
  local headers = {Cookie = cookies[math.random(1, #cookies)]}
  if body ~= nil and body ~= "" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", path, headers, body)
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, response_body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      totals[code] = (totals[code] or 0) + n
    end
  end
  local counts = {}
  for code, n in pairs(totals) do
    counts[#counts + 1] = string.format('"%d": %d', code, n)
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "socket_errors": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max,
    errors.connect + errors.read + errors.write + errors.timeout,
    table.concat(counts, ", ")))
end

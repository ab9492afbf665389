-- wrk script for scripts/bench: one request shape per run, read from the environment.
--   BENCH_METHOD  HTTP method
--   BENCH_PATH    path; "%012x" in it becomes a random seeded image number owned by the first project
--   BENCH_BODY    request body (optional)
--   BENCH_TOKEN   X-Auth-Token (none when empty: the ceiling row)
--   BENCH_IMAGES  images seeded (image n belongs to project n % BENCH_PROJECTS)
--   BENCH_PROJECTS projects seeded
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/versions"
local body = os.getenv("BENCH_BODY")
if body == "" then body = nil end
local token = os.getenv("BENCH_TOKEN") or ""
local images = tonumber(os.getenv("BENCH_IMAGES") or "1")
local projects = tonumber(os.getenv("BENCH_PROJECTS") or "1")
local owned = math.max(1, math.floor(images / projects))

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed)
end

request = function()
  local p = path
  if string.find(p, "%%012x") then
    p = string.format(p, math.random(0, owned - 1) * projects)
  end
  local headers = {}
  if token ~= "" then headers["X-Auth-Token"] = token end
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, p, headers, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  -- The line scripts/bench parses, the same as ims-tags-load's:
  -- RESULT <req/s> <p50 ms> <p99 ms> <p99.9 ms> <max ms> <requests> <errors>
  io.write(string.format("RESULT %.1f %.3f %.3f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    latency.max / 1000, summary.requests, errors))
end

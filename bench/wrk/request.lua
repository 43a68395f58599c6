-- wrk script for bench/run.sh: one fixed request, described by environment variables.
--   WRK_METHOD  GET (default) or POST
--   WRK_BODY    request body (POST)
--   WRK_CTYPE   Content-Type of the body
--   WRK_AUTH    Authorization header value (e.g. "Basic ...")
-- At the end it prints one machine-readable line:
--   RESULT requests=N seconds=S rps=R p50_ms=A p99_ms=B non2xx=C errors=E
local function env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

wrk.method = env("WRK_METHOD") or "GET"
wrk.body = env("WRK_BODY")
if env("WRK_CTYPE") then wrk.headers["Content-Type"] = env("WRK_CTYPE") end
if env("WRK_AUTH") then wrk.headers["Authorization"] = env("WRK_AUTH") end
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end

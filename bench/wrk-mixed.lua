-- Sends a mix of requests for the soak: /hello with its delay, fast routes, client and
-- server errors, unknown paths, and a scrape. Requests take the paths in turn, with one
-- counter per wrk thread.
-- The JSON report comes from the script named by WRK_REPORT_SCRIPT (wrk-report.lua).
dofile(os.getenv("WRK_REPORT_SCRIPT"))

local paths = {
  "/hello?user=soak",
  "/hello",
  "/",
  "/version",
  "/status/404",
  "/status/500",
  "/delay/5",
  "/no/such/path",
  "/hello?user=soak2",
  "/metrics",
}
local next_index = 1

request = function()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end

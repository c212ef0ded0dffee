-- kong/plugins/prometheus/metrics.lua — the metric store behind the prometheus plugin:
-- counters and fixed-bucket histograms as keys of the shared dict kong_metrics
-- (`name{labels}` -> number), updated with atomic incr so every worker's requests
-- are visible on /metrics at once.
local ngx = ngx
local shm = ngx.shared.kong_metrics
local format = string.format

local _M = {}

-- Kong's default latency buckets (ms)
_M.BUCKETS = { 1, 2, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500,
               1000, 2000, 5000, 10000, 30000, 60000 }
local BUCKETS = _M.BUCKETS
local BUCKET_LABELS = {}
for i, b in ipairs(BUCKETS) do BUCKET_LABELS[i] = format("%05d", b) end

local warned = false
local function inc(key, value)
  local _, err, forcible = shm:incr(key, value, 0)
  if err and not warned then
    warned = true
    ngx.log(ngx.ERR, "prometheus: cannot update ", key, ": ", err)
  elseif forcible and not warned then
    warned = true
    ngx.log(ngx.WARN, "prometheus: kong_metrics is full, metrics evicted")
  end
end

-- label values are our own names/ids; escape the characters exposition format forbids
local function esc(v)
  v = tostring(v)
  if v:find('[\\"\n]') then v = v:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", "\\n") end
  return v
end

function _M.init_worker()
  if not shm then ngx.log(ngx.ERR, "prometheus: lua_shared_dict kong_metrics is missing") end
end

function _M.inc_requests(service, route, code, consumer)
  inc(format('kong_http_requests_total{service="%s",route="%s",code="%d",source="%s",consumer="%s"}',
             esc(service), esc(route), code, code >= 500 and "kong" or "service", esc(consumer)), 1)
end

function _M.observe_latency(name, service, route, ms)
  local labels = format('service="%s",route="%s"', esc(service), esc(route))
  -- buckets are stored non-cumulatively by upper bound; the exporter accumulates
  local le = "+Inf"
  for i = 1, #BUCKETS do
    if ms <= BUCKETS[i] then le = BUCKET_LABELS[i] break end
  end
  inc(name .. "_bucket{" .. labels .. ',le="' .. le .. '"}', 1)
  inc(name .. "_sum{" .. labels .. "}", ms)
  inc(name .. "_count{" .. labels .. "}", 1)
end

function _M.add_bandwidth(service, route, direction, bytes)
  inc(format('kong_bandwidth_bytes{service="%s",route="%s",direction="%s"}', esc(service), esc(route), direction), bytes)
end

return _M

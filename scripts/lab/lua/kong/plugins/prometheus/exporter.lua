-- kong/plugins/prometheus/exporter.lua — serves the metrics in Prometheus' text
-- exposition format (HELP/TYPE per family, cumulative histogram buckets), plus nginx
-- connection gauges, for GET /metrics on the gateway port.
local metrics = require "kong.plugins.prometheus.metrics"

local ngx = ngx
local var = ngx.var
local sort, concat = table.sort, table.concat
local match, format = string.match, string.format

local _M = {}

local HELP = {
  kong_http_requests_total = { "counter", "HTTP status codes per consumer/service/route in Kong" },
  kong_bandwidth_bytes = { "counter", "Total bandwidth (ingress/egress) throughput in bytes" },
  kong_request_latency_ms = { "histogram", "Total latency incurred during requests for each service/route in Kong" },
  kong_upstream_latency_ms = { "histogram", "Latency added by upstream response for each service/route in Kong" },
  kong_kong_latency_ms = { "histogram", "Latency added by Kong and enabled plugins for each service/route in Kong" },
}

local function family_of(name)
  return (name:gsub("_bucket$", ""):gsub("_sum$", ""):gsub("_count$", ""))
end

function _M.collect()
  local shm = ngx.shared.kong_metrics
  ngx.header["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
  local out = {}
  local function emit(s) out[#out + 1] = s end

  emit("# HELP kong_nginx_connections_total Number of connections by subsystem")
  emit("# TYPE kong_nginx_connections_total gauge")
  for _, state in ipairs { "active", "reading", "writing", "waiting" } do
    emit(format('kong_nginx_connections_total{node_id="%s",subsystem="http",state="%s"} %s',
                ngx.worker.pid(), state, var["connections_" .. state] or 0))
  end

  if shm then
    local keys = shm:get_keys(0)
    sort(keys)
    local families, order = {}, {}
    for _, key in ipairs(keys) do
      local name, labels = match(key, "^([%w_]+){(.*)}$")
      if name then
        local fam = family_of(name)
        if not families[fam] then
          families[fam] = {}
          order[#order + 1] = fam
        end
        local list = families[fam]
        list[#list + 1] = { name = name, labels = labels, value = shm:get(key) or 0 }
      end
    end
    sort(order)
    for _, fam in ipairs(order) do
      local help = HELP[fam] or { "untyped", fam }
      emit("# HELP " .. fam .. " " .. help[2])
      emit("# TYPE " .. fam .. " " .. help[1])
      if help[1] == "histogram" then
        -- group the non-cumulative buckets by their label set, then accumulate
        local series, series_order = {}, {}
        for _, m in ipairs(families[fam]) do
          local base, le = match(m.labels, '^(.*),le="([^"]*)"$')
          base = base or m.labels
          local s = series[base]
          if not s then
            s = { buckets = {}, sum = 0, count = 0 }
            series[base] = s
            series_order[#series_order + 1] = base
          end
          if m.name == fam .. "_bucket" then
            s.buckets[le] = m.value
          elseif m.name == fam .. "_sum" then
            s.sum = m.value
          else
            s.count = m.value
          end
        end
        for _, base in ipairs(series_order) do
          local s, acc = series[base], 0
          for _, b in ipairs(metrics.BUCKETS) do
            acc = acc + (s.buckets[format("%05d", b)] or 0)
            emit(format('%s_bucket{%s,le="%s"} %d', fam, base, format("%05d", b), acc))
          end
          acc = acc + (s.buckets["+Inf"] or 0)
          emit(format('%s_bucket{%s,le="+Inf"} %d', fam, base, acc))
          emit(format("%s_sum{%s} %s", fam, base, s.sum))
          emit(format("%s_count{%s} %d", fam, base, s.count))
        end
      else
        for _, m in ipairs(families[fam]) do
          emit(format("%s{%s} %s", m.name, m.labels, m.value))
        end
      end
    end
  end
  emit("")
  ngx.print(concat(out, "\n"))
end

return _M

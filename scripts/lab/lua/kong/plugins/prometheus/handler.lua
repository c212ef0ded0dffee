-- kong/plugins/prometheus/handler.lua — per-request metrics (Kong's prometheus plugin):
-- in the log phase it counts requests by service/route/status code (and consumer
-- with per_consumer), bandwidth, and records latency histograms into the shared
-- dict kong_metrics; kong.plugins.prometheus.exporter serves them on /metrics.
local metrics = require "kong.plugins.prometheus.metrics"

local ngx = ngx
local var = ngx.var

local Prometheus = { PRIORITY = 13, VERSION = "lab" }

Prometheus.config_schema = {
  per_consumer = { type = "boolean", default = false },
  status_code_metrics = { type = "boolean", default = true },
  latency_metrics = { type = "boolean", default = true },
  bandwidth_metrics = { type = "boolean", default = true },
  upstream_health_metrics = { type = "boolean", default = false },
}

function Prometheus:init_worker()
  metrics.init_worker()
end

function Prometheus:log(conf)
  local ctx = ngx.ctx
  local service = ctx.service and (ctx.service.name or ctx.service.id) or ""
  local route = ctx.route and (ctx.route.name or ctx.route.id) or ""
  local consumer = ""
  if conf.per_consumer and ctx.authenticated_consumer then
    consumer = ctx.authenticated_consumer.username or ctx.authenticated_consumer.id
  end
  local status = ngx.status
  if conf.status_code_metrics then
    metrics.inc_requests(service, route, status, consumer)
  end
  if conf.latency_metrics then
    local request_ms = (ngx.now() - ngx.req.start_time()) * 1000
    metrics.observe_latency("kong_request_latency_ms", service, route, request_ms)
    local upstream = tonumber(var.upstream_response_time)
    if upstream then
      metrics.observe_latency("kong_upstream_latency_ms", service, route, upstream * 1000)
    end
    if ctx.KONG_ACCESS_END and ctx.KONG_PROCESSING_START then
      metrics.observe_latency("kong_kong_latency_ms", service, route, ctx.KONG_ACCESS_END - ctx.KONG_PROCESSING_START)
    end
  end
  if conf.bandwidth_metrics then
    metrics.add_bandwidth(service, route, "ingress", tonumber(var.request_length) or 0)
    metrics.add_bandwidth(service, route, "egress", tonumber(var.bytes_sent) or 0)
  end
end

return Prometheus

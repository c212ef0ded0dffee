-- kong/init.lua — the lab gateway's phase entry points, shaped like Kong's: nginx calls
-- Kong.init (master, loads the declarative config), Kong.init_worker, Kong.rewrite,
-- Kong.access (router + plugins), Kong.balancer, Kong.header_filter,
-- Kong.body_filter and Kong.log; Kong.metrics serves /metrics, Kong.status the
-- driver's readiness probe.
local declarative = require "kong.db.declarative"
local router_mod = require "kong.router"
local plugins_iterator = require "kong.runloop.plugins_iterator"
local response = require "kong.tools.response"
local balancer = require "ngx.balancer"

local ngx = ngx
local var = ngx.var
local now = ngx.now
local find, sub = string.find, string.sub
local get_method = ngx.req.get_method
local set_header = ngx.req.set_header

local VERSION = "0.1.0-lab"
local VIA = "kong/" .. VERSION

local Kong = { VERSION = VERSION }
local config, router, iterator

-- Master process: load + compile everything once; workers inherit it by fork.
function Kong.init(config_path)
  local conf, err = declarative.load(config_path)
  if not conf then error("kong-lab: " .. err, 0) end
  local it, ierr = plugins_iterator.new(conf)
  if not it then error("kong-lab: " .. ierr, 0) end
  config, iterator = conf, it
  router = router_mod.new(conf.routes)
  ngx.log(ngx.NOTICE, ("kong-lab: %d services, %d routes, %d plugins, %d consumers loaded from %s"):format(
    #conf.services, #conf.routes, #conf.plugins, #conf.consumers, config_path))
end

function Kong.init_worker()
  math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
  iterator:init_worker()
end

function Kong.rewrite()
  local ctx = ngx.ctx
  ctx.KONG_PROCESSING_START = ngx.req.start_time() * 1000
  ctx.plan = iterator.global_plan
  iterator:run("rewrite", ctx)
end

function Kong.access()
  local ctx = ngx.ctx
  local request_uri = var.request_uri
  local q = find(request_uri, "?", 1, true)
  local path = q and sub(request_uri, 1, q - 1) or request_uri
  local match = router:exec(get_method(), var.host, path)
  if not match then
    ctx.plan = iterator.global_plan
    return response.exit(404, { message = "no Route matched with those values" })
  end
  ctx.route, ctx.service = match.route, match.service
  ctx.plan = iterator:plan_for(match.route)
  iterator:run("access", ctx)

  -- after the plugins (they may have changed the query string or headers)
  local args = var.args
  local upstream_path = ctx.upstream_path_override or match.upstream_path
  var.upstream_uri = (args and args ~= "") and (upstream_path .. "?" .. args) or upstream_path
  var.upstream_host = match.preserve_host and (var.http_host or match.upstream_host) or match.upstream_host
  set_header("X-Forwarded-For", var.proxy_add_x_forwarded_for)
  set_header("X-Forwarded-Proto", var.scheme)
  set_header("X-Forwarded-Host", var.host)
  set_header("X-Forwarded-Port", var.server_port)
  set_header("X-Real-IP", var.remote_addr)
  ctx.KONG_ACCESS_END = now() * 1000
end

function Kong.balancer()
  local svc = ngx.ctx.service
  local ok, err = balancer.set_current_peer(svc.host, svc.port)
  if not ok then
    ngx.log(ngx.ERR, "kong-lab: cannot set peer ", svc.host, ":", svc.port, ": ", err)
    return ngx.exit(502)
  end
end

function Kong.header_filter()
  local ctx = ngx.ctx
  local header = ngx.header
  header["Via"] = VIA
  if ctx.KONG_ACCESS_END then
    header["X-Kong-Proxy-Latency"] = math.floor(ctx.KONG_ACCESS_END - ctx.KONG_PROCESSING_START)
    local t = tonumber(var.upstream_header_time)
    if t then header["X-Kong-Upstream-Latency"] = math.floor(t * 1000) end
  end
  iterator:run("header_filter", ctx)
end

function Kong.body_filter()
  iterator:run("body_filter", ngx.ctx)
end

function Kong.log()
  iterator:run("log", ngx.ctx)
end

-- /metrics: the prometheus plugin's exposition (served even when no plugin instance
-- is configured: the gateway's own counters are then absent).
function Kong.metrics()
  require("kong.plugins.prometheus.exporter").collect()
end

-- /kperf-lab/status: proves a worker runs the Lua gateway (used by kperf's driver).
function Kong.status()
  ngx.header["Content-Type"] = "text/plain"
  ngx.say("ok worker=", ngx.worker.pid(), " routes=", router and router.nroutes or 0)
end

return Kong

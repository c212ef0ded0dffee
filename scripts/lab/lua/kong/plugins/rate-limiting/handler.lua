-- kong/plugins/rate-limiting/handler.lua — request rate limits per second/minute/hour/
-- day (Kong's rate-limiting, "local" policy): counters live in the shared dict
-- kong_rate_limiting_counters, keyed by scope, identifier (consumer, credential, ip,
-- service, header or path), period and window start; over the limit → 429 with
-- X-RateLimit-* / RateLimit-* headers and Retry-After.
local response = require "kong.tools.response"

local ngx = ngx
local var = ngx.var
local floor = math.floor
local shm = ngx.shared.kong_rate_limiting_counters

local RateLimiting = { PRIORITY = 910, VERSION = "lab" }

local PERIODS = { "second", "minute", "hour", "day" }
local SECONDS = { second = 1, minute = 60, hour = 3600, day = 86400 }
local NAMES = { second = "Second", minute = "Minute", hour = "Hour", day = "Day" }

RateLimiting.config_schema = {
  second = { type = "number", gt = 0 },
  minute = { type = "number", gt = 0 },
  hour = { type = "number", gt = 0 },
  day = { type = "number", gt = 0 },
  month = { type = "number", gt = 0 },
  year = { type = "number", gt = 0 },
  limit_by = { type = "string", default = "consumer",
               one_of = { "consumer", "credential", "ip", "service", "header", "path" } },
  header_name = { type = "string" },
  path = { type = "string" },
  policy = { type = "string", default = "local", one_of = { "local", "cluster", "redis" } },
  fault_tolerant = { type = "boolean", default = true },
  hide_client_headers = { type = "boolean", default = false },
  error_code = { type = "number", default = 429 },
  error_message = { type = "string", default = "API rate limit exceeded" },
  sync_rate = { type = "number", default = -1 },
}

function RateLimiting.check_config(conf)
  if not (conf.second or conf.minute or conf.hour or conf.day or conf.month or conf.year) then
    return nil, "at least one of these fields must be non-empty: 'second', 'minute', 'hour', 'day', 'month', 'year'"
  end
  if conf.month or conf.year then return nil, "month and year limits are not supported by the lab gateway" end
  if conf.policy ~= "local" then return nil, "only policy 'local' is supported by the lab gateway" end
  if conf.limit_by == "header" and not conf.header_name then return nil, "limit_by header needs header_name" end
  if conf.limit_by == "path" and not conf.path then return nil, "limit_by path needs path" end
  return true
end

function RateLimiting:init_worker()
  if not shm then
    ngx.log(ngx.ERR, "rate-limiting: lua_shared_dict kong_rate_limiting_counters is missing")
  end
end

local function identifier(conf, ctx)
  local by = conf.limit_by
  local id
  if by == "consumer" then
    id = ctx.authenticated_consumer and ctx.authenticated_consumer.id
  elseif by == "credential" then
    id = ctx.authenticated_credential and ctx.authenticated_credential.id
  elseif by == "service" then
    id = ctx.service and ctx.service.id
  elseif by == "header" then
    id = ngx.req.get_headers()[conf.header_name]
    if type(id) == "table" then id = id[1] end
  elseif by == "path" then
    id = conf.path
  end
  return id or var.remote_addr
end

function RateLimiting:access(conf)
  local ctx = ngx.ctx
  local scope = (ctx.route and ctx.route.id or "") .. ":" .. (ctx.service and ctx.service.id or "")
  local prefix = "rl:" .. scope .. ":" .. identifier(conf, ctx) .. ":"
  local t = ngx.time()
  local headers = not conf.hide_client_headers and {} or nil
  local exceeded, retry_after = false, 0
  local min_remaining, min_limit, min_reset
  for _, period in ipairs(PERIODS) do
    local limit = conf[period]
    if limit then
      local len = SECONDS[period]
      local start = t - t % len
      local usage, err = shm:incr(prefix .. period .. ":" .. start, 1, 0, len + 1)
      if not usage then
        ngx.log(ngx.ERR, "rate-limiting: cannot count usage: ", err)
        if not conf.fault_tolerant then return response.exit(500, { message = "An unexpected error occurred" }) end
        return
      end
      local remaining = limit - usage
      local reset = start + len - t
      if remaining < 0 then
        exceeded = true
        if reset > retry_after then retry_after = reset end
        remaining = 0
      end
      if headers then
        headers["X-RateLimit-Limit-" .. NAMES[period]] = limit
        headers["X-RateLimit-Remaining-" .. NAMES[period]] = remaining
      end
      if not min_remaining or remaining < min_remaining then
        min_remaining, min_limit, min_reset = remaining, limit, reset
      end
    end
  end
  if headers then
    headers["RateLimit-Limit"] = min_limit
    headers["RateLimit-Remaining"] = min_remaining
    headers["RateLimit-Reset"] = min_reset
  end
  if exceeded then
    headers = headers or {}
    headers["Retry-After"] = retry_after
    return response.exit(floor(conf.error_code), { message = conf.error_message }, headers)
  end
  ctx.rate_limiting_headers = headers
end

function RateLimiting:header_filter()
  local headers = ngx.ctx.rate_limiting_headers
  if headers then
    for k, v in pairs(headers) do ngx.header[k] = v end
  end
end

return RateLimiting

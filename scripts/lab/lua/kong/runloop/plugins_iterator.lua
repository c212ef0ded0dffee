-- kong/runloop/plugins_iterator.lua — decides which plugins run for a request and with
-- which config, in Kong's order (higher PRIORITY first) and precedence (most specific
-- scope wins: route+service+consumer > route+consumer > service+consumer >
-- route+service > consumer > route > service > global). Plans without consumer scope
-- are compiled once per route at init; consumer-scoped configs are looked up after
-- an auth plugin has identified the consumer.
local schema = require "kong.db.schema"

local _M = {}
local mt = { __index = _M }

local NONE = ""

local function key(route, service, consumer)
  return (route and route.id or NONE) .. "|" .. (service and service.id or NONE) .. "|" ..
         (consumer and consumer.id or NONE)
end

local function load_handler(name)
  local ok, handler = pcall(require, "kong.plugins." .. name .. ".handler")
  if not ok then
    return nil, ("plugin '%s' is not available in the lab gateway: %s"):format(name, tostring(handler))
  end
  return handler
end

-- config: the loaded declarative config (kong.db.declarative). Errors are returned.
function _M.new(config)
  local handlers, names, scoped = {}, {}, {}
  for _, p in ipairs(config.plugins) do
    if p.enabled then
      local h = handlers[p.name]
      if not h then
        local err
        h, err = load_handler(p.name)
        if not h then return nil, err end
        handlers[p.name] = h
        if h.init_config then h.init_config(config) end
        names[#names + 1] = p.name
        scoped[p.name] = { by_key = {}, consumer_scoped = false }
      end
      local conf, err = schema.validate(h.config_schema or {}, p.config)
      if not conf then
        return nil, ("plugin '%s' (%s): %s"):format(p.name, p.id, err)
      end
      if h.check_config then
        local ok, cerr = h.check_config(conf)
        if not ok then return nil, ("plugin '%s' (%s): config: %s"):format(p.name, p.id, cerr) end
      end
      local k = key(p.route, p.service, p.consumer)
      local s = scoped[p.name]
      if s.by_key[k] then
        return nil, ("plugin '%s' is configured twice for the same scope (%s)"):format(p.name, k)
      end
      s.by_key[k] = conf
      if p.consumer then s.consumer_scoped = true end
    end
  end
  table.sort(names, function(a, b)
    local pa, pb = handlers[a].PRIORITY or 0, handlers[b].PRIORITY or 0
    if pa ~= pb then return pa > pb end
    return a < b
  end)

  local self = setmetatable({ handlers = handlers, names = names, scoped = scoped }, mt)
  -- the plan (ordered list of {name, handler, conf, scoped}) of each route, and the
  -- global plan used by the rewrite phase and by requests that match no route
  self.global_plan = self:build_plan(nil, nil)
  self.route_plans = {}
  for _, r in ipairs(config.routes) do
    self.route_plans[r] = self:build_plan(r, r.service)
  end
  return self
end

local function lookup(s, route, service, consumer)
  local by_key = s.by_key
  if consumer then
    local c = by_key[key(route, service, consumer)] or by_key[key(route, nil, consumer)]
              or by_key[key(nil, service, consumer)]
    if c then return c end
  end
  local c = by_key[key(route, service, nil)]
  if c then return c end
  if consumer then
    c = by_key[key(nil, nil, consumer)]
    if c then return c end
  end
  return by_key[key(route, nil, nil)] or by_key[key(nil, service, nil)] or by_key[key(nil, nil, nil)]
end

function _M:build_plan(route, service)
  local plan = {}
  for _, name in ipairs(self.names) do
    local s = self.scoped[name]
    local conf = lookup(s, route, service, nil)
    if conf or s.consumer_scoped then
      plan[#plan + 1] = { name = name, handler = self.handlers[name], conf = conf,
                          consumer_scoped = s.consumer_scoped }
    end
  end
  return plan
end

function _M:plan_for(route)
  return route and self.route_plans[route] or self.global_plan
end

-- Runs the handlers' init_worker.
function _M:init_worker()
  for _, name in ipairs(self.names) do
    local h = self.handlers[name]
    if h.init_worker then h:init_worker() end
  end
end

-- The config an entry runs with for this request (consumer-scoped ones resolved once
-- the consumer is known), or nil when the plugin does not apply.
local function conf_for(entry, ctx, self, i)
  local overrides = ctx.plugin_overrides
  if overrides and overrides[i] ~= nil then return overrides[i] or nil end
  if entry.consumer_scoped and ctx.authenticated_consumer then
    local conf = lookup(self.scoped[entry.name], ctx.route, ctx.service, ctx.authenticated_consumer)
    overrides = overrides or {}
    ctx.plugin_overrides = overrides
    overrides[i] = conf or false
    return conf
  end
  return entry.conf
end

-- Runs `phase` (a handler method name) of every plugin of ctx.plan that has it.
function _M:run(phase, ctx)
  local plan = ctx.plan
  if not plan then return end
  for i = 1, #plan do
    local entry = plan[i]
    local fn = entry.handler[phase]
    if fn then
      local conf = conf_for(entry, ctx, self, i)
      if conf then fn(entry.handler, conf) end
    end
  end
end

return _M

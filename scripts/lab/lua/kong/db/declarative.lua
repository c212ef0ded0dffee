-- kong/db/declarative.lua — loads the gateway's declarative config: the JSON kperf
-- writes from a workload's Kong-style YAML (flattened: every entity has an `id`, and
-- references are ids). Builds the indexes the router and the plugins iterator use.
local cjson = require "cjson.safe"

local _M = {}

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

local function index(list, kind)
  local by_id = {}
  for i, e in ipairs(list) do
    if type(e) ~= "table" or type(e.id) ~= "string" then
      return nil, ("%s[%d]: missing id"):format(kind, i)
    end
    if by_id[e.id] then
      return nil, ("%s: duplicate id '%s'"):format(kind, e.id)
    end
    by_id[e.id] = e
  end
  return by_id
end

-- Returns { services, routes, consumers, keyauth_credentials, plugins, by_id = {...} }
-- or nil and an error message naming the config file.
function _M.load(path)
  local text, err = read_file(path)
  if not text then return nil, "cannot read declarative config: " .. tostring(err) end
  local conf, jerr = cjson.decode(text)
  if type(conf) ~= "table" then
    return nil, ("%s: bad JSON: %s"):format(path, tostring(jerr))
  end
  local out = { by_id = {} }
  for _, kind in ipairs { "services", "routes", "consumers", "keyauth_credentials", "plugins" } do
    local list = conf[kind]
    if list == nil or list == cjson.null then list = {} end
    if type(list) ~= "table" then return nil, ("%s: '%s' is not a list"):format(path, kind) end
    local by_id, ierr = index(list, kind)
    if not by_id then return nil, path .. ": " .. ierr end
    out[kind] = list
    out.by_id[kind] = by_id
  end
  local function resolve(e, field, kind, owner)
    local ref = e[field]
    if ref == nil or ref == cjson.null then e[field] = nil return true end
    local target = out.by_id[kind][ref]
    if not target then
      return nil, ("%s: %s '%s' refers to unknown %s '%s'"):format(path, owner, e.id, field, tostring(ref))
    end
    e[field] = target
    return true
  end
  for _, s in ipairs(out.services) do
    s.protocol = s.protocol or "http"
    if s.protocol ~= "http" then
      return nil, ("%s: service '%s': protocol '%s' is not supported by the lab gateway"):format(path, s.id, s.protocol)
    end
    if type(s.host) ~= "string" or s.host == "" then
      return nil, ("%s: service '%s' has no host"):format(path, s.id)
    end
    s.port = s.port or 80
  end
  for _, r in ipairs(out.routes) do
    local ok, rerr = resolve(r, "service", "services", "route")
    if not ok then return nil, rerr end
  end
  for _, c in ipairs(out.keyauth_credentials) do
    local ok, rerr = resolve(c, "consumer", "consumers", "keyauth_credential")
    if not ok then return nil, rerr end
    if not c.consumer then return nil, path .. ": keyauth_credential '" .. c.id .. "' has no consumer" end
  end
  for _, p in ipairs(out.plugins) do
    for _, ref in ipairs { { "service", "services" }, { "route", "routes" }, { "consumer", "consumers" } } do
      local ok, rerr = resolve(p, ref[1], ref[2], "plugin")
      if not ok then return nil, rerr end
    end
    if p.enabled == nil or p.enabled == cjson.null then p.enabled = true end
    if p.config == nil or p.config == cjson.null then p.config = {} end
  end
  return out
end

return _M

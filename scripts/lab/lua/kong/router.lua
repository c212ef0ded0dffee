-- kong/router.lua — matches a request (method, host, path) to a route and its service,
-- like Kong's traditional router: routes are compiled once into per-host candidate
-- lists sorted by precedence (more categories first, regex paths by regex_priority,
-- then longer prefixes), and match results are cached in an LRU keyed by the request.
local lrucache = require "resty.lrucache"
local re_find = ngx.re.find
local sub, lower, byte = string.sub, string.lower, string.byte
local sort = table.sort

local _M = {}
local mt = { __index = _M }

local CACHE_SIZE = 10000
local SLASH = byte("/")

local function set_of(list, transform)
  if not list or #list == 0 then return nil end
  local s = {}
  for _, v in ipairs(list) do s[transform and transform(v) or v] = true end
  return s
end

-- service.path joined with what is left of the request path (Kong's path_handling v0).
local function join_path(base, rest)
  if rest == "" then return base end
  local base_slash = byte(base, -1) == SLASH
  local rest_slash = byte(rest, 1) == SLASH
  if base_slash and rest_slash then return base .. sub(rest, 2) end
  if base_slash or rest_slash then return base .. rest end
  return base .. "/" .. rest
end

local function wildcard_match(patterns, host)
  for _, p in ipairs(patterns) do
    if re_find(host, p, "ajo") then return true end
  end
  return false
end

local function compile_wildcard(h)
  -- "*.example.com" or "example.*" -> anchored regex
  local escaped = h:gsub("([%.%-])", "\\%1"):gsub("%*", ".+")
  return "^" .. escaped .. "$"
end

function _M.new(routes)
  local entries = {}
  local plain_hosts = {}
  for order, r in ipairs(routes) do
    local svc = r.service
    local hosts, wildcards = nil, nil
    for _, h in ipairs(r.hosts or {}) do
      h = lower(h)
      if h:find("*", 1, true) then
        wildcards = wildcards or {}
        wildcards[#wildcards + 1] = compile_wildcard(h)
      else
        hosts = hosts or {}
        hosts[h] = true
        plain_hosts[h] = true
      end
    end
    local methods = set_of(r.methods, string.upper)
    local ncat = (hosts or wildcards) and 1 or 0
    ncat = ncat + (methods and 1 or 0) + ((r.paths and #r.paths > 0) and 1 or 0)
    local base = {
      route = r, service = svc, hosts = hosts, wildcards = wildcards, methods = methods,
      strip_path = r.strip_path ~= false, preserve_host = r.preserve_host == true,
      ncat = ncat, order = order, regex_priority = r.regex_priority or 0,
    }
    local paths = r.paths or {}
    if #paths == 0 then
      entries[#entries + 1] = base
    end
    for _, p in ipairs(paths) do
      local e = setmetatable({}, { __index = base })
      if byte(p, 1) == byte("~") then
        e.regex = sub(p, 2)
        if byte(e.regex, 1) ~= byte("^") then e.regex = "^" .. e.regex end
      else
        e.prefix = p
        e.prefix_len = #p
      end
      entries[#entries + 1] = e
    end
  end
  sort(entries, function(a, b)
    if a.ncat ~= b.ncat then return a.ncat > b.ncat end
    local ar, br = a.regex ~= nil, b.regex ~= nil
    if ar ~= br then return ar end
    if ar and a.regex_priority ~= b.regex_priority then return a.regex_priority > b.regex_priority end
    local al, bl = a.prefix_len or 0, b.prefix_len or 0
    if al ~= bl then return al > bl end
    return a.order < b.order
  end)
  -- per plain host: the entries that may match it (its own, wildcard and host-less ones)
  local by_host, any_host = {}, {}
  for _, e in ipairs(entries) do
    if not e.hosts then any_host[#any_host + 1] = e end
  end
  for h in pairs(plain_hosts) do
    local list = {}
    for _, e in ipairs(entries) do
      if not e.hosts or e.hosts[h] then list[#list + 1] = e end
    end
    by_host[h] = list
  end
  local cache = assert(lrucache.new(CACHE_SIZE))
  return setmetatable({ by_host = by_host, any_host = any_host, cache = cache, nroutes = #routes }, mt)
end

local function find_match(self, method, host, path)
  local list = self.by_host[host] or self.any_host
  for i = 1, #list do
    local e = list[i]
    if (not e.methods or e.methods[method])
       and (not e.wildcards or wildcard_match(e.wildcards, host)) then
      local rest
      if e.prefix then
        if sub(path, 1, e.prefix_len) == e.prefix then rest = sub(path, e.prefix_len + 1) end
      elseif e.regex then
        local _, to = re_find(path, e.regex, "jo")
        if to then rest = sub(path, to + 1) end
      else
        rest = path
      end
      if rest then
        local svc = e.service
        local upstream_path
        if e.strip_path and (e.prefix or e.regex) then
          upstream_path = join_path(svc.path or "/", rest)
        else
          upstream_path = join_path(svc.path or "/", path)
        end
        local upstream_host = svc.host
        if svc.port ~= 80 then upstream_host = upstream_host .. ":" .. svc.port end
        return {
          route = e.route, service = svc, upstream_path = upstream_path,
          upstream_host = upstream_host, preserve_host = e.preserve_host,
        }
      end
    end
  end
  return false
end

-- The match for a request, or nil when no route matches. `host` has no port.
function _M:exec(method, host, path)
  host = host and lower(host) or ""
  local key = method .. "|" .. host .. "|" .. path
  local m = self.cache:get(key)
  if m == nil then
    m = find_match(self, method, host, path)
    self.cache:set(key, m)
  end
  return m or nil
end

_M.join_path = join_path
return _M

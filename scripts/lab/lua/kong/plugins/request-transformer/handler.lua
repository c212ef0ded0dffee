-- kong/plugins/request-transformer/handler.lua — rewrites the request before it is
-- proxied (Kong's request-transformer): remove, rename, replace, add, append on
-- headers and query string ("name:value" items), optional http_method and replace.uri.
local utils = require "kong.tools.utils"

local ngx = ngx
local req = ngx.req
local split_pair = utils.split_pair

local RequestTransformer = { PRIORITY = 801, VERSION = "lab" }

local strings = { type = "array", elements = { type = "string" }, default = {} }
local function group(extra)
  local fields = { headers = strings, querystring = strings, body = strings }
  for k, v in pairs(extra or {}) do fields[k] = v end
  return { type = "record", fields = fields }
end

RequestTransformer.config_schema = {
  http_method = { type = "string" },
  remove = group(),
  rename = group(),
  replace = group({ uri = { type = "string" } }),
  add = group(),
  append = group(),
}

function RequestTransformer.check_config(conf)
  for _, op in ipairs { "remove", "rename", "replace", "add", "append" } do
    if #conf[op].body > 0 then return nil, op .. ".body is not supported by the lab gateway" end
  end
  return true
end

-- The parsed form of a config is cached per config table (configs live for the cycle).
local parsed_cache = setmetatable({}, { __mode = "k" })

local function pairs_of(list)
  local out = {}
  for i, item in ipairs(list) do
    local name, value = split_pair(item)
    out[i] = { name, value }
  end
  return out
end

local function parse(conf)
  local p = parsed_cache[conf]
  if p then return p end
  p = {}
  for _, op in ipairs { "remove", "rename", "replace", "add", "append" } do
    p[op] = { headers = pairs_of(conf[op].headers), querystring = pairs_of(conf[op].querystring) }
  end
  p.query_changes = false
  for _, op in ipairs { "remove", "rename", "replace", "add", "append" } do
    if #p[op].querystring > 0 then p.query_changes = true end
  end
  parsed_cache[conf] = p
  return p
end

local function transform_headers(p)
  local headers = req.get_headers()
  for _, h in ipairs(p.remove.headers) do req.clear_header(h[1]) end
  for _, h in ipairs(p.rename.headers) do
    local v = headers[h[1]]
    if v ~= nil and h[2] then
      req.clear_header(h[1])
      req.set_header(h[2], v)
    end
  end
  for _, h in ipairs(p.replace.headers) do
    if headers[h[1]] ~= nil then req.set_header(h[1], h[2] or "") end
  end
  for _, h in ipairs(p.add.headers) do
    if headers[h[1]] == nil then req.set_header(h[1], h[2] or "") end
  end
  for _, h in ipairs(p.append.headers) do
    local v = req.get_headers()[h[1]]
    if v == nil then
      req.set_header(h[1], h[2] or "")
    else
      if type(v) ~= "table" then v = { v } end
      v[#v + 1] = h[2] or ""
      req.set_header(h[1], v)
    end
  end
end

local function transform_query(p)
  local args = req.get_uri_args()
  for _, q in ipairs(p.remove.querystring) do args[q[1]] = nil end
  for _, q in ipairs(p.rename.querystring) do
    if args[q[1]] ~= nil and q[2] then
      args[q[2]] = args[q[1]]
      args[q[1]] = nil
    end
  end
  for _, q in ipairs(p.replace.querystring) do
    if args[q[1]] ~= nil then args[q[1]] = q[2] or "" end
  end
  for _, q in ipairs(p.add.querystring) do
    if args[q[1]] == nil then args[q[1]] = q[2] or "" end
  end
  for _, q in ipairs(p.append.querystring) do
    local v = args[q[1]]
    if v == nil then
      args[q[1]] = q[2] or ""
    else
      if type(v) ~= "table" then v = { v } end
      v[#v + 1] = q[2] or ""
      args[q[1]] = v
    end
  end
  req.set_uri_args(args)
end

function RequestTransformer:access(conf)
  local p = parse(conf)
  if conf.http_method then req.set_method(ngx["HTTP_" .. conf.http_method:upper()] or ngx.HTTP_GET) end
  transform_headers(p)
  if p.query_changes then transform_query(p) end
  if conf.replace.uri then
    -- the router's upstream path is replaced, keeping the query string
    ngx.ctx.upstream_path_override = conf.replace.uri
  end
end

return RequestTransformer

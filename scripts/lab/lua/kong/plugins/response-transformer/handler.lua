-- kong/plugins/response-transformer/handler.lua — rewrites the response (Kong's
-- response-transformer): remove, rename, replace, add, append on headers in
-- header_filter; remove/replace/add/append of top-level JSON body fields in
-- body_filter when the response is JSON (the body is buffered, then re-encoded).
local cjson = require "cjson.safe"
local utils = require "kong.tools.utils"

local ngx = ngx
local split_pair = utils.split_pair
local find, lower, concat = string.find, string.lower, table.concat

local ResponseTransformer = { PRIORITY = 800, VERSION = "lab" }

local strings = { type = "array", elements = { type = "string" }, default = {} }
local function group(with_json_types)
  local fields = { headers = strings, json = strings }
  if with_json_types then
    fields.json_types = { type = "array", elements = { type = "string" }, default = {} }
  end
  return { type = "record", fields = fields }
end

ResponseTransformer.config_schema = {
  remove = group(false),
  rename = { type = "record", fields = { headers = strings, json = strings } },
  replace = group(true),
  add = group(true),
  append = group(true),
}

local parsed_cache = setmetatable({}, { __mode = "k" })

local function typed(value, t)
  if t == "number" then return tonumber(value) end
  if t == "boolean" then return value == "true" end
  return value
end

local function parse(conf)
  local p = parsed_cache[conf]
  if p then return p end
  p = { json_changes = false }
  for _, op in ipairs { "remove", "rename", "replace", "add", "append" } do
    local g = conf[op]
    local headers, json = {}, {}
    for i, item in ipairs(g.headers) do headers[i] = { split_pair(item) } end
    for i, item in ipairs(g.json) do
      local name, value = split_pair(item)
      json[i] = { name, typed(value, g.json_types and g.json_types[i]) }
    end
    if #json > 0 then p.json_changes = true end
    p[op] = { headers = headers, json = json }
  end
  parsed_cache[conf] = p
  return p
end

local function is_json(content_type)
  return content_type and find(lower(content_type), "application/json", 1, true) ~= nil
end

function ResponseTransformer:header_filter(conf)
  local p = parse(conf)
  local header = ngx.header
  for _, h in ipairs(p.remove.headers) do header[h[1]] = nil end
  for _, h in ipairs(p.rename.headers) do
    local v = header[h[1]]
    if v ~= nil and h[2] then
      header[h[1]] = nil
      header[h[2]] = v
    end
  end
  for _, h in ipairs(p.replace.headers) do
    if header[h[1]] ~= nil then header[h[1]] = h[2] or "" end
  end
  for _, h in ipairs(p.add.headers) do
    if header[h[1]] == nil then header[h[1]] = h[2] or "" end
  end
  for _, h in ipairs(p.append.headers) do
    local v = header[h[1]]
    if v == nil then
      header[h[1]] = h[2] or ""
    else
      if type(v) ~= "table" then v = { v } end
      v[#v + 1] = h[2] or ""
      header[h[1]] = v
    end
  end
  if p.json_changes and is_json(header["Content-Type"]) then
    header["Content-Length"] = nil
    ngx.ctx.response_transformer_buffer = {}
  end
end

local function transform_json(p, body)
  local obj = cjson.decode(body)
  if type(obj) ~= "table" then return nil end
  for _, j in ipairs(p.remove.json) do obj[j[1]] = nil end
  for _, j in ipairs(p.rename.json) do
    if obj[j[1]] ~= nil and j[2] then
      obj[j[2]] = obj[j[1]]
      obj[j[1]] = nil
    end
  end
  for _, j in ipairs(p.replace.json) do
    if obj[j[1]] ~= nil then obj[j[1]] = j[2] end
  end
  for _, j in ipairs(p.add.json) do
    if obj[j[1]] == nil then obj[j[1]] = j[2] end
  end
  for _, j in ipairs(p.append.json) do
    local v = obj[j[1]]
    if v == nil then
      obj[j[1]] = { j[2] }
    elseif type(v) == "table" then
      v[#v + 1] = j[2]
    else
      obj[j[1]] = { v, j[2] }
    end
  end
  return cjson.encode(obj)
end

function ResponseTransformer:body_filter(conf)
  local buffer = ngx.ctx.response_transformer_buffer
  if not buffer then return end
  local chunk, eof = ngx.arg[1], ngx.arg[2]
  if chunk ~= "" then buffer[#buffer + 1] = chunk end
  if not eof then
    ngx.arg[1] = nil
    return
  end
  local body = concat(buffer)
  ngx.arg[1] = transform_json(parse(conf), body) or body
end

return ResponseTransformer

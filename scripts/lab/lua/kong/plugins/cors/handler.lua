-- kong/plugins/cors/handler.lua — Cross-Origin Resource Sharing (Kong's cors): answers
-- preflight OPTIONS requests itself, adds Access-Control-* headers to the others.
-- Origins: "*", exact origins, or regexes (any entry with regex characters).
local response = require "kong.tools.response"

local ngx = ngx
local concat, find = table.concat, string.find
local re_find = ngx.re.find

local Cors = { PRIORITY = 2000, VERSION = "lab" }

local strings = { type = "array", elements = { type = "string" } }
Cors.config_schema = {
  origins = strings,
  headers = strings,
  exposed_headers = strings,
  methods = { type = "array", elements = { type = "string" },
              default = { "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT" } },
  max_age = { type = "number" },
  credentials = { type = "boolean", default = false },
  private_network = { type = "boolean", default = false },
  preflight_continue = { type = "boolean", default = false },
}

local parsed_cache = setmetatable({}, { __mode = "k" })

local function parse(conf)
  local p = parsed_cache[conf]
  if p then return p end
  p = { any = false, exact = {}, regexes = {} }
  local origins = conf.origins or {}
  if #origins == 0 then p.any = true end
  for _, o in ipairs(origins) do
    if o == "*" then
      p.any = true
    elseif find(o, "[%^%$%*%+%?%[%]%(%)\\|]") then
      p.regexes[#p.regexes + 1] = "^" .. o .. "$"
    else
      p.exact[o] = true
    end
  end
  p.methods = concat(conf.methods, ",")
  p.headers = conf.headers and #conf.headers > 0 and concat(conf.headers, ",") or nil
  p.exposed = conf.exposed_headers and #conf.exposed_headers > 0 and concat(conf.exposed_headers, ",") or nil
  parsed_cache[conf] = p
  return p
end

-- The Access-Control-Allow-Origin value for this request, or nil.
local function allowed_origin(p, conf, origin)
  if p.any and not conf.credentials then return "*" end
  if not origin then return nil end
  if p.any or p.exact[origin] then return origin end
  for _, r in ipairs(p.regexes) do
    if re_find(origin, r, "ajo") then return origin end
  end
  return nil
end

local function set_origin(p, conf, origin)
  local allow = allowed_origin(p, conf, origin)
  if allow then
    ngx.header["Access-Control-Allow-Origin"] = allow
    if allow ~= "*" then ngx.header["Vary"] = "Origin" end
    if conf.credentials then ngx.header["Access-Control-Allow-Credentials"] = "true" end
  end
  return allow
end

function Cors:access(conf)
  if ngx.req.get_method() ~= "OPTIONS" then return end
  local headers = ngx.req.get_headers()
  local origin = headers["Origin"]
  if not origin or not headers["Access-Control-Request-Method"] or conf.preflight_continue then return end
  local p = parse(conf)
  ngx.ctx.cors_preflight = true
  set_origin(p, conf, origin)
  ngx.header["Access-Control-Allow-Methods"] = p.methods
  ngx.header["Access-Control-Allow-Headers"] = p.headers or headers["Access-Control-Request-Headers"]
  if conf.max_age then ngx.header["Access-Control-Max-Age"] = tostring(conf.max_age) end
  if conf.private_network and headers["Access-Control-Request-Private-Network"] == "true" then
    ngx.header["Access-Control-Allow-Private-Network"] = "true"
  end
  ngx.header["Content-Length"] = 0
  return response.exit(200)
end

function Cors:header_filter(conf)
  if ngx.ctx.cors_preflight then return end
  local p = parse(conf)
  local allow = set_origin(p, conf, ngx.req.get_headers()["Origin"])
  if allow and p.exposed then ngx.header["Access-Control-Expose-Headers"] = p.exposed end
end

return Cors

-- kong/plugins/key-auth/handler.lua — API key authentication (Kong's key-auth): the key
-- comes from a header or the query string (names from config.key_names, default
-- `apikey`); unknown or missing keys get 401; a valid key sets the request's consumer.
local response = require "kong.tools.response"

local ngx = ngx
local get_headers = ngx.req.get_headers
local get_uri_args = ngx.req.get_uri_args
local set_uri_args = ngx.req.set_uri_args
local set_header = ngx.req.set_header
local clear_header = ngx.req.clear_header
local type = type

local KeyAuth = { PRIORITY = 1250, VERSION = "lab" }

KeyAuth.config_schema = {
  key_names = { type = "array", elements = { type = "string" }, default = { "apikey" } },
  hide_credentials = { type = "boolean", default = false },
  anonymous = { type = "string" },
  key_in_header = { type = "boolean", default = true },
  key_in_query = { type = "boolean", default = true },
  key_in_body = { type = "boolean", default = false },
  run_on_preflight = { type = "boolean", default = true },
  realm = { type = "string" },
}

function KeyAuth.check_config(conf)
  if conf.key_in_body then return nil, "key_in_body is not supported by the lab gateway" end
  return true
end

-- key -> credential (with .consumer), built once in the master from the declarative config
local credentials, consumers_by_id = {}, {}

function KeyAuth.init_config(config)
  credentials, consumers_by_id = {}, {}
  for _, c in ipairs(config.consumers) do
    consumers_by_id[c.id] = c
    if c.username then consumers_by_id[c.username] = c end
  end
  for _, cred in ipairs(config.keyauth_credentials) do
    credentials[cred.key] = cred
  end
end

local function set_consumer(consumer, credential)
  local ctx = ngx.ctx
  ctx.authenticated_consumer = consumer
  ctx.authenticated_credential = credential
  set_header("X-Consumer-ID", consumer.id)
  if consumer.custom_id then set_header("X-Consumer-Custom-ID", consumer.custom_id) end
  if consumer.username then set_header("X-Consumer-Username", consumer.username) end
  if credential then
    set_header("X-Credential-Identifier", credential.id)
    clear_header("X-Anonymous-Consumer")
  else
    set_header("X-Anonymous-Consumer", "true")
  end
end

local function fail(conf, status, message)
  if conf.anonymous then
    local anon = consumers_by_id[conf.anonymous]
    if not anon then
      return response.exit(500, { message = "An unexpected error occurred" })
    end
    return set_consumer(anon, nil)
  end
  local realm = conf.realm and ('Key realm="' .. conf.realm .. '"') or "Key"
  return response.exit(status, { message = message }, { ["WWW-Authenticate"] = realm })
end

function KeyAuth:access(conf)
  if not conf.run_on_preflight and ngx.req.get_method() == "OPTIONS" then return end
  local key, from_header, name_found
  local headers = conf.key_in_header and get_headers() or nil
  local args = conf.key_in_query and get_uri_args() or nil
  for _, name in ipairs(conf.key_names) do
    local v = headers and headers[name]
    if v ~= nil then from_header = true end
    if v == nil and args then v = args[name] end
    if type(v) == "table" then v = v[1] end
    if type(v) == "string" and v ~= "" then
      key, name_found = v, name
      break
    end
  end
  if not key then
    return fail(conf, 401, "No API key found in request")
  end
  if conf.hide_credentials then
    if from_header then
      clear_header(name_found)
    else
      args[name_found] = nil
      set_uri_args(args)
    end
  end
  local cred = credentials[key]
  if not cred then
    return fail(conf, 401, "Invalid authentication credentials")
  end
  set_consumer(cred.consumer, cred)
end

return KeyAuth

-- kong/plugins/request-termination/handler.lua — answers every request itself with a
-- fixed status and message or body (Kong's request-termination; the plugin Kong's
-- spec/04-perf plugin-iterator tests run globally).
local response = require "kong.tools.response"

local RequestTermination = { PRIORITY = 2, VERSION = "lab" }

RequestTermination.config_schema = {
  status_code = { type = "integer", default = 503 },
  message = { type = "string" },
  body = { type = "string" },
  content_type = { type = "string" },
  trigger = { type = "string" },
  echo = { type = "boolean", default = false },
}

function RequestTermination.check_config(conf)
  if conf.status_code < 100 or conf.status_code > 599 then return nil, "status_code must be 100..599" end
  if conf.message and conf.body then return nil, "message and body are mutually exclusive" end
  if conf.trigger or conf.echo then return nil, "trigger and echo are not supported by the lab gateway" end
  return true
end

function RequestTermination:access(conf)
  if conf.body then
    return response.exit(conf.status_code, conf.body,
                         { ["Content-Type"] = conf.content_type or "application/json; charset=utf-8" })
  end
  return response.exit(conf.status_code, { message = conf.message or "Service unavailable" })
end

return RequestTermination

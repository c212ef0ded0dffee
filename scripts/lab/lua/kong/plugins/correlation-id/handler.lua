-- kong/plugins/correlation-id/handler.lua — gives every request an id header (Kong's
-- correlation-id): "uuid", "uuid#counter" (per-worker uuid + counter) or "tracker";
-- forwarded upstream, and echoed to the client when config.echo_downstream is set.
local utils = require "kong.tools.utils"

local ngx = ngx
local var = ngx.var

local CorrelationId = { PRIORITY = 100001, VERSION = "lab" }

CorrelationId.config_schema = {
  header_name = { type = "string", default = "Kong-Request-ID" },
  generator = { type = "string", default = "uuid#counter", one_of = { "uuid", "uuid#counter", "tracker" } },
  echo_downstream = { type = "boolean", default = false },
}

local worker_uuid, counter = nil, 0

function CorrelationId:init_worker()
  worker_uuid = utils.uuid()
  counter = 0
end

local generators = {
  ["uuid"] = function() return utils.uuid() end,
  ["uuid#counter"] = function()
    counter = counter + 1
    return worker_uuid .. "#" .. counter
  end,
  ["tracker"] = function()
    return var.server_addr .. "-" .. var.server_port .. "-" .. var.pid .. "-" ..
           var.connection .. "-" .. var.connection_requests .. "-" .. ngx.now()
  end,
}

function CorrelationId:access(conf)
  local id = ngx.req.get_headers()[conf.header_name]
  if type(id) == "table" then id = id[1] end
  if not id or id == "" then
    id = generators[conf.generator]()
    ngx.req.set_header(conf.header_name, id)
  end
  if conf.echo_downstream then ngx.ctx.correlation_id = id end
end

function CorrelationId:header_filter(conf)
  local id = ngx.ctx.correlation_id
  if conf.echo_downstream and id then ngx.header[conf.header_name] = id end
end

return CorrelationId

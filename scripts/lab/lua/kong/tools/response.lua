-- kong/tools/response.lua — kong.response.exit for the lab gateway: ends the request
-- from the rewrite/access phase with a status, optional headers and a JSON body.
local cjson = require "cjson.safe"
local ngx = ngx

local _M = {}

function _M.exit(status, body, headers)
  ngx.status = status
  if headers then
    for k, v in pairs(headers) do ngx.header[k] = v end
  end
  if body ~= nil then
    local s
    if type(body) == "table" then
      s = cjson.encode(body)
      ngx.header["Content-Type"] = "application/json; charset=utf-8"
    else
      s = tostring(body)
    end
    ngx.header["Content-Length"] = #s + 1
    ngx.say(s)
  end
  return ngx.exit(status)
end

return _M

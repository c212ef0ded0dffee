-- kong/tools/utils.lua — small helpers shared by the gateway's core and plugins:
-- random UUIDs (v4), "name:value" pair parsing for transformer configs.
local random = math.random
local format, find, sub = string.format, string.find, string.sub
local band, bor = bit.band, bit.bor

local _M = {}

-- A version 4 UUID from math.random (seeded per worker in init_worker).
function _M.uuid()
  return format("%08x-%04x-%04x-%04x-%04x%08x",
    random(0, 0xffffffff), random(0, 0xffff),
    bor(band(random(0, 0xffff), 0x0fff), 0x4000),
    bor(band(random(0, 0xffff), 0x3fff), 0x8000),
    random(0, 0xffff), random(0, 0xffffffff))
end

-- "name:value" -> name, value (value may contain ':'); "name" -> name, nil.
function _M.split_pair(s)
  local i = find(s, ":", 1, true)
  if not i then return s, nil end
  return sub(s, 1, i - 1), sub(s, i + 1)
end

return _M

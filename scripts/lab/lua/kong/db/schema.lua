-- kong/db/schema.lua — validates a plugin's `config` against the small inline schema its
-- handler declares (types, defaults, allowed values) and fills in the defaults, like Kong.
local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local concat, sort = table.concat, table.sort

local _M = {}

local function is_array(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return true
end

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = deep_copy(x) end
  return c
end

local check

local function check_record(fields, value, path)
  if value == nil then value = {} end
  if type(value) ~= "table" or (next(value) ~= nil and is_array(value)) then
    return nil, path .. ": expected a record"
  end
  local out = {}
  for k, v in pairs(value) do
    if fields[k] == nil then
      local known = {}
      for name in pairs(fields) do known[#known + 1] = name end
      sort(known)
      return nil, ("%s: unknown field '%s' (known: %s)"):format(path, tostring(k), concat(known, ", "))
    end
    local checked, err = check(fields[k], v, path .. "." .. k)
    if err then return nil, err end
    out[k] = checked
  end
  for name, f in pairs(fields) do
    if out[name] == nil then
      if f.default ~= nil then
        out[name] = deep_copy(f.default)
      elseif f.type == "record" then
        out[name] = check_record(f.fields, nil, path .. "." .. name)
      elseif f.required then
        return nil, path .. "." .. name .. ": required field missing"
      end
    end
  end
  return out
end

check = function(f, v, path)
  if v == nil or v == ngx.null then return f.default ~= nil and deep_copy(f.default) or nil end
  local t = f.type
  if t == "record" then
    return check_record(f.fields, v, path)
  elseif t == "array" then
    if type(v) ~= "table" or not is_array(v) then return nil, path .. ": expected an array" end
    local out = {}
    for i, x in ipairs(v) do
      local c, err = check(f.elements or { type = "string" }, x, path .. "[" .. i .. "]")
      if err then return nil, err end
      out[i] = c
    end
    return out
  elseif t == "string" then
    if type(v) ~= "string" then return nil, path .. ": expected a string" end
    if f.one_of then
      for _, allowed in ipairs(f.one_of) do
        if v == allowed then return v end
      end
      return nil, ("%s: expected one of: %s"):format(path, concat(f.one_of, ", "))
    end
    return v
  elseif t == "number" or t == "integer" then
    if type(v) ~= "number" then return nil, path .. ": expected a number" end
    if t == "integer" and v % 1 ~= 0 then return nil, path .. ": expected an integer" end
    if f.gt ~= nil and not (v > f.gt) then return nil, ("%s: must be greater than %s"):format(path, f.gt) end
    return v
  elseif t == "boolean" then
    if type(v) ~= "boolean" then return nil, path .. ": expected a boolean" end
    return v
  elseif t == "any" then
    return v
  end
  return nil, path .. ": schema error (unknown type " .. tostring(t) .. ")"
end

-- Returns the validated config with defaults filled in, or nil and "config.x: why".
function _M.validate(fields, config)
  return check_record(fields, config, "config")
end

return _M

// Fast-function names by ffid for the two Debian 12 LuaJIT builds and LuaJIT 2.0.5 (from
// each build's jit/vmdef.lua `ffnames`, which is the lj_ffdef.h order), and the reader of
// a build's own vmdef.lua.
#include "profiler/luajit/ff_names.hpp"

#include <filesystem>

#include "common/text_file.hpp"

namespace kperf::prof::lj {
namespace {

// luajit2 2.1-20230119 (OpenResty): adds thread.exdata*, table.clone/isarray/nkeys/isempty,
// jit.prngstate.
constexpr std::string_view kLuajit2[] = {
    "Lua", "C", "assert", "type", "next", "pairs", "ipairs_aux", "ipairs", "getmetatable",
    "setmetatable", "getfenv", "setfenv", "rawget", "rawset", "rawequal", "unpack",
    "select", "tonumber", "tostring", "error", "pcall", "xpcall", "loadfile", "load",
    "loadstring", "dofile", "gcinfo", "collectgarbage", "newproxy", "print",
    "coroutine.status", "coroutine.running", "coroutine.isyieldable", "coroutine.create",
    "coroutine.yield", "coroutine.resume", "coroutine.wrap_aux", "coroutine.wrap",
    "thread.exdata", "thread.exdata2", "math.abs", "math.floor", "math.ceil", "math.sqrt",
    "math.log10", "math.exp", "math.sin", "math.cos", "math.tan", "math.asin",
    "math.acos", "math.atan", "math.sinh", "math.cosh", "math.tanh", "math.frexp",
    "math.modf", "math.log", "math.atan2", "math.pow", "math.fmod", "math.ldexp",
    "math.min", "math.max", "math.random", "math.randomseed", "bit.tobit", "bit.bnot",
    "bit.bswap", "bit.lshift", "bit.rshift", "bit.arshift", "bit.rol", "bit.ror",
    "bit.band", "bit.bor", "bit.bxor", "bit.tohex", "string.byte", "string.char",
    "string.sub", "string.rep", "string.reverse", "string.lower", "string.upper",
    "string.dump", "string.find", "string.match", "string.gmatch_aux", "string.gmatch",
    "string.gsub", "string.format", "table.maxn", "table.insert", "table.concat",
    "table.clone", "table.isarray", "table.nkeys", "table.isempty", "table.sort",
    "table.new", "table.clear", "io.method.close", "io.method.read", "io.method.write",
    "io.method.flush", "io.method.seek", "io.method.setvbuf", "io.method.lines",
    "io.method.__gc", "io.method.__tostring", "io.open", "io.popen", "io.tmpfile",
    "io.close", "io.read", "io.write", "io.flush", "io.input", "io.output", "io.lines",
    "io.type", "os.execute", "os.remove", "os.rename", "os.tmpname", "os.getenv",
    "os.exit", "os.clock", "os.date", "os.time", "os.difftime", "os.setlocale",
    "debug.getregistry", "debug.getmetatable", "debug.setmetatable", "debug.getfenv",
    "debug.setfenv", "debug.getinfo", "debug.getlocal", "debug.setlocal",
    "debug.getupvalue", "debug.setupvalue", "debug.upvalueid", "debug.upvaluejoin",
    "debug.sethook", "debug.gethook", "debug.debug", "debug.traceback", "jit.on",
    "jit.off", "jit.flush", "jit.status", "jit.security", "jit.attach", "jit.prngstate",
    "jit.util.funcinfo", "jit.util.funcbc", "jit.util.funck", "jit.util.funcuvname",
    "jit.util.traceinfo", "jit.util.traceir", "jit.util.tracek", "jit.util.tracesnap",
    "jit.util.tracemc", "jit.util.traceexitstub", "jit.util.ircalladdr", "jit.opt.start",
    "jit.profile.start", "jit.profile.stop", "jit.profile.dumpstack", "ffi.meta.__index",
    "ffi.meta.__newindex", "ffi.meta.__eq", "ffi.meta.__len", "ffi.meta.__lt",
    "ffi.meta.__le", "ffi.meta.__concat", "ffi.meta.__call", "ffi.meta.__add",
    "ffi.meta.__sub", "ffi.meta.__mul", "ffi.meta.__div", "ffi.meta.__mod",
    "ffi.meta.__pow", "ffi.meta.__unm", "ffi.meta.__tostring", "ffi.meta.__pairs",
    "ffi.meta.__ipairs", "ffi.clib.__index", "ffi.clib.__newindex", "ffi.clib.__gc",
    "ffi.callback.free", "ffi.callback.set", "ffi.cdef", "ffi.new", "ffi.cast",
    "ffi.typeof", "ffi.typeinfo", "ffi.istype", "ffi.sizeof", "ffi.alignof",
    "ffi.offsetof", "ffi.errno", "ffi.string", "ffi.copy", "ffi.fill", "ffi.abi",
    "ffi.metatype", "ffi.gc", "ffi.load", "buffer.method.free", "buffer.method.reset",
    "buffer.method.skip", "buffer.method.set", "buffer.method.put", "buffer.method.putf",
    "buffer.method.get", "buffer.method.putcdata", "buffer.method.reserve",
    "buffer.method.commit", "buffer.method.ref", "buffer.method.encode",
    "buffer.method.decode", "buffer.method.__gc", "buffer.method.__tostring",
    "buffer.method.__len", "buffer.new", "buffer.encode", "buffer.decode",
};

// LuaJIT 2.1.0~beta3+git20220320 (Debian's vanilla build).
constexpr std::string_view kVanilla[] = {
    "Lua", "C", "assert", "type", "next", "pairs", "ipairs_aux", "ipairs", "getmetatable",
    "setmetatable", "getfenv", "setfenv", "rawget", "rawset", "rawequal", "unpack",
    "select", "tonumber", "tostring", "error", "pcall", "xpcall", "loadfile", "load",
    "loadstring", "dofile", "gcinfo", "collectgarbage", "newproxy", "print",
    "coroutine.status", "coroutine.running", "coroutine.isyieldable", "coroutine.create",
    "coroutine.yield", "coroutine.resume", "coroutine.wrap_aux", "coroutine.wrap",
    "math.abs", "math.floor", "math.ceil", "math.sqrt", "math.log10", "math.exp",
    "math.sin", "math.cos", "math.tan", "math.asin", "math.acos", "math.atan",
    "math.sinh", "math.cosh", "math.tanh", "math.frexp", "math.modf", "math.log",
    "math.atan2", "math.pow", "math.fmod", "math.ldexp", "math.min", "math.max",
    "math.random", "math.randomseed", "bit.tobit", "bit.bnot", "bit.bswap", "bit.lshift",
    "bit.rshift", "bit.arshift", "bit.rol", "bit.ror", "bit.band", "bit.bor", "bit.bxor",
    "bit.tohex", "string.byte", "string.char", "string.sub", "string.rep",
    "string.reverse", "string.lower", "string.upper", "string.dump", "string.find",
    "string.match", "string.gmatch_aux", "string.gmatch", "string.gsub", "string.format",
    "table.maxn", "table.insert", "table.concat", "table.sort", "table.new",
    "table.clear", "io.method.close", "io.method.read", "io.method.write",
    "io.method.flush", "io.method.seek", "io.method.setvbuf", "io.method.lines",
    "io.method.__gc", "io.method.__tostring", "io.open", "io.popen", "io.tmpfile",
    "io.close", "io.read", "io.write", "io.flush", "io.input", "io.output", "io.lines",
    "io.type", "os.execute", "os.remove", "os.rename", "os.tmpname", "os.getenv",
    "os.exit", "os.clock", "os.date", "os.time", "os.difftime", "os.setlocale",
    "debug.getregistry", "debug.getmetatable", "debug.setmetatable", "debug.getfenv",
    "debug.setfenv", "debug.getinfo", "debug.getlocal", "debug.setlocal",
    "debug.getupvalue", "debug.setupvalue", "debug.upvalueid", "debug.upvaluejoin",
    "debug.sethook", "debug.gethook", "debug.debug", "debug.traceback", "jit.on",
    "jit.off", "jit.flush", "jit.status", "jit.security", "jit.attach",
    "jit.util.funcinfo", "jit.util.funcbc", "jit.util.funck", "jit.util.funcuvname",
    "jit.util.traceinfo", "jit.util.traceir", "jit.util.tracek", "jit.util.tracesnap",
    "jit.util.tracemc", "jit.util.traceexitstub", "jit.util.ircalladdr", "jit.opt.start",
    "jit.profile.start", "jit.profile.stop", "jit.profile.dumpstack", "ffi.meta.__index",
    "ffi.meta.__newindex", "ffi.meta.__eq", "ffi.meta.__len", "ffi.meta.__lt",
    "ffi.meta.__le", "ffi.meta.__concat", "ffi.meta.__call", "ffi.meta.__add",
    "ffi.meta.__sub", "ffi.meta.__mul", "ffi.meta.__div", "ffi.meta.__mod",
    "ffi.meta.__pow", "ffi.meta.__unm", "ffi.meta.__tostring", "ffi.meta.__pairs",
    "ffi.meta.__ipairs", "ffi.clib.__index", "ffi.clib.__newindex", "ffi.clib.__gc",
    "ffi.callback.free", "ffi.callback.set", "ffi.cdef", "ffi.new", "ffi.cast",
    "ffi.typeof", "ffi.typeinfo", "ffi.istype", "ffi.sizeof", "ffi.alignof",
    "ffi.offsetof", "ffi.errno", "ffi.string", "ffi.copy", "ffi.fill", "ffi.abi",
    "ffi.metatype", "ffi.gc", "ffi.load", "buffer.method.free", "buffer.method.reset",
    "buffer.method.skip", "buffer.method.set", "buffer.method.put", "buffer.method.putf",
    "buffer.method.get", "buffer.method.putcdata", "buffer.method.reserve",
    "buffer.method.commit", "buffer.method.ref", "buffer.method.encode",
    "buffer.method.decode", "buffer.method.__gc", "buffer.method.__tostring",
    "buffer.method.__len", "buffer.new", "buffer.encode", "buffer.decode",
};

// LuaJIT 2.0.5 (no coroutine.isyieldable, table.new/clear, jit.prngstate, jit.profile,
// buffer; has math.deg/rad, string.len, table.foreach*/getn/remove as fast functions).
constexpr std::string_view kLua20[] = {
    "Lua", "C", "assert", "type", "next", "pairs", "ipairs_aux", "ipairs",
    "getmetatable", "setmetatable", "getfenv", "setfenv", "rawget", "rawset",
    "rawequal", "unpack", "select", "tonumber", "tostring", "error", "pcall", "xpcall",
    "loadfile", "load", "loadstring", "dofile", "gcinfo", "collectgarbage", "newproxy",
    "print", "coroutine.status", "coroutine.running", "coroutine.create",
    "coroutine.yield", "coroutine.resume", "coroutine.wrap_aux", "coroutine.wrap",
    "math.abs", "math.floor", "math.ceil", "math.sqrt", "math.log10", "math.exp",
    "math.sin", "math.cos", "math.tan", "math.asin", "math.acos", "math.atan",
    "math.sinh", "math.cosh", "math.tanh", "math.frexp", "math.modf", "math.deg",
    "math.rad", "math.log", "math.atan2", "math.pow", "math.fmod", "math.ldexp",
    "math.min", "math.max", "math.random", "math.randomseed", "bit.tobit", "bit.bnot",
    "bit.bswap", "bit.lshift", "bit.rshift", "bit.arshift", "bit.rol", "bit.ror",
    "bit.band", "bit.bor", "bit.bxor", "bit.tohex", "string.len", "string.byte",
    "string.char", "string.sub", "string.rep", "string.reverse", "string.lower",
    "string.upper", "string.dump", "string.find", "string.match", "string.gmatch_aux",
    "string.gmatch", "string.gsub", "string.format", "table.foreachi", "table.foreach",
    "table.getn", "table.maxn", "table.insert", "table.remove", "table.concat",
    "table.sort", "io.method.close", "io.method.read", "io.method.write",
    "io.method.flush", "io.method.seek", "io.method.setvbuf", "io.method.lines",
    "io.method.__gc", "io.method.__tostring", "io.open", "io.popen", "io.tmpfile",
    "io.close", "io.read", "io.write", "io.flush", "io.input", "io.output", "io.lines",
    "io.type", "os.execute", "os.remove", "os.rename", "os.tmpname", "os.getenv",
    "os.exit", "os.clock", "os.date", "os.time", "os.difftime", "os.setlocale",
    "debug.getregistry", "debug.getmetatable", "debug.setmetatable", "debug.getfenv",
    "debug.setfenv", "debug.getinfo", "debug.getlocal", "debug.setlocal",
    "debug.getupvalue", "debug.setupvalue", "debug.upvalueid", "debug.upvaluejoin",
    "debug.sethook", "debug.gethook", "debug.debug", "debug.traceback", "jit.on",
    "jit.off", "jit.flush", "jit.status", "jit.attach", "jit.util.funcinfo",
    "jit.util.funcbc", "jit.util.funck", "jit.util.funcuvname", "jit.util.traceinfo",
    "jit.util.traceir", "jit.util.tracek", "jit.util.tracesnap", "jit.util.tracemc",
    "jit.util.traceexitstub", "jit.util.ircalladdr", "jit.opt.start",
    "ffi.meta.__index", "ffi.meta.__newindex", "ffi.meta.__eq", "ffi.meta.__len",
    "ffi.meta.__lt", "ffi.meta.__le", "ffi.meta.__concat", "ffi.meta.__call",
    "ffi.meta.__add", "ffi.meta.__sub", "ffi.meta.__mul", "ffi.meta.__div",
    "ffi.meta.__mod", "ffi.meta.__pow", "ffi.meta.__unm", "ffi.meta.__tostring",
    "ffi.meta.__pairs", "ffi.meta.__ipairs", "ffi.clib.__index", "ffi.clib.__newindex",
    "ffi.clib.__gc", "ffi.callback.free", "ffi.callback.set", "ffi.cdef", "ffi.new",
    "ffi.cast", "ffi.typeof", "ffi.istype", "ffi.sizeof", "ffi.alignof", "ffi.offsetof",
    "ffi.errno", "ffi.string", "ffi.copy", "ffi.fill", "ffi.abi", "ffi.metatype",
    "ffi.gc", "ffi.load",
};

}  // namespace

std::span<const std::string_view> ffnames_luajit2() { return kLuajit2; }
std::span<const std::string_view> ffnames_vanilla() { return kVanilla; }
std::span<const std::string_view> ffnames_lua20() { return kLua20; }

std::optional<std::vector<std::string>> ffnames_from_vmdef(std::string_view text) {
  const auto start = text.find("\nffnames = {");
  if (start == std::string_view::npos) return std::nullopt;
  const auto end = text.find("\n}", start + 1);
  if (end == std::string_view::npos) return std::nullopt;
  std::vector<std::string> names;
  std::string_view body = text.substr(start, end - start);
  for (std::size_t q = body.find('"'); q != std::string_view::npos; q = body.find('"', q + 1)) {
    const std::size_t e = body.find('"', q + 1);
    if (e == std::string_view::npos) return std::nullopt;
    names.emplace_back(body.substr(q + 1, e - q - 1));
    q = e;
  }
  if (names.size() < 2 || names[0] != "Lua" || names[1] != "C") return std::nullopt;
  return names;
}

std::optional<std::vector<std::string>> ffnames_installed_with(const std::string& vm_file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::path(vm_file).parent_path();
  for (int up = 0; up < 3 && !dir.empty(); ++up, dir = dir.parent_path()) {
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(dir / "share", ec)) {
      const fs::path v = e.path() / "jit" / "vmdef.lua";
      if (e.path().filename().string().rfind("luajit-", 0) == 0 && fs::exists(v, ec)) found.push_back(v);
    }
    if (found.size() > 1) return std::nullopt;  // which one is this build's?
    if (found.size() == 1) {
      return ffnames_from_vmdef(common::read_file_or_empty(found[0]));
    }
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

}  // namespace kperf::prof::lj

// Call-site naming of LuaJIT functions from the caller's bytecode (as lj_debug_funcname).
#include "profiler/luajit/bytecode.hpp"

namespace kperf::prof::lj::bc {

AMode a_mode(std::uint8_t o) {
  if (o == 12 || o == 13 || (o >= 18 && o <= 43) || o == 45 || (o >= 51 && o <= 54) || (o >= 56 && o <= 59))
    return AMode::Dst;
  if (o == 44 || o == 63 || (o >= 65 && o <= 73) || (o >= 77 && o <= 84)) return AMode::Base;
  if (o > FUNCCW) return AMode::None;
  return AMode::Other;
}

bool is_call(std::uint8_t o) { return o >= CALLM && o <= ITERN; }

const char* metamethod(std::uint8_t o) {
  static constexpr const char* kArith[] = {"__add", "__sub", "__mul", "__div", "__mod"};
  if (o == 0 || o == 1) return "__lt";
  if (o == 2 || o == 3) return "__le";
  if (o >= 4 && o <= 11) return "__eq";
  if (o == 20) return "__unm";
  if (o == 21) return "__len";
  if (o >= 22 && o <= 36) return kArith[(o - 22) % 5];
  if (o == 37) return "__pow";
  if (o == 38) return "__concat";
  if (o == 54 || (o >= 56 && o <= 59)) return "__index";
  if (o == 55 || (o >= 60 && o <= 64)) return "__newindex";
  if (is_call(o)) return "__call";
  return nullptr;
}

namespace {

std::optional<std::string> slot_name(RemoteMemory& mem, const Proto& pt, std::int64_t pos, std::uint32_t slot) {
  for (int restarts = 0; restarts < 256; ++restarts) {
    if (auto local = pt.var_name(pos, slot)) return local;
    bool restarted = false;
    for (std::int64_t ip = pos - 1; ip > 0; --ip) {
      std::uint32_t ins = pt.ins(ip);
      std::uint8_t o = op(ins);
      std::uint32_t ra = a(ins);
      AMode m = a_mode(o);
      if (m == AMode::Base) {
        if (slot >= ra && (o != KNIL || slot <= d(ins))) return std::nullopt;
      } else if (m == AMode::Dst && ra == slot) {
        switch (o) {
          case MOV:
            slot = d(ins);
            pos = ip;
            restarted = true;
            break;
          case GGET:
            return pt.kstr(mem, d(ins));
          case TGETS:
            return pt.kstr(mem, c(ins));
          case UGET:
            return pt.uv_name(d(ins));
          default:
            return std::nullopt;
        }
        if (restarted) break;
      }
    }
    if (!restarted) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> call_site_name(RemoteMemory& mem, const Proto& pt, std::int64_t pos) {
  if (pos < 0 || pos >= static_cast<std::int64_t>(pt.sizebc)) return std::nullopt;
  std::uint32_t ins = pt.ins(pos);
  std::uint8_t o = op(ins);
  if (is_call(o)) {
    std::uint32_t slot = a(ins);
    if (o == ITERC) slot -= 3;
    return slot_name(mem, pt, pos, slot);
  }
  if (const char* mm = metamethod(o)) return std::string(mm);
  return std::nullopt;
}

}  // namespace kperf::prof::lj::bc

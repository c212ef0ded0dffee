// Checks a ring buffer record against the layout in profiler/bpf/sample.h.
#include "profiler/sample_record.hpp"

#include <cstring>

namespace kperf::prof {

static_assert(sizeof(kperf_sample) % 8 == 0, "record header keeps the user stack 8-aligned");
static_assert(sizeof(kperf_lua_state) == 256, "the LuaJIT state slot has a fixed size");

std::string_view SampleView::comm() const {
  const char* c = raw->comm;
  return std::string_view(c, strnlen(c, KPERF_COMM_LEN));
}

std::optional<SampleView> parse_sample(std::span<const uint8_t> record) {
  if (record.size() < sizeof(kperf_sample)) return std::nullopt;
  if (reinterpret_cast<uintptr_t>(record.data()) % alignof(kperf_sample) != 0) return std::nullopt;
  const auto* s = reinterpret_cast<const kperf_sample*>(record.data());
  if (s->kstack_len > KPERF_MAX_KSTACK) return std::nullopt;
  if (s->ustack_len > KPERF_MAX_USTACK || s->ustack_len > record.size() - sizeof(kperf_sample)) {
    return std::nullopt;
  }
  SampleView v;
  v.raw = s;
  v.kstack = std::span<const __u64>(s->kstack, s->kstack_len);
  v.ustack = record.subspan(sizeof(kperf_sample), s->ustack_len);
  const auto& lw = s->lua.words;
  if ((lw[KPERF_LUA_W_FLAGS] & KPERF_LUA_WINDOW) && lw[KPERF_LUA_W_WINDOW_LEN] <= KPERF_LUA_WINDOW_BYTES &&
      lw[KPERF_LUA_W_WINDOW_OFF] >= sizeof(kperf_sample) && lw[KPERF_LUA_W_WINDOW_OFF] <= record.size() &&
      lw[KPERF_LUA_W_WINDOW_LEN] <= record.size() - lw[KPERF_LUA_W_WINDOW_OFF]) {
    v.lua_window = record.subspan(lw[KPERF_LUA_W_WINDOW_OFF], lw[KPERF_LUA_W_WINDOW_LEN]);
  }
  return v;
}

}  // namespace kperf::prof

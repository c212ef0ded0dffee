// Checks a ring buffer record against the layout in profiler/bpf/sample.h.
#include "profiler/sample_record.hpp"

#include <cstring>

namespace kperf::prof {

static_assert(sizeof(kperf_sample) % 8 == 0, "record header keeps the user stack 8-aligned");
static_assert(sizeof(kperf_lua_state) == 384, "the LuaJIT state slot has a fixed size");

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
  // A window in the record's tail: [off, off + len) within the record, len <= max.
  auto window = [&](uint64_t flag, int off, int len, uint64_t max) -> std::span<const uint8_t> {
    if (!(lw[KPERF_LUA_W_FLAGS] & flag) || lw[len] > max || lw[off] < sizeof(kperf_sample) ||
        lw[off] > record.size() || lw[len] > record.size() - lw[off])
      return {};
    return record.subspan(lw[off], lw[len]);
  };
  v.lua_window = window(KPERF_LUA_WINDOW, KPERF_LUA_W_WINDOW_OFF, KPERF_LUA_W_WINDOW_LEN, KPERF_LUA_WINDOW_BYTES);
  v.lua_resumer_window = window(KPERF_LUA_RES_WINDOW, KPERF_LUA_W_RES_WINDOW_OFF, KPERF_LUA_W_RES_WINDOW_LEN,
                                KPERF_LUA_RES_WINDOW_BYTES);
  return v;
}

}  // namespace kperf::prof

// One ring buffer record of the BPF sampler (profiler/bpf/sample.h), checked and viewed
// from C++: header fields, user registers, kernel stack and the copied user stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "profiler/bpf/sample.h"

namespace kperf::prof {

struct SampleView {
  const kperf_sample* raw = nullptr;
  std::span<const __u64> kstack;   // kernel return addresses, innermost first
  std::span<const uint8_t> ustack;   // copied user stack, starting at the user sp
  std::span<const uint8_t> lua_window;  // captured Lua stack slots (empty if none)
  std::span<const uint8_t> lua_resumer_window;  // the coroutine resumer's slots (empty if none)

  uint32_t tgid() const { return raw->tgid; }
  uint32_t tid() const { return raw->tid; }
  uint32_t cpu() const { return raw->cpu; }
  uint64_t time_ns() const { return raw->time_ns; }
  std::string_view comm() const;  // up to the first NUL, at most KPERF_COMM_LEN bytes
  bool has_user_regs() const { return raw->flags & KPERF_SAMPLE_USER_REGS; }
  bool in_kernel() const { return raw->flags & KPERF_SAMPLE_IN_KERNEL; }
  bool kernel_thread() const { return raw->flags & KPERF_SAMPLE_KTHREAD; }
  std::span<const __u64, KPERF_NREGS> regs() const {
    return std::span<const __u64, KPERF_NREGS>(raw->regs, KPERF_NREGS);
  }
  uint64_t user_sp() const { return raw->regs[KPERF_REG_RSP]; }
  uint64_t user_ip() const { return raw->regs[KPERF_REG_RIP]; }
};

// Validates a record (size, counts within bounds) and views it in place; nullopt when
// it is malformed. The bytes must outlive the view and be 8-byte aligned.
std::optional<SampleView> parse_sample(std::span<const uint8_t> record);

}  // namespace kperf::prof

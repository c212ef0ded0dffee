// The snapshot a trace's code runs under, from its guards' exit stubs; see trace_exits.hpp.
#include "profiler/luajit/trace_exits.hpp"

#include <algorithm>
#include <cstring>

namespace kperf::prof::lj {
namespace {

constexpr std::uint8_t kPushImm8 = 0x6a, kJmpShort = 0xeb, kJmpRel32 = 0xe9;
constexpr std::size_t kMaxTraceCode = 1 << 20;  // sanity cap on szmcode

}  // namespace

std::optional<std::uint32_t> TraceExits::stub_exit(RemoteMemory& mem, std::uint64_t stub, std::uint64_t vm_lo,
                                                   std::uint64_t vm_hi) {
  std::uint8_t s[4];
  if (!mem.read(stub, s, sizeof s) || s[0] != kPushImm8) return std::nullopt;
  const std::uint32_t lo = s[1];
  std::uint64_t tail = stub + 2;
  if (s[2] == kJmpShort) tail = stub + 4 + s[3];  // forward over the group's other stubs
  // The tail: push hi (2 bytes), then 32-bit references' `mov dword [rsp+16], DISPATCH`
  // (C7 44 24 10 imm32, 8 bytes), then jmp rel32 (5 bytes): read only what it holds.
  std::uint8_t t[15];
  if (!mem.read(tail, t, 7) || t[0] != kPushImm8) return std::nullopt;
  const std::uint32_t hi = t[1];
  std::size_t j = 2;
  if (t[2] == 0xc7) {
    if (!mem.read(tail, t, sizeof t) || t[3] != 0x44 || t[4] != 0x24) return std::nullopt;
    j = 10;
  }
  if (t[j] != kJmpRel32) return std::nullopt;
  std::int32_t rel;
  std::memcpy(&rel, t + j + 1, sizeof rel);
  const std::uint64_t handler = tail + j + 5 + static_cast<std::int64_t>(rel);
  if (handler < vm_lo || handler >= vm_hi) return std::nullopt;
  return hi << 8 | lo;
}

std::optional<std::size_t> TraceExits::snapshot_at(RemoteMemory& mem, std::uint64_t trace, std::uint16_t traceno,
                                                   std::uint64_t mcode, std::uint32_t szmcode, std::uint32_t mcloop,
                                                   std::uint64_t off, std::size_t nsnap, std::uint64_t vm_lo,
                                                   std::uint64_t vm_hi) {
  if (szmcode == 0 || szmcode > kMaxTraceCode || off >= szmcode) return std::nullopt;
  Guards& g = traces_[trace];
  if (g.traceno != traceno || g.mcode != mcode || g.szmcode != szmcode) {
    g.traceno = traceno;
    g.mcode = mcode;
    g.szmcode = szmcode;
    g.at.clear();
    code_.resize(szmcode);
    if (mem.read(mcode, code_.data(), code_.size())) {
      // jcc rel32: 0F 80+cc rel32. Every byte position is tried (the code is not decoded);
      // a position counts only if its target is an exit stub. (A looping trace's last
      // guard may be inverted into `jcc loop; jmp exit`: that exit is its loop's, whose
      // snapshot's code is only the guard, so it is left out.)
      for (std::size_t i = 0; i + 6 <= code_.size(); ++i) {
        if (code_[i] != 0x0f || (code_[i + 1] & 0xf0) != 0x80) continue;
        std::int32_t rel;
        std::memcpy(&rel, code_.data() + i + 2, sizeof rel);
        const std::uint64_t target = mcode + i + 6 + static_cast<std::int64_t>(rel);
        if (target >= mcode && target < mcode + szmcode) continue;  // a branch inside the trace
        if (auto exitno = stub_exit(mem, target, vm_lo, vm_hi)) g.at.emplace_back(static_cast<std::uint32_t>(i), *exitno);
      }
    }
  }
  if (g.at.empty()) return std::nullopt;
  const auto first_at = [&](std::uint64_t o) {
    return std::lower_bound(g.at.begin(), g.at.end(), std::pair<std::uint32_t, std::uint32_t>(o, 0));
  };
  // In a loop's body before its first guard: the loop's own snapshot, the one after those
  // of the code before the loop (lj_opt_loop copies the body after its first snapshot).
  if (mcloop && off >= mcloop && mcloop < szmcode) {
    const auto body = first_at(mcloop);
    if ((body == g.at.end() || off < body->first) && body != g.at.begin()) {
      std::uint32_t before = 0;
      for (auto it = g.at.begin(); it != body; ++it) before = std::max(before, it->second);
      if (before + 1 < nsnap) return before + 1;
    }
  }
  // Past the last guard (a looping trace's tail, before the jump back to its loop): still
  // that guard's snapshot's code (measured against mcofs: the last snapshot, a loop's exit,
  // is not).
  const auto it = first_at(off);
  const std::size_t exitno = it == g.at.end() ? g.at.back().second : it->second;
  if (exitno >= nsnap) return std::nullopt;
  return exitno;
}

}  // namespace kperf::prof::lj

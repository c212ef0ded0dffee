// Unwinder cost per sample: kperf's cached-CFI unwinder (+ naming every frame) against
// perf's way with libdwfl (a new Dwfl, dwfl_attach_state and dwfl_getthread_frames per
// sample), on stacks captured with ptrace from the -O2 -fomit-frame-pointer test target.
#include <benchmark/benchmark.h>
#include <elfutils/libdwfl.h>

#include <cstring>
#include <vector>

#include "symbolizer/session.hpp"
#include "tests/integration/symbolizer/ptrace_capture.hpp"

namespace {

using kperf::test::CapturedSample;
using kperf::test::CapturedTarget;

CapturedTarget& fixture() {
  static CapturedTarget f(UNWIND_TARGET, 64);
  return f;
}

void BM_KperfUnwind(benchmark::State& state) {
  auto& f = fixture();
  if (f.samples.empty()) {
    state.SkipWithError("no samples captured (ptrace not permitted?)");
    return;
  }
  kperf::sym::Session session;
  session.add_process(f.child->pid());
  size_t i = 0, frames = 0;
  for (auto _ : state) {
    const auto& s = f.samples[i++ % f.samples.size()];
    auto r = session.unwind(f.child->pid(), s.regs, s.copy());
    frames += r.pcs.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["frames/sample"] = benchmark::Counter(double(frames) / double(state.iterations()));
}
BENCHMARK(BM_KperfUnwind);

void BM_KperfUnwindAndName(benchmark::State& state) {
  auto& f = fixture();
  if (f.samples.empty()) {
    state.SkipWithError("no samples captured");
    return;
  }
  kperf::sym::Session session;
  session.add_process(f.child->pid());
  size_t i = 0;
  for (auto _ : state) {
    const auto& s = f.samples[i++ % f.samples.size()];
    auto r = session.unwind(f.child->pid(), s.regs, s.copy());
    for (size_t k = 0; k < r.pcs.size(); ++k) {
      auto name = session.native_frame(f.child->pid(), r.pcs[k], k > 0);
      benchmark::DoNotOptimize(name);
    }
  }
}
BENCHMARK(BM_KperfUnwindAndName);

// --- the peer: libdwfl per sample, as perf does for --call-graph dwarf ---

struct PeerArg {
  const CapturedSample* s;
  pid_t pid;
  size_t frames = 0;
};

pid_t next_thread(Dwfl*, void* arg, void** thread_argp) {
  if (*thread_argp) return 0;
  *thread_argp = arg;
  return static_cast<PeerArg*>(arg)->pid;
}

bool memory_read(Dwfl*, Dwarf_Addr addr, Dwarf_Word* result, void* arg) {
  const auto* s = static_cast<PeerArg*>(arg)->s;
  if (addr < s->stack_base || addr + 8 > s->stack_base + s->stack.size()) return false;
  std::memcpy(result, s->stack.data() + (addr - s->stack_base), 8);
  return true;
}

bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
  const auto* s = static_cast<PeerArg*>(arg)->s;
  Dwarf_Word regs[17];
  for (int i = 0; i < 17; ++i) regs[i] = s->regs.r[i];
  return dwfl_thread_state_registers(thread, 0, 17, regs);
}

const Dwfl_Thread_Callbacks kCallbacks = {next_thread, nullptr, memory_read, set_initial_registers, nullptr, nullptr};

int frame_cb(Dwfl_Frame* frame, void* arg) {
  Dwarf_Addr pc;
  if (!dwfl_frame_pc(frame, &pc, nullptr)) return DWARF_CB_ABORT;
  ++static_cast<PeerArg*>(arg)->frames;
  return DWARF_CB_OK;
}

char* debuginfo_path = nullptr;
const Dwfl_Callbacks kProcCallbacks = {dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo, nullptr, &debuginfo_path};

void BM_LibdwflPerSample(benchmark::State& state) {
  auto& f = fixture();
  if (f.samples.empty()) {
    state.SkipWithError("no samples captured");
    return;
  }
  size_t i = 0, frames = 0;
  for (auto _ : state) {
    PeerArg arg{&f.samples[i++ % f.samples.size()], f.child->pid()};
    Dwfl* dwfl = dwfl_begin(&kProcCallbacks);
    dwfl_linux_proc_report(dwfl, arg.pid);
    dwfl_report_end(dwfl, nullptr, nullptr);
    if (dwfl_attach_state(dwfl, nullptr, arg.pid, &kCallbacks, &arg)) {
      dwfl_getthread_frames(dwfl, arg.pid, frame_cb, &arg);
    }
    frames += arg.frames;
    dwfl_end(dwfl);
  }
  state.counters["frames/sample"] = benchmark::Counter(double(frames) / double(state.iterations()));
}
BENCHMARK(BM_LibdwflPerSample);

}  // namespace

BENCHMARK_MAIN();

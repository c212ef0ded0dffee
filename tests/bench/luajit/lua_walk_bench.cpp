// The Lua half of a sample's cost (issue 16): FrameWalker::walk_sample on a luajit stopped
// with ptrace (interpreted, and inside a trace with an inlined frame), then each frame's
// folded text, as LuaSplicer does it: the walker, its result and the texts reused from
// sample to sample, the remote-memory cache cleared per walk (a sample reads the target
// anew). Counters: allocations per walk (this binary counts operator new), reads of the
// target (process_vm_readv) per walk, and frames. Run as root; /usr/bin/luajit.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <thread>

#include "profiler/bpf/sample.h"
#include "profiler/luajit/find_vm.hpp"
#include "profiler/luajit/frame_walker.hpp"
#include "profiler/luajit/proto_cache.hpp"
#include "profiler/luajit/remote_memory.hpp"
#include "tests/integration/luajit/lj_test_target.hpp"

namespace {

std::atomic<uint64_t> g_news{0};

}  // namespace

void* operator new(std::size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace kperf::prof::lj;
using kperf::test::ChildProcess;
using kperf::test::TempDir;
using kperf::test::Tracer;

// main chunk -> outer -> mid -> inner, in a loop that never ends (killed by the fixture).
constexpr const char* kChain = R"(%s
local function inner(n) local s = 0 for i = 1, n do s = s + i %% 7 end return s end
local function mid(n) return inner(n) + 1 end
function outer(n) return mid(n) * 2 end
io.stdout:write("ready\n") io.stdout:flush()
while true do outer(300) end
)";

struct Target {
  TempDir dir;
  std::unique_ptr<ChildProcess> child;
  std::unique_ptr<VmFinder> finder;
  std::unique_ptr<Tracer> tracer;
  UserRegs regs;
  std::uint64_t G = 0;
  std::string error;

  // Stops the script until a stop shows `want_trace` (inside a trace, or in the
  // interpreter) with at least min_frames frames.
  Target(bool jit, bool want_trace, std::size_t min_frames) {
    char script[1024];
    std::snprintf(script, sizeof script, kChain, jit ? "" : "jit.off()");
    kperf::test::write_file(dir.file("x.lua"), script);
    child = std::make_unique<ChildProcess>(std::vector<std::string>{"/usr/bin/luajit", dir.file("x.lua")},
                                           std::vector<std::string>{}, dir.file("out"));
    if (!kperf::test::wait_for_text(dir.file("out"), "ready", std::chrono::seconds(10))) {
      error = "luajit did not start";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // traces compiled
    finder = std::make_unique<VmFinder>(child->pid());
    tracer = std::make_unique<Tracer>(child->pid());
    if (!finder->usable() || !tracer->ok()) {
      error = finder->usable() ? tracer->error() : finder->message();
      return;
    }
    RemoteMemory mem(child->pid());
    ProtoCache protos;
    WalkResult w;
    for (int i = 0; i < 2000; ++i) {
      if (!tracer->interrupt(regs)) break;
      mem.clear();
      // Trace code keeps DISPATCH in r14 too: G from it with rip in the VM (as the splicer).
      UserRegs in_vm = regs;
      in_vm.r[KPERF_REG_RIP] = finder->layout().vm_lo;
      if (auto g = finder->from_registers(mem, in_vm)) {
        FrameWalker walker(mem, finder->layout(), protos);
        walker.walk_sample(*g, regs, w);
        const bool trace = w.start == WalkResult::Start::Trace;
        if (w.complete && trace == want_trace && w.frames.size() >= min_frames) {
          G = *g;
          return;  // stays stopped
        }
      }
      tracer->resume();
      std::this_thread::sleep_for(std::chrono::microseconds(500 + i % 700));
    }
    error = "no stop with the wanted stack in 2000 tries";
  }
};

void walk(benchmark::State& state, bool jit, bool want_trace, std::size_t min_frames) {
  Target t(jit, want_trace, min_frames);
  if (!t.error.empty()) {
    state.SkipWithError(t.error.c_str());
    return;
  }
  RemoteMemory mem(t.child->pid());
  ProtoCache protos;
  FrameWalker walker(mem, t.finder->layout(), protos);
  WalkResult w;
  std::string text;
  std::uint64_t news = 0, reads = 0, frames = 0, walks = 0;
  for (auto _ : state) {
    mem.clear();
    const std::uint64_t n0 = g_news.load(), r0 = mem.syscalls();
    walker.walk_sample(t.G, t.regs, w);
    for (const LuaFrame& f : w.frames) {
      text.clear();
      f.append_text(text);
      benchmark::DoNotOptimize(text.data());
    }
    if (walks++ > 0) news += g_news.load() - n0;  // the first walk fills the caches
    reads += mem.syscalls() - r0;
    frames += w.frames.size();
  }
  state.counters["allocs_per_walk"] = walks > 1 ? double(news) / double(walks - 1) : 0;
  state.counters["reads_per_walk"] = double(reads) / double(walks);
  state.counters["frames"] = double(frames) / double(walks);
}

}  // namespace

BENCHMARK_CAPTURE(walk, interpreted, false, false, 4)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(walk, trace, true, true, 3)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

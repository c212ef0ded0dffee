// The per-sample cost of `kperf record` in user space (issue 16), native part: unwinding
// alone, and a whole ring buffer record through StackAssembler::add_record (unwind, cached
// frame names, cause accounting, trie), on stacks captured with ptrace from the -O2
// -fomit-frame-pointer target. (Unwinding into a reused result measured the same as into a
// fresh one, 558 vs 559 ns: malloc's fast path. StackAssembler reuses it anyway, so that a
// sample allocates nothing: tests/integration/profiler/alloc_test.)
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "flamegraph/trie.hpp"
#include "profiler/stack_assembler.hpp"
#include "symbolizer/session.hpp"
#include "tests/integration/symbolizer/ptrace_capture.hpp"

namespace {

using kperf::test::CapturedTarget;

struct Fixture : CapturedTarget {
  std::vector<std::vector<uint64_t>> records;  // the samples as ring buffer records
  Fixture() : CapturedTarget(UNWIND_TARGET, 64) {
    for (const auto& s : samples) {
      std::vector<uint64_t> words((sizeof(kperf_sample) + s.stack.size() + 7) / 8);
      auto* r = reinterpret_cast<kperf_sample*>(words.data());
      r->tgid = r->tid = static_cast<uint32_t>(child->pid());
      r->flags = KPERF_SAMPLE_USER_REGS;
      std::strncpy(r->comm, "unwind_target", KPERF_COMM_LEN - 1);
      std::memcpy(r->regs, s.regs.r, sizeof r->regs);
      r->ustack_len = static_cast<uint32_t>(s.stack.size());
      std::memcpy(reinterpret_cast<uint8_t*>(words.data()) + sizeof(kperf_sample), s.stack.data(), s.stack.size());
      records.push_back(std::move(words));
    }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_Unwind(benchmark::State& state) {
  auto& f = fixture();
  if (f.samples.empty()) return state.SkipWithError("no samples captured (ptrace not permitted?)");
  kperf::sym::Session session;
  session.add_process(f.child->pid());
  size_t i = 0;
  for (auto _ : state) {
    const auto& s = f.samples[i++ % f.samples.size()];
    auto r = session.unwind(f.child->pid(), s.regs, s.copy());
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Unwind);

void BM_AssembleSample(benchmark::State& state) {
  auto& f = fixture();
  if (f.records.empty()) return state.SkipWithError("no samples captured (ptrace not permitted?)");
  kperf::sym::Session session;
  kperf::fg::StackTrie trie;
  kperf::prof::StackAssembler assembler(session, trie, kperf::prof::RootFrame::Process);
  assembler.add_process(f.child->pid());
  size_t i = 0;
  for (auto _ : state) {
    const auto& w = f.records[i++ % f.records.size()];
    auto added = assembler.add_record({reinterpret_cast<const uint8_t*>(w.data()), w.size() * 8});
    benchmark::DoNotOptimize(added);
  }
  state.counters["failures"] = static_cast<double>(assembler.stats().unwind_failures);
}
BENCHMARK(BM_AssembleSample);

}  // namespace

BENCHMARK_MAIN();

// StackAssembler on hand-made records (no BPF): a command kperf launches is not shown
// under kperf's own name for the instants between fork and exec; unwind failures are
// counted by cause (synthetic user stacks of this process).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "flamegraph/folded.hpp"
#include "flamegraph/trie.hpp"
#include "profiler/recorder.hpp"
#include "profiler/stack_assembler.hpp"
#include "symbolizer/session.hpp"

namespace kperf::prof {
namespace {

// A kernel-only sample (no user registers: nothing to unwind or read from /proc).
std::vector<uint64_t> kernel_sample(uint32_t tgid, const char* comm) {
  std::vector<uint64_t> words((sizeof(kperf_sample) + 7) / 8);
  auto* s = reinterpret_cast<kperf_sample*>(words.data());
  s->tgid = tgid;
  s->tid = tgid;
  std::strncpy(s->comm, comm, KPERF_COMM_LEN - 1);
  return words;
}

std::string folded(const fg::StackTrie& trie) {
  std::ostringstream out;
  fg::write_folded(trie, out);
  return out.str();
}

void add(StackAssembler& a, uint32_t tgid, const char* comm) {
  const auto words = kernel_sample(tgid, comm);
  a.add_record({reinterpret_cast<const uint8_t*>(words.data()), words.size() * 8});
}

TEST(StackAssembler, LaunchedCommandSamplesBeforeExecAreDropped) {
  sym::Session session;
  fg::StackTrie trie;
  StackAssembler a(session, trie, RootFrame::Process);
  a.skip_until_exec(4242, "kperf");
  add(a, 4242, "kperf");  // forked child, not yet exec'ed
  add(a, 4242, "kperf");
  add(a, 4242, "spinner");  // exec renamed it
  add(a, 4242, "spinner");
  add(a, 77, "kperf");  // another process of that name is not affected
  EXPECT_EQ(a.stats().pre_exec, 2u);
  EXPECT_EQ(a.stats().samples, 3u);
  EXPECT_EQ(folded(trie), "kperf 1\nspinner 2\n");
}

TEST(StackAssembler, AfterExecTheOldNameCounts) {
  sym::Session session;
  fg::StackTrie trie;
  StackAssembler a(session, trie, RootFrame::Process);
  a.skip_until_exec(4242, "kperf");
  add(a, 4242, "sh");
  add(a, 4242, "kperf");  // the command exec'ed kperf itself: a real sample now
  EXPECT_EQ(a.stats().pre_exec, 0u);
  EXPECT_EQ(folded(trie), "kperf 1\nsh 1\n");
}

// A sample of this process with user registers (ip, sp) and `stack` copied bytes.
std::vector<uint64_t> user_sample(uint64_t ip, size_t stack_bytes) {
  std::vector<uint64_t> words((sizeof(kperf_sample) + stack_bytes + 7) / 8);
  auto* s = reinterpret_cast<kperf_sample*>(words.data());
  s->tgid = static_cast<uint32_t>(getpid());
  s->tid = s->tgid;
  s->flags = KPERF_SAMPLE_USER_REGS;
  std::strncpy(s->comm, "assembler_test", KPERF_COMM_LEN - 1);
  s->regs[KPERF_REG_RIP] = ip;
  s->regs[KPERF_REG_RSP] = 0x7ffe0000;
  s->ustack_len = static_cast<uint32_t>(stack_bytes);
  return words;
}

uint64_t cause(const StackAssembler& a, UnwindCause c) { return a.stats().unwind_causes[static_cast<size_t>(c)]; }

TEST(StackAssembler, UnwindFailuresAreCountedByCause) {
  sym::Session session;
  fg::StackTrie trie;
  StackAssembler a(session, trie, RootFrame::Process);
  a.add_process(getpid());
  const auto add_user = [&](uint64_t ip, size_t stack_bytes) {
    const auto w = user_sample(ip, stack_bytes);
    ASSERT_TRUE(a.add_record({reinterpret_cast<const uint8_t*>(w.data()), w.size() * 8}));
  };
  add_user(0x10, 0);   // nothing copied
  add_user(0x10, 0);
  add_user(0x10, 64);  // a pc in no mapping (page zero)
  const auto& st = a.stats();
  EXPECT_EQ(st.user_stacks, 3u);
  EXPECT_EQ(st.unwind_failures, 3u);
  EXPECT_EQ(cause(a, UnwindCause::EmptyStack), 2u);
  EXPECT_EQ(cause(a, UnwindCause::NoMapping), 1u);
  uint64_t sum = 0;
  for (uint64_t n : st.unwind_causes) sum += n;
  EXPECT_EQ(sum, st.unwind_failures);

  RecordSummary summary;
  summary.stacks = st;
  EXPECT_EQ(format_unwind_causes(st), "empty_stack 2, no_mapping 1");
  EXPECT_NE(format_summary(summary).find("3 unwind failures (empty_stack 2, no_mapping 1)"), std::string::npos)
      << format_summary(summary);
}

TEST(StackAssembler, UnwindStopsMapToCauses) {
  using sym::UnwindStop;
  EXPECT_EQ(unwind_cause(UnwindStop::NoCfi, 0), UnwindCause::EmptyStack);  // nothing copied wins
  EXPECT_EQ(unwind_cause(UnwindStop::NoMapping, 8), UnwindCause::NoMapping);
  EXPECT_EQ(unwind_cause(UnwindStop::NoCfi, 8), UnwindCause::NoCfi);
  EXPECT_EQ(unwind_cause(UnwindStop::AnonCode, 8), UnwindCause::JitCode);
  EXPECT_EQ(unwind_cause(UnwindStop::OffStack, 8), UnwindCause::OffStack);
  EXPECT_EQ(unwind_cause(UnwindStop::BadCfa, 8), UnwindCause::BadCfa);
  EXPECT_EQ(unwind_cause(UnwindStop::MaxFrames, 8), UnwindCause::MaxFrames);
  EXPECT_EQ(unwind_cause(UnwindStop::Error, 8), UnwindCause::Error);
  std::set<std::string_view> names;
  for (size_t i = 0; i < kUnwindCauses; ++i) names.insert(unwind_cause_name(static_cast<UnwindCause>(i)));
  EXPECT_EQ(names.size(), kUnwindCauses);
  EXPECT_EQ(names.count("?"), 0u);
  EXPECT_EQ(format_unwind_causes(AssemblerStats{}), "");
}

}  // namespace
}  // namespace kperf::prof

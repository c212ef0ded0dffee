// StackAssembler on hand-made records (no BPF): a command kperf launches is not shown
// under kperf's own name for the instants between fork and exec.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "flamegraph/folded.hpp"
#include "flamegraph/trie.hpp"
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

}  // namespace
}  // namespace kperf::prof

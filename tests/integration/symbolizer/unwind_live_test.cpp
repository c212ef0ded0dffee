// Unwinding real stacks: samples taken with ptrace from a spinning -O2
// -fomit-frame-pointer process must unwind through CFI to main and libc's start code,
// also through libc's qsort (cross-module CFI).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "symbolizer/session.hpp"
#include "tests/integration/symbolizer/ptrace_capture.hpp"

namespace {

using kperf::sym::Session;
using kperf::test::TracedChild;

std::vector<std::string> frames(Session& s, pid_t pid, const kperf::sym::UnwindResult& r) {
  std::vector<std::string> out;
  for (size_t i = 0; i < r.pcs.size(); ++i) out.push_back(s.native_frame(pid, r.pcs[i], i > 0));
  return out;
}

// `expected` appears in `got` in order, each one right after the previous one, starting
// anywhere; `gaps_after` lists indexes in `expected` after which other frames may come.
bool chain_in_order(const std::vector<std::string>& got, const std::vector<std::string>& expected,
                    const std::vector<size_t>& gaps_after = {}) {
  auto it = std::find(got.begin(), got.end(), expected[0]);
  if (it == got.end()) return false;
  for (size_t i = 1; i < expected.size(); ++i) {
    bool gap = std::find(gaps_after.begin(), gaps_after.end(), i - 1) != gaps_after.end();
    auto next = it + 1;
    if (gap) next = std::find(next, got.end(), expected[i]);
    if (next == got.end() || *next != expected[i]) return false;
    it = next;
  }
  return true;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& f : v) s += (s.empty() ? "" : ";") + f;
  return s;
}

// libc's start code is named only with its separate debug file (libc6-dbg); without
// it the frame is libc.so.6+0xSTART from .eh_frame.
std::string libc_start_frame(const std::vector<std::string>& got, size_t main_pos) {
  return main_pos + 1 < got.size() ? got[main_pos + 1] : "";
}

bool libc_debug_installed() {
  struct stat st;
  return stat("/usr/lib/debug/.build-id", &st) == 0;  // refined below by the name seen
}

struct Outcome {
  int good = 0, total = 0;
  std::vector<std::string> bad;
};

// A sample is good when its frames hold one of `chains` (see chain_in_order).
Outcome sample_chain(const std::string& mode, const std::vector<std::vector<std::string>>& chains,
                     const std::vector<size_t>& gaps_after, bool check_libc_start) {
  Outcome o;
  TracedChild child(UNWIND_TARGET, {mode});
  EXPECT_GT(child.pid(), 0);
  EXPECT_TRUE(child.wait_for_line("ready"));
  EXPECT_TRUE(child.seize()) << "ptrace(PTRACE_SEIZE) failed";
  Session session;
  session.add_process(child.pid());
  for (int i = 0; i < 50; ++i) {
    auto s = child.sample();
    if (!s) continue;
    ++o.total;
    auto r = session.unwind(child.pid(), s->regs, s->copy());
    auto names = frames(session, child.pid(), r);
    bool ok = r.reached_root && std::any_of(chains.begin(), chains.end(), [&](const auto& c) {
                return chain_in_order(names, c, gaps_after);
              });
    if (ok && check_libc_start) {
      auto main_pos = static_cast<size_t>(std::find(names.begin(), names.end(), "main") - names.begin());
      std::string start = libc_start_frame(names, main_pos);
      ok = start == "__libc_start_call_main" || (start.rfind("libc.so.6+0x", 0) == 0 && !libc_debug_installed());
    }
    if (ok) ++o.good;
    else if (o.bad.size() < 3) o.bad.push_back(join(names) + " | " + r.error);
    usleep(2000);  // spread the samples over the loop (not synchronisation)
  }
  return o;
}

TEST(UnwindLive, ChainToMainThroughFramePointerLessCode) {
  auto o = sample_chain("chain", {{"kperf_spin", "kperf_level3", "kperf_level2", "kperf_level1", "main"}}, {}, true);
  ASSERT_GE(o.total, 45);
  std::cout << "complete chains: " << o.good << "/" << o.total << "\n";
  EXPECT_GE(o.good * 10, o.total * 9) << o.good << "/" << o.total << " complete; e.g. "
                                      << (o.bad.empty() ? "" : o.bad[0]);
}

TEST(UnwindLive, ThroughLibcQsortCallback) {
  // kperf_cmp is called from inside libc (msort_with_tmp), whose frames have no frame
  // pointer; glibc's qsort tail-calls qsort_r, so qsort_r is the frame below ours. Built
  // with ASan (scripts/sanitize), the target's qsort is the sanitizer's interceptor, which
  // calls libc's: its frame (named by either of its symbols) comes between.
  std::vector<std::vector<std::string>> chains = {
      {"kperf_spin", "kperf_cmp", "qsort_r", "kperf_sort_path", "main"},
      {"kperf_spin", "kperf_cmp", "qsort_r", "qsort", "kperf_sort_path", "main"},
      {"kperf_spin", "kperf_cmp", "qsort_r", "__interceptor_qsort", "kperf_sort_path", "main"}};
  auto o = sample_chain("qsort", chains, {1}, true);
  ASSERT_GE(o.total, 45);
  std::cout << "complete chains: " << o.good << "/" << o.total << "\n";
  EXPECT_GE(o.good * 10, o.total * 9) << o.good << "/" << o.total << " complete; e.g. "
                                      << (o.bad.empty() ? "" : o.bad[0]);
}

TEST(UnwindLive, StackCutShortStopsWithError) {
  TracedChild child(UNWIND_TARGET, {"chain"});
  ASSERT_TRUE(child.wait_for_line("ready"));
  ASSERT_TRUE(child.seize());
  Session session;
  session.add_process(child.pid());
  auto s = child.sample(32);  // 32 bytes: not enough to reach main
  ASSERT_TRUE(s);
  auto r = session.unwind(child.pid(), s->regs, s->copy());
  EXPECT_FALSE(r.reached_root);
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(r.pcs.size(), 6u);
  auto names = frames(session, child.pid(), r);
  EXPECT_EQ(std::find(names.begin(), names.end(), "main"), names.end()) << join(names);
}

TEST(UnwindLive, MaxFramesIsHonoured) {
  TracedChild child(UNWIND_TARGET, {"chain"});
  ASSERT_TRUE(child.wait_for_line("ready"));
  ASSERT_TRUE(child.seize());
  Session session;
  session.add_process(child.pid());
  auto s = child.sample();
  ASSERT_TRUE(s);
  auto r = session.unwind(child.pid(), s->regs, s->copy(), 3);
  EXPECT_EQ(r.pcs.size(), 3u);
  EXPECT_FALSE(r.reached_root);
}

TEST(UnwindLive, ModuleLookupAndSharing) {
  TracedChild a(UNWIND_TARGET, {"chain"}), b(UNWIND_TARGET, {"chain"});
  ASSERT_TRUE(a.wait_for_line("ready"));
  ASSERT_TRUE(b.wait_for_line("ready"));
  ASSERT_TRUE(a.seize());
  ASSERT_TRUE(b.seize());
  Session session;
  session.add_process(a.pid());
  session.add_process(b.pid());
  // Samples whose pc is in the target binary itself (not in libc finishing the printf).
  auto in_target = [&](TracedChild& c) {
    std::optional<kperf::test::CapturedSample> s;
    for (int i = 0; i < 50; ++i) {
      s = c.sample();
      if (!s) continue;
      auto m = session.find_module(c.pid(), s->regs.ip());
      if (m && m->path == UNWIND_TARGET) break;
      usleep(1000);
    }
    return s;
  };
  auto sa = in_target(a), sb = in_target(b);
  ASSERT_TRUE(sa && sb);
  auto ma = session.find_module(a.pid(), sa->regs.ip());
  auto mb = session.find_module(b.pid(), sb->regs.ip());
  ASSERT_TRUE(ma && mb);
  EXPECT_EQ(ma->path, UNWIND_TARGET);
  EXPECT_FALSE(ma->build_id.empty());
  EXPECT_EQ(ma->build_id, mb->build_id);
  session.unwind(a.pid(), sa->regs, sa->copy());
  auto before = session.stats().modules_loaded;
  session.unwind(b.pid(), sb->regs, sb->copy());
  EXPECT_EQ(session.stats().modules_loaded, before) << "the second process re-loaded modules";
}

TEST(UnwindLive, AddProcessOfMissingPidThrows) {
  Session session;
  EXPECT_THROW(session.add_process(999999999), std::runtime_error);
}

}  // namespace

// stackcollapse-perf.pl's rules one at a time (expected lines derived by reading the
// Perl script, and checked against it by hand): headers, events, periods, frame tidying,
// annotations, sort order, and kperf's own errors on unusable input.
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "flamegraph/collapse_perf.hpp"

namespace {

using kperf::fg::CollapseOptions;

std::string collapse(const std::string& text, const CollapseOptions& o = {}) {
  std::istringstream in(text);
  std::ostringstream out;
  kperf::fg::collapse_perf_script(in, out, o);
  return out.str();
}

std::string error_of(const std::string& text, const CollapseOptions& o = {}) {
  try {
    collapse(text, o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no error)";
}

CollapseOptions pid() { CollapseOptions o; o.pid = true; return o; }
CollapseOptions tid() { CollapseOptions o; o.tid = true; return o; }

TEST(CollapseRules, LeafFirstLinesBecomeRootFirstStacksMergedWithPeriods) {
  const std::string in =
      "swapper     0 [000] 158665.570607: 10 cpu-clock:\n"
      "\tffffffff8103ce3b native_safe_halt ([kernel.kallsyms])\n"
      "\tffffffff8101c6a3 default_idle ([kernel.kallsyms])\n"
      "\n"
      "swapper     0 [000] 158665.570608: 5 cpu-clock:\n"
      "\tffffffff8103ce3b native_safe_halt ([kernel.kallsyms])\n"
      "\tffffffff8101c6a3 default_idle ([kernel.kallsyms])\n"
      "\n";
  EXPECT_EQ(collapse(in), "swapper;default_idle;native_safe_halt 15\n");
}

TEST(CollapseRules, SortIsBytewiseAndCountsStartAtOneWithoutPeriod) {
  const std::string in =
      "bb 1 1.0: cycles:\n x f (m)\n\n"
      "aa 1 1.0: cycles:\n x g (m)\n\n"
      "BB 1 1.0: cycles:\n x h (m)\n\n"
      "aa 1 1.0: 0 cycles:\n x g (m)\n\n";  // period 0 counts 1, like Perl's `not $period`
  EXPECT_EQ(collapse(in), "BB;h 1\naa;g 2\nbb;f 1\n");
}

TEST(CollapseRules, OnlyTheFirstEventTypeUnlessFiltered) {
  const std::string in =
      "perf 1 1.0: 3 cycles:\n x f (m)\n\n"
      "perf 1 1.0: 7 instructions:\n x g (m)\n\n"
      "perf 1 1.0: 4 cycles:\n x f (m)\n\n";
  std::istringstream s(in);
  std::ostringstream out;
  const auto stats = kperf::fg::collapse_perf_script(s, out, {});
  EXPECT_EQ(out.str(), "perf;f 7\n");
  EXPECT_EQ(stats.skipped_events, 1u);
  EXPECT_EQ(stats.event, "cycles");
  CollapseOptions o;
  o.event_filter = "instructions";
  EXPECT_EQ(collapse(in, o), "perf;g 7\n");
  o.event_filter = "branches";
  EXPECT_NE(error_of(in, o).find("no samples"), std::string::npos);
}

TEST(CollapseRules, PidAndTidRootFrames) {
  const std::string with_tid = "V8 WorkerThread 24636/25607 [000] 94564.109216: 100 cycles:\n x f (m)\n\n";
  EXPECT_EQ(collapse(with_tid), "V8_WorkerThread;f 100\n");
  EXPECT_EQ(collapse(with_tid, pid()), "V8_WorkerThread-24636;f 100\n");
  EXPECT_EQ(collapse(with_tid, tid()), "V8_WorkerThread-24636/25607;f 100\n");
  // Without a PID perf prints the TID alone: the PID becomes '?'.
  const std::string tid_only = "java 25607 4794564.109216: 1 cycles:\n x f (m)\n\n";
  EXPECT_EQ(collapse(tid_only, pid()), "java-?;f 1\n");
  EXPECT_EQ(collapse(tid_only, tid()), "java-?/25607;f 1\n");
}

TEST(CollapseRules, SampleEndsOnlyAtABlankLine) {
  // No blank line at the end: the last sample is never counted (as in Perl).
  EXPECT_EQ(collapse("aa 1 1.0: cycles:\n x f (m)\n\nbb 1 1.0: cycles:\n x g (m)\n"), "aa;f 1\n");
  // A header without a blank line before it keeps the previous frames, below the new
  // ones (as in Perl: each line's frames are put in front of the stack).
  EXPECT_EQ(collapse("aa 1 1.0: cycles:\n x f (m)\nbb 1 1.0: cycles:\n x g (m)\n\n"), "bb;g;f 1\n");
  // Comment lines are skipped anywhere.
  EXPECT_EQ(collapse("# header\naa 1 1.0: cycles:\n# c\n x f (m)\n\n"), "aa;f 1\n");
}

TEST(CollapseRules, UnknownFramesUseTheModuleName) {
  const std::string in =
      "aa 1 1.0: cycles:\n"
      " 7f00 [unknown] (/usr/lib/libc.so.6)\n"
      " 7f01 [unknown] ([unknown])\n"
      "\n";
  EXPECT_EQ(collapse(in), "aa;[unknown];[libc.so.6] 1\n");
  CollapseOptions o;
  o.addrs = true;
  EXPECT_EQ(collapse(in, o), "aa;[unknown <7f01>];[libc.so.6 <7f00>] 1\n");
}

TEST(CollapseRules, FunctionNamesAreTidied) {
  const std::string in =
      "aa 1 1.0: cycles:\n"
      " 1 foo(int, char const*)+0x1a (m)\n"               // args and offset dropped
      " 2 ns::(anonymous namespace)::bar(int) (m)\n"        // keeps "(anonymous namespace)"
      " 3 net/http.(*Client).Do (m)\n"                      // Go method: kept whole
      " 4 RegExp:[&<>\"'] (/tmp/perf-7539.map)\n"           // quotes deleted
      " 5 a;b+0xZZ (m)\n"                                   // ';' -> ':', not a hex offset
      " 6 (process) (m)\n"                                  // skipped
      "\n";
  EXPECT_EQ(collapse(in),
            "aa;a:b+0xZZ;RegExp:[&<>];net/http.(*Client).Do;ns::(anonymous namespace)::bar;foo 1\n");
}

TEST(CollapseRules, InlinedFramesAndAnnotations) {
  const std::string in =
      "aa 1 1.0: cycles:\n"
      " 1 leaf->inl (/usr/bin/x)\n"
      " 2 jitted (/tmp/perf-42.map)\n"
      " 3 kfunc ([kernel.kallsyms])\n"
      " 4 vfunc (/boot/vmlinux)\n"
      " 5 [unknown] ([unknown])\n"
      "\n";
  EXPECT_EQ(collapse(in), "aa;[unknown];vfunc;kfunc;jitted;leaf;inl_[i] 1\n");
  CollapseOptions o;
  o.set_all();
  EXPECT_EQ(collapse(in, o), "aa;[unknown];vfunc_[k];kfunc_[k];jitted_[j];leaf;inl_[i] 1\n");
}

TEST(CollapseRules, JavaFramesLoseTheirTypePrefix) {
  const std::string in =
      "java 25607 1.0: cycles:\n"
      " 1 Lorg/mozilla/javascript/MemberBox;.<init>(Ljava/lang/reflect/Method;)V (/tmp/perf-1.map)\n"
      " 2 Lfoo (/tmp/perf-1.map)\n"
      "\n";
  EXPECT_EQ(collapse(in), "java;Lfoo;org/mozilla/javascript/MemberBox:.<init> 1\n");
  EXPECT_EQ(collapse(in, tid()), "java-?/25607;Lfoo;org/mozilla/javascript/MemberBox:.<init> 1\n");
  const std::string not_java = "node 1 1.0: cycles:\n 1 La/b (m)\n\n";
  EXPECT_EQ(collapse(not_java), "node;La/b 1\n");
}

TEST(CollapseRules, FrameLineRegexBacktracking) {
  // "(\w+)\s*(.+) \(" gives a character back when " (" follows the address directly.
  EXPECT_EQ(collapse("aa 1 1.0: cycles:\n  abc (x)\n\n"), "aa;c 1\n");
  // The module starts at the last " (" before the last ')': here "deleted)", so the
  // function is "f (x", cut at its '(' to "f " (and not a kernel frame).
  EXPECT_EQ(collapse("aa 1 1.0: cycles:\n 1 f (x (deleted))\n\n", [] {
              CollapseOptions o;
              o.kernel = true;
              return o;
            }()),
            "aa;f  1\n");
}

TEST(CollapseRules, HugeCountsTurnIntoPerlNumbers) {
  const std::string in =
      "aa 1 1.0: 18446744073709551615 cycles:\n x f (m)\n\n"
      "aa 1 1.0: 1 cycles:\n x f (m)\n\n";
  EXPECT_EQ(collapse(in), "aa;f 1.84467440737096e+19\n");
}

TEST(CollapseRules, LinesLongerThanTheReadChunk) {
  const std::string name(3 << 20, 'x');
  EXPECT_EQ(collapse("aa 1 1.0: cycles:\n 1 " + name + " (m)\n\n"), "aa;" + name + " 1\n");
}

TEST(CollapseErrors, UnusableInputThrowsOneLine) {
  EXPECT_EQ(error_of(""), "no samples in input: the input is empty");
  EXPECT_NE(error_of("hello world\nthis is text\n").find("no samples in input"), std::string::npos);
  EXPECT_NE(error_of(std::string("aa 1 1.0: cycles:\n x f (m)\n\0\0\1", 30)).find("binary data"),
            std::string::npos);
  EXPECT_NE(error_of("PERFILE2 and more").find("perf.data"), std::string::npos);
  EXPECT_NE(error_of("\x01\x02\x03\xff\xfe\n\x7f\x05\n").find("binary data"), std::string::npos);
  EXPECT_NE(error_of("aa 1 1.0: cycles:\n" + std::string(17 << 20, 'y')).find("over 16 MiB"),
            std::string::npos);
  for (const std::string& msg : {error_of(""), error_of("x\n"), error_of(std::string(3, '\0'))}) {
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(CollapseApi, IncrementalCollapserMatchesStreamFunction) {
  kperf::fg::PerfScriptCollapser c({});
  for (const char* line : {"aa 1 1.0: 2 cycles:", " x f (m)", "", "aa 1 1.0: 3 cycles:", " x f (m)", ""}) {
    c.add_line(line);
  }
  std::ostringstream out;
  c.write(out);
  EXPECT_EQ(out.str(), "aa;f 5\n");
  EXPECT_EQ(c.stats().samples, 2u);
  EXPECT_EQ(c.stats().lines, 6u);
  EXPECT_EQ(c.stats().distinct_stacks, 1u);
}

}  // namespace

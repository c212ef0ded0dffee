// `kperf record` with the real BPF sampler on test programs built -O2
// -fomit-frame-pointer: whole call chains from main, sample counts against the target's
// own CPU time, targets exiting mid-record, dlopen'ed libraries, SIGINT, and errors.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/core.h>

#include "tests/support/folded_stacks.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/root.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

uint64_t samples_of(const std::vector<Stack>& stacks, const std::string& root) {
  uint64_t n = 0;
  for (const auto& s : stacks) {
    if (!s.frames.empty() && s.frames[0] == root) n += s.count;
  }
  return n;
}

TEST(Record, SpinnerShowsWholeChainFromMain) {
  REQUIRE_ROOT();
  const auto r = run({KPERF_BINARY, "record", "-F", "499", "-d", "3", "--", SPINNER_BINARY, "10"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto stacks = parse_folded(r.out);
  const uint64_t total = samples_of(stacks, "kperf_test_spin");  // comm: 15 chars
  ASSERT_GT(total, 100u) << r.out << r.err;
  uint64_t chain = 0;
  for (const auto& s : stacks) {
    if (s.frames[0] == "kperf_test_spin" && has_sequence(s, {"main", "level1", "level2", "level3"})) {
      chain += s.count;
    }
  }
  EXPECT_GE(chain, total * 9 / 10) << "whole chain in " << chain << " of " << total << "\n" << r.out;
  EXPECT_NE(r.err.find("samples"), std::string::npos) << r.err;
}

TEST(Record, SampleCountMatchesTargetCpuTime) {
  REQUIRE_ROOT();
  TempDir dir;
  const int freq = 499;
  // The spinner runs 3 s of wall time and prints its CPU time; kperf stops when it exits.
  const auto r = run({KPERF_BINARY, "record", "-F", std::to_string(freq), "-d", "20", "-o",
                      dir.file("out.folded"), "--", SPINNER_BINARY, "3"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto pos = r.out.find("cpu_seconds=");
  ASSERT_NE(pos, std::string::npos) << r.out;
  const double cpu = std::stod(r.out.substr(pos + 12));
  ASSERT_GT(cpu, 0.2) << "the spinner hardly ran";
  const auto stacks = parse_folded(read_file(dir.file("out.folded")));
  const double got = static_cast<double>(samples_of(stacks, "kperf_test_spin"));
  const double want = freq * cpu;
  EXPECT_NEAR(got, want, want * 0.10) << "cpu " << cpu << " s; " << r.err;
  std::cout << "samples " << got << ", F x cpu time " << want << "\n";
  EXPECT_NE(r.err.find("command exited"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 15) << "did not stop when the command exited";
}

TEST(Record, TargetExitingMidRecordEndsCleanly) {
  REQUIRE_ROOT();
  TempDir dir;
  Process spinner({SPINNER_BINARY, "2"}, dir.file("spinner.out"));
  const auto r = run({KPERF_BINARY, "record", "-F", "199", "-d", "30", "-p", std::to_string(spinner.pid())});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LT(r.seconds, 15) << "kept recording after the target exited";
  EXPECT_NE(r.err.find("targets exited"), std::string::npos) << r.err;
  const auto stacks = parse_folded(r.out);
  EXPECT_GT(samples_of(stacks, "kperf_test_spin"), 50u) << r.out << r.err;
}

TEST(Record, DlopenedLibraryFramesAreNamed) {
  REQUIRE_ROOT();
  TempDir dir;
  // Maps are read when recording starts; the library appears 1.5 s later.
  Process target({DLSPINNER_BINARY, SPINLIB_PATH, "1.5", "2.5"}, dir.file("t.out"), dir.file("t.err"));
  const auto r = run({KPERF_BINARY, "record", "-F", "299", "-d", "30", "-p", std::to_string(target.pid())});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto stacks = parse_folded(r.out);
  const uint64_t total = total_samples(stacks);
  uint64_t in_lib = 0;
  for (const auto& s : stacks) {
    if (has_sequence(s, {"main", "kperf_test_lib_spin"})) in_lib += s.count;
  }
  ASSERT_GT(total, 100u) << r.out << r.err;
  // 2.5 of 4 s are spent in the library.
  EXPECT_GE(in_lib, total * 2 / 5) << "library frames in " << in_lib << " of " << total << "\n" << r.out;
}

TEST(Record, SigintWritesWhatWasCollected) {
  REQUIRE_ROOT();
  TempDir dir;
  Process kperf({KPERF_BINARY, "record", "-F", "199", "-o", dir.file("out.folded"), "--", SPINNER_BINARY, "60"},
                dir.file("stdout"), dir.file("stderr"));
  // Wait until the spinner runs under kperf, then a little more for samples.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool started = false;
  while (!started && std::chrono::steady_clock::now() < deadline) {
    started = system(fmt::format("pgrep -P {} -x kperf_test_spin >/dev/null", kperf.pid()).c_str()) == 0;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(started);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kperf.signal(SIGINT);
  EXPECT_EQ(kperf.wait(20), 0) << read_file(dir.file("stderr"));
  EXPECT_NE(read_file(dir.file("stderr")).find("interrupted"), std::string::npos);
  const auto stacks = parse_folded(read_file(dir.file("out.folded")));
  EXPECT_GT(samples_of(stacks, "kperf_test_spin"), 50u) << read_file(dir.file("stderr"));
}

TEST(Record, PerPidAndPerTidRootFrames) {
  REQUIRE_ROOT();
  TempDir dir;
  Process spinner({SPINNER_BINARY, "30"}, dir.file("spinner.out"));
  const std::string pid = std::to_string(spinner.pid());
  for (const std::string flag : {"--per-pid", "--per-tid"}) {
    const auto r = run({KPERF_BINARY, "record", "-F", "199", "-d", "1", flag, "-p", pid});
    ASSERT_EQ(r.status, 0) << r.err;
    const auto stacks = parse_folded(r.out);
    const std::string root = "kperf_test_spin-" + pid + (flag == "--per-tid" ? "/" + pid : "");
    EXPECT_GT(samples_of(stacks, root), 20u) << flag << "\n" << r.out;
    EXPECT_EQ(samples_of(stacks, root), total_samples(stacks)) << r.out;
  }
}

TEST(Record, SvgAndSpeedscopeOutputs) {
  REQUIRE_ROOT();
  TempDir dir;
  for (const std::string format : {"svg", "speedscope"}) {
    const std::string out = dir.file("out." + format);
    const auto r = run({KPERF_BINARY, "record", "-F", "199", "-d", "1", "--format", format, "-o", out, "--",
                        SPINNER_BINARY, "5"});
    ASSERT_EQ(r.status, 0) << r.err;
    const std::string text = read_file(out);
    EXPECT_NE(text.find("level3"), std::string::npos) << format;
    if (format == "svg") {
      EXPECT_NE(text.find("<svg"), std::string::npos);
      EXPECT_EQ(system(fmt::format("xmllint --noout {}", out).c_str()), 0) << "invalid SVG";
    } else {
      EXPECT_NE(text.find("\"$schema\""), std::string::npos);
    }
  }
}

TEST(Record, GonePidIsAClearError) {
  TempDir dir;
  pid_t gone;
  {
    Process p({"true"});
    ASSERT_EQ(p.wait(10), 0);
    gone = p.pid();
  }
  const auto r = run({KPERF_BINARY, "record", "-d", "1", "-p", std::to_string(gone), "-o", dir.file("o")});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(fmt::format("no process with pid {}", gone)), std::string::npos) << r.err;
  EXPECT_FALSE(std::ifstream(dir.file("o")).good()) << "partial output left behind";
}

TEST(Record, UnprivilegedIsAClearError) {
  REQUIRE_ROOT();
  // As nobody, without capabilities.
  const auto r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", KPERF_BINARY, "record", "-d",
                      "1", "--", "true"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("CAP_BPF"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CAP_PERFMON"), std::string::npos) << r.err;
}

TEST(Record, CommandThatCannotRunIsAClearError) {
  REQUIRE_ROOT();
  const auto r = run({KPERF_BINARY, "record", "-d", "1", "--", "/nonexistent/program"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("cannot run '/nonexistent/program'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kperf::test

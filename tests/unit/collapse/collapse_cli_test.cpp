// The real `kperf collapse` binary: output through -o, bad input (missing file,
// directory, binary data, empty or non-perf text) giving one stderr line, status 2 and
// no output file, --help, and memory bounded by distinct stacks rather than input size.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "folded_expect.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace {

const std::string kDir = KPERF_SHARED_DIR "/testdata/stackcollapse-perf";

struct Result {
  int status = -1;  // exit status, or -1 if killed by a signal
  std::string out, err;
  long max_rss_kb = 0;
};

class CollapseCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kperf-collapse-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs kperf with `args`; stdin from `stdin_path`, or when stdin_path is empty
  // through a pipe: `stdin_data` written `stdin_repeat` times (the test process stays
  // small: Linux hands a spawning parent's peak RSS down to the child's ru_maxrss).
  Result run(const std::vector<std::string>& args, const std::string& stdin_path = "/dev/null",
             const std::string& stdin_data = "", uint64_t stdin_repeat = 1) {
    const std::string out_path = (dir_ / "stdout").string(), err_path = (dir_ / "stderr").string();
    std::vector<std::string> argv_s{KPERF_BINARY, "collapse"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    int pipe_fds[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (stdin_path.empty()) {
      EXPECT_EQ(::pipe(pipe_fds), 0);
      posix_spawn_file_actions_adddup2(&fa, pipe_fds[0], 0);
      posix_spawn_file_actions_addclose(&fa, pipe_fds[0]);
      posix_spawn_file_actions_addclose(&fa, pipe_fds[1]);
    } else {
      posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
    }
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    Result r;
    if (rc != 0) {
      ADD_FAILURE() << "cannot run " << argv[0];
      return r;
    }
    if (stdin_path.empty()) {
      ::close(pipe_fds[0]);
      std::signal(SIGPIPE, SIG_IGN);
      bool open = true;
      for (uint64_t i = 0; open && i < stdin_repeat; ++i) {
        size_t off = 0;
        while (off < stdin_data.size()) {
          const ssize_t n = ::write(pipe_fds[1], stdin_data.data() + off, stdin_data.size() - off);
          if (n <= 0) {  // kperf stopped reading: its status tells why
            open = false;
            break;
          }
          off += static_cast<size_t>(n);
        }
      }
      ::close(pipe_fds[1]);
    }
    int status = 0;
    struct rusage ru {};
    ::wait4(pid, &status, 0, &ru);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.max_rss_kb = ru.ru_maxrss;
    r.out = kperf::test::read_file(out_path);
    r.err = kperf::test::read_file(err_path);
    return r;
  }

  // One line "kperf: ...\n" containing `what`, status 2, nothing on stdout.
  static void expect_error(const Result& r, const std::string& what) {
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    ASSERT_TRUE(r.err.starts_with("kperf: ")) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  }

  // Nothing but kperf's own stdout/stderr captures in the temp dir.
  void expect_no_output_files() {
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(name == "stdout" || name == "stderr" || name.starts_with("input")) << name;
    }
  }

  std::string write_input(const std::string& name, const std::string& data) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << data;
    return p.string();
  }

  fs::path dir_;
};

TEST_F(CollapseCli, WritesTheFoldedStacksToTheOutputFile) {
  const fs::path out = dir_ / "out.folded";
  const Result r = run({"--tid", "-o", out.string(), kDir + "/perf-iperf-stacks-pidtid-01.txt"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(kperf::test::read_file(out.string()),
            kperf::test::read_file(kDir + "/results/perf-iperf-stacks-pidtid-01-collapsed-tid.txt"));
}

TEST_F(CollapseCli, ReadsStandardInputAndWritesStandardOutput) {
  const Result r = run({"--kernel", "-"}, kDir + "/perf-dd-stacks-01.txt");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, kperf::test::read_file(kDir + "/results/perf-dd-stacks-01-collapsed-kernel.txt"));
}

TEST_F(CollapseCli, NotesSkippedEventTypesOnStderr) {
  const Result r = run({kDir + "/perf-cycles-instructions-01.txt"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.err.find("--event-filter"), std::string::npos) << r.err;
  EXPECT_FALSE(r.out.empty());
}

TEST_F(CollapseCli, MissingFile) {
  const fs::path out = dir_ / "out.folded";
  expect_error(run({"-o", out.string(), (dir_ / "nope.txt").string()}), "cannot open");
  EXPECT_FALSE(fs::exists(out));
  expect_no_output_files();
}

TEST_F(CollapseCli, Directory) {
  const fs::path out = dir_ / "out.folded";
  expect_error(run({"-o", out.string(), dir_.string()}), "directory");
  EXPECT_FALSE(fs::exists(out));
  expect_no_output_files();
}

TEST_F(CollapseCli, BinaryGarbage) {
  std::string garbage;
  for (int i = 0; i < 5000; ++i) garbage += static_cast<char>((i * 7919) % 256);
  const std::string in = write_input("input.bin", garbage);
  const fs::path out = dir_ / "out.folded";
  expect_error(run({"-o", out.string(), in}), "not perf script text");
  EXPECT_FALSE(fs::exists(out));
  expect_no_output_files();
}

TEST_F(CollapseCli, PerfDataFile) {
  const std::string in = write_input("input.data", std::string("PERFILE2\x68\0\0\0\0\0\0\0", 16));
  expect_error(run({in}), "perf.data");
}

TEST_F(CollapseCli, EmptyInput) {
  const fs::path out = dir_ / "out.folded";
  expect_error(run({"-o", out.string()}, "/dev/null"), "no samples in input");
  EXPECT_FALSE(fs::exists(out));
  expect_no_output_files();
}

TEST_F(CollapseCli, TextThatIsNotPerfScript) {
  const std::string in = write_input("input.txt", "Lorem ipsum dolor sit amet,\nconsectetur adipiscing elit.\n");
  const fs::path out = dir_ / "out.folded";
  expect_error(run({"-o", out.string(), in}), "no samples in input");
  EXPECT_FALSE(fs::exists(out));
  expect_no_output_files();
}

TEST_F(CollapseCli, FailureKeepsAnExistingOutputFileUntouched) {
  const fs::path out = dir_ / "input-existing.folded";
  std::ofstream(out) << "old 1\n";
  expect_error(run({"-o", out.string(), "-"}, "/dev/null"), "no samples in input");
  EXPECT_EQ(kperf::test::read_file(out.string()), "old 1\n");
  expect_no_output_files();
}

TEST_F(CollapseCli, HelpDocumentsEveryFlag) {
  const Result r = run({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--pid", "--tid", "--kernel", "--jit", "--all", "--addrs", "--event-filter", "-o,--output", "FILE"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag << "\n" << r.out;
  }
}

// 96 MiB of samples with 512 distinct stacks through a pipe: kperf's peak RSS must
// stay far below the input size (it keeps stacks, not input).
TEST_F(CollapseCli, MemoryIsBoundedByDistinctStacksNotInputSize) {
  std::string block;
  for (int s = 0; s < 512; ++s) {
    block += "nginx 1234/1234 [001] 100.000001: 1010101 cpu-clock:\n";
    for (int d = 0; d < 12; ++d) {
      block += "\t    7f0000001234 ngx_function_" + std::to_string((s >> (d % 9)) + d) +
               "+0x1f (/usr/sbin/nginx)\n";
    }
    block += "\n";
  }
  const uint64_t blocks = (96u << 20) / block.size() + 1;
  const Result r = run({"-"}, "", block, blocks);
  ASSERT_EQ(r.status, 0) << r.err;
  // Every stack was seen `blocks` times with period 1010101.
  EXPECT_NE(r.out.find(" " + std::to_string(blocks * 1010101) + "\n"), std::string::npos);
  EXPECT_LT(r.max_rss_kb, 40 * 1024) << "peak RSS " << r.max_rss_kb << " KiB for "
                                     << blocks * block.size() << " bytes of input";
}

}  // namespace

// common/proc_stat and common/text_file: /proc/PID/stat parsing (names with spaces and
// parentheses, truncated text), this process read live, and whole-file reads.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "common/proc_stat.hpp"
#include "common/text_file.hpp"
#include "common/unique_fd.hpp"
#include "tests/support/temp_dir.hpp"

using namespace kperf::common;

namespace {

std::string stat_line(const std::string& comm, char state, long ppid, unsigned long long start) {
  std::string s = "1234 (" + comm + ") ";
  s += state;
  s += " " + std::to_string(ppid) + " 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 " + std::to_string(start) +
       " 10000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  return s;
}

}  // namespace

TEST(ProcStat, ParsesTheFieldsAfterTheName) {
  const auto s = parse_proc_stat(stat_line("nginx", 'S', 77, 123456789));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->comm, "nginx");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 77);
  EXPECT_EQ(s->start_time, 123456789u);
}

TEST(ProcStat, NameWithSpacesAndParenthesesDoesNotShiftFields) {
  const auto s = parse_proc_stat(stat_line("a) Z 9 (b", 'R', 5, 42));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->comm, "a) Z 9 (b");
  EXPECT_EQ(s->state, 'R');
  EXPECT_EQ(s->ppid, 5);
  EXPECT_EQ(s->start_time, 42u);
}

TEST(ProcStat, ShortLinesOfFakeProcTreesKeepStateAndParent) {
  const auto s = parse_proc_stat("12 (nginx) S 1 1 1 0\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 1);
  EXPECT_EQ(s->start_time, 0u);
}

TEST(ProcStat, RefusesTextThatIsNotAStatLine) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("1234 nginx S 1"));
  EXPECT_FALSE(parse_proc_stat("1234 (nginx) S"));  // truncated before the parent
  EXPECT_FALSE(parse_proc_stat("1234 (nginx) SS 1" + std::string(200, ' ')));
  EXPECT_FALSE(parse_proc_stat(stat_line("x", 'S', 1, 1).replace(10, 1, "x")));  // ppid not a number
}

TEST(ProcStat, ReadsThisProcessAndSeesAReapedChildGone) {
  const auto me = read_proc_stat(::getpid());
  ASSERT_TRUE(me);
  EXPECT_EQ(me->ppid, ::getppid());
  EXPECT_GT(me->start_time, 0u);
  EXPECT_TRUE(process_alive(::getpid()));
  EXPECT_FALSE(process_title(::getpid()).empty());

  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(child, 0);
  EXPECT_TRUE(process_alive(child));
  ::kill(child, SIGKILL);
  for (int i = 0; i < 200 && process_alive(child); ++i) ::usleep(10000);
  EXPECT_FALSE(process_alive(child)) << "a killed, unreaped child is a zombie: not alive";
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(read_proc_stat(child));
  EXPECT_EQ(process_title(child), "");
  EXPECT_FALSE(read_proc_stat(0));
}

TEST(TextFile, ReadsWholeFilesAndNamesWhatFailed) {
  kperf::test::TempDir dir;
  const std::filesystem::path path = dir.file("f.txt");
  std::string big(100000, 'x');
  big += "\nend";
  std::ofstream(path) << big;
  EXPECT_EQ(read_file(path).value(), big);
  EXPECT_EQ(read_file_or_throw(path, "config"), big);
  EXPECT_FALSE(read_file(std::filesystem::path(dir.file("missing"))));
  EXPECT_EQ(read_file_or_empty(std::filesystem::path(dir.file("missing"))), "");
  try {
    read_file_or_throw(std::filesystem::path(dir.file("missing")), "workload");
    FAIL() << "no throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "workload " + dir.file("missing") + ": cannot read: No such file or directory");
  }
  EXPECT_FALSE(read_file(std::filesystem::path(dir.path()))) << "a directory is not a file";
  // /proc files report size 0 and are still read whole
  EXPECT_NE(read_file("/proc/self/status").value_or("").find("Pid:"), std::string::npos);
}

TEST(UniqueFd, ClosesOnceAndMovesOwnership) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  {
    UniqueFd a(p[0]);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), p[0]);
    UniqueFd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), p[0]);
  }
  EXPECT_EQ(::fcntl(p[0], F_GETFD), -1) << "closed when its owner went";
  UniqueFd w(p[1]);
  const int raw = w.release();
  EXPECT_FALSE(w);
  EXPECT_NE(::fcntl(raw, F_GETFD), -1) << "release gives it up without closing";
  ::close(raw);
}

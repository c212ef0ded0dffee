// OutputFile: atomic replacement of regular files, no partial file on failure, and
// devices / FIFOs written in place (never replaced by a regular file).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "kperf/cli/output_file.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kperf-outfile-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(OutputFile, CommitReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  const auto target = dir.path / "out.txt";
  std::ofstream(target) << "old\n";
  {
    kperf::OutputFile out(target.string());
    out.stream() << "new\n";
    EXPECT_EQ(slurp(target), "old\n");  // not visible before commit
    out.commit();
  }
  EXPECT_EQ(slurp(target), "new\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
}

TEST(OutputFile, WithoutCommitNothingIsLeftBehind) {
  TempDir dir;
  const auto target = dir.path / "out.txt";
  {
    kperf::OutputFile out(target.string());
    out.stream() << "partial";
  }
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(OutputFile, FifoIsWrittenInPlaceNotReplaced) {
  TempDir dir;
  const auto fifo = dir.path / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = slurp(fifo); });
  {
    kperf::OutputFile out(fifo.string());
    out.stream() << "through the pipe\n";
    out.commit();
  }
  reader.join();
  EXPECT_EQ(got, "through the pipe\n");
  struct stat st {};
  ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
}

TEST(OutputFile, DevNullStaysACharacterDevice) {
  {
    kperf::OutputFile out("/dev/null");
    out.stream() << "discarded\n";
    out.commit();
  }
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(OutputFile, DirectoryTargetIsAnError) {
  TempDir dir;
  EXPECT_THROW(kperf::OutputFile out(dir.path.string()), std::runtime_error);
}

// Run directories: made with an owner file; the stale ones (owner gone, or its pid now
// another process) removed when the next is made; live and unowned ones kept.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/run_dir.hpp"

namespace {

namespace fs = std::filesystem;
using kperf::common::make_run_dir;
using kperf::common::remove_stale_run_dirs;

struct Root {
  fs::path path;
  Root() {
    std::string t = (fs::temp_directory_path() / "kperf-run-dir-test-XXXXXX").string();
    if (!mkdtemp(t.data())) std::abort();
    path = t;
  }
  ~Root() { fs::remove_all(path); }
};

fs::path dir_with_owner(const fs::path& root, const std::string& name, const std::string& owner) {
  fs::create_directories(root / name / "logs");
  std::ofstream(root / name / "logs" / "x.log") << "x";
  if (!owner.empty()) std::ofstream(root / name / "owner") << owner << "\n";
  return root / name;
}

// A pid that existed and is gone (reaped) now.
pid_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

std::string own_start_time() {
  std::ifstream in("/proc/self/stat");
  std::string stat;
  std::getline(in, stat);
  std::string rest = stat.substr(stat.rfind(')') + 2);
  std::istringstream fields(rest);
  std::string f;
  for (int i = 3; i <= 22; ++i) fields >> f;
  return f;
}

TEST(RunDir, MadeWithOwnerFileOfThisProcess) {
  Root root;
  setenv("TMPDIR", root.path.c_str(), 1);
  const fs::path dir = make_run_dir("kperf-lab");
  unsetenv("TMPDIR");
  EXPECT_EQ(dir.parent_path(), root.path);
  EXPECT_EQ(dir.filename().string().rfind("kperf-lab-", 0), 0u) << dir;
  std::ifstream owner(dir / "owner");
  long pid = 0;
  std::string started;
  ASSERT_TRUE(owner >> pid >> started);
  EXPECT_EQ(pid, getpid());
  EXPECT_EQ(started, own_start_time());
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST(RunDir, StaleOnesRemovedLiveAndUnownedKept) {
  Root root;
  const std::string me = std::to_string(getpid());
  const fs::path dead = dir_with_owner(root.path, "kperf-lab-dead01", std::to_string(dead_pid()) + " 12345");
  const fs::path reused = dir_with_owner(root.path, "kperf-lab-reuse1", me + " 1");  // our pid, another start
  const fs::path live = dir_with_owner(root.path, "kperf-lab-live01", me + " " + own_start_time());
  const fs::path unowned = dir_with_owner(root.path, "kperf-lab-nobody", "");
  const fs::path other_kind = dir_with_owner(root.path, "kperf-kong-dead01", std::to_string(dead_pid()) + " 1");
  const fs::path garbage = dir_with_owner(root.path, "kperf-lab-garbag", "not a pid");

  EXPECT_EQ(remove_stale_run_dirs(root.path, "kperf-lab"), 2);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(reused));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(unowned));
  EXPECT_TRUE(fs::exists(other_kind)) << "only folders of the given kind";
  EXPECT_TRUE(fs::exists(garbage));

  setenv("TMPDIR", root.path.c_str(), 1);
  const fs::path made = make_run_dir("kperf-kong");
  unsetenv("TMPDIR");
  EXPECT_FALSE(fs::exists(other_kind)) << "making a run dir sweeps its kind first";
  EXPECT_TRUE(fs::exists(made));
}

TEST(RunDir, UnwritableRootIsOneError) {
  setenv("TMPDIR", "/nonexistent/kperf", 1);
  try {
    make_run_dir("kperf-lab");
    ADD_FAILURE() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/kperf/kperf-lab-"), std::string::npos) << e.what();
  }
  unsetenv("TMPDIR");
}

}  // namespace

// Helpers of the `kperf profile` integration tests: temporary directories, folded stack
// files, and the processes still using a lab run directory. kperf runs as a
// kperf::test::KperfChild (tests/support/kperf_child.hpp); REQUIRE_ROOT is tests/support/root.hpp.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/kperf_child.hpp"
#include "tests/support/root.hpp"

namespace profile_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using kperf::test::KperfChild;

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline size_t line_count(const fs::path& p) {
  std::ifstream in(p);
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

// A fresh directory under $TMPDIR, removed with its contents afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kperf-profile-test-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct Folded {
  std::map<std::string, double> stacks;  // "a;b;c" -> count
  double total = 0;
};

inline Folded read_folded(const fs::path& p) {
  Folded f;
  std::istringstream in(read_file(p));
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    double c = std::stod(line.substr(sp + 1));
    f.stacks[line.substr(0, sp)] += c;
    f.total += c;
  }
  return f;
}

inline bool any_stack(const Folded& f, const std::function<bool(const std::string&)>& pred) {
  for (const auto& [s, c] : f.stacks) {
    if (pred(s)) return true;
  }
  return false;
}

// Processes (other than this test) whose command line mentions `dir` (the lab run
// directory: nginx -p prefix of the masters) or that hold a file under it open (the
// workers: their logs).
inline std::vector<pid_t> processes_using(const fs::path& dir) {
  const std::string needle = dir.string();
  std::vector<pid_t> found;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid == ::getpid()) continue;
    std::string cmd = read_file(e.path() / "cmdline");
    for (char& c : cmd) {
      if (c == '\0') c = ' ';
    }
    bool uses = cmd.find(needle) != std::string::npos;
    std::error_code ec;
    for (fs::directory_iterator fd(e.path() / "fd", ec), end; !uses && !ec && fd != end; fd.increment(ec)) {
      std::error_code lec;
      uses = fs::read_symlink(fd->path(), lec).string().rfind(needle, 0) == 0;
    }
    if (uses) found.push_back(pid);
  }
  return found;
}

}  // namespace profile_test

// Helpers of the `kperf profile` integration tests: the kperf binary as a child process
// (stdout/stderr in files), temporary directories, folded stack files, and the processes
// still using a lab run directory.
#pragma once

#include <fcntl.h>
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

namespace profile_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

#define REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "kperf profile samples with eBPF: needs root"

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

// The kperf binary started with stdout/stderr in files; killed and reaped if not waited for.
class Kperf {
 public:
  // `path_env`: the child's PATH if not empty.
  Kperf(const std::vector<std::string>& args, const fs::path& dir, const std::string& path_env = "")
      : out_(dir / "stdout"), err_(dir / "stderr") {
    std::vector<std::string> argv{KPERF_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int n = ::open("/dev/null", O_RDONLY);
      ::dup2(n, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<char*> cargv;
      for (auto& s : argv) cargv.push_back(s.data());
      cargv.push_back(nullptr);
      if (!path_env.empty()) ::setenv("PATH", path_env.c_str(), 1);
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
  }
  ~Kperf() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Exit status (128+signal when killed), or -1 after `seconds`.
  int wait(double seconds) {
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  pid_t pid() const { return pid_; }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
  bool reaped_ = false;
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

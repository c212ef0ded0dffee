// The kperf binary as a child process for the integration tests (see kperf_child.hpp).
#include "tests/support/kperf_child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "tests/support/temp_dir.hpp"

namespace kperf::test {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

KperfChild::KperfChild(const std::vector<std::string>& args, const std::filesystem::path& dir, const Env& env)
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
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> cargv;
    for (auto& s : argv) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
}

KperfChild::~KperfChild() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::kill(pid_, SIGCONT);  // a stopped child handles the SIGKILL only once continued
    ::waitpid(pid_, nullptr, 0);
  }
}

void KperfChild::reaped(int wait_status) {
  reaped_ = true;
  status_ = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

bool KperfChild::wait_stopped(double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (!reaped_ && Clock::now() < end) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG | WUNTRACED);
    if (r == pid_ && WIFSTOPPED(st)) return true;
    if (r == pid_) {
      reaped(st);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool KperfChild::wait_err(const std::string& text, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (err().find(text) != std::string::npos) return true;
    if (exited()) return err().find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool KperfChild::exited() {
  if (reaped_) return true;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) reaped(st);
  return reaped_;
}

int KperfChild::wait(double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (exited()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

std::string KperfChild::out() const { return read_file(out_.string()); }
std::string KperfChild::err() const { return read_file(err_.string()); }

}  // namespace kperf::test

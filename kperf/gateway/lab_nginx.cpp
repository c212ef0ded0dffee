// Starts and stops one nginx master as kperf's child: fork + exec with its own
// process group and PR_SET_PDEATHSIG, graceful → fast → kill stop, /proc worker scan.
#include "kperf/gateway/lab_nginx.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#include "common/proc_stat.hpp"

extern char** environ;

namespace kperf {

namespace fs = std::filesystem;

void NginxProcess::start(const fs::path& nginx, const fs::path& prefix, const fs::path& conf,
                         const fs::path& error_log, const fs::path& output) {
  if (pid_ > 0) throw std::logic_error("NginxProcess::start: already started");
  // everything the child needs is prepared before fork (only async-signal-safe calls after)
  std::vector<std::string> args = {nginx.string(), "-p", prefix.string() + "/", "-c", conf.string(),
                                   "-e", error_log.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    throw std::runtime_error(fmt::format("cannot create {}: {}", output.string(), std::strerror(errno)));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(out);
    throw std::runtime_error(fmt::format("fork: {}", std::strerror(e)));
  }
  if (pid == 0) {
    // own process group: a terminal's Ctrl-C reaches kperf only, which then stops us
    ::setpgid(0, 0);
    // if kperf dies without stopping us, the master gets SIGTERM (fast shutdown)
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::close_range(3, ~0u, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  ::close(out);
  ::setpgid(pid, pid);  // also from the parent, so killpg works at once
  pid_ = pid;
  exited_ = false;
  exit_.clear();
}

bool NginxProcess::running() {
  if (pid_ <= 0 || exited_) return false;
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_) {
    exited_ = true;
    exit_ = info.si_code == CLD_EXITED ? fmt::format("exited with status {}", info.si_status)
                                       : fmt::format("killed by signal {}", info.si_status);
    return false;
  }
  return true;
}

bool NginxProcess::exited_within(std::chrono::milliseconds ms) noexcept {
  auto deadline = std::chrono::steady_clock::now() + ms;
  for (;;) {
    if (!running()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void NginxProcess::signal_reload() const {
  if (pid_ <= 0 || exited_ || ::kill(pid_, SIGHUP) != 0) {
    throw std::runtime_error("nginx reload: the master process is not running");
  }
}

void NginxProcess::stop(std::chrono::milliseconds graceful) noexcept {
  if (pid_ <= 0) return;
  if (running()) {
    ::kill(pid_, SIGQUIT);
    if (!exited_within(graceful)) {
      ::kill(pid_, SIGTERM);
      if (!exited_within(std::chrono::seconds(3))) {
        ::killpg(pid_, SIGKILL);
        exited_within(std::chrono::seconds(5));
      }
    }
  }
  // The master is a zombie now (not reaped: WNOWAIT), so its pid is still our process
  // group id and cannot be reused: kill whatever of the group is left (workers).
  ::killpg(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::vector<pid_t> child_processes(pid_t parent, const std::string& title_prefix) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const auto pid = static_cast<pid_t>(std::atol(e->d_name));
    const auto st = common::read_proc_stat(pid);
    if (!st || st->ppid != parent || st->state == 'Z') continue;
    if (common::process_title(pid).starts_with(title_prefix)) out.push_back(pid);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<pid_t> NginxProcess::workers() const {
  if (pid_ <= 0) return {};
  std::vector<pid_t> all = child_processes(pid_, "nginx: worker process");
  std::vector<pid_t> out;
  for (pid_t p : all) {
    if (common::process_title(p).find("shutting down") == std::string::npos) out.push_back(p);
  }
  return out;
}

}  // namespace kperf

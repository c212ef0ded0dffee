// fork + held exec for `kperf record -- CMD`, with exec errors reported to the parent.
#include "profiler/launched_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

namespace kperf::prof {

LaunchedCommand::LaunchedCommand(std::vector<std::string> argv) : argv_(std::move(argv)) {
  if (argv_.empty()) throw std::runtime_error("no command given");
  int go[2], err[2];
  if (pipe2(go, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", strerror(errno)));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(go[0]);
    close(go[1]);
    throw std::runtime_error(fmt::format("pipe: {}", strerror(errno)));
  }
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) {
    const int e = errno;
    for (int fd : {go[0], go[1], err[0], err[1]}) close(fd);
    throw std::runtime_error(fmt::format("fork: {}", strerror(e)));
  }
  if (pid_ == 0) {
    // Child: only async-signal-safe calls from here on.
    close(go[1]);
    close(err[0]);
    char c;
    ssize_t n;
    do {
      n = read(go[0], &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);  // the parent gave up
    execvp(args[0], args.data());
    const int e = errno;
    ssize_t w = write(err[1], &e, sizeof(e));
    (void)w;
    _exit(127);
  }
  close(go[0]);
  close(err[1]);
  go_fd_ = go[1];
  err_fd_ = err[0];
}

LaunchedCommand::~LaunchedCommand() {
  if (go_fd_ >= 0) close(go_fd_);  // an unreleased child sees EOF and exits
  go_fd_ = -1;
  if (err_fd_ >= 0) close(err_fd_);
  if (pid_ > 0 && !reaped_) terminate();
}

void LaunchedCommand::release() {
  const char c = 1;
  ssize_t w;
  do {
    w = write(go_fd_, &c, 1);
  } while (w < 0 && errno == EINTR);
  close(go_fd_);
  go_fd_ = -1;
  int e = 0;
  ssize_t n;
  do {
    n = read(err_fd_, &e, sizeof(e));
  } while (n < 0 && errno == EINTR);
  close(err_fd_);
  err_fd_ = -1;
  if (w != 1 || n > 0) {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    status_ = status;
    throw std::runtime_error(fmt::format("cannot run '{}': {}", argv_[0], strerror(n > 0 ? e : EPIPE)));
  }
}

bool LaunchedCommand::exited() {
  if (reaped_) return true;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    reaped_ = true;
    status_ = status;
  }
  return reaped_;
}

void LaunchedCommand::terminate() {
  if (exited()) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    if (exited()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  reaped_ = true;
  status_ = status;
}

}  // namespace kperf::prof

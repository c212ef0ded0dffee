// A command kperf starts itself (`kperf record -- CMD ARGS`): forked and held before exec
// until the sampler's filter holds its pid, so its first instructions are sampled too.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace kperf::prof {

class LaunchedCommand {
 public:
  // Forks; the child waits for release(). Throws std::runtime_error if fork fails.
  explicit LaunchedCommand(std::vector<std::string> argv);
  // A child still running is terminated (SIGTERM, then SIGKILL) and reaped.
  ~LaunchedCommand();
  LaunchedCommand(const LaunchedCommand&) = delete;
  LaunchedCommand& operator=(const LaunchedCommand&) = delete;

  pid_t pid() const { return pid_; }
  // Lets the child exec the command; returns once exec succeeded, throws (one line, the
  // command and the reason) if it failed.
  void release();
  // True once the child has exited (reaps it without blocking).
  bool exited();
  // Raw wait status once exited().
  int wait_status() const { return status_; }
  // SIGTERM, up to 1 s grace, then SIGKILL; reaps.
  void terminate();

 private:
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int go_fd_ = -1;   // write end: one byte releases the child
  int err_fd_ = -1;  // read end: errno of a failed exec, EOF on success
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace kperf::prof

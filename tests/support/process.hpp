// Child processes for tests: start one with its output in files and always reap it, or
// run one to completion (bounded in time) and capture what it printed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace kperf::test {

// A process started with fork/exec (stdout/stderr to files if given); killed (SIGKILL
// to its process group) and reaped on destruction unless waited for.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& out_path = "",
          const std::string& err_path = "");
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  pid_t pid() const { return pid_; }
  // Waits up to `seconds`; returns the exit status (0-255), 128+signal, or -1 on timeout.
  int wait(double seconds);
  void signal(int sig);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Whether pid names a live process (not gone, not a zombie waiting to be reaped).
bool process_alive(pid_t pid);

// Runs argv to completion (bounded by `seconds`), capturing stdout and stderr.
struct RunResult {
  int status = -1;
  std::string out, err;
  double seconds = 0;
};
RunResult run(const std::vector<std::string>& argv, double seconds = 60);

// Runs a shell command line to completion; returns its exit status (-1 if it did not
// exit normally). Its stdout and stderr go to `out` when given.
int run_command(const std::string& cmd, std::string* out = nullptr);

}  // namespace kperf::test

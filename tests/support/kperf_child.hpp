// The kperf binary as a child process for the integration tests: extra environment (PATH,
// TMPDIR, KPERF_STOP_AT), stdout/stderr in files, waits for an exit, a self-stop at a phase
// or a line on stderr; killed and reaped if not waited for.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace kperf::test {

class KperfChild {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;
  // Starts KPERF_BINARY with `args`; `env` is added to its environment; stdout and stderr
  // go to DIR/stdout and DIR/stderr, stdin is /dev/null.
  KperfChild(const std::vector<std::string>& args, const std::filesystem::path& dir, const Env& env = {});
  ~KperfChild();
  KperfChild(const KperfChild&) = delete;
  KperfChild& operator=(const KperfChild&) = delete;

  // Waits until kperf stops itself (KPERF_STOP_AT); false if it exited or `seconds` passed.
  bool wait_stopped(double seconds);
  // Waits until stderr holds `text`; false if kperf exited without it or `seconds` passed.
  bool wait_err(const std::string& text, double seconds);
  // Whether kperf has exited (reaps it).
  bool exited();
  // Exit status (128+signal when killed), or -1 after `seconds`.
  int wait(double seconds);
  pid_t pid() const { return pid_; }
  std::string out() const;
  std::string err() const;

 private:
  void reaped(int wait_status);

  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

}  // namespace kperf::test

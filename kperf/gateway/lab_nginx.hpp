// One nginx master process started by kperf (`daemon off`, our child, in its own
// process group, killed if kperf dies): start, reload, list workers, stop for sure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kperf {

class NginxProcess {
 public:
  NginxProcess() = default;
  ~NginxProcess() { stop(); }
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  // Runs `nginx -p prefix -c conf -e error_log`; the conf must say `daemon off`. The
  // child's stdout/stderr go to `output`. Throws if it cannot be started.
  void start(const std::filesystem::path& nginx, const std::filesystem::path& prefix,
             const std::filesystem::path& conf, const std::filesystem::path& error_log,
             const std::filesystem::path& output);

  pid_t pid() const { return pid_; }
  // True while the master runs; once it has exited, exit_description() says how.
  bool running();
  std::string exit_description() const { return exit_; }

  // SIGHUP: the master re-reads its conf and replaces its workers.
  void signal_reload() const;

  // Pids of the master's children titled "nginx: worker process" (workers being shut
  // down after a reload are left out), sorted.
  std::vector<pid_t> workers() const;

  // SIGQUIT (graceful), then SIGTERM after `graceful`, then SIGKILL to the whole
  // process group after 3 s more; reaps the master. Idempotent, never throws.
  void stop(std::chrono::milliseconds graceful = std::chrono::seconds(5)) noexcept;

 private:
  bool exited_within(std::chrono::milliseconds ms) noexcept;
  pid_t pid_ = -1;
  bool exited_ = false;  // exited but not reaped yet (waitid WNOWAIT)
  std::string exit_;
};

// Children of `parent` whose /proc/PID/cmdline starts with `title_prefix`, sorted.
std::vector<pid_t> child_processes(pid_t parent, const std::string& title_prefix);

}  // namespace kperf

// A running Kong / nginx kperf attaches to, as a Gateway: given by pid, by its prefix's
// pid file, or by the container it runs in. start() resolves it (a worker pid stands for
// its nginx master) and marks where the prefix's logs/error.log ends; nothing is started
// or stopped. Containers: the name or id is resolved through `docker inspect` (host pid
// of the container's first process), else, for any runtime (containerd, CRI-O,
// Kubernetes), by the container id in /proc/PID/cgroup; a --prefix given with a
// container is a path inside it, read through /proc/PID/root, and the pid its pid file
// holds (a pid of the container's namespace) is mapped back to the host pid.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "kperf/gateway/gateway.hpp"
#include "kperf/gateway/kong_driver.hpp"

namespace kperf {

class AttachedProcess : public Gateway {
 public:
  // Exactly one of `pid`, `prefix` and `container` (else start() throws UsageError), or
  // `container` with `prefix` (a prefix inside the container); `url` is where the
  // caller's load goes ("" for none). `run` executes `docker inspect`.
  AttachedProcess(std::optional<int> pid, std::filesystem::path prefix, std::string url, std::string container = {},
                  CommandRunner run = default_runner());

  // Throws UsageError (one line) for a pid that is not running, a prefix without one, or
  // a container that cannot be found or runs no process.
  void start() override;
  void stop() noexcept override {}
  pid_t master_pid() const override { return pid_; }
  std::string proxy_url() const override { return url_; }
  // With a prefix: what its logs/error.log got since start(); nullopt without.
  std::optional<std::string> error_log() const override;
  std::string driver() const override { return "attach"; }
  // How the argument was resolved: "pid 12 from P/pids/nginx.pid (nginx master: ...)".
  std::string description() const override { return note_; }

 private:
  // The host pid of the container's first process; sets container_note_.
  pid_t resolve_container();

  std::optional<int> pid_arg_;
  std::filesystem::path prefix_;
  std::string url_;
  std::string container_;
  CommandRunner run_;
  pid_t pid_ = 0;
  std::string note_;
  std::filesystem::path error_log_;  // empty: none
  std::uintmax_t error_log_start_ = 0;
};

}  // namespace kperf

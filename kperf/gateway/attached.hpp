// A running Kong / nginx kperf attaches to, as a Gateway: given by pid or by its prefix's
// pid file. start() resolves it (a worker pid stands for its nginx master) and marks
// where the prefix's logs/error.log ends; nothing is started or stopped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "kperf/gateway/gateway.hpp"

namespace kperf {

class AttachedProcess : public Gateway {
 public:
  // Exactly one of `pid` and `prefix` (else start() throws UsageError); `url` is where
  // the caller's load goes ("" for none).
  AttachedProcess(std::optional<int> pid, std::filesystem::path prefix, std::string url);

  // Throws UsageError (one line) for a pid that is not running or a prefix without one.
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
  std::optional<int> pid_arg_;
  std::filesystem::path prefix_;
  std::string url_;
  pid_t pid_ = 0;
  std::string note_;
  std::filesystem::path error_log_;  // empty: none
  std::uintmax_t error_log_start_ = 0;
};

}  // namespace kperf

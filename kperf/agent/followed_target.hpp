// The nginx / Kong master `kperf agent` follows: given by --prefix (its pid file is read
// again whenever the master is gone, so a restart is followed) or by --pid (a worker pid
// stands for its master; once that master exits there is nothing to follow). Keeps a short
// history of what happened to the target, for /healthz and the profiles' comments.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kperf::agent {

struct TargetStatus {
  bool ok = false;           // a live master is followed
  pid_t master = 0;          // ok: the pid sampled (its workers are)
  std::string description;   // ok: how it was found; else: why there is no target
  std::uint64_t restarts = 0;        // times a new master replaced a previous one
  std::vector<std::string> events;   // what happened to the target, oldest first (bounded)
};

class FollowedTarget {
 public:
  // Exactly one of `pid` and `prefix`. Throws std::runtime_error (one line) for a --pid
  // that is not running or a --prefix that is not a directory; a prefix whose nginx is
  // not running (yet) is fine: it is followed once its pid file names a live master.
  FollowedTarget(std::optional<int> pid, std::filesystem::path prefix);

  // Looks again (cheap: a pid file and /proc) and returns the status now.
  const TargetStatus& refresh();
  const TargetStatus& status() const { return status_; }
  // "--prefix DIR" / "--pid N", for messages.
  std::string spec() const;

 private:
  void event(std::string what);

  std::optional<int> pid_arg_;
  std::filesystem::path prefix_;
  pid_t last_master_ = 0;  // the last master followed (0: none yet)
  TargetStatus status_;
};

// "2026-12-06T03:01:02Z": UTC time of day stamps for events and comments.
std::string utc_stamp(std::chrono::system_clock::time_point t);

}  // namespace kperf::agent

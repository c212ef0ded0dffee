// The nginx / Kong master `kperf agent` follows: given by --prefix (its pid file is read
// again whenever the master is gone, so a restart is followed), by --container (the
// container is resolved again whenever the master is gone: a restart of its nginx or of
// the container itself, a new init process, is followed; with --prefix, a prefix inside
// it) or by --pid (a worker pid stands for its master; once that master exits there is
// nothing to follow). Resolution is `kperf attach`'s (AttachedProcess). Keeps a short
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
  // Exactly one of `pid`, `prefix` and `container`, or `container` with `prefix` (a
  // prefix inside the container). Throws std::runtime_error (one line) for a --pid that
  // is not running or a host --prefix that is not a directory; a prefix or container
  // whose nginx is not running (yet) is fine: it is followed once there is a live master
  // (meanwhile status() says why there is none).
  FollowedTarget(std::optional<int> pid, std::filesystem::path prefix, std::string container = {});

  // Looks again (cheap: a pid file and /proc) and returns the status now.
  const TargetStatus& refresh();
  const TargetStatus& status() const { return status_; }
  // "--prefix DIR" / "--pid N" / "--container NAME [--prefix DIR]", for messages.
  std::string spec() const;

 private:
  void event(std::string what);

  std::optional<int> pid_arg_;
  std::filesystem::path prefix_;
  std::string container_;
  pid_t last_master_ = 0;  // the last master followed (0: none yet)
  pid_t last_init_ = 0;    // --container: host pid of the container's init when last followed
  TargetStatus status_;
};

// "2026-12-06T03:01:02Z": UTC time of day stamps for events and comments.
std::string utc_stamp(std::chrono::system_clock::time_point t);

}  // namespace kperf::agent

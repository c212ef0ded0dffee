// Target discovery: the processes `-p PID[,PID...]` names, with an nginx master
// expanded to its workers and re-checked (reloads, crashed workers, exits).
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kperf::prof {

// "12,34" -> {12, 34}. Throws std::runtime_error on anything else.
std::vector<pid_t> parse_pid_list(std::string_view text);

// The process exists and is not a zombie.
bool process_alive(pid_t pid);
// Its command line starts with "nginx: master process" (nginx and OpenResty/Kong masters).
bool is_nginx_master(pid_t pid);
// Direct child processes (from /proc/PID/task/*/children, else by scanning /proc).
std::vector<pid_t> child_processes(pid_t pid);
// The process name (/proc/PID/comm without the newline), empty if gone.
std::string process_comm(pid_t pid);

struct TargetChanges {
  std::vector<pid_t> added;
  std::vector<pid_t> removed;
};

class Targets {
 public:
  // Throws std::runtime_error naming the first pid that does not exist.
  explicit Targets(std::vector<pid_t> roots);

  // Discovers the current target set and returns what changed since the last call (the
  // first call returns everything as added).
  TargetChanges refresh();
  const std::set<pid_t>& current() const { return current_; }
  // Every named process has exited (an nginx master with no workers left still counts
  // as alive: it may start new ones).
  bool all_gone() const;

 private:
  std::vector<pid_t> roots_;
  std::set<pid_t> current_;
  bool any_root_alive_ = true;
};

}  // namespace kperf::prof

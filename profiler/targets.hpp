// Target discovery: the processes `-p PID[,PID...]` names, with an nginx master
// expanded to its workers and re-checked (reloads, crashed workers, exits).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/proc_stat.hpp"

namespace kperf::prof {

// "12,34" -> {12, 34}. Throws std::runtime_error on anything else.
std::vector<pid_t> parse_pid_list(std::string_view text);

// The process exists and is not a zombie (common/proc_stat.hpp).
using common::process_alive;
// Its command line starts with "nginx: master process" (nginx and OpenResty/Kong masters).
bool is_nginx_master(pid_t pid);
// Direct child processes (from /proc/PID/task/*/children, else by scanning /proc).
std::vector<pid_t> child_processes(pid_t pid);
// The process name (/proc/PID/comm without the newline), empty if gone.
std::string process_comm(pid_t pid);

// Containers (any runtime: Docker, containerd, CRI-O, Kubernetes), seen from the host.
// `proc_root` is /proc (tests pass a fake tree).

// The pids of a process in each pid namespace it belongs to, host first (the NSpid line
// of /proc/PID/status); {pid} when the kernel has no NSpid line, {} when it is gone.
std::vector<pid_t> namespace_pids(pid_t pid, const std::filesystem::path& proc_root = "/proc");
// The host pid of the process that has pid `nspid` in the innermost pid namespace of
// `member` (e.g. the pid a container's pid file holds); nullopt if there is none.
std::optional<pid_t> host_pid_in_namespace_of(pid_t member, pid_t nspid,
                                              const std::filesystem::path& proc_root = "/proc");

// The full container ids (64 hex digits) /proc/PID/cgroup names, in the forms runtimes
// use: /docker/ID, docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope,
// /kubepods/.../ID.
std::vector<std::string> cgroup_container_ids(std::string_view cgroup_file_text);
// Whether `text` can be (a prefix of) a container id: 12 to 64 lowercase hex digits.
bool looks_like_container_id(std::string_view text);
struct ContainerProcesses {
  std::string id;          // the full id matched
  std::vector<pid_t> pids; // host pids, ascending
};
// The processes of the container whose id is or starts with `id`, by scanning
// /proc/*/cgroup. Throws std::runtime_error when the prefix names several containers;
// empty pids when none matches.
ContainerProcesses container_processes(std::string_view id, const std::filesystem::path& proc_root = "/proc");
// The container's first process among `pids`: the one that is pid 1 of its own pid
// namespace, else the one whose parent is not in the set (lowest such pid). nullopt if
// `pids` is empty.
std::optional<pid_t> container_init(const std::vector<pid_t>& pids, const std::filesystem::path& proc_root = "/proc");

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

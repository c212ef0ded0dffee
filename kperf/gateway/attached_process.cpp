// Resolving the process `kperf attach` samples, and the part of its error log written
// while attached.
#include "kperf/gateway/attached_process.hpp"

#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "common/proc_stat.hpp"
#include "kperf/cli/command.hpp"
#include "profiler/targets.hpp"

namespace kperf {

namespace {

namespace fs = std::filesystem;

// The parent pid from /proc/PID/stat (0 if unknown).
pid_t parent_pid(pid_t pid) {
  const auto st = common::read_proc_stat(pid);
  return st ? st->ppid : 0;
}

pid_t pid_from_file(const fs::path& file) {
  std::ifstream in(file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) throw UsageError(fmt::format("pid file '{}' holds no pid", file.string()));
  return static_cast<pid_t>(pid);
}

// The nginx pid file of a prefix: Kong's DIR/pids/nginx.pid, else nginx's
// DIR/logs/nginx.pid. Throws one line starting with `what` when neither exists.
fs::path prefix_pid_file(const fs::path& dir, const std::string& what) {
  const fs::path tried[] = {dir / "pids" / "nginx.pid", dir / "logs" / "nginx.pid"};
  std::error_code ec;
  for (const auto& p : tried) {
    if (fs::is_regular_file(p, ec)) return p;
  }
  throw UsageError(fmt::format("{}: no nginx pid file (tried {} and {})", what, tried[0].string(), tried[1].string()));
}

}  // namespace

AttachedProcess::AttachedProcess(std::optional<int> pid, fs::path prefix, std::string url, std::string container,
                                 CommandRunner run)
    : pid_arg_(pid), prefix_(std::move(prefix)), url_(std::move(url)), container_(std::move(container)),
      run_(std::move(run)) {}

pid_t AttachedProcess::resolve_container() {
  const std::string& c = container_;
  // The engine knows names and ids; its answer is the host pid of the container's init.
  std::string why;
  const CommandResult r = run_({{"docker", "inspect", "--type", "container", "--format", "{{.State.Pid}} {{.Id}}", c}, {}});
  if (r.ok()) {
    std::istringstream in(r.out);
    long pid = 0;
    std::string id;
    in >> pid >> id;
    if (pid <= 0) throw UsageError(fmt::format("--container {}: the container is not running", c));
    note_ = fmt::format("container {} ({}, host pid {} from docker inspect)", c, id.substr(0, 12), pid);
    return static_cast<pid_t>(pid);
  }
  why = r.exit_code == 127 ? std::string("no docker command") : first_line(r.err);
  if (why.empty()) why = fmt::format("exit status {}", r.exit_code);
  // Any runtime: the container id is in the cgroup paths of its processes.
  if (prof::looks_like_container_id(c)) {
    prof::ContainerProcesses found;
    try {
      found = prof::container_processes(c);
    } catch (const std::runtime_error& e) {
      throw UsageError(fmt::format("--container: {}", e.what()));
    }
    if (const auto init = prof::container_init(found.pids)) {
      note_ = fmt::format("container {} (host pid {}: the first of its {} processes found by cgroup)",
                          found.id.substr(0, 12), *init, found.pids.size());
      return *init;
    }
  }
  throw UsageError(fmt::format(
      "--container {}: not found (docker inspect: {}; no process has {} in its /proc/PID/cgroup)", c, why,
      prof::looks_like_container_id(c) ? "that container id" : "it as a container id (give the full or 12+ digit id)"));
}

void AttachedProcess::start() {
  if (!container_.empty()) {
    if (pid_arg_) throw UsageError("give --container or --pid, not both");
    const pid_t init = resolve_container();
    if (!prefix_.empty()) {
      // The prefix is a path inside the container; its pid file holds a pid of the
      // container's pid namespace.
      const fs::path inside = fs::path(fmt::format("/proc/{}/root", init)) / prefix_.relative_path();
      const fs::path found =
          prefix_pid_file(inside, fmt::format("--prefix {} in container {}", prefix_.string(), container_));
      const pid_t nspid = pid_from_file(found);
      const auto host = prof::host_pid_in_namespace_of(init, nspid);
      if (!host || !prof::process_alive(*host)) {
        throw UsageError(fmt::format("--prefix {} in container {}: pid {} from its pid file is not running",
                                     prefix_.string(), container_, nspid));
      }
      pid_ = *host;
      note_ += fmt::format("; pid {} (host pid {}) from {}", nspid, pid_, found.string());
      std::error_code ec;
      if (fs::is_regular_file(inside / "logs" / "error.log", ec)) {
        error_log_ = inside / "logs" / "error.log";
        error_log_start_ = fs::file_size(error_log_, ec);
        if (ec) error_log_start_ = 0;
      }
    } else if (const auto master = find_nginx_master(init)) {
      pid_ = *master;
      if (pid_ != init) note_ += fmt::format("; nginx master host pid {}", pid_);
    } else {
      throw UsageError(fmt::format("--container {}: no nginx master process in it (its first process, host pid {}, "
                                   "is {})",
                                   container_, init, prof::process_comm(init)));
    }
  } else if (pid_arg_.has_value() == !prefix_.empty()) {
    throw UsageError("give exactly one of --pid PID, --prefix DIR or --container NAME|ID");
  } else if (!prefix_.empty()) {
    const fs::path found = prefix_pid_file(prefix_, fmt::format("--prefix {}", prefix_.string()));
    pid_ = pid_from_file(found);
    if (!prof::process_alive(pid_)) {
      throw UsageError(fmt::format("--prefix {}: pid {} from {} is not running", prefix_.string(), pid_,
                                   found.string()));
    }
    note_ = fmt::format("pid {} from {}", pid_, found.string());
    std::error_code ec;
    if (fs::is_regular_file(prefix_ / "logs" / "error.log", ec)) {
      error_log_ = prefix_ / "logs" / "error.log";
      error_log_start_ = fs::file_size(error_log_, ec);
      if (ec) error_log_start_ = 0;
    }
  } else {
    pid_ = static_cast<pid_t>(*pid_arg_);
    if (pid_ <= 0 || !prof::process_alive(pid_)) throw UsageError(fmt::format("--pid {}: no such process", *pid_arg_));
    note_ = fmt::format("pid {}", pid_);
    // A process of another pid namespace (a container's): say its pid there.
    if (const auto ids = prof::namespace_pids(pid_); ids.size() > 1) {
      note_ += fmt::format(" (pid {} in its container's pid namespace)", ids.back());
    }
  }
  if (prof::is_nginx_master(pid_)) {
    note_ += " (nginx master: its workers are sampled, reloads followed)";
  } else if (const pid_t parent = parent_pid(pid_); parent > 1 && prof::is_nginx_master(parent)) {
    note_ += fmt::format(" is a worker of nginx master {}: sampling its workers, reloads followed", parent);
    pid_ = parent;
  } else {
    note_ += fmt::format(" ({}, not an nginx master: sampled alone)", prof::process_comm(pid_));
  }
}

std::optional<std::string> AttachedProcess::error_log() const {
  if (error_log_.empty()) return std::nullopt;
  std::ifstream in(error_log_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(error_log_start_));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace kperf

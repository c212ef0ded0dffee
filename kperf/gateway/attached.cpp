// Resolving the process `kperf attach` samples, and the part of its error log written
// while attached.
#include "kperf/gateway/attached.hpp"

#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "kperf/command.hpp"
#include "profiler/targets.hpp"

namespace kperf {

namespace {

namespace fs = std::filesystem;

// The parent pid from /proc/PID/stat (0 if unknown).
pid_t parent_pid(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  long ppid = 0;
  rest >> state >> ppid;
  return static_cast<pid_t>(ppid);
}

pid_t pid_from_file(const fs::path& file) {
  std::ifstream in(file);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) throw UsageError(fmt::format("pid file '{}' holds no pid", file.string()));
  return static_cast<pid_t>(pid);
}

}  // namespace

AttachedProcess::AttachedProcess(std::optional<int> pid, fs::path prefix, std::string url)
    : pid_arg_(pid), prefix_(std::move(prefix)), url_(std::move(url)) {}

void AttachedProcess::start() {
  if (pid_arg_.has_value() == !prefix_.empty()) throw UsageError("give exactly one of --pid PID or --prefix DIR");
  if (!prefix_.empty()) {
    const fs::path tried[] = {prefix_ / "pids" / "nginx.pid", prefix_ / "logs" / "nginx.pid"};
    std::error_code ec;
    const fs::path* found = nullptr;
    for (const auto& p : tried) {
      if (fs::is_regular_file(p, ec)) {
        found = &p;
        break;
      }
    }
    if (found == nullptr) {
      throw UsageError(fmt::format("--prefix {}: no nginx pid file (tried {} and {})", prefix_.string(),
                                   tried[0].string(), tried[1].string()));
    }
    pid_ = pid_from_file(*found);
    if (!prof::process_alive(pid_)) {
      throw UsageError(fmt::format("--prefix {}: pid {} from {} is not running", prefix_.string(), pid_,
                                   found->string()));
    }
    note_ = fmt::format("pid {} from {}", pid_, found->string());
    if (fs::is_regular_file(prefix_ / "logs" / "error.log", ec)) {
      error_log_ = prefix_ / "logs" / "error.log";
      error_log_start_ = fs::file_size(error_log_, ec);
      if (ec) error_log_start_ = 0;
    }
  } else {
    pid_ = static_cast<pid_t>(*pid_arg_);
    if (pid_ <= 0 || !prof::process_alive(pid_)) throw UsageError(fmt::format("--pid {}: no such process", *pid_arg_));
    note_ = fmt::format("pid {}", pid_);
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

// Resolving and re-resolving the agent's target with the machinery of `kperf attach`.
#include "kperf/agent/followed_target.hpp"

#include <ctime>
#include <stdexcept>

#include <fmt/core.h>

#include "kperf/gateway/attached_process.hpp"
#include "profiler/targets.hpp"

namespace kperf::agent {

namespace {
constexpr size_t kMaxEvents = 20;
}

std::string utc_stamp(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

FollowedTarget::FollowedTarget(std::optional<int> pid, std::filesystem::path prefix, std::string container)
    : pid_arg_(pid), prefix_(std::move(prefix)), container_(std::move(container)) {
  if (!container_.empty()) {
    if (pid_arg_) throw std::runtime_error("give --container or --pid, not both");
    refresh();
    return;
  }
  if (pid_arg_.has_value() == !prefix_.empty()) {
    throw std::runtime_error("give exactly one of --pid PID, --prefix DIR or --container NAME|ID");
  }
  if (pid_arg_) {
    AttachedProcess p(pid_arg_, {}, "");
    p.start();  // throws UsageError for a pid that is not running; a worker stands for its master
    last_master_ = p.master_pid();
    status_ = TargetStatus{true, last_master_, p.description(), 0, {}};
  } else {
    std::error_code ec;
    if (!std::filesystem::is_directory(prefix_, ec)) {
      throw std::runtime_error(fmt::format("--prefix {}: not a directory", prefix_.string()));
    }
    refresh();
  }
}

std::string FollowedTarget::spec() const {
  if (!container_.empty()) {
    return prefix_.empty() ? fmt::format("--container {}", container_)
                           : fmt::format("--container {} --prefix {}", container_, prefix_.string());
  }
  return pid_arg_ ? fmt::format("--pid {}", *pid_arg_) : fmt::format("--prefix {}", prefix_.string());
}

void FollowedTarget::event(std::string what) {
  status_.events.push_back(fmt::format("{} {}", utc_stamp(std::chrono::system_clock::now()), what));
  if (status_.events.size() > kMaxEvents) status_.events.erase(status_.events.begin());
}

const TargetStatus& FollowedTarget::refresh() {
  if (status_.ok && prof::process_alive(status_.master)) return status_;
  if (status_.ok) {  // it was followed and is gone
    status_.ok = false;
    event(fmt::format("nginx master {} exited", status_.master));
  }
  if (pid_arg_) {
    status_.description = fmt::format("{}: nginx master {} exited; an agent given --pid cannot follow a restart "
                                      "(give --prefix to follow the pid file)",
                                      spec(), last_master_);
    return status_;
  }
  AttachedProcess p(std::nullopt, prefix_, "", container_);
  try {
    p.start();
  } catch (const std::exception& e) {
    status_.description = e.what();
    return status_;
  }
  const pid_t master = p.master_pid();
  // A container's init: pid 1 of the master's pid namespace (a new one: the container restarted).
  const pid_t init = container_.empty() ? 0 : prof::host_pid_in_namespace_of(master, 1).value_or(0);
  if (last_master_ != 0 && master != last_master_) {
    ++status_.restarts;
    const std::string how = last_init_ != 0 && init != 0 && init != last_init_
                                ? fmt::format("container restarted (init host pid {}, was {})", init, last_init_)
                                : std::string("restarted");
    event(fmt::format("{}: now following nginx master {} (was {}), {}", how, master, last_master_, p.description()));
  } else if (last_master_ == 0) {
    event(fmt::format("following nginx master {}: {}", master, p.description()));
  }
  last_master_ = master;
  last_init_ = init;
  status_.ok = true;
  status_.master = master;
  status_.description = p.description();
  return status_;
}

}  // namespace kperf::agent

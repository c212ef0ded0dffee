// Target discovery from /proc: pid lists, liveness, nginx master -> worker expansion.
#include "profiler/targets.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <fmt/core.h>

namespace kperf::prof {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool parse_pid(std::string_view s, pid_t& out) {
  pid_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return false;
  out = v;
  return true;
}

// Fields of /proc/PID/stat after "pid (comm) ": state is [0], ppid [1].
std::vector<std::string_view> stat_fields(std::string_view stat) {
  std::vector<std::string_view> fields;
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos) return fields;
  stat.remove_prefix(close + 1);
  while (!stat.empty()) {
    while (!stat.empty() && stat.front() == ' ') stat.remove_prefix(1);
    const auto sp = stat.find(' ');
    fields.push_back(stat.substr(0, sp));
    if (sp == std::string_view::npos) break;
    stat.remove_prefix(sp);
    if (fields.size() >= 2) break;
  }
  return fields;
}

}  // namespace

std::vector<pid_t> parse_pid_list(std::string_view text) {
  std::vector<pid_t> pids;
  while (true) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    pid_t pid = 0;
    if (!parse_pid(item, pid)) throw std::runtime_error(fmt::format("bad pid '{}' in '{}'", item, text));
    pids.push_back(pid);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return pids;
}

bool process_alive(pid_t pid) {
  const std::string stat = read_file(fmt::format("/proc/{}/stat", pid));
  const auto f = stat_fields(stat);
  return !f.empty() && f[0] != "Z" && f[0] != "X";
}

bool is_nginx_master(pid_t pid) {
  const std::string cmdline = read_file(fmt::format("/proc/{}/cmdline", pid));
  return cmdline.starts_with("nginx: master process");
}

std::string process_comm(pid_t pid) {
  std::string comm = read_file(fmt::format("/proc/{}/comm", pid));
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

std::vector<pid_t> child_processes(pid_t pid) {
  namespace fs = std::filesystem;
  std::vector<pid_t> children;
  std::error_code ec;
  const fs::path task_dir = fmt::format("/proc/{}/task", pid);
  bool have_children_files = false;
  for (const auto& task : fs::directory_iterator(task_dir, ec)) {
    const fs::path file = task.path() / "children";
    if (!fs::exists(file, ec)) break;
    have_children_files = true;
    const std::string text = read_file(file.string());
    std::string_view rest(text);
    while (!rest.empty()) {
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n')) rest.remove_prefix(1);
      const auto sp = rest.find_first_of(" \n");
      pid_t child = 0;
      if (parse_pid(rest.substr(0, sp), child)) children.push_back(child);
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp);
    }
  }
  if (!have_children_files && fs::exists(task_dir, ec)) {
    // Kernel without CONFIG_PROC_CHILDREN: scan every process's parent.
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
      pid_t p = 0;
      if (!parse_pid(entry.path().filename().string(), p)) continue;
      const auto f = stat_fields(read_file(fmt::format("/proc/{}/stat", p)));
      pid_t ppid = 0;
      if (f.size() >= 2 && parse_pid(f[1], ppid) && ppid == pid) children.push_back(p);
    }
  }
  return children;
}

Targets::Targets(std::vector<pid_t> roots) : roots_(std::move(roots)) {
  if (roots_.empty()) throw std::runtime_error("no target pid given");
  for (pid_t pid : roots_) {
    if (!process_alive(pid)) throw std::runtime_error(fmt::format("no process with pid {}", pid));
  }
}

TargetChanges Targets::refresh() {
  std::set<pid_t> now;
  any_root_alive_ = false;
  for (pid_t root : roots_) {
    if (!process_alive(root)) continue;
    any_root_alive_ = true;
    if (is_nginx_master(root)) {
      for (pid_t child : child_processes(root)) {
        if (process_alive(child)) now.insert(child);
      }
    } else {
      now.insert(root);
    }
  }
  TargetChanges changes;
  for (pid_t p : now) {
    if (!current_.contains(p)) changes.added.push_back(p);
  }
  for (pid_t p : current_) {
    if (!now.contains(p)) changes.removed.push_back(p);
  }
  current_ = std::move(now);
  return changes;
}

bool Targets::all_gone() const { return !any_root_alive_ && current_.empty(); }

}  // namespace kperf::prof

// Target discovery from /proc: pid lists, liveness, nginx master -> worker expansion.
#include "profiler/targets.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <stdexcept>

#include <fmt/core.h>

#include "common/proc_stat.hpp"
#include "common/text_file.hpp"

namespace kperf::prof {

namespace {

using common::read_file_or_empty;

bool parse_pid(std::string_view s, pid_t& out) {
  pid_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return false;
  out = v;
  return true;
}

std::string read_proc(const std::filesystem::path& root, pid_t pid, std::string_view file) {
  return read_file_or_empty(root / std::to_string(pid) / file);
}

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

pid_t parent_of(const std::filesystem::path& root, pid_t pid) {
  const auto st = common::parse_proc_stat(read_proc(root, pid, "stat"));
  return st ? st->ppid : 0;
}

}  // namespace

std::vector<pid_t> namespace_pids(pid_t pid, const std::filesystem::path& proc_root) {
  const std::string status = read_proc(proc_root, pid, "status");
  if (status.empty()) return {};
  std::vector<pid_t> pids;
  const auto at = status.find("\nNSpid:");
  if (at == std::string::npos) return {pid};
  std::string_view line(status);
  line.remove_prefix(at + 7);
  line = line.substr(0, line.find('\n'));
  while (!line.empty()) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    const auto end = line.find_first_of(" \t");
    pid_t p = 0;
    if (parse_pid(line.substr(0, end), p)) pids.push_back(p);
    if (end == std::string_view::npos) break;
    line.remove_prefix(end);
  }
  if (pids.empty()) return {pid};
  return pids;
}

std::optional<pid_t> host_pid_in_namespace_of(pid_t member, pid_t nspid, const std::filesystem::path& proc_root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path ns = fs::read_symlink(proc_root / std::to_string(member) / "ns" / "pid", ec);
  if (ec) return std::nullopt;
  const auto depth = namespace_pids(member, proc_root).size();
  for (const auto& entry : fs::directory_iterator(proc_root, ec)) {
    pid_t p = 0;
    if (!parse_pid(entry.path().filename().string(), p)) continue;
    const auto ids = namespace_pids(p, proc_root);
    // Same depth and same namespace: its innermost pid is in member's namespace.
    if (ids.size() != depth || ids.empty() || ids.back() != nspid) continue;
    std::error_code ec2;
    if (fs::read_symlink(entry.path() / "ns" / "pid", ec2) == ns && !ec2) return p;
  }
  return std::nullopt;
}

std::vector<std::string> cgroup_container_ids(std::string_view text) {
  std::vector<std::string> ids;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    // "hierarchy-ID:controllers:PATH": the id is a 64-hex token of PATH.
    const auto c1 = line.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view path = line.substr(c2 + 1);
    while (!path.empty()) {
      const auto end = path.find_first_of("/-.:");
      const std::string_view token = path.substr(0, end);
      if (token.size() == 64 && is_hex(token) && std::find(ids.begin(), ids.end(), token) == ids.end()) {
        ids.emplace_back(token);
      }
      if (end == std::string_view::npos) break;
      path.remove_prefix(end + 1);
    }
  }
  return ids;
}

bool looks_like_container_id(std::string_view text) { return text.size() >= 12 && text.size() <= 64 && is_hex(text); }

ContainerProcesses container_processes(std::string_view id, const std::filesystem::path& proc_root) {
  namespace fs = std::filesystem;
  ContainerProcesses found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(proc_root, ec)) {
    pid_t p = 0;
    if (!parse_pid(entry.path().filename().string(), p)) continue;
    for (const auto& full : cgroup_container_ids(read_proc(proc_root, p, "cgroup"))) {
      if (!full.starts_with(id)) continue;
      if (found.id.empty()) {
        found.id = full;
      } else if (found.id != full) {
        throw std::runtime_error(fmt::format("container id '{}' is ambiguous: {} and {}", id, found.id.substr(0, 12),
                                             full.substr(0, 12)));
      }
      found.pids.push_back(p);
      break;
    }
  }
  std::sort(found.pids.begin(), found.pids.end());
  return found;
}

std::optional<pid_t> container_init(const std::vector<pid_t>& pids, const std::filesystem::path& proc_root) {
  for (pid_t p : pids) {
    const auto ids = namespace_pids(p, proc_root);
    if (ids.size() > 1 && ids.back() == 1) return p;
  }
  std::vector<pid_t> sorted = pids;
  std::sort(sorted.begin(), sorted.end());
  for (pid_t p : sorted) {
    if (!std::binary_search(sorted.begin(), sorted.end(), parent_of(proc_root, p))) return p;
  }
  return std::nullopt;
}

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

bool is_nginx_master(pid_t pid) {
  const std::string cmdline = read_file_or_empty(fmt::format("/proc/{}/cmdline", pid));
  return cmdline.starts_with("nginx: master process");
}

std::string process_comm(pid_t pid) {
  std::string comm = read_file_or_empty(fmt::format("/proc/{}/comm", pid));
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
    const std::string text = read_file_or_empty(file);
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
      const auto st = common::read_proc_stat(p);
      if (st && st->ppid == pid) children.push_back(p);
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

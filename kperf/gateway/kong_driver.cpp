// Shared pieces of the Kong drivers: running argv vectors, Kong version parsing, the
// nginx master of a container's process tree, and the HTTP readiness poll.
#include "kperf/gateway/kong_driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "common/proc_stat.hpp"
#include "common/text_file.hpp"
#include "common/unique_fd.hpp"
#include "kperf/gateway/http_ready.hpp"
#include "kperf/gateway/kong_format.hpp"

extern char** environ;

namespace kperf {

namespace {

struct SpawnActions {
  posix_spawn_file_actions_t a;
  SpawnActions() { posix_spawn_file_actions_init(&a); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&a); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

CommandResult run_command(const Command& cmd, std::chrono::milliseconds timeout) {
  CommandResult r;
  if (cmd.argv.empty()) {
    r.exit_code = 127;
    r.err = "empty command";
    return r;
  }
  int out_p[2], err_p[2];
  if (::pipe2(out_p, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  common::UniqueFd out_r(out_p[0]), out_w(out_p[1]);
  if (::pipe2(err_p, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  common::UniqueFd err_r(err_p[0]), err_w(err_p[1]);

  SpawnActions act;
  posix_spawn_file_actions_addopen(&act.a, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&act.a, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&act.a, err_w.get(), 2);
  if (!cmd.cwd.empty()) posix_spawn_file_actions_addchdir_np(&act.a, cmd.cwd.c_str());

  std::vector<char*> argv;
  for (const auto& a : cmd.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &act.a, nullptr, argv.data(), environ);
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    r.exit_code = 127;
    r.err = fmt::format("cannot run {}: {}", cmd.argv[0], std::strerror(rc));
    return r;
  }

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
  char buf[4096];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i].fd = -1;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (killed) {
    r.exit_code = -1;
    r.err += fmt::format("\n{} timed out after {} ms", cmd.argv[0], timeout.count());
  } else if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else {
    r.exit_code = -1;
  }
  return r;
}

std::string first_line(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  std::string line(s.substr(0, s.find('\n')));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

CommandRunner default_runner() {
  return [](const Command& c) { return run_command(c); };
}

CommandRunner bounded_runner(std::chrono::milliseconds timeout) {
  return [timeout](const Command& c) { return run_command(c, timeout); };
}

KongVersionSpec parse_version_spec(std::string_view text) {
  KongVersionSpec v;
  v.text = std::string(text);
  if (text.starts_with("git:")) {
    const std::string_view ref = text.substr(4);
    if (ref.empty()) throw std::runtime_error("--version git:REF needs a ref (branch, tag or commit), e.g. git:master");
    if (ref.front() == '-' || ref.find_first_of(" \t\n\r") != std::string_view::npos || ref.find("..") != std::string_view::npos) {
      throw std::runtime_error(fmt::format("--version {}: not a valid git ref", text));
    }
    v.git_ref = std::string(ref);
    return v;
  }
  static const std::regex release(R"(\d+\.\d+\.\d+(\.\d+)?([-.][0-9A-Za-z][0-9A-Za-z.]*)?)");
  if (!std::regex_match(std::string(text), release)) {
    throw std::runtime_error(fmt::format(
        "--version {}: expected a Kong release like 3.4.2 (or 3.0.0-rc.1) or git:REF", text));
  }
  v.release = std::string(text);
  return v;
}

std::optional<std::string> parse_kong_version_output(std::string_view output) {
  static const std::regex line_re(
      R"(^(?:Kong(?: Enterprise)?:?\s+)?v?(\d+\.\d+\.\d+(?:\.\d+)?(?:[-.][0-9A-Za-z][0-9A-Za-z.]*)?)$)");
  std::size_t pos = 0;
  while (pos <= output.size()) {
    auto nl = output.find('\n', pos);
    if (nl == std::string_view::npos) nl = output.size();
    const std::string line(trim(output.substr(pos, nl - pos)));
    std::smatch m;
    if (std::regex_match(line, m, line_re)) return m[1].str();
    pos = nl + 1;
  }
  return std::nullopt;
}

bool version_matches(std::string_view requested, std::string_view installed) {
  if (requested == installed) return true;
  return installed.size() > requested.size() && installed.starts_with(requested) &&
         installed[requested.size()] == '.';
}

std::optional<std::string> parse_kong_meta(std::string_view meta_lua) {
  // Current layout: `major = 3,` in a table; old ones: `_MAJOR = 0,`.
  std::optional<int> major, minor, patch;
  std::string suffix;
  static const std::regex field(R"(^\s*_?(major|minor|patch|MAJOR|MINOR|PATCH)\s*=\s*(\d+))");
  static const std::regex suffix_re(R"(^\s*_?(suffix|SUFFIX)\s*=\s*["']([^"']*)["'])");
  std::size_t pos = 0;
  while (pos < meta_lua.size()) {
    auto nl = meta_lua.find('\n', pos);
    if (nl == std::string_view::npos) nl = meta_lua.size();
    const std::string line(meta_lua.substr(pos, nl - pos));
    pos = nl + 1;
    std::smatch m;
    if (std::regex_search(line, m, field)) {
      std::string k = m[1].str();
      std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
      const int val = std::stoi(m[2].str());
      if (k == "major" && !major) major = val;
      if (k == "minor" && !minor) minor = val;
      if (k == "patch" && !patch) patch = val;
    } else if (std::regex_search(line, m, suffix_re) && suffix.empty()) {
      suffix = m[2].str();
    }
  }
  if (!major || !minor || !patch) return std::nullopt;
  return fmt::format("{}.{}.{}{}", *major, *minor, *patch, suffix);
}

std::optional<pid_t> find_nginx_master(pid_t pid, const std::filesystem::path& proc_root) {
  auto is_master = [&](pid_t p) {
    const std::string cmd = common::read_file_or_empty(proc_root / std::to_string(p) / "cmdline");
    return cmd.starts_with("nginx: master process");
  };
  // Parent of every process, from /proc/N/stat.
  std::vector<std::pair<pid_t, pid_t>> parent_of;  // (ppid, pid)
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(proc_root, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const auto stat = common::parse_proc_stat(common::read_file_or_empty(e.path() / "stat"));
    if (!stat) continue;
    parent_of.emplace_back(stat->ppid, static_cast<pid_t>(std::stol(name)));
  }
  std::sort(parent_of.begin(), parent_of.end());
  std::deque<pid_t> queue{pid};
  std::vector<pid_t> seen{pid};
  while (!queue.empty()) {
    const pid_t p = queue.front();
    queue.pop_front();
    if (is_master(p)) return p;
    auto it = std::lower_bound(parent_of.begin(), parent_of.end(), std::make_pair(p, pid_t{0}));
    for (; it != parent_of.end() && it->first == p; ++it) {
      if (std::find(seen.begin(), seen.end(), it->second) != seen.end()) continue;
      seen.push_back(it->second);
      queue.push_back(it->second);
    }
  }
  return std::nullopt;
}

namespace {

// Lines of a message with what Kong's own machinery adds taken out: nginx's and Lua's
// location prefixes, stack tracebacks, warnings. Joined with spaces.
std::string clean_cause(const std::vector<std::string>& lines) {
  static const std::regex noise(R"((nginx: )?\[(error|emerg|crit|alert)\] (\d+#\d+: )?(\*\d+ )?)");
  static const std::regex lua_location(R"((init_by_lua error: |init_worker_by_lua error: )?(\S*\.lua:\d+: ))");
  std::string out;
  for (const auto& raw : lines) {
    std::string line(trim(raw));
    if (line.empty()) continue;
    if (line.starts_with("stack traceback:")) break;
    if (line.find("[warn]") != std::string::npos || line.find("[notice]") != std::string::npos) continue;
    line = std::regex_replace(line, noise, "");
    line = std::regex_replace(line, lua_location, "");
    line = std::string(trim(line));
    if (line.empty()) continue;
    out += (out.empty() ? "" : " ") + line;
  }
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    lines.emplace_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace

std::string kong_failure(std::string_view cli_output, std::string_view error_log) {
  std::string cli;
  if (const auto at = cli_output.rfind("Error: "); at != std::string_view::npos) {
    std::string_view rest = cli_output.substr(at + 7);
    if (const auto hint = rest.find("Run with --v"); hint != std::string_view::npos) rest = rest.substr(0, hint);
    cli = clean_cause(split_lines(rest));
  }
  // The error log's last entry at [error] or worse: its first line and continuation lines
  // (a multi-line Lua error), up to the next entry.
  // (nginx's own start-up complaints, on a container's stderr, carry "nginx: " instead of a date.)
  static const std::regex entry(R"(^(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d |nginx: )\[(\w+)\])");
  std::vector<std::string> last;
  bool in_problem = false;
  for (const auto& line : split_lines(error_log)) {
    std::smatch m;
    if (std::regex_search(line, m, entry)) {
      const std::string level = m[1].str();
      in_problem = level == "error" || level == "crit" || level == "alert" || level == "emerg";
      if (in_problem) last = {line.substr(static_cast<std::size_t>(m.length(0)) - level.size() - 2)};
    } else if (in_problem) {
      last.push_back(line);
    }
  }
  const std::string log = clean_cause(last);
  if (cli.empty()) return log.empty() ? "" : "error.log: " + log;
  if (log.empty() || cli.find(log) != std::string::npos) return "Error: " + cli;
  return fmt::format("Error: {}; error.log: {}", cli, log);
}

std::vector<std::string> kong_error_log_problems(std::string_view error_log) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(error_log)) {
    for (const char* level : {"[error]", "[crit]", "[alert]", "[emerg]"}) {
      if (line.find(level) != std::string::npos) {
        out.push_back(line);
        break;
      }
    }
  }
  return out;
}

void write_declarative_config(const KongGatewaySpec& spec, std::string_view kong_version) {
  if (spec.config.is_null()) return;
  const nlohmann::json converted = declarative_for_kong(spec.config, kong_version);
  std::ofstream out(spec.declarative_config, std::ios::trunc);
  out << converted.dump(2) << "\n";
  if (!out.flush()) {
    throw std::runtime_error(fmt::format("cannot write Kong's declarative config {}", spec.declarative_config.string()));
  }
}

void wait_http_ready(int port, std::string_view path, std::chrono::milliseconds timeout,
                     const std::function<bool()>& alive, std::string_view what) {
  const auto still_running = [&] {
    if (alive && !alive()) throw std::runtime_error(fmt::format("{} exited before answering", what));
  };
  const auto last =
      poll_http_ready(port, path, {timeout, std::chrono::seconds(2), std::chrono::milliseconds(200)}, still_running);
  if (!last) return;
  throw std::runtime_error(fmt::format("{} did not answer GET http://127.0.0.1:{}{} within {} s ({})", what, port, path,
                                       timeout.count() / 1000,
                                       last->status != 0 ? fmt::format("HTTP {}", last->status) : last->error));
}

}  // namespace kperf

// The lab driver: free ports, run directory, conf rendering, start/readiness/reload/
// stop of the upstream and gateway nginx for one workload.
#include "kperf/gateway/lab.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/core.h>

#include "common/text_file.hpp"
#include "common/ports.hpp"
#include "common/run_dir.hpp"
#include "kperf/gateway/http_ready.hpp"

namespace kperf {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kInstallHint = "install nginx libnginx-mod-http-lua lua-cjson: scripts/setup";
constexpr const char* kUpstreamHostIp = "127.0.0.1";

void write_file(const fs::path& p, const std::string& text) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", tmp.string()));
  }
  fs::rename(tmp, p);
}

std::string file_tail_from(const fs::path& p, std::uintmax_t offset) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uintmax_t file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

bool is_problem(const std::string& line) {
  return line.find("[emerg]") != std::string::npos || line.find("[alert]") != std::string::npos ||
         line.find("[crit]") != std::string::npos || line.find("[error]") != std::string::npos;
}

// The last few problem lines of a log text (or its last line), for one-line errors.
std::string complaint(const std::string& text) {
  std::istringstream in(text);
  std::string line, last, problems;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (is_problem(line)) problems = line;  // keep the last one: the one that stopped it
  }
  std::string out = problems.empty() ? last : problems;
  // drop nginx's "2026/01/01 12:00:00 [emerg] 123#123: " prefix
  static const std::regex prefix(R"(^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: (\*\d+ )?)");
  return std::regex_replace(out, prefix, "$1 ");
}

// Paths go into nginx confs and a Lua string: keep them to characters that need no quoting.
void check_safe_path(const fs::path& p) {
  for (char c : p.string()) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-+", c))) {
      throw std::runtime_error(fmt::format(
          "lab: path '{}' has a character nginx confs would need quoted ('{}'); use another run directory",
          p.string(), c));
    }
  }
}

}  // namespace

void check_lab_prerequisites(const LabOptions& o) {
  if (::access(o.nginx.c_str(), X_OK) != 0) {
    throw std::runtime_error(fmt::format("lab: {} not found: {}", o.nginx.string(), kInstallHint));
  }
  for (const char* m : {"ndk_http_module.so", "ngx_http_lua_module.so"}) {
    if (!fs::exists(o.modules_dir / m)) {
      throw std::runtime_error(fmt::format("lab: nginx lua module {} not found: {}",
                                           (o.modules_dir / m).string(), kInstallHint));
    }
  }
  bool cjson = false;
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu/lua/5.1", "/usr/lib/aarch64-linux-gnu/lua/5.1",
                          "/usr/local/lib/lua/5.1", "/usr/lib/lua/5.1"}) {
    if (fs::exists(fs::path(dir) / "cjson.so")) cjson = true;
  }
  if (!cjson) throw std::runtime_error(fmt::format("lab: lua-cjson (cjson.so) not found: {}", kInstallHint));
}

Lab::Lab(const Workload& workload, LabOptions options)
    : workload_(std::make_unique<Workload>(workload)), options_(std::move(options)) {
  if (options_.workers < 1 || options_.workers > 64 || options_.upstream_workers < 1 ||
      options_.upstream_workers > 64) {
    throw std::runtime_error("lab: worker counts must be in 1..64");
  }
  check_lab_prerequisites(options_);
  lab_dir_ = lab_dir();
  for (const char* t : {"nginx/gateway.conf.in", "nginx/upstream.conf.in", "lua/kong/init.lua"}) {
    if (!fs::exists(lab_dir_ / t)) {
      throw std::runtime_error(fmt::format("lab: {} is missing", (lab_dir_ / t).string()));
    }
  }
  check_safe_path(lab_dir_);
  if (options_.run_dir.empty()) {
    try {
      run_dir_ = common::make_run_dir("kperf-lab");
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format("lab: {}", e.what()));
    }
    remove_run_dir_ = !options_.keep_run_dir;
  } else {
    run_dir_ = fs::absolute(options_.run_dir);
    fs::create_directories(run_dir_);
  }
  try {
    check_safe_path(run_dir_);
    fs::create_directories(run_dir_ / "logs");
    fs::create_directories(run_dir_ / "tmp");
    start();
  } catch (...) {
    stop();
    throw;
  }
}

Lab::~Lab() { stop(); }

fs::path Lab::error_log() const { return run_dir_ / "logs" / "gateway-error.log"; }
fs::path Lab::access_log() const { return run_dir_ / "logs" / "gateway-access.log"; }
fs::path Lab::upstream_error_log() const { return run_dir_ / "logs" / "upstream-error.log"; }
fs::path Lab::config_json() const { return run_dir_ / "kong.json"; }
std::string Lab::gateway_url() const { return fmt::format("http://127.0.0.1:{}", gateway_port_); }
std::string Lab::upstream_url() const { return fmt::format("http://127.0.0.1:{}", upstream_port_); }
std::string Lab::target_url() const {
  return workload_->load().target == LoadSpec::Target::Upstream ? upstream_url() : gateway_url();
}

void Lab::render(const std::string& template_name, const fs::path& out, int workers) const {
  std::string text = common::read_file_or_throw(lab_dir_ / "nginx" / template_name, "lab template");
  fs::path lua = lab_dir_ / "lua";
  const std::map<std::string, std::string> vars = {
      {"PREFIX", run_dir_.string()},
      {"WORKERS", std::to_string(workers)},
      {"GATEWAY_PORT", std::to_string(gateway_port_)},
      {"UPSTREAM_PORT", std::to_string(upstream_port_)},
      {"LUA_PATH", fmt::format("{}/?.lua;{}/?/init.lua", lua.string(), lua.string())},
      {"CONFIG_JSON", config_json().string()},
      {"MODULES", options_.modules_dir.string()},
      // as root, nginx would run workers as `nobody`, who cannot read a private run
      // dir; the lab's workers keep kperf's user
      {"USER", ::geteuid() == 0 ? "user root root;" : ""},
  };
  std::string result;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t at = text.find('@', pos);
    if (at == std::string::npos) break;
    size_t end = text.find('@', at + 1);
    std::string key = end == std::string::npos ? "" : text.substr(at + 1, end - at - 1);
    auto it = vars.find(key);
    bool placeholder = !key.empty() && key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos;
    if (placeholder && it == vars.end()) {
      throw std::runtime_error(fmt::format("lab: {}: unknown placeholder @{}@", template_name, key));
    }
    if (!placeholder) {
      result.append(text, pos, at + 1 - pos);
      pos = at + 1;
      continue;
    }
    result.append(text, pos, at - pos);
    result += it->second;
    pos = end + 1;
  }
  result.append(text, pos, std::string::npos);
  write_file(out, result);
}

void Lab::write_config() const {
  write_file(config_json(), workload_->gateway_config(kUpstreamHostIp, upstream_port_).dump(2) + "\n");
}

void Lab::wait_ready(NginxProcess& proc, const char* what, int port, const char* probe, const fs::path& log,
                     std::chrono::milliseconds timeout) {
  const auto still_running = [&] {
    if (proc.running()) return;
    // the error log says why; nginx's own stdout/stderr if it died before opening it
    std::string why = complaint(common::read_file_or_empty(log));
    if (why.empty()) why = complaint(common::read_file_or_empty(run_dir_ / "logs" / (std::string(what) + ".out")));
    throw std::runtime_error(fmt::format("lab: {} nginx {}: {}", what, proc.exit_description(), why));
  };
  const auto last =
      poll_http_ready(port, probe, {timeout, std::chrono::milliseconds(1000), std::chrono::milliseconds(20)},
                      still_running);
  if (!last) return;
  throw std::runtime_error(
      fmt::format("lab: {} nginx did not answer within {} ms ({})", what, timeout.count(),
                  last->status != 0 ? fmt::format("{} answered {}", probe, last->status) : last->error));
}

void Lab::wait_workers(NginxProcess& proc, const char* what, int count) {
  // one worker answering is not all of them: the profiler wants the full set
  auto deadline = Clock::now() + options_.start_timeout;
  while (proc.workers().size() < static_cast<size_t>(count)) {
    if (!proc.running() || Clock::now() >= deadline) {
      throw std::runtime_error(fmt::format("lab: {} nginx: {} of {} workers running after {} ms", what,
                                           proc.workers().size(), count, options_.start_timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Lab::start() {
  // Ports are free when chosen but could be taken before nginx binds them: retry.
  for (int attempt = 1;; ++attempt) {
    upstream_port_ = common::free_port();
    do {
      gateway_port_ = common::free_port();
    } while (gateway_port_ == upstream_port_);
    if (options_.with_gateway) write_config();  // refuses what the lab cannot run, before nginx starts
    render("upstream.conf.in", run_dir_ / "upstream.conf", options_.upstream_workers);
    if (options_.with_gateway) render("gateway.conf.in", run_dir_ / "gateway.conf", options_.workers);
    try {
      upstream_.start(options_.nginx, run_dir_, run_dir_ / "upstream.conf", upstream_error_log(),
                      run_dir_ / "logs" / "upstream.out");
      wait_ready(upstream_, "upstream", upstream_port_, "/test", upstream_error_log(), options_.start_timeout);
      wait_workers(upstream_, "upstream", options_.upstream_workers);
      if (!options_.with_gateway) return;
      gateway_.start(options_.nginx, run_dir_, run_dir_ / "gateway.conf", error_log(),
                     run_dir_ / "logs" / "gateway.out");
      wait_ready(gateway_, "gateway", gateway_port_, "/kperf-lab/status", error_log(), options_.start_timeout);
      wait_workers(gateway_, "gateway", options_.workers);
      return;
    } catch (const std::runtime_error& e) {
      gateway_.stop();
      upstream_.stop();
      if (attempt < 3 && std::string(e.what()).find("Address already in use") != std::string::npos) continue;
      throw;
    }
  }
}

void Lab::reload() {
  std::vector<pid_t> old = gateway_.workers();
  auto offset = file_size_or_zero(error_log());
  gateway_.signal_reload();
  auto deadline = Clock::now() + options_.start_timeout;
  for (;;) {
    std::string fresh = file_tail_from(error_log(), offset);
    std::istringstream lines(fresh);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("[emerg]") != std::string::npos || line.find("[alert]") != std::string::npos ||
          line.find("init_by_lua error") != std::string::npos) {
        throw std::runtime_error(fmt::format("lab: gateway reload failed: {}", complaint(line)));
      }
    }
    if (!gateway_.running()) {
      throw std::runtime_error(fmt::format("lab: gateway nginx {} during reload: {}", gateway_.exit_description(),
                                           complaint(fresh)));
    }
    size_t new_workers = 0;
    for (pid_t p : gateway_.workers()) {
      if (std::find(old.begin(), old.end(), p) == old.end()) ++new_workers;
    }
    if (new_workers >= static_cast<size_t>(options_.workers)) break;
    if (Clock::now() >= deadline) {
      throw std::runtime_error(fmt::format("lab: gateway reload: new workers did not start within {} ms",
                                           options_.start_timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // the old workers finish their requests and exit (worker_shutdown_timeout bounds it)
  for (;;) {
    auto left = child_processes(gateway_.pid(), "nginx:");
    bool old_left = std::any_of(left.begin(), left.end(),
                                [&](pid_t p) { return std::find(old.begin(), old.end(), p) != old.end(); });
    if (!old_left) break;
    if (Clock::now() >= deadline) {
      throw std::runtime_error(fmt::format("lab: gateway reload: old workers still running after {} ms",
                                           options_.start_timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  wait_ready(gateway_, "gateway", gateway_port_, "/kperf-lab/status", error_log(), options_.start_timeout);
}

void Lab::reload(const Workload& workload) {
  auto next = std::make_unique<Workload>(workload);
  std::swap(workload_, next);
  try {
    write_config();
    reload();
  } catch (...) {
    std::swap(workload_, next);
    try {
      write_config();  // so a later reload does not pick up the rejected config
    } catch (...) {
    }
    throw;
  }
}

void Lab::stop() noexcept {
  gateway_.stop();
  upstream_.stop();
  if (remove_run_dir_) {
    std::error_code ec;
    fs::remove_all(run_dir_, ec);
    remove_run_dir_ = false;
  }
}

std::vector<std::string> Lab::error_log_problems() const {
  std::vector<std::string> out;
  for (const fs::path& p : {error_log(), upstream_error_log()}) {
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) {
      if (is_problem(line)) out.push_back(line);
    }
  }
  return out;
}

}  // namespace kperf

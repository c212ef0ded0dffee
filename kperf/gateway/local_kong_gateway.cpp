// The local Kong driver: finding Kong, checking its version, kong.conf, start/stop
// commands and the master pid from the prefix's pid file.
#include "kperf/gateway/local_kong_gateway.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "common/proc_stat.hpp"
#include "common/text_file.hpp"
#include "kperf/gateway/kong_format.hpp"
#include "kperf/gateway/lab_nginx.hpp"

namespace kperf {

namespace {

constexpr std::string_view kAlternatives =
    "give --kong-prefix DIR (a Kong install prefix or source tree), or use --driver docker (Kong's image) or "
    "--driver lab (the built-in lab gateway)";

bool is_executable(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

LocalKong find_local_kong(const LocalOptions& opts) {
  LocalKong k;
  if (!opts.kong_prefix.empty()) {
    const auto bin = opts.kong_prefix / "bin" / "kong";
    if (!is_executable(bin)) {
      throw std::runtime_error(fmt::format("--driver local: no executable bin/kong under --kong-prefix {}; {}",
                                           opts.kong_prefix.string(), kAlternatives));
    }
    k.kong = std::filesystem::absolute(bin);
    std::error_code ec;
    if (std::filesystem::exists(opts.kong_prefix / "kong" / "meta.lua", ec)) {
      k.source_tree = std::filesystem::absolute(opts.kong_prefix);
    }
    return k;
  }
  std::string path = opts.path_env;
  if (path.empty()) {
    const char* env = std::getenv("PATH");
    path = env ? env : "";
  }
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto colon = path.find(':', pos);
    if (colon == std::string::npos) colon = path.size();
    std::filesystem::path dir = path.substr(pos, colon - pos);
    if (dir.empty()) dir = ".";
    if (is_executable(dir / "kong")) {
      k.kong = std::filesystem::absolute(dir / "kong");
      return k;
    }
    pos = colon + 1;
  }
  throw std::runtime_error(fmt::format("--driver local: no `kong` on the PATH; {}", kAlternatives));
}

std::vector<LocalKong> local_kong_candidates(const LocalOptions& opts) {
  std::vector<LocalKong> out;
  if (!opts.kong_prefix.empty()) {
    try {
      out.push_back(find_local_kong(opts));
    } catch (const std::runtime_error&) {
    }
    return out;
  }
  auto add = [&](const std::filesystem::path& p) {
    std::error_code ec;
    const auto canon = std::filesystem::weakly_canonical(p, ec);
    for (const auto& k : out) {
      if (std::filesystem::weakly_canonical(k.kong, ec) == canon) return;
    }
    out.push_back({std::filesystem::absolute(p), {}});
  };
  try {
    add(find_local_kong(opts).kong);
  } catch (const std::runtime_error&) {
  }
  for (const auto& prefix : opts.usual_prefixes) {
    if (is_executable(prefix / "bin" / "kong")) add(prefix / "bin" / "kong");
  }
  return out;
}

std::string local_kong_search_description(const LocalOptions& opts) {
  if (!opts.kong_prefix.empty()) return fmt::format("--kong-prefix {}", opts.kong_prefix.string());
  std::string d = "`kong` on the PATH";
  for (const auto& prefix : opts.usual_prefixes) d += ", " + (prefix / "bin" / "kong").string();
  return d;
}

std::optional<MatchedKong> match_local_kong(const LocalOptions& opts, const KongVersionSpec& requested,
                                            const CommandRunner& run, std::vector<std::string>* found) {
  for (const auto& k : local_kong_candidates(opts)) {
    if (requested.is_git()) {
      if (k.source_tree.empty()) continue;
      check_local_git_ref(k, requested, run);  // --kong-prefix names the tree: a wrong checkout is an error
      const auto v = parse_kong_meta(common::read_file_or_empty(k.source_tree / "kong" / "meta.lua"));
      if (!v) {
        throw std::runtime_error(fmt::format("--driver local: cannot read Kong's version from {}",
                                             (k.source_tree / "kong" / "meta.lua").string()));
      }
      return MatchedKong{k, *v};
    }
    const auto r = run(local_version_command(k));
    const auto installed = parse_kong_version_output(r.out + "\n" + r.err);
    if (r.ok() && installed && version_matches(requested.release, *installed)) return MatchedKong{k, *installed};
    if (found) {
      found->push_back(fmt::format("{} ({})", k.kong.string(),
                                   installed ? "Kong " + *installed
                                             : fmt::format("`kong version` failed: {}",
                                                           first_line(r.err.empty() ? r.out : r.err))));
    }
  }
  return std::nullopt;
}

std::filesystem::path local_prefix(const KongGatewaySpec& spec) {
  return std::filesystem::absolute(spec.work_dir / "kong-prefix");
}
std::filesystem::path local_conf_path(const KongGatewaySpec& spec) {
  return std::filesystem::absolute(spec.work_dir / "kong.conf");
}
std::filesystem::path local_pid_file(const KongGatewaySpec& spec) { return local_prefix(spec) / "pids" / "nginx.pid"; }

std::string local_kong_conf(const KongGatewaySpec& spec) {
  std::string c = "# kong.conf written by kperf for one profile run (DB-less, loopback only)\n";
  c += fmt::format("prefix = {}\n", local_prefix(spec).string());
  c += "database = off\n";
  c += fmt::format("declarative_config = {}\n", std::filesystem::absolute(spec.declarative_config).string());
  c += fmt::format("proxy_listen = 127.0.0.1:{}\n", spec.proxy_port);
  c += fmt::format("status_listen = 127.0.0.1:{}\n", spec.status_port);
  c += "admin_listen = off\n";
  c += fmt::format("nginx_worker_processes = {}\n", spec.worker_processes);
  c += "proxy_access_log = off\n";
  c += "anonymous_reports = off\n";
  // Kong runs only the plugins this setting names: the bundled ones and the workload's
  // (a custom plugin installed on Kong's Lua path runs too).
  if (const auto names = declarative_plugin_names(spec.config); !names.empty()) {
    c += "plugins = bundled";
    for (const auto& n : names) c += "," + n;
    c += "\n";
  }
  return c;
}

Command local_version_command(const LocalKong& k) { return {{k.kong.string(), "version"}, k.source_tree}; }

Command local_start_command(const LocalKong& k, const KongGatewaySpec& spec) {
  return {{k.kong.string(), "start", "-c", local_conf_path(spec).string(), "--prefix", local_prefix(spec).string()},
          k.source_tree};
}

Command local_stop_command(const LocalKong& k, const KongGatewaySpec& spec) {
  return {{k.kong.string(), "stop", "--prefix", local_prefix(spec).string()}, k.source_tree};
}

Command local_rev_parse_command(const LocalKong& k, std::string_view rev) {
  return {{"git", "-C", k.source_tree.string(), "rev-parse", "--verify", "--quiet", std::string(rev) + "^{commit}"}, {}};
}

void check_local_version(const KongVersionSpec& requested, std::string_view version_output) {
  const auto installed = parse_kong_version_output(version_output);
  if (!installed) {
    throw std::runtime_error(fmt::format("--driver local: cannot read the version in `kong version` output: {}",
                                         first_line(version_output)));
  }
  if (requested.is_git()) {
    throw std::runtime_error(fmt::format(
        "--driver local: --version {} needs a Kong source tree (--kong-prefix DIR with kong/meta.lua), "
        "or --driver docker",
        requested.text));
  }
  if (!version_matches(requested.release, *installed)) {
    throw std::runtime_error(fmt::format("--driver local: the local Kong is {}, not the requested {}; {}",
                                         *installed, requested.release,
                                         "install that release, point --kong-prefix at it, or use --driver docker"));
  }
}

void check_local_git_ref(const LocalKong& k, const KongVersionSpec& requested, const CommandRunner& run) {
  if (k.source_tree.empty()) {
    throw std::runtime_error(fmt::format(
        "--driver local: --version {} needs a Kong source tree (--kong-prefix DIR with kong/meta.lua), "
        "or --driver docker",
        requested.text));
  }
  const auto want = run(local_rev_parse_command(k, requested.git_ref));
  if (!want.ok()) {
    throw std::runtime_error(fmt::format("--driver local: {} is not a commit in {}", requested.git_ref,
                                         k.source_tree.string()));
  }
  const auto head = run(local_rev_parse_command(k, "HEAD"));
  if (!head.ok() || trimmed(head.out) != trimmed(want.out)) {
    throw std::runtime_error(fmt::format("--driver local: {} is not checked out at {} (HEAD is {})",
                                         k.source_tree.string(), requested.git_ref, trimmed(head.out)));
  }
}

pid_t read_pid_file(const std::filesystem::path& pid_file) {
  std::ifstream in(pid_file);
  if (!in) throw std::runtime_error(fmt::format("--driver local: no pid file {}", pid_file.string()));
  long pid = 0;
  if (!(in >> pid) || pid <= 0) {
    throw std::runtime_error(fmt::format("--driver local: malformed pid file {}", pid_file.string()));
  }
  return static_cast<pid_t>(pid);
}

LocalKongGateway::LocalKongGateway(KongGatewaySpec spec, LocalOptions opts, CommandRunner run)
    : spec_(std::move(spec)), opts_(std::move(opts)), run_(std::move(run)) {}

LocalKongGateway::~LocalKongGateway() { stop(); }

void LocalKongGateway::start() {
  if (local_kong_candidates(opts_).empty()) (void)find_local_kong(opts_);  // throws naming the alternatives
  if (spec_.version.is_git() && opts_.kong_prefix.empty()) {
    throw std::runtime_error(fmt::format(
        "--driver local: --version {} needs a Kong source tree (--kong-prefix DIR with kong/meta.lua), "
        "or --driver docker",
        spec_.version.text));
  }
  std::vector<std::string> found;
  const auto matched = match_local_kong(opts_, spec_.version, run_, &found);
  if (!matched) {
    std::string what;
    for (const auto& f : found) what += (what.empty() ? "" : ", ") + f;
    throw std::runtime_error(fmt::format(
        "--driver local: no local Kong {} (found {}; looked at {}); install that release, point --kong-prefix at "
        "it, or use --driver docker",
        spec_.version.text, what.empty() ? "none" : what, local_kong_search_description(opts_)));
  }
  kong_ = matched->kong;
  kong_version_ = matched->version;
  std::filesystem::create_directories(local_prefix(spec_));
  write_declarative_config(spec_, kong_version_);
  {
    std::ofstream conf(local_conf_path(spec_), std::ios::trunc);
    conf << local_kong_conf(spec_);
    if (!conf.flush()) {
      throw std::runtime_error(fmt::format("--driver local: cannot write {}", local_conf_path(spec_).string()));
    }
  }
  const auto r = run_(local_start_command(kong_, spec_));
  started_ = true;  // `kong start` may fail after nginx started: stop() anyway
  if (!r.ok()) {
    std::string why = kong_failure(r.out + "\n" + r.err, error_log().value_or(""));
    if (why.empty()) why = first_line(r.err.empty() ? r.out : r.err);
    throw std::runtime_error(fmt::format("--driver local: kong start failed (Kong {}, {}): {}", kong_version_,
                                         kong_.kong.string(), why));
  }
  const auto pid_file = local_pid_file(spec_);
  wait_http_ready(
      spec_.status_port, "/status", std::chrono::seconds(60),
      [&] {
        std::error_code ec;
        if (!std::filesystem::exists(pid_file, ec)) return true;  // not written yet
        try {
          return ::kill(read_pid_file(pid_file), 0) == 0;
        } catch (const std::exception&) {
          return true;
        }
      },
      fmt::format("Kong ({})", kong_.kong.string()));
  master_ = read_pid_file(pid_file);
}

void LocalKongGateway::stop() noexcept {
  if (!started_) return;
  started_ = false;
  try {
    // `kong stop` signals nginx and returns: wait (bounded) until the master and its
    // workers are gone, then SIGKILL what is left of them, by pid.
    pid_t master = master_;
    if (master <= 0) {
      try {
        master = read_pid_file(local_pid_file(spec_));
      } catch (const std::exception&) {
      }
    }
    std::vector<pid_t> pids;
    if (master > 0) {
      pids = child_processes(master, "nginx:");
      pids.push_back(master);
    }
    run_(local_stop_command(kong_, spec_));
    auto alive = [](pid_t p) { return common::process_alive(p); };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::any_of(pids.begin(), pids.end(), alive) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (pid_t p : pids) {
      if (alive(p)) ::kill(p, SIGKILL);
    }
  } catch (...) {
  }
  master_ = -1;
}

std::optional<std::string> LocalKongGateway::error_log() const {
  return common::read_file(local_prefix(spec_) / "logs" / "error.log");
}

std::vector<std::string> LocalKongGateway::error_log_problems() const {
  return kong_error_log_problems(error_log().value_or(""));
}

std::string LocalKongGateway::description() const {
  return fmt::format("Kong {} (local: {})", kong_version_.empty() ? spec_.version.text : kong_version_,
                     kong_.kong.string());
}

std::string LocalKongGateway::proxy_url() const { return fmt::format("http://127.0.0.1:{}", spec_.proxy_port); }

}  // namespace kperf

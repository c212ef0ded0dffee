// A kperf workload: the gateway config (a Kong DB-less declarative config) plus the
// load to drive through it, read from scripts/lab/workloads/NAME.yaml or any file.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kperf {

// The workload `kperf profile` uses when none is named.
inline constexpr std::string_view kDefaultWorkload = "key-auth";

// The service host that stands for the lab's upstream: a service whose `url` or
// `host` names it is pointed at the upstream the driver started (127.0.0.1:PORT);
// the port written in the file, if any, is replaced. Other hosts are left alone.
inline constexpr std::string_view kUpstreamHost = "kperf-upstream";

// The `load:` section of a workload file: how kperf drives the gateway.
struct LoadSpec {
  enum class Target { Gateway, Upstream };  // upstream: straight to it (baseline)
  Target target = Target::Gateway;
  int threads = 2;
  int connections = 100;
  std::chrono::milliseconds duration{10000};
  int runs = 3;
  std::optional<double> rate;  // requests/s over all connections, like wrk2's -R
  std::string method = "GET";
  // Request target template (path + query) in loadgen's syntax, e.g.
  // "/s{1..10}-r{1..10}?apikey=consumer-{1..100}".
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
};

class Workload {
 public:
  // NAME (letters, digits, '-', '_', '.') → <lab dir>/workloads/NAME.yaml; anything with
  // a '/' or ending in .yaml/.yml is a file path. Throws std::runtime_error with one
  // clear line on a missing file, bad YAML or an invalid workload.
  static Workload load(const std::string& name_or_path);
  // Parses and validates YAML text; `origin` names it in error messages.
  static Workload parse(std::string_view yaml_text, const std::string& origin);

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  const LoadSpec& load() const { return load_; }
  const std::string& origin() const { return origin_; }

  // The Kong declarative config (`kong:` section) as written, with kUpstreamHost
  // services pointed at host:port — what Kong DB-less would be given (JSON is a valid
  // declarative config format for Kong).
  nlohmann::json kong_config(const std::string& upstream_host, int upstream_port) const;

  // The flattened config the lab gateway's kong/db/declarative.lua loads: nested
  // entities lifted to top-level lists, every entity given an `id`, references
  // replaced by ids, service urls split into protocol/host/port/path. Throws
  // check_lab()'s error for a workload the lab cannot run.
  nlohmann::json gateway_config(const std::string& upstream_host, int upstream_port) const;

  // Throws one line when the lab gateway cannot run this workload (a plugin it does not
  // implement, a non-http service, an entity or field it does not know). Real Kong is
  // not bound by this: parse() checks only what any Kong requires.
  void check_lab() const;

  // Plugin names the lab gateway implements (kong/plugins/NAME/handler.lua).
  static const std::vector<std::string>& known_plugins();

 private:
  std::string origin_;
  std::string name_;
  std::string description_;
  LoadSpec load_;
  nlohmann::json kong_;  // the kong: section, as read
  nlohmann::json flat_;  // flattened, validated; upstream not yet substituted
  std::string lab_error_;  // why the lab gateway cannot run it ("" if it can)
};

// The lab directory (scripts/lab of the source tree): $KPERF_LAB_DIR if set, else the
// first <dir>/scripts/lab/workloads found walking up from the running binary
// (/proc/self/exe: build/kperf → build → repo), else the source tree this file was
// compiled from. Throws if none exists.
std::filesystem::path lab_dir();

// Names of the workloads in <lab dir>/workloads, sorted.
std::vector<std::string> list_workloads();

}  // namespace kperf

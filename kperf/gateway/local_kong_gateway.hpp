// The local Kong driver: a Kong installed on this machine (<--kong-prefix>/bin/kong of an
// install prefix or a Kong source tree; else `kong` on the PATH or in the usual install
// prefixes, the first whose `kong version` is the one asked for), started DB-less with a
// generated kong.conf in a private prefix, proxy and status API on 127.0.0.1.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kperf/gateway/kong_driver.hpp"

namespace kperf {

// Where Kong's packages and builds put bin/kong, searched after the PATH.
inline const std::vector<std::filesystem::path> kUsualKongPrefixes = {"/usr/local", "/usr/local/kong", "/opt/kong",
                                                                       "/usr"};

struct LocalOptions {
  std::filesystem::path kong_prefix;  // --kong-prefix: install prefix or source tree
  std::string path_env;               // PATH to search when no kong_prefix; empty: $PATH
  std::vector<std::filesystem::path> usual_prefixes = kUsualKongPrefixes;  // searched after the PATH
};

// How Kong is run: the `kong` script and, for a source tree, the tree (commands run
// there: bin/kong puts ./?.lua first on package.path).
struct LocalKong {
  std::filesystem::path kong;         // the kong script
  std::filesystem::path source_tree;  // empty for an install
};

// Finds Kong: <kong_prefix>/bin/kong (a source tree when <kong_prefix>/kong/meta.lua
// exists too), else `kong` on the PATH. Throws one clear line naming the alternatives
// (--kong-prefix, --driver docker, --driver lab) when there is none.
LocalKong find_local_kong(const LocalOptions& opts);

// Every Kong to consider, in order: <kong_prefix>/bin/kong alone when kong_prefix is
// given; else `kong` on the PATH, then <prefix>/bin/kong of each usual prefix (each
// file once). Empty when there is none.
std::vector<LocalKong> local_kong_candidates(const LocalOptions& opts);

// What the candidates are: "kong on the PATH, /usr/local/bin/kong, ..." or
// "--kong-prefix DIR", for error lines.
std::string local_kong_search_description(const LocalOptions& opts);

// A Kong found for a version, and the version it is (for the declarative format).
struct MatchedKong {
  LocalKong kong;
  std::string version;  // `kong version`'s, or kong/meta.lua's for git:REF
};

// The first candidate that is the requested version (for git:REF: the --kong-prefix
// source tree checked out at REF); nullopt when none is. `found` (if given) gets one
// "PATH (Kong V)" per candidate that answered with another version.
std::optional<MatchedKong> match_local_kong(const LocalOptions& opts, const KongVersionSpec& requested,
                                            const CommandRunner& run, std::vector<std::string>* found = nullptr);

// kong.conf for the run: prefix, DB-less with the declarative config, proxy and status
// listeners on 127.0.0.1, admin API off, worker processes, and `plugins = bundled,...`
// naming the workload's plugins (so that custom ones run).
std::string local_kong_conf(const KongGatewaySpec& spec);

// Paths inside the run's Kong prefix (<work_dir>/kong-prefix).
std::filesystem::path local_prefix(const KongGatewaySpec& spec);
std::filesystem::path local_conf_path(const KongGatewaySpec& spec);
std::filesystem::path local_pid_file(const KongGatewaySpec& spec);  // PREFIX/pids/nginx.pid

Command local_version_command(const LocalKong& k);
Command local_start_command(const LocalKong& k, const KongGatewaySpec& spec);
Command local_stop_command(const LocalKong& k, const KongGatewaySpec& spec);
// git:REF with a source tree: the commit REF names and the tree's HEAD.
Command local_rev_parse_command(const LocalKong& k, std::string_view rev);

// Throws unless the installed Kong (`kong version` output `version_output`) is the
// requested release. For git:REF, use check_local_git_ref.
void check_local_version(const KongVersionSpec& requested, std::string_view version_output);
// git:REF: the source tree must be checked out at REF (same commit as HEAD).
void check_local_git_ref(const LocalKong& k, const KongVersionSpec& requested, const CommandRunner& run);

// Reads PREFIX/pids/nginx.pid; throws when missing or malformed.
pid_t read_pid_file(const std::filesystem::path& pid_file);

class LocalKongGateway : public Gateway {
 public:
  LocalKongGateway(KongGatewaySpec spec, LocalOptions opts = {}, CommandRunner run = default_runner());
  ~LocalKongGateway() override;

  // Finds Kong, checks its version, writes kong.conf, `kong start`, waits for /status.
  void start() override;
  void stop() noexcept override;
  pid_t master_pid() const override { return master_; }
  std::optional<std::string> error_log() const override;  // PREFIX/logs/error.log
  std::vector<std::string> error_log_problems() const override;
  std::string proxy_url() const override;
  std::string driver() const override { return "local"; }
  std::string description() const override;  // "Kong 2.4.0 (local: /usr/local/bin/kong)"

 private:
  KongGatewaySpec spec_;
  LocalOptions opts_;
  CommandRunner run_;
  LocalKong kong_;
  std::string kong_version_;
  bool started_ = false;
  pid_t master_ = -1;
};

}  // namespace kperf

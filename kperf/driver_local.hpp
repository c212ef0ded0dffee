// The local Kong driver: a Kong installed on this machine (`kong` on PATH, or
// <--kong-prefix>/bin/kong of an install prefix or a Kong source tree), started DB-less
// with a generated kong.conf in a private prefix, proxy and status API on 127.0.0.1.
#pragma once

#include <string>
#include <string_view>

#include "kperf/kong_driver.hpp"

namespace kperf {

struct LocalOptions {
  std::filesystem::path kong_prefix;  // --kong-prefix: install prefix or source tree
  std::string path_env;               // PATH to search when no kong_prefix; empty: $PATH
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

// kong.conf for the run: prefix, DB-less with the declarative config, proxy and status
// listeners on 127.0.0.1, admin API off, worker processes.
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

class LocalKongGateway : public KongGateway {
 public:
  LocalKongGateway(KongGatewaySpec spec, LocalOptions opts = {}, CommandRunner run = default_runner());
  ~LocalKongGateway() override;

  // Finds Kong, checks its version, writes kong.conf, `kong start`, waits for /status.
  void start() override;
  void stop() noexcept override;
  pid_t master_pid() const override { return master_; }
  std::string error_log() const override;  // PREFIX/logs/error.log
  std::string proxy_url() const override;

 private:
  KongGatewaySpec spec_;
  LocalOptions opts_;
  CommandRunner run_;
  LocalKong kong_;
  bool started_ = false;
  pid_t master_ = -1;
};

}  // namespace kperf

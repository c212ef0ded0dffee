// What the Kong drivers (docker image, local install) share: the gateway spec they are
// given, the command runner they execute argv vectors with (injectable, so tests check
// commands without Docker or Kong), Kong version specs, and the running-Kong interface
// `kperf profile` drives.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kperf/gateway/gateway.hpp"

namespace kperf {

using Argv = std::vector<std::string>;

// A program and its arguments, run without a shell; in `cwd` if not empty.
struct Command {
  Argv argv;
  std::filesystem::path cwd;
  bool operator==(const Command&) const = default;
};

struct CommandResult {
  int exit_code = -1;  // 127: the program was not found; -1: killed (timeout) or no exit
  std::string out;     // stdout
  std::string err;     // stderr
  bool ok() const { return exit_code == 0; }
};

using CommandRunner = std::function<CommandResult(const Command&)>;

// Runs a command (posix_spawnp: PATH lookup, no shell), capturing stdout and stderr;
// kills it (SIGKILL) after `timeout`. Never throws for a failing program: a missing
// binary gives exit_code 127 and a message in `err`.
CommandResult run_command(const Command& cmd, std::chrono::milliseconds timeout = std::chrono::minutes(10));

// The first non-empty line of a command's output, trimmed (for one-line errors).
std::string first_line(std::string_view output);

// The default runner: run_command with its default timeout.
CommandRunner default_runner();
// run_command killing what runs longer than `timeout` (`kong start`, `kong version`).
CommandRunner bounded_runner(std::chrono::milliseconds timeout);

// "2.4.0" (a release), "3.0.0-rc.1", or "git:REF" (a branch, tag or commit of Kong).
struct KongVersionSpec {
  std::string text;     // as given
  std::string release;  // release version ("" for git:)
  std::string git_ref;  // git ref ("" for releases)
  bool is_git() const { return !git_ref.empty(); }
};
// Throws std::runtime_error for an empty/malformed version or a git ref that could be
// taken for an option (leading '-') or has whitespace.
KongVersionSpec parse_version_spec(std::string_view text);

// The version in `kong version` output ("3.4.2", "Kong 2.4.0", "Kong: 2.4.0",
// "Kong Enterprise 3.4.3.1"); lines around it (warnings) are skipped. nullopt if none.
std::optional<std::string> parse_kong_version_output(std::string_view output);

// Whether an installed version satisfies a requested release: equal, or the installed
// one has more components (requested "3.4.3" matches Enterprise "3.4.3.1").
bool version_matches(std::string_view requested, std::string_view installed);

// The version kong/meta.lua of a source tree declares: "3.10.0", with its suffix if one
// is set ("3.0.0-alpha.1"); commented-out suffixes are ignored. nullopt if unreadable.
std::optional<std::string> parse_kong_meta(std::string_view meta_lua);

// The gateway a Kong driver brings up (DB-less, loopback only).
struct KongGatewaySpec {
  KongVersionSpec version;
  // The workload's declarative config as written (services pointed at the upstream);
  // the driver writes it to `declarative_config` in the format of the Kong it found
  // (declarative_for_kong). Null: `declarative_config` is used as it is.
  nlohmann::json config;
  std::filesystem::path declarative_config;  // on the host: the workload's kong config
  int proxy_port = 0;                        // 127.0.0.1:proxy_port
  int status_port = 0;                       // 127.0.0.1:status_port, GET /status
  int worker_processes = 2;
  std::filesystem::path work_dir;            // the driver's files (conf, prefix, checkout)
};

// The nginx master of a process tree: `pid` itself if its cmdline starts with
// "nginx: master process", else the first such descendant (breadth first, by pid).
// `proc_root` is /proc (tests pass a fake tree). nullopt if there is none.
std::optional<pid_t> find_nginx_master(pid_t pid, const std::filesystem::path& proc_root = "/proc");

// Why Kong did not start, in one line, from what it printed (`kong start`'s output, or
// a container's log) and its error log: Kong's own `Error:` text (warnings such as the
// dyn_upstream_keepalive one, Lua file:line prefixes and stack tracebacks left out), then
// "; error.log: " and the last [error]/[crit]/[alert]/[emerg] entry of the log when it
// says something else. "" when neither names a cause.
std::string kong_failure(std::string_view cli_output, std::string_view error_log);

// Writes spec.config (when not null) to spec.declarative_config in the format Kong
// `kong_version` accepts; throws one line when it cannot.
void write_declarative_config(const KongGatewaySpec& spec, std::string_view kong_version);

// Lines of a Kong error log at [error] or worse (the harmless warnings are below that).
std::vector<std::string> kong_error_log_problems(std::string_view error_log);

// Polls GET http://127.0.0.1:port/path until it answers 200, `alive()` says false (then
// throws `what` + " exited before answering"), or `timeout` (throws).
void wait_http_ready(int port, std::string_view path, std::chrono::milliseconds timeout,
                     const std::function<bool()>& alive, std::string_view what);

}  // namespace kperf

// The docker Kong driver: Kong DB-less in the release image `kong:V` (or a git checkout
// of Kong mounted over the image's Lua tree, like Kong's spec/helpers/perf docker
// driver), host networking, proxy and status API on 127.0.0.1, admin API off.
//
// Networking decision: `--network host`. The proxy listens on 127.0.0.1:PORT of the
// host only, the workload's upstream on the host's 127.0.0.1 is reachable from Kong
// without rewriting addresses, and the nginx processes are host processes kperf can
// sample (their host pids come from `docker inspect`).
#pragma once

#include <string>
#include <vector>

#include "kperf/gateway/kong_driver.hpp"

namespace kperf {

// Where the declarative config is mounted inside the container.
inline constexpr std::string_view kDockerDeclarativePath = "/kong/declarative/kong.yml";
// Where the image keeps Kong's Lua sources (a git checkout's kong/ is mounted here).
inline constexpr std::string_view kDockerKongLuaDir = "/usr/local/share/lua/5.1/kong";
// Kong's source repository (git: versions are cloned from it).
inline constexpr std::string_view kKongGitUrl = "https://github.com/Kong/kong.git";

struct DockerOptions {
  std::string docker = "docker";         // the docker CLI
  std::string git = "git";
  std::string container_name;            // default: kperf-kong-<proxy port>
  std::string git_url = std::string(kKongGitUrl);
  std::string image_override;            // use this image instead of the derived one
  // Start a guard process that removes the container if kperf itself dies without
  // stop() (a crash, SIGKILL): it waits for EOF on a pipe only kperf holds open.
  bool remove_on_crash = false;
};

// The release image for a version: `kong:V`, or `kong/kong:V` for pre-releases
// (rc / beta / alpha), which only Kong's own repository publishes.
std::string docker_release_image(std::string_view release);

// git: versions. The checkout lives in <work_dir>/kong-src: clone (when absent), fetch
// the ref, check it out detached. Run in order; a clone already there is reused.
std::vector<Command> docker_git_checkout_commands(const KongGatewaySpec& spec, const DockerOptions& opts,
                                                   bool clone_exists);
std::filesystem::path docker_checkout_dir(const KongGatewaySpec& spec);

// Everything the driver runs, for one image (and checkout, for git: versions).
struct DockerPlan {
  std::string image;
  std::string container;
  Command info;          // docker info: fails without a running engine
  Command image_exists;  // docker image inspect IMAGE: fails when not pulled
  Command pull;
  Command run;           // docker run -d ... (prints the container id)
  Command running;       // docker inspect -f {{.State.Running}} NAME -> "true"
  Command inspect_pid;   // docker inspect -f {{.State.Pid}} NAME -> host pid
  Command logs;          // docker logs NAME (Kong logs to stderr: its error log)
  Command stop;          // docker stop -t 10 NAME
  Command rm;            // docker rm -f NAME
  int ready_port = 0;    // GET http://127.0.0.1:ready_port/status answers 200 when up
  std::string ready_path = "/status";
};

// `checkout` is the git checkout's root for git: versions, empty for releases. Throws
// when a host path to mount contains ':' (docker's --volume separator).
DockerPlan docker_plan(const KongGatewaySpec& spec, const DockerOptions& opts, const std::string& image,
                       const std::filesystem::path& checkout = {});

// Throws one clear line when `docker info` fails (no CLI, or no engine), naming the
// alternatives --driver lab and --driver local.
void check_docker_available(const CommandRunner& run, const DockerOptions& opts = {});

class DockerKongGateway : public Gateway {
 public:
  DockerKongGateway(KongGatewaySpec spec, DockerOptions opts = {}, CommandRunner run = default_runner());
  ~DockerKongGateway() override;

  // Checks the engine, prepares the git checkout (git: versions), pulls the image if
  // absent, runs the container, waits for /status, finds the nginx master's host pid.
  void start() override;
  void stop() noexcept override;
  pid_t master_pid() const override { return master_; }
  std::optional<std::string> error_log() const override;
  std::vector<std::string> error_log_problems() const override;
  std::string proxy_url() const override;
  std::string driver() const override { return "docker"; }
  std::string description() const override;  // "Kong 2.4.0 (docker: kong:2.4.0)"
  const DockerPlan& plan() const { return plan_; }

 private:
  CommandResult must(const Command& c, std::string_view what) const;
  void start_guard();
  void end_guard() noexcept;

  KongGatewaySpec spec_;
  DockerOptions opts_;
  CommandRunner run_;
  DockerPlan plan_;
  bool started_ = false;
  pid_t master_ = -1;
  mutable std::string saved_logs_;
  int guard_fd_ = -1;      // write end of the guard's pipe
  pid_t guard_pid_ = -1;
};

}  // namespace kperf

// The docker Kong driver: argv vectors for docker and git, and their execution through
// an injectable CommandRunner.
#include "kperf/gateway/docker_kong_gateway.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/text_file.hpp"
#include "kperf/gateway/kong_format.hpp"

namespace kperf {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

constexpr std::string_view kAlternatives =
    "use --driver lab (the built-in lab gateway) or --driver local --kong-prefix DIR (a Kong install)";

}  // namespace

std::string docker_release_image(std::string_view release) {
  const bool pre = release.find("rc") != std::string_view::npos || release.find("beta") != std::string_view::npos ||
                   release.find("alpha") != std::string_view::npos;
  return fmt::format("{}:{}", pre ? "kong/kong" : "kong", release);
}

std::filesystem::path docker_checkout_dir(const KongGatewaySpec& spec) { return spec.work_dir / "kong-src"; }

std::vector<Command> docker_git_checkout_commands(const KongGatewaySpec& spec, const DockerOptions& opts,
                                                   bool clone_exists) {
  const std::string dir = docker_checkout_dir(spec).string();
  const std::string& ref = spec.version.git_ref;
  std::vector<Command> cmds;
  if (!clone_exists) cmds.push_back({{opts.git, "clone", "--quiet", "--no-checkout", "--", opts.git_url, dir}, {}});
  // A ref may be a branch, tag or commit: fetch it explicitly (shallow clones and
  // commits not on a branch), then check out what was fetched.
  cmds.push_back({{opts.git, "-C", dir, "fetch", "--quiet", "--tags", "origin", "--", ref}, {}});
  cmds.push_back({{opts.git, "-C", dir, "checkout", "--quiet", "--detach", "FETCH_HEAD"}, {}});
  return cmds;
}

DockerPlan docker_plan(const KongGatewaySpec& spec, const DockerOptions& opts, const std::string& image,
                       const std::filesystem::path& checkout) {
  DockerPlan p;
  const std::string& d = opts.docker;
  p.image = image;
  p.container = opts.container_name.empty() ? fmt::format("kperf-kong-{}", spec.proxy_port) : opts.container_name;
  p.info = {{d, "info", "--format", "{{.ServerVersion}}"}, {}};
  p.image_exists = {{d, "image", "inspect", "--format", "{{.Id}}", image}, {}};
  p.pull = {{d, "pull", image}, {}};

  Argv run = {d, "run", "--detach", "--name", p.container, "--label", "kperf=kong", "--network", "host"};
  auto env = [&](std::string_view k, const std::string& v) {
    run.push_back("--env");
    run.push_back(fmt::format("{}={}", k, v));
  };
  env("KONG_DATABASE", "off");
  env("KONG_DECLARATIVE_CONFIG", std::string(kDockerDeclarativePath));
  env("KONG_PROXY_LISTEN", fmt::format("127.0.0.1:{}", spec.proxy_port));
  env("KONG_STATUS_LISTEN", fmt::format("127.0.0.1:{}", spec.status_port));
  env("KONG_ADMIN_LISTEN", "off");
  env("KONG_NGINX_WORKER_PROCESSES", std::to_string(spec.worker_processes));
  env("KONG_PROXY_ACCESS_LOG", "off");
  env("KONG_PROXY_ERROR_LOG", "/dev/stderr");
  env("KONG_ANONYMOUS_REPORTS", "off");
  // Kong runs only the plugins this setting names: the bundled ones and the workload's.
  if (const auto names = declarative_plugin_names(spec.config); !names.empty()) {
    std::string plugins = "bundled";
    for (const auto& n : names) plugins += "," + n;
    env("KONG_PLUGINS", plugins);
  }
  // docker's -v splits on ':': a host path containing one cannot be mounted this way.
  auto host_path = [](const std::filesystem::path& p) {
    std::string s = std::filesystem::absolute(p).string();
    if (s.find(':') != std::string::npos) {
      throw std::runtime_error(fmt::format("--driver docker: cannot mount {}: the path contains ':'", s));
    }
    return s;
  };
  run.push_back("--volume");
  run.push_back(fmt::format("{}:{}:ro", host_path(spec.declarative_config),
                            kDockerDeclarativePath));
  if (!checkout.empty()) {
    // Kong's perf framework copies the checkout's kong/ over the image's; a read-only
    // bind mount does the same without touching the image.
    run.push_back("--volume");
    run.push_back(fmt::format("{}:{}:ro", host_path(checkout / "kong"), kDockerKongLuaDir));
  }
  run.push_back(image);
  p.run = {std::move(run), {}};
  p.running = {{d, "inspect", "--format", "{{.State.Running}}", p.container}, {}};
  p.inspect_pid = {{d, "inspect", "--format", "{{.State.Pid}}", p.container}, {}};
  p.logs = {{d, "logs", p.container}, {}};
  p.stop = {{d, "stop", "--time", "10", p.container}, {}};
  p.rm = {{d, "rm", "--force", p.container}, {}};
  p.ready_port = spec.status_port;
  return p;
}

void check_docker_available(const CommandRunner& run, const DockerOptions& opts) {
  const CommandResult r = run({{opts.docker, "info", "--format", "{{.ServerVersion}}"}, {}});
  if (r.exit_code == 127) {
    throw std::runtime_error(fmt::format("--driver docker: the docker CLI ({}) is not installed; {}", opts.docker,
                                         kAlternatives));
  }
  if (!r.ok() || trimmed(r.out).empty()) {
    std::string why = first_line(r.err);
    if (why.empty()) why = first_line(r.out);
    if (why.empty()) why = fmt::format("exit status {}", r.exit_code);
    throw std::runtime_error(fmt::format("--driver docker: no Docker engine is running (docker info: {}); {}", why,
                                         kAlternatives));
  }
}

DockerKongGateway::DockerKongGateway(KongGatewaySpec spec, DockerOptions opts, CommandRunner run)
    : spec_(std::move(spec)), opts_(std::move(opts)), run_(std::move(run)) {}

DockerKongGateway::~DockerKongGateway() { stop(); }

void DockerKongGateway::start_guard() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // Its own session: a terminal's Ctrl-C reaches kperf, not the guard.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  std::string script = "read _; exec \"$0\" rm --force \"$1\"";
  std::vector<char*> argv = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), script.data(),
                             opts_.docker.data(), plan_.container.data(), nullptr};
  pid_t pid = -1;
  if (::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv.data(), environ) == 0) {
    guard_pid_ = pid;
    guard_fd_ = fds[1];
  } else {
    ::close(fds[1]);
  }
  ::close(fds[0]);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
}

void DockerKongGateway::end_guard() noexcept {
  if (guard_pid_ > 0) {
    ::kill(guard_pid_, SIGKILL);  // the container is gone already: the guard has nothing to do
    while (::waitpid(guard_pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    guard_pid_ = -1;
  }
  if (guard_fd_ >= 0) ::close(guard_fd_);
  guard_fd_ = -1;
}

CommandResult DockerKongGateway::must(const Command& c, std::string_view what) const {
  CommandResult r = run_(c);
  if (!r.ok()) {
    std::string why = first_line(r.err);
    if (why.empty()) why = fmt::format("exit status {}", r.exit_code);
    throw std::runtime_error(fmt::format("--driver docker: {} failed: {}", what, why));
  }
  return r;
}

void DockerKongGateway::start() {
  check_docker_available(run_, opts_);
  std::string image = opts_.image_override;
  std::filesystem::path checkout;
  if (spec_.version.is_git()) {
    checkout = docker_checkout_dir(spec_);
    std::error_code ec;
    const bool exists = std::filesystem::exists(checkout / ".git", ec);
    for (const auto& c : docker_git_checkout_commands(spec_, opts_, exists)) {
      must(c, fmt::format("preparing Kong {} ({})", spec_.version.text, fmt::join(c.argv, " ")));
    }
    if (image.empty()) {
      const auto v = parse_kong_meta(common::read_file_or_empty(checkout / "kong" / "meta.lua"));
      if (!v) {
        throw std::runtime_error(
            fmt::format("--driver docker: cannot read Kong's version from {}", (checkout / "kong" / "meta.lua").string()));
      }
      // The release image the checkout's sources run on: major.minor.patch, suffix dropped.
      image = docker_release_image(v->substr(0, v->find_first_of("-", 0)));
      write_declarative_config(spec_, *v);
    } else {
      write_declarative_config(spec_, image.substr(image.rfind(':') + 1));
    }
  } else {
    if (image.empty()) image = docker_release_image(spec_.version.release);
    // The image's tag is the Kong version (an override image: its tag, else the version asked for).
    const auto colon = image.rfind(':');
    const std::string tag = colon == std::string::npos ? "" : image.substr(colon + 1);
    write_declarative_config(spec_, declarative_format_for(tag) ? tag : spec_.version.release);
  }
  plan_ = docker_plan(spec_, opts_, image, checkout);
  // A local image is used as it is; a pull only when the engine does not have it.
  if (!run_(plan_.image_exists).ok()) {
    const CommandResult pulled = run_(plan_.pull);
    if (!pulled.ok()) {
      std::string why = first_line(pulled.err);
      if (why.empty()) why = fmt::format("exit status {}", pulled.exit_code);
      throw std::runtime_error(fmt::format(
          "--driver docker: image {} is not on this Docker engine and `docker pull {}` failed: {}", image, image, why));
    }
  }
  run_(plan_.rm);  // a container left over by a killed kperf run with the same name
  // From here on stop() removes the container, also when `docker run` fails half way
  // (created, not started).
  started_ = true;
  if (opts_.remove_on_crash) start_guard();
  must(plan_.run, fmt::format("starting {}", image));
  try {
    wait_http_ready(
      plan_.ready_port, plan_.ready_path, std::chrono::seconds(60),
      [&] {
        const auto r = run_(plan_.running);
        return r.ok() && trimmed(r.out) == "true";
      },
      fmt::format("Kong {} (container {})", spec_.version.text, plan_.container));
  } catch (const std::runtime_error&) {
    // Kong logs to the container's stderr: its own words say why it did not come up.
    const auto logs = run_(plan_.logs);
    const std::string why = kong_failure(logs.err + logs.out, logs.err + logs.out);
    if (why.empty()) throw;
    throw std::runtime_error(fmt::format("--driver docker: Kong {} did not start ({}): {}", spec_.version.text,
                                         image, why));
  }
  const auto r = must(plan_.inspect_pid, "docker inspect");
  pid_t init = -1;
  try {
    init = static_cast<pid_t>(std::stol(trimmed(r.out)));
  } catch (const std::exception&) {
    throw std::runtime_error(fmt::format("--driver docker: unexpected container pid '{}'", trimmed(r.out)));
  }
  const auto master = find_nginx_master(init);
  if (!master) {
    throw std::runtime_error(fmt::format("--driver docker: no nginx master process under container pid {}", init));
  }
  master_ = *master;
}

std::vector<std::string> DockerKongGateway::error_log_problems() const {
  return kong_error_log_problems(error_log().value_or(""));
}

std::string DockerKongGateway::description() const {
  return fmt::format("Kong {} (docker: {})", spec_.version.text, plan_.image);
}

std::optional<std::string> DockerKongGateway::error_log() const {
  if (!started_) return saved_logs_;
  const auto r = run_(plan_.logs);
  return r.err + r.out;
}

void DockerKongGateway::stop() noexcept {
  if (!started_) return;
  started_ = false;
  try {
    const auto logs = run_(plan_.logs);
    saved_logs_ = logs.err + logs.out;
    run_(plan_.stop);
    run_(plan_.rm);
  } catch (...) {
  }
  end_guard();
  master_ = -1;
}

std::string DockerKongGateway::proxy_url() const { return fmt::format("http://127.0.0.1:{}", spec_.proxy_port); }

}  // namespace kperf

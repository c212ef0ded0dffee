// Choosing the local or the docker driver for a Kong version.
#include "kperf/gateway/kong_select.hpp"

#include <stdexcept>

#include <fmt/core.h>

namespace kperf {

DriverKind choose_kong_driver(const KongVersionSpec& version, const LocalOptions& local, const CommandRunner& run,
                              const DockerOptions& docker) {
  std::vector<std::string> found;
  std::string local_why;
  if (version.is_git() && local.kong_prefix.empty()) {
    local_why = "a git version runs locally only from a source tree given with --kong-prefix";
  } else if (match_local_kong(local, version, run, &found)) {
    return DriverKind::local;
  } else {
    std::string list;
    for (const auto& f : found) list += (list.empty() ? "" : ", ") + f;
    local_why = fmt::format("no local Kong {} (found {}; looked at {})", version.text, list.empty() ? "none" : list,
                            local_kong_search_description(local));
  }
  const CommandResult info = run({{docker.docker, "info", "--format", "{{.ServerVersion}}"}, {}});
  if (info.ok() && !first_line(info.out).empty()) return DriverKind::docker;
  std::string docker_why = first_line(info.err);
  if (info.exit_code == 127) docker_why = fmt::format("no {} command", docker.docker);
  if (docker_why.empty()) docker_why = fmt::format("exit status {}", info.exit_code);
  const std::string image = version.is_git() ? "Kong's image" : docker_release_image(version.release);
  throw std::runtime_error(fmt::format(
      "--version {}: {}, and no Docker engine for {} (docker info: {}); install Kong {} or give --kong-prefix DIR (its "
      "install prefix or source tree), or start Docker; --driver lab runs the built-in lab gateway instead",
      version.text, local_why, image, docker_why, version.text));
}

}  // namespace kperf

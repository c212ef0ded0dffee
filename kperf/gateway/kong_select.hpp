// Which driver runs a Kong version when the user names none (`kperf profile --version V`):
// a local Kong whose `kong version` is V (--kong-prefix, `kong` on the PATH, the usual
// install prefixes), else Docker's image when an engine answers, else one error line that
// names both ways and what was looked for.
#pragma once

#include "kperf/gateway/docker_kong_gateway.hpp"
#include "kperf/gateway/driver_kind.hpp"
#include "kperf/gateway/local_kong_gateway.hpp"

namespace kperf {

// DriverKind::local or DriverKind::docker; throws std::runtime_error (one line) when neither can run it.
DriverKind choose_kong_driver(const KongVersionSpec& version, const LocalOptions& local, const CommandRunner& run,
                              const DockerOptions& docker = {});

}  // namespace kperf

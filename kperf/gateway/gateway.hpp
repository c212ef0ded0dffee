// What `kperf profile` and `kperf attach` sample, behind one interface: the lab gateway
// (lab_gateway.hpp), a local Kong (local_kong_gateway.hpp), Kong in Docker (docker_kong_gateway.hpp)
// or a running process kperf attaches to (attached_process.hpp). The caller starts it, samples
// master_pid()'s workers while loading proxy_url(), and copies error_log() into the
// outputs; stop() (also run by the destructor) stops only what start() started.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace kperf {

class Gateway {
 public:
  virtual ~Gateway() = default;
  // Brings it up (or finds it, for attach); returns once it serves. Throws one line.
  virtual void start() = 0;
  virtual void stop() noexcept = 0;
  // The nginx master whose workers are sampled (or the lone process, for attach).
  virtual pid_t master_pid() const = 0;
  // http://127.0.0.1:PORT where the load goes; "" when kperf does not know it (attach).
  virtual std::string proxy_url() const = 0;
  // What its error log got during the session; nullopt when it has none kperf can read.
  virtual std::optional<std::string> error_log() const = 0;
  // Lines of its logs at [error] or worse, for the summary.
  virtual std::vector<std::string> error_log_problems() const { return {}; }
  // "lab", "local", "docker" or "attach".
  virtual std::string driver() const = 0;
  // What it is, for reports: "lab gateway", "Kong 2.4.0 (local: /usr/local/bin/kong)".
  virtual std::string description() const = 0;
};

}  // namespace kperf

// The lab behind the Gateway interface: the lab gateway running a workload (its nginx +
// Lua gateway in front of the upstream), or, with LabOptions::with_gateway false, the
// upstream alone (the baseline's target; the upstream a Kong run proxies to).
#pragma once

#include <memory>
#include <optional>

#include "kperf/gateway/gateway.hpp"
#include "kperf/gateway/lab.hpp"

namespace kperf {

class LabGateway : public Gateway {
 public:
  LabGateway(Workload workload, LabOptions options);
  ~LabGateway() override;

  void start() override;  // constructs the Lab: both servers answer, or one line thrown
  void stop() noexcept override;
  pid_t master_pid() const override;  // the gateway's, or the upstream's without gateway
  std::string proxy_url() const override;
  std::optional<std::string> error_log() const override;
  std::vector<std::string> error_log_problems() const override;
  std::string driver() const override { return "lab"; }
  std::string description() const override;  // "lab gateway" or "lab upstream (baseline)"

  const Lab& lab() const;  // after start()

 private:
  Workload workload_;
  LabOptions options_;
  std::optional<Lab> lab_;
};

}  // namespace kperf

// The lab gateway (or its upstream alone) as a Gateway.
#include "kperf/gateway/lab_gateway.hpp"

#include <stdexcept>

#include "common/text_file.hpp"

namespace kperf {

LabGateway::LabGateway(Workload workload, LabOptions options)
    : workload_(std::move(workload)), options_(std::move(options)) {}

LabGateway::~LabGateway() { stop(); }

void LabGateway::start() { lab_.emplace(workload_, options_); }

void LabGateway::stop() noexcept {
  if (lab_) lab_->stop();
}

const Lab& LabGateway::lab() const {
  if (!lab_) throw std::logic_error("LabGateway::lab() before start()");
  return *lab_;
}

pid_t LabGateway::master_pid() const {
  return options_.with_gateway ? lab().gateway_master_pid() : lab().upstream_master_pid();
}

std::string LabGateway::proxy_url() const { return options_.with_gateway ? lab().gateway_url() : lab().upstream_url(); }

std::optional<std::string> LabGateway::error_log() const {
  return common::read_file_or_empty(options_.with_gateway ? lab().error_log() : lab().upstream_error_log());
}

std::vector<std::string> LabGateway::error_log_problems() const { return lab().error_log_problems(); }

std::string LabGateway::description() const {
  return options_.with_gateway ? "lab gateway" : "lab upstream (baseline)";
}

}  // namespace kperf

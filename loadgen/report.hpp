// Reports of load tests: wrk's text format line for line (what Kong's perf framework
// parses), JSON with every figure, and the combination of several runs.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loadgen/load.hpp"

namespace kperf::loadgen {

// "Running 10s test @ URL\n  T threads and C connections\n" (printed before the run).
std::string format_text_header(const LoadConfig& config);
// The rest of wrk's report; `distribution` adds the --latency block.
std::string format_text_result(const LoadConfig& config, const LoadResult& result,
                               bool distribution);

nlohmann::json result_json(const LoadResult& result);
nlohmann::json config_json(const LoadConfig& config);

// Several runs of the same test combined (as Kong's framework does with 3 wrk runs).
struct CombinedResult {
  size_t runs = 0;
  double rps_mean = 0, rps_min = 0, rps_max = 0;
  uint64_t requests = 0, bytes = 0, in_flight = 0;
  ErrorCounts errors;
  Histogram latency;  // merged: mean is weighted by requests, max is the max of maxes
};
CombinedResult combine(const std::vector<LoadResult>& runs);
std::string format_combined_text(const CombinedResult& combined);
nlohmann::json combined_json(const CombinedResult& combined);

}  // namespace kperf::loadgen

// The load generator's command-line flags (`kperf load`'s -t/-c/-R/-H/... shared with
// `kperf attach`) and their mapping into a loadgen::LoadConfig.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "loadgen/load.hpp"

namespace kperf {

struct LoadFlags {
  int threads = 2;
  int connections = 10;
  uint64_t requests = 0;  // -n (only where the command offers it); 0: none
  double rate = 0;        // 0: closed loop
  bool latency = false;
  std::string timeout = "2s";
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body;
  std::string body_file;
  std::string paths_file;
  int64_t seed = -1;
  bool uncorrected = false;
};

// Adds -t -c [-n] -R --latency --timeout -m -H --body --body-file --paths --seed
// --uncorrected to `cmd`, bound to `f`. `latency_help` documents what --latency prints.
void add_load_flags(CLI::App* cmd, LoadFlags& f, bool with_requests, const std::string& latency_help);

// The load config for `url` running for `duration` (text such as "10s", checked by
// duration_value); throws UsageError with one line for a bad combination of flags.
// Without `duration_given` and with -n, the run has no duration limit.
loadgen::LoadConfig make_load_config(const LoadFlags& f, const std::string& url, const std::string& duration,
                                     bool duration_given);

}  // namespace kperf

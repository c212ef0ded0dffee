// Checks that this process may load and run the sampler: root or CAP_BPF + CAP_PERFMON,
// kernel BTF, BPF perf_event programs and ring buffers. Throws one clear message.
#pragma once

#include <string>

namespace kperf::prof {

// Empty when everything needed is there, else a one-line description of what is missing.
std::string missing_bpf_support();
// Throws std::runtime_error(missing_bpf_support()) when something is missing.
void require_bpf_support();

}  // namespace kperf::prof

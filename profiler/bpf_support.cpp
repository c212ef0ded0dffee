// Privilege and kernel feature checks done before the sampler is loaded.
#include "profiler/bpf_support.hpp"

#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace kperf::prof {

namespace {

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool has_effective_cap(const __user_cap_data_struct (&data)[2], int cap) {
  return data[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace

std::string missing_bpf_support() {
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return "cannot read this process's capabilities";
  std::vector<std::string> missing;
  if (!has_effective_cap(data, CAP_BPF) && !has_effective_cap(data, CAP_SYS_ADMIN)) {
    missing.emplace_back("CAP_BPF");
  }
  if (!has_effective_cap(data, CAP_PERFMON) && !has_effective_cap(data, CAP_SYS_ADMIN)) {
    missing.emplace_back("CAP_PERFMON");
  }
  if (!missing.empty()) {
    return fmt::format("recording needs root or CAP_BPF and CAP_PERFMON; missing {}",
                       fmt::join(missing, " and "));
  }
  if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) {
    return "this kernel has no BTF (/sys/kernel/btf/vmlinux missing; CONFIG_DEBUG_INFO_BTF)";
  }
  if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_PERF_EVENT, nullptr) <= 0) {
    return "this kernel cannot run BPF perf_event programs (BPF_PROG_TYPE_PERF_EVENT)";
  }
  if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr) <= 0) {
    return "this kernel has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8+)";
  }
  return {};
}

void require_bpf_support() {
  if (auto why = missing_bpf_support(); !why.empty()) throw std::runtime_error(why);
}

}  // namespace kperf::prof

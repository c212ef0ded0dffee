// The libbpf side of the sampler: loads the skeleton, opens per-CPU cpu-clock events,
// attaches the program, manages the tgid map and reads the ring buffer.
#include "profiler/sampler.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <fmt/core.h>

#include "common/unique_fd.hpp"
#include "profiler/bpf/sample.h"
#include "profiler/bpf_support.hpp"
#include "profiler/online_cpus.hpp"

#include "profiler/bpf/sampler.skel.h"

namespace kperf::prof {

namespace {

// libbpf's warnings while loading, kept for the error message instead of being printed.
std::mutex g_log_mutex;
std::string g_last_libbpf_warning;

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  char buf[512];
  vsnprintf(buf, sizeof(buf), fmt, args);
  std::string line(buf);
  while (!line.empty() && line.back() == '\n') line.pop_back();
  std::lock_guard lock(g_log_mutex);
  if (g_last_libbpf_warning.empty()) g_last_libbpf_warning = line;
  return 0;
}

std::string take_libbpf_warning() {
  std::lock_guard lock(g_log_mutex);
  std::string w;
  w.swap(g_last_libbpf_warning);
  return w;
}

size_t round_up_pow2(size_t v) {
  size_t p = 4096;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

size_t auto_ring_bytes(int frequency, uint32_t stack_size, unsigned cpus) {
  // A record as the BPF program reserves it: the ring's 8-byte header, the fixed sample,
  // the copied stack and the room for the two Lua windows (reserved whether used or not).
  const double record =
      8.0 + sizeof(struct kperf_sample) + stack_size + KPERF_LUA_WINDOW_BYTES + KPERF_LUA_RES_WINDOW_BYTES;
  const double quarter_second = record * std::max(frequency, 1) * std::max(cpus, 1u) / 4;
  const size_t lo = 4u << 20, hi = 64u << 20;
  if (quarter_second >= static_cast<double>(hi)) return hi;
  return std::clamp(round_up_pow2(static_cast<size_t>(quarter_second)), lo, hi);
}

namespace {

long read_long_file(const char* path, long fallback) {
  std::ifstream in(path);
  long v = fallback;
  if (in >> v) return v;
  return fallback;
}

}  // namespace

struct Sampler::Impl {
  Handler handler;
  kperf_sampler* skel = nullptr;
  ring_buffer* ring = nullptr;
  std::vector<common::UniqueFd> events;  // the perf events, one per CPU
  std::vector<bpf_link*> links;
  int handled = 0;

  ~Impl() {
    detach();
    if (ring) ring_buffer__free(ring);
    if (skel) kperf_sampler__destroy(skel);
  }
  static int on_record(void* ctx, void* data, size_t size) {
    auto* impl = static_cast<Impl*>(ctx);
    impl->handler(std::span<const uint8_t>(static_cast<const uint8_t*>(data), size));
    ++impl->handled;
    return 0;
  }
  void detach() {
    for (auto* l : links) bpf_link__destroy(l);
    links.clear();
    events.clear();
  }
};

Sampler::Sampler(const SamplerOptions& opts, Handler handler) : opts_(opts), impl_(std::make_unique<Impl>()) {
  if (opts_.frequency < 1) throw std::runtime_error("sampling frequency must be at least 1 Hz");
  const long max_rate = read_long_file("/proc/sys/kernel/perf_event_max_sample_rate", 100000);
  if (opts_.frequency > max_rate) {
    throw std::runtime_error(fmt::format(
        "sampling frequency {} Hz is above kernel.perf_event_max_sample_rate ({})", opts_.frequency, max_rate));
  }
  if (opts_.stack_size > KPERF_MAX_USTACK || opts_.stack_size % 8 != 0) {
    throw std::runtime_error(
        fmt::format("stack size must be a multiple of 8 bytes, at most {}", KPERF_MAX_USTACK));
  }
  require_bpf_support();
  impl_->handler = std::move(handler);

  libbpf_set_print(libbpf_log);
  take_libbpf_warning();
  impl_->skel = kperf_sampler__open();
  if (!impl_->skel) {
    throw std::runtime_error(fmt::format("cannot open the BPF sampler: {} {}", strerror(errno), take_libbpf_warning()));
  }
  auto* skel = impl_->skel;
  skel->rodata->filter_tgids = !opts_.all_processes;
  skel->rodata->self_tgid = static_cast<__u32>(getpid());
  skel->rodata->ustack_size = opts_.stack_size;
  const size_t wanted = opts_.ring_bytes ? opts_.ring_bytes
                                         : auto_ring_bytes(opts_.frequency, opts_.stack_size,
                                                           static_cast<unsigned>(online_cpus().size()));
  const size_t ring = round_up_pow2(std::max<size_t>(wanted, 1u << 20));
  skel->rodata->wakeup_bytes = ring / 4;
  if (int err = bpf_map__set_max_entries(skel->maps.samples, static_cast<__u32>(ring)); err) {
    throw std::runtime_error(fmt::format("cannot size the ring buffer to {} bytes: {}", ring, strerror(-err)));
  }
  if (int err = kperf_sampler__load(skel); err) {
    throw std::runtime_error(fmt::format("cannot load the BPF sampler: {} ({})", strerror(-err), take_libbpf_warning()));
  }
  impl_->ring = ring_buffer__new(bpf_map__fd(skel->maps.samples), Impl::on_record, impl_.get(), nullptr);
  if (!impl_->ring) throw std::runtime_error(fmt::format("cannot open the BPF ring buffer: {}", strerror(errno)));
}

Sampler::~Sampler() = default;

void Sampler::add_tgid(pid_t tgid) {
  const __u32 key = static_cast<__u32>(tgid);
  const __u8 one = 1;
  if (bpf_map__update_elem(impl_->skel->maps.tgids, &key, sizeof(key), &one, sizeof(one), BPF_ANY) != 0) {
    throw std::runtime_error(fmt::format("cannot add pid {} to the BPF filter: {}", tgid, strerror(errno)));
  }
}

void Sampler::remove_tgid(pid_t tgid) {
  const __u32 key = static_cast<__u32>(tgid);
  bpf_map__delete_elem(impl_->skel->maps.tgids, &key, sizeof(key), 0);  // absent is fine
  bpf_map__delete_elem(impl_->skel->maps.lua_vms, &key, sizeof(key), 0);
}

void Sampler::set_lua_vm(pid_t tgid, const kperf_lua_vm& vm) {
  const __u32 key = static_cast<__u32>(tgid);
  if (bpf_map__update_elem(impl_->skel->maps.lua_vms, &key, sizeof(key), &vm, sizeof(vm), BPF_ANY) != 0) {
    throw std::runtime_error(fmt::format("cannot register pid {}'s LuaJIT VM with the sampler: {}", tgid, strerror(errno)));
  }
}

void Sampler::start() {
  if (!impl_->links.empty()) return;
  for (int cpu : online_cpus()) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.freq = 1;
    attr.sample_freq = static_cast<__u64>(opts_.frequency);
    const int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      if (errno == ENODEV) continue;  // went offline meanwhile
      const int e = errno;
      impl_->detach();
      throw std::runtime_error(fmt::format("cannot open a cpu-clock perf event on CPU {}: {}", cpu, strerror(e)));
    }
    impl_->events.emplace_back(fd);
    bpf_link* link = bpf_program__attach_perf_event(impl_->skel->progs.kperf_sample, fd);
    if (!link) {
      const int e = errno;
      impl_->detach();
      throw std::runtime_error(
          fmt::format("cannot attach the BPF program to CPU {}'s perf event: {}", cpu, strerror(e)));
    }
    impl_->links.push_back(link);
  }
  if (impl_->links.empty()) throw std::runtime_error("no online CPU could be sampled");
}

void Sampler::stop() { impl_->detach(); }

int Sampler::poll(int timeout_ms) {
  impl_->handled = 0;
  // Samples are submitted without wakeups (batched): after the wait, consume everything.
  const int r = ring_buffer__poll(impl_->ring, timeout_ms);
  if (r < 0 && r != -EINTR) throw std::runtime_error(fmt::format("reading the BPF ring buffer: {}", strerror(-r)));
  ring_buffer__consume(impl_->ring);
  return impl_->handled;
}

int Sampler::drain() {
  impl_->handled = 0;
  ring_buffer__consume(impl_->ring);
  return impl_->handled;
}

SamplerCounters Sampler::counters() const {
  const int ncpu = libbpf_num_possible_cpus();
  SamplerCounters c;
  if (ncpu <= 0) return c;
  std::vector<__u64> values(static_cast<size_t>(ncpu));
  auto sum = [&](__u32 idx) -> uint64_t {
    if (bpf_map__lookup_elem(impl_->skel->maps.counters, &idx, sizeof(idx), values.data(),
                             values.size() * sizeof(__u64), 0) != 0) {
      return 0;
    }
    uint64_t s = 0;
    for (auto v : values) s += v;
    return s;
  };
  c.samples = sum(KPERF_CNT_SAMPLES);
  c.lost = sum(KPERF_CNT_LOST);
  c.kstack_errors = sum(KPERF_CNT_KSTACK_ERR);
  c.ustack_errors = sum(KPERF_CNT_USTACK_ERR);
  return c;
}

}  // namespace kperf::prof

// The loaded BPF sampler (RAII): the skeleton, one cpu-clock perf event per online CPU
// with the program attached, the tgid filter map, and the ring buffer reader.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "profiler/bpf/sample.h"

namespace kperf::prof {

struct SamplerOptions {
  int frequency = 99;                  // samples per second per CPU (perf -F)
  uint32_t stack_size = 16 * 1024;     // bytes of user stack copied per sample
  size_t ring_bytes = 0;               // ring buffer size, rounded up to a power of 2; 0: auto_ring_bytes
  bool all_processes = false;          // no tgid filter (except this process)
};

struct SamplerCounters {
  uint64_t samples = 0;       // target samples seen by the BPF program
  uint64_t lost = 0;          // dropped: ring buffer full
  uint64_t kstack_errors = 0; // bpf_get_stack failures
  uint64_t ustack_errors = 0; // user stack not readable at all
  // The counts since `before` (the counters are the BPF program's, for the whole session).
  SamplerCounters since(const SamplerCounters& before) const {
    return {samples - before.samples, lost - before.lost, kstack_errors - before.kstack_errors,
            ustack_errors - before.ustack_errors};
  }
};

// The ring buffer a sampling rate needs: a quarter of a second of the largest records at
// `frequency` Hz on every one of `cpus` CPUs (5 of the reader's 50 ms polls), as a power
// of 2 between 4 and 64 MiB. The ring counts twice in kperf's RSS (libbpf maps its data
// pages twice, for records that wrap), all of it from the start: 32 MiB at 999 Hz on 2
// CPUs were 64 MiB of a 91 MiB peak RSS (issue 16); 16 MiB now.
size_t auto_ring_bytes(int frequency, uint32_t stack_size, unsigned cpus);

class Sampler {
 public:
  // Called for every ring buffer record, on the thread calling poll()/drain().
  using Handler = std::function<void(std::span<const uint8_t> record)>;

  // Checks privileges, opens and loads the BPF object. Throws std::runtime_error.
  Sampler(const SamplerOptions& opts, Handler handler);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // The tgid filter (ignored with all_processes). Safe while sampling.
  void add_tgid(pid_t tgid);
  void remove_tgid(pid_t tgid);
  // A target's LuaJIT VM: its samples then carry the VM state (removed with the tgid).
  void set_lua_vm(pid_t tgid, const kperf_lua_vm& vm);

  // Opens the perf events and attaches the program: sampling starts.
  void start();
  // Detaches and closes the perf events: no new samples (queued ones stay readable).
  void stop();

  // Waits up to timeout_ms for data, then handles everything queued. Returns records handled.
  int poll(int timeout_ms);
  // Handles everything queued without waiting.
  int drain();

  SamplerCounters counters() const;
  const SamplerOptions& options() const { return opts_; }

 private:
  struct Impl;
  SamplerOptions opts_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kperf::prof

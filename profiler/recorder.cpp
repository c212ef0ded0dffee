// The record loop: poll the ring buffer, follow targets every second, stop cleanly.
#include "profiler/recorder.hpp"

#include <malloc.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include <fmt/core.h>

#include "profiler/launched_command.hpp"
#include "profiler/targets.hpp"
#include "symbolizer/session.hpp"

namespace kperf::prof {

namespace {
using Clock = std::chrono::steady_clock;
constexpr int kPollMs = 50;
constexpr auto kRefreshInterval = std::chrono::seconds(1);

// This process's name as the kernel reports it in samples (a forked child keeps it until exec).
std::string own_comm() {
  std::ifstream in("/proc/self/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}
}  // namespace

struct Recorder::Impl {
  // Samples per (leaf node, tgid, tid), keyed as leaf << 64 | tgid << 32 | tid.
  struct KeyHash {
    std::size_t operator()(const __uint128_t& k) const {
      const auto lo = static_cast<std::uint64_t>(k), hi = static_cast<std::uint64_t>(k >> 64);
      return std::hash<std::uint64_t>{}(lo ^ (hi * 0x9e3779b97f4a7c15ULL));
    }
  };
  std::unordered_map<__uint128_t, std::uint64_t, KeyHash> thread_counts;
  sym::Session session;
  std::optional<LuaSplicer> lua;
  std::optional<StackAssembler> assembler;
  std::optional<Targets> targets;
  std::optional<Sampler> sampler;
  std::unique_ptr<LaunchedCommand> command;
};

Recorder::Recorder(RecordOptions opts, const std::atomic<bool>& stop_requested)
    : opts_(std::move(opts)), stop_(stop_requested), impl_(std::make_unique<Impl>()) {
  const int modes = (!opts_.pids.empty() ? 1 : 0) + (!opts_.command.empty() ? 1 : 0) +
                    (opts_.sampler.all_processes ? 1 : 0);
  if (modes != 1) throw std::runtime_error("give exactly one of -p PID, -a or -- COMMAND");
  if (opts_.duration_s < 0) throw std::runtime_error("duration must not be negative");
  impl_->assembler.emplace(impl_->session, trie_, opts_.root);
  if (!opts_.pids.empty()) impl_->targets.emplace(opts_.pids);  // throws for a gone pid
  auto* assembler = &*impl_->assembler;
  auto* counts = &impl_->thread_counts;
  impl_->sampler.emplace(opts_.sampler, [assembler, counts](std::span<const uint8_t> record) {
    if (const auto added = assembler->add_record(record)) {
      ++(*counts)[(__uint128_t{added->leaf} << 64) | (__uint128_t{static_cast<std::uint32_t>(added->pid)} << 32) |
                  static_cast<std::uint32_t>(added->tid)];
    }
  });
  impl_->session.load_kernel_symbols();  // now, not while sampling: most samples have kernel frames
  if (opts_.lua) {
    impl_->lua.emplace(impl_->session, opts_.lua_lines);
    Sampler* sampler = &*impl_->sampler;
    impl_->lua->set_vm_listener([sampler](pid_t pid, const kperf_lua_vm& vm) { sampler->set_lua_vm(pid, vm); });
    assembler->set_lua_splicer(&*impl_->lua);
  }
}

Recorder::~Recorder() = default;

std::vector<ThreadSamples> Recorder::thread_samples() const {
  std::vector<ThreadSamples> out;
  out.reserve(impl_->thread_counts.size());
  for (const auto& [key, count] : impl_->thread_counts) {
    out.push_back(ThreadSamples{static_cast<fg::NodeId>(key >> 64), static_cast<pid_t>(static_cast<std::uint32_t>(key >> 32)),
                                static_cast<pid_t>(static_cast<std::uint32_t>(key)), count});
  }
  return out;
}

const std::vector<fg::FrameOrigin>& Recorder::frame_origins() const { return impl_->assembler->frame_origins(); }

void Recorder::cut() {
  trie_.clear_stacks();
  impl_->thread_counts.clear();
}

void Recorder::follow(const TargetChanges& changes, bool report) {
  Sampler& sampler = *impl_->sampler;
  StackAssembler& assembler = *impl_->assembler;
  for (pid_t p : changes.added) {
    sampler.add_tgid(p);
    assembler.add_process(p);
  }
  for (pid_t p : changes.removed) sampler.remove_tgid(p);
  if (!changes.removed.empty()) {
    sampler.drain();  // their last samples, while their maps are still known
    for (pid_t p : changes.removed) assembler.forget_process(p);
    malloc_trim(0);  // their caches' memory back to the system: a long attach stays flat
  }
  if (report && (!changes.added.empty() || !changes.removed.empty()) && opts_.on_targets_changed) {
    opts_.on_targets_changed(changes);
  }
}

RecordSummary Recorder::run() {
  Impl& m = *impl_;
  RecordSummary summary;
  Sampler& sampler = *m.sampler;
  StackAssembler& assembler = *m.assembler;
  if (runs_ > 0) {  // the cut between runs: the caches and the BPF program stay
    if (!opts_.command.empty()) throw std::logic_error("a launched command is recorded in one run only");
    cut();
    assembler.reset_stats();
    if (m.lua) m.lua->reset_stats();
  }
  ++runs_;
  const SamplerCounters before = sampler.counters();

  if (m.targets) follow(m.targets->refresh(), runs_ > 1);  // changes between runs are reported
  if (!opts_.command.empty()) {
    m.command = std::make_unique<LaunchedCommand>(opts_.command);
    assembler.skip_until_exec(m.command->pid(), own_comm());
    sampler.add_tgid(m.command->pid());
  }
  sampler.start();
  if (m.command) {
    m.command->release();  // throws if exec failed
    assembler.add_process(m.command->pid());
  }

  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts_.duration_s));
  auto next_refresh = start + kRefreshInterval;
  while (true) {
    sampler.poll(kPollMs);
    if (opts_.on_poll) opts_.on_poll(trie_);
    const auto now = Clock::now();
    if (stop_.load()) {
      summary.end_reason = EndReason::Interrupted;
      break;
    }
    if (opts_.duration_s > 0 && now >= end) {
      summary.end_reason = EndReason::Duration;
      break;
    }
    if (m.command && m.command->exited()) {
      summary.end_reason = EndReason::CommandExited;
      break;
    }
    if (now < next_refresh) continue;
    next_refresh = now + kRefreshInterval;
    if (m.targets) {
      follow(m.targets->refresh(), true);
      if (m.targets->all_gone()) {
        summary.end_reason = EndReason::TargetsExited;
        break;
      }
    } else if (opts_.sampler.all_processes) {
      // -a: drop processes that exited (after their queued samples are added).
      std::vector<pid_t> gone;
      for (pid_t p : assembler.known_processes()) {
        if (!process_alive(p)) gone.push_back(p);
      }
      if (!gone.empty()) {
        sampler.drain();
        for (pid_t p : gone) assembler.forget_process(p);
      }
    }
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sampler.stop();
  sampler.drain();
  summary.bpf = sampler.counters().since(before);
  summary.stacks = assembler.stats();
  if (m.lua) summary.lua = m.lua->stats();
  if (m.command) {
    m.command->terminate();  // still running when the duration ended or on SIGINT
    summary.command_status = m.command->wait_status();
  }
  return summary;
}

namespace {

// "name count, name count" for the non-zero counts of an array indexed by a cause enum.
template <typename Cause, typename Counts, typename NameOf>
std::string format_counts(const Counts& counts, NameOf name_of) {
  std::string out;
  for (size_t i = 0; i < std::size(counts); ++i) {
    if (counts[i] == 0) continue;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name_of(static_cast<Cause>(i)), counts[i]);
  }
  return out;
}

}  // namespace

std::string_view end_reason_name(EndReason r) {
  switch (r) {
    case EndReason::Duration: return "duration";
    case EndReason::Interrupted: return "interrupted";
    case EndReason::TargetsExited: return "targets exited";
    case EndReason::CommandExited: return "command exited";
  }
  return "?";
}

std::string format_unwind_causes(const AssemblerStats& st) {
  return format_counts<UnwindCause>(st.unwind_causes, unwind_cause_name);
}

std::string format_lua_causes(const LuaSpliceStats& l) {
  return format_counts<LuaSpliceCause>(l.causes, lua_splice_cause_name);
}

std::string format_summary(const RecordSummary& s) {
  const auto& st = s.stacks;
  const auto& l = s.lua;
  const std::string causes = format_unwind_causes(st);
  const std::string lua_causes = format_lua_causes(l);
  return fmt::format(
      "{} samples in {:.1f} s ({}), {} lost (ring buffer full), {} user stacks "
      "unwound to a root, {} unwind failures{}, {} user stack read failures, {} processes",
      st.samples, s.seconds, end_reason_name(s.end_reason), s.bpf.lost, st.unwound_to_root, st.unwind_failures,
      causes.empty() ? std::string() : " (" + causes + ")", s.bpf.ustack_errors, st.processes.size()) +
         (l.vm_samples == 0
              ? std::string()
              : fmt::format("; lua: {} samples in LuaJIT code ({} with Lua frames, {} in a VM kperf cannot read), "
                            "{} in traces, {} with captured VM state, {} incomplete walks{}",
                            l.vm_samples, l.lua_samples, l.unreadable, l.trace_samples, l.captured,
                            l.walk_errors, lua_causes.empty() ? std::string() : " (failures: " + lua_causes + ")"));
}

std::vector<std::string> lua_problem_lines(const RecordSummary& s) {
  std::vector<std::string> out;
  for (const auto& p : s.lua.problems) out.push_back("no Lua frames for " + p);
  return out;
}

}  // namespace kperf::prof

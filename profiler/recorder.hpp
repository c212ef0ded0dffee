// Recorder: one sampling session — sampler + target discovery + the unwind and symbolize
// pipeline into a stack trie — whose runs last until the duration ends, the targets are
// gone, a launched command exits, or a stop is requested. The session lives across runs
// (`kperf profile`'s warm-up and runs): the BPF program is loaded once and the caches
// (symbols, CFI, LuaJIT detection, prototypes) stay warm; each run starts a new trie.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flamegraph/trie.hpp"
#include "profiler/sampler.hpp"
#include "profiler/stack_assembler.hpp"
#include "profiler/targets.hpp"

namespace kperf::prof {

struct RecordOptions {
  SamplerOptions sampler;
  RootFrame root = RootFrame::Process;
  std::vector<pid_t> pids;           // -p (nginx masters expand to their workers)
  std::vector<std::string> command;  // -- CMD ARGS (started and recorded)
  double duration_s = 0;             // 0: until stopped / targets gone / command exited
  bool lua = true;                   // splice LuaJIT frames into stacks that run Lua
  bool lua_lines = false;            // Lua frames show the executing line (--lua-lines)
  // Called from run() when -p targets change after the start (reloads, exits); may be empty.
  std::function<void(const TargetChanges&)> on_targets_changed;
  // Called from run() after each ring buffer poll (<= 50 ms apart), on its thread, with the
  // trie being filled: `kperf agent` serves time windows of one running recording. May be empty.
  std::function<void(fg::StackTrie&)> on_poll;
};

// Why a recording ended.
enum class EndReason { Duration, Interrupted, TargetsExited, CommandExited };
// Its text in summaries and summary.json: "duration", "interrupted", "targets exited", "command exited".
std::string_view end_reason_name(EndReason r);

struct RecordSummary {
  SamplerCounters bpf;          // kernel side: samples seen, lost (ring buffer full)...
  AssemblerStats stacks;        // user side: unwound to a root, unwind failures...
  LuaSpliceStats lua;           // samples in LuaJIT code and how they were spliced
  double seconds = 0;           // sampling time
  EndReason end_reason = EndReason::Duration;
  int command_status = 0;       // wait status of the launched command
};

// `count` samples of one stack (its leaf node in the trie) from one thread.
struct ThreadSamples {
  fg::NodeId leaf = fg::StackTrie::kRoot;
  pid_t pid = 0;  // tgid
  pid_t tid = 0;
  std::uint64_t count = 0;
};

class Recorder {
 public:
  // Validates targets (a gone pid is an error), loads the sampler. Throws std::runtime_error.
  Recorder(RecordOptions opts, const std::atomic<bool>& stop_requested);
  ~Recorder();

  // Samples until an end condition; this run's stacks are in trie() afterwards (until the
  // next run), its counts in the summary. Again with `stop_requested` reset for another
  // run; a launched command is recorded in the first run only.
  RecordSummary run();
  const fg::StackTrie& trie() const { return trie_; }
  // Drops the stacks and per-thread counts sampled so far (frame ids and caches stay). A
  // new run does it; `kperf agent` does it from on_poll while no window is open, so that
  // a long-lived session holds no more than its open windows need.
  void cut();
  // How each stack's count splits by process and thread (no particular order); the
  // counts of one leaf add up to its count in trie().
  std::vector<ThreadSamples> thread_samples() const;
  // Where native and kernel frames were sampled, by FrameId of trie() (see StackAssembler).
  const std::vector<fg::FrameOrigin>& frame_origins() const;

 private:
  // Samples and maps for new targets, the last samples of gone ones; `report`: tell
  // on_targets_changed (not for the first run's initial targets).
  void follow(const TargetChanges& changes, bool report);

  struct Impl;
  int runs_ = 0;
  RecordOptions opts_;
  const std::atomic<bool>& stop_;
  fg::StackTrie trie_;
  std::unique_ptr<Impl> impl_;
};

// The figures of a recording in one line ("N samples in S s (reason), L lost ..."), for
// a caller to prefix with what it is ("kperf record: ", "Sampler: ").
std::string format_summary(const RecordSummary& s);
// The unwind failures by cause, non-zero ones only: "no_cfi 3, jit_code 2" ("" if none).
std::string format_unwind_causes(const AssemblerStats& st);
// The Lua splice failures by cause, non-zero ones only: "walk_stopped 3, no_cframe 1".
std::string format_lua_causes(const LuaSpliceStats& l);
// One line per process with a LuaJIT VM kperf could not read (build-id, path, what
// failed), for the caller to print before the summary; --no-lua is the way not to try.
std::vector<std::string> lua_problem_lines(const RecordSummary& s);

}  // namespace kperf::prof

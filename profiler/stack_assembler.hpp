// StackAssembler: turns one sample into its stack of frames — root (process name), user
// frames outermost first (unwound and named by the symbolizer), kernel frames `_[k]` on
// top — and adds it to the stack trie. Frame names are interned and cached per address.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flamegraph/pprof.hpp"
#include "flamegraph/trie.hpp"
#include "profiler/lua_splicer.hpp"
#include "profiler/sample_record.hpp"
#include "symbolizer/session.hpp"

namespace kperf::prof {

enum class RootFrame { Process, PerPid, PerTid };  // nginx | nginx-PID | nginx-PID/TID

// Why a user stack did not unwind to its outermost frame (AssemblerStats::unwind_causes).
enum class UnwindCause : uint8_t {
  EmptyStack = 0,  // no user stack bytes were copied (the sampler could not read any)
  NoMapping,       // a pc in no mapping of the process, even after re-reading its maps
  NoCfi,           // a pc in a file-backed module without a CFI row (frame pointer no help)
  JitCode,         // stopped in anonymous (JIT) code that the Lua splicer did not claim
  OffStack,        // CFA / return address outside the copied stack (stack deeper than the copy)
  BadCfa,          // CFA register unknown, CFA expression failed, sp did not increase
  MaxFrames,       // the frame limit was reached
  LuaWalk,         // the stack runs Lua; the Lua splice did not reach the outermost frame
  Error,           // the symbolizer threw (process gone, unreadable file)
  Count,
};
inline constexpr size_t kUnwindCauses = static_cast<size_t>(UnwindCause::Count);
// Short name for reports and summary.json ("no_cfi", "jit_code"...).
std::string_view unwind_cause_name(UnwindCause c);
// The cause of a native unwind's stop (Root: none); `stack_bytes` copied for the sample.
UnwindCause unwind_cause(sym::UnwindStop stop, size_t stack_bytes);

struct AssemblerStats {
  uint64_t samples = 0;           // samples added to the trie
  uint64_t user_stacks = 0;       // samples with user registers and stack bytes
  uint64_t unwound_to_root = 0;   // user stacks unwound to their outermost frame
  uint64_t unwind_failures = 0;   // user stacks that stopped early
  std::array<uint64_t, kUnwindCauses> unwind_causes{};  // the failures by cause (sum = unwind_failures)
  uint64_t malformed = 0;         // records that failed parse_sample
  uint64_t maps_rereads = 0;      // /proc/PID/maps re-read for unknown addresses
  uint64_t pre_exec = 0;          // dropped: a launched command's samples before its exec
  std::set<pid_t> processes;      // distinct tgids sampled
};

// The stack one sample was added as: its leaf node in the trie, its process and thread.
struct AddedSample {
  fg::NodeId leaf;
  pid_t pid;
  pid_t tid;
};

class StackAssembler {
 public:
  StackAssembler(sym::Session& session, fg::StackTrie& trie, RootFrame root);

  // Parses and adds one ring buffer record; nothing when it was not added (malformed,
  // or a launched command's sample before its exec).
  std::optional<AddedSample> add_record(std::span<const uint8_t> record);
  std::optional<AddedSample> add(const SampleView& sample);

  // Reads a process's maps now (a target known in advance, or after exec).
  void add_process(pid_t tgid);
  // Drops a process's maps and cached names (after its last sample was added).
  void forget_process(pid_t tgid);
  // Processes whose maps are loaded.
  std::vector<pid_t> known_processes() const;
  // A child forked by kperf that will exec the real command: its samples that still carry
  // kperf's own process name (before exec renamed it) are dropped, not shown as the command.
  void skip_until_exec(pid_t tgid, std::string pre_exec_comm);

  const AssemblerStats& stats() const { return stats_; }
  void reset_stats() { stats_ = AssemblerStats{}; }  // a new run of the session
  // Where native and kernel frames were first sampled (module, build-id, address), by
  // FrameId; frames past the end or with address 0 have none (Lua, root, unknown).
  const std::vector<fg::FrameOrigin>& frame_origins() const { return origins_; }

  // Lua frames: the splicer (owned by the caller) rewrites stacks that run LuaJIT code.
  void set_lua_splicer(LuaSplicer* splicer) { lua_ = splicer; }

 private:
  struct Process {
    bool maps_loaded = false;
    std::chrono::steady_clock::time_point last_read{};
    std::unordered_map<uint64_t, fg::FrameId> frames;  // (pc << 1 | is_return) -> name
    std::string root_comm;
    fg::FrameId root = fg::FrameTable::kNone;
    std::unordered_map<uint32_t, fg::FrameId> tid_roots;  // --per-tid
  };

  Process& process(pid_t tgid);
  bool load_maps(pid_t tgid, Process& p);
  fg::FrameId root_frame(const SampleView& s, Process& p);
  fg::FrameId user_frame(pid_t tgid, Process& p, uint64_t pc, bool is_return, bool& unknown);
  fg::FrameId kernel_frame(uint64_t addr);
  // Records where `frame` was sampled, the first time it is seen with an address.
  void note_origin(fg::FrameId frame, pid_t tgid, uint64_t addr);
  // Unwinds and names the user part into user_ (outermost first).
  struct UserResult {
    bool reached_root = false;
    bool unknown = false;  // some frame had no name: the maps may be stale
    UnwindCause cause = UnwindCause::Error;  // when !reached_root
  };
  UserResult user_frames(const SampleView& s, Process& p);

  sym::Session& session_;
  fg::StackTrie& trie_;
  RootFrame root_mode_;
  std::unordered_map<pid_t, Process> processes_;
  std::unordered_map<pid_t, std::string> pre_exec_;  // skip_until_exec
  std::unordered_map<uint64_t, fg::FrameId> kernel_frames_;
  std::vector<fg::FrameId> stack_;
  std::vector<fg::FrameId> user_;
  LuaSplicer* lua_ = nullptr;
  std::vector<SplicedFrame> spliced_;
  sym::UnwindResult unwound_;  // the sample's native unwind (reused)
  AssemblerStats stats_;
  std::vector<fg::FrameOrigin> origins_;
  fg::FrameId unknown_frame_;
};

}  // namespace kperf::prof

// LuaSplicer: puts the Lua frames of a LuaJIT VM into a sample's native stack — each run
// of interpreter (VM) frames is replaced by the Lua frames it runs; trace samples restart
// native unwinding below the trace from the VM's C frame. Uses profiler/luajit.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "profiler/bpf/sample.h"
#include "profiler/sample_record.hpp"
#include "symbolizer/session.hpp"

namespace kperf::prof {

// One user frame after splicing: a native pc, or a Lua / pseudo frame's text.
struct SplicedFrame {
  uint64_t pc = 0;
  bool is_return = false;
  std::string text;  // non-empty: a Lua frame (already formatted)
};

// Counted once per sample (commit_sample): every count is part of vm_samples.
struct LuaSpliceStats {
  uint64_t vm_samples = 0;      // samples whose native stack passes through the VM or a trace
  uint64_t lua_samples = 0;     // samples that got at least one Lua frame
  uint64_t trace_samples = 0;   // samples in trace code (native unwind restarted below it)
  uint64_t captured = 0;        // samples carrying the BPF-captured VM state
  uint64_t walk_errors = 0;     // walks that stopped early
  uint64_t unreadable = 0;      // samples in a LuaJIT VM whose layout is unknown or whose G does not validate
  std::vector<std::string> problems;  // one line per process whose VM cannot be read (build-id, path, why)
};

class LuaSplicer {
 public:
  // lua_lines: executing line instead of the function's first line (--lua-lines).
  LuaSplicer(sym::Session& session, bool lua_lines);
  ~LuaSplicer();
  LuaSplicer(const LuaSplicer&) = delete;
  LuaSplicer& operator=(const LuaSplicer&) = delete;

  // Called once a process's G is known (to register it in the BPF lua_vms map).
  using VmListener = std::function<void(pid_t, const kperf_lua_vm&)>;
  void set_vm_listener(VmListener l) { listener_ = std::move(l); }

  // Detects LuaJIT in a new target (nginx: finds G from ngx_cycle right away).
  void add_process(pid_t tgid);
  void forget_process(pid_t tgid);

  // native: the native unwind of s (innermost first). If the sample runs Lua, writes the
  // spliced user frames (innermost first) into out, updates reached_root, returns true;
  // otherwise returns false and leaves out alone.
  bool splice(const SampleView& s, const sym::UnwindResult& native, std::vector<SplicedFrame>& out,
              bool& reached_root);

  // Counts the last splice() of the sample just assembled (a sample may be spliced twice
  // when its process's maps are re-read): call once per sample.
  void commit_sample();

  // problems: one line per process whose VM was never read (unknown layout, or no G
  // validated), with the reason.
  LuaSpliceStats stats() const;

 private:
  struct Process;
  Process* process(pid_t tgid, bool adding);
  // A sample in a VM kperf cannot read: counted, and the process's reason reported once.
  void unreadable(pid_t tgid, const std::string& why);
  void publish(pid_t tgid, Process& p);

  sym::Session& session_;
  bool lua_lines_;
  VmListener listener_;
  struct Entry {
    std::unique_ptr<Process> process;  // null: no usable LuaJIT (yet)
    int tries = 0;
    std::chrono::steady_clock::time_point last_try{};
  };
  std::unordered_map<pid_t, Entry> processes_;
  LuaSpliceStats stats_;
  LuaSpliceStats pending_;  // the current sample's counts (problems stay in stats_)
  std::unordered_map<pid_t, std::string> unread_why_;  // processes with unreadable samples and no G
};

}  // namespace kperf::prof

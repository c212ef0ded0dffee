// Replaces the VM groups of a native stack with the Lua runs of a walk (see the header).
#include "profiler/lua_frame_merge.hpp"

namespace kperf::prof {

void find_vm_groups(const std::vector<bool>& vm, std::vector<size_t>& starts) {
  starts.clear();
  for (size_t i = 0; i < vm.size(); ++i) {
    if (vm[i] && (i == 0 || !vm[i - 1])) starts.push_back(i);
  }
}

void LuaFrameMerger::assign_runs(const LuaRuns& runs) {
  groups_.clear();
  const size_t nruns = runs.runs();
  for (size_t g = 0; g < starts_.size(); ++g) {
    Group& gr = groups_.emplace_back();
    gr.start = starts_[g];
    if (g < nruns) {
      gr.first = runs.run_begin(g);
      gr.last = g + 1 == starts_.size() ? runs.frames().size() : runs.run_end(g);
    }
    gr.interpreter = gr.first == gr.last;
  }
}

// A C function called from Lua is the innermost frame of its run and, natively, the
// frame right above the VM group that called it: show it once. The native frame stays
// (its real symbol); an unnamed one (`lib+0xSTART`) takes the call-site name instead.
void LuaFrameMerger::show_c_function_once(const NativeStack& native, const LuaRuns& runs, const NameOf& name_of,
                                          Group& g) {
  const size_t above = g.start - 1;
  if (g.start == 0 || g.interpreter || native.vm[above]) return;
  const LuaRunFrame& top = runs.frames()[g.first];
  if (top.cfunc == 0) return;
  cname_ = name_of(top.cfunc, false);  // a copy: the next lookup may drop the cached name
  const std::string& nname = name_of(native.pcs[above], above > 0);
  if (cname_ != nname || nname == "[unknown]") return;
  if (!top.native_named && nname.find("+0x") != std::string::npos) g.above_text = g.first;
  ++g.first;
}

void LuaFrameMerger::merge(const NativeStack& native, const LuaRuns& runs, const NameOf& name_of,
                           std::vector<SplicedFrame>& out) {
  find_vm_groups(native.vm, starts_);
  assign_runs(runs);
  for (Group& g : groups_) show_c_function_once(native, runs, name_of, g);
  auto& frames = runs.frames();
  out.clear();
  for (size_t i = 0, g = 0; i < native.pcs.size(); ++i) {
    if (native.vm[i]) {
      if (g < groups_.size() && groups_[g].start == i) {
        const Group& gr = groups_[g++];
        if (gr.interpreter) out.push_back(SplicedFrame{0, false, "[lua:interpreter]"});
        for (size_t f = gr.first; f < gr.last; ++f) out.push_back(SplicedFrame{0, false, frames[f].text});
      }
      continue;
    }
    if (g < groups_.size() && groups_[g].start == i + 1 && groups_[g].above_text != SIZE_MAX) {
      out.push_back(SplicedFrame{0, false, frames[groups_[g].above_text].text});
    } else {
      out.push_back(SplicedFrame{native.pcs[i], i > 0, {}});
    }
  }
}

}  // namespace kperf::prof

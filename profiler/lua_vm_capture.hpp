// The LuaJIT VM state the BPF sampler captured with a sample (kperf_lua_state words and
// the Lua stack windows) turned into RemoteMemory snapshots, so that the frame walker
// reads the VM as it was at sample time. Used by LuaSplicer.
#pragma once

#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/resumer.hpp"
#include "profiler/luajit/vm_layout.hpp"
#include "profiler/sample_record.hpp"

namespace kperf::prof {

// G, cur_L and its stack fields, cur_L's C frame pc, the innermost frames' functions and
// the window of Lua stack slots.
void add_captured_state(const SampleView& s, const lj::VmOffsets& o, lj::RemoteMemory& mem);

// What the kernel side found about cur_L's resumer: its words and window as snapshots,
// and cur_L's C frame and the one above it from the copied native stack (the resume
// call's return address and saved lua_State, as at sample time).
// nginx: ngx_lua's co_ctx are found in this process (a coroutine without one is unknown).
lj::ResumerCapture add_captured_resumer(const SampleView& s, const lj::VmOffsets& o, bool nginx,
                                        lj::RemoteMemory& mem);

}  // namespace kperf::prof

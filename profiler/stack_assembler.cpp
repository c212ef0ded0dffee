// Sample -> frames -> trie, with per-process caches of frame names so the symbolizer is
// asked about each address once (until the process's maps are re-read).
#include "profiler/stack_assembler.hpp"

#include <algorithm>
#include <exception>

#include <fmt/core.h>

namespace kperf::prof {

namespace {
// A process whose stacks hit unknown addresses gets its maps re-read at most this often
// (dlopen'ed libraries, exec); never per sample.
constexpr auto kMapsRereadInterval = std::chrono::milliseconds(1000);
}  // namespace

std::string_view unwind_cause_name(UnwindCause c) {
  switch (c) {
    case UnwindCause::EmptyStack: return "empty_stack";
    case UnwindCause::NoMapping: return "no_mapping";
    case UnwindCause::NoCfi: return "no_cfi";
    case UnwindCause::JitCode: return "jit_code";
    case UnwindCause::OffStack: return "off_stack";
    case UnwindCause::BadCfa: return "bad_cfa";
    case UnwindCause::MaxFrames: return "max_frames";
    case UnwindCause::LuaWalk: return "lua_walk";
    case UnwindCause::Error: return "error";
    case UnwindCause::Count: break;
  }
  return "?";
}

UnwindCause unwind_cause(sym::UnwindStop stop, size_t stack_bytes) {
  if (stack_bytes == 0) return UnwindCause::EmptyStack;
  switch (stop) {
    case sym::UnwindStop::NoMapping: return UnwindCause::NoMapping;
    case sym::UnwindStop::NoCfi: return UnwindCause::NoCfi;
    case sym::UnwindStop::AnonCode: return UnwindCause::JitCode;
    case sym::UnwindStop::OffStack: return UnwindCause::OffStack;
    case sym::UnwindStop::BadCfa: return UnwindCause::BadCfa;
    case sym::UnwindStop::MaxFrames: return UnwindCause::MaxFrames;
    case sym::UnwindStop::Root:
    case sym::UnwindStop::Error: break;
  }
  return UnwindCause::Error;
}

StackAssembler::StackAssembler(sym::Session& session, fg::StackTrie& trie, RootFrame root)
    : session_(session), trie_(trie), root_mode_(root) {
  unknown_frame_ = trie_.frames().intern("[unknown]");
}

StackAssembler::Process& StackAssembler::process(pid_t tgid) { return processes_[tgid]; }

bool StackAssembler::load_maps(pid_t tgid, Process& p) {
  p.last_read = std::chrono::steady_clock::now();
  try {
    session_.add_process(tgid);
    p.maps_loaded = true;
  } catch (const std::exception&) {
    return false;  // gone: its samples keep whatever names are cached
  }
  // Names found before stay valid (a mapping does not move while mapped); addresses
  // that had none get another chance with the new maps.
  std::erase_if(p.frames, [this](const auto& kv) { return kv.second == unknown_frame_; });
  return true;
}

void StackAssembler::add_process(pid_t tgid) {
  load_maps(tgid, process(tgid));
  if (lua_) lua_->add_process(tgid);
}

void StackAssembler::forget_process(pid_t tgid) {
  auto it = processes_.find(tgid);
  if (it == processes_.end()) return;
  if (it->second.maps_loaded) session_.forget_process(tgid);
  if (lua_) lua_->forget_process(tgid);
  processes_.erase(it);
}

std::vector<pid_t> StackAssembler::known_processes() const {
  std::vector<pid_t> pids;
  pids.reserve(processes_.size());
  for (const auto& [pid, p] : processes_) pids.push_back(pid);
  return pids;
}

fg::FrameId StackAssembler::root_frame(const SampleView& s, Process& p) {
  const std::string_view comm = s.comm().empty() ? std::string_view("[unknown]") : s.comm();
  if (p.root == fg::FrameTable::kNone || p.root_comm != comm) {
    p.root_comm = comm;
    p.tid_roots.clear();
    p.root = trie_.frames().intern(root_mode_ == RootFrame::Process
                                        ? std::string(comm)
                                        : fmt::format("{}-{}", comm, s.tgid()));
  }
  if (root_mode_ != RootFrame::PerTid) return p.root;
  auto [it, fresh] = p.tid_roots.try_emplace(s.tid(), fg::FrameTable::kNone);
  if (fresh) it->second = trie_.frames().intern(fmt::format("{}-{}/{}", comm, s.tgid(), s.tid()));
  return it->second;
}

fg::FrameId StackAssembler::user_frame(pid_t tgid, Process& p, uint64_t pc, bool is_return, bool& unknown) {
  const uint64_t key = (pc << 1) | (is_return ? 1 : 0);
  auto [it, fresh] = p.frames.try_emplace(key, unknown_frame_);
  if (fresh) {
    try {
      it->second = trie_.frames().intern(session_.native_frame(tgid, pc, is_return));
    } catch (const std::exception&) {
      it->second = unknown_frame_;
    }
    if (it->second != unknown_frame_) note_origin(it->second, tgid, is_return && pc > 0 ? pc - 1 : pc);
  }
  if (it->second == unknown_frame_) unknown = true;
  return it->second;
}

fg::FrameId StackAssembler::kernel_frame(uint64_t addr) {
  auto [it, fresh] = kernel_frames_.try_emplace(addr, fg::FrameTable::kNone);
  if (fresh) {
    try {
      it->second = trie_.frames().intern(session_.kernel_frame(addr));
    } catch (const std::exception&) {
      it->second = trie_.frames().intern("[unknown]_[k]");
    }
    note_origin(it->second, 0, addr);
  }
  return it->second;
}

void StackAssembler::note_origin(fg::FrameId frame, pid_t tgid, uint64_t addr) {
  if (frame < origins_.size() && origins_[frame].known()) return;
  if (frame >= origins_.size()) origins_.resize(frame + 1);
  fg::FrameOrigin o;
  if (tgid == 0) {  // a kernel address
    o.address = addr;
    o.kernel = true;
    origins_[frame] = std::move(o);
    return;
  }
  try {
    const auto m = session_.find_module(tgid, addr);
    if (!m || m->path.empty()) return;
    o.address = addr;
    o.path = m->path;
    o.build_id = m->build_id;
    o.map_start = m->map_start;
    o.map_end = m->map_end;
    o.file_offset = m->file_offset;
    origins_[frame] = std::move(o);
  } catch (const std::exception&) {
    // no origin: the frame keeps its name only
  }
}

StackAssembler::UserResult StackAssembler::user_frames(const SampleView& s, Process& p) {
  sym::Registers regs;
  const auto r = s.regs();
  std::copy(r.begin(), r.end(), regs.r);
  const sym::StackCopy stack{s.user_sp(), s.ustack};
  sym::UnwindResult& res = unwound_;
  try {
    session_.unwind(static_cast<pid_t>(s.tgid()), regs, stack, res);
  } catch (const std::exception& e) {
    res.pcs.assign(1, s.user_ip());
    res.error = e.what();
    res.stop = sym::UnwindStop::Error;
  }
  if (res.pcs.empty()) res.pcs.push_back(s.user_ip());
  bool unknown = false;
  user_.clear();
  if (lua_ && lua_->splice(s, res, spliced_, res.reached_root)) {
    for (size_t i = spliced_.size(); i-- > 0;) {
      const SplicedFrame& f = spliced_[i];
      user_.push_back(f.text.empty() ? user_frame(static_cast<pid_t>(s.tgid()), p, f.pc, f.is_return, unknown)
                                     : trie_.frames().intern(f.text));
    }
    // Spliced: the Lua side decided; a native cause only if it kept the native stop.
    return UserResult{res.reached_root, unknown,
                      res.reached_root ? UnwindCause::Error : UnwindCause::LuaWalk};
  }
  for (size_t i = res.pcs.size(); i-- > 0;) {
    user_.push_back(user_frame(static_cast<pid_t>(s.tgid()), p, res.pcs[i], i > 0, unknown));
  }
  return UserResult{res.reached_root, unknown, unwind_cause(res.stop, s.ustack.size())};
}

std::optional<AddedSample> StackAssembler::add_record(std::span<const uint8_t> record) {
  const auto sample = parse_sample(record);
  if (!sample) {
    ++stats_.malformed;
    return std::nullopt;
  }
  return add(*sample);
}

void StackAssembler::skip_until_exec(pid_t tgid, std::string pre_exec_comm) {
  pre_exec_[tgid] = std::move(pre_exec_comm);
}

std::optional<AddedSample> StackAssembler::add(const SampleView& s) {
  const auto tgid = static_cast<pid_t>(s.tgid());
  if (!pre_exec_.empty()) {
    if (auto it = pre_exec_.find(tgid); it != pre_exec_.end()) {
      if (s.comm() == it->second) {
        ++stats_.pre_exec;
        return std::nullopt;
      }
      pre_exec_.erase(it);  // renamed by exec: everything from here on is the command
    }
  }
  ++stats_.samples;
  stats_.processes.insert(tgid);
  Process& p = process(tgid);
  const bool exec_seen = !p.root_comm.empty() && p.root_comm != s.comm() && !s.comm().empty();
  stack_.clear();
  stack_.push_back(root_frame(s, p));
  if (exec_seen && s.has_user_regs()) {
    // A new program name: the process exec'ed, its old names mean nothing now.
    p.frames.clear();
    load_maps(tgid, p);
    if (lua_) {
      lua_->forget_process(tgid);
      lua_->add_process(tgid);  // detect the new program's VM (retried while ld.so maps it)
    }
  }

  if (s.has_user_regs()) {
    const auto now = std::chrono::steady_clock::now();
    if (!p.maps_loaded && now - p.last_read >= kMapsRereadInterval) load_maps(tgid, p);
    UserResult res = user_frames(s, p);
    if ((res.unknown || !res.reached_root) && now - p.last_read >= kMapsRereadInterval) {
      // Maybe a library appeared (dlopen) or the process exec'ed: read its maps again.
      ++stats_.maps_rereads;
      if (load_maps(tgid, p)) res = user_frames(s, p);
    }
    if (lua_) lua_->commit_sample();  // the last splice of this sample
    ++stats_.user_stacks;
    if (res.reached_root) {
      ++stats_.unwound_to_root;
    } else {
      ++stats_.unwind_failures;
      ++stats_.unwind_causes[static_cast<size_t>(res.cause)];
    }
    stack_.insert(stack_.end(), user_.begin(), user_.end());
  }
  for (size_t i = s.kstack.size(); i-- > 0;) {
    stack_.push_back(kernel_frame(s.kstack[i]));
  }
  const fg::NodeId leaf = trie_.add(std::span<const fg::FrameId>(stack_), 1.0);
  return AddedSample{leaf, tgid, static_cast<pid_t>(s.tid())};
}

}  // namespace kperf::prof

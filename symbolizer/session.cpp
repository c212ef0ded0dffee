// Session: per-process maps (re-read on unknown addresses), module lookup, unwinding and
// frame naming on top of ModuleCache, Kallsyms and PerfMap.
#include "symbolizer/session.hpp"

#include <sys/stat.h>

#include <chrono>
#include <stdexcept>
#include <unordered_map>

#include <fmt/core.h>

#include "symbolizer/kallsyms.hpp"
#include "symbolizer/module_cache.hpp"
#include "symbolizer/perf_map.hpp"
#include "symbolizer/process_maps.hpp"
#include "symbolizer/unwinder.hpp"

namespace kperf::sym {

namespace {

using Clock = std::chrono::steady_clock;

struct MapEntry {
  bool resolved = false;
  std::shared_ptr<Module> module;
  uint64_t bias = 0;
};

}  // namespace

struct ProcessData {
  pid_t pid = 0;
  uid_t uid = 0;
  std::vector<Mapping> maps;
  std::vector<MapEntry> entries;  // parallel to maps, resolved lazily
  Clock::time_point last_read{};
  Clock::time_point last_useless_reread{};  // a re-read that did not explain a miss
  uint64_t last_useless_region = 0;         // ... and the 1 MiB region of its address
  bool gone = false;
  std::unique_ptr<PerfMap> perf_map;
  size_t last_hit = 0;
  // Re-reading the maps (new JIT code, dlopen) reuses these: no allocation once grown.
  std::filesystem::path maps_path;
  std::string maps_text;
  std::vector<Mapping> next_maps;
  std::vector<MapEntry> next_entries;
};

struct SessionImpl {
  SessionOptions opts;
  ModuleCache modules;
  std::unordered_map<pid_t, std::unique_ptr<ProcessData>> procs;
  std::unique_ptr<Kallsyms> kallsyms;
  size_t maps_reads = 0;

  explicit SessionImpl(SessionOptions o) : opts(o), modules(ModuleOptions{o.demangle, true, "/usr/lib/debug"}) {}

  bool read(ProcessData& p) {
    if (p.maps_path.empty()) p.maps_path = fmt::format("/proc/{}/maps", p.pid);
    const bool ok = read_maps(p.maps_path, p.maps_text, p.next_maps);
    p.last_read = Clock::now();
    ++maps_reads;
    if (!ok) {
      p.gone = true;
      return false;
    }
    // Keep resolved modules of mappings that did not change.
    const std::vector<Mapping>& maps = p.next_maps;
    std::vector<MapEntry>& entries = p.next_entries;
    entries.assign(maps.size(), MapEntry{});
    for (size_t i = 0; i < maps.size(); ++i) {
      const Mapping& m = maps[i];
      if (const Mapping* old = find_mapping(p.maps, m.start)) {
        size_t j = static_cast<size_t>(old - p.maps.data());
        if (old->start == m.start && old->end == m.end && old->offset == m.offset && old->inode == m.inode &&
            old->path == m.path)
          entries[i] = p.entries[j];
      }
    }
    p.maps.swap(p.next_maps);
    p.entries.swap(p.next_entries);
    p.next_entries.clear();  // the old entries' modules are not kept alive
    p.last_hit = 0;
    return true;
  }

  ProcessData* proc(pid_t pid) {
    auto it = procs.find(pid);
    if (it != procs.end()) return it->second.get();
    // Not added explicitly: add it now (no throw on the hot path).
    auto p = std::make_unique<ProcessData>();
    p->pid = pid;
    struct stat st;
    if (::stat(fmt::format("/proc/{}", pid).c_str(), &st) == 0) p->uid = st.st_uid;
    read(*p);
    return procs.emplace(pid, std::move(p)).first->second.get();
  }

  // Whether a re-read for addr may happen now: not within 20 ms of a useless one in
  // addr's 1 MiB region, nor within 1 ms of one elsewhere (see mapping()).
  bool may_reread(const ProcessData& p, uint64_t addr) const {
    if (p.last_useless_reread == Clock::time_point{}) return true;
    const auto since = Clock::now() - p.last_useless_reread;
    return since > std::chrono::milliseconds(20) ||
           ((addr >> 20) != p.last_useless_region && since > std::chrono::milliseconds(1));
  }
  // Re-reads the maps for addr; the mapping now containing it, or null (a useless re-read).
  const Mapping* reread(ProcessData& p, uint64_t addr) {
    read(p);
    const Mapping* m = find_mapping(p.maps, addr);
    if (!m) {
      p.last_useless_reread = Clock::now();
      p.last_useless_region = addr >> 20;
    }
    return m;
  }

  // The mapping index for addr, re-reading the maps when no known mapping contains it
  // (dlopen, reload, new JIT code). A re-read that did not help blocks further ones for
  // 20 ms for addresses in its 1 MiB region, so a stream of junk addresses does not
  // re-read /proc for every sample, and for 1 ms for others: one stale address (the
  // user pc of a sample taken inside execve is the old image's) must not hide the JIT
  // code a process maps right after it for 20 ms (~400 samples at 20 kHz).
  const Mapping* mapping(ProcessData& p, uint64_t addr, size_t* index) {
    if (p.last_hit < p.maps.size()) {
      const Mapping& m = p.maps[p.last_hit];
      if (addr >= m.start && addr < m.end) {
        *index = p.last_hit;
        return &m;
      }
    }
    const Mapping* m = find_mapping(p.maps, addr);
    if (!m && !p.gone && may_reread(p, addr)) m = reread(p, addr);
    if (!m) return nullptr;
    *index = static_cast<size_t>(m - p.maps.data());
    p.last_hit = *index;
    return m;
  }

  MapEntry& entry(ProcessData& p, size_t i) {
    MapEntry& e = p.entries[i];
    if (e.resolved) return e;
    e.resolved = true;
    const Mapping& m = p.maps[i];
    e.module = modules.for_mapping(p.pid, m);
    if (e.module) {
      auto bias = m.path == "[vdso]" ? e.module->elf().load_bias(m.start, 0)
                                     : e.module->elf().load_bias(m.start, m.offset);
      if (!bias) {
        e.module.reset();
      } else {
        e.bias = *bias;
      }
    }
    return e;
  }
};

namespace {

class ProcessCfi : public CfiSource {
 public:
  ProcessCfi(SessionImpl& s, ProcessData& p) : s_(s), p_(p) {}
  CfiLocation locate(uint64_t pc) override {
    size_t i = 0;
    const Mapping* m = s_.mapping(p_, pc, &i);
    if (!m) return {};
    CfiLocation loc;
    loc.mapped = true;
    loc.anonymous = !m->file_backed();
    MapEntry& e = s_.entry(p_, i);
    if (e.module && !e.module->cfi().empty()) {
      loc.table = &e.module->cfi();
      loc.bias = e.bias;
    }
    if (e.module && e.module->elf().entry() != 0) loc.entry = e.module->elf().entry() + e.bias;
    return loc;
  }

 private:
  SessionImpl& s_;
  ProcessData& p_;
};

}  // namespace

Session::Session(SessionOptions opts) : impl_(std::make_unique<SessionImpl>(opts)) {}
Session::~Session() = default;

void Session::add_process(pid_t pid) {
  auto p = std::make_unique<ProcessData>();
  p->pid = pid;
  struct stat st;
  if (::stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0)
    throw std::runtime_error(fmt::format("process {} not found", pid));
  p->uid = st.st_uid;
  if (!impl_->read(*p)) throw std::runtime_error(fmt::format("cannot read /proc/{}/maps (process gone?)", pid));
  impl_->procs[pid] = std::move(p);
}

void Session::forget_process(pid_t pid) { impl_->procs.erase(pid); }

void Session::unwind(pid_t pid, const Registers& regs, const StackCopy& stack, UnwindResult& out,
                     size_t max_frames) {
  ProcessData* p = impl_->proc(pid);
  ProcessCfi source(*impl_, *p);
  UnwindOptions o;
  o.max_frames = max_frames == 0 ? 1 : max_frames;
  o.frame_pointer_fallback = impl_->opts.frame_pointer_fallback;
  unwind_stack(regs, stack, source, o, out);
}

std::string Session::native_frame(pid_t pid, uint64_t pc, bool is_return_address) {
  uint64_t addr = is_return_address && pc > 0 ? pc - 1 : pc;
  ProcessData* p = impl_->proc(pid);
  size_t i = 0;
  const Mapping* m = impl_->mapping(*p, addr, &i);
  if (m) {
    MapEntry& e = impl_->entry(*p, i);
    if (e.module) {
      if (const std::string* n = e.module->frame_name(addr - e.bias)) return *n;
      return fmt::format("[{}]", e.module->name());
    }
  }
  if (impl_->opts.perf_maps && (!m || !m->file_backed())) {
    if (!p->perf_map) p->perf_map = std::make_unique<PerfMap>(perf_map_path(pid), p->uid);
    if (p->perf_map->refresh()) {
      if (auto n = p->perf_map->lookup(addr)) return std::string(*n);
    }
  }
  return "[unknown]";
}

void Session::load_kernel_symbols() {
  if (impl_->kallsyms) return;
  impl_->kallsyms = std::make_unique<Kallsyms>();
  impl_->kallsyms->load();
}

std::string Session::kernel_frame(uint64_t addr) {
  load_kernel_symbols();
  if (auto s = impl_->kallsyms->lookup(addr)) return fmt::format("{}_[k]", s->name);
  return "[unknown]_[k]";
}

std::string Session::kernel_module(uint64_t addr) {
  load_kernel_symbols();
  if (auto s = impl_->kallsyms->lookup(addr)) return std::string(s->module);
  return {};
}

bool Session::in_anon_code(pid_t pid, uint64_t pc, uint64_t sample_ns, bool& unreadable) {
  ProcessData* p = impl_->proc(pid);
  unreadable = false;
  const Mapping* m = find_mapping(p->maps, pc);
  if (m && m->exec) return m->path.empty();
  const auto now = Clock::now();
  const auto read_ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(p->last_read.time_since_epoch()).count());
  if ((read_ns < sample_ns && impl_->may_reread(*p, pc)) || now - p->last_read >= std::chrono::seconds(1)) {
    m = impl_->reread(*p, pc);
    if (p->gone) {
      unreadable = true;
      return false;
    }
  }
  return m && m->path.empty();
}

std::optional<MappedModule> Session::find_module(pid_t pid, uint64_t addr) {
  ProcessData* p = impl_->proc(pid);
  size_t i = 0;
  const Mapping* m = impl_->mapping(*p, addr, &i);
  if (!m) return std::nullopt;
  MapEntry& e = impl_->entry(*p, i);
  MappedModule mm;
  mm.path = m->path;
  mm.map_start = m->start;
  mm.map_end = m->end;
  mm.file_offset = m->offset;
  if (e.module) {
    mm.build_id = e.module->build_id();
    mm.bias = e.bias;
  }
  return mm;
}

AddressInfo Session::describe(pid_t pid, uint64_t addr) {
  ProcessData* p = impl_->proc(pid);
  if (p->gone && p->maps.empty()) throw std::runtime_error(fmt::format("process {} not found", pid));
  size_t i = 0;
  const Mapping* m = impl_->mapping(*p, addr, &i);
  AddressInfo info;
  info.file_addr = addr;
  if (!m) return info;
  MapEntry& e = impl_->entry(*p, i);
  if (e.module) {
    info = e.module->describe(addr - e.bias);
    info.module = m->path;
    return info;
  }
  info.module = m->path;
  if (impl_->opts.perf_maps && !m->file_backed()) {
    if (!p->perf_map) p->perf_map = std::make_unique<PerfMap>(perf_map_path(pid), p->uid);
    if (p->perf_map->refresh())
      if (auto n = p->perf_map->lookup(addr)) info.function = std::string(*n);
  }
  return info;
}

Session::Stats Session::stats() const {
  Stats s;
  s.modules_loaded = impl_->modules.distinct_modules();
  s.maps_reads = impl_->maps_reads;
  return s;
}

}  // namespace kperf::sym

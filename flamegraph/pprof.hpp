// pprof export: a StackTrie as a perftools.profiles.Profile (profile.proto), encoded by
// hand in protobuf wire format and gzipped (what `go tool pprof`, Pyroscope and Parca
// read). Sample types samples/count and cpu/nanoseconds; samples may carry labels.
//
// Frames -> profile.proto (one Location and one Function per distinct frame):
// - Function.name is the frame exactly as the folded output and flame graphs show it
//   (`fib /srv/app/fib.lua:3`, `fib /srv/app/fib.lua:3_[j]`, `tcp_sendmsg_[k]`,
//   `ngx_http_handler`), so pprof's views show the same boxes as kperf's flame graphs
//   and two Lua handlers named `access` in different plugins stay apart.
//   Function.system_name is the bare name (Lua NAME, the kernel symbol without `_[k]`).
// - Lua frames (`NAME CHUNK:LINE`, `_[j]` for JIT): filename CHUNK, start_line and
//   Line.line LINE; no mapping.
// - Kernel frames (`_[k]`): the `[kernel.kallsyms]` mapping (perf's name for it), with
//   the kernel address when known.
// - Native frames with a known origin (FrameOrigin): a Mapping per distinct module
//   mapping (path, build-id, start, limit, file offset) and the Location's address, so
//   pprof can re-symbolize with `-symbolize=force`; has_functions is set (names are in).
// - Everything else (root frame, `[lua:gc]` pseudo frames, `[unknown]`): name only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flamegraph/trie.hpp"

namespace kperf::fg {

// Where a native or kernel frame's code lives: one address it was sampled at (a return
// address is looked up as pc - 1, so it lies in the calling function) and the mapping
// of the module that holds it. `address == 0`: not known.
struct FrameOrigin {
  std::uint64_t address = 0;
  std::string path;      // the module's path as the process maps it; empty for kernel frames
  std::string build_id;  // lower-case hex, empty if none
  std::uint64_t map_start = 0, map_end = 0, file_offset = 0;
  bool kernel = false;   // a kernel address (the [kernel.kallsyms] mapping)
  bool known() const { return address != 0; }
};

struct PprofLabel {
  std::string key;
  std::string str;        // string label (when !numeric)
  std::int64_t num = 0;   // numeric label (when numeric)
  bool numeric = false;
};

// `count` samples of the stack ending at `leaf` (a node of the trie), with labels.
struct PprofSample {
  NodeId leaf = StackTrie::kRoot;
  std::int64_t count = 0;
  std::vector<PprofLabel> labels;
};

struct PprofOptions {
  std::int64_t period_ns = 10'101'010;  // cpu/nanoseconds per sample (1e9 / frequency)
  std::int64_t time_nanos = 0;          // when the profile started (Unix ns), 0: unset
  std::int64_t duration_nanos = 0;
  std::vector<std::string> comments;
};

// The trie's stacks as an uncompressed Profile message. `samples` say how the count of
// each terminal node splits by labels; whatever part of a node's count (rounded to whole
// samples) they do not cover becomes one unlabelled sample, so the profile's total
// always equals the trie's. `origins` is indexed by FrameId (shorter is fine).
// Differential "before" counts are not exported.
std::string encode_pprof(const StackTrie& trie, std::span<const PprofSample> samples,
                         std::span<const FrameOrigin> origins, const PprofOptions& opts);

// gzip (RFC 1952) of `data`. Throws std::runtime_error if zlib fails.
std::string gzip(std::string_view data);

// encode_pprof, gzipped: the bytes of a .pb.gz file.
std::string encode_pprof_gz(const StackTrie& trie, std::span<const PprofSample> samples,
                            std::span<const FrameOrigin> origins, const PprofOptions& opts);

}  // namespace kperf::fg

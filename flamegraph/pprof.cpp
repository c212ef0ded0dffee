// profile.proto in protobuf wire format, written field by field (no protobuf library):
// varints, length-delimited submessages, packed repeated ids and values; then gzip.
#include "flamegraph/pprof.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "flamegraph/frame_kind.hpp"

namespace kperf::fg {

namespace {

// Field numbers of perftools.profiles (github.com/google/pprof/proto/profile.proto).
namespace field {
// Profile
constexpr int kSampleType = 1, kSample = 2, kMapping = 3, kLocation = 4, kFunction = 5, kStringTable = 6,
              kTimeNanos = 9, kDurationNanos = 10, kPeriodType = 11, kPeriod = 12, kComment = 13;
// ValueType
constexpr int kType = 1, kUnit = 2;
// Sample
constexpr int kLocationId = 1, kValue = 2, kLabel = 3;
// Label
constexpr int kKey = 1, kStr = 2, kNum = 3;
// Mapping
constexpr int kId = 1, kMemoryStart = 2, kMemoryLimit = 3, kFileOffset = 4, kFilename = 5, kBuildId = 6,
              kHasFunctions = 7;
// Location
constexpr int kMappingId = 2, kAddress = 3, kLine = 4;
// Line
constexpr int kFunctionId = 1, kLineNumber = 2;
// Function
constexpr int kName = 2, kSystemName = 3, kFunctionFilename = 4, kStartLine = 5;
}  // namespace field

constexpr int kVarint = 0, kLengthDelimited = 2;

// Appends protobuf fields to a buffer. Scalars equal to 0 are omitted (proto3 default).
class Wire {
 public:
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  void tag(int field, int wire_type) { varint((static_cast<std::uint64_t>(field) << 3) | wire_type); }
  void uint(int field, std::uint64_t v) {
    if (v == 0) return;
    tag(field, kVarint);
    varint(v);
  }
  void sint(int field, std::int64_t v) { uint(field, static_cast<std::uint64_t>(v)); }  // int64: two's complement
  void boolean(int field, bool v) { uint(field, v ? 1 : 0); }
  void bytes(int field, std::string_view b) {
    tag(field, kLengthDelimited);
    varint(b.size());
    buf_.append(b);
  }
  void message(int field, const Wire& m) { bytes(field, m.buf_); }
  // A packed repeated varint field (written even when empty values are 0).
  template <typename T>
  void packed(int field, std::span<const T> values) {
    if (values.empty()) return;
    Wire p;
    for (T v : values) p.varint(static_cast<std::uint64_t>(v));
    bytes(field, p.buf_);
  }
  void clear() { buf_.clear(); }
  std::string& str() { return buf_; }

 private:
  std::string buf_;
};

// The string table: "" at index 0, each string once.
class Strings {
 public:
  Strings() { index(""); }
  std::int64_t index(std::string_view s) {
    auto it = ids_.find(std::string(s));
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<std::int64_t>(list_.size());
    list_.emplace_back(s);
    ids_.emplace(list_.back(), id);
    return id;
  }
  const std::vector<std::string>& list() const { return list_; }

 private:
  std::unordered_map<std::string, std::int64_t> ids_;
  std::vector<std::string> list_;
};

// A frame's text split the way pprof shows it (see pprof.hpp).
struct FrameParts {
  std::string_view system_name;
  std::string_view filename;
  std::int64_t line = 0;
  bool kernel = false;
};

FrameParts frame_parts(std::string_view frame) {
  FrameParts p;
  p.system_name = frame;
  const FrameKind kind = classify_frame(frame);
  if (kind == FrameKind::Kernel) {
    p.kernel = true;
    p.system_name = strip_annotation(frame);
  } else if (kind == FrameKind::Lua || kind == FrameKind::LuaJit) {
    const std::string_view f = strip_annotation(frame);
    const auto space = f.find(' ');
    const auto colon = f.rfind(':');
    if (space != std::string_view::npos && colon != std::string_view::npos && colon > space) {
      p.system_name = f.substr(0, space);
      p.filename = f.substr(space + 1, colon - space - 1);
      std::int64_t line = 0;
      for (char c : f.substr(colon + 1)) {
        if (c < '0' || c > '9' || line > std::numeric_limits<std::int64_t>::max() / 10 - 10) break;
        line = line * 10 + (c - '0');
      }
      p.line = line;
    }
  }
  return p;
}

std::int64_t whole_samples(double count) {
  if (!(count > 0)) return 0;
  if (count >= 9.0e18) return std::numeric_limits<std::int64_t>::max() / 4;
  return static_cast<std::int64_t>(std::llround(count));
}

// Builds the Profile message.
class Encoder {
 public:
  Encoder(const StackTrie& trie, std::span<const FrameOrigin> origins, const PprofOptions& opts)
      : trie_(trie), origins_(origins), opts_(opts), location_of_(trie.frames().size(), 0) {}

  std::string encode(std::span<const PprofSample> samples) {
    const std::int64_t samples_type = strings_.index("samples");
    const std::int64_t count_unit = strings_.index("count");
    const std::int64_t cpu_type = strings_.index("cpu");
    const std::int64_t ns_unit = strings_.index("nanoseconds");
    Wire vt;
    for (auto [type, unit] : {std::pair{samples_type, count_unit}, std::pair{cpu_type, ns_unit}}) {
      vt.clear();
      vt.sint(field::kType, type);
      vt.sint(field::kUnit, unit);
      out_.message(field::kSampleType, vt);
    }

    claim_main_mapping();
    // Labelled samples first, then each terminal node's uncovered remainder.
    std::vector<std::int64_t> covered(trie_.size(), 0);
    for (const PprofSample& s : samples) {
      if (s.count <= 0 || s.leaf == StackTrie::kRoot || s.leaf >= trie_.size()) continue;
      covered[s.leaf] += s.count;
      add_sample(s.leaf, s.count, s.labels);
    }
    for (NodeId n = 1; n < trie_.size(); ++n) {
      const auto node = trie_.node(n);
      if (!node.terminal) continue;
      const std::int64_t rest = whole_samples(node.self) - covered[n];
      if (rest > 0) add_sample(n, rest, {});
    }

    out_.str() += mappings_.str();
    out_.str() += locations_.str();
    out_.str() += functions_.str();
    if (opts_.time_nanos != 0) out_.sint(field::kTimeNanos, opts_.time_nanos);
    if (opts_.duration_nanos != 0) out_.sint(field::kDurationNanos, opts_.duration_nanos);
    vt.clear();
    vt.sint(field::kType, cpu_type);
    vt.sint(field::kUnit, ns_unit);
    out_.message(field::kPeriodType, vt);
    out_.sint(field::kPeriod, opts_.period_ns);
    for (const auto& c : opts_.comments) {
      out_.tag(field::kComment, kVarint);
      out_.varint(static_cast<std::uint64_t>(strings_.index(c)));
    }
    // The string table last: every index above is assigned by now.
    for (const auto& s : strings_.list()) out_.bytes(field::kStringTable, s);
    return std::move(out_.str());
  }

 private:
  void add_sample(NodeId leaf, std::int64_t count, std::span<const PprofLabel> labels) {
    trie_.path(leaf, path_);
    ids_.clear();
    // Locations (and mappings) are numbered root first, so the first mapping is the
    // program's (pprof's "File:"); samples list them leaf first.
    for (FrameId f : path_) ids_.push_back(location(f));
    std::reverse(ids_.begin(), ids_.end());
    Wire s;
    s.packed<std::uint64_t>(field::kLocationId, ids_);
    const std::int64_t values[2] = {count, count * opts_.period_ns};
    s.packed<std::int64_t>(field::kValue, values);
    Wire l;
    for (const PprofLabel& label : labels) {
      l.clear();
      l.sint(field::kKey, strings_.index(label.key));
      if (label.numeric) {
        // A numeric 0 must still be present: write the field even if 0.
        l.tag(field::kNum, kVarint);
        l.varint(static_cast<std::uint64_t>(label.num));
      } else {
        l.sint(field::kStr, strings_.index(label.str));
      }
      s.message(field::kLabel, l);
    }
    out_.message(field::kSample, s);
  }

  // pprof takes the first mapping for the program ("File:" in its reports): give id 1 to
  // the module most samples start in (the outermost frame with an origin, e.g. nginx's
  // _start), not to whichever module the first sample written happens to reach first.
  void claim_main_mapping() {
    if (origins_.empty()) return;
    std::map<FrameId, double> base;  // the origin frame of each stack's outermost module
    for (NodeId n = 1; n < trie_.size(); ++n) {
      const auto node = trie_.node(n);
      if (!node.terminal || !(node.self > 0)) continue;
      trie_.path(n, path_);
      for (FrameId f : path_) {
        if (f < origins_.size() && origins_[f].known() && !origins_[f].kernel && !origins_[f].path.empty()) {
          base[f] += node.self;
          break;
        }
      }
    }
    // Sum per module (frames of one module share a path and build-id).
    std::map<std::pair<std::string, std::string>, std::pair<double, FrameId>> modules;
    for (const auto& [f, count] : base) {
      auto& m = modules[{origins_[f].path, origins_[f].build_id}];
      if (m.first == 0) m.second = f;
      m.first += count;
    }
    const FrameOrigin* best = nullptr;
    double best_count = 0;
    for (const auto& [key, m] : modules) {
      if (m.first > best_count) {
        best_count = m.first;
        best = &origins_[m.second];
      }
    }
    if (best) mapping(*best);
  }

  // The Location (and Function, same id) of a frame, written on first use.
  std::uint64_t location(FrameId f) {
    if (location_of_[f] != 0) return location_of_[f];
    const std::uint64_t id = ++locations_count_;
    location_of_[f] = id;
    const std::string_view name = trie_.frames().name(f);
    const FrameParts parts = frame_parts(name);
    const FrameOrigin* origin = f < origins_.size() && origins_[f].known() ? &origins_[f] : nullptr;

    Wire fn;
    fn.uint(field::kId, id);
    fn.sint(field::kName, strings_.index(name));
    fn.sint(field::kSystemName, strings_.index(parts.system_name));
    fn.sint(field::kFunctionFilename, strings_.index(parts.filename));
    fn.sint(field::kStartLine, parts.line);
    functions_.message(field::kFunction, fn);

    Wire loc;
    loc.uint(field::kId, id);
    if (parts.kernel || (origin && origin->kernel)) {
      loc.uint(field::kMappingId, kernel_mapping());
      if (origin) loc.uint(field::kAddress, origin->address);
    } else if (origin) {
      loc.uint(field::kMappingId, mapping(*origin));
      loc.uint(field::kAddress, origin->address);
    }
    Wire line;
    line.uint(field::kFunctionId, id);
    line.sint(field::kLineNumber, parts.line);
    loc.message(field::kLine, line);
    locations_.message(field::kLocation, loc);
    return id;
  }

  std::uint64_t mapping(const FrameOrigin& o) {
    auto key = std::tuple(o.path, o.build_id, o.map_start, o.map_end, o.file_offset);
    auto [it, fresh] = mapping_ids_.try_emplace(std::move(key), 0);
    if (!fresh) return it->second;
    it->second = ++mappings_count_;
    Wire m;
    m.uint(field::kId, it->second);
    m.uint(field::kMemoryStart, o.map_start);
    m.uint(field::kMemoryLimit, o.map_end);
    m.uint(field::kFileOffset, o.file_offset);
    m.sint(field::kFilename, strings_.index(o.path));
    m.sint(field::kBuildId, strings_.index(o.build_id));
    m.boolean(field::kHasFunctions, true);
    mappings_.message(field::kMapping, m);
    return it->second;
  }

  // One mapping for every kernel frame: [kernel.kallsyms], over the whole kernel half.
  std::uint64_t kernel_mapping() {
    if (kernel_mapping_ != 0) return kernel_mapping_;
    kernel_mapping_ = ++mappings_count_;
    Wire m;
    m.uint(field::kId, kernel_mapping_);
    m.uint(field::kMemoryStart, 0xffff800000000000ULL);
    m.uint(field::kMemoryLimit, 0xffffffffffffffffULL);
    m.sint(field::kFilename, strings_.index("[kernel.kallsyms]"));
    m.boolean(field::kHasFunctions, true);
    mappings_.message(field::kMapping, m);
    return kernel_mapping_;
  }

  const StackTrie& trie_;
  std::span<const FrameOrigin> origins_;
  const PprofOptions& opts_;
  Strings strings_;
  Wire out_, mappings_, locations_, functions_;
  std::vector<std::uint64_t> location_of_;  // FrameId -> Location id, 0: none yet
  std::uint64_t locations_count_ = 0;
  std::uint64_t mappings_count_ = 0;
  std::uint64_t kernel_mapping_ = 0;
  std::map<std::tuple<std::string, std::string, std::uint64_t, std::uint64_t, std::uint64_t>, std::uint64_t>
      mapping_ids_;
  std::vector<FrameId> path_;
  std::vector<std::uint64_t> ids_;
};

}  // namespace

std::string encode_pprof(const StackTrie& trie, std::span<const PprofSample> samples,
                         std::span<const FrameOrigin> origins, const PprofOptions& opts) {
  if (opts.period_ns <= 0) throw std::invalid_argument("pprof: the sampling period must be positive");
  return Encoder(trie, origins, opts).encode(samples);
}

std::string gzip(std::string_view data) {
  if (data.size() > std::numeric_limits<uInt>::max() / 2) throw std::runtime_error("gzip: input too large");
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  struct End {
    z_stream* z;
    ~End() { deflateEnd(z); }
  } end{&zs};
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate did not finish");
  out.resize(zs.total_out);
  return out;
}

std::string encode_pprof_gz(const StackTrie& trie, std::span<const PprofSample> samples,
                            std::span<const FrameOrigin> origins, const PprofOptions& opts) {
  return gzip(encode_pprof(trie, samples, origins, opts));
}

}  // namespace kperf::fg

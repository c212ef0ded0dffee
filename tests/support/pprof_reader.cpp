// Protobuf wire decoding of profile.proto for tests: varints and length-delimited fields,
// packed or unpacked repeated scalars, unknown fields skipped.
#include "tests/support/pprof_reader.hpp"

#include <zlib.h>

#include <set>
#include <stdexcept>

namespace kperf::test {

namespace {

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool done() const { return pos_ >= b_.size(); }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) throw std::runtime_error("pprof: truncated varint");
      const auto c = static_cast<unsigned char>(b_[pos_++]);
      v |= std::uint64_t{c & 0x7fu} << shift;
      if ((c & 0x80) == 0) return v;
    }
    throw std::runtime_error("pprof: varint too long");
  }
  // Next field: number and wire type.
  std::pair<int, int> tag() {
    const std::uint64_t t = varint();
    if ((t >> 3) == 0) throw std::runtime_error("pprof: field number 0");
    return {static_cast<int>(t >> 3), static_cast<int>(t & 7)};
  }
  std::string_view bytes() {
    const std::uint64_t n = varint();
    if (n > b_.size() - pos_) throw std::runtime_error("pprof: truncated length-delimited field");
    const std::string_view s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void skip(int wire) {
    switch (wire) {
      case 0: varint(); break;
      case 1: advance(8); break;
      case 2: bytes(); break;
      case 5: advance(4); break;
      default: throw std::runtime_error("pprof: unsupported wire type " + std::to_string(wire));
    }
  }
  // A repeated varint field, packed (wire 2) or not (wire 0).
  template <typename T>
  void repeated(int wire, std::vector<T>& out) {
    if (wire == 0) {
      out.push_back(static_cast<T>(varint()));
    } else if (wire == 2) {
      Reader r(bytes());
      while (!r.done()) out.push_back(static_cast<T>(r.varint()));
    } else {
      throw std::runtime_error("pprof: bad wire type for a repeated varint");
    }
  }
  std::uint64_t scalar(int wire) {
    if (wire != 0) throw std::runtime_error("pprof: expected a varint");
    return varint();
  }

 private:
  void advance(std::size_t n) {
    if (n > b_.size() - pos_) throw std::runtime_error("pprof: truncated fixed field");
    pos_ += n;
  }
  std::string_view b_;
  std::size_t pos_ = 0;
};

PprofProfile::ValueType value_type(std::string_view b) {
  PprofProfile::ValueType v;
  Reader r(b);
  while (!r.done()) {
    auto [f, w] = r.tag();
    if (f == 1) v.type = static_cast<std::int64_t>(r.scalar(w));
    else if (f == 2) v.unit = static_cast<std::int64_t>(r.scalar(w));
    else r.skip(w);
  }
  return v;
}

PprofProfile::Sample sample(std::string_view b) {
  PprofProfile::Sample s;
  Reader r(b);
  while (!r.done()) {
    auto [f, w] = r.tag();
    if (f == 1) {
      r.repeated(w, s.location_ids);
    } else if (f == 2) {
      r.repeated(w, s.values);
    } else if (f == 3 && w == 2) {
      PprofProfile::Label l;
      Reader lr(r.bytes());
      while (!lr.done()) {
        auto [lf, lw] = lr.tag();
        const auto v = static_cast<std::int64_t>(lf <= 4 ? lr.scalar(lw) : 0);
        if (lf == 1) l.key = v;
        else if (lf == 2) l.str = v;
        else if (lf == 3) l.num = v;
        else if (lf == 4) l.num_unit = v;
        else lr.skip(lw);
      }
      s.labels.push_back(l);
    } else {
      r.skip(w);
    }
  }
  return s;
}

PprofProfile::Mapping mapping(std::string_view b) {
  PprofProfile::Mapping m;
  Reader r(b);
  while (!r.done()) {
    auto [f, w] = r.tag();
    if (f > 10) {
      r.skip(w);
      continue;
    }
    const std::uint64_t v = r.scalar(w);
    switch (f) {
      case 1: m.id = v; break;
      case 2: m.memory_start = v; break;
      case 3: m.memory_limit = v; break;
      case 4: m.file_offset = v; break;
      case 5: m.filename = static_cast<std::int64_t>(v); break;
      case 6: m.build_id = static_cast<std::int64_t>(v); break;
      case 7: m.has_functions = v != 0; break;
      default: break;
    }
  }
  return m;
}

PprofProfile::Location location(std::string_view b) {
  PprofProfile::Location l;
  Reader r(b);
  while (!r.done()) {
    auto [f, w] = r.tag();
    if (f == 1) l.id = r.scalar(w);
    else if (f == 2) l.mapping_id = r.scalar(w);
    else if (f == 3) l.address = r.scalar(w);
    else if (f == 4 && w == 2) {
      PprofProfile::Line line;
      Reader lr(r.bytes());
      while (!lr.done()) {
        auto [lf, lw] = lr.tag();
        if (lf == 1) line.function_id = lr.scalar(lw);
        else if (lf == 2) line.line = static_cast<std::int64_t>(lr.scalar(lw));
        else lr.skip(lw);
      }
      l.lines.push_back(line);
    } else {
      r.skip(w);
    }
  }
  return l;
}

PprofProfile::Function function(std::string_view b) {
  PprofProfile::Function fn;
  Reader r(b);
  while (!r.done()) {
    auto [f, w] = r.tag();
    if (f > 5) {
      r.skip(w);
      continue;
    }
    const std::uint64_t v = r.scalar(w);
    if (f == 1) fn.id = v;
    else if (f == 2) fn.name = static_cast<std::int64_t>(v);
    else if (f == 3) fn.system_name = static_cast<std::int64_t>(v);
    else if (f == 4) fn.filename = static_cast<std::int64_t>(v);
    else if (f == 5) fn.start_line = static_cast<std::int64_t>(v);
  }
  return fn;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("pprof: " + what);
}

void validate(const PprofProfile& p) {
  check(!p.strings.empty() && p.strings[0].empty(), "string table must start with \"\"");
  const auto n = static_cast<std::int64_t>(p.strings.size());
  const auto str_ok = [n](std::int64_t i) { return i >= 0 && i < n; };
  std::set<std::uint64_t> maps, locs, fns;
  for (const auto& m : p.mappings) {
    check(m.id != 0 && maps.insert(m.id).second, "mapping id 0 or repeated");
    check(str_ok(m.filename) && str_ok(m.build_id), "mapping string index out of range");
  }
  for (const auto& f : p.functions) {
    check(f.id != 0 && fns.insert(f.id).second, "function id 0 or repeated");
    check(str_ok(f.name) && str_ok(f.system_name) && str_ok(f.filename), "function string index out of range");
  }
  for (const auto& l : p.locations) {
    check(l.id != 0 && locs.insert(l.id).second, "location id 0 or repeated");
    check(l.mapping_id == 0 || maps.count(l.mapping_id), "location of an unknown mapping");
    for (const auto& line : l.lines) check(fns.count(line.function_id) != 0, "line of an unknown function");
  }
  for (const auto& s : p.samples) {
    check(s.values.size() == p.sample_types.size(), "sample with a value count unlike sample_type's");
    for (auto id : s.location_ids) check(locs.count(id) != 0, "sample of an unknown location");
    for (const auto& l : s.labels) check(str_ok(l.key) && str_ok(l.str), "label string index out of range");
  }
  for (const auto& st : p.sample_types) check(str_ok(st.type) && str_ok(st.unit), "sample type index out of range");
  check(str_ok(p.period_type.type) && str_ok(p.period_type.unit), "period type index out of range");
  for (auto c : p.comments) check(str_ok(c), "comment index out of range");
}

}  // namespace

const PprofProfile::Location& PprofProfile::location(std::uint64_t id) const {
  for (const auto& l : locations) {
    if (l.id == id) return l;
  }
  throw std::runtime_error("pprof: no location " + std::to_string(id));
}

const PprofProfile::Function& PprofProfile::function(std::uint64_t id) const {
  for (const auto& f : functions) {
    if (f.id == id) return f;
  }
  throw std::runtime_error("pprof: no function " + std::to_string(id));
}

const PprofProfile::Mapping& PprofProfile::mapping(std::uint64_t id) const {
  for (const auto& m : mappings) {
    if (m.id == id) return m;
  }
  throw std::runtime_error("pprof: no mapping " + std::to_string(id));
}

std::string PprofProfile::label_str(const Sample& s, std::string_view key) const {
  for (const auto& l : s.labels) {
    if (str(l.key) == key && l.str != 0) return str(l.str);
  }
  return {};
}

std::int64_t PprofProfile::label_num(const Sample& s, std::string_view key) const {
  for (const auto& l : s.labels) {
    if (str(l.key) == key && l.str == 0) return l.num;
  }
  return -1;
}

std::map<std::string, std::int64_t> PprofProfile::folded(std::size_t value_index) const {
  std::map<std::uint64_t, const std::string*> names;  // location id -> function name
  for (const auto& l : locations) {
    names[l.id] = l.lines.empty() ? &strings[0] : &str(function(l.lines.front().function_id).name);
  }
  std::map<std::string, std::int64_t> out;
  for (const auto& s : samples) {
    std::string stack;
    for (auto it = s.location_ids.rbegin(); it != s.location_ids.rend(); ++it) {
      if (!stack.empty()) stack += ';';
      stack += *names.at(*it);
    }
    out[stack] += s.values.at(value_index);
  }
  return out;
}

std::int64_t PprofProfile::total(std::size_t value_index) const {
  std::int64_t t = 0;
  for (const auto& s : samples) t += s.values.at(value_index);
  return t;
}

std::string gunzip(std::string_view gz) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("gunzip: inflateInit2 failed");
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  char buf[1 << 16];
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      throw std::runtime_error("gunzip: not valid gzip data");
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw std::runtime_error("gunzip: truncated gzip data");
    }
  }
  inflateEnd(&zs);
  return out;
}

PprofProfile parse_pprof(std::string_view bytes) {
  PprofProfile p;
  Reader r(bytes);
  while (!r.done()) {
    auto [f, w] = r.tag();
    switch (f) {
      case 1: p.sample_types.push_back(value_type(r.bytes())); break;
      case 2: p.samples.push_back(sample(r.bytes())); break;
      case 3: p.mappings.push_back(mapping(r.bytes())); break;
      case 4: p.locations.push_back(location(r.bytes())); break;
      case 5: p.functions.push_back(function(r.bytes())); break;
      case 6: p.strings.emplace_back(r.bytes()); break;
      case 9: p.time_nanos = static_cast<std::int64_t>(r.scalar(w)); break;
      case 10: p.duration_nanos = static_cast<std::int64_t>(r.scalar(w)); break;
      case 11: p.period_type = value_type(r.bytes()); break;
      case 12: p.period = static_cast<std::int64_t>(r.scalar(w)); break;
      case 13: r.repeated(w, p.comments); break;
      default: r.skip(w); break;
    }
  }
  validate(p);
  return p;
}

PprofProfile read_pprof_gz(std::string_view gz) { return parse_pprof(gunzip(gz)); }

}  // namespace kperf::test

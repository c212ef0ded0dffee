// ProcessMaps: /proc/PID/maps text parsing and lookup.
#include "symbolizer/process_maps.hpp"
#include "symbolizer/text_lines.hpp"

#include <algorithm>
#include <charconv>

#include "common/text_file.hpp"

namespace kperf::sym {

namespace {

bool hex_field(std::string_view& s, uint64_t& out, char stop) {
  size_t end = s.find(stop);
  if (end == std::string_view::npos || end == 0) return false;
  auto r = std::from_chars(s.data(), s.data() + end, out, 16);
  if (r.ptr != s.data() + end) return false;
  s.remove_prefix(end + 1);
  return true;
}

}  // namespace

void parse_maps(std::string_view text, std::vector<Mapping>& out) {
  size_t n = 0;  // out[0, n) are this text's mappings; the rest are reused
  for (std::string_view line; next_line(text, line);) {
    if (n == out.size()) out.emplace_back();
    Mapping& m = out[n];
    m.path.clear();
    m.deleted = false;
    m.inode = 0;
    uint64_t maj = 0, min = 0;
    if (!hex_field(line, m.start, '-') || !hex_field(line, m.end, ' ')) continue;
    if (line.size() < 5) continue;
    m.read = line[0] == 'r';
    m.write = line[1] == 'w';
    m.exec = line[2] == 'x';
    line.remove_prefix(5);
    if (!hex_field(line, m.offset, ' ') || !hex_field(line, maj, ':') || !hex_field(line, min, ' ')) continue;
    m.dev_major = static_cast<uint32_t>(maj);
    m.dev_minor = static_cast<uint32_t>(min);
    size_t sp = line.find(' ');
    std::string_view inode = line.substr(0, sp);
    std::from_chars(inode.data(), inode.data() + inode.size(), m.inode, 10);
    line.remove_prefix(sp == std::string_view::npos ? line.size() : sp);
    size_t p = line.find_first_not_of(' ');
    if (p != std::string_view::npos) {
      std::string_view path = line.substr(p);
      constexpr std::string_view kDeleted = " (deleted)";
      if (path.ends_with(kDeleted)) {
        m.deleted = true;
        path.remove_suffix(kDeleted.size());
      }
      m.path.assign(path);
    }
    if (m.end <= m.start) continue;
    ++n;
  }
  out.resize(n);
  // The kernel lists them in order: the sort only guards against a malformed file.
  if (!std::is_sorted(out.begin(), out.end(), [](const Mapping& a, const Mapping& b) { return a.start < b.start; }))
    std::sort(out.begin(), out.end(), [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
}

bool read_maps(const std::filesystem::path& maps_path, std::string& text, std::vector<Mapping>& out) {
  if (!common::read_file_into(maps_path, text)) return false;
  parse_maps(text, out);
  return true;
}

std::optional<std::vector<Mapping>> read_maps(pid_t pid) {
  std::string text;
  std::vector<Mapping> out;
  if (!read_maps("/proc/" + std::to_string(pid) + "/maps", text, out)) return std::nullopt;
  return out;
}

const Mapping* find_mapping(const std::vector<Mapping>& maps, uint64_t addr) {
  auto it = std::upper_bound(maps.begin(), maps.end(), addr, [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == maps.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

}  // namespace kperf::sym

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

std::vector<Mapping> parse_maps(std::string_view text) {
  std::vector<Mapping> out;
  for (std::string_view line; next_line(text, line);) {
    Mapping m;
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
      m.path = std::string(path);
    }
    if (m.end <= m.start) continue;
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  return out;
}

std::optional<std::vector<Mapping>> read_maps(pid_t pid) {
  const auto text = common::read_file("/proc/" + std::to_string(pid) + "/maps");
  if (!text) return std::nullopt;
  return parse_maps(*text);
}

const Mapping* find_mapping(const std::vector<Mapping>& maps, uint64_t addr) {
  auto it = std::upper_bound(maps.begin(), maps.end(), addr, [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == maps.begin()) return nullptr;
  --it;
  return addr < it->end ? &*it : nullptr;
}

}  // namespace kperf::sym

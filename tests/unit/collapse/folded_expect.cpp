// Expected-output derivations for the collapse tests (see folded_expect.hpp).
#include "folded_expect.hpp"

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace kperf::test {

namespace {

struct Line {
  std::string stack;
  uint64_t count;
};

std::vector<Line> parse(const std::string& folded) {
  std::vector<Line> out;
  std::istringstream in(folded);
  std::string line;
  while (std::getline(in, line)) {
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos) throw std::runtime_error("bad folded line: " + line);
    out.push_back({line.substr(0, sp), std::stoull(line.substr(sp + 1))});
  }
  return out;
}

std::string print_sorted(const std::vector<Line>& lines) {
  std::map<std::string, uint64_t> merged;  // std::string's < compares bytes as unsigned
  for (const auto& l : lines) merged[l.stack] += l.count;
  std::string out;
  for (const auto& [stack, count] : merged) out += stack + " " + std::to_string(count) + "\n";
  return out;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string merge_and_sort(const std::string& folded) { return print_sorted(parse(folded)); }

std::string default_from_pid(const std::string& pid_folded) {
  std::vector<Line> lines = parse(pid_folded);
  for (auto& l : lines) {
    const size_t root_end = std::min(l.stack.find(';'), l.stack.size());
    const size_t dash = l.stack.rfind('-', root_end);
    if (dash == std::string::npos) throw std::runtime_error("root frame without -PID: " + l.stack);
    l.stack.erase(dash, root_end - dash);
  }
  return print_sorted(lines);
}

std::string apply_current_java_rule(const std::string& folded) {
  std::vector<Line> lines = parse(folded);
  for (auto& l : lines) {
    const size_t root_end = std::min(l.stack.find(';'), l.stack.size());
    const std::string_view root(l.stack.data(), root_end);
    if (!root.starts_with("java") || root == "java") continue;
    std::string out(root);
    size_t pos = root_end;
    while (pos < l.stack.size()) {  // at a ';'
      const size_t next = std::min(l.stack.find(';', pos + 1), l.stack.size());
      std::string_view frame(l.stack.data() + pos + 1, next - pos - 1);
      if (frame.starts_with('L') && frame.find('/') != std::string_view::npos) frame.remove_prefix(1);
      out += ';';
      out += frame;
      pos = next;
    }
    l.stack = out;
  }
  return print_sorted(lines);
}

}  // namespace kperf::test

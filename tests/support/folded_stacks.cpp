// Folded stack parsing for tests.
#include "tests/support/folded_stacks.hpp"

#include <sstream>
#include <string_view>

namespace kperf::test {

std::vector<Stack> parse_folded(const std::string& text) {
  std::vector<Stack> stacks;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    Stack s;
    s.count = std::stoull(line.substr(sp + 1));
    std::string_view rest(line.data(), sp);
    while (true) {
      const auto semi = rest.find(';');
      s.frames.emplace_back(rest.substr(0, semi));
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
    stacks.push_back(std::move(s));
  }
  return stacks;
}

uint64_t total_samples(const std::vector<Stack>& stacks) {
  uint64_t n = 0;
  for (const auto& s : stacks) n += s.count;
  return n;
}

bool has_sequence(const Stack& stack, const std::vector<std::string>& needle) {
  if (needle.empty() || needle.size() > stack.frames.size()) return false;
  for (size_t i = 0; i + needle.size() <= stack.frames.size(); ++i) {
    bool ok = true;
    for (size_t j = 0; j < needle.size() && ok; ++j) ok = stack.frames[i + j] == needle[j];
    if (ok) return true;
  }
  return false;
}

bool has_frame(const Stack& stack, const std::string& frame) {
  for (const auto& f : stack.frames) {
    if (f == frame) return true;
  }
  return false;
}

}  // namespace kperf::test

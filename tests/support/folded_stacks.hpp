// Folded stacks as tests read them: parse `kperf` output and look for frames in it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kperf::test {

struct Stack {
  std::vector<std::string> frames;  // root first
  uint64_t count = 0;
};

std::vector<Stack> parse_folded(const std::string& text);
uint64_t total_samples(const std::vector<Stack>& stacks);
// `needle` appears as consecutive frames of `stack`.
bool has_sequence(const Stack& stack, const std::vector<std::string>& needle);
bool has_frame(const Stack& stack, const std::string& frame);

}  // namespace kperf::test

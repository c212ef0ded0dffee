// Writes deterministic synthetic gateway stacks for scripts/bench/flamegraph:
//   gen_gateway_stacks folded LINES   |   gen_gateway_stacks perf SAMPLES
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gateway_stacks.hpp"

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "folded") != 0 && std::strcmp(argv[1], "perf") != 0)) {
    std::fprintf(stderr, "usage: %s folded LINES | perf SAMPLES\n", argv[0]);
    return 2;
  }
  const bool folded = std::strcmp(argv[1], "folded") == 0;
  const unsigned long long n = std::strtoull(argv[2], nullptr, 10);
  kperf::fg::bench::GatewayStacks gen;
  std::string buf;
  for (unsigned long long i = 0; i < n; ++i) {
    if (folded) {
      gen.folded_line(buf);
    } else {
      gen.perf_sample(buf, i);
    }
    if (buf.size() > (1 << 20)) {
      std::fwrite(buf.data(), 1, buf.size(), stdout);
      buf.clear();
    }
  }
  std::fwrite(buf.data(), 1, buf.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

// Fuzz target: the load generator's HTTP response parser on arbitrary bytes, fed whole and
// in pieces (the split point taken from the input), including EOF handling.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "loadgen/response_parser.hpp"

using kperf::loadgen::ResponseParser;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t cut = data[0] % (size);
  const char* p = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;
  ResponseParser parser;
  parser.reset((data[0] & 0x80) != 0);
  size_t pos = 0;
  // Parse consecutive responses (as a keep-alive connection would) until the bytes end.
  while (pos < n) {
    const size_t end = (pos < cut && cut < n) ? cut : n;
    size_t consumed = 0;
    auto r = parser.feed(p + pos, end - pos, consumed);
    if (consumed > end - pos) std::abort();
    pos += consumed;
    if (r == ResponseParser::Result::kError) return 0;
    if (r == ResponseParser::Result::kComplete) {
      if (parser.status() < 100 || parser.status() > 999) std::abort();
      parser.reset(false);
      continue;
    }
    if (consumed != end - (pos - consumed)) std::abort();
  }
  (void)parser.finish_eof();
  return 0;
}

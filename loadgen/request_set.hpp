// The requests a load test sends, built once before the run: one or more request targets
// (the URL's path or a --paths file), each possibly holding {a..b} ranges that take a
// random value per request. The hot path only copies pre-formatted bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/rng.hpp"

namespace kperf::loadgen {

struct RequestSpec {
  std::string method = "GET";
  std::string host_header;
  std::vector<std::string> targets;  // "/path?query", may hold {a..b}
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
};

class RequestSet {
 public:
  // Throws std::invalid_argument on a bad header, target or range.
  explicit RequestSet(const RequestSpec& spec);

  // The next request's bytes: a view of a pre-built request, or of `scratch` (whose
  // capacity is reused) when a template is filled in.
  std::string_view next(std::string& scratch, Rng& rng) const;

  // True when every request is identical (one target, no ranges).
  bool is_static() const { return templates_.empty() && fixed_.size() == 1; }
  size_t max_size() const { return max_size_; }
  // A HEAD request has no response body whatever its headers say.
  bool head() const { return head_; }

 private:
  struct Range {
    std::string text;               // all values formatted back to back
    std::vector<uint32_t> offsets;  // value i is text[offsets[i], offsets[i+1])
  };
  struct Piece {
    std::string literal;
    int range = -1;  // index into ranges_, or -1 for a literal
  };
  using Template = std::vector<Piece>;

  std::vector<std::string> fixed_;     // fully built requests without ranges
  std::vector<Template> templates_;    // requests with ranges
  std::vector<Range> ranges_;
  size_t max_size_ = 0;
  bool head_ = false;
};

// Parses a target into literal text and {a..b} ranges; exposed for tests. Each element is
// either a literal (lo > hi) or a range [lo, hi].
struct TargetPart {
  std::string literal;
  uint64_t lo = 1, hi = 0;
  bool is_range() const { return lo <= hi; }
};
std::vector<TargetPart> parse_target_template(std::string_view target);

}  // namespace kperf::loadgen

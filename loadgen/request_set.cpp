// RequestSet: pre-builds request bytes; parse_target_template: the {a..b} syntax.
#include "loadgen/request_set.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/core.h>

namespace kperf::loadgen {

namespace {

constexpr uint64_t kMaxRangeValues = 1'000'000;

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  }
  return true;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 15) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::vector<TargetPart> parse_target_template(std::string_view target) {
  std::vector<TargetPart> parts;
  std::string literal;
  size_t i = 0;
  while (i < target.size()) {
    if (target[i] == '{') {
      const size_t close = target.find('}', i);
      const size_t dots = target.find("..", i);
      if (close != std::string_view::npos && dots != std::string_view::npos && dots < close) {
        uint64_t lo = 0, hi = 0;
        const std::string_view a = target.substr(i + 1, dots - i - 1);
        const std::string_view b = target.substr(dots + 2, close - dots - 2);
        if (parse_u64(a, lo) && parse_u64(b, hi)) {
          if (hi < lo || hi - lo + 1 > kMaxRangeValues) {
            throw std::invalid_argument(fmt::format(
                "invalid range '{{{}..{}}}' in '{}': need a <= b and at most {} values", a, b,
                target, kMaxRangeValues));
          }
          if (!literal.empty()) parts.push_back(TargetPart{std::move(literal)});
          literal.clear();
          parts.push_back(TargetPart{"", lo, hi});
          i = close + 1;
          continue;
        }
      }
    }
    literal.push_back(target[i]);
    ++i;
  }
  if (!literal.empty()) parts.push_back(TargetPart{std::move(literal)});
  return parts;
}

RequestSet::RequestSet(const RequestSpec& spec) {
  if (spec.method.empty()) throw std::invalid_argument("empty HTTP method");
  for (char c : spec.method) {
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      throw std::invalid_argument(fmt::format("invalid HTTP method '{}'", spec.method));
  }
  head_ = spec.method == "HEAD";
  if (spec.targets.empty()) throw std::invalid_argument("no request path");

  bool has_host = false, has_length = false;
  std::string header_block;
  for (const auto& h : spec.headers) {
    const size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0 || h.find_first_of("\r\n") != std::string::npos)
      throw std::invalid_argument(fmt::format("invalid header '{}': expected 'Name: value'", h));
    has_host = has_host || iequals_prefix(h, "host:");
    has_length = has_length || iequals_prefix(h, "content-length:");
    header_block += h;
    header_block += "\r\n";
  }
  std::string head = spec.method + " ";
  std::string tail = " HTTP/1.1\r\n";
  if (!has_host) tail += "Host: " + spec.host_header + "\r\n";
  tail += header_block;
  if (!spec.body.empty() && !has_length) tail += fmt::format("Content-Length: {}\r\n", spec.body.size());
  tail += "\r\n";
  tail += spec.body;

  for (const auto& target : spec.targets) {
    if (target.empty() || target.find_first_of(" \t\r\n") != std::string::npos)
      throw std::invalid_argument(fmt::format("invalid request path '{}'", target));
    auto parts = parse_target_template(target);
    bool any_range = false;
    for (const auto& p : parts) any_range = any_range || p.is_range();
    if (!any_range) {
      fixed_.push_back(head + target + tail);
      max_size_ = std::max(max_size_, fixed_.back().size());
      continue;
    }
    Template t;
    t.push_back(Piece{head});
    size_t size = head.size() + tail.size();
    for (const auto& p : parts) {
      if (!p.is_range()) {
        t.push_back(Piece{p.literal});
        size += p.literal.size();
        continue;
      }
      Range r;
      r.offsets.reserve(p.hi - p.lo + 2);
      for (uint64_t v = p.lo;; ++v) {
        r.offsets.push_back(static_cast<uint32_t>(r.text.size()));
        r.text += std::to_string(v);
        if (v == p.hi) break;
      }
      r.offsets.push_back(static_cast<uint32_t>(r.text.size()));
      size += std::to_string(p.hi).size();
      ranges_.push_back(std::move(r));
      t.push_back(Piece{"", static_cast<int>(ranges_.size() - 1)});
    }
    t.push_back(Piece{tail});
    templates_.push_back(std::move(t));
    max_size_ = std::max(max_size_, size);
  }
}

std::string_view RequestSet::next(std::string& scratch, Rng& rng) const {
  const size_t total = fixed_.size() + templates_.size();
  const size_t pick = total == 1 ? 0 : static_cast<size_t>(rng.below(total));
  if (pick < fixed_.size()) return fixed_[pick];
  const Template& t = templates_[pick - fixed_.size()];
  scratch.clear();
  for (const Piece& p : t) {
    if (p.range < 0) {
      scratch.append(p.literal);
    } else {
      const Range& r = ranges_[static_cast<size_t>(p.range)];
      const size_t n = r.offsets.size() - 1;
      const size_t i = static_cast<size_t>(rng.below(n));
      scratch.append(r.text.data() + r.offsets[i], r.offsets[i + 1] - r.offsets[i]);
    }
  }
  return scratch;
}

}  // namespace kperf::loadgen

// Folded stack parsing (flamegraph.pl's rules) and writing.
#include "flamegraph/folded.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ostream>
#include <unistd.h>

#include <fmt/core.h>

#include "flamegraph/stack_order.hpp"

namespace kperf::fg {

namespace {

constexpr double kTwoTo64 = 18446744073709551616.0;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// When `s` ends in <whitespace><number> (number: \d+(\.\d*)?), splits it into the text
// before that whitespace and the number.
bool split_count(std::string_view s, std::string_view& head, std::string_view& num) {
  std::size_t i = s.size();
  while (i > 0 && !is_space(s[i - 1])) --i;
  if (i == 0) return false;
  num = s.substr(i);
  head = s.substr(0, i - 1);
  std::size_t k = 0;
  while (k < num.size() && is_digit(num[k])) ++k;
  if (k == 0) return false;
  if (k == num.size()) return true;
  if (num[k] != '.') return false;
  for (++k; k < num.size(); ++k) {
    if (!is_digit(num[k])) return false;
  }
  return true;
}

std::string shorten(std::string_view s) {
  if (s.size() <= 40) return std::string(s);
  return fmt::format("{}...({} digits)", s.substr(0, 24), s.size());
}

double count_value(std::string_view num) {
  const char* first = num.data();
  const char* last = num.data() + num.size();
  if (num.find('.') == std::string_view::npos) {
    std::uint64_t v = 0;
    const auto r = std::from_chars(first, last, v);
    if (r.ec == std::errc::result_out_of_range) {
      throw FoldedError(fmt::format("count {} is out of range (more than 2^64-1)", shorten(num)));
    }
    return static_cast<double>(v);
  }
  double v = 0;
  const auto r = std::from_chars(first, last, v);
  if (r.ec == std::errc::result_out_of_range || !(v < kTwoTo64)) {
    throw FoldedError(fmt::format("count {} is out of range (more than 2^64-1)", shorten(num)));
  }
  return v;
}

}  // namespace

LineKind parse_folded_line(std::string_view line, ParsedLine& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  bool blank = true;
  for (char c : line) {
    if (!is_space(c)) {
      blank = false;
      break;
    }
  }
  if (blank) return LineKind::Blank;
  std::string_view head;
  std::string_view num;
  if (!split_count(line, head, num)) return LineKind::Invalid;
  out.count = count_value(num);
  std::string_view head2;
  std::string_view num2;
  if (split_count(head, head2, num2)) {
    out.base = count_value(num2);
    out.stack = head2;
    out.differential = true;
  } else {
    out.base = out.count;
    out.stack = head;
    out.differential = false;
  }
  return LineKind::Stack;
}

void split_frames(std::string_view stack, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t semi = stack.find(';', start);
    if (semi == std::string_view::npos) {
      out.push_back(stack.substr(start));
      break;
    }
    out.push_back(stack.substr(start, semi - start));
    start = semi + 1;
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
}

std::string format_count(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e18) {
    return fmt::format("{}", static_cast<long long>(v));
  }
  return fmt::format("{}", v);
}

FoldedReader::FoldedReader(StackTrie& trie, FoldedOptions opts) : trie_(trie), opts_(opts) {}

void FoldedReader::add_line(std::string_view line, std::string_view source, std::uint64_t lineno) {
  queue(line, source, lineno);
  flush(source);
}

void FoldedReader::queue(std::string_view line, std::string_view source, std::uint64_t lineno) {
  ++stats_.lines;
  ParsedLine p;
  LineKind kind;
  try {
    kind = parse_folded_line(line, p);
  } catch (const FoldedError& e) {
    throw FoldedError(fmt::format("{}:{}: {}", source, lineno, e.what()));
  }
  if (kind == LineKind::Blank) return;
  if (kind == LineKind::Invalid) {
    if (stats_.invalid++ == 0) stats_.first_invalid = fmt::format("{}:{}", source, lineno);
    return;
  }
  std::string_view stack = p.stack;
  if (opts_.strip_hex) {
    scratch_.clear();
    for (std::size_t i = 0; i < stack.size();) {
      if (stack[i] == '0' && i + 2 < stack.size() && stack[i + 1] == 'x' &&
          std::isxdigit(static_cast<unsigned char>(stack[i + 2]))) {
        scratch_ += "0x...";
        i += 2;
        while (i < stack.size() && std::isxdigit(static_cast<unsigned char>(stack[i]))) ++i;
      } else {
        scratch_ += stack[i++];
      }
    }
    stack = scratch_;
  }
  split_frames(stack, frames_);
  if (opts_.reverse) {
    std::reverse(frames_.begin(), frames_.end());
    // flamegraph.pl rejoins the reversed frames and splits again: empty frames that
    // are now last disappear.
    while (!frames_.empty() && frames_.back().empty()) frames_.pop_back();
  }
  Pending& q = pending_[npending_++];
  q.frames.clear();
  for (std::string_view f : frames_) q.frames.push_back(trie_.frames().intern(f));
  q.count = p.count;
  q.base = p.base;
  q.differential = p.differential;
  q.lineno = lineno;
  if (npending_ == kBatch) flush(source);
}

void FoldedReader::flush(std::string_view source) {
  // Existing prefixes: looked up level by level across the batch, prefetching ahead.
  // New nodes: created per line afterwards, so one line's nodes get consecutive ids
  // (traversals later walk memory in order).
  NodeId at[kBatch];
  std::size_t found[kBatch];
  std::size_t depth = 0;
  for (std::size_t k = 0; k < npending_; ++k) {
    at[k] = StackTrie::kRoot;
    found[k] = 0;
    depth = std::max(depth, pending_[k].frames.size());
  }
  for (std::size_t d = 0; d < depth; ++d) {
    for (std::size_t k = 0; k < npending_; ++k) {
      if (found[k] == d && d < pending_[k].frames.size()) trie_.prefetch_child(at[k], pending_[k].frames[d]);
    }
    for (std::size_t k = 0; k < npending_; ++k) {
      if (found[k] != d || d >= pending_[k].frames.size()) continue;
      const NodeId c = trie_.find_child(at[k], pending_[k].frames[d]);
      if (c == StackTrie::kNoNode) continue;
      at[k] = c;
      found[k] = d + 1;
    }
  }
  const std::size_t n = npending_;
  npending_ = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const Pending& q = pending_[k];
    for (std::size_t d = found[k]; d < q.frames.size(); ++d) at[k] = trie_.child(at[k], q.frames[d]);
    trie_.record(at[k], q.count, q.differential ? q.base : q.count, q.differential);
    ++stats_.stacks;
    if (!(trie_.total() <= kTwoTo64) || !(trie_.total_base() <= kTwoTo64)) {
      throw FoldedError(fmt::format("{}:{}: the total count is out of range (more than 2^64-1)",
                                    source, q.lineno));
    }
  }
}

void FoldedReader::add_text(std::string_view text, std::string_view source) {
  std::uint64_t lineno = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    queue(text.substr(start, nl - start), source, ++lineno);
    start = nl + 1;
  }
  flush(source);
}

void FoldedReader::read_fd(int fd, std::string_view source) {
  std::string buf;
  buf.resize(1 << 20);
  std::size_t have = 0;
  std::uint64_t lineno = 0;
  while (true) {
    if (have == buf.size()) buf.resize(buf.size() * 2);
    const ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw FoldedError(fmt::format("cannot read {}: {}", source, std::strerror(errno)));
    }
    if (n == 0) break;
    if (std::memchr(buf.data() + have, '\0', static_cast<std::size_t>(n)) != nullptr) {
      throw FoldedError(fmt::format("{}: binary data (NUL bytes), not folded stacks", source));
    }
    const std::size_t end = have + static_cast<std::size_t>(n);
    std::size_t start = 0;
    while (true) {
      const void* nl = std::memchr(buf.data() + start, '\n', end - start);
      if (nl == nullptr) break;
      const std::size_t pos = static_cast<const char*>(nl) - buf.data();
      queue(std::string_view(buf.data() + start, pos - start), source, ++lineno);
      start = pos + 1;
    }
    have = end - start;
    if (start > 0 && have > 0) std::memmove(buf.data(), buf.data() + start, have);
  }
  if (have > 0) queue(std::string_view(buf.data(), have), source, ++lineno);
  flush(source);
}

void write_folded(const StackTrie& trie, std::ostream& out) {
  std::string line;
  const bool diff = trie.differential();
  // A differential trie from `kperf diff` has a base on every stack; mixed input keeps
  // its one-count lines as they were.
  visit_sorted(trie, [&](NodeId id, std::span<const FrameId> path) {
    line.clear();
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (i > 0) line += ';';
      line += trie.frames().name(path[i]);
    }
    const auto& n = trie.node(id);
    line += ' ';
    if (diff && n.has_base) {
      line += format_count(n.base);
      line += ' ';
    }
    line += format_count(n.self);
    line += '\n';
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
  });
}

}  // namespace kperf::fg

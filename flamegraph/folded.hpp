// Folded stacks ("frame;frame;frame COUNT", flamegraph.pl's input) read into a
// StackTrie and written back. Parsing follows flamegraph.pl: the count is what follows
// the last whitespace (integer or decimal), an optional second count makes the line
// differential ("before after"); CRLF and blank lines are tolerated, other lines that
// do not parse are counted as invalid.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "flamegraph/trie.hpp"

namespace kperf::fg {

// A problem with the input as a whole (binary data, a count out of range): fatal.
struct FoldedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct FoldedOptions {
  bool reverse = false;    // leaf first (flamegraph.pl --reverse)
  bool strip_hex = false;  // 0x1234abcd -> 0x... (difffolded.pl -s)
};

struct ParsedLine {
  std::string_view stack;  // the text before the count(s)
  double count = 0;        // the (last) count: the graph's widths
  double base = 0;         // the first of two counts; == count on one-count lines
  bool differential = false;
};

enum class LineKind { Stack, Blank, Invalid };

// Parses one line (no '\n'; one trailing '\r' is ignored). Throws FoldedError when a
// count does not fit (>= 2^64).
LineKind parse_folded_line(std::string_view line, ParsedLine& out);

// Splits a stack on ';' like Perl's split: empty fields kept except trailing ones.
void split_frames(std::string_view stack, std::vector<std::string_view>& out);

// Formats a count like Perl prints a number: integers without a fraction.
std::string format_count(double v);

class FoldedReader {
 public:
  struct Stats {
    std::uint64_t lines = 0;
    std::uint64_t stacks = 0;
    std::uint64_t invalid = 0;
    std::string first_invalid;  // "FILE:LINE" of the first invalid line
  };

  FoldedReader(StackTrie& trie, FoldedOptions opts = {});
  // One line of `source` (its line number `lineno`, 1-based, for messages).
  void add_line(std::string_view line, std::string_view source, std::uint64_t lineno);
  // All of a text buffer; a final line without '\n' counts.
  void add_text(std::string_view text, std::string_view source);
  // Streams a file descriptor to its end. Throws FoldedError on read errors and on
  // binary data (NUL bytes).
  void read_fd(int fd, std::string_view source);
  const Stats& stats() const { return stats_; }

 private:
  // Lines are parsed and interned one by one, then inserted into the trie in small
  // batches, level by level, so the lookups of different lines overlap in memory.
  struct Pending {
    std::vector<FrameId> frames;
    double count = 0;
    double base = 0;
    bool differential = false;
    std::uint64_t lineno = 0;
  };
  static constexpr std::size_t kBatch = 16;
  void queue(std::string_view line, std::string_view source, std::uint64_t lineno);
  void flush(std::string_view source);

  Pending pending_[kBatch];
  std::size_t npending_ = 0;
  StackTrie& trie_;
  FoldedOptions opts_;
  Stats stats_;
  std::vector<std::string_view> frames_;
  std::string scratch_;
};

// Writes every stack that was added (sorted like flamegraph.pl sorts its input), one
// per line: "a;b;c COUNT", or "a;b;c BEFORE AFTER" when the trie is differential.
void write_folded(const StackTrie& trie, std::ostream& out);

}  // namespace kperf::fg

// `perf script` text -> folded stacks, following stackcollapse-perf.pl's rules exactly
// (its regular expressions are evaluated by hand here, including their backtracking).
#include "flamegraph/collapse_perf.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <memory>
#include <new>
#include <ostream>
#include <stdexcept>
#include <vector>

#include <sys/mman.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <fmt/core.h>

namespace kperf::fg {

namespace {

constexpr size_t kChunkSize = 64 << 10;  // read size; lines may be longer
constexpr size_t kMaxLine = 16u << 20;         // longer lines are not perf script text
constexpr size_t kMaxSampleStack = 64u << 20;  // one sample's stack text

// Perl's \s, \d, \w on byte strings (no locale, no unicode rules).
inline bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
struct WordBytes {
  bool table[256] = {};
  constexpr WordBytes() {
    for (int c = 0; c < 256; ++c) {
      table[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    }
  }
};
constexpr WordBytes kWordBytes;
inline bool is_word(unsigned char c) { return kWordBytes.table[c]; }
inline bool is_lower_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
inline bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

// A count as Perl keeps it: an unsigned 64-bit integer until it overflows, then a double.
struct Count {
  uint64_t u = 0;
  double d = 0;
  bool is_double = false;

  static Count parse(std::string_view digits) {
    Count c;
    for (char ch : digits) {
      if (__builtin_mul_overflow(c.u, 10u, &c.u) ||
          __builtin_add_overflow(c.u, static_cast<unsigned>(ch - '0'), &c.u)) {
        c.is_double = true;
        c.d = std::strtod(std::string(digits).c_str(), nullptr);
        return c;
      }
    }
    return c;
  }
  void add(const Count& o) {
    if (!is_double && !o.is_double) {
      uint64_t r;
      if (!__builtin_add_overflow(u, o.u, &r)) {
        u = r;
        return;
      }
    }
    d = (is_double ? d : static_cast<double>(u)) + (o.is_double ? o.d : static_cast<double>(o.u));
    is_double = true;
  }
  // Perl prints integers as such and doubles with "%.15g".
  void append_to(std::string& out) const {
    char buf[64];
    int n = is_double ? std::snprintf(buf, sizeof buf, "%.15g", d)
                      : std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(u));
    out.append(buf, static_cast<size_t>(n));
  }
};

// /^(\S.+?)\s+(\d+)\/*(\d+)*\s+/ : a sample header such as
// "java 24636/25607 [000] 4794564.109216: 100 cycles:". tid is empty when absent.
struct Header {
  std::string_view comm, pid, tid;
};
bool match_header(std::string_view s, Header& h) {
  const size_t n = s.size();
  if (n == 0 || is_space(s[0])) return false;
  // The lazy (\S.+?) ends at the first position >= 2 where the rest matches; every
  // position inside one whitespace run leads to the same digits, so try each run once.
  size_t i = 2;
  while (i < n) {
    if (!is_space(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && is_space(s[j])) ++j;
    const size_t run_end = j;
    const size_t d1 = j;
    while (j < n && is_digit(s[j])) ++j;
    if (j > d1) {
      const size_t d1_end = j;
      while (j < n && s[j] == '/') ++j;
      const size_t d2 = j;
      while (j < n && is_digit(s[j])) ++j;
      if (j < n && is_space(s[j])) {
        h.comm = s.substr(0, i);
        h.pid = s.substr(d1, d1_end - d1);
        h.tid = s.substr(d2, j - d2);
        return true;
      }
    }
    i = run_end;
  }
  return false;
}

// /:\s*(\d+)*\s+(\S+):\s*$/ : the event at the end of a header, with its optional
// period ("...: 10309278 cpu-clock:"). period is empty when absent.
bool match_event(std::string_view s, std::string_view& period, std::string_view& event) {
  size_t e = s.size();
  while (e > 0 && is_space(s[e - 1])) --e;
  if (e == 0 || s[e - 1] != ':') return false;
  size_t t = e;
  while (t > 0 && !is_space(s[t - 1])) --t;
  if (e - t < 2) return false;  // (\S+) needs one character before the ':'
  size_t r = t;
  while (r > 0 && is_space(s[r - 1])) --r;
  if (r == t) return false;
  size_t d = r;
  while (d > 0 && is_digit(s[d - 1])) --d;
  size_t w = d;
  if (d < r) {
    while (w > 0 && is_space(s[w - 1])) --w;
  }
  if (w == 0 || s[w - 1] != ':') return false;
  period = s.substr(d, r - d);
  event = s.substr(t, e - 1 - t);
  return true;
}

// /^\s*(\w+)\s*(.+) \((.*)\)/ : a frame such as
// "\t ffffffff8103ce3b native_safe_halt ([kernel.kallsyms])", with the regex engine's
// choices when the greedy split fails (then pc or func shrink).
struct Frame {
  std::string_view pc, func, mod;
};
bool match_frame(std::string_view s, Frame& f) {
  const size_t n = s.size();
  size_t a = 0;
  while (a < n && is_space(s[a])) ++a;
  size_t we = a;
  while (we < n && is_word(s[we])) ++we;
  if (we == a) return false;
  const size_t last_close = s.rfind(')');
  if (last_close == std::string_view::npos || last_close < 2) return false;
  // The rightmost " (" that has a ')' after it (found with memrchr: module paths are long).
  size_t open = std::string_view::npos;
  for (size_t end = last_close; end > we + 1;) {
    const void* p = ::memrchr(s.data() + we + 1, '(', end - (we + 1));
    if (p == nullptr) break;
    const size_t paren = static_cast<size_t>(static_cast<const char*>(p) - s.data());
    if (s[paren - 1] == ' ') {
      open = paren - 1;
      break;
    }
    end = paren;
  }
  if (open == std::string_view::npos) return false;
  size_t fs = we;
  while (fs < n && is_space(s[fs])) ++fs;
  if (open >= fs + 1) {
    f.pc = s.substr(a, we - a);
    f.func = s.substr(fs, open - fs);
  } else if (open >= we + 1) {
    f.pc = s.substr(a, we - a);
    f.func = s.substr(open - 1, 1);
  } else if (we - a >= 2) {  // " (" right after the word: the word gives up a char
    f.pc = s.substr(a, we - a - 1);
    f.func = s.substr(we - 1, 1);
  } else {
    return false;
  }
  f.mod = s.substr(open + 2, last_close - open - 2);
  return true;
}

// m:/tmp/perf-\d+\.map:
bool is_jit_module(std::string_view mod) {
  constexpr std::string_view kPrefix = "/tmp/perf-";
  for (size_t p = mod.find(kPrefix); p != std::string_view::npos; p = mod.find(kPrefix, p + 1)) {
    size_t q = p + kPrefix.size();
    const size_t digits = q;
    while (q < mod.size() && is_digit(mod[q])) ++q;
    if (q > digits && mod.substr(q, 4) == ".map") return true;
  }
  return false;
}

// m/(^\[|vmlinux$)/ && !~ /unknown/
bool is_kernel_module(std::string_view mod) {
  return (mod.starts_with('[') || mod.ends_with("vmlinux")) && !contains(mod, "unknown");
}

// A fast 64-bit hash of a byte string (8 bytes per multiply); keys are compared on a
// hash match, so it only has to spread stacks well over the table.
inline uint64_t hash_bytes(const char* p, size_t n) {
  constexpr uint64_t kMul = 0x9fb21c651e98df25ull;
  const auto load = [](const char* q) {
    uint64_t w;
    std::memcpy(&w, q, 8);
    return w;
  };
  const auto mix = [](uint64_t h, uint64_t w) {
    h = (h ^ w) * kMul;
    return h ^ (h >> 29);
  };
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * kMul);
  if (n >= 32) {  // four independent lanes, 32 bytes a round
    uint64_t a = h, b = h + 1, c = h + 2, d = h + 3;
    for (; n >= 32; p += 32, n -= 32) {
      a = mix(a, load(p));
      b = mix(b, load(p + 8));
      c = mix(c, load(p + 16));
      d = mix(d, load(p + 24));
    }
    h = mix(mix(mix(mix(h, a), b), c), d);
  }
  for (; n >= 8; p += 8, n -= 8) h = mix(h, load(p));
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = mix(h, w ^ (uint64_t{n} << 59));
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 32);
}

// Bytes that send a symbol to the slow path of frame_line: '(' (argument lists, Go
// methods, process names), '>' (inlined "a->b"), ';' and quotes (rewritten).
struct SpecialBytes {
  bool table[256] = {};
  constexpr SpecialBytes() {
    for (unsigned char c : {'(', '>', ';', '"', '\''}) table[c] = true;
  }
};
constexpr SpecialBytes kSpecial;
inline bool has_special(std::string_view s) {
  size_t i = 0;
#ifdef __SSE2__
  const auto hit16 = [&s](size_t at) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + at));
    const __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('(')), _mm_cmpeq_epi8(v, _mm_set1_epi8('>'))),
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(';')),
                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\'')))));
    return _mm_movemask_epi8(hit) != 0;
  };
  if (s.size() >= 16) {
    for (; i + 16 <= s.size(); i += 16) {
      if (hit16(i)) return true;
    }
    return i < s.size() && hit16(s.size() - 16);  // the tail, as one overlapping load
  }
#endif
  for (; i < s.size(); ++i) {
    if (kSpecial.table[static_cast<unsigned char>(s[i])]) return true;
  }
  return false;
}

// The distinct stacks and their counts: open addressing over an entry vector. Keys
// live in an arena of large blocks (a few allocations in all, not one per key).
class StackTable {
 public:
  struct Entry {
    const char* key;
    size_t size;
    uint64_t hash;
    Count count;
    std::string_view view() const { return {key, size}; }
  };
  // Room for a key of n bytes, to be filled and passed to add(); valid until then.
  char* reserve(size_t n) {
    if (blocks_.empty() || block_cap_ - used_ < n) new_block(n);
    return blocks_.back().get() + used_;
  }
  // Adds `count` to the entry of the key just written at reserve(n).
  void add(const char* key, size_t n, const Count& count) {
    const uint64_t h = hash_bytes(key, n);
    if ((entries_.size() + 1) * 2 > slots_.size()) grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
      const uint32_t s = slots_[i];
      if (s == 0) {
        slots_[i] = static_cast<uint32_t>(entries_.size() + 1);
        entries_.push_back(Entry{key, n, h, count});
        used_ += n;
        return;
      }
      Entry& e = entries_[s - 1];
      if (e.hash == h && e.size == n && std::memcmp(e.key, key, n) == 0) {
        e.count.add(count);
        return;
      }
    }
  }
  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  // Blocks double from 64 KiB to 8 MiB; those of 2 MiB and more are aligned for
  // transparent huge pages (far fewer page faults and TLB misses on big inputs).
  static constexpr size_t kFirstBlock = 64u << 10;
  static constexpr size_t kMaxBlock = 8u << 20;
  static constexpr size_t kHugePage = 2u << 20;
  struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
  };
  void new_block(size_t n) {
    next_block_ = blocks_.empty() ? kFirstBlock : std::min(next_block_ * 2, kMaxBlock);
    size_t cap = std::max(next_block_, n);
    char* p = nullptr;
    if (cap >= kHugePage) {
      cap = (cap + kHugePage - 1) / kHugePage * kHugePage;
      p = static_cast<char*>(std::aligned_alloc(kHugePage, cap));
      if (p != nullptr) ::madvise(p, cap, MADV_HUGEPAGE);  // only a hint
    } else {
      p = static_cast<char*>(std::malloc(cap));
    }
    if (p == nullptr) throw std::bad_alloc();
    blocks_.emplace_back(p);
    block_cap_ = cap;
    used_ = 0;
  }
  void grow() {
    if (slots_.size() >= (size_t{1} << 31)) throw std::runtime_error("too many distinct stacks");
    const size_t n = slots_.empty() ? 1024 : slots_.size() * 2;
    slots_.assign(n, 0);
    const size_t mask = n - 1;
    for (size_t k = 0; k < entries_.size(); ++k) {
      size_t i = static_cast<size_t>(entries_[k].hash) & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = static_cast<uint32_t>(k + 1);
    }
  }
  std::vector<uint32_t> slots_;
  std::vector<Entry> entries_;
  std::vector<std::unique_ptr<char, FreeDeleter>> blocks_;
  size_t next_block_ = 0;
  size_t block_cap_ = 0;
  size_t used_ = 0;
};

// Sorting the stacks bytewise. Stacks share long prefixes, so instead of comparing
// whole strings they are sorted 7 bytes at a time (MSD radix order): each round sorts
// a group by the 64-bit number "bytes d..d+6 big-endian, then how many exist", and
// groups still equal after 7 existing bytes go on to the next 7.
struct SortItem {
  uint64_t chunk;
  std::string_view key;
  const StackTable::Entry* entry;
};
// How many of the first n bytes of a and b are equal.
inline size_t common_prefix(const char* a, const char* b, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) break;
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}
inline uint64_t chunk_at(std::string_view s, size_t d) {
  const size_t avail = std::min<size_t>(s.size() - d, 7);
  uint64_t v = 0;
  if (s.size() - d >= 8) {
    std::memcpy(&v, s.data() + d, 8);
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    v &= ~uint64_t{0xff};
  } else {
    for (size_t i = 0; i < avail; ++i) v |= uint64_t{static_cast<unsigned char>(s[d + i])} << (56 - 8 * i);
  }
  return v | avail;
}
void sort_stacks(std::vector<SortItem>& items) {
  struct Group {
    size_t begin, size, depth;
  };
  std::vector<Group> work;
  if (items.size() > 1) work.push_back({0, items.size(), 0});
  while (!work.empty()) {
    const Group g = work.back();
    work.pop_back();
    SortItem* a = items.data() + g.begin;
    size_t d = g.depth;  // every key in the group is at least d bytes long
    if (g.size <= 16) {
      std::sort(a, a + g.size, [d](const SortItem& x, const SortItem& y) {
        return x.key.substr(d) < y.key.substr(d);
      });
      continue;
    }
    // Skip the bytes every key of the group shares, in one streaming pass.
    size_t shared = a[0].key.size() - d;
    for (size_t i = 1; i < g.size && shared > 0; ++i) {
      shared = common_prefix(a[0].key.data() + d, a[i].key.data() + d,
                             std::min(shared, a[i].key.size() - d));
    }
    d += shared;
    bool same = true;
    for (size_t i = 0; i < g.size; ++i) {
      a[i].chunk = chunk_at(a[i].key, d);
      same = same && a[i].chunk == a[0].chunk;
    }
    if (same) {
      if ((a[0].chunk & 0xff) == 7) work.push_back({g.begin, g.size, d + 7});
      continue;
    }
    std::sort(a, a + g.size, [](const SortItem& x, const SortItem& y) { return x.chunk < y.chunk; });
    for (size_t i = 0; i < g.size;) {
      size_t j = i + 1;
      while (j < g.size && a[j].chunk == a[i].chunk) ++j;
      if (j - i > 1 && (a[i].chunk & 0xff) == 7) work.push_back({g.begin + i, j - i, d + 7});
      i = j;
    }
  }
}

}  // namespace

struct PerfScriptCollapser::Impl {
  CollapseOptions opt;
  CollapseStats stats;
  bool event_defaulted = false;

  // The sample being read: like the Perl script's $pname, @stack and $m_period, these
  // survive a header without a blank line before it.
  bool have_pname = false;
  bool java = false;  // $pname =~ /^java/
  std::string pname;
  Count period;
  std::string frames;  // the text of every frame line: ";f1;f2" per line, in input order
  std::vector<std::pair<size_t, size_t>> groups;  // (offset, length) in frames per line
  StackTable collapsed;

  void header(std::string_view line, const Header& h);
  void frame_line(const Frame& f);
  void append_frame(std::string_view func, const Frame& f, bool inlined);
  void end_of_sample();
};

void PerfScriptCollapser::Impl::header(std::string_view line, const Header& h) {
  std::string_view pid = h.pid, tid = h.tid;
  if (tid.empty() || tid == "0") {  // Perl: `if (not $tid)`
    tid = pid;
    pid = "?";
  }
  std::string_view period_digits;
  std::string_view event;
  if (match_event(line, period_digits, event)) {
    if (opt.event_filter.empty()) {
      opt.event_filter = std::string(event);
      stats.event = opt.event_filter;
      event_defaulted = true;
    } else if (event != opt.event_filter) {
      ++stats.skipped_events;
      return;  // the previous $pname stays, as in the Perl script
    }
  }
  if (period_digits.empty() || period_digits == "0") {
    period = Count{1, 0, false};
  } else {
    period = Count::parse(period_digits);
  }
  pname.assign(h.comm);
  if (opt.tid) {
    pname += '-';
    pname += pid;
    pname += '/';
    pname += tid;
  } else if (opt.pid) {
    pname += '-';
    pname += pid;
  }
  std::replace(pname.begin(), pname.end(), ' ', '_');
  have_pname = true;
  java = pname.starts_with("java");
}

void PerfScriptCollapser::Impl::append_frame(std::string_view func, const Frame& f, bool inlined) {
  frames += ';';
  const size_t body = frames.size();
  std::string unknown;
  if (func == "[unknown]") {
    std::string_view name = "unknown";
    if (f.mod != "[unknown]") {
      name = f.mod;
      if (size_t slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
    }
    unknown = "[";
    unknown += name;
    if (opt.addrs) {
      unknown += " <";
      unknown += f.pc;
      unknown += '>';
    }
    unknown += ']';
    func = unknown;
  }
  // Unless it looks like a Go method ("net/http.(*Client).Do"), everything from the
  // first '(' that does not open "(anonymous namespace)" is dropped.
  const size_t go_open = func.find(".(");
  const size_t go_close = func.rfind(").");
  const bool go = go_open != std::string_view::npos && go_close != std::string_view::npos &&
                  go_close >= go_open + 2;
  if (!go) {
    for (size_t p = func.find('('); p != std::string_view::npos; p = func.find('(', p + 1)) {
      if (!func.substr(p + 1).starts_with("anonymous namespace)")) {
        func = func.substr(0, p);
        break;
      }
    }
  }
  // ';' becomes ':', quotes are deleted (the common case has neither: one append).
  const auto special = [](char c) { return c == ';' || c == '"' || c == '\''; };
  if (std::none_of(func.begin(), func.end(), special)) {
    frames.append(func);
  } else {
    for (char c : func) {
      if (c == ';') {
        frames += ':';
      } else if (c != '"' && c != '\'') {
        frames += c;
      }
    }
  }
  std::string_view text(frames.data() + body, frames.size() - body);
  if (java && !text.empty() && text[0] == 'L' && contains(text, "/")) {
    frames.erase(body, 1);
    text = std::string_view(frames.data() + body, frames.size() - body);
  }
  if (inlined) {
    if (!contains(text, "_[i]")) frames += "_[i]";
  } else if (opt.kernel && is_kernel_module(f.mod)) {
    frames += "_[k]";
  } else if (opt.jit && is_jit_module(f.mod)) {
    if (!contains(text, "_[j]")) frames += "_[j]";
  }
}

void PerfScriptCollapser::Impl::frame_line(const Frame& f) {
  std::string_view func = f.func;
  // s/\+0x[\da-f]+$// : Linux 4.8+ prints symbol offsets. Only the last '+' can start
  // such a suffix (an earlier one would have a '+' in its hex digits).
  if (const void* plus = func.empty() ? nullptr : ::memrchr(func.data(), '+', func.size())) {
    const size_t p = static_cast<size_t>(static_cast<const char*>(plus) - func.data());
    if (p + 3 < func.size() && func[p + 1] == '0' && func[p + 2] == 'x' &&
        std::all_of(func.begin() + static_cast<long>(p) + 3, func.end(), [](char c) { return is_lower_hex(c); })) {
      func = func.substr(0, p);
    }
  }
  if (func.starts_with('(')) return;  // a process name
  const size_t start = frames.size();
  if (!func.empty() && !has_special(func) && func != "[unknown]") {
    // The common shape: one frame, nothing to split, cut or rewrite.
    frames += ';';
    frames.append(func);
    if (java && func[0] == 'L' && contains(func, "/")) frames.erase(start + 1, 1);
    if (opt.kernel && is_kernel_module(f.mod)) {
      frames += "_[k]";
    } else if (opt.jit && is_jit_module(f.mod)) {
      const std::string_view text(frames.data() + start + 1, frames.size() - start - 1);
      if (!contains(text, "_[j]")) frames += "_[j]";
    }
    groups.emplace_back(start, frames.size() - start);
    if (frames.size() > kMaxSampleStack) {
      throw std::runtime_error("input is not perf script text: a sample's stack is over 64 MiB");
    }
    return;
  }
  // split /->/ (inlined functions), dropping trailing empty fields like Perl's split.
  size_t end = func.size();
  while (end >= 2 && func.substr(end - 2, 2) == "->") end -= 2;
  func = func.substr(0, end);
  if (!func.empty()) {
    bool first = true;
    size_t pos = 0;
    while (true) {
      const size_t arrow = func.find("->", pos);
      const std::string_view part =
          func.substr(pos, arrow == std::string_view::npos ? std::string_view::npos : arrow - pos);
      append_frame(part, f, !first);
      first = false;
      if (arrow == std::string_view::npos) break;
      pos = arrow + 2;
    }
  }
  if (frames.size() > start) groups.emplace_back(start, frames.size() - start);
  if (frames.size() > kMaxSampleStack) {
    throw std::runtime_error("input is not perf script text: a sample's stack is over 64 MiB");
  }
}

void PerfScriptCollapser::Impl::end_of_sample() {
  // Frames are listed leaf first: the stack is the root, then the lines in reverse.
  size_t size = pname.size();
  for (const auto& g : groups) size += g.second;
  char* const key = collapsed.reserve(size);
  char* out = key;
  std::memcpy(out, pname.data(), pname.size());
  out += pname.size();
  for (auto it = groups.rbegin(); it != groups.rend(); ++it) {
    std::memcpy(out, frames.data() + it->first, it->second);
    out += it->second;
  }
  collapsed.add(key, size, period);
  ++stats.samples;
  frames.clear();
  groups.clear();
  have_pname = false;
}

PerfScriptCollapser::PerfScriptCollapser(CollapseOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->stats.event = impl_->opt.event_filter;
}
PerfScriptCollapser::~PerfScriptCollapser() = default;
PerfScriptCollapser::PerfScriptCollapser(PerfScriptCollapser&&) noexcept = default;
PerfScriptCollapser& PerfScriptCollapser::operator=(PerfScriptCollapser&&) noexcept = default;

void PerfScriptCollapser::add_line(std::string_view line) {
  Impl& m = *impl_;
  ++m.stats.lines;
  if (line.empty()) {
    if (m.have_pname) m.end_of_sample();
    return;
  }
  if (line[0] == '#') return;
  if (Header h; match_header(line, h)) {
    m.header(line, h);
    return;
  }
  if (Frame f; match_frame(line, f)) {
    if (m.have_pname) m.frame_line(f);
    return;
  }
  ++m.stats.unrecognized_lines;
  if (std::any_of(line.begin(), line.end(), [](unsigned char c) {
        return (c < 0x20 && c != '\t' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f;
      })) {
    ++m.stats.binary_lines;
  }
}

void PerfScriptCollapser::write(std::ostream& out) const {
  std::vector<SortItem> sorted;
  sorted.reserve(impl_->collapsed.size());
  for (const auto& e : impl_->collapsed.entries()) sorted.push_back({0, e.view(), &e});
  sort_stacks(sorted);
  std::string buf;
  buf.reserve(kChunkSize + 4096);
  constexpr size_t kAhead = 4;  // keys are cold and in no memory order: prefetch
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i + kAhead < sorted.size()) {
      const std::string_view next = sorted[i + kAhead].key;
      for (size_t off = 0; off < next.size(); off += 64) __builtin_prefetch(next.data() + off);
    }
    const SortItem& item = sorted[i];
    const StackTable::Entry* kv = item.entry;
    buf += item.key;
    buf += ' ';
    kv->count.append_to(buf);
    buf += '\n';
    if (buf.size() >= kChunkSize) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
}

const CollapseStats& PerfScriptCollapser::stats() const {
  impl_->stats.distinct_stacks = impl_->collapsed.size();
  return impl_->stats;
}

CollapseStats collapse_perf_script(std::istream& in, std::ostream& out, const CollapseOptions& options) {
  PerfScriptCollapser collapser(options);
  const auto buf = std::make_unique_for_overwrite<char[]>(kChunkSize);
  std::string carry;  // a line split across chunks
  uint64_t total = 0;
  while (true) {
    in.read(buf.get(), static_cast<std::streamsize>(kChunkSize));
    const size_t n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    if (total == 0 && n >= 8 &&
        (std::memcmp(buf.get(), "PERFILE2", 8) == 0 || std::memcmp(buf.get(), "PERFFILE", 8) == 0)) {
      throw std::runtime_error("input is a perf.data file, not perf script text: convert it with `perf script` first");
    }
    if (std::memchr(buf.get(), 0, n) != nullptr) {
      throw std::runtime_error("input is not perf script text: it contains binary data (NUL bytes)");
    }
    total += n;
    std::string_view chunk(buf.get(), n);
    while (!chunk.empty()) {
      const size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        carry.append(chunk);
        if (carry.size() > kMaxLine) {
          throw std::runtime_error(fmt::format("input is not perf script text: line {} is over 16 MiB",
                                               collapser.stats().lines + 1));
        }
        break;
      }
      if (carry.empty()) {
        collapser.add_line(chunk.substr(0, nl));
      } else {
        carry.append(chunk.substr(0, nl));
        if (carry.size() > kMaxLine) {
          throw std::runtime_error(fmt::format("input is not perf script text: line {} is over 16 MiB",
                                               collapser.stats().lines + 1));
        }
        collapser.add_line(carry);
        carry.clear();
      }
      chunk.remove_prefix(nl + 1);
    }
    if (!in) break;
  }
  if (in.bad()) throw std::runtime_error("error reading the input");
  if (!carry.empty()) collapser.add_line(carry);  // a last line without '\n'

  const CollapseStats& stats = collapser.stats();
  if (total == 0) throw std::runtime_error("no samples in input: the input is empty");
  if (stats.samples == 0) {
    if (stats.binary_lines > 0) throw std::runtime_error("input is not perf script text: it contains binary data");
    if (stats.skipped_events > 0 && !options.event_filter.empty()) {
      throw std::runtime_error(fmt::format("no samples of event '{}' in input", options.event_filter));
    }
    throw std::runtime_error(fmt::format(
        "no samples in input: {} lines read, none a `perf script` sample followed by a blank line",
        stats.lines));
  }
  collapser.write(out);
  return stats;
}

}  // namespace kperf::fg

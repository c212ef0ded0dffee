// Escaping and UTF-8 helpers shared by the SVG and JSON writers.
#include "flamegraph/text.hpp"

#include <fmt/core.h>

namespace kperf::fg {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid.
std::size_t utf8_seq(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned min;
  unsigned cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  // U+FFFE and U+FFFF are not allowed in XML either.
  if (cp == 0xFFFE || cp == 0xFFFF) return 0;
  return n;
}

// Appends s to out: ASCII bytes through `ascii(out, c)`, valid UTF-8 sequences as they
// are, every invalid byte as U+FFFD.
template <class Ascii>
void append_utf8(std::string& out, std::string_view s, Ascii ascii) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ascii(out, s[i]);
      ++i;
      continue;
    }
    const std::size_t n = utf8_seq(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
}

}  // namespace

void append_xml_escaped(std::string& out, std::string_view s) {
  append_utf8(out, s, [](std::string& o, char c) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          o += kReplacement;
        } else {
          o += c;
        }
    }
  });
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  append_utf8(out, s, [](std::string& o, char c) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      case '<': o += "\\u003c"; break;
      case '>': o += "\\u003e"; break;
      case '&': o += "\\u0026"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          o += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          o += c;
        }
    }
  });
  out += '"';
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++n) {
    const std::size_t k = utf8_seq(s, i);
    i += k == 0 ? 1 : k;
  }
  return n;
}

std::string_view utf8_prefix(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  for (std::size_t c = 0; c < n && i < s.size(); ++c) {
    const std::size_t k = utf8_seq(s, i);
    i += k == 0 ? 1 : k;
  }
  return s.substr(0, i);
}

}  // namespace kperf::fg

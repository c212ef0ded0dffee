// Text helpers for the writers: XML and JSON escaping that always yields valid output
// (invalid UTF-8 and XML-forbidden control bytes become U+FFFD), and UTF-8 aware
// length/prefix for label truncation.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kperf::fg {

// Appends `s` with & < > " escaped as XML entities; bytes that cannot appear in XML 1.0
// text (invalid UTF-8, C0 controls other than tab/LF/CR) are replaced by U+FFFD.
void append_xml_escaped(std::string& out, std::string_view s);
// Appends `s` as a quoted JSON string; < > & are \u-escaped too, so the result can sit
// inside an HTML/SVG <script>. Invalid UTF-8 becomes U+FFFD.
void append_json_string(std::string& out, std::string_view s);
// Number of code points (an invalid byte counts as one).
std::size_t utf8_length(std::string_view s);
// The first `n` code points of `s`.
std::string_view utf8_prefix(std::string_view s, std::size_t n);

}  // namespace kperf::fg

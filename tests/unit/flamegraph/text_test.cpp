// XML / JSON escaping and UTF-8 helpers of the writers: every output stays valid whatever
// bytes a frame name holds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "flamegraph/text.hpp"

namespace kperf::fg {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

std::string xml(std::string_view s) {
  std::string out;
  append_xml_escaped(out, s);
  return out;
}

std::string json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(Text, XmlEscapesMarkupAndKeepsUtf8) {
  EXPECT_EQ(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c'");
  EXPECT_EQ(xml("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xA5"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\xA5");
  EXPECT_EQ(xml("tab\tnl\ncr\r"), "tab\tnl\ncr\r");
}

TEST(Text, XmlReplacesWhatXmlCannotHold) {
  EXPECT_EQ(xml(std::string("a\x01z", 3)), "a" + kFffd + "z");
  EXPECT_EQ(xml(std::string("\0", 1)), kFffd);
  EXPECT_EQ(xml("\xC3"), kFffd);                       // truncated sequence
  EXPECT_EQ(xml("\xC0\xAF"), kFffd + kFffd);           // overlong
  EXPECT_EQ(xml("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate
  EXPECT_EQ(xml("\xEF\xBF\xBF"), kFffd + kFffd + kFffd);  // U+FFFF
  EXPECT_EQ(xml("\xFF" "ok"), kFffd + "ok");
}

TEST(Text, JsonIsParseableAndRoundTripsValidText) {
  const std::string in = "q\"b\\s/\n\r\t<x>&caf\xC3\xA9";
  const std::string out = json(in);
  EXPECT_EQ(out.find('<'), std::string::npos);
  EXPECT_EQ(out.find('>'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), in);
  EXPECT_EQ(json(std::string("\x1f", 1)), "\"\\u001f\"");
  EXPECT_EQ(nlohmann::json::parse(json("a\xC3(b")).get<std::string>(), "a" + kFffd + "(b");
}

TEST(Text, Utf8LengthAndPrefixCountCodePoints) {
  EXPECT_EQ(utf8_length("caf\xC3\xA9"), 4u);
  EXPECT_EQ(utf8_length("\xFF\xFE"), 2u);
  EXPECT_EQ(utf8_prefix("caf\xC3\xA9!", 4), "caf\xC3\xA9");
  EXPECT_EQ(utf8_prefix("\xE2\x82\xAC\xE2\x82\xAC", 1), "\xE2\x82\xAC");
  EXPECT_EQ(utf8_prefix("ab", 5), "ab");
}

}  // namespace
}  // namespace kperf::fg

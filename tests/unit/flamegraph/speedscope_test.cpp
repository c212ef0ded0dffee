// speedscope export: the schema's required fields, frame table, samples and weights.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "flamegraph/folded.hpp"
#include "flamegraph/speedscope.hpp"

namespace kperf::fg {
namespace {

nlohmann::json export_json(const std::string& text) {
  StackTrie t;
  FoldedReader r(t);
  r.add_text(text, "t");
  std::ostringstream out;
  write_speedscope(t, {}, out);
  return nlohmann::json::parse(out.str());
}

TEST(Speedscope, RequiredFieldsAndSamples) {
  const auto j = export_json("nginx;main /a.lua:3;f /a.lua:10_[j] 3\nnginx;ngx_x 2\n");
  EXPECT_EQ(j.at("$schema"), "https://www.speedscope.app/file-format-schema.json");
  const auto& frames = j.at("shared").at("frames");
  ASSERT_EQ(frames.size(), 4u);
  ASSERT_EQ(j.at("profiles").size(), 1u);
  const auto& p = j.at("profiles")[0];
  for (const char* k : {"type", "name", "unit", "startValue", "endValue", "samples", "weights"}) {
    EXPECT_TRUE(p.contains(k)) << k;
  }
  EXPECT_EQ(p.at("type"), "sampled");
  EXPECT_EQ(p.at("unit"), "none");
  EXPECT_EQ(p.at("endValue"), 5);
  ASSERT_EQ(p.at("samples").size(), 2u);
  EXPECT_EQ(p.at("weights"), (nlohmann::json{3, 2}));
  // The first sample is nginx -> main -> f, by frame-table index.
  const auto& s0 = p.at("samples")[0];
  ASSERT_EQ(s0.size(), 3u);
  EXPECT_EQ(frames[s0[0].get<int>()].at("name"), "nginx");
  const auto& f = frames[s0[2].get<int>()];
  EXPECT_EQ(f.at("name"), "f /a.lua:10_[j]");
  EXPECT_EQ(f.at("file"), "/a.lua");
  EXPECT_EQ(f.at("line"), 10);
}

TEST(Speedscope, DifferentialHasBeforeAndAfterProfiles) {
  const auto j = export_json("a 1 4\nb 2 0\n");
  ASSERT_EQ(j.at("profiles").size(), 2u);
  EXPECT_EQ(j.at("profiles")[0].at("endValue"), 3);
  EXPECT_EQ(j.at("profiles")[1].at("endValue"), 4);
  EXPECT_EQ(j.at("activeProfileIndex"), 1);
}

TEST(Speedscope, ValidUtf8Always) {
  EXPECT_NO_THROW(export_json("bad\xff\xfe;x\x01 1\n"));
}

}  // namespace
}  // namespace kperf::fg

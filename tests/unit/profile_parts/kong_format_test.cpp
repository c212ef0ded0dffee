// Unit tests of kperf/gateway/kong_format: the declarative format each Kong version
// accepts, and the conversions between 3.x and older formats (both ways).
#include "kperf/gateway/kong_format.hpp"

#include <gtest/gtest.h>

#include "kperf/run/workload.hpp"

namespace kperf {
namespace {

using nlohmann::json;

TEST(KongFormat, FormatForVersion) {
  EXPECT_EQ(declarative_format_for("2.4.0"), "2.1");
  EXPECT_EQ(declarative_format_for("2.8.4"), "2.1");
  EXPECT_EQ(declarative_format_for("2.1.0"), "2.1");
  EXPECT_EQ(declarative_format_for("2.0.5"), "1.1");
  EXPECT_EQ(declarative_format_for("1.5.1"), "1.1");
  EXPECT_EQ(declarative_format_for("3.0.0-rc.1"), "3.0");
  EXPECT_EQ(declarative_format_for("3.4.3.1"), "3.0");
  EXPECT_EQ(declarative_format_for("master"), std::nullopt);
  EXPECT_THROW(declarative_for_kong(json::object(), "master"), std::runtime_error);
}

const json k3 = json::parse(R"({
  "_format_version": "3.0",
  "services": [{"name": "s", "url": "http://127.0.0.1:1/",
                "routes": [{"name": "r", "paths": ["~/s/\\d+$", "/plain", "/a+b"],
                            "plugins": [{"name": "ip-restriction", "config": {"allow": ["127.0.0.1"]}}]}]}],
  "routes": [{"name": "top", "service": "s", "paths": ["~/t(/.*)?"]}],
  "plugins": [{"name": "key-auth"}]
})");

TEST(KongFormat, From3xToKong2) {
  const json out = declarative_for_kong(k3, "2.4.0");
  EXPECT_EQ(out["_format_version"], "2.1");
  const json& paths = out["services"][0]["routes"][0]["paths"];
  EXPECT_EQ(paths[0], "/s/\\d+$");   // the regex marker dropped: 2.x sees a regex by its characters
  EXPECT_EQ(paths[1], "/plain");     // unchanged
  EXPECT_EQ(paths[2], "/a\\+b");     // literal in 3.x: escaped, or 2.x would take '+' as regex
  EXPECT_EQ(out["routes"][0]["paths"][0], "/t(/.*)?");
  // allow/deny exist since 2.1: left as they are
  EXPECT_EQ(out["services"][0]["routes"][0]["plugins"][0]["config"]["allow"][0], "127.0.0.1");
  EXPECT_EQ(k3["_format_version"], "3.0");  // the input is not modified
}

TEST(KongFormat, PrometheusMetricSwitchesDroppedForKong2) {
  const json k = json::parse(R"({"_format_version": "3.0", "plugins": [{"name": "prometheus",
      "config": {"per_consumer": false, "status_code_metrics": true, "latency_metrics": true}}]})");
  EXPECT_EQ(declarative_for_kong(k, "2.4.0")["plugins"][0]["config"], json::parse(R"({"per_consumer": false})"));
  EXPECT_EQ(declarative_for_kong(k, "3.4.2")["plugins"][0]["config"], k["plugins"][0]["config"]);
}

TEST(KongFormat, From3xToKong1UsesOldListNames) {
  const json out = declarative_for_kong(k3, "1.5.0");
  EXPECT_EQ(out["_format_version"], "1.1");
  const json& cfg = out["services"][0]["routes"][0]["plugins"][0]["config"];
  EXPECT_EQ(cfg["whitelist"][0], "127.0.0.1");
  EXPECT_FALSE(cfg.contains("allow"));
}

TEST(KongFormat, From2xToKong3) {
  const json k2 = json::parse(R"({
    "_format_version": "2.1",
    "services": [{"name": "s", "url": "http://127.0.0.1:1/", "routes": [{"paths": ["/s/\\d+", "/plain", "~/already"]}],
                  "plugins": [{"name": "pre-function", "config": {"functions": ["return"]}}]}],
    "consumers": [{"username": "c", "plugins": [{"name": "acl", "config": {"whitelist": ["g"], "blacklist": ["h"]}}]}],
    "plugins": [{"name": "aws-lambda", "config": {"proxy_scheme": "https", "function_name": "f"}},
                {"name": "prometheus", "config": {"per_consumer": true}}]
  })");
  const json out = declarative_for_kong(k2, "3.4.2");
  EXPECT_EQ(out["_format_version"], "3.0");
  const json& paths = out["services"][0]["routes"][0]["paths"];
  EXPECT_EQ(paths[0], "~/s/\\d+");  // a 2.x regex path gets its marker
  EXPECT_EQ(paths[1], "/plain");
  EXPECT_EQ(paths[2], "~/already");
  EXPECT_EQ(out["services"][0]["plugins"][0]["config"], json::parse(R"({"access": ["return"]})"));
  EXPECT_EQ(out["consumers"][0]["plugins"][0]["config"], json::parse(R"({"allow": ["g"], "deny": ["h"]})"));
  EXPECT_EQ(out["plugins"][0]["config"], json::parse(R"({"function_name": "f"})"));
  // 2.x collected every prometheus metric: 3.x is asked for them
  EXPECT_EQ(out["plugins"][1]["config"],
            json::parse(R"({"per_consumer": true, "status_code_metrics": true, "latency_metrics": true,
                            "bandwidth_metrics": true, "upstream_health_metrics": true})"));
  // 2.x to 2.x: paths mean the same, nothing escaped or marked
  EXPECT_EQ(declarative_for_kong(k2, "2.4.0")["services"][0]["routes"][0]["paths"][0], "/s/\\d+");
}

TEST(KongFormat, EveryBundledWorkloadIsWrittenForKong2) {
  for (const auto& name : list_workloads()) {
    SCOPED_TRACE(name);
    const json out = declarative_for_kong(Workload::load(name).kong_config("127.0.0.1", 9), "2.4.0");
    EXPECT_EQ(out["_format_version"], "2.1");
    EXPECT_EQ(out.dump().find("\"~"), std::string::npos);
  }
}

}  // namespace
}  // namespace kperf

// Unit tests of kperf/workload: the bundled workload files load and convert, and each
// kind of bad input gives one clear error line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "kperf/run/workload.hpp"

namespace {

using kperf::Workload;
using ::testing::HasSubstr;
using nlohmann::json;

const std::string kHead = "name: t\nload:\n  path: /s1-r1\nkong:\n  _format_version: \"3.0\"\n";
const std::string kService =
    "  services:\n"
    "    - name: s1\n"
    "      url: http://kperf-upstream/test\n"
    "      routes:\n"
    "        - name: r1\n"
    "          paths: [\"/s1-r1\"]\n";

// The error message of parsing `yaml`, or "" if it parsed.
std::string error_of(const std::string& yaml) {
  try {
    Workload::parse(yaml, "test.yaml");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(LabWorkload, BundledWorkloadsLoadAndConvert) {
  auto names = kperf::list_workloads();
  ASSERT_GE(names.size(), 6u);
  std::set<std::string> set(names.begin(), names.end());
  for (const char* needed : {"baseline", "single-route", "routes-10x10", "key-auth", "global-plugins",
                             "rate-limiting", "plugin-iterator", "prometheus"}) {
    EXPECT_TRUE(set.count(needed)) << needed;
  }
  EXPECT_TRUE(set.count(std::string(kperf::kDefaultWorkload)));
  for (const auto& n : names) {
    SCOPED_TRACE(n);
    Workload w = Workload::load(n);
    EXPECT_EQ(w.name(), n);
    EXPECT_FALSE(w.description().empty());
    json g = w.gateway_config("127.0.0.1", 4242);
    for (const auto& s : g["services"]) {
      EXPECT_EQ(s["host"], "127.0.0.1");
      EXPECT_EQ(s["port"], 4242);
    }
  }
}

// kperf's list of plugin names is the set of handlers the Lua gateway has.
TEST(LabWorkload, KnownPluginsMatchTheLuaHandlers) {
  std::set<std::string> on_disk;
  for (const auto& e : std::filesystem::directory_iterator(kperf::lab_dir() / "lua" / "kong" / "plugins")) {
    if (std::filesystem::exists(e.path() / "handler.lua")) on_disk.insert(e.path().filename().string());
  }
  const auto& known = Workload::known_plugins();
  EXPECT_EQ(std::set<std::string>(known.begin(), known.end()), on_disk);
}

TEST(LabWorkload, KeyAuthShape) {
  Workload w = Workload::load("key-auth");
  const auto& l = w.load();
  EXPECT_EQ(l.target, kperf::LoadSpec::Target::Gateway);
  EXPECT_EQ(l.path, "/s{1..10}-r{1..10}?apikey=consumer-{1..100}");
  EXPECT_EQ(l.threads, 2);
  EXPECT_EQ(l.connections, 100);
  EXPECT_EQ(l.duration, std::chrono::seconds(10));
  EXPECT_EQ(l.runs, 3);

  json g = w.gateway_config("127.0.0.1", 8001);
  ASSERT_EQ(g["services"].size(), 10u);
  ASSERT_EQ(g["routes"].size(), 100u);
  ASSERT_EQ(g["consumers"].size(), 100u);
  ASSERT_EQ(g["keyauth_credentials"].size(), 100u);
  ASSERT_EQ(g["plugins"].size(), 10u);
  std::set<std::string> service_ids, consumer_ids;
  for (const auto& s : g["services"]) {
    service_ids.insert(s["id"].get<std::string>());
    EXPECT_EQ(s["path"], "/test");
    EXPECT_EQ(s["protocol"], "http");
    EXPECT_FALSE(s.contains("routes"));
    EXPECT_FALSE(s.contains("url"));
  }
  for (const auto& c : g["consumers"]) consumer_ids.insert(c["id"].get<std::string>());
  for (const auto& r : g["routes"]) EXPECT_TRUE(service_ids.count(r["service"].get<std::string>())) << r.dump();
  for (const auto& p : g["plugins"]) {
    EXPECT_EQ(p["name"], "key-auth");
    EXPECT_TRUE(service_ids.count(p["service"].get<std::string>())) << p.dump();
  }
  for (const auto& k : g["keyauth_credentials"]) {
    EXPECT_TRUE(consumer_ids.count(k["consumer"].get<std::string>())) << k.dump();
  }
  // route s3-r7 belongs to service s3
  for (const auto& r : g["routes"]) {
    if (r["name"] == "s3-r7") {
      EXPECT_EQ(r["paths"], json::array({"/s3-r7"}));
      EXPECT_EQ(r["service"], "service:s3");
      EXPECT_EQ(r["strip_path"], true);
    }
  }
}

TEST(LabWorkload, KongConfigKeepsShapeAndPointsAtUpstream) {
  Workload w = Workload::load("single-route");
  json k = w.kong_config("127.0.0.1", 9100);
  EXPECT_EQ(k["_format_version"], "3.0");
  ASSERT_EQ(k["services"].size(), 1u);
  EXPECT_EQ(k["services"][0]["url"], "http://127.0.0.1:9100/test");
  EXPECT_EQ(k["services"][0]["routes"][0]["paths"][0], "/s1-r1");  // still nested, as written
  // a port written after kperf-upstream is replaced too; other hosts are left alone
  Workload w2 = Workload::parse(kHead +
                                    "  services:\n"
                                    "    - {name: a, url: \"http://kperf-upstream:1234/x\", routes: [{paths: [/a]}]}\n"
                                    "    - {name: b, url: \"http://10.0.0.1:81/y\", routes: [{paths: [/b]}]}\n",
                                "t.yaml");
  json k2 = w2.kong_config("127.0.0.1", 9100);
  EXPECT_EQ(k2["services"][0]["url"], "http://127.0.0.1:9100/x");
  EXPECT_EQ(k2["services"][1]["url"], "http://10.0.0.1:81/y");
  json g2 = w2.gateway_config("127.0.0.1", 9100);
  EXPECT_EQ(g2["services"][1]["host"], "10.0.0.1");
  EXPECT_EQ(g2["services"][1]["port"], 81);
}

TEST(LabWorkload, BaselineTargetsUpstream) {
  Workload w = Workload::load("baseline");
  EXPECT_EQ(w.load().target, kperf::LoadSpec::Target::Upstream);
  EXPECT_EQ(w.load().path, "/test");
}

TEST(LabWorkload, ScalarsAreTypedLikeYaml12) {
  Workload w = Workload::parse(kHead +
                                   "  services:\n"
                                   "    - name: \"123\"\n"
                                   "      host: kperf-upstream\n"
                                   "      port: 80\n"
                                   "      routes:\n"
                                   "        - {name: r, paths: [\"/x\"], strip_path: false}\n"
                                   "  plugins:\n"
                                   "    - name: rate-limiting\n"
                                   "      config: {second: 10, limit_by: ip, hide_client_headers: true}\n",
                               "t.yaml");
  json g = w.gateway_config("127.0.0.1", 1);
  EXPECT_TRUE(g["services"][0]["name"].is_string());
  EXPECT_EQ(g["routes"][0]["strip_path"], false);
  EXPECT_EQ(g["plugins"][0]["config"]["second"], 10);
  EXPECT_EQ(g["plugins"][0]["config"]["hide_client_headers"], true);
}

TEST(LabWorkload, LoadDurationsUseLoadgenSyntax) {
  auto duration = [](const std::string& d) {
    return Workload::parse("name: t\nload: {duration: " + d + "}\nkong: {_format_version: \"3.0\"}\n", "t.yaml")
        .load()
        .duration;
  };
  EXPECT_EQ(duration("10s"), std::chrono::seconds(10));
  EXPECT_EQ(duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(duration("3"), std::chrono::seconds(3));
}

TEST(LabWorkload, MissingFileAndUnknownName) {
  try {
    Workload::load("/nonexistent/dir/w.yaml");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/dir/w.yaml: cannot read"));
  }
  try {
    Workload::load("no-such-workload");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("workload 'no-such-workload' not found"));
    EXPECT_THAT(e.what(), HasSubstr("key-auth"));  // lists what exists
  }
}

TEST(LabWorkload, FileByPath) {
  auto path = std::filesystem::temp_directory_path() / "kperf-lab-workload-test.yaml";
  {
    std::ofstream(path) << kHead << kService;
  }
  Workload w = Workload::load(path.string());
  EXPECT_EQ(w.name(), "t");
  EXPECT_EQ(w.origin(), path.string());
  std::filesystem::remove(path);
}

struct BadCase {
  const char* what;
  std::string yaml;
  const char* expected;
};

TEST(LabWorkload, BadInputsGiveOneClearLine) {
  const std::vector<BadCase> cases = {
      {"bad YAML", "name: t\nkong: [1, 2\n", "bad YAML at line"},
      {"not a map", "- 1\n- 2\n", "expected a map"},
      {"unknown top-level key", "name: t\nkperf: {}\nkong: {_format_version: \"3.0\"}\n", "unknown field 'kperf'"},
      {"no kong section", "name: t\n", "'kong' (the Kong declarative config) is missing"},
      {"no name", "kong: {_format_version: \"3.0\"}\n", "'name' is missing"},
      {"no format version", "name: t\nkong: {services: []}\n", "'_format_version' is missing"},
      {"route to unknown service", kHead + kService + "  routes:\n    - {name: r9, paths: [/x], service: nope}\n",
       "unknown service 'nope'"},
      {"route without service", kHead + kService + "  routes:\n    - {name: r9, paths: [/x]}\n",
       "'service' is missing"},
      {"bad path", kHead + "  services:\n    - {name: s, url: http://a/, routes: [{paths: [x]}]}\n",
       "path 'x' must start with '/'"},
      {"duplicate service", kHead + "  services:\n    - {name: s, url: http://a/}\n    - {name: s, url: http://b/}\n",
       "duplicate service name 's'"},
      {"url and host", kHead + "  services:\n    - {name: s, url: http://a/, host: b}\n", "either 'url' or 'host'"},
      {"bad port", kHead + "  services:\n    - {name: s, url: \"http://a:99999/\"}\n", "bad port"},
      {"credential of unknown consumer",
       kHead + "  consumers: [{username: c1}]\n  keyauth_credentials: [{consumer: c2, key: k}]\n",
       "unknown consumer 'c2'"},
      {"duplicate key",
       kHead + "  consumers: [{username: c1}]\n  keyauth_credentials: [{consumer: c1, key: k}, {consumer: c1, key: k}]\n",
       "duplicate key 'k'"},
      {"plugin on unknown route", kHead + kService + "  plugins:\n    - {name: cors, route: r2}\n",
       "unknown route 'r2'"},
      {"plugin config not a map", kHead + kService + "  plugins:\n    - {name: cors, config: [1]}\n",
       "'config' must be a map"},
      {"consumer without name", kHead + "  consumers: [{tags: [a]}]\n", "needs a 'username' or a 'custom_id'"},
      {"bad duration", "name: t\nload: {duration: 10 parsecs}\nkong: {_format_version: \"3.0\"}\n",
       "load: 'duration': invalid duration '10 parsecs'"},
      {"zero duration", "name: t\nload: {duration: 0s}\nkong: {_format_version: \"3.0\"}\n",
       "'duration' must be a positive duration"},
      {"bad template", "name: t\nload: {path: \"/s{5..1}\"}\nkong: {_format_version: \"3.0\"}\n", "load: invalid range"},
      {"header name with a space", "name: t\nload: {headers: {\"bad name\": x}}\nkong: {_format_version: \"3.0\"}\n",
       "load: invalid header name 'bad name'"},
      {"bad header", "name: t\nload: {headers: {\"\": x}}\nkong: {_format_version: \"3.0\"}\n",
       "load: invalid header"},
      {"connections below threads", "name: t\nload: {threads: 4, connections: 2}\nkong: {_format_version: \"3.0\"}\n",
       "'connections' must be at least 'threads'"},
      {"bad target", "name: t\nload: {target: moon}\nkong: {_format_version: \"3.0\"}\n",
       "'target' must be 'gateway' or 'upstream'"},
      {"bad load path", "name: t\nload: {path: s1}\nkong: {_format_version: \"3.0\"}\n",
       "'path' must be a request target starting with '/'"},
      {"unknown load key", "name: t\nload: {thread: 4}\nkong: {_format_version: \"3.0\"}\n", "unknown field 'thread'"},
      {"threads not a number", "name: t\nload: {threads: many}\nkong: {_format_version: \"3.0\"}\n",
       "'threads' must be an integer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    std::string err = error_of(c.yaml);
    ASSERT_FALSE(err.empty()) << "accepted";
    EXPECT_THAT(err, HasSubstr(c.expected));
    EXPECT_THAT(err, HasSubstr("workload test.yaml: "));
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

// What only the lab gateway lacks is no parse error: real Kong runs such a workload.
// The lab refuses it, in one line, when it is asked to run it.
TEST(LabWorkload, LabOnlyLimitsApplyWhenTheLabRunsIt) {
  const std::vector<BadCase> cases = {
      {"unsupported entity", kHead + "  upstreams: []\n", "unknown field 'upstreams'"},
      {"unknown plugin", kHead + kService + "  plugins:\n    - name: ip-restriction\n      config: {allow: [127.0.0.1]}\n",
       "unknown plugin 'ip-restriction' (the lab gateway has: "},
      {"route with nothing to match", kHead + "  services:\n    - {name: s, url: http://a/, routes: [{name: r}]}\n",
       "at least one of 'paths', 'hosts', 'methods'"},
      {"https service", kHead + "  services:\n    - {name: s, url: https://a/}\n", "protocol 'https' is not supported"},
      {"unknown service field", kHead + "  services:\n    - {name: s, url: http://a/, tls_verify: false}\n",
       "unknown field 'tls_verify'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    std::optional<Workload> w;
    ASSERT_NO_THROW(w.emplace(Workload::parse(c.yaml, "test.yaml")));
    try {
      w->check_lab();
      FAIL() << "the lab accepted it";
    } catch (const std::runtime_error& e) {
      const std::string err = e.what();
      EXPECT_THAT(err, HasSubstr(c.expected));
      EXPECT_THAT(err, HasSubstr("workload test.yaml: "));
      EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    }
    EXPECT_THROW(w->gateway_config("127.0.0.1", 80), std::runtime_error);
    // what real Kong gets is the config as written
    EXPECT_EQ(w->kong_config("127.0.0.1", 80)["_format_version"], "3.0");
  }
  // every bundled workload runs on the lab
  for (const auto& name : kperf::list_workloads()) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW(Workload::load(name).check_lab());
  }
}

}  // namespace

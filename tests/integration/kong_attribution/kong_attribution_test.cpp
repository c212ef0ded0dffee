// Plugin and phase attribution on real Kong 2.4.0 (tests/support/kong_testbed): Kong 2.4
// runs each plugin's access handler in a coroutine of its own, so key-auth's frames sit
// under Kong.access only when the walker continues the coroutine with its ngx_lua parent;
// the plugin table books each plugin's CPU in the phase nginx was in, rate-limiting's
// counter updates (ngx.timer) under "timer".
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "tests/support/folded_stacks.hpp"
#include "tests/support/kong_testbed.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A Lua frame of Kong's phase handler: `access .../kong/init.lua:LINE`.
bool kong_phase_frame(const std::string& f, const std::string& phase) {
  return f.rfind(phase + " ", 0) == 0 && has(f, "/kong/init.lua:");
}

struct Row {
  double samples = 0;
  nlohmann::json phases;
};

Row plugin_row(const nlohmann::json& table, const std::string& name) {
  for (const auto& p : table["plugins"])
    if (p["name"] == name) return Row{p["samples"].get<double>(), p["phases"]};
  return {};
}

double phase_samples(const Row& r, const std::string& phase) { return r.phases[phase]["samples"].get<double>(); }

TEST(KongAttribution, PluginHandlersInCoroutinesKeepKongAccessAndPhase) {
  if (const std::string why = kong_testbed_unavailable(); !why.empty()) GTEST_SKIP() << why;
  KongTestbed tb;
  TempDir dir;
  const std::string out = dir.file("out");
  const auto r = run({KPERF_BINARY, "attach", "--pid", std::to_string(tb.master_pid()), "-d", "8s", "-F", "499",
                      "-t", "1", "-c", "4", "--url", tb.proxy_url() + "/keyrl?apikey=alice-key", "-o", out},
                     90);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto stacks = parse_folded(read_file(out + "/profile.folded"));
  ASSERT_GT(total_samples(stacks), 500u) << r.err;

  // key-auth's access handler runs in its own coroutine: its samples continue with the
  // parent's frames, Kong.access -> execute_plugins_iterator -> coroutine.resume.
  uint64_t key_auth = 0, under_access = 0, unknown = 0;
  for (const auto& s : stacks) {
    size_t plugin = s.frames.size();
    for (size_t i = 0; i < s.frames.size() && plugin == s.frames.size(); ++i)
      if (has(s.frames[i], "/kong/plugins/key-auth/")) plugin = i;
    if (plugin == s.frames.size()) continue;
    key_auth += s.count;
    bool access = false;
    for (size_t i = 0; i < plugin; ++i) {
      if (kong_phase_frame(s.frames[i], "access")) access = true;
      if (s.frames[i] == "[lua:coroutine]") unknown += s.count;
    }
    if (access) under_access += s.count;
  }
  ASSERT_GT(key_auth, 20u);
  EXPECT_GE(double(under_access), 0.9 * double(key_auth)) << under_access << " of " << key_auth;
  EXPECT_LE(double(unknown), 0.05 * double(key_auth)) << unknown << " of " << key_auth;

  // The plugin table: key-auth in the access column, rate-limiting mostly in access,
  // its counter increments (a 0-delay ngx.timer) under timer; nothing of either in other.
  const auto summary = nlohmann::json::parse(read_file(out + "/summary.json"));
  const auto& table = summary["plugins"];
  const Row ka = plugin_row(table, "key-auth"), rl = plugin_row(table, "rate-limiting");
  ASSERT_GT(ka.samples, 20) << table.dump();
  ASSERT_GT(rl.samples, 20) << table.dump();
  std::printf("  key-auth %.0f samples, access %.0f; rate-limiting %.0f, access %.0f, timer %.0f\n", ka.samples,
              phase_samples(ka, "access"), rl.samples, phase_samples(rl, "access"), phase_samples(rl, "timer"));
  EXPECT_GE(phase_samples(ka, "access"), 0.9 * ka.samples) << table.dump();
  EXPECT_GE(phase_samples(rl, "access"), 0.5 * rl.samples) << table.dump();
  EXPECT_GT(phase_samples(rl, "timer"), 0) << table.dump();
  EXPECT_LE(phase_samples(ka, "other") + phase_samples(rl, "other"), 0.05 * (ka.samples + rl.samples))
      << table.dump();
  EXPECT_EQ(table["phases"].size(), 8u);  // six request phases, timer, other
}

// A custom plugin (kong/plugins/burner/ outside Kong's tree, on the Lua path) that burns
// ~0.2 ms of CPU in its access handler and answers itself: its CPU goes to the access
// column, its frames under Kong.access.
TEST(KongAttribution, CustomPluginInAccess) {
  if (const std::string why = kong_testbed_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  const std::string plugins = dir.file("custom/kong/plugins/burner");
  ASSERT_EQ(run_command("mkdir -p '" + plugins + "'"), 0);
  write_file(plugins + "/schema.lua", R"(return {
  name = "burner",
  fields = { { config = { type = "record", fields = {} } } },
}
)");
  write_file(plugins + "/handler.lua", R"(local Burner = { PRIORITY = 1000, VERSION = "1.0.0" }

local function burn()
  local t0, s = os.clock(), 0
  while os.clock() - t0 < 0.0002 do s = s + 1 end
  return s
end

function Burner:access(conf)
  burn()
  return kong.response.exit(200, "burned\n")
end

return Burner
)");
  write_file(dir.file("kong.yml"), R"(_format_version: "2.1"
services:
- name: burn
  url: http://127.0.0.1:9/
  routes:
  - name: burn
    paths: [/burn]
  plugins:
  - name: burner
)");
  // The test bed's own Lua path (its kong wrapper's default), with the plugin's in front.
  std::smatch m;
  const std::string wrapper = read_file(kong_testbed_build() + "/install/bin/kong");
  ASSERT_TRUE(std::regex_search(wrapper, m, std::regex(R"(KONG_LUA_PACKAGE_PATH:=([^}]*)\})"))) << wrapper;
  KongTestbedOptions opt;
  opt.declarative = dir.file("kong.yml");
  opt.env = {{"KONG_PLUGINS", "bundled,burner"},
             {"KONG_LUA_PACKAGE_PATH", dir.file("custom") + "/?.lua;" + m[1].str()}};
  KongTestbed tb(opt);
  std::string body;
  ASSERT_EQ(run_command("curl -s --max-time 5 " + tb.proxy_url() + "/burn", &body), 0);
  ASSERT_EQ(body, "burned\n");

  const std::string out = dir.file("out");
  const auto r = run({KPERF_BINARY, "attach", "--pid", std::to_string(tb.master_pid()), "-d", "6s", "-F", "499",
                      "-t", "1", "-c", "2", "--url", tb.proxy_url() + "/burn", "-o", out},
                     90);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto summary = nlohmann::json::parse(read_file(out + "/summary.json"));
  const Row burner = plugin_row(summary["plugins"], "burner");
  std::printf("  burner %.0f samples, access %.0f\n", burner.samples, phase_samples(burner, "access"));
  ASSERT_GT(burner.samples, 50) << summary["plugins"].dump();
  EXPECT_GE(phase_samples(burner, "access"), 0.9 * burner.samples) << summary["plugins"].dump();
  uint64_t in_plugin = 0, under_access = 0;
  for (const auto& s : parse_folded(read_file(out + "/profile.folded"))) {
    size_t plugin = s.frames.size();
    for (size_t i = 0; i < s.frames.size() && plugin == s.frames.size(); ++i)
      if (has(s.frames[i], "/kong/plugins/burner/")) plugin = i;
    if (plugin == s.frames.size()) continue;
    in_plugin += s.count;
    for (size_t i = 0; i < plugin; ++i)
      if (kong_phase_frame(s.frames[i], "access")) {
        under_access += s.count;
        break;
      }
  }
  EXPECT_GE(double(under_access), 0.9 * double(in_plugin)) << under_access << " of " << in_plugin;
}

}  // namespace
}  // namespace kperf::test

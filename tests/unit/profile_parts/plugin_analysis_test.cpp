// Unit tests of the plugin / phase attribution of folded stacks (kperf/plugin_analysis).
#include "kperf/report/plugin_analysis.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "flamegraph/folded.hpp"

namespace kperf {
namespace {

const std::string K = "/usr/local/share/lua/5.1/kong";

// One folded stack: frames separated by ';', outermost first, and its sample count.
struct FoldedStack {
  std::string stack;
  double count = 0;
};

// Hand-built stacks with known attributions; counts chosen so totals are distinct.
std::vector<FoldedStack> sample_stacks() {
  return {
      // key-auth in access: Kong.access -> plugins iterator -> key-auth handler.
      {"nginx;ngx_worker_process_cycle;ngx_http_lua_access_handler;ngx_http_lua_access_by_chunk;access " + K +
           "/init.lua:1020;execute " + K + "/runloop/plugins_iterator.lua:300;access " + K +
           "/plugins/key-auth/handler.lua:42;do_authentication " + K + "/plugins/key-auth/handler.lua:100;lj_str_new",
       10},
      // The same plugin, JIT-compiled frames.
      {"nginx;ngx_http_lua_access_handler;access " + K + "/init.lua:1020_[j];access " + K +
           "/plugins/key-auth/handler.lua:42_[j];string.find_[j]",
       6},
      // A custom plugin with dashes, in header_filter, all JIT.
      {"nginx;ngx_http_lua_header_filter;header_filter " + K + "/init.lua:1200_[j];header_filter " + K +
           "/plugins/my-custom-plugin/handler.lua:5_[j];string.format_[j]",
       5},
      // No plugin: the event loop and the kernel.
      {"nginx;ngx_worker_process_cycle;ngx_process_events_and_timers;epoll_wait;entry_SYSCALL_64_[k]", 20},
      // No plugin, log phase from Kong.log.
      {"nginx;ngx_http_lua_log_handler;log " + K + "/init.lua:1500;[lua:gc]", 4},
      // Nested plugins: the innermost (inner-one) wins; phase from Kong.access.
      {"nginx;access " + K + "/init.lua:1;access " + K + "/plugins/outer/handler.lua:10;helper " + K +
           "/plugins/inner-one/lib.lua:3",
       7},
      // No kong/init.lua frame: the plugin handler method names the phase (rule 2 over
      // the native access handler, rule 3).
      {"nginx;ngx_http_lua_access_handler;? =content:1;rewrite " + K + "/plugins/rate-limiting/handler.lua:20;x", 3},
      // Only the native handler: balancer.
      {"nginx;ngx_http_upstream_connect;ngx_http_lua_balancer_get_peer;ngx_http_lua_balancer_by_chunk;lj_BC_FUNCC",
       2},
      // Rule 1 over rule 2: Kong.rewrite, plugin method named log.
      {"nginx;rewrite " + K + "/init.lua:900;log " + K + "/plugins/key-auth/handler.lua:80", 1},
      // Not plugin paths: "mykong/plugins/..." and a plugins dir without a plugin folder.
      {"nginx;f /srv/mykong/plugins/fake/handler.lua:1;g /srv/kong/plugins/handler.lua:2", 8},
  };
}

// The stacks in a trie, read through the folded parser as `kperf profile` does.
fg::StackTrie trie_of(const std::vector<FoldedStack>& stacks) {
  fg::StackTrie trie;
  fg::FoldedReader reader(trie);
  std::string text;
  for (const auto& s : stacks) text += s.stack + " " + fg::format_count(s.count) + "\n";
  reader.add_text(text, "test");
  EXPECT_EQ(reader.stats().invalid, 0u);
  return trie;
}

std::vector<std::string> folded_lines(const fg::StackTrie& trie) {
  std::ostringstream out;
  fg::write_folded(trie, out);
  std::istringstream in(out.str());
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST(PluginAnalysis, FramePlugin) {
  EXPECT_EQ(frame_plugin("access " + K + "/plugins/key-auth/handler.lua:42"), "key-auth");
  EXPECT_EQ(frame_plugin("access " + K + "/plugins/key-auth/handler.lua:42_[j]"), "key-auth");
  EXPECT_EQ(frame_plugin("f kong/plugins/my-plugin_2/x/y.lua:7"), "my-plugin_2");
  EXPECT_EQ(frame_plugin("f /srv/mykong/plugins/fake/handler.lua:1"), "");
  EXPECT_EQ(frame_plugin("ngx_http_lua_access_handler"), "");
  EXPECT_EQ(frame_plugin("kong/plugins/x/handler.lua"), "");  // no NAME and no :LINE: not Lua
}

TEST(PluginAnalysis, AttributionRules) {
  auto attr = [](const std::string& s) {
    std::vector<std::string_view> frames;
    fg::split_frames(s, frames);
    return attribute(frames);
  };
  const auto stacks = sample_stacks();
  const std::vector<std::pair<std::string, Phase>> want = {
      {"key-auth", Phase::Access},      {"key-auth", Phase::Access},        {"my-custom-plugin", Phase::HeaderFilter},
      {"", Phase::Other},               {"", Phase::Log},                   {"inner-one", Phase::Access},
      {"rate-limiting", Phase::Rewrite}, {"", Phase::Balancer},             {"key-auth", Phase::Rewrite},
      {"", Phase::Other},
  };
  ASSERT_EQ(stacks.size(), want.size());
  for (size_t i = 0; i < stacks.size(); ++i) {
    const auto a = attr(stacks[i].stack);
    EXPECT_EQ(a.plugin, want[i].first) << "stack " << i;
    EXPECT_EQ(phase_name(a.phase), phase_name(want[i].second)) << "stack " << i;
  }
}

TEST(PluginAnalysis, NativePhaseHandlers) {
  auto phase_of = [](std::string_view frame) {
    return attribute({"nginx", frame, "lj_vm_something"}).phase;
  };
  EXPECT_EQ(phase_of("ngx_http_lua_rewrite_handler"), Phase::Rewrite);
  EXPECT_EQ(phase_of("ngx_http_lua_rewrite_by_chunk"), Phase::Rewrite);
  EXPECT_EQ(phase_of("ngx_http_lua_access_handler"), Phase::Access);
  EXPECT_EQ(phase_of("ngx_http_lua_header_filter"), Phase::HeaderFilter);
  EXPECT_EQ(phase_of("ngx_http_lua_header_filter_by_chunk"), Phase::HeaderFilter);
  EXPECT_EQ(phase_of("ngx_http_lua_body_filter"), Phase::BodyFilter);
  EXPECT_EQ(phase_of("ngx_http_lua_log_handler"), Phase::Log);
  EXPECT_EQ(phase_of("ngx_http_lua_log_by_chunk"), Phase::Log);
  EXPECT_EQ(phase_of("ngx_http_lua_balancer_get_peer"), Phase::Balancer);
  EXPECT_EQ(phase_of("ngx_http_lua_ngx_log"), Phase::Other);  // ngx.log is no phase
  EXPECT_EQ(phase_of("ngx_http_lua_timer_handler"), Phase::Timer);
  // nginx's own exported phase frames (Debian's lua module hides its static handlers).
  EXPECT_EQ(phase_of("ngx_http_core_rewrite_phase"), Phase::Rewrite);
  EXPECT_EQ(phase_of("ngx_http_core_access_phase"), Phase::Access);
  EXPECT_EQ(phase_of("ngx_http_send_header"), Phase::HeaderFilter);
  EXPECT_EQ(phase_of("ngx_http_output_filter"), Phase::BodyFilter);
  EXPECT_EQ(phase_of("ngx_http_free_request"), Phase::Log);
  EXPECT_EQ(phase_of("ngx_event_expire_timers"), Phase::Timer);
  EXPECT_EQ(phase_of("ngx_http_core_content_phase"), Phase::Other);  // proxying: no Kong phase
  EXPECT_EQ(phase_of("ngx_process_events_and_timers"), Phase::Other);
  EXPECT_EQ(phase_of("ngx_http_core_access_phase_x"), Phase::Other);  // exact names only
  // A Lua frame named like a phase outside kong/init.lua and plugin handlers: no phase.
  EXPECT_EQ(attribute({"nginx", "access /srv/app/other.lua:3"}).phase, Phase::Other);
}

// Stacks as kperf records them on real Kong 2.4 (Debian's stripped nginx + lua module),
// shortened: the innermost native phase frame decides when no Kong phase frame is there.
TEST(PluginAnalysis, RealKongNativeFrames) {
  const std::string B = "/srv/kong-testbed/build/kong/kong";
  auto attr = [](const std::string& s) {
    std::vector<std::string_view> frames;
    fg::split_frames(s, frames);
    return attribute(frames);
  };
  const std::string loop = "nginx;main;ngx_master_process_cycle;ngx_process_events_and_timers;nginx+0x54130;";
  // key-auth's access handler in its own coroutine, walked without its resumer: "?" name.
  const auto ka = attr(loop + "ngx_http_core_run_phases;ngx_http_core_access_phase;ngx_http_lua_module.so+0x2ce40;"
                              "ngx_http_lua_run_thread;lua_resume;? " + B + "/plugins/key-auth/handler.lua:190;"
                              "do_authentication " + B + "/plugins/key-auth/handler.lua:82");
  EXPECT_EQ(ka.plugin, "key-auth");
  EXPECT_EQ(phase_name(ka.phase), "access");
  // The same with the resumer's frames: Kong.access decides (rule 1).
  const auto kr = attr(loop + "ngx_http_core_access_phase;ngx_http_lua_run_thread;lua_resume;? =access_by_lua(nginx-kong.conf:1):0;"
                              "access " + B + "/init.lua:741;execute_plugins_iterator " + B + "/init.lua:243;"
                              "coroutine.resume;? " + B + "/plugins/key-auth/handler.lua:190");
  EXPECT_EQ(kr.plugin, "key-auth");
  EXPECT_EQ(phase_name(kr.phase), "access");
  // rate-limiting's counter flush: an ngx.timer callback.
  const auto rl = attr("nginx;ngx_process_events_and_timers;ngx_event_expire_timers;ngx_http_lua_module.so+0x47000;"
                       "ngx_http_lua_run_thread;lua_resume;? " + B + "/plugins/rate-limiting/policies/init.lua:60;"
                       "ngx_http_lua_ffi_shdict_incr");
  EXPECT_EQ(rl.plugin, "rate-limiting");
  EXPECT_EQ(phase_name(rl.phase), "timer");
  // Kong's log phase from ngx_http_free_request; its body filter from the output chain.
  EXPECT_EQ(phase_name(attr(loop + "ngx_http_free_request;ngx_http_lua_module.so+0x3d490;[lua:interpreter]").phase), "log");
  EXPECT_EQ(phase_name(attr(loop + "ngx_http_output_filter;ngx_http_lua_module.so+0x404a0").phase), "body_filter");
  // A custom plugin run by Kong 3.x directly (no coroutine): the handler method names it.
  const auto custom = attr(loop + "ngx_http_core_access_phase;ngx_http_lua_run_thread;access /usr/local/share/lua/5.1/kong/init.lua:1093;"
                                  "access /opt/custom/kong/plugins/burner/handler.lua:4;spin /opt/custom/kong/plugins/burner/handler.lua:1");
  EXPECT_EQ(custom.plugin, "burner");
  EXPECT_EQ(phase_name(custom.phase), "access");
}

TEST(PluginAnalysis, TableTotals) {
  const PluginTable t = analyze_plugins(trie_of(sample_stacks()));
  EXPECT_DOUBLE_EQ(t.total, 66);
  ASSERT_EQ(t.plugins.size(), 4u);
  // Sorted by samples: key-auth 17, inner-one 7, my-custom-plugin 5, rate-limiting 3.
  EXPECT_EQ(t.plugins[0].plugin, "key-auth");
  EXPECT_DOUBLE_EQ(t.plugins[0].samples, 17);
  EXPECT_DOUBLE_EQ(t.plugins[0].phases[size_t(Phase::Access)], 16);
  EXPECT_DOUBLE_EQ(t.plugins[0].phases[size_t(Phase::Rewrite)], 1);
  EXPECT_EQ(t.plugins[1].plugin, "inner-one");
  EXPECT_DOUBLE_EQ(t.plugins[1].samples, 7);
  EXPECT_EQ(t.plugins[2].plugin, "my-custom-plugin");
  EXPECT_DOUBLE_EQ(t.plugins[2].phases[size_t(Phase::HeaderFilter)], 5);
  EXPECT_EQ(t.plugins[3].plugin, "rate-limiting");
  EXPECT_DOUBLE_EQ(t.plugins[3].phases[size_t(Phase::Rewrite)], 3);
  // "outer" is only ever an outer plugin frame (inner-one wins): no row of its own.
  for (const auto& r : t.plugins) EXPECT_NE(r.plugin, "outer");
  EXPECT_DOUBLE_EQ(t.no_plugin.samples, 34);
  EXPECT_DOUBLE_EQ(t.no_plugin.phases[size_t(Phase::Other)], 28);
  EXPECT_DOUBLE_EQ(t.no_plugin.phases[size_t(Phase::Log)], 4);
  EXPECT_DOUBLE_EQ(t.no_plugin.phases[size_t(Phase::Balancer)], 2);
  EXPECT_DOUBLE_EQ(t.phases[size_t(Phase::Access)], 23);
  double sum = 0;
  for (double v : t.phases) sum += v;
  EXPECT_DOUBLE_EQ(sum, t.total);
}

TEST(PluginAnalysis, TextIsAligned) {
  const std::string text = analyze_plugins(trie_of(sample_stacks())).to_text();
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 1u + 4u + 2u);  // header, 4 plugins, (no plugin), total
  for (const auto& l : lines) EXPECT_EQ(l.size(), lines[0].size()) << l;
  EXPECT_EQ(lines[0].rfind("plugin", 0), 0u);
  EXPECT_NE(lines[0].find("header_filter"), std::string::npos);
  EXPECT_EQ(lines[1].rfind("key-auth ", 0), 0u);
  EXPECT_NE(lines[1].find(" 17 "), std::string::npos);
  EXPECT_NE(lines[1].find("25.76%"), std::string::npos);  // 17 / 66
  EXPECT_NE(lines[1].find("24.24%"), std::string::npos);  // access 16 / 66
  std::istringstream cols(lines[1]);
  std::vector<std::string> c;
  for (std::string w; cols >> w;) c.push_back(w);
  ASSERT_EQ(c.size(), 11u);
  EXPECT_EQ(c[3], "1.52%");   // rewrite 1 / 66
  EXPECT_EQ(c[4], "24.24%");  // access
  EXPECT_EQ(c[6], "-");       // no body_filter samples
  EXPECT_EQ(lines[5].rfind("(no plugin)", 0), 0u);
  EXPECT_EQ(lines[6].rfind("total", 0), 0u);
  EXPECT_NE(lines[6].find("100.00%"), std::string::npos);
}

TEST(PluginAnalysis, MarkdownTable) {
  auto stacks = sample_stacks();
  stacks.push_back({"nginx;access /k/kong/plugins/pipe|name/handler.lua:1", 1});
  const std::string md = analyze_plugins(trie_of(stacks)).to_markdown();
  std::istringstream in(md);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 2u + 5u + 2u);
  EXPECT_EQ(lines[0],
            "| plugin | samples | % | rewrite | access | header\\_filter | body\\_filter | log | balancer | timer | other |");
  EXPECT_EQ(lines[1], "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  EXPECT_EQ(lines[2].rfind("| key-auth | 17 | 25.37% |", 0), 0u);  // 17 / 67
  EXPECT_NE(md.find("| pipe\\|name |"), std::string::npos);
}

TEST(PluginAnalysis, Json) {
  const nlohmann::json j = analyze_plugins(trie_of(sample_stacks())).to_json();
  EXPECT_EQ(j["total_samples"], 66);
  ASSERT_EQ(j["plugins"].size(), 4u);
  EXPECT_EQ(j["plugins"][0]["name"], "key-auth");
  EXPECT_EQ(j["plugins"][0]["samples"], 17);
  EXPECT_NEAR(j["plugins"][0]["percent"].get<double>(), 100.0 * 17 / 66, 1e-9);
  EXPECT_EQ(j["plugins"][0]["phases"]["access"]["samples"], 16);
  EXPECT_EQ(j["plugins"][2]["name"], "my-custom-plugin");
  EXPECT_EQ(j["plugins"][2]["phases"]["header_filter"]["samples"], 5);
  EXPECT_EQ(j["no_plugin"]["samples"], 34);
  EXPECT_FALSE(j["no_plugin"].contains("name"));
  EXPECT_EQ(j["phases"]["balancer"]["samples"], 2);
  EXPECT_EQ(j["phases"].size(), kPhaseCount);
}

TEST(PluginAnalysis, EmptyInput) {
  const PluginTable t = analyze_plugins(fg::StackTrie{});
  EXPECT_EQ(t.total, 0);
  EXPECT_TRUE(t.plugins.empty());
  EXPECT_NE(t.to_text().find("0.00%"), std::string::npos);
  EXPECT_EQ(t.to_json()["total_samples"], 0);
}

TEST(PluginAnalysis, Focus) {
  const fg::StackTrie trie = trie_of(sample_stacks());
  const fg::StackTrie outer = focus(trie, "outer");  // an outer frame of a nested stack
  const auto kept = folded_lines(outer);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(kept[0].find("inner-one"), std::string::npos);
  EXPECT_DOUBLE_EQ(outer.total(), 7);
  const fg::StackTrie ka = focus(trie, "key-auth");
  EXPECT_DOUBLE_EQ(ka.total(), 17);
  const auto lines = folded_lines(ka);
  EXPECT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_NE(l.find("/plugins/key-auth/"), std::string::npos) << l;
  EXPECT_DOUBLE_EQ(focus(trie, "key").total(), 0);  // whole directory names only
}

}  // namespace
}  // namespace kperf

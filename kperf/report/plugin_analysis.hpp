// Plugin analysis of folded stacks: the workers' CPU share per Kong plugin and per
// request phase (for summary.txt, report.md, summary.json), and `--focus PLUGIN`.
//
// Attribution rules (one sample = one stack with its count):
// - Plugin: a Lua frame (`NAME CHUNK:LINE`, JIT `_[j]` too) whose CHUNK contains
//   `kong/plugins/P/` belongs to plugin P (any name: custom plugins count too). The
//   innermost (leaf-most) such frame wins when several plugins are on the stack; a
//   stack with none is "no plugin".
// - Phase, first rule that matches wins:
//   1. Kong's phase handler: the innermost Lua frame in `.../kong/init.lua` named
//      rewrite, access, header_filter, body_filter, log or balancer (Kong.access...,
//      Kong 2.x and 3.x alike). A plugin handler run in a coroutine (Kong 2.x's access
//      phase) has it once the walker continues the coroutine with its resumer.
//   2. A plugin handler method: the innermost Lua frame in `.../kong/plugins/P/handler.lua`
//      named after a phase (`access .../kong/plugins/key-auth/handler.lua:42`).
//   3. The phase nginx was in, from the innermost of its native frames that name one
//      (exported even by Debian's stripped nginx and lua module; the lua module's own
//      static phase handlers are nameless there): ngx_http_core_rewrite_phase /
//      ngx_http_lua_*rewrite_handler* / ngx_http_lua_rewrite_by_*; ngx_http_core_access_phase
//      / ngx_http_lua_access_handler* / ngx_http_lua_access_by_*; ngx_http_send_header /
//      ngx_http_lua_header_filter* (the header filter chain); ngx_http_output_filter /
//      ngx_http_lua_body_filter* (the body filter chain); ngx_http_free_request (where
//      nginx runs the log phase) / ngx_http_lua_log_handler* / ngx_http_lua_log_by_*;
//      ngx_http_lua_balancer_*; and "timer" for ngx_event_expire_timers /
//      ngx_http_lua_timer_handler (ngx.timer callbacks, Kong's background jobs).
//   4. otherwise "other" (nginx's event loop, upstream proxying, init_worker, ...).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "flamegraph/trie.hpp"

namespace kperf {

enum class Phase { Rewrite, Access, HeaderFilter, BodyFilter, Log, Balancer, Timer, Other };
inline constexpr std::size_t kPhaseCount = 8;
// "rewrite", "access", "header_filter", "body_filter", "log", "balancer", "timer", "other".
std::string_view phase_name(Phase p);

// The plugin directory name in a frame, if it is a Lua frame in kong/plugins/NAME/;
// empty otherwise.
std::string_view frame_plugin(std::string_view frame);

// What one stack is attributed to (frames outermost first).
struct Attribution {
  std::string plugin;  // empty: no plugin
  Phase phase = Phase::Other;
};
Attribution attribute(const std::vector<std::string_view>& frames);

struct PluginRow {
  std::string plugin;                          // empty for the "no plugin" row
  double samples = 0;
  std::array<double, kPhaseCount> phases{};    // samples per Phase
};

struct PluginTable {
  double total = 0;               // all samples
  std::vector<PluginRow> plugins;  // by samples, descending; ties by name
  PluginRow no_plugin;            // samples on no plugin's frame
  std::array<double, kPhaseCount> phases{};  // all samples per phase

  // Aligned columns for summary.txt: per plugin samples, % of all samples and each
  // phase's % of all samples ("-" for none); then "(no plugin)" and "total" rows.
  std::string to_text() const;
  // The same table in GitHub Markdown (report.md).
  std::string to_markdown() const;
  // {"total_samples", "plugins": [{"name","samples","percent","phases":{phase:
  //   {"samples","percent"}}}], "no_plugin": {...}, "phases": {...}}
  nlohmann::json to_json() const;
};

// Accumulates stacks into a PluginTable.
class PluginAnalyzer {
 public:
  void add(const std::vector<std::string_view>& frames, double count);
  void add(std::string_view folded_stack, double count);  // "a;b;c"
  PluginTable table() const;

 private:
  std::vector<PluginRow> rows_;  // unsorted; found by name
  PluginRow none_;
  double total_ = 0;
  std::vector<std::string_view> scratch_;
};

// The whole table of a trie's stacks (their counts; "after" counts if differential).
PluginTable analyze_plugins(const fg::StackTrie& trie);

// `--focus PLUGIN`: only the stacks with at least one frame of `plugin` (any depth,
// not only the innermost plugin), counts (and differential "before" counts) kept.
fg::StackTrie focus(const fg::StackTrie& trie, std::string_view plugin);

}  // namespace kperf

// Plugin / phase attribution of folded stacks and the table's text, Markdown and JSON
// renderings; see plugin_analysis.hpp for the rules.
#include "kperf/report/plugin_analysis.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "flamegraph/folded.hpp"
#include "flamegraph/frame_kind.hpp"
#include "flamegraph/stack_ops.hpp"

namespace kperf {

namespace {

constexpr std::array<std::string_view, kPhaseCount> kPhaseNames = {
    "rewrite", "access", "header_filter", "body_filter", "log", "balancer", "timer", "other"};

// A request phase named NAME (not timer, not other).
std::optional<Phase> phase_from_name(std::string_view name) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(Phase::Timer); ++i) {
    if (kPhaseNames[i] == name) return static_cast<Phase>(i);
  }
  return std::nullopt;
}

// A Lua frame split into NAME and CHUNK (annotation and :LINE removed).
struct LuaFrame {
  std::string_view name;
  std::string_view chunk;
};

std::optional<LuaFrame> split_lua(std::string_view frame) {
  const auto kind = fg::classify_frame(frame);
  if (kind != fg::FrameKind::Lua && kind != fg::FrameKind::LuaJit) return std::nullopt;
  const std::string_view f = fg::strip_annotation(frame);
  const auto space = f.find(' ');
  const auto colon = f.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos || colon <= space) {
    return std::nullopt;
  }
  return LuaFrame{f.substr(0, space), f.substr(space + 1, colon - space - 1)};
}

// `suffix` is at the end of `s`, at its start or right after a '/'.
bool ends_with_path(std::string_view s, std::string_view suffix) {
  if (!s.ends_with(suffix)) return false;
  return s.size() == suffix.size() || s[s.size() - suffix.size() - 1] == '/';
}

// Plugin directory and the rest of the chunk after "kong/plugins/NAME/".
std::pair<std::string_view, std::string_view> chunk_plugin(std::string_view chunk) {
  constexpr std::string_view kMarker = "kong/plugins/";
  std::size_t pos = 0;
  while ((pos = chunk.find(kMarker, pos)) != std::string_view::npos) {
    if (pos == 0 || chunk[pos - 1] == '/') {
      const auto start = pos + kMarker.size();
      const auto slash = chunk.find('/', start);
      if (slash != std::string_view::npos && slash > start) {
        return {chunk.substr(start, slash - start), chunk.substr(slash + 1)};
      }
    }
    pos += kMarker.size();
  }
  return {};
}

// nginx's native frames that name the phase it is in: exact names, and prefixes ending
// in '*'. The core phase checkers and filter chain entries are exported by nginx itself
// (named even when the lua module's static handlers are not).
struct NativeRule {
  std::string_view pattern;
  Phase phase;
};
constexpr NativeRule kNativeRules[] = {
    {"ngx_http_core_rewrite_phase", Phase::Rewrite},
    {"ngx_http_lua_rewrite_handler*", Phase::Rewrite},
    {"ngx_http_lua_server_rewrite_handler*", Phase::Rewrite},
    {"ngx_http_lua_rewrite_by_*", Phase::Rewrite},
    {"ngx_http_core_access_phase", Phase::Access},
    {"ngx_http_lua_access_handler*", Phase::Access},
    {"ngx_http_lua_access_by_*", Phase::Access},
    {"ngx_http_send_header", Phase::HeaderFilter},
    {"ngx_http_lua_header_filter*", Phase::HeaderFilter},
    {"ngx_http_output_filter", Phase::BodyFilter},
    {"ngx_http_lua_body_filter*", Phase::BodyFilter},
    {"ngx_http_free_request", Phase::Log},
    {"ngx_http_lua_log_handler*", Phase::Log},
    {"ngx_http_lua_log_by_*", Phase::Log},
    {"ngx_http_lua_balancer_*", Phase::Balancer},
    {"ngx_event_expire_timers", Phase::Timer},
    {"ngx_http_lua_timer_handler", Phase::Timer},
};

std::optional<Phase> native_phase(std::string_view frame) {
  if (!frame.starts_with("ngx_")) return std::nullopt;
  for (const auto& r : kNativeRules) {
    if (r.pattern.ends_with('*')) {
      if (frame.starts_with(r.pattern.substr(0, r.pattern.size() - 1))) return r.phase;
    } else if (frame == r.pattern) {
      return r.phase;
    }
  }
  return std::nullopt;
}

double percent(double part, double total) { return total > 0 ? 100.0 * part / total : 0.0; }

std::string pct(double part, double total) { return fmt::format("{:.2f}%", percent(part, total)); }

std::string row_label(const PluginRow& r) { return r.plugin.empty() ? "(no plugin)" : r.plugin; }

// Rows of cells: header, each plugin, no plugin, total.
std::vector<std::vector<std::string>> table_cells(const PluginTable& t) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"plugin", "samples", "%"};
  for (auto n : kPhaseNames) header.emplace_back(n);
  rows.push_back(std::move(header));
  auto add = [&](std::string label, double samples, const std::array<double, kPhaseCount>& ph) {
    std::vector<std::string> r = {std::move(label), fg::format_count(samples), pct(samples, t.total)};
    for (double v : ph) r.push_back(v == 0 ? "-" : pct(v, t.total));
    rows.push_back(std::move(r));
  };
  for (const auto& p : t.plugins) add(row_label(p), p.samples, p.phases);
  add(row_label(t.no_plugin), t.no_plugin.samples, t.no_plugin.phases);
  add("total", t.total, t.phases);
  return rows;
}

std::string md_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '_') out += '\\';
    out += c;
  }
  return out;
}

nlohmann::json phases_json(const std::array<double, kPhaseCount>& ph, double total) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    j[std::string(kPhaseNames[i])] = {{"samples", ph[i]}, {"percent", percent(ph[i], total)}};
  }
  return j;
}

nlohmann::json row_json(const PluginRow& r, double total) {
  nlohmann::json j;
  if (!r.plugin.empty()) j["name"] = r.plugin;
  j["samples"] = r.samples;
  j["percent"] = percent(r.samples, total);
  j["phases"] = phases_json(r.phases, total);
  return j;
}

bool frames_have_plugin(const std::vector<std::string_view>& frames, std::string_view plugin) {
  return std::any_of(frames.begin(), frames.end(),
                     [&](std::string_view f) { return frame_plugin(f) == plugin; });
}

}  // namespace

std::string_view phase_name(Phase p) { return kPhaseNames[static_cast<std::size_t>(p)]; }

std::string_view frame_plugin(std::string_view frame) {
  const auto lua = split_lua(frame);
  if (!lua) return {};
  return chunk_plugin(lua->chunk).first;
}

Attribution attribute(const std::vector<std::string_view>& frames) {
  Attribution a;
  std::optional<Phase> kong_phase, handler_phase, native;
  bool have_plugin = false;
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {  // innermost first
    const std::string_view f = *it;
    if (const auto lua = split_lua(f)) {
      const auto [plugin, rest] = chunk_plugin(lua->chunk);
      if (!plugin.empty()) {
        if (!have_plugin) {
          a.plugin = std::string(plugin);
          have_plugin = true;
        }
        if (!handler_phase && rest == "handler.lua") handler_phase = phase_from_name(lua->name);
      } else if (!kong_phase && ends_with_path(lua->chunk, "kong/init.lua")) {
        kong_phase = phase_from_name(lua->name);
      }
    } else if (!native) {
      native = native_phase(f);
    }
  }
  a.phase = kong_phase ? *kong_phase : handler_phase ? *handler_phase : native ? *native : Phase::Other;
  return a;
}

void PluginAnalyzer::add(const std::vector<std::string_view>& frames, double count) {
  const Attribution a = attribute(frames);
  const auto ph = static_cast<std::size_t>(a.phase);
  total_ += count;
  PluginRow* row = &none_;
  if (!a.plugin.empty()) {
    auto it = std::find_if(rows_.begin(), rows_.end(),
                           [&](const PluginRow& r) { return r.plugin == a.plugin; });
    if (it == rows_.end()) {
      rows_.push_back(PluginRow{a.plugin, 0, {}});
      row = &rows_.back();
    } else {
      row = &*it;
    }
  }
  row->samples += count;
  row->phases[ph] += count;
}

void PluginAnalyzer::add(std::string_view folded_stack, double count) {
  fg::split_frames(folded_stack, scratch_);
  add(scratch_, count);
}

PluginTable PluginAnalyzer::table() const {
  PluginTable t;
  t.total = total_;
  t.plugins = rows_;
  std::sort(t.plugins.begin(), t.plugins.end(), [](const PluginRow& a, const PluginRow& b) {
    if (a.samples != b.samples) return a.samples > b.samples;
    return a.plugin < b.plugin;
  });
  t.no_plugin = none_;
  for (const auto& r : t.plugins) {
    for (std::size_t i = 0; i < kPhaseCount; ++i) t.phases[i] += r.phases[i];
  }
  for (std::size_t i = 0; i < kPhaseCount; ++i) t.phases[i] += none_.phases[i];
  return t;
}

std::string PluginTable::to_text() const {
  const auto rows = table_cells(*this);
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      if (c == 0) {
        line += fmt::format("{:<{}}", r[c], width[c]);
      } else {
        line += fmt::format("  {:>{}}", r[c], width[c]);
      }
    }
    out += line;
    out += '\n';
  }
  return out;
}

std::string PluginTable::to_markdown() const {
  const auto rows = table_cells(*this);
  std::string out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    out += '|';
    for (const auto& cell : rows[i]) out += ' ' + md_escape(cell) + " |";
    out += '\n';
    if (i == 0) {
      out += "|---|";
      for (std::size_t c = 1; c < rows[i].size(); ++c) out += "---:|";
      out += '\n';
    }
  }
  return out;
}

nlohmann::json PluginTable::to_json() const {
  nlohmann::json j;
  j["total_samples"] = total;
  j["plugins"] = nlohmann::json::array();
  for (const auto& r : plugins) j["plugins"].push_back(row_json(r, total));
  j["no_plugin"] = row_json(no_plugin, total);
  j["phases"] = phases_json(phases, total);
  return j;
}

PluginTable analyze_plugins(const fg::StackTrie& trie) {
  PluginAnalyzer an;
  fg::for_each_stack(trie, [&](const std::vector<std::string_view>& frames, const auto& n) { an.add(frames, n.self); });
  return an.table();
}

fg::StackTrie focus(const fg::StackTrie& trie, std::string_view plugin) {
  fg::StackTrie out;
  out.set_differential(trie.differential());
  fg::for_each_stack(trie, [&](const std::vector<std::string_view>& frames, const auto& n) {
    if (!frames_have_plugin(frames, plugin)) return;
    fg::NodeId node = fg::StackTrie::kRoot;
    for (auto f : frames) node = out.child(node, out.frames().intern(f));
    out.record(node, n.self, n.base, n.has_base);
  });
  return out;
}

}  // namespace kperf

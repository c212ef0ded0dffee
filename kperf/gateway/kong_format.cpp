// Rewrites a Kong declarative config for the format a Kong version accepts.
#include "kperf/gateway/kong_format.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <fmt/core.h>

namespace kperf {

namespace {

using nlohmann::json;

struct MajorMinor {
  int major = 0, minor = 0;
};

std::optional<MajorMinor> major_minor(std::string_view v) {
  MajorMinor m;
  const char* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, m.major);
  if (ec != std::errc{} || p == end || *p != '.') return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, end, m.minor);
  if (ec2 != std::errc{} || q == p + 1) return std::nullopt;
  return m;
}

// Kong < 3.0 takes a path for a regex when it has a character outside this set.
bool looks_like_regex(std::string_view path) {
  for (char c : path) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '~' || c == '/' || c == '%' || c == '-';
    if (!plain) return true;
  }
  return false;
}

std::string escape_regex(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (std::string_view(".^$*+?()[]{}|\\").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Only between 3.x and older formats: within one side, paths mean the same.
void convert_paths(json& route, bool from3, bool to3) {
  auto it = route.find("paths");
  if (from3 == to3 || it == route.end() || !it->is_array()) return;
  for (auto& p : *it) {
    if (!p.is_string()) continue;
    std::string s = p.get<std::string>();
    if (to3) {
      if (!s.starts_with("~") && looks_like_regex(s)) p = "~" + s;
    } else if (s.starts_with("~")) {
      p = s.substr(1);
    } else if (looks_like_regex(s)) {
      p = escape_regex(s);  // literal in 3.x: keep it literal where it would be a regex
    }
  }
}

void rename(json& config, const char* from, const char* to) {
  auto it = config.find(from);
  if (it == config.end()) return;
  if (!config.contains(to)) config[to] = *it;
  config.erase(from);
}

// prometheus: 3.x collects these metrics only when asked; 2.x always does, and refuses
// the fields.
constexpr const char* kPrometheus3Metrics[] = {"status_code_metrics", "latency_metrics", "bandwidth_metrics",
                                               "upstream_health_metrics"};

void convert_plugin(json& plugin, bool from3, bool to3, bool before21) {
  if (!plugin.is_object()) return;
  const std::string name = plugin.value("name", "");
  auto c = plugin.find("config");
  if (c == plugin.end() || !c->is_object()) return;
  const bool lists = name == "acl" || name == "bot-detection" || name == "ip-restriction";
  if (to3) {
    if (lists) {
      rename(*c, "whitelist", "allow");
      rename(*c, "blacklist", "deny");
    }
    if (name == "pre-function" || name == "post-function") rename(*c, "functions", "access");
    if (name == "aws-lambda") c->erase("proxy_scheme");
    if (name == "prometheus" && !from3) {
      for (const char* m : kPrometheus3Metrics) {
        if (!c->contains(m)) (*c)[m] = true;
      }
    }
  } else {
    if (before21 && lists) {
      rename(*c, "allow", "whitelist");
      rename(*c, "deny", "blacklist");
    }
    if (name == "prometheus") {
      for (const char* m : kPrometheus3Metrics) c->erase(m);
    }
  }
}

void convert_plugins(json& owner, bool from3, bool to3, bool before21) {
  auto it = owner.find("plugins");
  if (it == owner.end() || !it->is_array()) return;
  for (auto& p : *it) convert_plugin(p, from3, to3, before21);
}

void convert_routes(json& owner, bool from3, bool to3, bool before21) {
  auto it = owner.find("routes");
  if (it == owner.end() || !it->is_array()) return;
  for (auto& r : *it) {
    if (!r.is_object()) continue;
    convert_paths(r, from3, to3);
    convert_plugins(r, from3, to3, before21);
  }
}

}  // namespace

std::optional<std::string> declarative_format_for(std::string_view kong_version) {
  const auto v = major_minor(kong_version);
  if (!v) return std::nullopt;
  if (v->major >= 3) return "3.0";
  if (v->major == 2 && v->minor >= 1) return "2.1";
  return "1.1";
}

json declarative_for_kong(const json& config, std::string_view kong_version) {
  const auto format = declarative_format_for(kong_version);
  if (!format) {
    throw std::runtime_error(
        fmt::format("cannot tell which declarative format Kong '{}' accepts (not a MAJOR.MINOR version)", kong_version));
  }
  json out = config;
  const bool to3 = *format == "3.0";
  const bool before21 = *format == "1.1";
  const bool from3 = config.value("_format_version", "") == "3.0";
  out["_format_version"] = *format;
  convert_routes(out, from3, to3, before21);
  convert_plugins(out, from3, to3, before21);
  for (const char* owners : {"services", "consumers"}) {
    auto it = out.find(owners);
    if (it == out.end() || !it->is_array()) continue;
    for (auto& o : *it) {
      if (!o.is_object()) continue;
      convert_routes(o, from3, to3, before21);
      convert_plugins(o, from3, to3, before21);
    }
  }
  return out;
}

std::vector<std::string> declarative_plugin_names(const json& config) {
  std::vector<std::string> names;
  auto add = [&](const json& owner) {
    auto it = owner.find("plugins");
    if (it == owner.end() || !it->is_array()) return;
    for (const auto& p : *it) {
      if (p.is_object() && p.contains("name") && p["name"].is_string()) names.push_back(p["name"].get<std::string>());
    }
  };
  auto walk = [&](const json& parent, const char* key, auto&& inner) {
    auto it = parent.find(key);
    if (it == parent.end() || !it->is_array()) return;
    for (const auto& o : *it) {
      if (!o.is_object()) continue;
      add(o);
      inner(o);
    }
  };
  if (!config.is_object()) return names;
  add(config);
  auto routes = [&](const json& o) { walk(o, "routes", [](const json&) {}); };
  walk(config, "routes", [](const json&) {});
  walk(config, "services", routes);
  walk(config, "consumers", [](const json&) {});
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace kperf

// The declarative config in the format the target Kong accepts: `_format_version` 1.1
// (Kong < 2.1), 2.1 (Kong 2.1-2.x) or 3.0 (Kong 3.x), route paths and plugin fields
// converted where those formats differ (what `deck file convert` does between 2.x and
// 3.x, both ways), decided from the Kong version kperf runs the workload on.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kperf {

// "1.1", "2.1" or "3.0" for a Kong version ("2.4.0", "3.4.3.1", "3.0.0-rc.1"); nullopt
// when the text does not start with MAJOR.MINOR.
std::optional<std::string> declarative_format_for(std::string_view kong_version);

// `config` (a Kong declarative config, in any of the three formats) rewritten for Kong
// `kong_version`:
// - `_format_version` set to declarative_format_for(kong_version);
// - route paths (top-level and nested routes): 3.x marks regex paths with a leading `~`,
//   older Kongs treat any path with a character outside [A-Za-z0-9._~/%-] as a regex.
//   From an older format to 3.x: such a path gets its `~`; from 3.x to an older one: `~`
//   is dropped, and a plain path that an
//   older Kong would take for a regex gets its regex characters escaped;
// - plugins (top-level and nested in services, routes, consumers): to 3.x
//   `whitelist`/`blacklist` become `allow`/`deny` (acl, bot-detection, ip-restriction),
//   pre-/post-function `functions` becomes `access`, aws-lambda's `proxy_scheme` is
//   dropped, and prometheus from an older format gets status_code_metrics,
//   latency_metrics, bandwidth_metrics and upstream_health_metrics true (what older Kongs
//   always collected); to Kong 2.x and older, prometheus loses those fields (2.x refuses
//   them and collects those metrics anyway), and to Kong < 2.1 `allow`/`deny` become
//   `whitelist`/`blacklist`.
// Throws std::runtime_error for a version it cannot read.
nlohmann::json declarative_for_kong(const nlohmann::json& config, std::string_view kong_version);

// The names of the plugins a declarative config configures (top-level and nested in
// services, routes, consumers), sorted, each once: Kong runs a plugin only when its
// `plugins` setting names it, so the drivers set `plugins = bundled,<these>` and a
// custom plugin installed beside Kong runs too.
std::vector<std::string> declarative_plugin_names(const nlohmann::json& config);

}  // namespace kperf

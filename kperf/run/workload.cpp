// Loads and validates workload files (load: section + Kong declarative kong: section)
// and converts the declarative part to the JSON the lab's Lua gateway loads.
#include "kperf/run/workload.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include "common/text_file.hpp"
#include "loadgen/duration.hpp"
#include "loadgen/request_set.hpp"

namespace kperf {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& origin, const std::string& msg) {
  throw std::runtime_error(fmt::format("workload {}: {}", origin, msg));
}

// YAML → JSON with YAML 1.2 core-schema typing for plain scalars (quoted ones stay
// strings), as Kong's YAML loader does.
json scalar_to_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  {
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc{} && p == s.data() + s.size()) return v;
  }
  {
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    bool numeric = end == s.c_str() + s.size() &&
                   s.find_first_not_of("0123456789+-.eE") == std::string::npos;
    if (numeric) return d;
  }
  return s;
}

json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar_to_json(n);
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(yaml_to_json(e));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) {
        std::string key = kv.first.as<std::string>();
        if (o.contains(key)) {
          throw YAML::ParserException(kv.first.Mark(), "duplicate key '" + key + "'");
        }
        o[key] = yaml_to_json(kv.second);
      }
      return o;
    }
  }
  return nullptr;
}

std::string type_name(const json& j) { return j.type_name(); }

void check_keys(const std::string& origin, const std::string& where, const json& obj,
                std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(origin, fmt::format("{}: unknown field '{}' (supported: {})", where, k, list));
    }
  }
}

const json* get(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string get_string(const std::string& origin, const std::string& where, const json& obj,
                       const char* key) {
  const json* v = get(obj, key);
  if (!v) return {};
  if (!v->is_string()) {
    fail(origin, fmt::format("{}: '{}' must be a string, not {}", where, key, type_name(*v)));
  }
  return v->get<std::string>();
}

bool valid_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

long long get_int(const std::string& origin, const std::string& where, const json& obj,
                  const char* key, long long def, long long min, long long max) {
  const json* v = get(obj, key);
  if (!v) return def;
  if (!v->is_number_integer()) {
    fail(origin, fmt::format("{}: '{}' must be an integer", where, key));
  }
  long long x = v->get<long long>();
  if (x < min || x > max) {
    fail(origin, fmt::format("{}: '{}' must be in {}..{}, not {}", where, key, min, max, x));
  }
  return x;
}

// Splits "http://host[:port][/path]".
struct Url {
  std::string scheme, host, path;
  int port = 0;
};

Url parse_url(const std::string& origin, const std::string& where, const std::string& url) {
  Url u;
  auto sep = url.find("://");
  if (sep == std::string::npos) fail(origin, fmt::format("{}: url '{}' has no scheme", where, url));
  u.scheme = url.substr(0, sep);
  std::string rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.path = rest.substr(slash);
  if (authority.find('@') != std::string::npos || authority.find('[') != std::string::npos) {
    fail(origin, fmt::format("{}: url '{}': userinfo and IPv6 hosts are not supported", where, url));
  }
  auto colon = authority.find(':');
  u.host = authority.substr(0, colon);
  if (colon != std::string::npos) {
    std::string p = authority.substr(colon + 1);
    int port = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc{} || end != p.data() + p.size() || port < 1 || port > 65535) {
      fail(origin, fmt::format("{}: url '{}' has a bad port", where, url));
    }
    u.port = port;
  }
  if (u.host.empty()) fail(origin, fmt::format("{}: url '{}' has no host", where, url));
  return u;
}

// Flattens and validates the kong: section. Every entity gets an "id"; references
// become ids. Entity kinds are processed in dependency order. With `lab`, also what only
// the lab gateway requires: the fields and entities it knows, its plugins, http only,
// routes matching by path, host or method. Without, only what any Kong requires of the
// entities kperf reads (names, references, keys); real Kong checks the rest itself.
class Flattener {
 public:
  Flattener(std::string origin, bool lab) : origin_(std::move(origin)), lab_(lab) {}

  json run(const json& kong) {
    if (!kong.is_object()) fail(origin_, "'kong' must be a map (a Kong declarative config)");
    if (lab_) check_keys(origin_, "kong", kong,
               {"_format_version", "_transform", "_comment", "services", "routes", "consumers",
                "plugins", "keyauth_credentials"});
    const json* fv = get(kong, "_format_version");
    if (!fv) fail(origin_, "kong: '_format_version' is missing (use \"3.0\")");
    if (!fv->is_string() || (*fv != "3.0" && *fv != "2.1" && *fv != "1.1")) {
      fail(origin_, "kong: '_format_version' must be \"3.0\" (or \"2.1\", \"1.1\"); kperf writes it in the "
                    "format the Kong it runs on accepts");
    }
    // pass 1: collect entities (nested ones lifted) so references can be resolved
    for (const auto& [i, s] : list(kong, "services", "kong")) add_service(s, i);
    for (const auto& [i, r] : list(kong, "routes", "kong")) add_route(r, fmt::format("kong.routes[{}]", i), nullptr);
    for (const auto& [i, c] : list(kong, "consumers", "kong")) add_consumer(c, i);
    for (const auto& [i, k] : list(kong, "keyauth_credentials", "kong")) {
      add_credential(k, fmt::format("kong.keyauth_credentials[{}]", i), nullptr);
    }
    for (const auto& [i, p] : list(kong, "plugins", "kong")) {
      add_plugin(p, fmt::format("kong.plugins[{}]", i), nullptr, nullptr);
    }
    // pass 2: resolve references
    for (auto& r : routes_.list) resolve(r, "service", services_, "service", true);
    for (auto& k : creds_.list) resolve(k, "consumer", consumers_, "consumer", true);
    for (auto& p : plugins_.list) {
      resolve(p, "service", services_, "service", false);
      resolve(p, "route", routes_, "route", false);
      resolve(p, "consumer", consumers_, "consumer", false);
    }
    json out = json::object();
    out["_format_version"] = "3.0";
    out["services"] = strip(services_);
    out["routes"] = strip(routes_);
    out["consumers"] = strip(consumers_);
    out["keyauth_credentials"] = strip(creds_);
    out["plugins"] = strip(plugins_);
    return out;
  }

 private:
  struct Entity {
    json obj;           // flattened fields
    std::string where;  // "kong.services[0].routes[1]" for messages
  };
  struct Kind {
    std::vector<Entity> list;
    std::map<std::string, std::string> by_name;  // name → id
    std::set<std::string> ids;
  };

  std::vector<std::pair<size_t, json>> list(const json& parent, const char* key, const std::string& where) {
    std::vector<std::pair<size_t, json>> out;
    const json* v = get(parent, key);
    if (!v) return out;
    if (!v->is_array()) fail(origin_, fmt::format("{}: '{}' must be a list", where, key));
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_object()) {
        fail(origin_, fmt::format("{}.{}[{}]: must be a map, not {}", where, key, i, type_name((*v)[i])));
      }
      out.emplace_back(i, (*v)[i]);
    }
    return out;
  }

  std::string label(const Entity& e) const {
    const json* n = get(e.obj, "name");
    if (!n) n = get(e.obj, "username");
    return n && n->is_string() ? fmt::format("{} ({})", e.where, n->get<std::string>()) : e.where;
  }

  // Registers the entity under its id (given, or derived from its name) and name.
  std::string register_entity(Kind& kind, const char* kind_name, Entity& e, const char* name_key) {
    std::string name = get_string(origin_, e.where, e.obj, name_key);
    std::string id = get_string(origin_, e.where, e.obj, "id");
    if (id.empty()) {
      id = name.empty() ? fmt::format("{}#{}", kind_name, kind.list.size() + 1)
                        : fmt::format("{}:{}", kind_name, name);
    }
    if (!name.empty() && !kind.by_name.emplace(name, id).second) {
      fail(origin_, fmt::format("{}: duplicate {} name '{}'", e.where, kind_name, name));
    }
    if (!kind.ids.insert(id).second) fail(origin_, fmt::format("{}: duplicate {} id '{}'", e.where, kind_name, id));
    e.obj["id"] = id;
    kind.list.push_back(e);
    return id;
  }

  void add_service(json s, size_t i) {
    Entity e{s, fmt::format("kong.services[{}]", i)};
    if (lab_) check_keys(origin_, e.where, s,
               {"name", "id", "url", "protocol", "host", "port", "path", "routes", "plugins", "retries",
                "connect_timeout", "write_timeout", "read_timeout", "tags", "enabled"});
    std::string url = get_string(origin_, e.where, s, "url");
    std::string host = get_string(origin_, e.where, s, "host");
    if (url.empty() == host.empty()) fail(origin_, fmt::format("{}: give either 'url' or 'host'", e.where));
    std::string protocol = get_string(origin_, e.where, s, "protocol");
    int port = static_cast<int>(get_int(origin_, e.where, s, "port", 0, 1, 65535));
    std::string path = get_string(origin_, e.where, s, "path");
    if (!url.empty()) {
      Url u = parse_url(origin_, e.where, url);
      protocol = u.scheme;
      host = u.host;
      port = u.port;
      path = u.path;
    }
    if (protocol.empty()) protocol = "http";
    if (lab_ && protocol != "http") {
      fail(origin_, fmt::format("{}: protocol '{}' is not supported by the lab gateway (http only)", e.where, protocol));
    }
    if (port == 0) port = 80;
    if (!path.empty() && path[0] != '/') fail(origin_, fmt::format("{}: path must start with '/'", e.where));
    json& o = e.obj;
    o.erase("url");
    o.erase("routes");
    o.erase("plugins");
    o["protocol"] = protocol;
    o["host"] = host;
    o["port"] = port;
    if (path.empty()) o.erase("path"); else o["path"] = path;
    std::string id = register_entity(services_, "service", e, "name");
    for (const auto& [j, r] : list(s, "routes", e.where)) {
      add_route(r, fmt::format("{}.routes[{}]", e.where, j), &id);
    }
    for (const auto& [j, p] : list(s, "plugins", e.where)) {
      add_plugin(p, fmt::format("{}.plugins[{}]", e.where, j), "service", &id);
    }
  }

  void add_route(json r, std::string where, const std::string* service_id) {
    Entity e{r, std::move(where)};
    if (lab_) check_keys(origin_, e.where, r,
               {"name", "id", "paths", "hosts", "methods", "strip_path", "preserve_host", "service",
                "plugins", "protocols", "regex_priority", "path_handling", "request_buffering",
                "response_buffering", "https_redirect_status_code", "tags"});
    bool any = false;
    for (const char* key : {"paths", "hosts", "methods"}) {
      const json* v = get(r, key);
      if (!v) continue;
      if (!v->is_array() || !std::all_of(v->begin(), v->end(), [](const json& x) { return x.is_string(); })) {
        fail(origin_, fmt::format("{}: '{}' must be a list of strings", e.where, key));
      }
      any = any || !v->empty();
    }
    if (lab_ && !any) fail(origin_, fmt::format("{}: a route needs at least one of 'paths', 'hosts', 'methods'", e.where));
    if (const json* paths = get(r, "paths")) {
      for (const auto& p : *paths) {
        const std::string& s = p.get_ref<const std::string&>();
        if (s.empty() || (s[0] != '/' && s[0] != '~')) {
          fail(origin_, fmt::format("{}: path '{}' must start with '/' (or '~' for a regex)", e.where, s));
        }
      }
    }
    if (const json* protocols = get(r, "protocols"); lab_ && protocols) {
      for (const auto& p : *protocols) {
        if (p != "http" && p != "https") {
          fail(origin_, fmt::format("{}: protocol {} is not supported by the lab gateway", e.where, p.dump()));
        }
      }
    }
    for (const char* key : {"strip_path", "preserve_host"}) {
      if (const json* v = get(r, key); v && !v->is_boolean()) {
        fail(origin_, fmt::format("{}: '{}' must be true or false", e.where, key));
      }
    }
    if (service_id) {
      if (get(r, "service")) fail(origin_, fmt::format("{}: a nested route cannot name a 'service'", e.where));
      e.obj["service"] = *service_id;
    }
    e.obj.erase("plugins");
    std::string id = register_entity(routes_, "route", e, "name");
    for (const auto& [j, p] : list(r, "plugins", e.where)) {
      add_plugin(p, fmt::format("{}.plugins[{}]", e.where, j), "route", &id);
    }
  }

  void add_consumer(json c, size_t i) {
    Entity e{c, fmt::format("kong.consumers[{}]", i)};
    if (lab_) check_keys(origin_, e.where, c, {"username", "custom_id", "id", "tags", "plugins", "keyauth_credentials"});
    if (get_string(origin_, e.where, c, "username").empty() && get_string(origin_, e.where, c, "custom_id").empty()) {
      fail(origin_, fmt::format("{}: a consumer needs a 'username' or a 'custom_id'", e.where));
    }
    e.obj.erase("plugins");
    e.obj.erase("keyauth_credentials");
    std::string id = register_entity(consumers_, "consumer", e, "username");
    for (const auto& [j, k] : list(c, "keyauth_credentials", e.where)) {
      add_credential(k, fmt::format("{}.keyauth_credentials[{}]", e.where, j), &id);
    }
    for (const auto& [j, p] : list(c, "plugins", e.where)) {
      add_plugin(p, fmt::format("{}.plugins[{}]", e.where, j), "consumer", &id);
    }
  }

  void add_credential(json k, std::string where, const std::string* consumer_id) {
    Entity e{k, std::move(where)};
    if (lab_) check_keys(origin_, e.where, k, {"key", "consumer", "id", "tags", "ttl"});
    std::string key = get_string(origin_, e.where, k, "key");
    if (key.empty()) fail(origin_, fmt::format("{}: 'key' is missing", e.where));
    if (!keys_.insert(key).second) fail(origin_, fmt::format("{}: duplicate key '{}'", e.where, key));
    if (consumer_id) {
      if (get(k, "consumer")) fail(origin_, fmt::format("{}: a nested credential cannot name a 'consumer'", e.where));
      e.obj["consumer"] = *consumer_id;
    }
    register_entity(creds_, "keyauth_credential", e, "__no_name__");
  }

  void add_plugin(json p, std::string where, const char* scope, const std::string* scope_id) {
    Entity e{p, std::move(where)};
    if (lab_) check_keys(origin_, e.where, p,
               {"name", "config", "service", "route", "consumer", "enabled", "id", "tags", "protocols",
                "instance_name"});
    std::string name = get_string(origin_, e.where, p, "name");
    if (name.empty()) fail(origin_, fmt::format("{}: plugin 'name' is missing", e.where));
    const auto& known = Workload::known_plugins();
    if (lab_ && std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      fail(origin_, fmt::format("{}: unknown plugin '{}' (the lab gateway has: {}; real Kong runs any plugin: "
                                "--version V)",
                                e.where, name, list));
    }
    if (const json* c = get(p, "config"); c && !c->is_object()) {
      fail(origin_, fmt::format("{}: plugin '{}': 'config' must be a map", e.where, name));
    }
    if (const json* en = get(p, "enabled"); en && !en->is_boolean()) {
      fail(origin_, fmt::format("{}: 'enabled' must be true or false", e.where));
    }
    if (scope) {
      if (get(p, scope)) fail(origin_, fmt::format("{}: a nested plugin cannot name a '{}'", e.where, scope));
      e.obj[scope] = *scope_id;
    }
    if (!get(e.obj, "config")) e.obj["config"] = json::object();
    register_entity(plugins_, "plugin", e, "instance_name");
  }

  // A reference is a name or an id (or {id: ...} / {name: ...}); it becomes the id.
  void resolve(Entity& e, const char* field, const Kind& kind, const char* kind_name, bool required) {
    const json* v = get(e.obj, field);
    if (!v) {
      if (required) fail(origin_, fmt::format("{}: '{}' is missing", label(e), field));
      return;
    }
    std::string ref;
    if (v->is_string()) {
      ref = v->get<std::string>();
    } else if (v->is_object() && (get(*v, "id") || get(*v, "name") || get(*v, "username"))) {
      const json* x = get(*v, "id") ? get(*v, "id") : get(*v, "name") ? get(*v, "name") : get(*v, "username");
      if (x->is_string()) ref = x->get<std::string>();
    }
    if (ref.empty()) fail(origin_, fmt::format("{}: '{}' must name a {}", label(e), field, kind_name));
    std::string id;
    if (kind.ids.count(ref)) {
      id = ref;
    } else if (auto it = kind.by_name.find(ref); it != kind.by_name.end()) {
      id = it->second;
    } else {
      fail(origin_, fmt::format("{}: unknown {} '{}'", label(e), kind_name, ref));
    }
    e.obj[field] = id;
  }

  static json strip(const Kind& kind) {
    json a = json::array();
    for (const auto& e : kind.list) a.push_back(e.obj);
    return a;
  }

  std::string origin_;
  bool lab_ = true;
  Kind services_, routes_, consumers_, creds_, plugins_;
  std::set<std::string> keys_;
};

LoadSpec parse_load(const std::string& origin, const json* load) {
  LoadSpec spec;
  if (!load) return spec;
  if (!load->is_object()) fail(origin, "'load' must be a map");
  const json& l = *load;
  check_keys(origin, "load", l,
             {"target", "threads", "connections", "duration", "runs", "rate", "method", "path", "headers"});
  std::string target = get_string(origin, "load", l, "target");
  if (target == "upstream") {
    spec.target = LoadSpec::Target::Upstream;
  } else if (!target.empty() && target != "gateway") {
    fail(origin, fmt::format("load: 'target' must be 'gateway' or 'upstream', not '{}'", target));
  }
  spec.threads = static_cast<int>(get_int(origin, "load", l, "threads", spec.threads, 1, 256));
  spec.connections = static_cast<int>(get_int(origin, "load", l, "connections", spec.connections, 1, 100000));
  if (spec.connections < spec.threads) fail(origin, "load: 'connections' must be at least 'threads'");
  spec.runs = static_cast<int>(get_int(origin, "load", l, "runs", spec.runs, 1, 100));
  if (const json* d = get(l, "duration")) {
    std::chrono::microseconds us{0};
    if (d->is_number_integer()) {
      us = std::chrono::seconds(d->get<long long>());
    } else if (d->is_string()) {
      try {
        us = loadgen::parse_duration(d->get<std::string>());  // the same syntax as `kperf load -d`
      } catch (const std::exception& ex) {
        fail(origin, fmt::format("load: 'duration': {} (use 10s, 500ms, 2m)", ex.what()));
      }
    }
    if (us < std::chrono::milliseconds(1)) fail(origin, "load: 'duration' must be a positive duration like 10s, 500ms or 2m");
    spec.duration = std::chrono::duration_cast<std::chrono::milliseconds>(us);
  }
  if (const json* r = get(l, "rate")) {
    if (!r->is_number() || r->get<double>() <= 0) fail(origin, "load: 'rate' must be a positive number");
    spec.rate = r->get<double>();
  }
  if (std::string m = get_string(origin, "load", l, "method"); !m.empty()) {
    if (!std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      fail(origin, fmt::format("load: 'method' must be an upper-case HTTP method, not '{}'", m));
    }
    spec.method = m;
  }
  if (const json* p = get(l, "path")) {
    if (!p->is_string() || p->get<std::string>().empty() || p->get<std::string>()[0] != '/') {
      fail(origin, "load: 'path' must be a request target starting with '/'");
    }
    spec.path = p->get<std::string>();
  }
  if (const json* h = get(l, "headers")) {
    if (!h->is_object()) fail(origin, "load: 'headers' must be a map of name: value");
    for (const auto& [k, v] : h->items()) {
      if (k.empty() || k.find_first_of(" \t:\r\n") != std::string::npos) {
        fail(origin, fmt::format("load: invalid header name '{}'", k));
      }
      if (!v.is_string()) fail(origin, fmt::format("load: header '{}' must have a string value", k));
      spec.headers.emplace_back(k, v.get<std::string>());
    }
  }
  // the request set loadgen will build: catches bad templates ({a..b}) and headers now
  loadgen::RequestSpec rs;
  rs.method = spec.method;
  rs.targets = {spec.path};
  for (const auto& [k, v] : spec.headers) rs.headers.push_back(k + ": " + v);
  try {
    loadgen::RequestSet check(rs);
  } catch (const std::exception& ex) {
    fail(origin, fmt::format("load: {}", ex.what()));
  }
  return spec;
}

void point_at_upstream(json& services, const std::string& host, int port, bool split) {
  for (auto& s : services) {
    if (split) {
      if (s.value("host", "") == kUpstreamHost) {
        s["host"] = host;
        s["port"] = port;
      }
      continue;
    }
    if (auto it = s.find("url"); it != s.end() && it->is_string()) {
      std::string url = it->get<std::string>();
      std::string prefix = fmt::format("http://{}", kUpstreamHost);
      if (url.rfind(prefix, 0) == 0) {
        std::string rest = url.substr(prefix.size());
        if (!rest.empty() && rest[0] == ':') {
          auto slash = rest.find('/');
          rest = slash == std::string::npos ? "" : rest.substr(slash);
        }
        *it = fmt::format("http://{}:{}{}", host, port, rest);
      }
    } else if (s.value("host", "") == kUpstreamHost) {
      s["host"] = host;
      s["port"] = port;
    }
  }
}

}  // namespace

const std::vector<std::string>& Workload::known_plugins() {
  static const std::vector<std::string> names = {
      "correlation-id",      "cors",       "key-auth", "prometheus", "rate-limiting",
      "request-termination", "request-transformer", "response-transformer"};
  return names;
}

Workload Workload::parse(std::string_view yaml_text, const std::string& origin) {
  json doc;
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    doc = yaml_to_json(root);
  } catch (const YAML::Exception& e) {
    fail(origin, fmt::format("bad YAML at line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!doc.is_object()) fail(origin, "expected a map with 'name', 'load' and 'kong' sections");
  check_keys(origin, "top level", doc, {"name", "description", "load", "kong"});
  Workload w;
  w.origin_ = origin;
  w.name_ = get_string(origin, "top level", doc, "name");
  if (w.name_.empty()) fail(origin, "'name' is missing");
  if (!valid_name(w.name_)) fail(origin, fmt::format("'name' must use letters, digits, '-', '_', '.', not '{}'", w.name_));
  w.description_ = get_string(origin, "top level", doc, "description");
  w.load_ = parse_load(origin, get(doc, "load"));
  const json* kong = get(doc, "kong");
  if (!kong) fail(origin, "'kong' (the Kong declarative config) is missing");
  w.kong_ = *kong;
  (void)Flattener(origin, false).run(*kong);  // what any Kong would refuse fails here
  try {
    w.flat_ = Flattener(origin, true).run(*kong);
  } catch (const std::runtime_error& e) {
    w.lab_error_ = e.what();  // only when the lab gateway runs it
  }
  return w;
}

Workload Workload::load(const std::string& name_or_path) {
  if (name_or_path.empty()) throw std::runtime_error("workload: empty name");
  fs::path path;
  bool by_name = name_or_path.find('/') == std::string::npos &&
                 !name_or_path.ends_with(".yaml") && !name_or_path.ends_with(".yml");
  if (by_name) {
    if (!valid_name(name_or_path)) {
      throw std::runtime_error(fmt::format("workload '{}': not a valid name (letters, digits, '-', '_', '.')", name_or_path));
    }
    fs::path dir = lab_dir() / "workloads";
    path = dir / (name_or_path + ".yaml");
    if (!fs::exists(path)) {
      std::string names;
      for (const auto& n : list_workloads()) names += (names.empty() ? "" : ", ") + n;
      throw std::runtime_error(fmt::format("workload '{}' not found in {} (available: {})", name_or_path,
                                           dir.string(), names));
    }
  } else {
    path = name_or_path;
  }
  return parse(common::read_file_or_throw(path, "workload"), path.string());
}

json Workload::kong_config(const std::string& upstream_host, int upstream_port) const {
  json out = kong_;
  if (auto it = out.find("services"); it != out.end() && it->is_array()) {
    point_at_upstream(*it, upstream_host, upstream_port, false);
  }
  return out;
}

void Workload::check_lab() const {
  if (!lab_error_.empty()) throw std::runtime_error(lab_error_);
}

json Workload::gateway_config(const std::string& upstream_host, int upstream_port) const {
  check_lab();
  json out = flat_;
  point_at_upstream(out["services"], upstream_host, upstream_port, true);
  return out;
}

fs::path lab_dir() {
  auto ok = [](const fs::path& d) {
    std::error_code ec;
    return fs::is_directory(d / "workloads", ec) && fs::is_directory(d / "lua", ec);
  };
  if (const char* env = std::getenv("KPERF_LAB_DIR"); env && *env) {
    if (!ok(env)) {
      throw std::runtime_error(fmt::format("KPERF_LAB_DIR={} has no workloads/ and lua/ folders", env));
    }
    return fs::absolute(env);
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path d = exe.parent_path(); !d.empty(); d = d.parent_path()) {
      if (ok(d / "scripts" / "lab")) return d / "scripts" / "lab";
      if (d == d.root_path()) break;
    }
  }
  // the source tree this file was compiled from: kperf/run/workload.cpp → repo root
  fs::path src = fs::path(__FILE__).parent_path().parent_path().parent_path() / "scripts" / "lab";
  if (ok(src)) return src;
  throw std::runtime_error(
      "cannot find the lab gateway (scripts/lab): set KPERF_LAB_DIR to the source tree's scripts/lab");
}

std::vector<std::string> list_workloads() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(lab_dir() / "workloads", ec)) {
    if (e.path().extension() == ".yaml") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace kperf

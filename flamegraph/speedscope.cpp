// write_speedscope: shared frame table = the FrameTable, samples = stacks in sorted
// order with their counts as weights. JSON is written directly (escaped, valid UTF-8).
#include "flamegraph/speedscope.hpp"

#include <ostream>
#include <vector>

#include <fmt/core.h>

#include "flamegraph/folded.hpp"
#include "flamegraph/frame_kind.hpp"
#include "flamegraph/stack_order.hpp"
#include "flamegraph/text.hpp"

namespace kperf::fg {

namespace {

void append_frame(std::string& out, std::string_view name) {
  out += "{\"name\":";
  append_json_string(out, name);
  if (classify_frame(name) == FrameKind::Lua || classify_frame(name) == FrameKind::LuaJit) {
    const std::string_view bare = strip_annotation(name);
    const auto space = bare.find(' ');
    const auto colon = bare.rfind(':');
    if (space != std::string_view::npos && colon != std::string_view::npos && colon > space) {
      out += ",\"file\":";
      append_json_string(out, bare.substr(space + 1, colon - space - 1));
      const std::string_view line = bare.substr(colon + 1);
      if (!line.empty() && line.size() < 10 &&
          line.find_first_not_of("0123456789") == std::string_view::npos) {
        out += fmt::format(",\"line\":{}", line);
      }
    }
  }
  out += '}';
}

}  // namespace

void write_speedscope(const StackTrie& trie, const SpeedscopeOptions& opts, std::ostream& os) {
  std::string out;
  out += "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",";
  out += "\"shared\":{\"frames\":[";
  for (FrameId id = 0; id < trie.frames().size(); ++id) {
    if (id > 0) out += ',';
    append_frame(out, trie.frames().name(id));
  }
  out += "]},\"profiles\":[";

  struct Column {
    const char* suffix;
    bool base;
  };
  std::vector<Column> columns;
  if (trie.differential()) {
    columns = {{" (before)", true}, {" (after)", false}};
  } else {
    columns = {{"", false}};
  }
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (c > 0) out += ',';
    std::string samples;
    std::string weights;
    double total = 0;
    visit_sorted(trie, [&](NodeId id, std::span<const FrameId> path) {
      const auto& n = trie.node(id);
      const double w = columns[c].base ? n.base : n.self;
      if (w <= 0) return;
      if (!weights.empty()) {
        samples += ',';
        weights += ',';
      }
      samples += '[';
      for (std::size_t i = 0; i < path.size(); ++i) {
        if (i > 0) samples += ',';
        samples += fmt::format("{}", path[i]);
      }
      samples += ']';
      weights += format_count(w);
      total += w;
    });
    out += "{\"type\":\"sampled\",\"name\":";
    append_json_string(out, opts.name + columns[c].suffix);
    out += ",\"unit\":";
    append_json_string(out, opts.unit);
    out += fmt::format(",\"startValue\":0,\"endValue\":{},\"samples\":[", format_count(total));
    out += samples;
    out += "],\"weights\":[";
    out += weights;
    out += "]}";
  }
  out += fmt::format("],\"activeProfileIndex\":{},\"exporter\":", columns.size() - 1);
  append_json_string(out, opts.exporter);
  out += ",\"name\":";
  append_json_string(out, opts.name);
  out += "}\n";
  os.write(out.data(), static_cast<std::streamsize>(out.size()));
}

}  // namespace kperf::fg

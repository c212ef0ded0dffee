// A small reader of pprof files for tests: gunzip, then decode the protobuf wire format
// of perftools.profiles.Profile into plain structs (ids and string indexes as in the
// file), with the checks a consumer relies on (indexes in range, ids unique and known).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kperf::test {

struct PprofProfile {
  struct ValueType {
    std::int64_t type = 0, unit = 0;
  };
  struct Label {
    std::int64_t key = 0, str = 0, num = 0, num_unit = 0;
  };
  struct Sample {
    std::vector<std::uint64_t> location_ids;  // leaf first
    std::vector<std::int64_t> values;
    std::vector<Label> labels;
  };
  struct Mapping {
    std::uint64_t id = 0, memory_start = 0, memory_limit = 0, file_offset = 0;
    std::int64_t filename = 0, build_id = 0;
    bool has_functions = false;
  };
  struct Line {
    std::uint64_t function_id = 0;
    std::int64_t line = 0;
  };
  struct Location {
    std::uint64_t id = 0, mapping_id = 0, address = 0;
    std::vector<Line> lines;
  };
  struct Function {
    std::uint64_t id = 0;
    std::int64_t name = 0, system_name = 0, filename = 0, start_line = 0;
  };

  std::vector<ValueType> sample_types;
  std::vector<Sample> samples;
  std::vector<Mapping> mappings;
  std::vector<Location> locations;
  std::vector<Function> functions;
  std::vector<std::string> strings;
  std::int64_t time_nanos = 0, duration_nanos = 0, period = 0;
  ValueType period_type;
  std::vector<std::int64_t> comments;

  const std::string& str(std::int64_t i) const { return strings.at(static_cast<std::size_t>(i)); }
  const Location& location(std::uint64_t id) const;
  const Function& function(std::uint64_t id) const;
  const Mapping& mapping(std::uint64_t id) const;
  // The string value of label `key` on a sample ("" if absent), its number (-1 if absent).
  std::string label_str(const Sample& s, std::string_view key) const;
  std::int64_t label_num(const Sample& s, std::string_view key) const;
  // Stacks as folded text would have them: function names root first, ';'-joined (the
  // first line of each location), summed value[index] per stack.
  std::map<std::string, std::int64_t> folded(std::size_t value_index = 0) const;
  std::int64_t total(std::size_t value_index = 0) const;
};

// Decompresses gzip data (throws std::runtime_error if it is not valid gzip).
std::string gunzip(std::string_view gz);
// Decodes a Profile message and checks its references (throws std::runtime_error).
PprofProfile parse_pprof(std::string_view bytes);
// gunzip + parse_pprof.
PprofProfile read_pprof_gz(std::string_view gz);

}  // namespace kperf::test

// fg::encode_pprof decoded by the test reader: string table, sample and period types,
// one Location/Function per distinct frame, Lua/kernel/native mappings, totals equal the
// trie's, labelled samples and unlabelled remainders; gzip round trip.
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "flamegraph/pprof.hpp"
#include "flamegraph/trie.hpp"
#include "tests/support/pprof_reader.hpp"

namespace fg = kperf::fg;
using kperf::test::PprofProfile;

namespace {

fg::NodeId add(fg::StackTrie& t, const std::vector<std::string_view>& frames, double count) {
  return t.add(std::span<const std::string_view>(frames), count);
}

const PprofProfile::Function& function_named(const PprofProfile& p, std::string_view name) {
  for (const auto& f : p.functions) {
    if (p.str(f.name) == name) return f;
  }
  throw std::runtime_error("no function " + std::string(name));
}

const PprofProfile::Location& location_of(const PprofProfile& p, std::string_view name) {
  const auto& f = function_named(p, name);
  for (const auto& l : p.locations) {
    if (!l.lines.empty() && l.lines[0].function_id == f.id) return l;
  }
  throw std::runtime_error("no location for " + std::string(name));
}

struct Fixture {
  fg::StackTrie trie;
  fg::NodeId lua_leaf, kernel_leaf, jit_leaf, inner;
  Fixture() {
    lua_leaf = add(trie, {"nginx", "main", "ngx_process_events", "fib /srv/app/fib.lua:3", "fib /srv/app/fib.lua:3"}, 3);
    kernel_leaf = add(trie, {"nginx", "main", "ngx_process_events", "tcp_sendmsg_[k]"}, 2);
    jit_leaf = add(trie, {"nginx", "main", "f2 @x y.lua:17_[j]"}, 1);
    inner = add(trie, {"nginx", "main"}, 4);
  }
};

}  // namespace

TEST(PprofEncoder, StructureAndTotals) {
  Fixture f;
  fg::PprofOptions o;
  o.period_ns = 1'000'000;
  o.time_nanos = 1'700'000'000'000'000'000;
  o.duration_nanos = 2'500'000'000;
  o.comments = {"hello", "world"};
  const PprofProfile p = kperf::test::parse_pprof(fg::encode_pprof(f.trie, {}, {}, o));

  ASSERT_FALSE(p.strings.empty());
  EXPECT_EQ(p.strings[0], "");
  ASSERT_EQ(p.sample_types.size(), 2u);
  EXPECT_EQ(p.str(p.sample_types[0].type), "samples");
  EXPECT_EQ(p.str(p.sample_types[0].unit), "count");
  EXPECT_EQ(p.str(p.sample_types[1].type), "cpu");
  EXPECT_EQ(p.str(p.sample_types[1].unit), "nanoseconds");
  EXPECT_EQ(p.str(p.period_type.type), "cpu");
  EXPECT_EQ(p.str(p.period_type.unit), "nanoseconds");
  EXPECT_EQ(p.period, 1'000'000);
  EXPECT_EQ(p.time_nanos, o.time_nanos);
  EXPECT_EQ(p.duration_nanos, o.duration_nanos);
  ASSERT_EQ(p.comments.size(), 2u);
  EXPECT_EQ(p.str(p.comments[0]), "hello");
  EXPECT_EQ(p.str(p.comments[1]), "world");

  // Strings once each.
  std::set<std::string> seen(p.strings.begin(), p.strings.end());
  EXPECT_EQ(seen.size(), p.strings.size());

  // One location and one function per distinct frame (fib twice in a stack: one).
  EXPECT_EQ(p.locations.size(), 6u);
  EXPECT_EQ(p.functions.size(), 6u);
  for (const auto& l : p.locations) ASSERT_EQ(l.lines.size(), 1u);

  // Same stacks and totals as the trie.
  const std::map<std::string, std::int64_t> want = {
      {"nginx;main;ngx_process_events;fib /srv/app/fib.lua:3;fib /srv/app/fib.lua:3", 3},
      {"nginx;main;ngx_process_events;tcp_sendmsg_[k]", 2},
      {"nginx;main;f2 @x y.lua:17_[j]", 1},
      {"nginx;main", 4}};
  EXPECT_EQ(p.folded(0), want);
  EXPECT_EQ(p.total(0), 10);
  EXPECT_EQ(p.total(1), 10 * 1'000'000);
  for (const auto& s : p.samples) EXPECT_EQ(s.values[1], s.values[0] * 1'000'000);
  // Leaf first.
  for (const auto& s : p.samples) {
    EXPECT_EQ(p.str(p.function(p.location(s.location_ids.back()).lines[0].function_id).name), "nginx");
  }
}

TEST(PprofEncoder, FrameKinds) {
  Fixture f;
  const PprofProfile p = kperf::test::parse_pprof(fg::encode_pprof(f.trie, {}, {}, {}));

  const auto& lua = function_named(p, "fib /srv/app/fib.lua:3");
  EXPECT_EQ(p.str(lua.system_name), "fib");
  EXPECT_EQ(p.str(lua.filename), "/srv/app/fib.lua");
  EXPECT_EQ(lua.start_line, 3);
  EXPECT_EQ(location_of(p, "fib /srv/app/fib.lua:3").lines[0].line, 3);
  EXPECT_EQ(location_of(p, "fib /srv/app/fib.lua:3").mapping_id, 0u);

  const auto& jit = function_named(p, "f2 @x y.lua:17_[j]");
  EXPECT_EQ(p.str(jit.system_name), "f2");
  EXPECT_EQ(p.str(jit.filename), "@x y.lua");
  EXPECT_EQ(jit.start_line, 17);

  const auto& k = function_named(p, "tcp_sendmsg_[k]");
  EXPECT_EQ(p.str(k.system_name), "tcp_sendmsg");
  const auto& kl = location_of(p, "tcp_sendmsg_[k]");
  ASSERT_NE(kl.mapping_id, 0u);
  EXPECT_EQ(p.str(p.mapping(kl.mapping_id).filename), "[kernel.kallsyms]");

  const auto& native = function_named(p, "ngx_process_events");
  EXPECT_EQ(p.str(native.system_name), "ngx_process_events");
  EXPECT_EQ(p.str(native.filename), "");
  EXPECT_EQ(location_of(p, "ngx_process_events").mapping_id, 0u);  // no origin given
}

TEST(PprofEncoder, OriginsBecomeMappingsAndAddresses) {
  Fixture f;
  std::vector<fg::FrameOrigin> origins(f.trie.frames().size());
  const auto set = [&](std::string_view name, std::uint64_t addr, std::string path, std::uint64_t start) {
    fg::FrameOrigin o;
    o.address = addr;
    o.path = std::move(path);
    o.build_id = "abcdef0123";
    o.map_start = start;
    o.map_end = start + 0x10000;
    o.file_offset = 0x2000;
    origins[f.trie.frames().find(name)] = o;
  };
  set("main", 0x401234, "/usr/sbin/nginx", 0x400000);
  set("ngx_process_events", 0x405678, "/usr/sbin/nginx", 0x400000);
  origins[f.trie.frames().find("tcp_sendmsg_[k]")] = fg::FrameOrigin{0xffffffff81001234, "", "", 0, 0, 0, true};
  const PprofProfile p = kperf::test::parse_pprof(fg::encode_pprof(f.trie, {}, origins, {}));

  ASSERT_EQ(p.mappings.size(), 2u);  // nginx once, the kernel
  const auto& main = location_of(p, "main");
  const auto& events = location_of(p, "ngx_process_events");
  EXPECT_EQ(main.address, 0x401234u);
  EXPECT_EQ(events.address, 0x405678u);
  ASSERT_EQ(main.mapping_id, events.mapping_id);
  const auto& m = p.mapping(main.mapping_id);
  EXPECT_EQ(p.str(m.filename), "/usr/sbin/nginx");
  EXPECT_EQ(p.str(m.build_id), "abcdef0123");
  EXPECT_EQ(m.memory_start, 0x400000u);
  EXPECT_EQ(m.memory_limit, 0x410000u);
  EXPECT_EQ(m.file_offset, 0x2000u);
  EXPECT_TRUE(m.has_functions);
  EXPECT_EQ(p.mappings.front().id, main.mapping_id);  // the main binary first
  const auto& k = location_of(p, "tcp_sendmsg_[k]");
  EXPECT_EQ(k.address, 0xffffffff81001234u);
  EXPECT_EQ(p.str(p.mapping(k.mapping_id).filename), "[kernel.kallsyms]");
}

TEST(PprofEncoder, LabelledSamplesAndRemainder) {
  Fixture f;
  std::vector<fg::PprofSample> samples;
  samples.push_back({f.lua_leaf, 2, {{"pid", "", 42, true}, {"process", "nginx", 0, false}}});
  samples.push_back({f.inner, 4, {{"pid", "", 0, true}, {"phase", "timer", 0, false}}});
  const PprofProfile p = kperf::test::parse_pprof(fg::encode_pprof(f.trie, samples, {}, {}));
  EXPECT_EQ(p.total(0), 10);  // the trie's total, whatever the labels cover
  int labelled = 0;
  std::int64_t lua_unlabelled = 0;
  for (const auto& s : p.samples) {
    if (s.labels.empty()) {
      if (p.location(s.location_ids[0]).id == location_of(p, "fib /srv/app/fib.lua:3").id) lua_unlabelled += s.values[0];
      continue;
    }
    ++labelled;
    if (p.label_str(s, "process") == "nginx") {
      EXPECT_EQ(p.label_num(s, "pid"), 42);
      EXPECT_EQ(s.values[0], 2);
    } else {
      EXPECT_EQ(p.label_num(s, "pid"), 0);  // a numeric 0 is still there
      EXPECT_EQ(p.label_str(s, "phase"), "timer");
      EXPECT_EQ(s.values[0], 4);
    }
  }
  EXPECT_EQ(labelled, 2);
  EXPECT_EQ(lua_unlabelled, 1);  // 3 samples, 2 labelled
}

TEST(PprofEncoder, EmptyTrieIsAValidProfile) {
  fg::StackTrie t;
  const PprofProfile p = kperf::test::read_pprof_gz(fg::encode_pprof_gz(t, {}, {}, {}));
  EXPECT_TRUE(p.samples.empty());
  EXPECT_EQ(p.sample_types.size(), 2u);
  EXPECT_THROW(fg::encode_pprof(t, {}, {}, fg::PprofOptions{0, 0, 0, {}}), std::invalid_argument);
}

TEST(PprofEncoder, GzipRoundTrip) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += static_cast<char>((i * 7919) % 251);
  const std::string gz = fg::gzip(data);
  ASSERT_GE(gz.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_EQ(kperf::test::gunzip(gz), data);
  EXPECT_EQ(kperf::test::gunzip(fg::gzip("")), "");
  EXPECT_THROW(kperf::test::gunzip(gz.substr(0, gz.size() / 2)), std::runtime_error);
}

TEST(PprofEncoder, TheProgramIsTheFirstMapping) {
  // The first stack written starts in libm (an unwind that stopped early); most start
  // in the program: pprof's "File:" must name the program.
  fg::StackTrie t;
  add(t, {"prog", "sin"}, 1);
  add(t, {"prog", "_start", "main"}, 5);
  std::vector<fg::FrameOrigin> origins(t.frames().size());
  origins[t.frames().find("sin")] = fg::FrameOrigin{0x7f0010, "/lib/libm.so.6", "aa", 0x7f0000, 0x7f1000, 0, false};
  origins[t.frames().find("_start")] = fg::FrameOrigin{0x401000, "/usr/bin/prog", "bb", 0x400000, 0x402000, 0, false};
  origins[t.frames().find("main")] = fg::FrameOrigin{0x401100, "/usr/bin/prog", "bb", 0x400000, 0x402000, 0, false};
  const PprofProfile p = kperf::test::parse_pprof(fg::encode_pprof(t, {}, origins, {}));
  ASSERT_EQ(p.mappings.size(), 2u);
  EXPECT_EQ(p.str(p.mappings.front().filename), "/usr/bin/prog");
  EXPECT_EQ(p.mappings.front().id, 1u);
  EXPECT_EQ(location_of(p, "main").mapping_id, 1u);
  EXPECT_EQ(p.str(p.mapping(location_of(p, "sin").mapping_id).filename), "/lib/libm.so.6");
}

// pprof files written by kperf, checked with the real `go tool pprof` (-top, -traces,
// -raw, -tags) and the test reader: `kperf record --format pprof -- luajit` (totals =
// the samples kperf reported) and `kperf attach` on nginx running a Lua "plugin" under
// load (profile.pb.gz has exactly the stacks and counts of profile.folded, with pid,
// tid, process, plugin and phase labels).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/folded_stacks.hpp"
#include "tests/support/lua_pprof_recording.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/pprof_reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/root.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using kperf::test::PprofProfile;
using kperf::test::TempDir;

namespace {

// `go tool pprof` with its caches in a private directory (HOME may be unwritable) and
// no symbolization (the names are in the file; nothing goes to the network).
class GoPprof {
 public:
  GoPprof() {
    for (const char* p : {"/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"}) {
      if (::access(p, X_OK) == 0) {
        go_ = p;
        break;
      }
    }
  }
  bool available() const { return !go_.empty(); }
  kperf::test::RunResult run(const std::vector<std::string>& args, const std::string& file) const {
    std::vector<std::string> argv = {"/usr/bin/env",          "HOME=" + home_.path(),
                                     "GOCACHE=" + home_.file("cache"), "GOPATH=" + home_.file("gopath"),
                                     "GOFLAGS=",              "PPROF_TMPDIR=" + home_.path(),
                                     go_,                     "tool",
                                     "pprof",                 "-symbolize=none"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(file);
    return kperf::test::run(argv, 120);
  }

 private:
  std::string go_;
  TempDir home_;
};

// The stacks of `go tool pprof -traces` (with -sample_index=samples: counts), root
// first and ';'-joined, summed per stack. A trace block is label lines ("  key:  value",
// ':' in column 11), then "     COUNT   leaf frame" and "             caller frame" lines.
std::map<std::string, std::int64_t> parse_traces(const std::string& text) {
  std::map<std::string, std::int64_t> out;
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> frames;
  std::int64_t count = -1;
  const auto flush = [&] {
    if (count >= 0 && !frames.empty()) {
      std::string stack;
      for (auto it = frames.rbegin(); it != frames.rend(); ++it) stack += (stack.empty() ? "" : ";") + *it;
      out[stack] += count;
    }
    frames.clear();
    count = -1;
  };
  bool in_traces = false;
  while (std::getline(in, line)) {
    if (line.starts_with("-----------+")) {
      flush();
      in_traces = true;
      continue;
    }
    if (!in_traces || line.size() < 14) continue;
    if (count < 0) {
      if (line[10] == ':') continue;  // a label
      const std::string value = line.substr(0, 10);
      if (value.find_first_not_of(' ') == std::string::npos) continue;
      count = std::stoll(value);
      frames.push_back(line.substr(13));
    } else if (line.substr(0, 13).find_first_not_of(' ') == std::string::npos) {
      frames.push_back(line.substr(13));
    }
  }
  flush();
  return out;
}

// The sum of the samples/count column of `go tool pprof -raw`.
std::int64_t raw_total(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  bool samples = false;
  std::int64_t total = 0;
  static const std::regex row(R"(^\s+(\d+)\s+(\d+): [\d ]+$)");
  while (std::getline(in, line)) {
    if (line == "Samples:") samples = true;
    if (line.starts_with("Locations")) break;
    std::smatch m;
    if (samples && std::regex_match(line, m, row)) total += std::stoll(m[1]);
  }
  return total;
}

std::map<std::string, std::int64_t> folded_map(const std::string& text) {
  std::map<std::string, std::int64_t> out;
  for (const auto& s : kperf::test::parse_folded(text)) {
    std::string stack;
    for (const auto& f : s.frames) stack += (stack.empty() ? "" : ";") + f;
    out[stack] += static_cast<std::int64_t>(s.count);
  }
  return out;
}

std::string read_bytes(const fs::path& p) { return kperf::test::read_file(p.string()); }

}  // namespace

TEST(PprofIntegration, RecordLuajitOpensInGoPprof) {
  REQUIRE_ROOT();
  if (::access("/usr/bin/luajit", X_OK) != 0) GTEST_SKIP() << "luajit not installed";
  TempDir tmp;
  const std::string out = tmp.file("out.pb.gz");
  const auto r = kperf::test::record_lua_fib_pprof(tmp.path(), out);
  ASSERT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"((\d+) samples in)"))) << r.err;
  const std::int64_t samples = std::stoll(m[1]);
  ASSERT_GT(samples, 100) << r.err;

  const PprofProfile p = kperf::test::read_pprof_gz(read_bytes(out));
  EXPECT_EQ(p.total(0), samples);
  EXPECT_EQ(p.period, 2'004'008);  // 1e9 / 499
  ASSERT_FALSE(p.comments.empty());
  EXPECT_NE(p.str(p.comments[0]).find("samples in"), std::string::npos);
  bool lua = false, native_with_build_id = false;
  for (const auto& f : p.functions) {
    if (p.str(f.name).starts_with("fib ") && p.str(f.filename).ends_with(kperf::test::kFibChunk)) {
      lua = f.start_line == 2;
    }
  }
  for (const auto& l : p.locations) {
    if (l.mapping_id == 0 || l.address == 0) continue;
    const auto& mp = p.mapping(l.mapping_id);
    if (p.str(mp.filename) == "/usr/bin/luajit" && !p.str(mp.build_id).empty() && l.address >= mp.memory_start &&
        l.address < mp.memory_limit) {
      native_with_build_id = true;
    }
  }
  EXPECT_TRUE(lua) << "no Lua function fib with file busy.lua and line 2";
  EXPECT_TRUE(native_with_build_id) << "no luajit frame with its mapping, build-id and address";
  for (const auto& s : p.samples) {
    EXPECT_EQ(p.label_str(s, "process"), "luajit");
    EXPECT_GT(p.label_num(s, "pid"), 0);
    EXPECT_GT(p.label_num(s, "tid"), 0);
  }

  GoPprof go;
  if (!go.available()) GTEST_SKIP() << "go (Debian golang-go) not installed: go tool pprof checks skipped";
  const auto top = go.run({"-top"}, out);
  ASSERT_EQ(top.status, 0) << top.err;
  EXPECT_NE(top.out.find("Type: cpu"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("fib "), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("File: luajit"), std::string::npos) << top.out;
  const auto raw = go.run({"-raw"}, out);
  ASSERT_EQ(raw.status, 0) << raw.err;
  EXPECT_EQ(raw_total(raw.out), samples);
  const auto traces = go.run({"-traces", "-sample_index=samples"}, out);
  ASSERT_EQ(traces.status, 0) << traces.err;
  EXPECT_EQ(parse_traces(traces.out), p.folded(0));
}

TEST(PprofIntegration, AttachProfileMatchesFoldedWithLabels) {
  REQUIRE_ROOT();
  // A Lua "plugin" in kong/plugins/demo/handler.lua whose access() runs in nginx's
  // access phase: the plugin analysis attributes it to plugin demo, phase access.
  TempDir lua;
  ::chmod(lua.path().c_str(), 0755);
  fs::create_directories(lua.file("kong/plugins/demo"));
  for (const char* d : {"kong", "kong/plugins", "kong/plugins/demo"}) ::chmod(lua.file(d).c_str(), 0755);
  kperf::test::write_file(lua.file("kong/plugins/demo/handler.lua"), R"(local M = {}
function M.access()
  local s = 0
  for i = 1, 30000 do s = s + math.sin(i) end
  return s
end
return M
)");
  ::chmod(lua.file("kong/plugins/demo/handler.lua").c_str(), 0644);
  kperf::test::Nginx nginx(R"(
    location / {
      access_by_lua_block { require("kong.plugins.demo.handler").access() }
      content_by_lua_block { ngx.say("ok") }
    })",
                           fmt::format("lua_package_path \"{}/?.lua;;\";", lua.path()));
  ASSERT_GT(nginx.master_pid(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the master forks its worker
  TempDir tmp;
  const fs::path out = fs::path(tmp.path()) / "out";
  std::string text;
  const int rc = kperf::test::run_command(fmt::format("{} attach --prefix {} --duration 3s --url {} -c 4 -t 1 "
                                                      "--out {} 2>&1",
                                                      KPERF_BINARY, nginx.dir(), nginx.url(), out.string()),
                                          &text);
  ASSERT_EQ(rc, 0) << text;
  ASSERT_TRUE(fs::is_regular_file(out / "profile.pb.gz")) << text;
  const auto summary = nlohmann::json::parse(read_bytes(out / "summary.json"));
  EXPECT_NE(summary.dump().find("profile.pb.gz"), std::string::npos) << "profile.pb.gz not listed in the outputs";

  // Byte-level: the same stacks with the same counts as profile.folded.
  const auto folded = folded_map(read_bytes(out / "profile.folded"));
  const PprofProfile p = kperf::test::read_pprof_gz(read_bytes(out / "profile.pb.gz"));
  ASSERT_FALSE(folded.empty());
  EXPECT_EQ(p.folded(0), folded);
  std::int64_t folded_total = 0;
  for (const auto& [s, n] : folded) folded_total += n;
  EXPECT_EQ(p.total(0), folded_total);
  EXPECT_EQ(p.total(1), folded_total * p.period);

  std::int64_t labelled = 0, demo_access = 0;
  for (const auto& s : p.samples) {
    if (p.label_num(s, "pid") > 0) labelled += s.values[0];
    EXPECT_EQ(p.label_str(s, "process"), "nginx");
    EXPECT_FALSE(p.label_str(s, "phase").empty());
    if (p.label_str(s, "plugin") == "demo" && p.label_str(s, "phase") == "access") demo_access += s.values[0];
  }
  EXPECT_EQ(labelled, folded_total);  // every sample has its pid/tid
  EXPECT_GT(demo_access, 0) << "no sample labelled plugin=demo phase=access";

  GoPprof go;
  if (!go.available()) GTEST_SKIP() << "go (Debian golang-go) not installed: go tool pprof checks skipped";
  const std::string file = (out / "profile.pb.gz").string();
  const auto top = go.run({"-top"}, file);
  ASSERT_EQ(top.status, 0) << top.err;
  EXPECT_NE(top.out.find("File: nginx"), std::string::npos) << top.out;
  const auto traces = go.run({"-traces", "-sample_index=samples"}, file);
  ASSERT_EQ(traces.status, 0) << traces.err;
  EXPECT_EQ(parse_traces(traces.out), folded);
  const auto raw = go.run({"-raw"}, file);
  ASSERT_EQ(raw.status, 0) << raw.err;
  EXPECT_EQ(raw_total(raw.out), folded_total);
  const auto tags = go.run({"-tags"}, file);
  ASSERT_EQ(tags.status, 0) << tags.err;
  for (const char* want : {" pid:", " tid:", " process:", " plugin:", " phase:", ": demo", ": access", ": nginx"}) {
    EXPECT_NE(tags.out.find(want), std::string::npos) << want << "\n" << tags.out;
  }
}

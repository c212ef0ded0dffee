// The pprof export opened in speedscope's offline viewer (npm's speedscope, installed by
// scripts/setup into build/peers/speedscope) in headless Chromium: a real `kperf record
// --format pprof -- luajit` file, served on loopback, shown in speedscope's sandwich view,
// whose function table is in the DOM (`chromium --dump-dom`). The viewer must show the
// file's title, no import error, and rows whose names are the file's functions, with the
// heaviest function (self time) first and its share as the file has it.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/chromium.hpp"
#include "tests/support/lua_pprof_recording.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/pprof_reader.hpp"
#include "tests/support/process.hpp"
#include "tests/support/root.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using kperf::test::PprofProfile;
using kperf::test::TempDir;

namespace {

const std::string kViewer = KPERF_BUILD_DIR "/peers/speedscope/node_modules/speedscope/dist/release";

struct Row {
  std::string total, self, name;
};

std::string unescape_html(std::string s) {
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : kEntities) {
    for (std::size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += std::string_view(to).size()) {
      s.replace(at, std::string_view(from).size(), to);
    }
  }
  return s;
}

// The rows of the sandwich view's table as the DOM has them: <tr class=..> with three
// <td>: "TOTAL (P%)<div..>", "SELF (P%)<div..>", "<span ..></span>NAME".
std::vector<Row> sandwich_rows(const std::string& dom) {
  std::vector<Row> rows;
  for (std::size_t at = 0; (at = dom.find("<tr class=", at)) != std::string::npos;) {
    const std::size_t end = dom.find("</tr>", at);
    if (end == std::string::npos) break;
    const std::string tr = dom.substr(at, end - at);
    at = end;
    std::vector<std::string> cells;
    for (std::size_t td = 0; (td = tr.find("<td", td)) != std::string::npos;) {
      const std::size_t open = tr.find('>', td);
      const std::size_t close = tr.find("</td>", open);
      if (open == std::string::npos || close == std::string::npos) break;
      cells.push_back(tr.substr(open + 1, close - open - 1));
      td = close;
    }
    if (cells.size() != 3) continue;
    const auto text_before_tag = [](const std::string& c) { return c.substr(0, c.find('<')); };
    const std::size_t span = cells[2].rfind("</span>");
    rows.push_back({text_before_tag(cells[0]), text_before_tag(cells[1]),
                    unescape_html(span == std::string::npos ? cells[2] : cells[2].substr(span + 7))});
  }
  return rows;
}

// "1.20s (12%)" -> 12; -1 without a percentage.
double percent_of(const std::string& cell) {
  std::smatch m;
  return std::regex_search(cell, m, std::regex(R"(\(([0-9.]+)%\))")) ? std::stod(m[1]) : -1;
}

}  // namespace

TEST(SpeedscopeViewer, RecordedPprofOpensWithTheFilesFunctionsAndWeights) {
  REQUIRE_ROOT();
  if (::access("/usr/bin/luajit", X_OK) != 0) GTEST_SKIP() << "luajit not installed (scripts/setup installs it)";
  ASSERT_TRUE(fs::is_regular_file(kViewer + "/index.html"))
      << "speedscope's viewer is not in " << kViewer << ": scripts/setup installs it (npm)";
  ASSERT_EQ(::access(kperf::test::kChromium, X_OK), 0) << "chromium not installed: scripts/setup installs it";

  TempDir tmp;
  // The served folder: the viewer and the profile side by side (one origin).
  const fs::path site = fs::path(tmp.path()) / "site";
  fs::create_directories(site);
  fs::create_directory_symlink(kViewer, site / "viewer");
  const std::string out = (site / "profile.pb.gz").string();
  const auto rec = kperf::test::record_lua_fib_pprof(tmp.path(), out);
  ASSERT_EQ(rec.status, 0) << rec.err;
  const PprofProfile p = kperf::test::read_pprof_gz(kperf::test::read_file(out));
  ASSERT_GT(p.total(0), 100);

  // Self weight per function name, as speedscope weighs frames: the leaf line of each
  // sample, value of the last sample type (cpu nanoseconds; no default type is set).
  ASSERT_EQ(p.sample_types.size(), 2u);
  std::map<std::string, double> self;
  double total = 0;
  for (const auto& s : p.samples) {
    const auto& leaf = p.location(s.location_ids.front());
    ASSERT_FALSE(leaf.lines.empty());
    self[p.str(p.function(leaf.lines.front().function_id).name)] += static_cast<double>(s.values[1]);
    total += static_cast<double>(s.values[1]);
  }
  double heaviest = 0;
  for (const auto& [name, w] : self) heaviest = std::max(heaviest, w);
  std::set<std::string> names;  // every function (the table lists callers too)
  for (const auto& f : p.functions) names.insert(p.str(f.name));

  const int port = kperf::test::free_port();
  kperf::test::Process server({"/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                               site.string(), std::to_string(port)},
                              tmp.file("http.out"), tmp.file("http.err"));
  ASSERT_TRUE(kperf::test::wait_for_port(port, 10)) << kperf::test::read_file(tmp.file("http.err"));
  const std::string url = "http://127.0.0.1:" + std::to_string(port) +
                          "/viewer/index.html#profileURL=%2Fprofile.pb.gz&title=kperf-pprof&view=sandwich";
  const auto chrome = kperf::test::chromium_dom(url, tmp.file("chromium"), {"--virtual-time-budget=20000"});
  // A file speedscope cannot import leaves its page busy: Chromium never ends (-1 here).
  ASSERT_EQ(chrome.status, 0) << chrome.err;
  const std::string& dom = chrome.out;
  EXPECT_NE(dom.find("<title>kperf-pprof - speedscope</title>"), std::string::npos) << dom.substr(0, 2000);
  EXPECT_EQ(dom.find("Something went wrong"), std::string::npos) << "speedscope could not import the file";

  const auto rows = sandwich_rows(dom);
  ASSERT_GE(rows.size(), std::min<std::size_t>(3, self.size())) << dom.substr(0, 4000);
  for (const auto& r : rows) {
    EXPECT_TRUE(names.contains(r.name)) << "speedscope shows '" << r.name << "', not a function of the file";
  }
  // Sorted by self time: the first row is a heaviest function, with the file's share.
  ASSERT_TRUE(self.contains(rows.front().name));
  EXPECT_EQ(self[rows.front().name], heaviest) << rows.front().name;
  EXPECT_NEAR(percent_of(rows.front().self), 100.0 * heaviest / total, 0.6) << rows.front().self;
  const bool lua_fib = std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.name.starts_with("fib "); });
  EXPECT_TRUE(lua_fib) << "the Lua function fib is not among the rows speedscope shows";
}

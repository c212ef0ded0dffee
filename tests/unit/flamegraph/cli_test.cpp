// `kperf flamegraph` and `kperf diff` as real processes: outputs, bad input (one line on
// stderr, status 2, no partial -o file), and — with $FLAMEGRAPH_DIR — the same frames
// as flamegraph.pl / difffolded.pl on the same inputs.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "svg_frames.hpp"

namespace fs = std::filesystem;

namespace {

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class Cli : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("kperf_fg_cli_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

  // Runs a shell command line; stdout and stderr captured separately.
  Result sh(const std::string& cmd) {
    const fs::path out = dir_ / ".stdout";
    const fs::path err = dir_ / ".stderr";
    const std::string full = "cd '" + dir_.string() + "' && " + cmd + " >'" + out.string() + "' 2>'" +
                             err.string() + "'";
    const int rc = std::system(full.c_str());
    Result r;
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    fs::remove(out);
    fs::remove(err);
    return r;
  }

  Result kperf(const std::string& args) { return sh(std::string("'") + KPERF_BINARY + "' " + args); }

  // Files in the work dir other than the inputs the test wrote.
  std::vector<std::string> files() {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }

  void expect_user_error(const Result& r, const std::string& needle) {
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_TRUE(r.err.starts_with("kperf: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
  }

  fs::path dir_;
};

const char* kSample =
    "nginx;ngx_worker_process_cycle;ngx_http_handler;access /srv/plugins/acl.lua:12;"
    "match /srv/router.lua:40_[j] 30\n"
    "nginx;ngx_worker_process_cycle;ngx_http_handler;[lua:gc] 5\n"
    "nginx;ngx_worker_process_cycle;epoll_wait;do_syscall_64_[k] 12\n"
    "nginx;ngx_worker_process_cycle;ngx_http_handler;access /srv/plugins/acl.lua:12 8\n";

TEST_F(Cli, WritesValidSvgFromFileAndStdin) {
  write("in.folded", kSample);
  const Result a = kperf("flamegraph --colors lua in.folded -o out.svg");
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_TRUE(a.err.empty()) << a.err;
  const std::string svg = slurp(dir_ / "out.svg");
  const auto frames = kperf::fg::test::svg_frames(svg);
  EXPECT_EQ(frames.size(), 9u);
  EXPECT_EQ(std::count_if(frames.begin(), frames.end(),
                          [](const auto& f) { return f.title == "all (55 samples, 100%)"; }),
            1);
  const Result b = kperf("flamegraph --colors lua < in.folded");
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(b.out, svg);
  if (std::system("command -v xmllint >/dev/null 2>&1") == 0) {
    EXPECT_EQ(sh("xmllint --noout out.svg").status, 0);
  }
}

TEST_F(Cli, InvalidLinesAreAWarning) {
  write("in.folded", std::string(kSample) + "garbage line\r\n\r\nmore garbage\n");
  const Result r = kperf("flamegraph in.folded");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("kperf: warning: ignored 2 lines with invalid format"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("in.folded:5"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("</svg>"), std::string::npos);
}

TEST_F(Cli, MissingFile) {
  expect_user_error(kperf("flamegraph nope.folded -o out.svg"), "cannot open nope.folded");
  EXPECT_FALSE(fs::exists(dir_ / "out.svg"));
}

TEST_F(Cli, Directory) {
  fs::create_directory(dir_ / "adir");
  expect_user_error(kperf("flamegraph adir -o out.svg"), "is a directory");
  EXPECT_FALSE(fs::exists(dir_ / "out.svg"));
}

TEST_F(Cli, BinaryGarbage) {
  std::string junk;
  std::mt19937 rng(7);
  for (int i = 0; i < 65536; ++i) junk += static_cast<char>(rng() & 0xff);
  write("junk.bin", junk);
  expect_user_error(kperf("flamegraph junk.bin -o out.svg"), "binary");
  EXPECT_EQ(files(), (std::vector<std::string>{"junk.bin"}));
}

TEST_F(Cli, EmptyInput) {
  write("empty.folded", "");
  expect_user_error(kperf("flamegraph empty.folded -o out.svg"), "empty");
  expect_user_error(kperf("flamegraph -o out.svg < empty.folded"), "empty");
  EXPECT_EQ(files(), (std::vector<std::string>{"empty.folded"}));
}

TEST_F(Cli, NothingValid) {
  write("bad.folded", "no counts here\nnor here\n");
  expect_user_error(kperf("flamegraph bad.folded -o out.svg"), "no valid stacks");
  write("zero.folded", "a;b 0\n");
  expect_user_error(kperf("flamegraph zero.folded -o out.svg"), "zero");
  EXPECT_FALSE(fs::exists(dir_ / "out.svg"));
}

TEST_F(Cli, CountOverflow) {
  write("big.folded", "a;b 5\na;c 18446744073709551616\n");
  expect_user_error(kperf("flamegraph big.folded -o out.svg"), "big.folded:2: count 18446744073709551616 is out of range");
  write("dec.folded", "a;b 5\na;c 123456789012345678901234567890.5\n");
  expect_user_error(kperf("flamegraph dec.folded -o out.svg"), "out of range");
  write("sum.folded", "a 18446744073709551615\nb 18446744073709551615\n");
  expect_user_error(kperf("flamegraph sum.folded -o out.svg"), "total count");
  EXPECT_FALSE(fs::exists(dir_ / "out.svg"));
}

TEST_F(Cli, BadOptionValues) {
  write("in.folded", kSample);
  expect_user_error(kperf("flamegraph --colors nope in.folded -o out.svg"), "unknown --colors");
  expect_user_error(kperf("flamegraph --minwidth 1x in.folded -o out.svg"), "--minwidth");
  expect_user_error(kperf("flamegraph --format pdf in.folded -o out.svg"), "--format");
  expect_user_error(kperf("flamegraph --notes '<b>' in.folded -o out.svg"), "--notes");
  EXPECT_FALSE(fs::exists(dir_ / "out.svg"));
}

TEST_F(Cli, SpeedscopeFormat) {
  write("in.folded", kSample);
  const Result r = kperf("flamegraph --format speedscope in.folded");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("profiles")[0].at("endValue"), 55);
  EXPECT_EQ(j.at("shared").at("frames").size(), 8u);
}

TEST_F(Cli, ConsistentPaletteFile) {
  write("in.folded", kSample);
  ASSERT_EQ(kperf("flamegraph --cp --palette-file pal.map in.folded -o a.svg").status, 0);
  const std::string map = slurp(dir_ / "pal.map");
  EXPECT_NE(map.find("nginx->rgb("), std::string::npos);
  // A frame color fixed in the map wins over the palette.
  write("pal.map", "nginx->rgb(1,2,3)\n");
  ASSERT_EQ(kperf("flamegraph --cp --palette-file pal.map in.folded -o b.svg").status, 0);
  EXPECT_NE(slurp(dir_ / "b.svg").find("fill=\"rgb(1,2,3)\""), std::string::npos);
}

TEST_F(Cli, DiffGraphAndFolded) {
  write("a.folded", "main;f 10\nmain;g 10\nmain;lib+0x1f 5\n");
  write("b.folded", "main;f 30\nmain;g 5\nmain;lib+0x2e 5\n");
  const Result f = kperf("diff -s --folded a.folded b.folded");
  ASSERT_EQ(f.status, 0) << f.err;
  EXPECT_EQ(f.out, "main;f 10 30\nmain;g 10 5\nmain;lib+0x... 5 5\n");
  const Result n = kperf("diff -n --folded a.folded b.folded");
  ASSERT_EQ(n.status, 0) << n.err;
  EXPECT_EQ(n.out, "main;f 16 30\nmain;g 16 5\nmain;lib+0x1f 8 0\nmain;lib+0x2e 0 5\n");
  const Result g = kperf("diff a.folded b.folded -o d.svg");
  ASSERT_EQ(g.status, 0) << g.err;
  const auto frames = kperf::fg::test::svg_frames(slurp(dir_ / "d.svg"));
  bool f_red = false;
  for (const auto& fr : frames) {
    if (fr.title == "f (30 samples, 75.00%; +50.00%)") f_red = true;
  }
  EXPECT_TRUE(f_red);
  EXPECT_NE(slurp(dir_ / "d.svg").find("fill=\"rgb(255,0,0)\""), std::string::npos);
  expect_user_error(kperf("diff a.folded missing.folded -o e.svg"), "cannot open missing.folded");
  EXPECT_FALSE(fs::exists(dir_ / "e.svg"));
}

// ---- side by side with FlameGraph's Perl scripts, when $FLAMEGRAPH_DIR is set ----

std::string flamegraph_dir() {
  const char* d = std::getenv("FLAMEGRAPH_DIR");
  return d ? d : "";
}

// Random folded input over a small vocabulary that includes the awkward cases (XML
// characters, UTF-8, spaces, annotations, prefixes that sort between a frame's own
// samples and its children), integer and binary-exact decimal counts.
std::string random_folded(unsigned seed) {
  const std::vector<std::string> names = {"a", "b", "a.b", "a b", "ab", "fib", "fib /x.lua:3",
                                          "k_[k]", "j_[j]", "&<>\"", "\xc3\xa9", "0x1f",
                                          "foo.isra.0", "foo", "nginx", "ngx_http_handler"};
  std::mt19937 rng(seed);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::string out;
  const std::size_t lines = 1 + pick(80);
  for (std::size_t i = 0; i < lines; ++i) {
    const std::size_t depth = 1 + pick(7);
    for (std::size_t d = 0; d < depth; ++d) {
      if (d > 0) out += ';';
      out += names[pick(names.size())];
    }
    switch (pick(3)) {
      case 0: out += " " + std::to_string(1 + pick(50)); break;
      case 1: out += " " + std::to_string(1 + pick(5000)); break;
      default: out += " " + std::to_string(1 + pick(9)) + (pick(2) ? ".5" : ".25");
    }
    out += '\n';
  }
  return out;
}

TEST_F(Cli, SameFramesAsFlamegraphPl) {
  const std::string fgdir = flamegraph_dir();
  if (fgdir.empty()) GTEST_SKIP() << "set FLAMEGRAPH_DIR to a FlameGraph checkout to compare";
  const std::vector<std::string> option_sets = {
      "", "--minwidth 2", "--minwidth 0.5%", "--inverted", "--flamechart", "--reverse",
      "--width 700 --height 20 --fontsize 10", "--factor 3 --countname bytes", "--minwidth 0"};
  int compared = 0;
  for (unsigned seed = 1; seed <= 12; ++seed) {
    write("r.folded", random_folded(seed));
    for (const auto& opts : option_sets) {
      const Result pl = sh("perl '" + fgdir + "/flamegraph.pl' " + opts + " r.folded");
      ASSERT_EQ(pl.status, 0) << pl.err;
      const Result us = kperf("flamegraph " + opts + " r.folded");
      ASSERT_EQ(us.status, 0) << us.err;
      const auto want = kperf::fg::test::svg_frames(pl.out);
      const auto got = kperf::fg::test::svg_frames(us.out);
      ASSERT_FALSE(want.empty());
      EXPECT_EQ(got, want) << "seed " << seed << " options '" << opts << "'";
      ++compared;
    }
  }
  // Hand-built: the frame split quirk, a differential input, and the sample above.
  for (const std::string& in : {std::string("foo;bar 2\nfoo 5\nfoo.isra.0;x 3\n"),
                               std::string("a;b 10 20\na;c 10 5\nd 3 3\n"), std::string(kSample)}) {
    write("h.folded", in);
    const auto want = kperf::fg::test::svg_frames(sh("perl '" + fgdir + "/flamegraph.pl' h.folded").out);
    const auto got = kperf::fg::test::svg_frames(kperf("flamegraph h.folded").out);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(got, want) << in;
    ++compared;
  }
  EXPECT_EQ(compared, 12 * 9 + 3);
}

TEST_F(Cli, SameFoldedAsDifffoldedPl) {
  const std::string fgdir = flamegraph_dir();
  if (fgdir.empty()) GTEST_SKIP() << "set FLAMEGRAPH_DIR to a FlameGraph checkout to compare";
  write("a.folded", random_folded(101));
  write("b.folded", random_folded(202));
  for (const char* flags : {"", "-n", "-s", "-n -s"}) {
    const Result pl = sh("perl '" + fgdir + "/difffolded.pl' " + std::string(flags) + " a.folded b.folded | LC_ALL=C sort");
    const Result us = kperf("diff --folded " + std::string(flags) + " a.folded b.folded | LC_ALL=C sort");
    ASSERT_EQ(us.status, 0) << us.err;
    EXPECT_EQ(us.out, pl.out) << flags;
  }
}

}  // namespace

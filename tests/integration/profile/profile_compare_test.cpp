// Integration tests of `kperf profile` comparing workloads (--workload repeated) on the
// lab gateway: each subject's outputs in its own folder, the comparison table and the
// differential flame graph at the top, Ctrl-C during the second subject, and the
// option errors of comparisons.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "profile_helpers.hpp"

namespace {

using namespace profile_test;
namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kKeyAuthChunk = "kong/plugins/key-auth/handler.lua";

// Every output of a single profile with `runs` runs.
void expect_profile_outputs(const fs::path& dir, int runs) {
  std::vector<std::string> names{"profile.folded", "flamegraph.svg", "summary.txt", "summary.json",
                                 "report.md",      "rps.svg",        "latency.svg"};
  for (int i = 1; i <= runs; ++i) {
    names.push_back("run-" + std::to_string(i) + ".folded");
    names.push_back("run-" + std::to_string(i) + ".svg");
  }
  for (const auto& n : names) {
    EXPECT_GT(fs::exists(dir / n) ? fs::file_size(dir / n) : 0u, 0u) << dir / n;
  }
  EXPECT_TRUE(fs::exists(dir / "error.log")) << dir;
}

bool xmllint_ok(const fs::path& file) {
  return std::system(("xmllint --noout '" + file.string() + "' 2>/dev/null").c_str()) == 0;
}

// The <title> texts (tooltips) of an SVG that mention `needle`.
std::vector<std::string> titles_with(const std::string& svg, const std::string& needle) {
  std::vector<std::string> out;
  for (size_t at = svg.find("<title>"); at != std::string::npos; at = svg.find("<title>", at + 1)) {
    const size_t end = svg.find("</title>", at);
    if (end == std::string::npos) break;
    std::string t = svg.substr(at + 7, end - at - 7);
    if (t.find(needle) != std::string::npos) out.push_back(std::move(t));
  }
  return out;
}

// Two workloads, one short run each: both folders hold a complete profile, the top holds
// the comparison (text, JSON, Markdown, charts) and diff.svg, a valid SVG in which the
// key-auth plugin's frames (only in the second workload) show as grown.
TEST(ProfileCompare, TwoWorkloadsSideBySideWithDiff) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path out = t.path / "out";
  const fs::path lab = t.path / "lab";
  KperfChild k({"profile", "--workload", "single-route", "--workload", "key-auth", "--runs", "1", "--duration", "3s",
           "-F", "199", "--out", out, "--lab-dir", lab},
          t.path);
  ASSERT_EQ(k.wait(120), 0) << k.err();
  const std::string stdout_text = k.out();
  EXPECT_THAT(stdout_text, HasSubstr("kperf: diff key-auth vs single-route: " + (out / "diff.svg").string()));
  EXPECT_THAT(stdout_text, HasSubstr("kperf: comparison: " + (out / "summary.txt").string()));
  EXPECT_THAT(k.err(), HasSubstr("key-auth: run 1/1"));

  const std::vector<std::string> labels{"single-route", "key-auth"};
  for (const auto& l : labels) expect_profile_outputs(out / l, 1);
  // The single-subject layout is not at the top.
  EXPECT_FALSE(fs::exists(out / "profile.folded"));
  EXPECT_FALSE(fs::exists(out / "run-1.folded"));
  for (const char* n : {"summary.txt", "summary.json", "report.md", "diff.svg", "rps.svg", "latency.svg"}) {
    EXPECT_GT(fs::exists(out / n) ? fs::file_size(out / n) : 0u, 0u) << n;
  }

  const json top = json::parse(read_file(out / "summary.json"));
  EXPECT_EQ(top["comparison"], "workload");
  EXPECT_EQ(top["interrupted"], false);
  EXPECT_EQ(top["baseline"], "single-route");
  ASSERT_EQ(top["subjects"].size(), 2u);
  const std::string txt = read_file(out / "summary.txt");
  const std::string md = read_file(out / "report.md");
  for (size_t i = 0; i < labels.size(); ++i) {
    const json sub = json::parse(read_file(out / labels[i] / "summary.json"));
    const json& s = top["subjects"][i];
    EXPECT_EQ(s["name"], labels[i]);
    EXPECT_EQ(s["label"], labels[i]);
    EXPECT_EQ(sub["workload"]["name"], labels[i]);
    EXPECT_EQ(sub["interrupted"], false);
    EXPECT_EQ(s["status"], "complete");
    const uint64_t requests = sub["combined"]["requests"].get<uint64_t>();
    EXPECT_GT(requests, 100u);
    EXPECT_EQ(s["requests"].get<uint64_t>(), requests);
    EXPECT_DOUBLE_EQ(s["rps"]["avg"].get<double>(), sub["combined"]["requests_per_sec"]["mean"].get<double>())
        << sub["combined"].dump();
    EXPECT_EQ(s["samples"].get<double>(), sub["sampler"]["samples"].get<double>());
    EXPECT_THAT(txt, HasSubstr(labels[i]));
    EXPECT_THAT(txt, HasSubstr(std::to_string(requests)));
    EXPECT_THAT(md, HasSubstr("`" + labels[i] + "`"));
    EXPECT_THAT(md, HasSubstr(std::to_string(requests)));
    // Every request the summary counts reached that subject's own gateway.
    EXPECT_GE(line_count(lab / labels[i] / "logs" / "gateway-access.log"), requests);
  }
  EXPECT_TRUE(top["subjects"][1]["change_percent"]["rps_avg"].is_number());
  EXPECT_EQ(top["diffs"][0]["file"], "diff.svg");
  // key-auth's share of CPU is shown, and is larger in the second subject.
  EXPECT_GT(top["subjects"][1]["plugin_change_pp"]["key-auth"].get<double>(), 0) << top.dump();

  // The differential graph: valid XML, widths from key-auth, whose plugin frames exist only
  // on that side, so they show as grown.
  const std::string diff = read_file(out / "diff.svg");
  if (std::system("command -v xmllint >/dev/null 2>&1") == 0) {
    EXPECT_TRUE(xmllint_ok(out / "diff.svg"));
  } else {
    ADD_FAILURE() << "xmllint not installed: cannot check diff.svg";
  }
  const auto key_auth = titles_with(diff, kKeyAuthChunk);
  ASSERT_FALSE(key_auth.empty());
  // A box's change is that of the stacks ending in it: never negative for frames the
  // first subject does not have.
  for (const auto& title : key_auth) EXPECT_THAT(title, ::testing::Not(HasSubstr("; -"))) << title;
  // Widths from the second subject: the root is all of key-auth's samples.
  std::vector<std::string> roots = titles_with(diff, "all (");
  std::erase_if(roots, [](const std::string& title) { return !title.starts_with("all ("); });  // "syscall (..."
  ASSERT_EQ(roots.size(), 1u);
  std::string digits;
  for (char c : roots[0].substr(0, roots[0].find(' ', 5))) {
    if (c >= '0' && c <= '9') digits += c;
  }
  EXPECT_EQ(digits, std::to_string(top["subjects"][1]["samples"].get<uint64_t>())) << roots[0];
  EXPECT_FALSE(titles_with(read_file(out / "single-route" / "flamegraph.svg"), kKeyAuthChunk).size() > 0);
  EXPECT_THAT(processes_using(lab), ::testing::IsEmpty());
}

// Ctrl-C while the second of three subjects runs: the first keeps its complete outputs,
// the second has its partial report, the third never started; the top-level report says
// interrupted; status 130; no nginx left. (The third repeats the first workload: its
// folder name is made unique.)
TEST(ProfileCompare, SigintDuringTheSecondSubject) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path out = t.path / "out";
  const fs::path lab = t.path / "lab";
  KperfChild k({"profile", "--workload", "single-route", "--workload", "key-auth", "--workload", "single-route",
           "--runs", "1", "--duration", "4s", "--out", out, "--lab-dir", lab},
          t.path);
  // The second subject's run has begun (its phase line is written when it starts).
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && k.err().find("key-auth: run 1/1") == std::string::npos) {
    ASSERT_EQ(::waitpid(k.pid(), nullptr, WNOHANG), 0) << "kperf exited early: " << k.err();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_THAT(k.err(), HasSubstr("key-auth: run 1/1"));
  ASSERT_EQ(::kill(k.pid(), SIGINT), 0);
  EXPECT_EQ(k.wait(30), 130) << k.err();
  EXPECT_THAT(k.err(), HasSubstr("kperf: interrupted: partial comparison in " + out.string()));

  expect_profile_outputs(out / "single-route", 1);
  const json first = json::parse(read_file(out / "single-route" / "summary.json"));
  EXPECT_EQ(first["interrupted"], false);
  EXPECT_EQ(first["runs_completed"], 1);
  const json second = json::parse(read_file(out / "key-auth" / "summary.json"));
  EXPECT_EQ(second["interrupted"], true);
  EXPECT_EQ(second["runs_completed"], 0);
  EXPECT_FALSE(fs::exists(out / "single-route-2"));

  const json top = json::parse(read_file(out / "summary.json"));
  EXPECT_EQ(top["interrupted"], true);
  ASSERT_EQ(top["subjects"].size(), 3u);
  EXPECT_EQ(top["subjects"][0]["status"], "complete");
  EXPECT_EQ(top["subjects"][0]["requests"], first["combined"]["requests"]);
  EXPECT_EQ(top["subjects"][1]["status"], "interrupted");
  EXPECT_EQ(top["subjects"][1]["requests"], second["combined"]["requests"]);
  EXPECT_EQ(top["subjects"][2]["status"], "not run");
  EXPECT_EQ(top["subjects"][2]["label"], "single-route-2");
  EXPECT_THAT(read_file(out / "summary.txt"), HasSubstr("INTERRUPTED: 1 of 3 subjects complete"));
  EXPECT_THAT(read_file(out / "report.md"), HasSubstr("**Interrupted**"));
  EXPECT_FALSE(fs::exists(out / "diff-single-route-2.svg"));
  EXPECT_THAT(processes_using(lab), ::testing::IsEmpty());
}

// Option errors of comparisons: one line, status 2, nothing written (checked before the
// lab or the sampler is needed, so no root either).
TEST(ProfileCompare, OptionErrors) {
  TempDir t;
  const fs::path out = t.path / "out";
  const auto one_line_error = [&](std::vector<std::string> args, const std::string& expected) {
    args.insert(args.begin(), "profile");
    args.insert(args.end(), {"--out", out.string()});
    KperfChild k(args, t.path);
    EXPECT_EQ(k.wait(30), 2);
    const std::string err = k.err();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_THAT(err, HasSubstr(expected));
    EXPECT_EQ(k.out(), "");
  };
  // Several workloads and several versions at once.
  one_line_error({"--driver", "docker", "--version", "3.4.2", "--version", "3.5.0", "--workload", "key-auth",
                  "--workload", "single-route"},
                 "compare either workloads or versions");
  // The lab has no versions, one or several (without --driver, a version means Kong).
  one_line_error({"--driver", "lab", "--version", "3.4.2", "--version", "3.5.0"},
                 "--driver lab runs the built-in lab gateway, which has no version");
  // An unknown workload among several: refused before anything starts.
  one_line_error({"--workload", "key-auth", "--workload", "no-such-workload-kperf"}, "no-such-workload-kperf");
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace

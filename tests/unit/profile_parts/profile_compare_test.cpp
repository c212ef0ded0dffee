// Unit tests of `kperf profile`'s comparison parts: subject folder labels, the change
// against the first subject, the comparison table (text, JSON, Markdown) and the
// differential trie assembled from two profiles.
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "flamegraph/folded.hpp"
#include "kperf/report/profile_compare.hpp"

namespace kperf {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CompareLabels, SafeFolderNames) {
  EXPECT_EQ(safe_label("key-auth"), "key-auth");
  EXPECT_EQ(safe_label("3.4.2"), "3.4.2");
  EXPECT_EQ(safe_label("git:master"), "git_master");
  EXPECT_EQ(safe_label("git:feat/router v2"), "git_feat_router_v2");
  EXPECT_EQ(safe_label("../etc"), "_._etc");
  EXPECT_EQ(safe_label("."), "_");
  EXPECT_EQ(safe_label(".."), "_.");
  EXPECT_EQ(safe_label("-rf"), "_rf");
  EXPECT_EQ(safe_label(""), "subject");
  EXPECT_EQ(safe_label("caf\xc3\xa9"), "caf__");
  EXPECT_EQ(safe_label(std::string(100, 'a')), std::string(64, 'a'));
}

TEST(CompareLabels, UniqueAndNotAnOutputName) {
  EXPECT_EQ(subject_labels({"key-auth", "single-route"}), (std::vector<std::string>{"key-auth", "single-route"}));
  EXPECT_EQ(subject_labels({"a", "a", "a"}), (std::vector<std::string>{"a", "a-2", "a-3"}));
  // Different names, same safe form.
  EXPECT_EQ(subject_labels({"git:x", "git/x", "git_x"}), (std::vector<std::string>{"git_x", "git_x-2", "git_x-3"}));
  // A label never names a file the comparison writes at the top of --out.
  EXPECT_EQ(subject_labels({"summary.txt", "report.md", "diff.svg", "diff-a.svg", "rps.svg"}),
            (std::vector<std::string>{"summary.txt-2", "report.md-2", "diff.svg-2", "diff-a.svg-2", "rps.svg-2"}));
  // A suffixed label that is itself taken moves on.
  EXPECT_EQ(subject_labels({"a-2", "a", "a"}), (std::vector<std::string>{"a-2", "a", "a-3"}));
}

TEST(CompareChange, PercentAgainstTheFirst) {
  EXPECT_DOUBLE_EQ(*percent_change(200, 250), 25.0);
  EXPECT_DOUBLE_EQ(*percent_change(200, 150), -25.0);
  EXPECT_DOUBLE_EQ(*percent_change(0, 0), 0.0);
  EXPECT_FALSE(percent_change(0, 3).has_value());
  EXPECT_EQ(format_change(25.0), "+25.0%");
  EXPECT_EQ(format_change(-4.04), "-4.0%");
  EXPECT_EQ(format_change(-0.01), "+0.0%");
  EXPECT_EQ(format_change(std::nullopt), "n/a");
}

TEST(CompareDiff, OutputNames) {
  const auto two = diff_outputs({"a", "b"});
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(two[0].before, "a");
  EXPECT_EQ(two[0].after, "b");
  EXPECT_EQ(two[0].file, "diff.svg");
  const auto three = diff_outputs({"a", "b", "c"});
  ASSERT_EQ(three.size(), 2u);
  EXPECT_EQ(three[0].file, "diff-b.svg");
  EXPECT_EQ(three[1].file, "diff-c.svg");
  EXPECT_EQ(three[1].before, "a");
  EXPECT_TRUE(diff_outputs({"a"}).empty());
}

fg::StackTrie trie_of(const std::string& folded) {
  fg::StackTrie t;
  fg::FoldedReader r(t);
  r.add_text(folded, "test");
  return t;
}

std::string folded_of(const fg::StackTrie& t) {
  std::ostringstream s;
  fg::write_folded(t, s);
  return s.str();
}

// The first subject's counts are scaled to the second's total (truncated, like
// difffolded.pl -n); stacks only on one side get 0 on the other.
TEST(CompareDiff, NormalisedToTheSecondSubjectsTotal) {
  const fg::StackTrie first = trie_of("nginx;main;a 10\nnginx;main;c 30\nnginx;gc 40\n");   // 80 samples
  const fg::StackTrie second = trie_of("nginx;main;a 10\nnginx;main;key-auth 10\nnginx;gc 20\n");  // 40
  const fg::StackTrie d = comparison_diff(first, second);
  EXPECT_TRUE(d.differential());
  EXPECT_EQ(folded_of(d),
            "nginx;gc 20 20\n"
            "nginx;main;a 5 10\n"
            "nginx;main;c 15 0\n"
            "nginx;main;key-auth 0 10\n");
  EXPECT_DOUBLE_EQ(d.total(), 40);
}

TEST(CompareDiff, TruncatesScaledCounts) {
  const fg::StackTrie first = trie_of("x 3\ny 1\n");  // 4 samples, scaled by 2/4
  const fg::StackTrie second = trie_of("x 1\ny 1\n");
  EXPECT_EQ(folded_of(comparison_diff(first, second)), "x 1 1\ny 0 1\n");
}

SubjectFigures figures(std::string name, double rps, uint64_t requests, double p99, double key_auth) {
  SubjectFigures f;
  f.name = name;
  f.label = name;
  f.ran = true;
  f.runs_planned = 2;
  f.runs_completed = 2;
  f.run_rps = {rps - 10, rps + 10};
  f.rps_avg = rps;
  f.rps_min = rps - 10;
  f.rps_max = rps + 10;
  f.latency_avg_us = 1000;
  f.latency_p50_us = 900;
  f.latency_p90_us = 1500;
  f.latency_p99_us = p99;
  f.latency_max_us = 9000;
  f.requests = requests;
  f.samples = 400;
  if (key_auth > 0) f.plugins.push_back({"key-auth", key_auth});
  f.plugins.push_back({"cors", 1.5});
  return f;
}

ComparisonContext context() {
  ComparisonContext c;
  c.kind = "workload";
  c.driver = "lab";
  c.plan = "2 runs x 3s, 2 threads, 50 connections, 99 Hz";
  c.diffs = {{"single-route", "key-auth", "diff.svg"}};
  c.outputs = {"single-route/", "key-auth/", "diff.svg", "summary.txt", "summary.json", "report.md"};
  return c;
}

TEST(CompareTable, TextHasEverySubjectAndTheChanges) {
  const Comparison cmp(context(), {figures("single-route", 2000, 40000, 2000, 0),
                                   figures("key-auth", 1500, 30000, 3000, 4.25)});
  const std::string t = cmp.text();
  EXPECT_THAT(t, HasSubstr("comparison of 2 workloads, driver lab"));
  EXPECT_THAT(t, HasSubstr("each: 2 runs x 3s"));
  EXPECT_THAT(t, Not(HasSubstr("INTERRUPTED")));
  // One header line naming both, in order.
  const auto header = t.find("single-route");
  ASSERT_NE(header, std::string::npos);
  EXPECT_NE(t.find("key-auth", header), std::string::npos);
  EXPECT_THAT(t, HasSubstr("key-auth/"));
  EXPECT_THAT(t, HasSubstr("40000"));
  EXPECT_THAT(t, HasSubstr("30000 (-25.0%)"));      // requests
  EXPECT_THAT(t, HasSubstr("1500.00 (-25.0%)"));    // RPS avg
  EXPECT_THAT(t, HasSubstr("1510.00 (-24.9%)"));    // RPS max 2010 -> 1510
  EXPECT_THAT(t, HasSubstr("3.00ms (+50.0%)"));     // p99
  EXPECT_THAT(t, HasSubstr("0 (+0.0%)"));           // errors: none on both sides
  EXPECT_THAT(t, HasSubstr("CPU key-auth"));
  EXPECT_THAT(t, HasSubstr("4.25% (+4.25 pp)"));
  EXPECT_THAT(t, HasSubstr("1.50% (+0.00 pp)"));     // cors on both
  EXPECT_THAT(t, HasSubstr("diff.svg: key-auth vs single-route"));
  // The rows line up: every table line starts with its row name padded to one width.
  std::istringstream lines(t);
  std::string line;
  size_t value_column = std::string::npos;
  while (std::getline(lines, line)) {
    if (line.starts_with("requests") || line.starts_with("RPS avg") || line.starts_with("latency p99")) {
      const size_t col = line.find_first_not_of(' ', line.find("  "));
      if (value_column == std::string::npos) value_column = col;
      EXPECT_EQ(col, value_column) << line;
    }
  }
}

TEST(CompareTable, JsonHasFiguresAndChanges) {
  const Comparison cmp(context(), {figures("single-route", 2000, 40000, 2000, 0),
                                   figures("key-auth", 1500, 30000, 3000, 4.25)});
  const nlohmann::json j = cmp.json();
  EXPECT_EQ(j["comparison"], "workload");
  EXPECT_EQ(j["baseline"], "single-route");
  EXPECT_EQ(j["interrupted"], false);
  ASSERT_EQ(j["subjects"].size(), 2u);
  EXPECT_EQ(j["subjects"][0]["requests"], 40000);
  EXPECT_EQ(j["subjects"][1]["requests"], 30000);
  EXPECT_EQ(j["subjects"][1]["status"], "complete");
  EXPECT_FALSE(j["subjects"][0].contains("change_percent"));
  EXPECT_DOUBLE_EQ(j["subjects"][1]["change_percent"]["rps_avg"].get<double>(), -25.0);
  EXPECT_DOUBLE_EQ(j["subjects"][1]["change_percent"]["latency_p99"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(j["subjects"][1]["change_percent"]["errors"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(j["subjects"][1]["plugin_change_pp"]["key-auth"].get<double>(), 4.25);
  EXPECT_EQ(j["subjects"][1]["rps"]["runs"].size(), 2u);
  EXPECT_EQ(j["diffs"][0]["file"], "diff.svg");
  EXPECT_EQ(j["outputs"].size(), 6u);
}

TEST(CompareTable, ChangeFromZeroIsNotANumber) {
  SubjectFigures a = figures("a", 100, 1000, 2000, 0);
  SubjectFigures b = figures("b", 100, 1000, 2000, 0);
  b.errors = 7;
  const Comparison cmp(context(), {a, b});
  EXPECT_THAT(cmp.text(), HasSubstr("7 (n/a)"));
  EXPECT_TRUE(cmp.json()["subjects"][1]["change_percent"]["errors"].is_null());
}

TEST(CompareTable, MarkdownTable) {
  const Comparison cmp(context(), {figures("single-route", 2000, 40000, 2000, 0),
                                   figures("key-auth", 1500, 30000, 3000, 4.25)});
  const std::string md = cmp.markdown();
  EXPECT_THAT(md, HasSubstr("| workload | `single-route` | `key-auth` |\n|---|---:|---:|\n"));
  EXPECT_THAT(md, HasSubstr("| requests | 40000 | 30000 (-25.0%) |"));
  EXPECT_THAT(md, HasSubstr("| CPU key-auth | 0.00% | 4.25% (+4.25 pp) |"));
  EXPECT_THAT(md, HasSubstr("`diff.svg`"));
  EXPECT_THAT(md, Not(HasSubstr("Interrupted")));
  // Every table row has one cell per subject plus the row name.
  std::istringstream lines(md);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (!line.starts_with("|")) continue;
    ++rows;
    EXPECT_EQ(std::count(line.begin(), line.end(), '|'), 4) << line;
  }
  EXPECT_GE(rows, 15);
}

// Interrupted during the second subject, a third never ran: said at the top, statuses
// per subject, no figures for the one that did not run.
TEST(CompareTable, InterruptedAndNotRunSubjects) {
  ComparisonContext c = context();
  c.interrupted = true;
  SubjectFigures second = figures("b", 1000, 500, 2000, 0);
  second.interrupted = true;
  second.runs_completed = 0;
  SubjectFigures third;
  third.name = "c";
  third.label = "c";
  third.runs_planned = 2;
  const Comparison cmp(c, {figures("a", 2000, 40000, 2000, 0), second, third});
  const std::string t = cmp.text();
  EXPECT_THAT(t, HasSubstr("INTERRUPTED: 1 of 3 subjects complete"));
  EXPECT_THAT(t, HasSubstr("interrupted"));
  EXPECT_THAT(t, HasSubstr("not run"));
  EXPECT_THAT(t, HasSubstr("0/2"));
  EXPECT_THAT(cmp.markdown(), HasSubstr("**Interrupted**: 1 of 3 subjects complete"));
  const nlohmann::json j = cmp.json();
  EXPECT_EQ(j["interrupted"], true);
  EXPECT_EQ(j["subjects"][1]["status"], "interrupted");
  EXPECT_EQ(j["subjects"][2]["status"], "not run");
  EXPECT_FALSE(j["subjects"][2].contains("requests"));
}

TEST(CompareTable, FailedSubjectKeepsTheOthers) {
  SubjectFigures failed;
  failed.name = "broken";
  failed.label = "broken";
  failed.runs_planned = 2;
  failed.error = "the lab gateway did not start: nginx: [emerg] unknown directive";
  const Comparison cmp(context(), {figures("a", 2000, 40000, 2000, 0), failed, figures("c", 1000, 20000, 3000, 0)});
  const std::string t = cmp.text();
  EXPECT_THAT(t, HasSubstr("failed"));
  EXPECT_THAT(t, HasSubstr("broken failed: the lab gateway did not start"));
  EXPECT_THAT(t, HasSubstr("-50.0%"));  // c against a is still computed
  EXPECT_THAT(cmp.markdown(), HasSubstr("`broken` failed: the lab gateway did not start"));
  const nlohmann::json j = cmp.json();
  EXPECT_EQ(j["subjects"][1]["status"], "failed");
  EXPECT_EQ(j["subjects"][1]["error"], failed.error);
  EXPECT_FALSE(j["subjects"][1].contains("requests"));
  EXPECT_EQ(j["subjects"][2]["status"], "complete");
}

TEST(CompareTable, PluginRowsUnionOfTopShares) {
  SubjectFigures a = figures("a", 100, 1000, 2000, 0);
  a.plugins = {{"p1", 9}, {"p2", 8}, {"p3", 7}};
  SubjectFigures b = figures("b", 100, 1000, 2000, 0);
  b.plugins = {{"p4", 20}, {"p1", 1}};
  const Comparison cmp(context(), {a, b});
  EXPECT_EQ(cmp.plugin_rows(2, 8), (std::vector<std::string>{"p4", "p1", "p2"}));
  EXPECT_EQ(cmp.plugin_rows(5, 2), (std::vector<std::string>{"p4", "p1"}));
}

}  // namespace
}  // namespace kperf

// Comparison of `kperf profile` subjects: folder labels, the table of figures with the
// change against the first subject (text, JSON, Markdown) and the differential tries.
#include "kperf/report/profile_compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/core.h>

#include "flamegraph/diff.hpp"
#include "kperf/report/charts.hpp"
#include "loadgen/duration.hpp"

namespace kperf {

namespace {

constexpr size_t kMaxLabel = 64;

bool reserved_label(const std::string& label) {
  static const std::set<std::string> kNames = {"summary.txt", "summary.json", "report.md",
                                               "rps.svg",     "latency.svg",  "diff.svg"};
  return kNames.contains(label) || (label.starts_with("diff-") && label.ends_with(".svg"));
}

std::string us(double v) { return loadgen::format_time_us(v); }

std::string plural(size_t n, std::string_view word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

double plugin_percent(const SubjectFigures& s, const std::string& plugin) {
  for (const auto& p : s.plugins) {
    if (p.plugin == plugin) return p.percent;
  }
  return 0;
}

// "+1.25 pp": a change of a share, in percentage points.
std::string format_points(double pp) {
  if (std::fabs(pp) < 0.005) pp = 0;
  return fmt::format("{:+.2f} pp", pp);
}

nlohmann::json change_json(std::optional<double> c) { return c ? nlohmann::json(*c) : nlohmann::json(nullptr); }

}  // namespace

std::string safe_label(std::string_view name) {
  std::string out;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '.' || ch == '_' || ch == '-';
    out += ok ? ch : '_';
    if (out.size() == kMaxLabel) break;
  }
  if (out.empty()) return "subject";
  if (out.front() == '.' || out.front() == '-') out.front() = '_';
  return out;
}

std::vector<std::string> subject_labels(const std::vector<std::string>& names) {
  std::vector<std::string> labels;
  std::set<std::string> taken;
  for (const auto& name : names) {
    const std::string base = safe_label(name);
    std::string label = base;
    for (int n = 2; taken.contains(label) || reserved_label(label); ++n) label = fmt::format("{}-{}", base, n);
    taken.insert(label);
    labels.push_back(std::move(label));
  }
  return labels;
}

SubjectFigures subject_figures(const ProfileReport& report, const ProfileResult& result, std::string name,
                               std::string label) {
  SubjectFigures f;
  f.name = std::move(name);
  f.label = std::move(label);
  f.ran = true;
  f.interrupted = result.interrupted;
  f.runs_planned = result.runs_planned;
  for (const auto& run : result.runs) {
    f.runs_completed += run.interrupted ? 0 : 1;
    f.run_rps.push_back(run.load.rps());
  }
  const loadgen::CombinedResult& c = report.combined();
  f.rps_avg = c.rps_mean;
  f.rps_min = c.rps_min;
  f.rps_max = c.rps_max;
  if (c.requests > 0) {
    f.latency_avg_us = c.latency.mean();
    f.latency_p50_us = static_cast<double>(c.latency.percentile(50));
    f.latency_p90_us = static_cast<double>(c.latency.percentile(90));
    f.latency_p99_us = static_cast<double>(c.latency.percentile(99));
    f.latency_max_us = static_cast<double>(c.latency.max());
  }
  f.requests = c.requests;
  f.errors = c.errors.socket_total() + c.errors.status;
  f.samples = static_cast<double>(report.sampling().stacks.samples);
  const PluginTable& t = report.plugins();
  for (const auto& row : t.plugins) {
    if (row.plugin.empty()) continue;
    f.plugins.push_back({row.plugin, t.total > 0 ? 100.0 * row.samples / t.total : 0.0});
  }
  std::stable_sort(f.plugins.begin(), f.plugins.end(),
                   [](const PluginShare& a, const PluginShare& b) { return a.percent > b.percent; });
  return f;
}

std::optional<double> percent_change(double base, double value) {
  if (base == 0) return value == 0 ? std::optional<double>(0.0) : std::nullopt;
  return (value - base) / base * 100.0;
}

std::string format_change(std::optional<double> change) {
  if (!change) return "n/a";
  double v = *change;
  if (std::fabs(v) < 0.05) v = 0;
  return fmt::format("{:+.1f}%", v);
}

std::vector<DiffOutput> diff_outputs(const std::vector<std::string>& labels) {
  std::vector<DiffOutput> out;
  for (size_t i = 1; i < labels.size(); ++i) {
    out.push_back({labels[0], labels[i], labels.size() == 2 ? "diff.svg" : fmt::format("diff-{}.svg", labels[i])});
  }
  return out;
}

fg::StackTrie comparison_diff(const fg::StackTrie& before, const fg::StackTrie& after) {
  fg::DiffOptions opts;
  opts.normalize = true;
  return fg::diff_tries(before, after, opts);
}

void write_comparison_charts(OutputDir& out, const std::vector<SubjectFigures>& subjects) {
  std::vector<charts::RpsSeries> rps;
  std::vector<charts::LatencySeries> latency;
  for (const auto& s : subjects) {
    if (!s.ran || s.run_rps.empty()) continue;
    rps.push_back({s.name, s.run_rps});
    latency.push_back({s.name,
                       {{50, s.latency_p50_us}, {90, s.latency_p90_us}, {99, s.latency_p99_us}, {100, s.latency_max_us}}});
  }
  if (rps.empty()) return;
  out.text("rps.svg", charts::rps_chart(rps, {"Requests/s per run \u2014 comparison"}));
  out.text("latency.svg", charts::latency_chart(latency, {"Latency (all runs) \u2014 comparison"}));
}

Comparison::Comparison(ComparisonContext context, std::vector<SubjectFigures> subjects)
    : ctx_(std::move(context)), subjects_(std::move(subjects)) {}

std::vector<std::string> Comparison::plugin_rows(size_t per_subject, size_t limit) const {
  std::map<std::string, double> best;  // plugin -> largest share
  for (const auto& s : subjects_) {
    for (size_t i = 0; i < s.plugins.size() && i < per_subject; ++i) {
      double& b = best[s.plugins[i].plugin];
      b = std::max(b, s.plugins[i].percent);
    }
  }
  std::vector<std::pair<std::string, double>> sorted(best.begin(), best.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> out;
  for (size_t i = 0; i < sorted.size() && i < limit; ++i) out.push_back(sorted[i].first);
  return out;
}

std::string Comparison::status(const SubjectFigures& s) const {
  if (!s.error.empty()) return "failed";
  if (!s.ran) return "not run";
  return s.interrupted ? "interrupted" : "complete";
}

std::vector<Comparison::Row> Comparison::rows() const {
  std::vector<Row> rows;
  const SubjectFigures* base = subjects_.empty() ? nullptr : &subjects_.front();
  const auto add = [&](std::string name, auto value_of, auto format) {
    Row row{std::move(name), {}};
    for (size_t i = 0; i < subjects_.size(); ++i) {
      const SubjectFigures& s = subjects_[i];
      if (!s.ran) {
        row.cells.push_back({"-", ""});
        continue;
      }
      const double v = value_of(s);
      std::string change;
      if (i > 0 && base->ran) change = format_change(percent_change(value_of(*base), v));
      row.cells.push_back({format(v), std::move(change)});
    }
    rows.push_back(std::move(row));
  };
  const auto count = [](double v) { return fmt::format("{:.0f}", v); };
  const auto rate = [](double v) { return fmt::format("{:.2f}", v); };
  const auto time = [](double v) { return us(v); };
  {
    Row r{"status", {}};
    Row runs{"runs", {}};
    for (const auto& s : subjects_) {
      r.cells.push_back({status(s), ""});
      runs.cells.push_back({s.ran ? fmt::format("{}/{}", s.runs_completed, s.runs_planned) : "-", ""});
    }
    rows.push_back(std::move(r));
    rows.push_back(std::move(runs));
  }
  add("requests", [](const SubjectFigures& s) { return static_cast<double>(s.requests); }, count);
  add("errors", [](const SubjectFigures& s) { return static_cast<double>(s.errors); }, count);
  add("RPS avg", [](const SubjectFigures& s) { return s.rps_avg; }, rate);
  add("RPS min", [](const SubjectFigures& s) { return s.rps_min; }, rate);
  add("RPS max", [](const SubjectFigures& s) { return s.rps_max; }, rate);
  add("latency avg", [](const SubjectFigures& s) { return s.latency_avg_us; }, time);
  add("latency p50", [](const SubjectFigures& s) { return s.latency_p50_us; }, time);
  add("latency p90", [](const SubjectFigures& s) { return s.latency_p90_us; }, time);
  add("latency p99", [](const SubjectFigures& s) { return s.latency_p99_us; }, time);
  add("latency max", [](const SubjectFigures& s) { return s.latency_max_us; }, time);
  add("samples", [](const SubjectFigures& s) { return s.samples; }, count);
  for (const auto& plugin : plugin_rows()) {
    Row row{fmt::format("CPU {}", plugin), {}};
    for (size_t i = 0; i < subjects_.size(); ++i) {
      const SubjectFigures& s = subjects_[i];
      if (!s.ran) {
        row.cells.push_back({"-", ""});
        continue;
      }
      const double v = plugin_percent(s, plugin);
      row.cells.push_back({fmt::format("{:.2f}%", v),
                           i > 0 && base->ran ? format_points(v - plugin_percent(*base, plugin)) : ""});
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string Comparison::text() const {
  const size_t complete = static_cast<size_t>(
      std::count_if(subjects_.begin(), subjects_.end(), [](const auto& s) { return s.ran && !s.interrupted; }));
  std::string out = fmt::format("kperf profile: comparison of {}, driver {}\n", plural(subjects_.size(), ctx_.kind),
                                ctx_.driver);
  if (!ctx_.plan.empty()) out += fmt::format("each: {}\n", ctx_.plan);
  if (ctx_.interrupted) {
    out += fmt::format("INTERRUPTED: {} of {} subjects complete\n", complete, subjects_.size());
  }
  out += "\n";
  const std::vector<Row> table = rows();
  const auto cell_text = [](const Cell& c) { return c.change.empty() ? c.value : fmt::format("{} ({})", c.value, c.change); };
  size_t name_width = ctx_.kind.size();
  for (const auto& r : table) name_width = std::max(name_width, r.name.size());
  std::vector<size_t> widths;
  for (size_t i = 0; i < subjects_.size(); ++i) {
    size_t w = std::max(subjects_[i].name.size(), subjects_[i].label.size() + 1);
    for (const auto& r : table) w = std::max(w, cell_text(r.cells[i]).size());
    widths.push_back(w);
  }
  const auto line = [&](const std::string& first, const std::vector<std::string>& cells) {
    std::string l = fmt::format("{:<{}}", first, name_width);
    for (size_t i = 0; i < cells.size(); ++i) {
      l += "  ";
      l += i + 1 < cells.size() ? fmt::format("{:<{}}", cells[i], widths[i]) : cells[i];
    }
    return l + "\n";
  };
  std::vector<std::string> header;
  std::vector<std::string> folders;
  for (const auto& s : subjects_) {
    header.push_back(s.name);
    folders.push_back(s.label + "/");
  }
  out += line(ctx_.kind, header);
  out += line("folder", folders);
  for (const auto& r : table) {
    std::vector<std::string> cells;
    for (const auto& c : r.cells) cells.push_back(cell_text(c));
    out += line(r.name, cells);
  }
  for (const auto& f : subjects_) {
    if (!f.error.empty()) out += fmt::format("{} failed: {}\n", f.name, f.error);
  }
  if (!subjects_.empty()) {
    out += fmt::format(
        "\nChanges are against the first {} ({}); CPU PLUGIN is the plugin's share of the {}'s samples, its "
        "change in percentage points (pp).\n",
        ctx_.kind, subjects_.front().name, ctx_.kind);
  }
  if (!ctx_.diffs.empty()) {
    out += "Differential flame graphs (widths from the later subject, red: grew, blue: shrank; normalised to "
           "equal sample totals):\n";
    for (const auto& d : ctx_.diffs) out += fmt::format("  {}: {} vs {}\n", d.file, d.after, d.before);
  }
  return out;
}

nlohmann::json Comparison::json() const {
  nlohmann::json j;
  j["comparison"] = ctx_.kind;
  j["driver"] = ctx_.driver;
  j["plan"] = ctx_.plan;
  j["interrupted"] = ctx_.interrupted;
  if (!subjects_.empty()) j["baseline"] = subjects_.front().label;
  const std::vector<std::string> plugins = plugin_rows();
  auto subjects = nlohmann::json::array();
  for (size_t i = 0; i < subjects_.size(); ++i) {
    const SubjectFigures& s = subjects_[i];
    nlohmann::json o = {{"name", s.name},       {"label", s.label},
                        {"folder", s.label},    {"status", status(s)},
                        {"ran", s.ran},         {"interrupted", s.interrupted},
                        {"runs_planned", s.runs_planned}, {"runs_completed", s.runs_completed}};
    if (!s.error.empty()) o["error"] = s.error;
    if (s.ran) {
      o["requests"] = s.requests;
      o["errors"] = s.errors;
      o["rps"] = {{"avg", s.rps_avg}, {"min", s.rps_min}, {"max", s.rps_max}, {"runs", s.run_rps}};
      o["latency_us"] = {{"avg", s.latency_avg_us},
                         {"p50", s.latency_p50_us},
                         {"p90", s.latency_p90_us},
                         {"p99", s.latency_p99_us},
                         {"max", s.latency_max_us}};
      o["samples"] = s.samples;
      auto shares = nlohmann::json::array();
      for (const auto& p : s.plugins) shares.push_back({{"name", p.plugin}, {"percent", p.percent}});
      o["plugins"] = std::move(shares);
      const SubjectFigures& b = subjects_.front();
      if (i > 0 && b.ran) {
        const auto pc = [](double base, double v) { return change_json(percent_change(base, v)); };
        o["change_percent"] = {
            {"requests", pc(static_cast<double>(b.requests), static_cast<double>(s.requests))},
            {"errors", pc(static_cast<double>(b.errors), static_cast<double>(s.errors))},
            {"rps_avg", pc(b.rps_avg, s.rps_avg)},
            {"rps_min", pc(b.rps_min, s.rps_min)},
            {"rps_max", pc(b.rps_max, s.rps_max)},
            {"latency_avg", pc(b.latency_avg_us, s.latency_avg_us)},
            {"latency_p50", pc(b.latency_p50_us, s.latency_p50_us)},
            {"latency_p90", pc(b.latency_p90_us, s.latency_p90_us)},
            {"latency_p99", pc(b.latency_p99_us, s.latency_p99_us)},
            {"latency_max", pc(b.latency_max_us, s.latency_max_us)},
            {"samples", pc(b.samples, s.samples)}};
        nlohmann::json pp = nlohmann::json::object();
        for (const auto& p : plugins) pp[p] = plugin_percent(s, p) - plugin_percent(b, p);
        o["plugin_change_pp"] = std::move(pp);
      }
    }
    subjects.push_back(std::move(o));
  }
  j["subjects"] = std::move(subjects);
  auto diffs = nlohmann::json::array();
  for (const auto& d : ctx_.diffs) diffs.push_back({{"before", d.before}, {"after", d.after}, {"file", d.file}});
  j["diffs"] = std::move(diffs);
  j["outputs"] = ctx_.outputs;
  return j;
}

std::string Comparison::markdown() const {
  std::string out = fmt::format("### kperf profile: comparison of {}\n\n", plural(subjects_.size(), ctx_.kind));
  out += fmt::format("Driver {}{}.\n\n", ctx_.driver, ctx_.plan.empty() ? "" : fmt::format("; each: {}", ctx_.plan));
  if (ctx_.interrupted) {
    const auto complete =
        std::count_if(subjects_.begin(), subjects_.end(), [](const auto& s) { return s.ran && !s.interrupted; });
    out += fmt::format("> **Interrupted**: {} of {} subjects complete.\n\n", complete, subjects_.size());
  }
  out += "| " + ctx_.kind + " |";
  std::string align = "|---|";
  for (const auto& s : subjects_) {
    out += fmt::format(" `{}` |", s.name);
    align += "---:|";
  }
  out += "\n" + align + "\n";
  for (const auto& r : rows()) {
    out += "| " + r.name + " |";
    for (const auto& c : r.cells) {
      out += c.change.empty() ? fmt::format(" {} |", c.value) : fmt::format(" {} ({}) |", c.value, c.change);
    }
    out += "\n";
  }
  for (const auto& f : subjects_) {
    if (!f.error.empty()) out += fmt::format("\n`{}` failed: {}\n", f.name, f.error);
  }
  if (!subjects_.empty()) {
    out += fmt::format("\nChanges against `{}`; CPU PLUGIN: share of the samples, change in percentage points.\n",
                       subjects_.front().name);
  }
  if (!ctx_.diffs.empty()) {
    out += "\nDifferential flame graphs:";
    for (const auto& d : ctx_.diffs) out += fmt::format(" `{}` ({} vs {})", d.file, d.after, d.before);
    out += ".\n";
  }
  return out;
}

}  // namespace kperf

// Helpers of the fault tests: the BPF programs a process holds, and the checks every
// interrupted session must pass (exit status, consistent report, nothing left). kperf runs
// as a kperf::test::KperfChild (tests/support/kperf_child.hpp).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/profile/profile_helpers.hpp"
#include "tests/support/kperf_child.hpp"

namespace fault_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using kperf::test::KperfChild;
using profile_test::read_file;

// Ids of the BPF programs (fdinfo "prog_id:") and links ("link_id:") `pid` holds open.
inline std::pair<std::set<int>, std::set<int>> bpf_ids_of(pid_t pid) {
  std::set<int> progs, links;
  std::error_code ec;
  const fs::path fdinfo = fs::path("/proc") / std::to_string(pid) / "fdinfo";
  for (fs::directory_iterator it(fdinfo, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string info = read_file(it->path());
    for (auto [key, set] : {std::pair{"prog_id:", &progs}, std::pair{"link_id:", &links}}) {
      const size_t at = info.find(key);
      if (at != std::string::npos) set->insert(std::atoi(info.c_str() + at + std::string(key).size()));
    }
  }
  return {progs, links};
}

// The ids of `kind` (prog, link) that `bpftool -j KIND show` lists now.
inline std::set<int> bpf_ids_loaded(const std::string& kind, const fs::path& scratch) {
  const fs::path out = scratch / ("bpftool-" + kind + ".json");
  const std::string cmd = "bpftool -j " + kind + " show > '" + out.string() + "' 2>/dev/null";
  std::set<int> ids;
  if (std::system(cmd.c_str()) != 0) return ids;
  const auto j = nlohmann::json::parse(read_file(out), nullptr, false);
  if (!j.is_array()) return ids;
  for (const auto& e : j) {
    if (e.contains("id")) ids.insert(e["id"].get<int>());
  }
  return ids;
}

// The BPF programs and links of a dead kperf are gone (freed asynchronously: up to 10 s).
inline void expect_bpf_released(const std::pair<std::set<int>, std::set<int>>& held, const fs::path& scratch) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::set<int> left_progs, left_links;
  do {
    left_progs.clear();
    left_links.clear();
    const auto progs = bpf_ids_loaded("prog", scratch);
    const auto links = bpf_ids_loaded("link", scratch);
    for (int id : held.first) {
      if (progs.count(id)) left_progs.insert(id);
    }
    for (int id : held.second) {
      if (links.count(id)) left_links.insert(id);
    }
    if (left_progs.empty() && left_links.empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (Clock::now() < deadline);
  ADD_FAILURE() << left_progs.size() << " BPF program(s) and " << left_links.size()
                << " link(s) of the dead kperf are still loaded";
}

// The report in `out` parses, every output it lists exists, and no temporary file is left.
inline nlohmann::json expect_consistent_report(const fs::path& out) {
  const auto s = nlohmann::json::parse(read_file(out / "summary.json"), nullptr, false);
  EXPECT_TRUE(s.is_object()) << "summary.json does not parse";
  if (!s.is_object()) return s;
  EXPECT_TRUE(s.contains("outputs"));
  for (const auto& name : s.value("outputs", nlohmann::json::array())) {
    const fs::path p = out / name.get<std::string>();
    EXPECT_TRUE(fs::exists(p)) << p;
    if (p.extension() == ".svg") EXPECT_NE(read_file(p).find("</svg>"), std::string::npos) << p;
  }
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "temporary file left: " << e.path();
  }
  return s;
}

// Entries of `dir` whose name starts with "kperf-" (kperf's temporary run folders).
inline std::vector<fs::path> kperf_temp_entries(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind("kperf-", 0) == 0) found.push_back(it->path());
  }
  return found;
}

// Waits (up to 10 s) until none of `pids` is alive; returns those still alive.
inline std::vector<pid_t> still_alive(const std::vector<pid_t>& pids) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::vector<pid_t> alive;
  do {
    alive.clear();
    for (pid_t p : pids) {
      const std::string stat = read_file(fs::path("/proc") / std::to_string(p) / "stat");
      const size_t close = stat.rfind(')');
      if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z') alive.push_back(p);
    }
    if (alive.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (Clock::now() < deadline);
  return alive;
}

}  // namespace fault_test

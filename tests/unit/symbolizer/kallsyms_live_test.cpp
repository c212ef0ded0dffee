// Kernel frames from the live /proc/kallsyms (root: addresses are hidden otherwise): a
// known symbol's address, and an address inside it, name it with the _[k] suffix.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "symbolizer/session.hpp"

namespace {

using kperf::sym::Session;

TEST(Kallsyms, LiveKernelSymbolIsNamedWithKSuffix) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: /proc/kallsyms shows zero addresses otherwise";
  std::ifstream in("/proc/kallsyms");
  std::string line, want_name;
  uint64_t want_addr = 0;
  // A vmlinux text symbol whose address is unique in the table.
  std::vector<std::pair<uint64_t, std::string>> all;
  uint64_t mod_addr = 0;
  std::string mod_name;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string addr, type, name, mod;
    ls >> addr >> type >> name >> mod;
    if (type != "T" && type != "t") continue;
    all.emplace_back(std::stoull(addr, nullptr, 16), name);
    if (mod_addr == 0 && mod.size() > 2 && mod.front() == '[') {
      mod_addr = all.back().first;
      mod_name = mod.substr(1, mod.size() - 2);
    }
  }
  ASSERT_FALSE(all.empty());
  for (size_t i = 1; i + 1 < all.size(); ++i) {
    if (all[i].first != 0 && all[i].first != all[i - 1].first && all[i].first != all[i + 1].first &&
        all[i].second == "schedule") {
      want_addr = all[i].first;
      want_name = all[i].second;
    }
  }
  if (want_addr == 0) {
    want_addr = all[all.size() / 2].first;
    want_name = all[all.size() / 2].second;
  }
  ASSERT_NE(want_addr, 0u) << "kallsyms addresses are hidden (kptr_restrict)";
  Session s;
  EXPECT_EQ(s.kernel_frame(want_addr), want_name + "_[k]");
  EXPECT_EQ(s.kernel_frame(want_addr + 1), want_name + "_[k]");
  EXPECT_EQ(s.kernel_module(want_addr), "");
  if (mod_addr != 0) {
    EXPECT_EQ(s.kernel_module(mod_addr), mod_name);
  }
}

}  // namespace

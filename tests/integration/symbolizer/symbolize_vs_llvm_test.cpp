// `kperf symbolize -e` against llvm-symbolizer-14 (GNU output style): function names for
// addresses inside .dynsym FUNC symbols of a big stripped library (symbols listed by
// readelf, not by kperf), and names + file:line for a binary with DWARF. Where
// llvm-symbolizer names an address outside every symbol's range (nearest preceding
// symbol) kperf deliberately does not; such addresses are not compared.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) v.push_back(l);
  return v;
}

struct Sym {
  uint64_t value, size;
  std::string name;
};

// FUNC symbols with a size, from `readelf -W --dyn-syms` or `--syms` (independent of kperf).
std::vector<Sym> readelf_funcs(const std::string& file, const char* which) {
  std::vector<Sym> out;
  for (const auto& l : lines(run("readelf -W " + std::string(which) + " " + file))) {
    std::istringstream in(l);
    std::string num, value, size, type, bind, vis, ndx, name;
    if (!(in >> num >> value >> size >> type >> bind >> vis >> ndx >> name)) continue;
    if (type != "FUNC" || ndx == "UND") continue;
    try {
      uint64_t v = std::stoull(value, nullptr, 16);
      uint64_t sz = size.rfind("0x", 0) == 0 ? std::stoull(size, nullptr, 16) : std::stoull(size);
      if (v == 0 || sz == 0) continue;
      if (auto at = name.find('@'); at != std::string::npos) name.resize(at);
      out.push_back({v, sz, name});
    } catch (...) {
    }
  }
  return out;
}

struct Both {
  std::vector<std::string> kperf, llvm;
};

Both symbolize(const std::string& file, const std::vector<uint64_t>& addrs, const std::string& extra = "") {
  char path[] = "/tmp/kperf-symaddrs-XXXXXX";
  int fd = mkstemp(path);
  std::string text;
  for (uint64_t a : addrs) {
    char b[32];
    snprintf(b, sizeof b, "0x%llx\n", static_cast<unsigned long long>(a));
    text += b;
  }
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  Both r;
  r.kperf = lines(run(std::string(KPERF_BINARY) + " symbolize " + extra + " -e " + file + " < " + path));
  r.llvm = lines(run("llvm-symbolizer-14 --output-style=GNU " + extra + " -e " + file + " < " + path));
  unlink(path);
  return r;
}

bool have_llvm() { return system("command -v llvm-symbolizer-14 >/dev/null 2>&1") == 0; }

TEST(SymbolizeVsLlvm, DynsymFunctionsOfStrippedLibrary) {
  if (!have_llvm()) GTEST_SKIP() << "llvm-symbolizer-14 not installed";
  std::string lib = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3";
  if (access(lib.c_str(), R_OK) != 0) GTEST_SKIP() << lib << " not installed";
  auto syms = readelf_funcs(lib, "--dyn-syms");
  ASSERT_GT(syms.size(), 1000u);
  std::vector<uint64_t> addrs;
  for (size_t i = 0; i < syms.size(); i += std::max<size_t>(1, syms.size() / 800)) {
    addrs.push_back(syms[i].value);
    addrs.push_back(syms[i].value + syms[i].size / 2);
    addrs.push_back(syms[i].value + syms[i].size - 1);
  }
  auto r = symbolize(lib, addrs);
  ASSERT_EQ(r.kperf.size(), addrs.size() * 2);
  ASSERT_EQ(r.llvm.size(), addrs.size() * 2);
  size_t same = 0, compared = 0;
  std::string first_diff;
  for (size_t i = 0; i < addrs.size(); ++i) {
    const auto& k = r.kperf[2 * i];
    const auto& l = r.llvm[2 * i];
    ++compared;
    if (k == l) ++same;
    else if (first_diff.empty()) first_diff = k + " vs " + l;
  }
  std::cout << "identical: " << same << "/" << compared << "\n";
  EXPECT_EQ(same, compared) << "first difference (kperf vs llvm): " << first_diff;
}

TEST(SymbolizeVsLlvm, BinaryWithDwarfNamesAndLines) {
  if (!have_llvm()) GTEST_SKIP() << "llvm-symbolizer-14 not installed";
  std::string bin = UNWIND_TARGET;  // -O2 -g
  auto syms = readelf_funcs(bin, "--syms");
  std::vector<Sym> ours;
  for (const auto& s : syms)
    if (s.name.rfind("kperf_", 0) == 0 || s.name == "main") ours.push_back(s);
  ASSERT_GE(ours.size(), 7u);
  std::vector<uint64_t> addrs;
  std::vector<const Sym*> owner;
  for (const auto& s : ours)
    for (uint64_t off = 0; off < s.size; off += 3) {
      addrs.push_back(s.value + off);
      owner.push_back(&s);
    }
  // And addresses outside every symbol: kperf says ??, like llvm-symbolizer.
  addrs.push_back(0x10);
  owner.push_back(nullptr);
  auto r = symbolize(bin, addrs);
  ASSERT_EQ(r.kperf.size(), addrs.size() * 2);
  ASSERT_EQ(r.llvm.size(), addrs.size() * 2);
  size_t names_compared = 0, names_same = 0, lines_same = 0, inlined = 0;
  for (size_t i = 0; i < addrs.size(); ++i) {
    const auto& kf = r.kperf[2 * i];
    const auto& lf = r.llvm[2 * i];
    if (!owner[i]) {
      EXPECT_EQ(kf, "??");
      EXPECT_EQ(r.kperf[2 * i + 1], "??:0");
      continue;
    }
    // kperf names the symbol containing the address (one box per function).
    EXPECT_EQ(kf, owner[i]->name) << std::hex << addrs[i];
    // llvm-symbolizer names the innermost inlined function; compare where it names
    // the containing function itself.
    if (lf == owner[i]->name) {
      ++names_compared;
      if (kf == lf) ++names_same;
    } else {
      ++inlined;
    }
    if (r.kperf[2 * i + 1] == r.llvm[2 * i + 1]) ++lines_same;
    else ADD_FAILURE() << std::hex << addrs[i] << ": kperf " << r.kperf[2 * i + 1] << " llvm " << r.llvm[2 * i + 1];
  }
  std::cout << "names identical " << names_same << "/" << names_compared << " (inlined elsewhere: " << inlined
            << "); file:line identical " << lines_same << "\n";
  EXPECT_EQ(names_same, names_compared);
  EXPECT_GT(names_compared, 20u);
}

TEST(SymbolizeCli, ErrorsAreOneLineAndExit2) {
  auto status = [](const std::string& cmd) {
    int st = system((cmd + " >/dev/null 2>/tmp/kperf-sym-err.txt").c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  auto err = [] {
    std::ifstream in("/tmp/kperf-sym-err.txt");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  std::string k = KPERF_BINARY;
  EXPECT_EQ(status(k + " symbolize -e /nonexistent/file 0x10"), 2);
  EXPECT_EQ(err(), "kperf: cannot open /nonexistent/file: No such file or directory\n");
  EXPECT_EQ(status(k + " symbolize -e /etc/hostname 0x10"), 2);
  EXPECT_EQ(err(), "kperf: /etc/hostname is not an ELF file\n");
  EXPECT_EQ(status(k + " symbolize --pid 999999999 0x10"), 2);
  EXPECT_EQ(err(), "kperf: process 999999999 not found\n");
  EXPECT_EQ(status(k + " symbolize -e " + k + " 0xZZ"), 2);
  EXPECT_NE(err().find("bad address"), std::string::npos);
  unlink("/tmp/kperf-sym-err.txt");
}

extern "C" __attribute__((noinline)) int kperf_cli_probe(int x) { return x * 11 + 3; }

TEST(SymbolizeCli, PidModeUsesRuntimeAddresses) {
  // Our own process (a PIE: runtime address != file address): the runtime address of
  // one of its functions names it.
  auto addr = reinterpret_cast<uint64_t>(&kperf_cli_probe) + 1;
  char buf[64];
  snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(addr));
  auto out = lines(run(std::string(KPERF_BINARY) + " symbolize --pid " + std::to_string(getpid()) + " " + buf));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], "kperf_cli_probe");
}

}  // namespace

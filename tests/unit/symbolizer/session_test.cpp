// Session on the test's own process and on real files: load bias vs dlsym, frame names
// for symbols / FDE-only functions / JIT code from perf-PID.map, maps re-read on new
// mappings, maps of an exited process kept until forget_process, the vDSO read from memory.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <csignal>
#include <cstdlib>
#include <fstream>

#include <fmt/core.h>

#include "symbolizer/module.hpp"
#include "symbolizer/session.hpp"

namespace {

using namespace kperf::sym;

extern "C" __attribute__((noinline)) int kperf_session_probe(int x) { return x * 5 + 1; }

TEST(Session, NamesOwnFunctionsAndLibcThroughBias) {
  Session s;
  s.add_process(getpid());
  auto fn = reinterpret_cast<uint64_t>(&kperf_session_probe);
  EXPECT_EQ(s.native_frame(getpid(), fn, false), "kperf_session_probe");
  EXPECT_EQ(s.native_frame(getpid(), fn + 1, true), "kperf_session_probe");
  // libc's own qsort: under ASan, RTLD_DEFAULT finds the sanitizer's interceptor (a
  // `qsort` in the test executable) first.
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(libc, nullptr) << dlerror();
  auto q = reinterpret_cast<uint64_t>(dlsym(libc, "qsort"));
  dlclose(libc);
  ASSERT_NE(q, 0u);
  EXPECT_EQ(s.native_frame(getpid(), q, false), "qsort");
  auto mm = s.find_module(getpid(), q);
  ASSERT_TRUE(mm);
  EXPECT_NE(mm->path.find("libc.so.6"), std::string::npos);
  EXPECT_FALSE(mm->build_id.empty());
  // The bias maps the file's symbol value to the runtime address.
  auto info = s.describe(getpid(), q);
  EXPECT_EQ(info.function, "qsort");
  EXPECT_EQ(info.file_addr + mm->bias, q);
  EXPECT_EQ(s.native_frame(getpid(), 0x10, false), "[unknown]");
}

TEST(Session, UnnamedFunctionsGetModulePlusFdeStart) {
  // Debian's nginx is stripped to .dynsym: static functions are named from .eh_frame.
  const char* nginx = "/usr/sbin/nginx";
  if (access(nginx, R_OK) != 0) GTEST_SKIP() << "nginx not installed";
  Module m(ElfFile::open(nginx), "nginx", ModuleOptions{true, false, "/usr/lib/debug"});
  ASSERT_GT(m.fdes().size(), 100u);
  // Find an FDE-covered address no symbol covers.
  int checked = 0;
  for (uint64_t addr = 0x20000; addr < 0x200000 && checked < 20; addr += 0x1234) {
    auto f = m.function(addr);
    if (f.from_symbol || !f.from_fde) continue;
    ++checked;
    std::string want = fmt::format("nginx+{:#x}", f.start);
    EXPECT_EQ(*m.frame_name(addr), want);
    EXPECT_EQ(*m.frame_name(f.start), want) << "one box per function";
    EXPECT_TRUE(m.fdes().lookup(addr));
    EXPECT_FALSE(m.symbols().lookup(addr)) << "no symbol may name it";
  }
  EXPECT_GT(checked, 5);
  auto ngx = m.symbols().find("ngx_worker_process_cycle");
  if (ngx) {
    EXPECT_EQ(*m.frame_name(ngx->start + 4), "ngx_worker_process_cycle");
  }
}

TEST(Session, JitCodeFromPerfMapAfterMapsReread) {
  Session s;
  s.add_process(getpid());
  // A new anonymous executable mapping, created after the maps were read.
  size_t len = 4096;
  void* code = mmap(nullptr, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(code, MAP_FAILED);
  auto addr = reinterpret_cast<uint64_t>(code);
  std::string path = fmt::format("/tmp/perf-{}.map", getpid());
  {
    std::ofstream out(path);
    out << fmt::format("{:x} 100 lua_trace_42\n", addr);
  }
  auto before = s.stats().maps_reads;
  EXPECT_EQ(s.native_frame(getpid(), addr + 0x10, false), "lua_trace_42");
  EXPECT_GT(s.stats().maps_reads, before) << "an unknown address must trigger a maps re-read";
  EXPECT_EQ(s.native_frame(getpid(), addr + 0x200, false), "[unknown]");
  auto mm = s.find_module(getpid(), addr);
  ASSERT_TRUE(mm);
  EXPECT_EQ(mm->map_start, addr);
  unlink(path.c_str());
  munmap(code, len);
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// JIT code for the Lua splicer: anonymous mappings count, file-backed code does not; code
// mapped after the maps were read is found for a sample taken after that read, and a
// mapping that is not executable when read (a JIT adding code) still counts.
TEST(Session, AnonymousCodeIsFoundForSamplesAfterTheMapsRead) {
  Session s;
  s.add_process(getpid());
  bool unreadable = true;
  EXPECT_FALSE(s.in_anon_code(getpid(), reinterpret_cast<uint64_t>(&kperf_session_probe), monotonic_ns(), unreadable));
  EXPECT_FALSE(unreadable);
  const size_t len = 4096;
  void* code = mmap(nullptr, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(code, MAP_FAILED);
  const auto addr = reinterpret_cast<uint64_t>(code);
  const auto reads = s.stats().maps_reads;
  EXPECT_TRUE(s.in_anon_code(getpid(), addr + 8, monotonic_ns(), unreadable));
  EXPECT_GT(s.stats().maps_reads, reads) << "mapped after the read: the maps must be read again";
  void* rw = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(rw, MAP_FAILED);
  EXPECT_TRUE(s.in_anon_code(getpid(), reinterpret_cast<uint64_t>(rw), monotonic_ns(), unreadable));
  munmap(rw, len);
  munmap(code, len);
  // Unmapped now and a sample before the last read: no re-read, and not code.
  const auto before = s.stats().maps_reads;
  EXPECT_FALSE(s.in_anon_code(getpid(), 0x10, 0, unreadable));
  EXPECT_EQ(s.stats().maps_reads, before);
}

TEST(Session, VdsoIsAModuleReadFromMemory) {
  auto base = getauxval(AT_SYSINFO_EHDR);
  if (base == 0) GTEST_SKIP() << "no vDSO";
  Session s;
  s.add_process(getpid());
  auto mm = s.find_module(getpid(), base);
  ASSERT_TRUE(mm);
  EXPECT_EQ(mm->path, "[vdso]");
  EXPECT_FALSE(mm->build_id.empty()) << "the vDSO image was not parsed";
  EXPECT_EQ(mm->map_start, base);
}

TEST(Session, MapsOfExitedProcessKeptUntilForgotten) {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  Session s;
  s.add_process(child);
  kill(child, SIGKILL);
  int st;
  waitpid(child, &st, 0);
  // Same binary as us (forked): our probe function's address resolves in the dead child.
  auto fn = reinterpret_cast<uint64_t>(&kperf_session_probe);
  EXPECT_EQ(s.native_frame(child, fn, false), "kperf_session_probe");
  s.forget_process(child);
  EXPECT_EQ(s.native_frame(child, fn, false), "[unknown]");
}

}  // namespace

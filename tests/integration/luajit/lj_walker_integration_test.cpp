// Integration tests of the LuaJIT frame walker on real processes: luajit2 and vanilla
// luajit scripts (interpreter, JIT traces, deep recursion, coroutine + pcall, Lua -> C
// -> Lua) and an nginx worker running lua-nginx-module, stopped with ptrace.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <signal.h>
#include <sstream>
#include <thread>

#include "lj_test_target.hpp"
#include "profiler/luajit/find_vm.hpp"
#include "profiler/luajit/frame_walker.hpp"
#include "profiler/luajit/proto_cache.hpp"
#include "profiler/luajit/remote_memory.hpp"

using namespace kperf::prof::lj;
using kperf::test::ChildProcess;
using kperf::test::TempDir;
using kperf::test::Tracer;
using namespace std::chrono_literals;

namespace {

const char* kLuajit2 = "/usr/bin/luajit";

std::string vanilla_root() {
  if (const char* e = std::getenv("KPERF_LUAJIT_VANILLA_DIR")) return e;
  return KPERF_BUILD_DIR "/peers/luajit-vanilla/root";  // unpacked by scripts/setup
}

struct Sample {
  UserRegs regs;
  bool in_vm = false;
  bool have_G = false;
  WalkResult walk;
  std::shared_ptr<ProtoCache> protos;    // holds the names walk's frames point at
  std::vector<std::string> texts;        // frame texts (first lines), innermost first
  std::vector<std::string> line_texts;   // with executing lines
  std::uint64_t syscalls = 0;            // process_vm_readv calls of this walk
  std::uint64_t cframe_ret = 0;          // return address at cur_L->cframe + 80 - 8
};

std::string join(const std::vector<std::string>& v, std::size_t n = 8) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < n; ++i) s += (i ? " <- " : "") + v[i];
  if (v.size() > n) s += fmt::format(" <- ... ({} frames)", v.size());
  return s;
}

// Stops `tid` n times at random moments and walks its Lua stack each time.
std::vector<Sample> sample_process(pid_t pid, pid_t tid, VmFinder& finder, int n) {
  std::vector<Sample> out;
  RemoteMemory mem(pid);
  auto protos_held = std::make_shared<ProtoCache>();
  ProtoCache& protos = *protos_held;
  Tracer tr(tid);
  EXPECT_TRUE(tr.ok()) << tr.error();
  if (!tr.ok()) return out;
  std::uint64_t walks = 0, syscalls_before = 0;
  double walk_us = 0;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> gap(3, 12);
  for (int i = 0; i < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(gap(rng)));  // spacing, not sync
    Sample s;
    if (!tr.interrupt(s.regs)) break;
    mem.clear();
    auto G = finder.from_registers(mem, s.regs);
    s.in_vm = finder.layout().in_vm(s.regs.rip());
    if (G) {
      s.have_G = true;
      s.protos = protos_held;
      FrameWalker w(mem, finder.layout(), protos);
      syscalls_before = mem.syscalls();
      auto t0 = std::chrono::steady_clock::now();
      w.walk_sample(*G, s.regs, s.walk);
      walk_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      s.syscalls = mem.syscalls() - syscalls_before;
      ++walks;
      // Where native unwinding would restart from trace code: the VM's C frame.
      const VmOffsets& o = finder.layout().off;
      if (auto L = mem.u64(*G + o.G_cur_L))
        if (auto cf = mem.u64(*L + o.L_cframe); cf && (*cf & ~3ull))
          s.cframe_ret = mem.u64((*cf & ~3ull) + 80 - 8).value_or(0);
      for (const auto& f : s.walk.frames) {
        s.texts.push_back(f.text(false));
        s.line_texts.push_back(f.text(true));
      }
    }
    tr.resume();
    if (std::getenv("KPERF_LJ_TEST_VERBOSE"))
      std::printf("  rip %s vmstate %d: %s\n", s.in_vm ? "in VM " : "outside", s.walk.vmstate,
                  join(s.line_texts, 12).c_str());
    out.push_back(std::move(s));
  }
  if (walks) {
    std::uint64_t sc = 0;
    for (const auto& smp : out) sc += smp.syscalls;
    std::printf("  %llu walks: %.1f process_vm_readv and %.1f us per walk (proto cache: %zu protos)\n",
                static_cast<unsigned long long>(walks), double(sc) / double(walks), walk_us / double(walks),
                protos.size());
  }
  return out;
}

// Prints one line at the end of the statement (stacks that did not match, for diagnosis:
// the ratio assertions decide).
struct Note {
  std::ostringstream os;
  template <typename T>
  Note& operator<<(const T& v) {
    os << v;
    return *this;
  }
  ~Note() { std::printf("  note: %s\n", os.str().c_str()); }
};

bool starts_with(const std::vector<std::string>& texts, const std::vector<std::string>& want) {
  if (texts.size() < want.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (texts[i] != want[i]) return false;
  return true;
}

struct Script {
  TempDir dir;
  std::string path, out;
  explicit Script(const std::string& text) {
    path = dir.path() + "/x.lua";
    out = dir.path() + "/out.txt";
    kperf::test::write_file(path, text);
  }
};

// main chunk -> outer (global) -> M.mid (field) -> inner (upvalue): pure Lua arithmetic.
constexpr const char* kChainScript = R"({}
local M = {{}}
local function inner(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end
function M.mid(n)
  return inner(n) + 1
end
function outer()
  local t = 0
  while true do t = t + M.mid(100000) end
end
io.stdout:write("ready\n") io.stdout:flush()
outer()
)";

std::unique_ptr<ChildProcess> start_lua(const std::string& luajit, const Script& s,
                                        const std::vector<std::string>& env = {}) {
  auto child = std::make_unique<ChildProcess>(std::vector<std::string>{luajit, s.path}, env, s.out);
  EXPECT_TRUE(kperf::test::wait_for_text(s.out, "ready", 10s)) << kperf::test::read_file(s.out);
  return child;
}

void check_interpreter_chain(const std::string& luajit, const std::vector<std::string>& env, bool expect_openresty) {
  Script s(fmt::format(kChainScript, "jit.off()"));
  auto child = start_lua(luajit, s, env);
  VmFinder finder(child->pid());
  ASSERT_TRUE(finder.has_luajit()) << finder.message();
  ASSERT_TRUE(finder.usable()) << finder.message();
  EXPECT_TRUE(finder.layout().known) << "build-id " << finder.layout().build_id << " not in the table";
  EXPECT_EQ(finder.layout().openresty, expect_openresty) << finder.layout().build;
  std::printf("  VM in %s: %s\n", finder.layout().path.c_str(), finder.layout().build.c_str());
  auto samples = sample_process(child->pid(), child->pid(), finder, 50);
  const std::string X = s.path;
  const std::vector<std::string> want{"inner " + X + ":3", "mid " + X + ":8", "outer " + X + ":11", "? " + X + ":0"};
  int in_vm = 0, good = 0;
  for (const auto& smp : samples) {
    if (!smp.in_vm) continue;
    ++in_vm;
    if (starts_with(smp.texts, want)) {
      ++good;
      // Executing lines: the loop in inner, the call sites in mid and outer.
      EXPECT_GE(smp.walk.frames[0].line, 4);
      EXPECT_LE(smp.walk.frames[0].line, 6);
      EXPECT_EQ(smp.line_texts[1], "mid " + X + ":9");
      EXPECT_EQ(smp.line_texts[2], "outer " + X + ":13");
    } else {
      Note() << "unexpected stack: " << join(smp.texts) << " error: " << smp.walk.error;
    }
  }
  EXPECT_GE(in_vm, 40) << "samples in the interpreter";
  std::printf("  walked %d of %d samples as expected\n", good, in_vm);
  EXPECT_GE(good * 10, in_vm * 9) << good << " of " << in_vm;
}

void skip_unless_root() {
  if (!kperf::test::is_root()) GTEST_SKIP() << "needs root (ptrace / process_vm_readv of the target)";
}

}  // namespace

TEST(LuajitWalker, Luajit2InterpreterChain) {
  skip_unless_root();
  check_interpreter_chain(kLuajit2, {}, true);
}

TEST(LuajitWalker, VanillaInterpreterChain) {
  skip_unless_root();
  std::string bin = vanilla_root() + "/usr/bin/luajit";
  // scripts/setup unpacks it; as root (CI) a missing copy is a failure, not a skip.
  ASSERT_TRUE(std::filesystem::exists(bin))
      << "vanilla LuaJIT not unpacked at " << vanilla_root() << ": run scripts/setup";
  check_interpreter_chain(bin, {}, false);
}

#ifdef KPERF_LJ_TEST_HOST
TEST(LuajitWalker, Luajit2SharedLibraryChain) {
  skip_unless_root();
  check_interpreter_chain(KPERF_LJ_TEST_HOST, {}, true);
}

TEST(LuajitWalker, VanillaSharedLibraryChain) {
  skip_unless_root();
  std::string libdir = vanilla_root() + "/usr/lib/x86_64-linux-gnu";
  ASSERT_TRUE(std::filesystem::exists(libdir + "/libluajit-5.1.so.2"))
      << "vanilla libluajit not unpacked at " << libdir << ": run scripts/setup";
  check_interpreter_chain(KPERF_LJ_TEST_HOST, {"LD_LIBRARY_PATH=" + libdir}, false);
}
#endif

namespace {

void check_trace_frames(const std::string& luajit) {
  // The script first runs interpreted until the test has found G from the DISPATCH
  // register of such a sample (a plain luajit process exports no pointer to it) and
  // creates the file $KPERF_GO; then the JIT is on.
  Script s(fmt::format(kChainScript,
                       "jit.off() io.stdout:write('ready\\n') io.stdout:flush() "
                       // os.clock() is a syscall: call it rarely so stops land in the VM.
                       "local t0, w = os.clock(), 0 while true do w = w + 1 "
                       "if w % 100000 == 0 then if os.clock() - t0 > 20 then break end "
                       "local f = io.open(os.getenv('KPERF_GO')) "
                       "if f then f:close() break end end end jit.on()"));
  const std::string go = s.dir.path() + "/go";
  auto child = start_lua(luajit, s, {"KPERF_GO=" + go});
  VmFinder finder(child->pid());
  ASSERT_TRUE(finder.usable()) << finder.message();
  {
    RemoteMemory mem(child->pid());
    Tracer tr(child->pid());
    ASSERT_TRUE(tr.ok()) << tr.error();
    UserRegs regs;
    for (int i = 0; i < 200 && !finder.G() && tr.interrupt(regs); ++i) {
      finder.from_registers(mem, regs);
      tr.resume();
      std::this_thread::sleep_for(2ms);  // spacing between stops
    }
  }
  ASSERT_TRUE(finder.G()) << "G not found from 200 stops in the interpreter";
  kperf::test::write_file(go, "go\n");
  auto samples = sample_process(child->pid(), child->pid(), finder, 100);
  const std::string X = s.path;
  int in_trace = 0, good = 0, snapshot_line = 0;
  for (const auto& smp : samples) {
    if (!smp.have_G || smp.in_vm || smp.walk.vmstate < 0) continue;
    ++in_trace;
    EXPECT_EQ(smp.walk.start, WalkResult::Start::Trace);
    // The VM's C frame (CFA = cframe + 80) returns into the luajit executable's code
    // (lua_pcall's caller), outside the interpreter: a restart point for native unwinding.
    bool ret_in_exec = false;
    for (auto [lo, hi] : finder.layout().exec_ranges) ret_in_exec |= smp.cframe_ret >= lo && smp.cframe_ret < hi;
    EXPECT_TRUE(ret_in_exec && !finder.layout().in_vm(smp.cframe_ret)) << std::hex << smp.cframe_ret;
    // With lua_lines, the trace frame's line is the one of the snapshot whose code holds
    // rip (the loop on line 5); without one (rip outside the trace's snapshot sections)
    // its function's first line (3), never another.
    const bool snap = smp.line_texts[0] == "inner " + X + ":5_[j]";
    if (starts_with(smp.texts, {"inner " + X + ":3_[j]", "mid " + X + ":8", "outer " + X + ":11"}) &&
        (snap || smp.line_texts[0] == "inner " + X + ":3_[j]")) {
      ++good;
      snapshot_line += snap;
    } else
      Note() << "unexpected trace stack: " << join(smp.line_texts) << " vmstate " << smp.walk.vmstate
             << " error: " << smp.walk.error;
  }
  EXPECT_GE(in_trace, 15) << "samples in trace code";
  std::printf("  walked %d of %d samples as expected, %d with the snapshot's line\n", good, in_trace, snapshot_line);
  EXPECT_GE(good * 10, in_trace * 9) << good << " of " << in_trace;
  EXPECT_GE(snapshot_line * 3, in_trace) << snapshot_line << " of " << in_trace << " with the snapshot's line";
}

}  // namespace

TEST(LuajitWalker, Luajit2TraceFramesTagged) {
  skip_unless_root();
  check_trace_frames(kLuajit2);
}

TEST(LuajitWalker, VanillaTraceFramesTagged) {
  skip_unless_root();
  std::string bin = vanilla_root() + "/usr/bin/luajit";
  // scripts/setup unpacks it; as root (CI) a missing copy is a failure, not a skip.
  ASSERT_TRUE(std::filesystem::exists(bin))
      << "vanilla LuaJIT not unpacked at " << vanilla_root() << ": run scripts/setup";
  check_trace_frames(bin);
}

TEST(LuajitWalker, DeepRecursionComesOutWhole) {
  skip_unless_root();
  Script s(R"(jit.off()
local function spin() local s = 0 while true do for i = 1, 1000 do s = s + i % 3 end end end
local function rec(d) if d == 0 then return spin() + 0 end return rec(d - 1) + 1 end
io.stdout:write("ready\n") io.stdout:flush()
rec(100)
)");
  auto child = start_lua(kLuajit2, s);
  VmFinder finder(child->pid());
  ASSERT_TRUE(finder.usable()) << finder.message();
  auto samples = sample_process(child->pid(), child->pid(), finder, 30);
  const std::string X = s.path;
  std::vector<std::string> want{"spin " + X + ":2"};
  for (int i = 0; i < 101; ++i) want.push_back("rec " + X + ":3");
  want.push_back("? " + X + ":0");
  int in_vm = 0, good = 0;
  for (const auto& smp : samples) {
    if (!smp.in_vm) continue;
    ++in_vm;
    if (starts_with(smp.texts, want) && smp.walk.complete)
      ++good;
    else
      Note() << "unexpected stack (" << smp.texts.size() << " frames): " << join(smp.texts, 4)
             << " error: " << smp.walk.error;
  }
  EXPECT_GE(in_vm, 20);
  std::printf("  walked %d of %d samples as expected\n", good, in_vm);
  EXPECT_GE(good * 10, in_vm * 9) << good << " of " << in_vm;
}

TEST(LuajitWalker, CoroutineAndPcall) {
  skip_unless_root();
  Script s(R"(jit.off()
local function work() local s = 0 while true do s = s + 1 % 5 end end
local co = coroutine.create(function()
  pcall(function() work() end)
end)
io.stdout:write("ready\n") io.stdout:flush()
coroutine.resume(co)
)");
  auto child = start_lua(kLuajit2, s);
  VmFinder finder(child->pid());
  ASSERT_TRUE(finder.usable()) << finder.message();
  auto samples = sample_process(child->pid(), child->pid(), finder, 30);
  const std::string X = s.path;
  // The coroutine's frames, then the main thread that resumed it (luajit's pmain below).
  const std::vector<std::string> want{"work " + X + ":2",  "? " + X + ":4", "pcall", "? " + X + ":3",
                                      "coroutine.resume", "? " + X + ":0"};
  int in_vm = 0, good = 0;
  for (const auto& smp : samples) {
    if (!smp.in_vm) continue;
    ++in_vm;
    if (starts_with(smp.texts, want))
      ++good;
    else
      Note() << "unexpected stack: " << join(smp.texts) << " error: " << smp.walk.error;
  }
  EXPECT_GE(in_vm, 20);
  std::printf("  walked %d of %d samples as expected\n", good, in_vm);
  EXPECT_GE(good * 10, in_vm * 9) << good << " of " << in_vm;
}

TEST(LuajitWalker, LuaCLuaSandwich) {
  skip_unless_root();
  Script s(R"(jit.off()
local function cmp(a, b)
  local s = 0 for i = 1, 300 do s = s + i end
  return a < b
end
local function sorter()
  while true do
    local t = {} for i = 1, 200 do t[i] = (i * 7919) % 1000 end
    table.sort(t, cmp)
  end
end
io.stdout:write("ready\n") io.stdout:flush()
sorter()
)");
  auto child = start_lua(kLuajit2, s);
  VmFinder finder(child->pid());
  ASSERT_TRUE(finder.usable()) << finder.message();
  auto samples = sample_process(child->pid(), child->pid(), finder, 50);
  const std::string X = s.path;
  const std::vector<std::string> want{"? " + X + ":2", "table.sort", "sorter " + X + ":6", "? " + X + ":0"};
  int in_cmp = 0, good = 0;
  for (const auto& smp : samples) {
    if (!smp.in_vm || smp.texts.empty() || smp.texts[0] != "? " + X + ":2") continue;
    ++in_cmp;
    // The comparator is called by table.sort through lua_call: a C boundary.
    if (starts_with(smp.texts, want) && smp.walk.frames[0].called_from_c && !smp.walk.frames[1].called_from_c)
      ++good;
    else
      Note() << "unexpected stack: " << join(smp.texts) << " error: " << smp.walk.error;
  }
  EXPECT_GE(in_cmp, 20) << "samples in the comparator";
  // Samples in table.sort's own C code (rip outside the VM, vmstate C): the walk from
  // cur_L->base starts at the fast function's frame.
  int in_sort = 0, sort_good = 0;
  for (const auto& smp : samples) {
    if (smp.in_vm || smp.walk.vmstate != -2 || smp.texts.empty() || smp.texts[0] != "table.sort") continue;
    ++in_sort;
    if (starts_with(smp.texts, {"table.sort", "sorter " + X + ":6", "? " + X + ":0"})) ++sort_good;
  }
  std::printf("  %d of %d samples in table.sort's C code walked as expected\n", sort_good, in_sort);
  EXPECT_EQ(sort_good, in_sort);
  std::printf("  walked %d of %d samples as expected\n", good, in_cmp);
  EXPECT_GE(good * 10, in_cmp * 9) << good << " of " << in_cmp;
}

namespace {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// One HTTP/1.0 GET; true on a 200 response.
bool http_get(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      std::string resp;
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<std::size_t>(n));
      ok = resp.rfind("HTTP/1.1 200", 0) == 0;
    }
  }
  close(fd);
  return ok;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::istringstream in(kperf::test::read_file(fmt::format("/proc/{}/task/{}/children", pid, pid)));
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}

}  // namespace

TEST(LuajitWalker, NginxWorkerHandler) {
  skip_unless_root();
  const std::string lua_mod = "/usr/lib/nginx/modules/ngx_http_lua_module.so";
  const std::string ndk_mod = "/usr/lib/nginx/modules/ndk_http_module.so";
  if (!std::filesystem::exists("/usr/sbin/nginx") || !std::filesystem::exists(lua_mod))
    GTEST_SKIP() << "nginx or libnginx-mod-http-lua not installed";
  TempDir dir;
  const std::string D = dir.path();
  const int port = free_port();
  kperf::test::write_file(D + "/hot.lua", R"(local _M = {}
local function crunch(n) local s = 0 for i = 1, n do s = s + i % 13 end return s end
function _M.handler()
  ngx.say(crunch(3000000))
end
return _M
)");
  kperf::test::write_file(D + "/nginx.conf", fmt::format(R"(load_module {ndk};
load_module {lua};
user root;
worker_processes 1;
daemon off;
master_process on;
error_log {D}/error.log;
pid {D}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {D}/tmp_body;
  proxy_temp_path {D}/tmp_proxy;
  fastcgi_temp_path {D}/tmp_fcgi;
  uwsgi_temp_path {D}/tmp_uwsgi;
  scgi_temp_path {D}/tmp_scgi;
  lua_package_path "{D}/?.lua;;";
  init_by_lua_block {{ jit.off() }}
  server {{
    listen 127.0.0.1:{port};
    location /hot {{ content_by_lua_block {{ require("hot").handler() }} }}
    location /ping {{ return 200 "pong"; }}
  }}
}}
)",
                                                         fmt::arg("ndk", ndk_mod), fmt::arg("lua", lua_mod),
                                                         fmt::arg("D", D), fmt::arg("port", port)));
  ChildProcess master({"/usr/sbin/nginx", "-p", D + "/", "-c", D + "/nginx.conf", "-e", D + "/error.log"}, {},
                      D + "/stdout.txt");
  // Wait for a worker that answers.
  pid_t worker = 0;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto kids = children_of(master.pid());
    if (!kids.empty() && http_get(port, "/ping")) {
      worker = kids.front();
      break;
    }
    ASSERT_TRUE(master.alive()) << kperf::test::read_file(D + "/error.log") << kperf::test::read_file(D + "/stdout.txt");
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(worker, 0) << "nginx worker did not come up: " << kperf::test::read_file(D + "/error.log");
  // Whatever happens below: stop nginx (TERM: the master stops its workers), and make
  // sure the worker does not outlive the test.
  struct Cleanup {
    ChildProcess& master;
    pid_t worker;
    ~Cleanup() {
      master.stop_gracefully(SIGTERM, 10s);
      if (kill(worker, 0) == 0) kill(worker, SIGKILL);
    }
  } cleanup{master, worker};

  // Idle worker: G from the exported ngx_cycle chain.
  VmFinder finder(worker);
  ASSERT_TRUE(finder.usable()) << finder.message();
  EXPECT_TRUE(finder.layout().known) << finder.layout().build;
  EXPECT_NE(finder.layout().path.find("libluajit"), std::string::npos) << finder.layout().path;
  std::optional<std::uint64_t> G;
  {
    RemoteMemory mem(worker);
    G = finder.from_nginx(mem);
    ASSERT_TRUE(G) << "ngx_cycle -> lua main conf -> lua_State chain did not validate";
    EXPECT_TRUE(validate_G(mem, finder.layout().off, *G));
    ASSERT_TRUE(finder.nginx_main_L());
    EXPECT_EQ(*finder.nginx_main_L(), *G - finder.layout().off.sizeof_lua_State);
  }

  // Bounded load: sequential requests from one client thread (at most 200 or 20 s).
  std::atomic<bool> stop{false};
  std::atomic<int> ok_requests{0};
  std::thread client([&] {
    auto end = std::chrono::steady_clock::now() + 20s;
    for (int i = 0; i < 200 && !stop && std::chrono::steady_clock::now() < end; ++i)
      if (http_get(port, "/hot")) ++ok_requests;
  });
  std::this_thread::sleep_for(50ms);  // let the first request reach the worker (spacing)
  auto samples = sample_process(worker, worker, finder, 40);
  stop = true;
  client.join();
  EXPECT_GT(ok_requests.load(), 0);
  EXPECT_EQ(finder.G(), G) << "G from DISPATCH differs from the ngx_cycle chain's";

  const std::string H = D + "/hot.lua";
  int in_vm = 0, good = 0;
  for (const auto& smp : samples) {
    if (!smp.in_vm) continue;
    ++in_vm;
    if (starts_with(smp.texts, {"crunch " + H + ":2", "handler " + H + ":3"}) && smp.texts.size() >= 3 &&
        smp.texts[2].rfind("? content_by_lua(nginx.conf:", 0) == 0)
      ++good;
    else
      Note() << "unexpected stack: " << join(smp.texts) << " error: " << smp.walk.error;
  }
  std::printf("  walked %d of %d samples as expected (%d requests)\n", good, in_vm, ok_requests.load());
  EXPECT_GE(in_vm, 15) << "samples in the interpreter";
  EXPECT_GE(good * 10, in_vm * 9) << good << " of " << in_vm;
}

TEST(LuajitWalker, ChurningStackStaysConsistent) {
  skip_unless_root();
  // Calls and returns all the time at varying depths, through varargs, metamethods,
  // pcall and closures: stops land in call/return sequences too.
  Script s(R"(jit.off()
local mt = { __index = function(t, k) return k * 2 end, __add = function(a, b) return 1 end }
local obj = setmetatable({}, mt)
local function leaf(...) local a = select('#', ...) return a + obj[3] + (obj + obj) end
local function mid(d, ...) if d <= 0 then return leaf(d, ...) end return mid(d - 1, d, ...) + 1 end
local function top(n) local ok, v = pcall(mid, n % 23, n) return v or 0 end
io.stdout:write("ready\n") io.stdout:flush()
local i, x = 0, 0
while true do i = i + 1 x = x + top(i) end
)");
  auto child = start_lua(kLuajit2, s);
  VmFinder finder(child->pid());
  ASSERT_TRUE(finder.usable()) << finder.message();
  auto samples = sample_process(child->pid(), child->pid(), finder, 60);
  const std::string X = s.path;
  int in_vm = 0, complete = 0;
  for (const auto& smp : samples) {
    if (!smp.in_vm) continue;
    ++in_vm;
    if (!smp.walk.complete) {
      Note() << "incomplete walk: " << join(smp.texts) << " error: " << smp.walk.error;
      continue;
    }
    ++complete;
    // Every Lua frame is from the script, and the bottom Lua frame is the main chunk.
    std::string last_lua;
    for (const auto& f : smp.walk.frames) {
      if (f.kind != LuaFrame::Kind::Lua) continue;
      EXPECT_EQ(f.chunk, X);
      last_lua = f.text();
    }
    EXPECT_EQ(last_lua, "? " + X + ":0") << join(smp.texts, 40);
  }
  std::printf("  %d of %d walks in the interpreter complete\n", complete, in_vm);
  EXPECT_GE(in_vm, 30);
  EXPECT_GE(complete * 10, in_vm * 9);
}

// Unit tests of find_resumer (profiler/luajit/resumer): who resumed a coroutine, on fake
// lua_States, C frames and ngx_lua co_ctx records built in the test's own memory (GC64
// luajit2 layout), read through RemoteMemory like a target's.
#include "profiler/luajit/resumer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace kperf::prof::lj;

namespace {

std::uint64_t addr(const void* p) { return reinterpret_cast<std::uint64_t>(p); }

// A lua_State (0x70 bytes, luajit2 GC64) with its own Lua stack.
struct Thread {
  alignas(16) std::array<unsigned char, 0x70> bytes{};
  std::vector<std::uint64_t> stack = std::vector<std::uint64_t>(64);
  template <typename T>
  void put(std::size_t off, T v) {
    std::memcpy(bytes.data() + off, &v, sizeof v);
  }
  Thread(const VmOffsets& o, std::uint64_t G) {
    put<std::uint64_t>(o.L_glref, G);
    put<std::uint64_t>(o.L_stack, addr(stack.data()));
    put<std::uint32_t>(o.L_stacksize, static_cast<std::uint32_t>(stack.size()));
    put<std::uint64_t>(o.L_base, addr(stack.data() + 10));
  }
  std::uint64_t L() const { return addr(bytes.data()); }
};

struct World {
  VmLayout layout;
  alignas(16) std::array<unsigned char, 0x200> gg{};  // GG_State: main thread, then G
  std::uint64_t G = 0;
  std::array<std::uint64_t, 40> cstack{};  // two VM C frames (80 bytes each) and room
  World() {
    layout.off = family_offsets(true);
    layout.off.sizeof_lua_State = 0x70;
    layout.openresty = true;
    layout.vm_lo = 0x10000;
    layout.vm_hi = 0x20000;
    G = addr(gg.data()) + layout.off.sizeof_lua_State;
  }
  const VmOffsets& o() const { return layout.off; }
  // child's C frame at cstack[0]; the resumer's right above it (80 bytes up).
  std::uint64_t child_cf() const { return addr(cstack.data()); }
  std::uint64_t outer_cf() const { return child_cf() + kCframeSize; }
  // Makes `child` a coroutine resumed from a call returning to `ret`, and `resumer`
  // (if any) the thread whose C frame lies above it.
  void resume(Thread& child, std::uint64_t ret, Thread* resumer) {
    child.put<std::uint64_t>(o().L_cframe, child_cf());
    cstack[(kCframeSize - 8) / 8] = ret;
    if (resumer) {
      cstack[(kCframeSize + cframe_saved_L(o())) / 8] = resumer->L();
      resumer->put<std::uint64_t>(o().L_cframe, outer_cf());
    }
  }
};

Resumer find(World& w, const Thread& t, const ResumerCapture* c, bool live_ok) {
  RemoteMemory mem(getpid());
  return find_resumer(mem, w.layout, w.G, t.L(), c, live_ok);
}

TEST(LuajitResumer, CoroutineResumedInTheVm) {
  World w;
  Thread co(w.o(), w.G), main_thread(w.o(), w.G);
  w.resume(co, 0x10100, &main_thread);  // lj_vm_resume returns into the VM
  // A stopped process: the resumer is read as it is.
  Resumer r = find(w, co, nullptr, true);
  ASSERT_EQ(r.kind, Resumer::Kind::Found);
  EXPECT_EQ(r.L, main_thread.L());
  EXPECT_EQ(r.base, addr(main_thread.stack.data() + 10));
  // A running process without a capture: the resumer ran on, so it is not named.
  EXPECT_EQ(find(w, co, nullptr, false).kind, Resumer::Kind::Unknown);
  // With the capture: the captured resumer (its base comes from a snapshot in kperf).
  ResumerCapture c;
  c.in_vm = true;
  c.L = main_thread.L();
  r = find(w, co, &c, false);
  ASSERT_EQ(r.kind, Resumer::Kind::Found);
  EXPECT_EQ(r.L, main_thread.L());
  // The kernel side saw a resume in the VM but no resumer that checked out.
  c.L = 0;
  EXPECT_EQ(find(w, co, &c, false).kind, Resumer::Kind::Unknown);
}

TEST(LuajitResumer, ResumerThatDoesNotCheckOutIsUnknown) {
  World w;
  Thread co(w.o(), w.G), other(w.o(), w.G);
  w.resume(co, 0x10100, &other);
  other.put<std::uint64_t>(w.o().L_cframe, w.outer_cf() + 8);  // not the frame above
  EXPECT_EQ(find(w, co, nullptr, true).kind, Resumer::Kind::Unknown);
  other.put<std::uint64_t>(w.o().L_cframe, w.outer_cf());
  other.put<std::uint64_t>(w.o().L_glref, w.G + 8);  // another VM's thread
  EXPECT_EQ(find(w, co, nullptr, true).kind, Resumer::Kind::Unknown);
  other.put<std::uint64_t>(w.o().L_glref, w.G);
  other.put<std::uint64_t>(w.o().L_base, addr(other.stack.data()) + 8 * 100);  // outside its stack
  EXPECT_EQ(find(w, co, nullptr, true).kind, Resumer::Kind::Unknown);
  other.put<std::uint64_t>(w.o().L_base, addr(other.stack.data() + 4));
  EXPECT_EQ(find(w, co, nullptr, true).kind, Resumer::Kind::Found);
}

TEST(LuajitResumer, ResumedFromCOrNotRunning) {
  World w;
  Thread co(w.o(), w.G);
  EXPECT_EQ(find(w, co, nullptr, true).kind, Resumer::Kind::None);  // no C frame: not running
  w.resume(co, 0x30000, nullptr);  // lua_resume from a C host: the native stack shows it
  EXPECT_EQ(find(w, co, nullptr, true).kind, Resumer::Kind::None);
  ResumerCapture c;
  EXPECT_EQ(find(w, co, &c, false).kind, Resumer::Kind::None);
}

TEST(LuajitResumer, NgxLuaParentCoroutine) {
  World w;
  Thread child(w.o(), w.G), parent(w.o(), w.G);
  w.resume(child, 0x30000, nullptr);  // ngx_http_lua_run_thread's lua_resume
  // co_ctx records: {data, co, parent_co_ctx}; the child's is its exdata2.
  std::array<std::uint64_t, 4> child_ctx{0, child.L(), 0, 0}, parent_ctx{0, parent.L(), 0, 0};
  const std::uint32_t ex2 = exdata2_offset(w.layout);
  ASSERT_EQ(ex2, 0x68u);
  child.put<std::uint64_t>(ex2, addr(child_ctx.data()));
  // An entry coroutine (no parent): resumed by nginx's C code.
  EXPECT_EQ(find(w, child, nullptr, true).kind, Resumer::Kind::None);
  child_ctx[2] = addr(parent_ctx.data());
  Resumer r = find(w, child, nullptr, true);
  ASSERT_EQ(r.kind, Resumer::Kind::Found);
  EXPECT_EQ(r.L, parent.L());
  // A co_ctx of another coroutine: not this one's; nothing is claimed.
  child_ctx[1] = parent.L();
  EXPECT_EQ(find(w, child, nullptr, true).kind, Resumer::Kind::None);

  // Captured: the parent; an entry coroutine; an nginx coroutine whose co_ctx did not
  // check out (unknown), unless it is the main thread.
  ResumerCapture c;
  c.ngx_expected = true;
  c.ngx = true;
  c.L = parent.L();
  EXPECT_EQ(find(w, child, &c, false).L, parent.L());
  c.L = 0;
  EXPECT_EQ(find(w, child, &c, false).kind, Resumer::Kind::None);
  c.ngx = false;
  EXPECT_EQ(find(w, child, &c, false).kind, Resumer::Kind::Unknown);
  // The main thread sits right before G (GG_State).
  RemoteMemory mem(getpid());
  const std::uint64_t main_L = w.G - w.o().sizeof_lua_State;
  const std::uint64_t cf = w.child_cf();
  std::memcpy(w.gg.data() + w.o().L_cframe, &cf, sizeof cf);
  EXPECT_EQ(find_resumer(mem, w.layout, w.G, main_L, &c, false).kind, Resumer::Kind::None);
}

TEST(LuajitResumer, BeyondTheCapturedResumer) {
  World w;
  Thread co(w.o(), w.G);
  w.resume(co, 0x30000, nullptr);
  ResumerCapture c;
  c.deeper = true;  // the captured resumer was itself resumed by Lua
  ResumerCapture next = c.beyond();
  EXPECT_EQ(find(w, co, &next, false).kind, Resumer::Kind::Unknown);
  c.deeper = false;
  next = c.beyond();
  EXPECT_EQ(find(w, co, &next, false).kind, Resumer::Kind::None);
}

}  // namespace

namespace {

// coroutine.yield (or the body's return) clears L->cframe, then vm_leave_unw returns into
// coroutine.resume, which restores BASE and cur_L a few instructions later: a sample in
// that window walks the yielding coroutine (cur_L, BASE in its stack) without a C frame.
// Its resumer is no longer known: Unknown ([lua:coroutine]), never "none" (which would
// leave the coroutine's frames under whatever native frames follow).
TEST(LuajitResumer, CoroutineSwitchingBackToItsResumer) {
  World w;
  Thread co(w.o(), w.G), main_thread(w.o(), w.G);
  w.resume(co, 0x10100, &main_thread);
  co.put<std::uint64_t>(w.o().L_cframe, 0);  // yield: cframe cleared
  RemoteMemory mem(getpid());
  ResumerCapture c;  // what the sampler saw: no C frame, no resumer
  const std::array<const ResumerCapture*, 2> caps{nullptr, &c};
  for (const ResumerCapture* cap : caps) {
    EXPECT_EQ(find_resumer(mem, w.layout, w.G, co.L(), cap, false, true).kind, Resumer::Kind::Unknown);
    EXPECT_EQ(find_resumer(mem, w.layout, w.G, co.L(), cap, true, true).kind, Resumer::Kind::Unknown);
    // Not the thread the walk runs on (a suspended coroutine): nothing to look for.
    EXPECT_EQ(find_resumer(mem, w.layout, w.G, co.L(), cap, false, false).kind, Resumer::Kind::None);
  }
  // The main thread has no resumer, C frame or not (leaving its outermost lua_pcall).
  const std::uint64_t main_L = w.G - w.o().sizeof_lua_State;
  EXPECT_EQ(find_resumer(mem, w.layout, w.G, main_L, &c, false, true).kind, Resumer::Kind::None);
}

}  // namespace

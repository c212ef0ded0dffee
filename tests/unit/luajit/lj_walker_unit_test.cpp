// Unit tests of the LuaJIT walker pieces: ELF probing of the installed LuaJIT builds,
// the build-id table, fast-function names against each build's vmdef.lua, the remote
// memory reader, the proto cache (lines, names, freed-proto reuse), call-site naming and
// inlined frames rebuilt from a trace snapshot's entries.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "profiler/luajit/bytecode.hpp"
#include "profiler/luajit/elf_probe.hpp"
#include "profiler/luajit/frame_walker.hpp"
#include "profiler/luajit/ff_names.hpp"
#include "profiler/luajit/lua_frame.hpp"
#include "profiler/luajit/process_maps.hpp"
#include "profiler/luajit/proto_cache.hpp"
#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/vm_layout.hpp"

using namespace kperf::prof::lj;

namespace {

const char* kLib2 = "/usr/lib/x86_64-linux-gnu/libluajit-5.1.so.2";

std::string vanilla_root() {
  if (const char* e = std::getenv("KPERF_LUAJIT_VANILLA_DIR")) return e;
  return KPERF_BUILD_DIR "/peers/luajit-vanilla/root";
}

std::string run(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p.get())) > 0) out.append(buf, n);
  return out;
}

void check_probe(const std::string& path, bool openresty) {
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  auto p = probe_elf(path, {"lua_newstate", "luaJIT_setmode", "lua_setexdata"}, true);
  ASSERT_TRUE(p) << path;
  EXPECT_TRUE(p->symbols.count("lua_newstate"));
  EXPECT_EQ(p->symbols.count("lua_setexdata") > 0, openresty);
  ASSERT_TRUE(p->vm_code) << "interpreter FDE not found in " << path;
  auto size = p->vm_code->second - p->vm_code->first;
  EXPECT_GT(size, 8000u);
  EXPECT_LT(size, 65536u);
  // The build-id readelf prints is the one in the table.
  std::string readelf = run("readelf -n " + path + " 2>/dev/null");
  EXPECT_NE(readelf.find("Build ID: " + p->build_id), std::string::npos) << p->build_id;
  auto builds = known_builds();
  auto it = std::find_if(builds.begin(), builds.end(), [&](const KnownBuild& k) { return k.build_id == p->build_id; });
  ASSERT_NE(it, builds.end()) << path << " build-id " << p->build_id << " not in the table";
  // The layout read from the interpreter's machine code: the offsets measured on Debian's
  // builds (profiler/luajit/README.md, "LuaJIT layout facts").
  const auto d = layout_of_file(path);
  ASSERT_TRUE(d.usable) << d.message;
  EXPECT_TRUE(d.layout.known);
  EXPECT_EQ(d.layout.openresty, openresty);
  const VmOffsets& o = d.layout.off;
  EXPECT_TRUE(o.gc64);
  EXPECT_EQ(o.dispatch_from_G, openresty ? 0xfa8u : 0xf80u);
  EXPECT_EQ(o.J_from_G, openresty ? 0x2e0u : 0x2d8u);
  EXPECT_EQ(o.G_vmstate, 0xb8u);
  EXPECT_EQ(o.G_cur_L, 0x170u);
  EXPECT_EQ(o.G_jit_base, 0x178u);
  EXPECT_EQ(o.J_trace, 0x180u);
  EXPECT_EQ(o.J_sizetrace, 0x18cu);
  EXPECT_EQ(o.L_glref, 0x10u);
  EXPECT_EQ(o.L_base, 0x20u);
  EXPECT_EQ(o.L_stack, 0x38u);
  EXPECT_EQ(o.L_cframe, 0x50u);
  EXPECT_EQ(o.L_stacksize, 0x58u);
}

// ffnames from a build's jit/vmdef.lua, printed by a luajit.
std::vector<std::string> vmdef_ffnames(const std::string& luajit, const std::string& vmdef) {
  std::string out = run(fmt::format(
      "{} -e \"local v = dofile('{}') for i = 0, #v.ffnames do io.write(v.ffnames[i], '\\n') end\" 2>/dev/null",
      luajit, vmdef));
  std::vector<std::string> names;
  std::size_t pos = 0, nl;
  while ((nl = out.find('\n', pos)) != std::string::npos) {
    names.push_back(out.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return names;
}

}  // namespace

TEST(LuajitElf, Luajit2SharedLibrary) { check_probe(kLib2, true); }
TEST(LuajitElf, Luajit2Executable) { check_probe("/usr/bin/luajit", true); }
TEST(LuajitElf, VanillaSharedLibrary) {
  check_probe(vanilla_root() + "/usr/lib/x86_64-linux-gnu/libluajit-5.1.so.2.1.0", false);
}
TEST(LuajitElf, VanillaExecutable) { check_probe(vanilla_root() + "/usr/bin/luajit", false); }

TEST(LuajitElf, NoVmInOrdinaryLibrary) {
  auto p = probe_elf("/lib/x86_64-linux-gnu/libc.so.6", {"lua_newstate"}, true);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->symbols.count("lua_newstate"));
  EXPECT_FALSE(p->vm_code);
  EXPECT_FALSE(p->build_id.empty());
}

TEST(LuajitFfnames, MatchLuajit2Vmdef) {
  const std::string vmdef = "/usr/share/luajit-2.1.0-beta3/jit/vmdef.lua";
  if (!std::filesystem::exists(vmdef) || !std::filesystem::exists("/usr/bin/luajit"))
    GTEST_SKIP() << "luajit2 vmdef.lua not installed";
  auto want = vmdef_ffnames("/usr/bin/luajit", vmdef);
  auto have = ffnames_luajit2();
  ASSERT_GT(want.size(), 200u);
  ASSERT_EQ(have.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(have[i], want[i]) << "ffid " << i;
}

TEST(LuajitFfnames, MatchVanillaVmdef) {
  const std::string root = vanilla_root();
  const std::string vmdef = root + "/usr/share/luajit-2.1.0-beta3/jit/vmdef.lua";
  if (!std::filesystem::exists(vmdef))
    GTEST_SKIP() << "vanilla vmdef.lua not unpacked (dpkg -x libluajit-5.1-common into " << root << ")";
  auto want = vmdef_ffnames("/usr/bin/luajit", vmdef);
  auto have = ffnames_vanilla();
  ASSERT_GT(want.size(), 200u);
  ASSERT_EQ(have.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(have[i], want[i]) << "ffid " << i;
}

TEST(LuajitMaps, ParsesLines) {
  auto m = kperf::sym::parse_maps(
      "55d0c0a00000-55d0c0a08000 r--p 00000000 08:01 123 /usr/bin/luajit\n"
      "55d0c0a08000-55d0c0a76000 r-xp 00008000 08:01 123 /usr/bin/luajit\n"
      "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
      "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n"
      "garbage line\n");
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[1].start, 0x55d0c0a08000u);
  EXPECT_EQ(m[1].offset, 0x8000u);
  EXPECT_TRUE(m[1].exec);
  EXPECT_FALSE(m[0].exec);
  EXPECT_EQ(m[1].path, "/usr/bin/luajit");
  EXPECT_EQ(m[2].path, "");
  EXPECT_EQ(m[3].path, "[stack]");
}

TEST(LuajitRemoteMemory, ReadsAcrossPagesAndFailsOnUnmapped) {
  std::vector<unsigned char> buf(3 * 4096 + 100);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(i * 31);
  RemoteMemory mem(getpid(), 4);
  std::vector<unsigned char> got(5000);
  auto addr = reinterpret_cast<std::uint64_t>(buf.data()) + 4000;
  ASSERT_TRUE(mem.read(addr, got.data(), got.size()));
  EXPECT_EQ(0, std::memcmp(got.data(), buf.data() + 4000, got.size()));
  auto v = mem.u32(addr + 8);
  ASSERT_TRUE(v);
  std::uint32_t want;
  std::memcpy(&want, buf.data() + 4008, 4);
  EXPECT_EQ(*v, want);
  EXPECT_FALSE(mem.u64(8));  // page 0 is never mapped
}

namespace {

// A fake GCproto (GC64 layout) in this process's memory, with a chunk name, line info,
// upvalue/variable names and a string constant, to drive the proto cache and namer.
struct FakeProto {
  VmOffsets o = family_offsets(true);
  alignas(16) unsigned char str[64] = {};
  alignas(16) unsigned char gstr[64] = {};
  std::vector<unsigned char> blob;
  std::uint64_t addr = 0;

  static void put_str(unsigned char* s, const char* text) {
    s[9] = 4;  // ~LJ_TSTR
    std::uint32_t len = static_cast<std::uint32_t>(std::strlen(text));
    std::memcpy(s + 0x14, &len, 4);
    std::memcpy(s + 0x18, text, len);
  }
  template <typename T>
  void put(std::size_t off, T v) {
    std::memcpy(blob.data() + off, &v, sizeof v);
  }

  // bytecode: FUNCF; GGET A=1 D=0 ("myglobal"); MOV A=2 D=1; CALL A=2; UGET A=3 D=1; CALL A=3
  // lua20: the same with LuaJIT 2.0's opcode numbers (renumbering only: the layout
  // stays GC64's, which 2.0 never has).
  explicit FakeProto(bool lua20 = false) {
    o.lua20 = lua20;
    put_str(str, "@/srv/app/x.lua");
    put_str(gstr, "myglobal");
    const std::uint32_t FUNCF = lua20 ? 85 : 89, GGET = lua20 ? 52 : 54, MOV = lua20 ? 16 : 18,
                        CALL = lua20 ? 62 : 66, UGET = lua20 ? 43 : 45;
    const std::uint32_t bcs[] = {
        FUNCF,                                           // FUNCF
        GGET | (1u << 8) | (0u << 16),                   // GGET 1, "myglobal"
        MOV | (2u << 8) | (1u << 16),                    // MOV 2, 1
        CALL | (2u << 8) | (1u << 16) | (2u << 24),      // CALL 2
        UGET | (3u << 8) | (1u << 16),                   // UGET 3, uv#1
        CALL | (3u << 8) | (1u << 16) | (1u << 24),      // CALL 3
    };
    const std::size_t nbc = std::size(bcs);
    const std::size_t bc_off = o.sizeof_GCproto;
    const std::size_t k_off = bc_off + 4 * nbc + 8;  // one GCRef below k
    const std::size_t li_off = k_off;                // lineinfo (bytes)
    const std::size_t uv_off = li_off + 8;
    const char uvinfo[] = "first\0second\0";
    const std::size_t var_off = uv_off + sizeof uvinfo;
    // varinfo: "loc" live from pc 2 to 6 in slot 0.
    const unsigned char varinfo[] = {'l', 'o', 'c', 0, 2, 4, 0};
    blob.assign(var_off + sizeof varinfo + 8, 0);
    addr = reinterpret_cast<std::uint64_t>(blob.data());
    blob[9] = 7;  // ~LJ_TPROTO
    put<std::uint32_t>(o.pt_sizebc, static_cast<std::uint32_t>(nbc));
    put<std::uint32_t>(o.pt_sizept, static_cast<std::uint32_t>(blob.size()));
    put<std::uint64_t>(o.pt_k, addr + k_off);
    put<std::uint64_t>(k_off - 8, reinterpret_cast<std::uint64_t>(gstr));
    put<std::uint64_t>(o.pt_chunkname, reinterpret_cast<std::uint64_t>(str));
    put<std::int32_t>(o.pt_firstline, 10);
    put<std::int32_t>(o.pt_numline, 6);
    put<std::uint64_t>(o.pt_lineinfo, addr + li_off);
    put<std::uint64_t>(o.pt_uvinfo, addr + uv_off);
    put<std::uint64_t>(o.pt_varinfo, addr + var_off);
    std::memcpy(blob.data() + bc_off, bcs, sizeof bcs);
    const unsigned char lines[] = {1, 2, 2, 3, 5};  // lines of pc 1..5, relative
    std::memcpy(blob.data() + li_off, lines, sizeof lines);
    std::memcpy(blob.data() + uv_off, uvinfo, sizeof uvinfo);
    std::memcpy(blob.data() + var_off, varinfo, sizeof varinfo);
  }
};

}  // namespace

TEST(LuajitProtoCache, ReadsLinesNamesAndDetectsReuse) {
  FakeProto fp;
  RemoteMemory mem(getpid());
  ProtoCache cache;
  const Proto* p = cache.get(mem, fp.o, fp.addr);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->chunk, "/srv/app/x.lua");
  EXPECT_EQ(p->firstline, 10);
  EXPECT_EQ(p->sizebc, 6u);
  EXPECT_EQ(p->line_at(0), 10);
  EXPECT_EQ(p->line_at(3), 12);
  EXPECT_EQ(p->line_at(5), 15);
  EXPECT_EQ(p->line_at(6), 16);  // pc == sizebc: firstline + numline
  // A return PC just after the CALL at pc 3.
  EXPECT_EQ(p->pos_of_pc(p->bc_addr() + 4 * 4), 3);
  EXPECT_EQ(p->pos_of_pc(p->bc_addr() + 4 * 4 + 2), -1);
  EXPECT_EQ(p->uv_name(0), "first");
  EXPECT_EQ(p->uv_name(1), "second");
  EXPECT_EQ(p->var_name(3, 0), "loc");
  EXPECT_EQ(p->var_name(1, 0), std::nullopt);
  EXPECT_EQ(p->var_name(3, 1), std::nullopt);
  // Call-site names: CALL at 3 calls slot 2 <- MOV from slot 1 <- GGET "myglobal";
  // CALL at 5 calls slot 3 <- UGET uv#1 "second"; pc 4 is not a call (UGET): no name.
  EXPECT_EQ(bc::call_site_name(mem, *p, 3), "myglobal");
  EXPECT_EQ(bc::call_site_name(mem, *p, 5), "second");
  EXPECT_EQ(bc::call_site_name(mem, *p, 4), std::nullopt);
  EXPECT_EQ(bc::call_site_name(mem, *p, 1), "__index");  // GGET may call __index

  // Same proto again: a hit. Then the memory is "reused" by another proto.
  EXPECT_EQ(cache.get(mem, fp.o, fp.addr), p);
  EXPECT_EQ(cache.hits(), 1u);
  fp.put<std::int32_t>(fp.o.pt_firstline, 42);
  mem.clear();  // a new walk: pages are re-read
  const Proto* q = cache.get(mem, fp.o, fp.addr);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->firstline, 42);
  EXPECT_EQ(cache.reloads(), 1u);
  // Not a proto any more (freed, gct changed): no result.
  fp.blob[9] = 0;
  mem.clear();
  EXPECT_EQ(cache.get(mem, fp.o, fp.addr), nullptr);
}

// LuaJIT 2.0 numbers its opcodes without 2.1's ISTYPE/ISNUM, TGETR, TSETR: the same
// call sites get the same names once Proto::ins renumbers them.
TEST(LuajitProtoCache, NamesLuajit20CallSites) {
  FakeProto fp(true);
  RemoteMemory mem(getpid());
  ProtoCache cache;
  const Proto* p = cache.get(mem, fp.o, fp.addr);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(bc::op(p->ins(3)), bc::CALL);
  EXPECT_EQ(bc::call_site_name(mem, *p, 3), "myglobal");
  EXPECT_EQ(bc::call_site_name(mem, *p, 5), "second");
  EXPECT_EQ(bc::call_site_name(mem, *p, 1), "__index");
  // The four ranges of the renumbering: ISF 15, TGETB 56 -> 58, TSETV 57 -> 60, TSETM 60 ->
  // 63, CALLM 61 -> 65, FUNCCW 92 -> 96; operands untouched.
  const std::pair<std::uint32_t, std::uint32_t> ops[] = {{15, 15}, {16, 18}, {56, 58}, {57, 60},
                                                         {60, 63}, {61, 65}, {92, 96}};
  for (const auto& [from, to] : ops) EXPECT_EQ(bc::from_lua20(0xabcdef00u | from), 0xabcdef00u | to) << from;
}

TEST(LuajitFrameText, FoldedNames) {
  LuaFrame f;
  f.name = "fib";
  f.chunk = "/srv/app/fib.lua";
  f.firstline = 3;
  f.line = 5;
  EXPECT_EQ(f.text(), "fib /srv/app/fib.lua:3");
  EXPECT_EQ(f.text(true), "fib /srv/app/fib.lua:5");
  f.jit = true;
  EXPECT_EQ(f.text(), "fib /srv/app/fib.lua:3_[j]");
  f.chunk = "a;b";
  f.jit = false;
  EXPECT_EQ(f.text(), "fib a b:3");  // ';' would split a folded stack
  LuaFrame ff;
  ff.kind = LuaFrame::Kind::Fast;
  ff.name = "string.find";
  EXPECT_EQ(ff.text(), "string.find");
  LuaFrame c;
  c.kind = LuaFrame::Kind::C;
  c.cfunc = 0x1234;
  EXPECT_EQ(c.text(), "0x1234");
}

TEST(LuajitRemoteMemory, SnapshotsServeReadsFirst) {
  std::uint64_t live = 0x1111111111111111ull;
  auto addr = reinterpret_cast<std::uint64_t>(&live);
  RemoteMemory mem(getpid());
  std::vector<unsigned char> snap(16, 0xab);
  mem.add_snapshot(addr, snap);
  EXPECT_EQ(mem.u64(addr), 0xababababababababull);  // captured value, not the live one
  EXPECT_EQ(mem.syscalls(), 0u);
  mem.clear();
  EXPECT_EQ(mem.u64(addr), live);
  // A read that is not entirely inside a snapshot goes to the process.
  mem.add_snapshot(0x1000, std::vector<unsigned char>(8, 1));
  EXPECT_FALSE(mem.u64(0x1004));
  EXPECT_TRUE(mem.u32(0x1004));
}

namespace {

// A fake GCfunc (GC64) of a Lua function whose prototype is `pt`.
struct FakeLuaFunc {
  alignas(16) unsigned char bytes[0x30] = {};
  explicit FakeLuaFunc(const FakeProto& pt) {
    bytes[9] = 8;   // ~LJ_TFUNC
    bytes[10] = 0;  // ffid: Lua
    const std::uint64_t pc = pt.addr + pt.o.sizeof_GCproto;
    std::memcpy(bytes + pt.o.fn_pc, &pc, 8);
  }
  std::uint64_t addr() const { return reinterpret_cast<std::uint64_t>(bytes); }
};

// IR constants refs kNk..0x7fff of a fake trace: ir() is the biased GCtrace.ir, so a
// constant's 64-bit payload sits at ir + 8 * (ref + 1).
struct FakeIr {
  static constexpr std::uint32_t kNk = 0x7ff0;
  std::vector<std::uint64_t> slots = std::vector<std::uint64_t>(0x8000 - kNk + 1, 0);
  std::uint64_t ir() const { return reinterpret_cast<std::uint64_t>(slots.data()) - 8ull * kNk; }
  void set(std::uint32_t ref, std::uint64_t payload) { slots[ref + 1 - kNk] = payload; }
};

constexpr std::uint32_t kSnapFrame = 0x010000, kSnapCont = 0x020000;
std::uint32_t entry(std::uint32_t slot, std::uint32_t flags, std::uint32_t ref) { return slot << 24 | flags | ref; }

}  // namespace

TEST(LuajitInlinedFrames, RebuiltFromSnapshotEntriesOrNotAtAll) {
  FakeProto caller, callee;
  callee.put<std::int32_t>(callee.o.pt_firstline, 30);
  FakeLuaFunc fn(callee);
  FakeIr ir;
  const std::uint64_t ret = caller.addr + caller.o.sizeof_GCproto + 4 * 4;  // after the CALL at pc 3
  const std::uint64_t resume = callee.addr + callee.o.sizeof_GCproto + 4 * 3;  // resumes at pc 3 -> pos 3
  ir.set(0x7ff2, fn.addr());
  ir.set(0x7ff4, ret);
  RemoteMemory mem(getpid());
  ProtoCache protos;
  VmLayout layout;
  layout.off = family_offsets(true);
  FrameWalker walker(mem, layout, protos);
  const Proto* base = protos.get(mem, layout.off, caller.addr);
  ASSERT_NE(base, nullptr);

  // Slot 0: the trace's function; 2: some value; 4/5: the inlined call at CALL A=2.
  const std::vector<std::uint32_t> good = {entry(0, 0, 0x7ff1), entry(2, 0, 0x8003), entry(4, 0, 0x7ff2),
                                           entry(5, kSnapFrame, 0x7ff4)};
  auto frames = walker.inlined_frames(good, ir.ir(), FakeIr::kNk, *base, resume);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].kind, LuaFrame::Kind::Lua);
  EXPECT_EQ(frames[0].name, "myglobal");  // the caller's CALL at pc 3 calls GGET "myglobal"
  EXPECT_EQ(frames[0].chunk, "/srv/app/x.lua");
  EXPECT_EQ(frames[0].firstline, 30);
  EXPECT_EQ(frames[0].line, 32);  // pos 3: relative line 2
  EXPECT_TRUE(frames[0].jit);
  EXPECT_EQ(frames[0].return_pc, ret);

  // Each broken piece drops the whole chain: no frame beats a wrong one.
  auto none = [&](std::vector<std::uint32_t> entries, std::uint64_t res, const char* why) {
    mem.clear();  // a new walk: the fakes changed
    EXPECT_TRUE(walker.inlined_frames(entries, ir.ir(), FakeIr::kNk, *base, res).empty()) << why;
  };
  none({entry(4, 0, 0x8005), entry(5, kSnapFrame, 0x7ff4)}, resume, "function is an instruction, not a constant");
  none({entry(4, 0, 0x7ff2), entry(5, kSnapCont, 0x7ff4)}, resume, "continuation frame");
  none({entry(5, kSnapFrame, 0x7ff4)}, resume, "no function entry below the link");
  none(good, caller.addr + caller.o.sizeof_GCproto + 4 * 2, "resume PC not in the inlined function");
  ir.set(0x7ff4, ret + 2);
  none(good, resume, "link is not a return PC into the caller's bytecode");
  ir.set(0x7ff4, ret | 1);
  none(good, resume, "link of a C frame");
  ir.set(0x7ff4, ret);
  fn.bytes[10] = 1;  // a C function cannot be inlined into a trace
  none(good, resume, "function is not a Lua function");
  fn.bytes[10] = 0;
  mem.clear();
  EXPECT_EQ(walker.inlined_frames(good, ir.ir(), FakeIr::kNk, *base, resume).size(), 1u);
}

namespace {

// 12-byte SnapShots as LuaJIT lays them out. With mcofs (2.1 of 2021 on): mapofs u32 +0,
// ref u16 +4, mcofs u16 +6, nslots +8, topslot +9, nent +10, count +11. Older: mapofs,
// ref, nslots +6, topslot +7, nent +8, count +9, two bytes of padding.
struct Snap {
  std::uint32_t mapofs;
  std::uint16_t mcofs;
  std::uint8_t nslots, topslot, nent;
};
std::vector<std::uint8_t> snapshots(const std::vector<Snap>& v, bool with_mcofs, std::uint8_t padding = 0) {
  std::vector<std::uint8_t> out(12 * v.size(), 0);
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint8_t* p = out.data() + 12 * i;
    std::memcpy(p, &v[i].mapofs, 4);
    if (with_mcofs) {
      std::memcpy(p + 6, &v[i].mcofs, 2);
      p[8] = v[i].nslots, p[9] = v[i].topslot, p[10] = v[i].nent;
    } else {
      p[6] = v[i].nslots, p[7] = v[i].topslot, p[8] = v[i].nent;
      p[10] = p[11] = padding;
    }
  }
  return out;
}

}  // namespace

// The same 12 bytes hold snapshots with and without mcofs (old ones are padded): reading
// mcofs and nent from old ones gave a wrong executing line in a trace (luajit2 20201027
// in CI). The map offsets and mcofs' order tell them apart.
TEST(LuajitSnapshots, OnlySnapshotsWithMcofsAreRead) {
  // GC64: each map is nent entries + the 64-bit resume PC; nsnapmap ends the last.
  const std::vector<Snap> gc64 = {{0, 0, 5, 7, 3}, {5, 40, 5, 7, 2}, {9, 96, 6, 8, 4}};
  EXPECT_TRUE(snapshots_have_mcofs(snapshots(gc64, true), 3, 15, 120, true));
  EXPECT_FALSE(snapshots_have_mcofs(snapshots(gc64, false), 3, 15, 120, true));
  EXPECT_FALSE(snapshots_have_mcofs(snapshots(gc64, false, 3), 3, 15, 120, true));  // any padding
  EXPECT_FALSE(snapshots_have_mcofs(snapshots(gc64, true), 3, 16, 120, true));   // map sizes do not add up
  EXPECT_FALSE(snapshots_have_mcofs(snapshots(gc64, true), 3, 15, 90, true));    // mcofs beyond the code
  const std::vector<Snap> unordered = {{0, 0, 5, 7, 3}, {5, 96, 5, 7, 2}, {9, 40, 6, 8, 4}};
  EXPECT_FALSE(snapshots_have_mcofs(snapshots(unordered, true), 3, 15, 120, true));
  // 32-bit references: nent entries + the resume PC + frame links (one here, in snapshot 1).
  const std::vector<Snap> ref32 = {{0, 0, 5, 7, 3}, {4, 40, 5, 7, 2}, {8, 96, 6, 8, 4}};
  EXPECT_TRUE(snapshots_have_mcofs(snapshots(ref32, true), 3, 13, 120, false));
  EXPECT_FALSE(snapshots_have_mcofs(snapshots(ref32, false), 3, 13, 120, false));
  EXPECT_FALSE(snapshots_have_mcofs(snapshots(ref32, true), 3, 12, 120, false));  // the last map too short
}

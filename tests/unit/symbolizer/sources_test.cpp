// Text sources of the symbolizer: /proc/PID/maps parsing, kallsyms (synthetic and the
// live kernel's), perf-PID.map parsing and its ownership rule, demangling.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "symbolizer/demangle.hpp"
#include "symbolizer/kallsyms.hpp"
#include "symbolizer/perf_map.hpp"
#include "symbolizer/process_maps.hpp"

namespace {

using namespace kperf::sym;

TEST(Maps, ParsesFileAnonDeletedAndSpecialMappings) {
  auto maps = parse_maps(
      "7f0000001000-7f0000002000 r-xp 00001000 08:01 1234    /usr/lib/libfoo.so.1\n"
      "55550000-55551000 r--p 00000000 08:01 99 /srv/app (deleted)\n"
      "7ffd0000-7ffd1000 rw-p 00000000 00:00 0                          [stack]\n"
      "garbage line\n"
      "7f0000003000-7f0000004000 rwxp 00000000 00:00 0 \n");
  ASSERT_EQ(maps.size(), 4u);
  EXPECT_EQ(maps[0].start, 0x55550000u);
  EXPECT_TRUE(maps[0].deleted);
  EXPECT_EQ(maps[0].path, "/srv/app");
  const Mapping* m = find_mapping(maps, 0x7f0000001800);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->path, "/usr/lib/libfoo.so.1");
  EXPECT_EQ(m->offset, 0x1000u);
  EXPECT_EQ(m->inode, 1234u);
  EXPECT_TRUE(m->exec);
  EXPECT_TRUE(m->file_backed());
  EXPECT_FALSE(find_mapping(maps, 0x7f0000002000));
  EXPECT_EQ(find_mapping(maps, 0x7ffd0010)->path, "[stack]");
  EXPECT_FALSE(find_mapping(maps, 0x7ffd0010)->file_backed());
}

TEST(Kallsyms, NearestTextSymbolWithModule) {
  Kallsyms k;
  k.load_text(
      "ffffffff81000000 T _stext\n"
      "ffffffff81001000 t do_one_initcall\n"
      "ffffffff81002000 D some_data\n"
      "ffffffffc0001000 t ext4_read [ext4]\n"
      "0000000000000000 T hidden\n");
  EXPECT_EQ(k.size(), 3u);
  EXPECT_EQ(k.lookup(0xffffffff81001010)->name, "do_one_initcall");
  EXPECT_EQ(k.lookup(0xffffffffc0001004)->name, "ext4_read");
  EXPECT_EQ(k.lookup(0xffffffffc0001004)->module, "ext4");
  EXPECT_EQ(k.lookup(0xffffffff81000001)->module, "");
  EXPECT_FALSE(k.lookup(0x1000));
}

TEST(PerfMap, ParsesAndHonoursOwnership) {
  PerfMap m("/nonexistent", 0);
  m.load_text("7f00001000 40 LuaJIT trace #1\n0x7f00002000 0x10 lj_BC_FUNCF\nbad line\n");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(*m.lookup(0x7f00001000), "LuaJIT trace #1");
  EXPECT_EQ(*m.lookup(0x7f0000103f), "LuaJIT trace #1");
  EXPECT_FALSE(m.lookup(0x7f00001040));
  EXPECT_EQ(*m.lookup(0x7f00002008), "lj_BC_FUNCF");

  char path[] = "/tmp/kperf-perfmap-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = "1000 10 jitted\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  PerfMap owned(path, geteuid());
  EXPECT_TRUE(owned.refresh());
  EXPECT_EQ(*owned.lookup(0x1005), "jitted");
  if (geteuid() == 0) {
    // Owned by root: accepted for any target (root may write maps for others), so check a
    // foreign owner the other way round.
    ASSERT_EQ(chown(path, 12345, 12345), 0);
    PerfMap foreign(path, 0);
    EXPECT_FALSE(foreign.refresh()) << "a map owned by another uid must be refused";
    PerfMap target(path, 12345);
    EXPECT_TRUE(target.refresh());
  } else {
    PerfMap foreign(path, geteuid() + 1);
    EXPECT_FALSE(foreign.refresh());
  }
  unlink(path);
}

TEST(PerfMap, RefusesSymlinksAndFifos) {
  // /tmp is world-writable: a link planted as perf-PID.map must not make kperf read
  // another (root-owned) file, and a FIFO must not block the symbolizer.
  char dir[] = "/tmp/kperf-perfmap-dir-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string real = std::string(dir) + "/real.map";
  const std::string link = std::string(dir) + "/perf-1.map";
  const std::string fifo = std::string(dir) + "/perf-2.map";
  {
    std::FILE* f = std::fopen(real.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("1000 10 jitted\n", f);
    std::fclose(f);
  }
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  PerfMap direct(real, geteuid());
  EXPECT_TRUE(direct.refresh());
  PerfMap via_link(link, geteuid());
  EXPECT_FALSE(via_link.refresh()) << "a symlinked perf map must be refused";
  EXPECT_EQ(via_link.size(), 0u);
  PerfMap via_fifo(fifo, geteuid());
  EXPECT_FALSE(via_fifo.refresh()) << "a FIFO is not a perf map (and must not block)";
  unlink(link.c_str());
  unlink(fifo.c_str());
  unlink(real.c_str());
  rmdir(dir);
}

TEST(Demangle, ItaniumNamesOnlyOthersPassThrough) {
  EXPECT_EQ(demangle("_ZN2ns3fooEi"), "ns::foo(int)");
  EXPECT_EQ(demangle("main"), "main");
  EXPECT_EQ(demangle("_Zbogus"), "_Zbogus");
}

}  // namespace

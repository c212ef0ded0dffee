// parse_sample: the C++ view of the BPF record layout (profiler/bpf/sample.h).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "profiler/sample_record.hpp"

namespace kperf::prof {
namespace {

// An 8-aligned buffer holding a record with `stack_bytes` of user stack room.
struct Record {
  std::vector<uint64_t> words;
  explicit Record(size_t stack_bytes) : words((sizeof(kperf_sample) + stack_bytes + 7) / 8) {}
  kperf_sample* sample() { return reinterpret_cast<kperf_sample*>(words.data()); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words.data()); }
  std::span<const uint8_t> span(size_t size) { return {bytes(), size}; }
  size_t size() const { return words.size() * 8; }
};

TEST(SampleRecord, LayoutKeepsStackAlignedAndLuaSlotFixed) {
  EXPECT_EQ(sizeof(kperf_sample) % 8, 0u);
  EXPECT_EQ(sizeof(kperf_lua_state), 384u);
  EXPECT_EQ(offsetof(kperf_sample, ustack), sizeof(kperf_sample));
  EXPECT_EQ(offsetof(kperf_sample, regs) % 8, 0u);
}

TEST(SampleRecord, ParsesFieldsAndSpans) {
  Record r(64);
  auto* s = r.sample();
  s->time_ns = 123456789;
  s->tgid = 42;
  s->tid = 43;
  s->cpu = 1;
  s->flags = KPERF_SAMPLE_USER_REGS | KPERF_SAMPLE_IN_KERNEL;
  std::memcpy(s->comm, "nginx", 6);
  s->kstack_len = 3;
  s->kstack[0] = 0xffffffff81000010ull;
  s->kstack[2] = 0xffffffff81000030ull;
  s->ustack_len = 40;
  s->regs[KPERF_REG_RSP] = 0x7ffc0000;
  s->regs[KPERF_REG_RIP] = 0x401000;
  r.bytes()[sizeof(kperf_sample) + 39] = 0xab;

  const auto v = parse_sample(r.span(r.size()));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->tgid(), 42u);
  EXPECT_EQ(v->tid(), 43u);
  EXPECT_EQ(v->cpu(), 1u);
  EXPECT_EQ(v->time_ns(), 123456789u);
  EXPECT_EQ(v->comm(), "nginx");
  EXPECT_TRUE(v->has_user_regs());
  EXPECT_TRUE(v->in_kernel());
  EXPECT_FALSE(v->kernel_thread());
  ASSERT_EQ(v->kstack.size(), 3u);
  EXPECT_EQ(v->kstack[0], 0xffffffff81000010ull);
  EXPECT_EQ(v->kstack[2], 0xffffffff81000030ull);
  ASSERT_EQ(v->ustack.size(), 40u);
  EXPECT_EQ(v->ustack[39], 0xab);
  EXPECT_EQ(v->user_sp(), 0x7ffc0000u);
  EXPECT_EQ(v->user_ip(), 0x401000u);
}

TEST(SampleRecord, CommWithoutNulIsBounded) {
  Record r(0);
  std::memset(r.sample()->comm, 'x', KPERF_COMM_LEN);
  const auto v = parse_sample(r.span(r.size()));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->comm().size(), static_cast<size_t>(KPERF_COMM_LEN));
}

TEST(SampleRecord, RejectsShortAndInconsistentRecords) {
  Record r(64);
  EXPECT_FALSE(parse_sample(r.span(sizeof(kperf_sample) - 8)).has_value());
  r.sample()->ustack_len = 65;  // more than the record holds
  EXPECT_FALSE(parse_sample(r.span(r.size())).has_value());
  r.sample()->ustack_len = 64;
  EXPECT_TRUE(parse_sample(r.span(r.size())).has_value());
  r.sample()->kstack_len = KPERF_MAX_KSTACK + 1;
  EXPECT_FALSE(parse_sample(r.span(r.size())).has_value());
  r.sample()->kstack_len = KPERF_MAX_KSTACK;
  EXPECT_TRUE(parse_sample(r.span(r.size())).has_value());
  // Misaligned views are refused rather than read.
  EXPECT_FALSE(parse_sample(std::span<const uint8_t>(r.bytes() + 1, r.size() - 8)).has_value());
}

TEST(SampleRecord, LuaWindowsInTheTail) {
  // The Lua stack window and the coroutine resumer's window follow the user stack.
  Record r(64 + KPERF_LUA_WINDOW_BYTES + KPERF_LUA_RES_WINDOW_BYTES);
  auto& w = r.sample()->lua.words;
  const uint64_t first = sizeof(kperf_sample) + 64, second = first + KPERF_LUA_WINDOW_BYTES;
  w[KPERF_LUA_W_FLAGS] = KPERF_LUA_CAPTURED | KPERF_LUA_WINDOW | KPERF_LUA_RES_WINDOW;
  w[KPERF_LUA_W_WINDOW_OFF] = first;
  w[KPERF_LUA_W_WINDOW_LEN] = 24;
  w[KPERF_LUA_W_RES_WINDOW_OFF] = second;
  w[KPERF_LUA_W_RES_WINDOW_LEN] = 16;
  r.bytes()[second + 15] = 0xcd;
  auto v = parse_sample(r.span(r.size()));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->lua_window.size(), 24u);
  ASSERT_EQ(v->lua_resumer_window.size(), 16u);
  EXPECT_EQ(v->lua_resumer_window[15], 0xcd);
  // Without its flag, too long, or past the record's end: no resumer window.
  w[KPERF_LUA_W_FLAGS] &= ~uint64_t(KPERF_LUA_RES_WINDOW);
  EXPECT_TRUE(parse_sample(r.span(r.size()))->lua_resumer_window.empty());
  w[KPERF_LUA_W_FLAGS] |= KPERF_LUA_RES_WINDOW;
  w[KPERF_LUA_W_RES_WINDOW_LEN] = KPERF_LUA_RES_WINDOW_BYTES + 8;
  EXPECT_TRUE(parse_sample(r.span(r.size()))->lua_resumer_window.empty());
  w[KPERF_LUA_W_RES_WINDOW_LEN] = 16;
  w[KPERF_LUA_W_RES_WINDOW_OFF] = r.size() - 8;
  EXPECT_TRUE(parse_sample(r.span(r.size()))->lua_resumer_window.empty());
  EXPECT_EQ(parse_sample(r.span(r.size()))->lua_window.size(), 24u);
}

}  // namespace
}  // namespace kperf::prof

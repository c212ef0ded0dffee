// Decodes a handful of x86-64 instruction forms (see x86_decode.hpp); written from the
// Intel SDM's ModRM / SIB / REX encoding rules.
#include "profiler/luajit/x86_decode.hpp"

#include <cstring>

namespace kperf::prof::lj {
namespace {

template <typename T>
std::int64_t signed_at(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return static_cast<std::int64_t>(v);
}

}  // namespace

X86Insn decode_x86(const std::uint8_t* p, std::size_t n) {
  X86Insn in;
  std::size_t i = 0;
  std::uint8_t rex = 0;
  if (i < n && (p[i] & 0xf0) == 0x40) rex = p[i++];
  if (i >= n) return {};
  in.rex_w = rex & 8;
  const std::uint8_t op = p[i++];
  in.op = op;
  if (op >= 0xb8 && op <= 0xbf) {  // mov r, imm32 / imm64
    in.reg = (op & 7) | ((rex & 1) << 3);
    const std::size_t w = in.rex_w ? 8 : 4;
    if (n - i < w) return {};
    in.imm = in.rex_w ? signed_at<std::int64_t>(p + i) : static_cast<std::int64_t>(static_cast<std::uint32_t>(signed_at<std::int32_t>(p + i)));
    in.op = 0xb8;
    in.len = static_cast<unsigned>(i + w);
    return in;
  }
  std::size_t imm_size;
  switch (op) {
    case 0x01: case 0x03: case 0x29: case 0x2b: case 0x31: case 0x33: case 0x39: case 0x3b:
    case 0x85: case 0x89: case 0x8b: case 0x8d:
      imm_size = 0;
      break;
    case 0x83: imm_size = 1; break;
    case 0x81: case 0xc7: imm_size = 4; break;
    default: return {};
  }
  if (i >= n) return {};
  const std::uint8_t modrm = p[i++];
  const unsigned mod = modrm >> 6, rm = modrm & 7;
  in.reg = ((modrm >> 3) & 7) | ((rex & 4) << 1);
  if (mod == 3) {
    in.base = static_cast<int>(rm | ((rex & 1) << 3));
  } else {
    in.mem = true;
    if (rm == 4) {  // SIB
      if (i >= n) return {};
      const std::uint8_t sib = p[i++];
      const unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
      in.index = idx == 4 ? -1 : static_cast<int>(idx);
      in.scale = 1 << (sib >> 6);
      const unsigned b = sib & 7;
      if (b == 5 && mod == 0) {
        in.base = -1;
        if (n - i < 4) return {};
        in.disp = signed_at<std::int32_t>(p + i);
        i += 4;
      } else {
        in.base = static_cast<int>(b | ((rex & 1) << 3));
      }
    } else if (rm == 5 && mod == 0) {
      in.base = -2;  // rip-relative
      if (n - i < 4) return {};
      in.disp = signed_at<std::int32_t>(p + i);
      i += 4;
    } else {
      in.base = static_cast<int>(rm | ((rex & 1) << 3));
    }
    if (mod == 1) {
      if (i >= n) return {};
      in.disp = signed_at<std::int8_t>(p + i);
      i += 1;
    } else if (mod == 2) {
      if (n - i < 4) return {};
      in.disp = signed_at<std::int32_t>(p + i);
      i += 4;
    }
  }
  if (n - i < imm_size) return {};
  if (imm_size == 1) in.imm = signed_at<std::int8_t>(p + i);
  if (imm_size == 4) in.imm = signed_at<std::int32_t>(p + i);
  in.len = static_cast<unsigned>(i + imm_size);
  return in;
}

}  // namespace kperf::prof::lj

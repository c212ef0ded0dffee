// Reads build-id, chosen .dynsym symbols, first PT_LOAD and the interpreter's code range and bytes.
#include "profiler/luajit/elf_probe.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>
#include <set>

#include "common/unique_fd.hpp"

namespace kperf::prof::lj {
namespace {

struct ElfHandle {
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf) elf_end(elf);
  }
};

struct Cursor {
  const unsigned char* p;
  const unsigned char* end;
  bool ok = true;
  template <typename T>
  T get() {
    T v{};
    if (end - p < static_cast<std::ptrdiff_t>(sizeof(T))) {
      ok = false;
      p = end;
      return v;
    }
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
  std::uint64_t uleb() {
    std::uint64_t r = 0;
    int shift = 0;
    while (p < end) {
      unsigned char b = *p++;
      if (shift < 64) r |= std::uint64_t(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) return r;
    }
    ok = false;
    return r;
  }
  std::int64_t sleb() {
    std::int64_t r = 0;
    int shift = 0;
    unsigned char b = 0;
    while (p < end) {
      b = *p++;
      if (shift < 64) r |= std::int64_t(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) {
        if (shift < 64 && (b & 0x40)) r |= -(std::int64_t(1) << shift);
        return r;
      }
    }
    ok = false;
    return r;
  }
  // A DW_EH_PE-encoded pointer; pcrel relative to the field's own address.
  std::uint64_t encoded(unsigned char enc, std::uint64_t field_vaddr) {
    if (enc == 0xff) return 0;  // omit
    std::uint64_t v = 0;
    switch (enc & 0x0f) {
      case 0x00: v = get<std::uint64_t>(); break;
      case 0x01: v = uleb(); break;
      case 0x02: v = get<std::uint16_t>(); break;
      case 0x03: v = get<std::uint32_t>(); break;
      case 0x04: v = get<std::uint64_t>(); break;
      case 0x09: v = static_cast<std::uint64_t>(sleb()); break;
      case 0x0a: v = static_cast<std::uint64_t>(std::int64_t(get<std::int16_t>())); break;
      case 0x0b: v = static_cast<std::uint64_t>(std::int64_t(get<std::int32_t>())); break;
      case 0x0c: v = get<std::uint64_t>(); break;
      default: ok = false; return 0;
    }
    if ((enc & 0x70) == 0x10) v += field_vaddr;
    return v;
  }
};

struct Cie {
  unsigned char fde_enc = 0;  // absptr
  bool has_z = false;
};

}  // namespace

std::optional<std::pair<std::uint64_t, std::uint64_t>> find_vm_fde(const unsigned char* data, std::size_t size,
                                                                   std::uint64_t section_vaddr) {
  std::optional<std::pair<std::uint64_t, std::uint64_t>> best;
  std::size_t off = 0;
  while (off + 4 <= size) {
    std::uint32_t len32;
    std::memcpy(&len32, data + off, 4);
    if (len32 == 0) break;  // terminator
    std::size_t hdr = 4;
    std::uint64_t len = len32;
    if (len32 == 0xffffffffu) {
      if (off + 12 > size) break;
      std::memcpy(&len, data + off + 4, 8);
      hdr = 12;
    }
    std::size_t body = off + hdr;
    if (len > size - body) break;
    std::size_t next = body + len;
    Cursor c{data + body, data + next};
    std::uint32_t id = c.get<std::uint32_t>();
    if (id != 0) {
      // FDE: id is the distance back to its CIE.
      std::size_t cie_off = body - id;
      if (cie_off < size) {
        // Parse the CIE.
        std::uint32_t clen;
        std::memcpy(&clen, data + cie_off, 4);
        Cursor cc{data + cie_off + 4, data + std::min<std::size_t>(size, cie_off + 4 + clen)};
        Cie cie;
        cc.get<std::uint32_t>();  // id
        unsigned char version = cc.get<unsigned char>();
        std::string aug;
        while (cc.p < cc.end && *cc.p) aug += static_cast<char>(*cc.p++);
        ++cc.p;
        cc.uleb();
        cc.sleb();
        if (version == 1)
          cc.get<unsigned char>();
        else
          cc.uleb();
        if (!aug.empty() && aug[0] == 'z') {
          cie.has_z = true;
          cc.uleb();
          for (std::size_t i = 1; i < aug.size() && cc.ok; ++i) {
            if (aug[i] == 'R') {
              cie.fde_enc = cc.get<unsigned char>();
            } else if (aug[i] == 'P') {
              unsigned char penc = cc.get<unsigned char>();
              cc.encoded(penc & 0x7f, 0);
            } else if (aug[i] == 'L') {
              cc.get<unsigned char>();
            }
          }
        }
        if (cc.ok) {
          std::uint64_t field = section_vaddr + static_cast<std::uint64_t>(c.p - data);
          std::uint64_t begin = c.encoded(cie.fde_enc, field);
          std::uint64_t range = c.encoded(cie.fde_enc & 0x0f, 0);
          if (cie.has_z) c.p += std::min<std::uint64_t>(c.uleb(), static_cast<std::uint64_t>(c.end - c.p));
          // First instruction: DW_CFA_def_cfa_offset 80 (the VM's fixed frame).
          if (c.ok && c.end - c.p >= 2 && c.p[0] == 0x0e && c.p[1] == 80 && range >= 4096) {
            if (!best || range > best->second - best->first) best = std::make_pair(begin, begin + range);
          }
        }
      }
    }
    off = next;
  }
  return best;
}

std::optional<ElfProbe> probe_elf(const std::string& path, const std::vector<std::string>& wanted_symbols,
                                  bool want_vm_code) {
  elf_version(EV_CURRENT);
  const common::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  ElfHandle h{elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr)};
  if (!h.elf || elf_kind(h.elf) != ELF_K_ELF || gelf_getclass(h.elf) != ELFCLASS64) return std::nullopt;
  ElfProbe out;

  std::size_t phnum = 0;
  if (elf_getphdrnum(h.elf, &phnum) == 0) {
    for (std::size_t i = 0; i < phnum; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(h.elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD) {
        out.first_load_vaddr = ph.p_vaddr;
        break;
      }
    }
  }
  std::size_t shstrndx = 0;
  if (elf_getshdrstrndx(h.elf, &shstrndx) != 0) return out;
  std::set<std::string> wanted(wanted_symbols.begin(), wanted_symbols.end());

  for (Elf_Scn* scn = elf_nextscn(h.elf, nullptr); scn; scn = elf_nextscn(h.elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* name = elf_strptr(h.elf, shstrndx, sh.sh_name);
    if (sh.sh_type == SHT_NOTE && out.build_id.empty()) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      if (!d) continue;
      std::size_t off = 0;
      GElf_Nhdr nh;
      std::size_t name_off, desc_off;
      while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            std::memcmp(static_cast<char*>(d->d_buf) + name_off, "GNU", 4) == 0) {
          static const char* hex = "0123456789abcdef";
          auto* b = static_cast<unsigned char*>(d->d_buf) + desc_off;
          for (std::size_t i = 0; i < nh.n_descsz; ++i) {
            out.build_id += hex[b[i] >> 4];
            out.build_id += hex[b[i] & 15];
          }
          break;
        }
      }
    } else if (sh.sh_type == SHT_DYNSYM && !wanted.empty()) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      if (!d || sh.sh_entsize == 0) continue;
      std::size_t n = sh.sh_size / sh.sh_entsize;
      for (std::size_t i = 0; i < n; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(d, static_cast<int>(i), &sym) || sym.st_shndx == SHN_UNDEF) continue;
        const char* sname = elf_strptr(h.elf, sh.sh_link, sym.st_name);
        if (sname && wanted.count(sname)) out.symbols[sname] = sym.st_value;
      }
    } else if (want_vm_code && name && std::strcmp(name, ".eh_frame") == 0 && sh.sh_type == SHT_PROGBITS) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      if (!d || !d->d_buf) continue;
      out.vm_code = find_vm_fde(static_cast<const unsigned char*>(d->d_buf), d->d_size, sh.sh_addr);
    }
  }
  // The interpreter's bytes, through the PT_LOAD segment that holds them.
  constexpr std::uint64_t kMaxVmCode = 1 << 20;
  for (std::size_t i = 0; out.vm_code && i < phnum; ++i) {
    GElf_Phdr ph;
    const auto [lo, hi] = *out.vm_code;
    if (!gelf_getphdr(h.elf, static_cast<int>(i), &ph) || ph.p_type != PT_LOAD || lo < ph.p_vaddr ||
        hi > ph.p_vaddr + ph.p_filesz || hi - lo > kMaxVmCode)
      continue;
    out.vm_bytes.resize(hi - lo);
    const auto got = ::pread(fd.get(), out.vm_bytes.data(), out.vm_bytes.size(),
                             static_cast<off_t>(ph.p_offset + (lo - ph.p_vaddr)));
    if (got != static_cast<ssize_t>(out.vm_bytes.size())) out.vm_bytes.clear();
    break;
  }
  return out;
}

}  // namespace kperf::prof::lj

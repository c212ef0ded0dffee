// ElfFile: libelf handle lifetime, build-id notes, PT_LOAD list and the load-bias rule.
#include "symbolizer/elf_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

namespace kperf::sym {

namespace {

struct LibelfInit {
  LibelfInit() { elf_version(EV_CURRENT); }
};

void ensure_libelf() { static LibelfInit once; }

std::string hex(std::span<const uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

// The build-id in an ELF note blob (NT_GNU_BUILD_ID, owner "GNU"), empty if none.
std::string find_build_id(Elf_Data* data) {
  if (!data || !data->d_buf) return {};
  size_t off = 0;
  GElf_Nhdr nhdr;
  size_t name_off = 0, desc_off = 0;
  while (off < data->d_size) {
    size_t next = gelf_getnote(data, off, &nhdr, &name_off, &desc_off);
    if (next == 0 || next <= off) break;
    if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 && nhdr.n_descsz > 0 &&
        name_off + 4 <= data->d_size && desc_off + nhdr.n_descsz <= data->d_size &&
        std::memcmp(static_cast<const char*>(data->d_buf) + name_off, "GNU", 4) == 0) {
      return hex({static_cast<const uint8_t*>(data->d_buf) + desc_off, nhdr.n_descsz});
    }
    off = next;
  }
  return {};
}

}  // namespace

ElfFile ElfFile::open(const std::string& path) {
  ensure_libelf();
  ElfFile f;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd_ < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  f.elf_ = elf_begin(f.fd_, ELF_C_READ_MMAP, nullptr);
  f.init(path);
  return f;
}

ElfFile ElfFile::from_memory(std::vector<uint8_t> image, const std::string& name) {
  ensure_libelf();
  ElfFile f;
  f.image_ = std::move(image);
  if (!f.image_.empty())
    f.elf_ = elf_memory(reinterpret_cast<char*>(f.image_.data()), f.image_.size());
  f.init(name);
  return f;
}

void ElfFile::init(const std::string& name) {
  path_ = name;
  if (!elf_ || elf_kind(elf_) != ELF_K_ELF) throw std::runtime_error(fmt::format("{} is not an ELF file", name));
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf_, &ehdr)) throw std::runtime_error(fmt::format("{} is not an ELF file (bad header)", name));
  type_ = ehdr.e_type;
  entry_ = ehdr.e_entry;
  machine_ = ehdr.e_machine;
  has_shstrndx_ = elf_getshdrstrndx(elf_, &shstrndx_) == 0;

  size_t phnum = 0;
  if (elf_getphdrnum(elf_, &phnum) != 0) phnum = 0;
  for (size_t i = 0; i < phnum && i < 4096; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf_, static_cast<int>(i), &ph)) continue;
    if (ph.p_type == PT_LOAD) {
      loads_.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_flags});
    } else if (ph.p_type == PT_NOTE && build_id_.empty()) {
      Elf_Data* data = elf_getdata_rawchunk(elf_, static_cast<int64_t>(ph.p_offset), ph.p_filesz,
                                            ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
      build_id_ = find_build_id(data);
    }
  }
  if (build_id_.empty()) {
    Elf_Scn* scn = nullptr;
    size_t guard = 0;
    while ((scn = elf_nextscn(elf_, scn)) != nullptr && ++guard < 65536) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE) continue;
      build_id_ = find_build_id(elf_getdata(scn, nullptr));
      if (!build_id_.empty()) break;
    }
  }
}

ElfFile::ElfFile(ElfFile&& o) noexcept { *this = std::move(o); }

ElfFile& ElfFile::operator=(ElfFile&& o) noexcept {
  if (this == &o) return *this;
  if (elf_) elf_end(elf_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = o.fd_;
  elf_ = o.elf_;
  // elf_memory points into image_'s heap buffer, which std::vector's move keeps.
  image_ = std::move(o.image_);
  path_ = std::move(o.path_);
  build_id_ = std::move(o.build_id_);
  loads_ = std::move(o.loads_);
  type_ = o.type_;
  entry_ = o.entry_;
  machine_ = o.machine_;
  shstrndx_ = o.shstrndx_;
  has_shstrndx_ = o.has_shstrndx_;
  o.fd_ = -1;
  o.elf_ = nullptr;
  return *this;
}

ElfFile::~ElfFile() {
  if (elf_) elf_end(elf_);
  if (fd_ >= 0) ::close(fd_);
}

std::optional<SectionData> ElfFile::section(std::string_view name) const {
  if (!has_shstrndx_) return std::nullopt;
  Elf_Scn* scn = nullptr;
  size_t guard = 0;
  while ((scn = elf_nextscn(elf_, scn)) != nullptr && ++guard < 65536) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* n = elf_strptr(elf_, shstrndx_, sh.sh_name);
    if (!n || name != n) continue;
    if (sh.sh_type == SHT_NOBITS) return std::nullopt;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) return std::nullopt;
    return SectionData{sh.sh_addr, {static_cast<const uint8_t*>(data->d_buf), data->d_size}, scn};
  }
  return std::nullopt;
}

std::optional<std::pair<std::string, uint32_t>> ElfFile::debuglink() const {
  auto s = section(".gnu_debuglink");
  if (!s) return std::nullopt;
  auto b = s->bytes;
  size_t len = 0;
  while (len < b.size() && b[len] != 0) ++len;
  if (len == 0 || len >= b.size()) return std::nullopt;
  size_t crc_off = (len + 1 + 3) & ~size_t{3};
  if (crc_off + 4 > b.size()) return std::nullopt;
  uint32_t crc;
  std::memcpy(&crc, b.data() + crc_off, 4);
  return std::make_pair(std::string(reinterpret_cast<const char*>(b.data()), len), crc);
}

std::optional<uint64_t> ElfFile::load_bias(uint64_t map_start, uint64_t map_offset) const {
  constexpr uint64_t kPage = 4096;
  for (const auto& l : loads_) {
    uint64_t seg_off = l.offset & ~(kPage - 1);
    uint64_t seg_end = l.offset + l.filesz;
    if (map_offset < seg_off || map_offset >= std::max(seg_end, seg_off + 1)) continue;
    // File vaddr at the mapping's start: the segment's page-aligned vaddr plus how far
    // into the segment's pages the mapping begins.
    uint64_t vaddr_at_start = (l.vaddr & ~(kPage - 1)) + (map_offset - seg_off);
    return map_start - vaddr_at_start;
  }
  return std::nullopt;
}

}  // namespace kperf::sym

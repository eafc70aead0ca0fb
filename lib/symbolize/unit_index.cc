// Finding the DWARF unit of an address, the measured fast path: vmlinux has
// thousands of units and libdw opens them all to find one (seconds and
// hundreds of MiB per run), so .debug_aranges is read once into a sorted
// table, and each unit needed is opened on its own, as a view of the mapped
// file holding only that unit's bytes (UnitView). Files without
// .debug_aranges (clang's default) fall back on libdw, then on the units'
// own address ranges. Every offset read from the file is bounds-checked.
#include "symbolize/debug_object.h"

#include <dwarf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "support/byte_reader.h"
#include "support/errors.h"
#include "support/io.h"

namespace ktriage {



bool DebugObject::load_aranges() {
  if (aranges_ok_) return *aranges_ok_;
  aranges_ok_ = false;
  if (relocatable_ || !module_) return false;
  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(module_, &bias);
  GElf_Ehdr ehdr;
  if (!elf || bias != 0 || !gelf_getehdr(elf, &ehdr) || ehdr.e_type != ET_EXEC ||
      ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_ident[EI_DATA] != ELFDATA2LSB ||
      ehdr.e_shentsize != sizeof(Elf64_Shdr)) {
    return false;
  }
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return false;
  size_t rawsize = 0;
  if (!elf_rawfile(elf, &rawsize)) return false;
  file_size_ = rawsize;
  shoff_ = ehdr.e_shoff;
  Elf_Data* aranges = nullptr;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) return false;
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (!name) continue;
    if (std::strcmp(name, ".debug_info") == 0) {
      if (shdr.sh_flags & SHF_COMPRESSED) return false;
      debug_info_index_ = elf_ndxscn(scn);
      debug_info_offset_ = shdr.sh_offset;
      debug_info_size_ = shdr.sh_size;
    } else if (std::strcmp(name, ".debug_aranges") == 0 && !(shdr.sh_flags & SHF_COMPRESSED)) {
      aranges = elf_getdata(scn, nullptr);
    } else if (!(shdr.sh_flags & SHF_COMPRESSED) && shdr.sh_type != SHT_NOBITS &&
               shdr.sh_offset <= rawsize && shdr.sh_size <= rawsize - shdr.sh_offset) {
      if (std::strcmp(name, ".debug_line") == 0) debug_line_ = {shdr.sh_offset, shdr.sh_size};
      if (std::strcmp(name, ".debug_line_str") == 0) debug_line_str_ = {shdr.sh_offset, shdr.sh_size};
      if (std::strcmp(name, ".debug_str") == 0) debug_str_ = {shdr.sh_offset, shdr.sh_size};
    }
  }
  if (!aranges || !aranges->d_buf || debug_info_size_ == 0) return false;
  // DWARF 2-5 .debug_aranges: sets of (address, length) tuples per unit.
  support::ByteReader r(static_cast<const uint8_t*>(aranges->d_buf), aranges->d_size);
  while (r.ok() && r.left() > 0) {
    uint64_t length = r.le(4);
    size_t offset_size = 4;
    if (length == 0xffffffff) {
      length = r.le(8);
      offset_size = 8;
    }
    const size_t set_start = r.pos();
    if (!r.ok() || length > r.size() - set_start) break;
    const size_t set_end = set_start + length;
    r.le(2);  // version
    const uint64_t cu_offset = r.le(offset_size);
    const uint64_t address_size = r.le(1);
    r.le(1);  // segment selector size
    if (!r.ok() || (address_size != 8 && address_size != 4)) break;
    // Tuples start at a multiple of twice the address size from the set.
    const size_t header = r.pos() - (set_start - (offset_size == 8 ? 12 : 4));
    const size_t align = 2 * address_size;
    r.skip((align - header % align) % align);
    while (r.ok() && r.pos() + 2 * address_size <= set_end) {
      uint64_t begin = r.le(address_size);
      uint64_t len = r.le(address_size);
      if (begin == 0 && len == 0) break;
      if (len != 0 && begin + len > begin) aranges_.push_back({begin, begin + len, cu_offset});
    }
    r.seek(set_end);
  }
  if (aranges_.empty()) return false;
  std::sort(aranges_.begin(), aranges_.end(),
            [](const Arange& a, const Arange& b) { return a.begin < b.begin; });
  aranges_ok_ = true;
  return true;
}

Dwarf* DebugObject::unit_dwarf(uint64_t cu_offset, std::string* error) {
  auto it = units_.find(cu_offset);
  if (it != units_.end()) return it->second ? it->second->dwarf : nullptr;
  std::unique_ptr<UnitView>& view = units_[cu_offset];
  // One private (copy-on-write) mapping of the file serves every unit: its
  // .debug_info section header is rewritten before each dwarf_begin_elf(),
  // which reads the section headers once and keeps its own Elf_Data.
  if (!image_) {
    int fd = ::open(open_path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *error = fmt::format("{}: {}", path_, std::strerror(errno));
      return nullptr;
    }
    support::FdCloser closer{fd};
    void* map = mmap(nullptr, file_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      *error = fmt::format("{}: mmap: {}", path_, std::strerror(errno));
      return nullptr;
    }
    image_ = map;
  }
  auto v = std::make_unique<UnitView>();
  auto* bytes = static_cast<uint8_t*>(image_);
  if (cu_offset >= debug_info_size_ || debug_info_offset_ > file_size_ ||
      debug_info_size_ > file_size_ - debug_info_offset_) {
    *error = fmt::format("unit offset {:#x} outside .debug_info", cu_offset);
    return nullptr;
  }
  support::ByteReader r(bytes + debug_info_offset_ + cu_offset, debug_info_size_ - cu_offset);
  uint64_t unit_length = r.le(4);
  if (unit_length == 0xffffffff) unit_length = r.le(8);
  if (!r.ok() || unit_length > r.left()) {
    *error = fmt::format("unit at {:#x}: bad length", cu_offset);
    return nullptr;
  }
  const uint64_t unit_size = r.pos() + unit_length;
  const size_t shdr_at = shoff_ + debug_info_index_ * sizeof(Elf64_Shdr);
  if (shoff_ > file_size_ || !support::within(shdr_at, sizeof(Elf64_Shdr), file_size_)) {
    *error = "bad section header table";
    return nullptr;
  }
  Elf64_Shdr shdr;
  std::memcpy(&shdr, bytes + shdr_at, sizeof shdr);
  shdr.sh_offset = debug_info_offset_ + cu_offset;
  shdr.sh_size = unit_size;
  std::memcpy(bytes + shdr_at, &shdr, sizeof shdr);  // private copy of one page
  v->elf = elf_memory(static_cast<char*>(image_), file_size_);
  if (!v->elf) {
    *error = support::libelf_error(path_).message;
    return nullptr;
  }
  v->dwarf = dwarf_begin_elf(v->elf, DWARF_C_READ, nullptr);
  if (!v->dwarf) {
    *error = support::libdw_error(path_).message;
    return nullptr;
  }
  view = std::move(v);
  return view->dwarf;
}

const LineProgram* DebugObject::unit_lines(Dwarf_Die* cudie, const std::string& comp_dir) {
  if (!current_unit_ || !image_) return nullptr;
  UnitView& u = *current_unit_;
  if (!u.lines_tried) {
    u.lines_tried = true;
    Dwarf_Attribute a;
    Dwarf_Word stmt_list = 0;
    if (dwarf_attr(cudie, DW_AT_stmt_list, &a) && dwarf_formudata(&a, &stmt_list) == 0) {
      const char* base = static_cast<const char*>(image_);
      auto view = [&](const Extent& e) { return std::string_view(base + e.offset, e.size); };
      u.lines = LineProgram::parse({view(debug_line_), view(debug_line_str_), view(debug_str_)},
                                   stmt_list, comp_dir);
    }
  }
  return u.lines ? &*u.lines : nullptr;
}

bool DebugObject::find_cu(uint64_t address, Dwarf_Die* cudie, uint64_t* pc, std::string* error) {
  if (load_aranges()) {
    auto it = std::upper_bound(aranges_.begin(), aranges_.end(), address,
                               [](uint64_t a, const Arange& r) { return a < r.begin; });
    while (it != aranges_.begin()) {
      --it;
      if (address < it->end) break;
      if (it == aranges_.begin()) {
        it = aranges_.end();
        break;
      }
    }
    if (it == aranges_.end() || address < it->begin || address >= it->end) {
      *error = fmt::format("no DWARF unit covers {:#x} in {}", address, path_);
      return false;
    }
    Dwarf* dwarf = unit_dwarf(it->cu_offset, error);
    if (!dwarf) return false;
    current_unit_ = units_[it->cu_offset].get();
    Dwarf_Off next = 0;
    size_t header_size = 0;
    if (dwarf_nextcu(dwarf, 0, &next, &header_size, nullptr, nullptr, nullptr) != 0 ||
        !dwarf_offdie(dwarf, header_size, cudie)) {
      *error = support::libdw_error(fmt::format("unit at {:#x} in {}", it->cu_offset, path_)).message;
      return false;
    }
    *pc = address;
    return true;
  }
  current_unit_ = nullptr;
  Dwarf_Addr bias = 0;
  if (Dwarf_Die* cu = dwfl_module_addrdie(module_, address, &bias)) {
    *cudie = *cu;
    *pc = address - bias;
    return true;
  }
  // libdw finds units through .debug_aranges, which clang does not emit by
  // default: fall back on the units' own DW_AT_low_pc/high_pc/ranges.
  Dwarf* dwarf = dwfl_module_getdwarf(module_, &bias);
  if (dwarf && address >= bias) {
    if (!unit_ranges_) {
      unit_ranges_.emplace();
      Dwarf_CU* unit = nullptr;
      Dwarf_Die die;
      while (dwarf_get_units(dwarf, unit, &unit, nullptr, nullptr, &die, nullptr) == 0) {
        Dwarf_Addr base = 0, begin = 0, end = 0;
        for (ptrdiff_t at = 0; (at = dwarf_ranges(&die, at, &base, &begin, &end)) > 0;) {
          if (begin < end) unit_ranges_->push_back({begin, end, dwarf_dieoffset(&die)});
        }
      }
      std::sort(unit_ranges_->begin(), unit_ranges_->end(),
                [](const Arange& a, const Arange& b) { return a.begin < b.begin; });
    }
    const uint64_t dwarf_pc = address - bias;
    for (const Arange& r : *unit_ranges_) {
      if (r.begin > dwarf_pc) break;
      if (dwarf_pc < r.end && dwarf_offdie(dwarf, r.cu_offset, cudie)) {
        *pc = dwarf_pc;
        return true;
      }
    }
  }
  *error = fmt::format("no DWARF unit covers {:#x} in {}", address, path_);
  return false;
}

}  // namespace ktriage

// A module function's relocations, read with libelf from the .ko: which
// fields of its stored bytes the module loader patches, and to what symbol.
// Listings name call targets with them; the Code: comparison skips them.
//
// Section-relative relocations (gcc uses the section symbol for static
// functions and data) are turned into the named symbol that contains the
// target. For PC-relative ones the target is S + A + (end of instruction - P);
// the instruction end is not known here, so targets are computed as if the
// field ended the instruction (true for calls, jumps and most rip-relative
// operands) and the listing corrects by the bytes that follow the field.
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "ktriage/disasm.h"
#include "support/elf_path.h"
#include "support/errors.h"

namespace ktriage {
namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

struct RelocKind {
  uint32_t size = 0;  // 0: not a field we understand
  bool pc_relative = false;
};

RelocKind reloc_kind(uint16_t machine, uint32_t type) {
  if (machine == EM_X86_64) {
    switch (type) {
      case R_X86_64_64: return {8, false};
      case R_X86_64_PC32:
      case R_X86_64_PLT32:
      case R_X86_64_GOTPCREL: return {4, true};
      case R_X86_64_32:
      case R_X86_64_32S: return {4, false};
      case R_X86_64_PC64: return {8, true};
      default: return {};
    }
  }
  if (machine == EM_AARCH64) {
    switch (type) {
      case R_AARCH64_ABS64: return {8, false};
      case R_AARCH64_ABS32: return {4, false};
      case R_AARCH64_PREL32: return {4, true};
      case R_AARCH64_CALL26:
      case R_AARCH64_JUMP26:
      case R_AARCH64_CONDBR19:
      case R_AARCH64_TSTBR14:
      case R_AARCH64_ADR_PREL_LO21:
      case R_AARCH64_ADR_PREL_PG_HI21:
      case R_AARCH64_ADR_PREL_PG_HI21_NC: return {4, true};
      case R_AARCH64_ADD_ABS_LO12_NC:
      case R_AARCH64_LDST8_ABS_LO12_NC:
      case R_AARCH64_LDST16_ABS_LO12_NC:
      case R_AARCH64_LDST32_ABS_LO12_NC:
      case R_AARCH64_LDST64_ABS_LO12_NC:
      case R_AARCH64_LDST128_ABS_LO12_NC: return {4, false};
      default: return {};
    }
  }
  return {};
}

struct NamedSymbol {
  std::string name;
  size_t section = 0;
  uint64_t value = 0, size = 0;
};

}  // namespace

Expected<std::vector<CodeRelocation>> read_function_relocations(const std::string& path, const std::string& function) {
  if (elf_version(EV_CURRENT) == EV_NONE) return Error{"libelf: version mismatch"};
  Expected<support::ElfPath> file = support::ElfPath::open(path);  // .ko.xz, .ko.zst
  if (!file) return file.error();
  Fd fd(open(file->path().c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Error{fmt::format("cannot open {}", path)};
  ElfPtr elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return support::libelf_error(fmt::format("libelf: {}: not an ELF file", path));
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr)) return support::libelf_error(fmt::format("libelf: {}: gelf_getehdr", path));
  if (ehdr.e_type != ET_REL) return Error{fmt::format("{} is not relocatable", path)};

  // The symbol table, and every named function/object symbol by section.
  Elf_Scn* symtab = nullptr;
  GElf_Shdr symtab_hdr;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
      symtab = scn;
      symtab_hdr = sh;
      break;
    }
  }
  if (!symtab) return Error{fmt::format("{} has no symbol table", path)};
  Elf_Data* symdata = elf_getdata(symtab, nullptr);
  if (!symdata || symtab_hdr.sh_entsize == 0) return support::libelf_error(fmt::format("libelf: {}: symbol table data", path));
  const size_t nsyms = symdata->d_size / symtab_hdr.sh_entsize;

  std::vector<NamedSymbol> named;
  std::optional<NamedSymbol> fn;
  for (size_t i = 1; i < nsyms; ++i) {
    GElf_Sym s;
    if (!gelf_getsym(symdata, static_cast<int>(i), &s)) continue;
    const int type = GELF_ST_TYPE(s.st_info);
    if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) || s.st_shndx == SHN_UNDEF ||
        s.st_shndx >= SHN_LORESERVE) {
      continue;
    }
    const char* name = elf_strptr(elf.get(), symtab_hdr.sh_link, s.st_name);
    if (!name || !*name) continue;
    NamedSymbol n{name, s.st_shndx, s.st_value, s.st_size};
    if (type == STT_FUNC && n.name == function && (!fn || n.size > fn->size)) fn = n;
    if (type != STT_NOTYPE) named.push_back(std::move(n));
  }
  if (!fn) return Error{fmt::format("{} has no function {}", path, function)};

  // The named symbol containing `value` in `section` (a section symbol's target).
  auto name_in_section = [&](size_t section, uint64_t value) -> std::optional<std::pair<std::string, int64_t>> {
    const NamedSymbol* best = nullptr;
    for (const NamedSymbol& n : named) {
      if (n.section != section || n.value > value) continue;
      if (value >= n.value + std::max<uint64_t>(n.size, 1) && !(n.size == 0 && value == n.value)) continue;
      if (!best || n.value > best->value) best = &n;
    }
    if (!best) return std::nullopt;
    return std::make_pair(best->name, static_cast<int64_t>(value - best->value));
  };

  std::vector<CodeRelocation> out;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_RELA && sh.sh_type != SHT_REL) || sh.sh_info != fn->section ||
        sh.sh_entsize == 0) {
      continue;
    }
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    const size_t n = data->d_size / sh.sh_entsize;
    for (size_t i = 0; i < n; ++i) {
      GElf_Rela r{};
      if (sh.sh_type == SHT_RELA) {
        if (!gelf_getrela(data, static_cast<int>(i), &r)) continue;
      } else {
        GElf_Rel rel;
        if (!gelf_getrel(data, static_cast<int>(i), &rel)) continue;
        r.r_offset = rel.r_offset;
        r.r_info = rel.r_info;
      }
      if (r.r_offset < fn->value || r.r_offset - fn->value >= fn->size) continue;
      const RelocKind kind = reloc_kind(ehdr.e_machine, static_cast<uint32_t>(GELF_R_TYPE(r.r_info)));
      if (kind.size == 0) continue;
      CodeRelocation c;
      c.offset = r.r_offset - fn->value;
      c.size = kind.size;
      c.pc_relative = kind.pc_relative;
      // As if the field ended the instruction (see the file comment).
      const int64_t adjust = kind.pc_relative && ehdr.e_machine == EM_X86_64 ? kind.size : 0;
      GElf_Sym s;
      const size_t symi = GELF_R_SYM(r.r_info);
      if (symi != 0 && symi < nsyms && gelf_getsym(symdata, static_cast<int>(symi), &s)) {
        if (GELF_ST_TYPE(s.st_info) == STT_SECTION) {
          const int64_t target = static_cast<int64_t>(s.st_value) + r.r_addend + adjust;
          if (auto hit = target >= 0 ? name_in_section(s.st_shndx, static_cast<uint64_t>(target)) : std::nullopt) {
            c.symbol = hit->first;
            c.addend = hit->second;
          } else {
            Elf_Scn* target_scn = elf_getscn(elf.get(), s.st_shndx);
            GElf_Shdr tsh;
            size_t shstrndx = 0;
            if (target_scn && gelf_getshdr(target_scn, &tsh) && elf_getshdrstrndx(elf.get(), &shstrndx) == 0) {
              if (const char* sn = elf_strptr(elf.get(), shstrndx, tsh.sh_name)) c.symbol = sn;
            }
            c.addend = target;
          }
        } else if (const char* name = elf_strptr(elf.get(), symtab_hdr.sh_link, s.st_name)) {
          c.symbol = name;
          c.addend = r.r_addend + adjust;
        }
      }
      out.push_back(std::move(c));
    }
  }
  std::sort(out.begin(), out.end(), [](const CodeRelocation& a, const CodeRelocation& b) { return a.offset < b.offset; });
  return out;
}

}  // namespace ktriage

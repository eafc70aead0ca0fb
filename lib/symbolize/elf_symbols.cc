// The ELF symbol table of a debug file: every defined symbol read once into a
// table sorted by address (libdwfl's dwfl_module_addrinfo() scans all of
// vmlinux's 150k symbols per lookup; listings ask per operand), symbols by
// name, the gaps between them, text ranges and string literals.
#include "symbolize/debug_object.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include <fmt/format.h>

namespace ktriage {

namespace {

// One ELF symbol as the scans see it, from either reader below.
struct RawSym {
  const char* name;
  uint64_t address;
  uint64_t size;
  uint32_t section;
  int type;
};

// Direct walk over an executable's .symtab (vmlinux: 150k entries): no
// per-symbol library calls or locks. Returns false when the file is not a
// plain ELF64 little-endian symtab, so the caller falls back to libdwfl.
template <typename Fn>
bool for_each_raw_symbol(Elf* elf, Fn&& fn) {
  GElf_Ehdr ehdr;
  if (!elf || !gelf_getehdr(elf, &ehdr) || ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
      ehdr.e_ident[EI_DATA] != ELFDATA2LSB) {
    return false;
  }
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB) continue;
    Elf_Data* syms = elf_getdata(scn, nullptr);
    Elf_Scn* strscn = elf_getscn(elf, shdr.sh_link);
    Elf_Data* strs = strscn ? elf_getdata(strscn, nullptr) : nullptr;
    if (!syms || !strs || !syms->d_buf || !strs->d_buf || shdr.sh_entsize != sizeof(Elf64_Sym)) {
      return false;
    }
    const auto* table = static_cast<const Elf64_Sym*>(syms->d_buf);
    const size_t count = syms->d_size / sizeof(Elf64_Sym);
    const char* names = static_cast<const char*>(strs->d_buf);
    const size_t names_size = strs->d_size;
    for (size_t i = 1; i < count; ++i) {
      const Elf64_Sym& sym = table[i];
      if (sym.st_name >= names_size || sym.st_shndx == SHN_UNDEF) continue;
      fn(RawSym{names + sym.st_name, sym.st_value, sym.st_size, sym.st_shndx,
                ELF64_ST_TYPE(sym.st_info)},
         names_size - sym.st_name);
    }
    return true;
  }
  return false;
}

// Every defined symbol of a module: straight from the mapped .symtab when the
// file is loaded unbiased (fast, no libdwfl symbol table), else via libdwfl.
template <typename Visit>
void for_each_defined_symbol(Dwfl_Module* module, bool relocatable, Visit&& visit) {
  GElf_Addr bias = 0;
  Elf* elf = relocatable ? nullptr : dwfl_module_getelf(module, &bias);
  if (elf && bias == 0 &&
      for_each_raw_symbol(elf, [&](const RawSym& s, size_t max_len) { visit(s, max_len); })) {
    return;
  }
  const int count = dwfl_module_getsymtab(module);
  for (int i = 1; i < count; ++i) {
    GElf_Sym sym;
    GElf_Addr addr = 0;
    GElf_Word shndx = 0;
    const char* name = dwfl_module_getsym_info(module, i, &sym, &addr, &shndx, nullptr, nullptr);
    if (!name || shndx == SHN_UNDEF) continue;
    visit(RawSym{name, addr, sym.st_size, shndx, GELF_ST_TYPE(sym.st_info)},
          std::numeric_limits<size_t>::max());
  }
}

}  // namespace

namespace {

// The first four bytes of a name, zero-padded: a cheap filter that rejects
// almost every one of vmlinux's 150k symbols before any hashing.
uint32_t name_prefix(const char* name, size_t max_len) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && i < max_len && name[i] != '\0'; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(name[i])) << (8 * i);
  }
  return v;
}

}  // namespace

void DebugObject::scan_elf_symbols(const std::vector<std::string>& names) {
  std::unordered_set<std::string_view> wanted;
  // Bitmap over a hash of the 4-byte prefix: one load per symbol.
  constexpr unsigned kBits = 16;
  std::vector<uint64_t> prefix_bits((1u << kBits) / 64);
  auto slot = [](uint32_t prefix) { return (prefix * 0x9E3779B1u) >> (32 - kBits); };
  for (const std::string& n : names) {
    if (by_name_.count(n) || n.empty()) continue;
    wanted.insert(n);
    const uint32_t b = slot(name_prefix(n.c_str(), n.size()));
    prefix_bits[b / 64] |= uint64_t{1} << (b % 64);
  }
  if (wanted.empty() || !module_) return;
  for (const std::string& n : names) by_name_.try_emplace(n);

  // All symbols go through one visitor, from the raw table or libdwfl.
  auto scan = [&](auto&& visit) { for_each_defined_symbol(module_, relocatable_, visit); };

  std::vector<ElfSymbol> found;
  constexpr size_t kMaxName = 4096;
  scan([&](const RawSym& s, size_t max_len) {
    if (s.type == STT_SECTION || s.type == STT_FILE) return;
    const uint32_t b = slot(name_prefix(s.name, max_len));
    if (!(prefix_bits[b / 64] >> (b % 64) & 1)) return;
    const size_t len = strnlen(s.name, std::min(max_len, kMaxName));
    std::string_view name(s.name, len);
    if (!wanted.count(name)) return;
    found.push_back(ElfSymbol{std::string(name), s.address, s.size, s.section, 0});
  });
  if (found.empty()) return;

  for (ElfSymbol& f : found) {
    by_name_[f.name].push_back(f);
    gaps_pending_.push_back(f.name);
  }
}

void DebugObject::ensure_gaps() {
  if (gaps_pending_.empty() || kind_ != Kind::elf) return;
  std::vector<ElfSymbol> found;
  std::sort(gaps_pending_.begin(), gaps_pending_.end());
  gaps_pending_.erase(std::unique(gaps_pending_.begin(), gaps_pending_.end()), gaps_pending_.end());
  for (const std::string& n : gaps_pending_) {
    for (const ElfSymbol& f : by_name_[n]) found.push_back(f);
  }
  gaps_pending_.clear();
  if (found.empty()) return;
  auto scan = [&](auto&& visit) { for_each_defined_symbol(module_, relocatable_, visit); };
  // Second pass: distance to the next symbol in the same section, which is
  // what kallsyms prints as the size. Each symbol can only be the "next"
  // of the closest found symbol below it, so one binary search per symbol.
  std::sort(found.begin(), found.end(), [](const ElfSymbol& a, const ElfSymbol& b) {
    return std::tie(a.section, a.address) < std::tie(b.section, b.address);
  });
  scan([&](const RawSym& s, size_t) {
    if (s.type == STT_SECTION || s.type == STT_FILE) return;
    auto it = std::lower_bound(found.begin(), found.end(), s, [](const ElfSymbol& f, const RawSym& r) {
      return std::tie(f.section, f.address) < std::tie(r.section, r.address);
    });
    if (it == found.begin()) return;
    --it;
    if (it->section != s.section || s.address <= it->address) return;
    const uint64_t gap = s.address - it->address;
    if (it->gap == 0 || gap < it->gap) it->gap = gap;
  });
  for (size_t i = 0; i + 1 < found.size(); ++i) {
    ElfSymbol& f = found[i];
    // The next found symbol at a higher address bounds the gap too.
    for (size_t j = i + 1; j < found.size() && found[j].section == f.section; ++j) {
      if (found[j].address > f.address) {
        const uint64_t gap = found[j].address - f.address;
        if (f.gap == 0 || gap < f.gap) f.gap = gap;
        break;
      }
    }
  }
  // No later symbol in its section: kallsyms' size runs to the end of the
  // module/kernel text (crc_itu_t+0x17/0x1000), anything from st_size up fits.
  for (ElfSymbol& f : found) {
    if (f.gap == 0) f.gap = kLastInSection;
  }
  for (auto& [n, list] : by_name_) {
    for (ElfSymbol& s : list) {
      auto it = std::find_if(found.begin(), found.end(), [&](const ElfSymbol& f) {
        return f.name == s.name && f.address == s.address && f.section == s.section;
      });
      if (it != found.end()) s.gap = it->gap;
    }
  }
}

void DebugObject::prefetch(const std::vector<std::string>& names) {
  if (kind_ == Kind::elf) scan_elf_symbols(names);
}

const std::vector<ElfSymbol>& DebugObject::symbols_named(const std::string& name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end() && kind_ == Kind::elf) {
    scan_elf_symbols({name});
    it = by_name_.find(name);
  }
  static const std::vector<ElfSymbol> kNone;
  return it == by_name_.end() ? kNone : it->second;
}

std::optional<ElfSymbol> DebugObject::symbol_at(uint64_t address, uint64_t* offset) {
  if (kind_ == Kind::symbol_map) {
    auto it = std::upper_bound(sorted_.begin(), sorted_.end(), address,
                               [](uint64_t a, const ElfSymbol& s) { return a < s.address; });
    if (it == sorted_.begin()) return std::nullopt;
    --it;
    if (it->gap != 0 && address - it->address >= it->gap) return std::nullopt;
    *offset = address - it->address;
    return *it;
  }
  if (!module_) return std::nullopt;
  // dwfl_module_addrinfo scans the whole symbol table on every call (150k
  // symbols in vmlinux); listings ask for every operand, so sort once.
  if (!by_address_) {
    by_address_.emplace();
    for_each_defined_symbol(module_, relocatable_, [&](const RawSym& sym, size_t max_len) {
      if (sym.type == STT_SECTION || sym.type == STT_FILE || sym.type == STT_TLS || max_len == 0 ||
          sym.name[0] == '\0' || sym.name[0] == '$' || sym.section == SHN_ABS || sym.section == SHN_COMMON) {
        return;  // $x/$d: arm mapping symbols; absolute values are not places
      }
      by_address_->push_back({sym.address, sym.size, sym.section, sym.name});
    });
    std::stable_sort(by_address_->begin(), by_address_->end(),
                     [](const AddressedSymbol& a, const AddressedSymbol& b) { return a.address < b.address; });
  }
  auto it = std::upper_bound(by_address_->begin(), by_address_->end(), address,
                             [](uint64_t a, const AddressedSymbol& s) { return a < s.address; });
  // libdwfl's rule: the nearest sized symbol that contains `address`, else
  // the nearest sizeless one (a label) in the same section; nothing when
  // `address` only lies past the end of a sized symbol.
  const AddressedSymbol* pick = nullptr;
  const AddressedSymbol* label = nullptr;
  constexpr int kLookBack = 64;  // symbols overlapping one address are few
  for (int n = 0; it != by_address_->begin() && n < kLookBack && !pick; ++n) {
    --it;
    if (it->size > 0 && address - it->address < it->size) pick = &*it;
    else if (it->size == 0 && !label) label = &*it;
  }
  if (!pick && label) {
    std::optional<Section> in = section_at(address);
    if (in && label->address >= in->begin && label->address < in->end) pick = label;
  }
  if (!pick) return std::nullopt;
  ElfSymbol s;
  s.name = pick->name;
  s.address = pick->address;
  s.size = pick->size;
  s.section = pick->section;
  *offset = address - pick->address;
  return s;
}

std::vector<std::pair<uint64_t, uint64_t>> DebugObject::text_ranges() {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (kind_ == Kind::symbol_map) {
    for (const ElfSymbol& s : sorted_) {
      if (s.section != 1) continue;
      if (out.empty()) out.emplace_back(s.address, s.address);
      out.back().second = std::max(out.back().second, s.address + std::max<uint64_t>(s.gap, 1));
    }
    return out;
  }
  GElf_Addr bias = 0;
  Elf* elf = module_ ? dwfl_module_getelf(module_, &bias) : nullptr;
  if (!elf || relocatable_) return out;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || !(shdr.sh_flags & SHF_EXECINSTR) || shdr.sh_size == 0) continue;
    if (shdr.sh_addr + bias + shdr.sh_size < shdr.sh_addr + bias) continue;
    out.emplace_back(shdr.sh_addr + bias, shdr.sh_addr + bias + shdr.sh_size);
  }
  return out;
}

std::optional<std::string> DebugObject::string_at_symbol(const std::string& name) {
  if (kind_ != Kind::elf || !module_) return std::nullopt;
  const std::vector<ElfSymbol>& syms = symbols_named(name);
  if (syms.empty()) return std::nullopt;
  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(module_, &bias);
  if (!elf) return std::nullopt;
  Elf_Scn* scn = elf_getscn(elf, syms.front().section);
  GElf_Shdr shdr;
  if (!scn || !gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS) return std::nullopt;
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || !data->d_buf) return std::nullopt;
  uint64_t addr = syms.front().address - bias;
  if (addr < shdr.sh_addr) return std::nullopt;
  uint64_t pos = addr - shdr.sh_addr;
  if (pos >= data->d_size) return std::nullopt;
  const char* p = static_cast<const char*>(data->d_buf) + pos;
  size_t max = std::min<uint64_t>(data->d_size - pos, 1024);
  return std::string(p, strnlen(p, max));
}

std::optional<DebugObject::Section> DebugObject::section_at(uint64_t address) {
  if (kind_ != Kind::elf || !module_) return std::nullopt;
  Dwarf_Addr offset = address;
  Dwarf_Addr bias = 0;
  Elf_Scn* scn = dwfl_module_address_section(module_, &offset, &bias);
  GElf_Shdr shdr;
  if (!scn || !gelf_getshdr(scn, &shdr) || offset > address) return std::nullopt;
  Section out;
  out.begin = address - offset;
  if (shdr.sh_size > std::numeric_limits<uint64_t>::max() - out.begin) return std::nullopt;
  out.end = out.begin + shdr.sh_size;
  GElf_Addr elf_bias = 0;
  Elf* elf = dwfl_module_getelf(module_, &elf_bias);
  size_t shstrndx = 0;
  if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
    if (const char* name = elf_strptr(elf, shstrndx, shdr.sh_name)) out.name = name;
  }
  return out;
}

Expected<std::vector<uint8_t>> DebugObject::read_bytes(uint64_t address, uint64_t size) {
  if (kind_ != Kind::elf || !module_) return Error{fmt::format("{}: a symbol map holds no code", path_)};
  Dwarf_Addr offset = address;
  Dwarf_Addr bias = 0;
  // Rewrites `offset` to be relative to the section; works for the
  // relocatable layout libdwfl gives a .ko as well as for vmlinux.
  Elf_Scn* scn = dwfl_module_address_section(module_, &offset, &bias);
  GElf_Shdr shdr;
  if (!scn || !gelf_getshdr(scn, &shdr)) {
    return Error{fmt::format("{:#x} is in no section of {}", address, path_)};
  }
  if (shdr.sh_type == SHT_NOBITS) {
    return Error{fmt::format("{}: the section at {:#x} holds no bytes (a debug-only file?)", path_, address)};
  }
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || !data->d_buf || offset > data->d_size || size > data->d_size - offset) {
    return Error{fmt::format("{}: {} bytes at {:#x} run past their section", path_, size, address)};
  }
  const uint8_t* p = static_cast<const uint8_t*>(data->d_buf) + offset;
  return std::vector<uint8_t>(p, p + size);
}

}  // namespace ktriage

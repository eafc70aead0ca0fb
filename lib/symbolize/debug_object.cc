// libdwfl/libdw/libelf access for one debug file. Every libdw/libelf
// failure becomes an Error (or a per-frame message) right where it happens.
#include "symbolize/debug_object.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>

namespace ktriage {
namespace {

Error dwfl_error(std::string_view what) {
  const char* msg = dwfl_errmsg(-1);
  return Error{fmt::format("{}: {}", what, msg ? msg : "unknown libdwfl error")};
}

// Offline use: the file we were given is the whole story; never go looking
// for separate debug files of the host by build-id or debuglink.
int find_no_debuginfo(Dwfl_Module*, void**, const char*, Dwarf_Addr, const char*, const char*,
                      GElf_Word, char**) {
  return -1;
}

char* g_debuginfo_path = nullptr;
const Dwfl_Callbacks kOfflineCallbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = find_no_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &g_debuginfo_path,
};

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};
struct ElfEnder {
  void operator()(Elf* e) const { elf_end(e); }
};

// Rejects what libelf/libdw would otherwise read out of bounds or choke on:
// not ELF, truncated headers, section contents past the end of the file.
Expected<bool> check_elf_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  FdCloser closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  if (!S_ISREG(st.st_mode)) return Error{fmt::format("{}: not a regular file", path)};
  if (st.st_size == 0) return Error{fmt::format("{}: empty file", path)};
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  elf_version(EV_CURRENT);
  std::unique_ptr<Elf, ElfEnder> elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
  if (!elf) return Error{fmt::format("{}: {}", path, elf_errmsg(-1))};
  if (elf_kind(elf.get()) != ELF_K_ELF) return Error{fmt::format("{}: not an ELF file", path)};
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr)) {
    return Error{fmt::format("{}: bad ELF header: {}", path, elf_errmsg(-1))};
  }
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_REL && ehdr.e_type != ET_DYN) {
    return Error{fmt::format("{}: ELF type {} is not an executable or object", path, ehdr.e_type)};
  }
  // libelf quietly reports zero sections when the header table lies past
  // the end of the file (a truncated download): check it ourselves.
  const uint64_t shentsize = ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Shdr)
                                                                  : sizeof(Elf32_Shdr);
  if (ehdr.e_shoff == 0 || ehdr.e_shentsize != shentsize) {
    return Error{fmt::format("{}: no usable section header table", path)};
  }
  size_t shnum = 0;
  if (elf_getshdrnum(elf.get(), &shnum) != 0) {
    return Error{fmt::format("{}: bad section headers: {}", path, elf_errmsg(-1))};
  }
  if (shnum == 0 || shnum > 1'000'000 || ehdr.e_shoff > file_size ||
      shnum > (file_size - ehdr.e_shoff) / shentsize) {
    return Error{fmt::format(
        "{}: section header table ({} entries at {:#x}) does not fit in the file ({} bytes): "
        "truncated?", path, ehdr.e_shnum, ehdr.e_shoff, file_size)};
  }
  bool has_debug_info = false;
  size_t shstrndx = 0;
  bool have_names = elf_getshdrstrndx(elf.get(), &shstrndx) == 0;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) {
      return Error{fmt::format("{}: bad section header: {}", path, elf_errmsg(-1))};
    }
    if (shdr.sh_type == SHT_NOBITS || shdr.sh_type == SHT_NULL) continue;
    if (shdr.sh_offset > file_size || shdr.sh_size > file_size - shdr.sh_offset) {
      return Error{fmt::format("{}: section {} extends past the end of the file ({} + {} > {})",
                               path, elf_ndxscn(scn), shdr.sh_offset, shdr.sh_size, file_size)};
    }
    if (have_names) {
      const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
      if (name && std::strcmp(name, ".debug_info") == 0 && shdr.sh_size > 0) has_debug_info = true;
    }
  }
  return has_debug_info;
}

std::string attr_string(Dwarf_Die* die, unsigned attr) {
  Dwarf_Attribute a;
  if (!dwarf_attr_integrate(die, attr, &a)) return {};
  const char* s = dwarf_formstring(&a);
  return s ? s : "";
}

std::optional<uint64_t> attr_udata(Dwarf_Die* die, unsigned attr) {
  Dwarf_Attribute a;
  Dwarf_Word w = 0;
  if (!dwarf_attr(die, attr, &a) || dwarf_formudata(&a, &w) != 0) return std::nullopt;
  return w;
}

std::string die_function_name(Dwarf_Die* die) {
  std::string name = attr_string(die, DW_AT_name);
  if (name.empty()) name = attr_string(die, DW_AT_linkage_name);
  return name.empty() ? "??" : name;
}

std::string dirname_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

constexpr int kMaxInlineDepth = 64;

// The concrete scopes containing pc, innermost first: subprograms, inlined
// instances and lexical blocks, found by descending only into DIEs whose
// ranges hold pc. (dwarf_getscopes() would continue an inlined instance
// with its abstract definition's scopes instead of its callers.)
std::vector<Dwarf_Die> function_scopes(Dwarf_Die* cudie, Dwarf_Addr pc) {
  std::vector<Dwarf_Die> path;
  Dwarf_Die parent = *cudie;
  for (int depth = 0; depth < 4 * kMaxInlineDepth; ++depth) {
    Dwarf_Die child;
    if (dwarf_child(&parent, &child) != 0) break;
    bool descended = false;
    int siblings = 0;
    do {
      const int tag = dwarf_tag(&child);
      if ((tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
           tag == DW_TAG_lexical_block || tag == DW_TAG_entry_point) &&
          dwarf_haspc(&child, pc) == 1) {
        path.push_back(child);
        parent = child;
        descended = true;
        break;
      }
    } while (++siblings < 10'000'000 && dwarf_siblingof(&child, &child) == 0);
    if (!descended) break;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace

void DebugObject::DwflCloser::operator()(Dwfl* d) const { dwfl_end(d); }

DebugObject::~DebugObject() {
  units_.clear();  // their Elf/Dwarf point into image_
  if (image_) munmap(image_, file_size_);
}

Expected<std::shared_ptr<DebugObject>> DebugObject::open_elf(const std::string& path,
                                                             const std::string& name) {
  Expected<bool> checked = check_elf_file(path);
  if (!checked) return checked.error();
  std::shared_ptr<DebugObject> obj(new DebugObject());
  obj->kind_ = Kind::elf;
  obj->name_ = name;
  obj->path_ = path;
  obj->dwfl_.reset(dwfl_begin(&kOfflineCallbacks));
  if (!obj->dwfl_) return dwfl_error(path);
  dwfl_report_begin(obj->dwfl_.get());
  obj->module_ = dwfl_report_offline(obj->dwfl_.get(), name.c_str(), path.c_str(), -1);
  if (!obj->module_) return dwfl_error(path);
  if (dwfl_report_end(obj->dwfl_.get(), nullptr, nullptr) != 0) return dwfl_error(path);
  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(obj->module_, &bias);
  if (!elf) return dwfl_error(path);
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf, &ehdr)) return Error{fmt::format("{}: {}", path, elf_errmsg(-1))};
  obj->relocatable_ = ehdr.e_type == ET_REL;
  // An executable's DWARF needs no relocation: a .debug_info section is
  // enough. A .ko's is only usable once libdwfl has relocated it.
  if (!*checked || !obj->relocatable_) obj->has_dwarf_ = *checked;
  return obj;
}

Expected<std::shared_ptr<DebugObject>> DebugObject::open_symbol_map(const std::string& path,
                                                                    const std::string& name) {
  std::shared_ptr<DebugObject> obj(new DebugObject());
  obj->kind_ = Kind::symbol_map;
  obj->name_ = name;
  obj->path_ = path;
  obj->has_dwarf_ = false;
  std::ifstream in(path);
  if (!in) return Error{fmt::format("{}: cannot open", path)};
  std::string line;
  size_t lines = 0, bad = 0;
  while (std::getline(in, line)) {
    // "ffffffff81000000 T _stext" or kallsyms "ffffffffc0201000 t crc_itu_t\t[crc_itu_t]";
    // `nm` output also has "                 U name" lines without a value.
    if (line.empty() || line[0] == ' ') continue;
    ++lines;
    char* end = nullptr;
    errno = 0;
    unsigned long long addr = std::strtoull(line.c_str(), &end, 16);
    std::string_view rest = end && *end == ' ' ? std::string_view(end + 1) : std::string_view();
    if (end == line.c_str() || errno != 0 || rest.size() < 3 || rest[1] != ' ') {
      ++bad;
      if (lines >= 16 && bad * 10 > lines) break;
      continue;
    }
    char type = rest[0];
    std::string_view sym = rest.substr(2);
    size_t ws = sym.find_first_of(" \t");
    bool in_module = ws != std::string_view::npos && sym.find('[', ws) != std::string_view::npos;
    if (ws != std::string_view::npos) sym = sym.substr(0, ws);
    if (in_module || sym.empty()) continue;  // module symbols: runtime addresses, skip
    bool text = type == 't' || type == 'T' || type == 'w' || type == 'W';
    ElfSymbol s;
    s.name = std::string(sym);
    s.address = addr;
    s.section = text ? 1 : 2;  // text vs everything else, for gaps
    obj->sorted_.push_back(std::move(s));
  }
  if (lines == 0 || bad * 10 > lines) {
    return Error{fmt::format("{}: not a System.map/kallsyms file ({} of {} lines unreadable)",
                             path, bad, lines)};
  }
  if (obj->sorted_.empty()) return Error{fmt::format("{}: no symbols", path)};
  std::stable_sort(obj->sorted_.begin(), obj->sorted_.end(),
                   [](const ElfSymbol& a, const ElfSymbol& b) { return a.address < b.address; });
  // kallsyms' own notion of size: up to the next symbol with a higher address.
  for (size_t i = 0; i < obj->sorted_.size(); ++i) {
    for (size_t j = i + 1; j < obj->sorted_.size(); ++j) {
      if (obj->sorted_[j].address > obj->sorted_[i].address) {
        obj->sorted_[i].gap = obj->sorted_[j].address - obj->sorted_[i].address;
        break;
      }
    }
    obj->by_name_[obj->sorted_[i].name].push_back(obj->sorted_[i]);
  }
  return obj;
}

bool DebugObject::has_dwarf() {
  if (!has_dwarf_) {
    Dwarf_Addr bias = 0;
    has_dwarf_ = module_ && dwfl_module_getdwarf(module_, &bias) != nullptr;
  }
  return *has_dwarf_;
}

std::string DebugObject::build_id() {
  if (!module_) return {};
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  int len = dwfl_module_build_id(module_, &bits, &vaddr);
  std::string out;
  for (int i = 0; i < len && i < 64; ++i) out += fmt::format("{:02x}", bits[i]);
  return out;
}

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

struct DebugObject::UnitView {
  Elf* elf = nullptr;
  Dwarf* dwarf = nullptr;
  bool lines_tried = false;
  std::optional<LineProgram> lines;
  ~UnitView() {
    if (dwarf) dwarf_end(dwarf);
    if (elf) elf_end(elf);
  }
};

namespace {

// Bounds-checked little-endian reader over a section's bytes.
struct Reader {
  const uint8_t* p;
  size_t size;
  size_t pos = 0;
  bool ok = true;
  uint64_t read(size_t n) {
    if (!ok || n > size - pos) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[pos + i]) << (8 * i);
    pos += n;
    return v;
  }
};

}  // namespace

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
  Reader r{static_cast<const uint8_t*>(aranges->d_buf), aranges->d_size};
  while (r.ok && r.pos < r.size) {
    uint64_t length = r.read(4);
    size_t offset_size = 4;
    if (length == 0xffffffff) {
      length = r.read(8);
      offset_size = 8;
    }
    const size_t set_start = r.pos;
    if (!r.ok || length > r.size - set_start) break;
    const size_t set_end = set_start + length;
    r.read(2);  // version
    const uint64_t cu_offset = r.read(offset_size);
    const uint64_t address_size = r.read(1);
    r.read(1);  // segment selector size
    if (!r.ok || (address_size != 8 && address_size != 4)) break;
    // Tuples start at a multiple of twice the address size from the set.
    const size_t header = r.pos - (set_start - (offset_size == 8 ? 12 : 4));
    const size_t align = 2 * address_size;
    r.pos += (align - header % align) % align;
    while (r.ok && r.pos + 2 * address_size <= set_end) {
      uint64_t begin = r.read(address_size);
      uint64_t len = r.read(address_size);
      if (begin == 0 && len == 0) break;
      if (len != 0 && begin + len > begin) aranges_.push_back({begin, begin + len, cu_offset});
    }
    r.pos = set_end;
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
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *error = fmt::format("{}: {}", path_, std::strerror(errno));
      return nullptr;
    }
    FdCloser closer{fd};
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
  Reader r{bytes + debug_info_offset_ + cu_offset, debug_info_size_ - cu_offset};
  uint64_t unit_length = r.read(4);
  if (unit_length == 0xffffffff) unit_length = r.read(8);
  if (!r.ok || unit_length > r.size - r.pos) {
    *error = fmt::format("unit at {:#x}: bad length", cu_offset);
    return nullptr;
  }
  const uint64_t unit_size = r.pos + unit_length;
  const size_t shdr_at = shoff_ + debug_info_index_ * sizeof(Elf64_Shdr);
  if (shoff_ > file_size_ || shdr_at + sizeof(Elf64_Shdr) > file_size_) {
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
    *error = fmt::format("{}: {}", path_, elf_errmsg(-1));
    return nullptr;
  }
  v->dwarf = dwarf_begin_elf(v->elf, DWARF_C_READ, nullptr);
  if (!v->dwarf) {
    *error = fmt::format("{}: {}", path_, dwarf_errmsg(-1));
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
      *error = fmt::format("unit at {:#x} in {}: {}", it->cu_offset, path_, dwarf_errmsg(-1));
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

void DebugObject::describe(uint64_t address, FrameSymbolization& out,
                           const DebugInfoOptions& options) {
  if (kind_ == Kind::symbol_map) {
    out.symbolize_error = fmt::format("{} is a symbol map: no source lines", path_);
    return;
  }
  if (!has_dwarf()) {
    out.symbolize_error = fmt::format("{} has no DWARF: symbol only", path_);
    return;
  }
  const bool cacheable = !cache_path_.empty() && options.strip_prefixes.empty();
  if (cacheable) {
    if (auto hit = cached_addresses_.find(address); hit != cached_addresses_.end()) {
      out.source = hit->second.source;
      out.inlined = hit->second.inlined;
      if (!hit->second.error.empty()) out.symbolize_error = hit->second.error;
      add_source_context(out, options);
      return;
    }
  }
  describe_dwarf(address, out, options);
  if (cacheable) {
    cached_addresses_[address] = {out.source, out.inlined, out.symbolize_error};
    cache_dirty_ = true;
  }
  add_source_context(out, options);
}

void DebugObject::describe_dwarf(uint64_t address, FrameSymbolization& out,
                                 const DebugInfoOptions& options) {
  Dwarf_Die cudie;
  uint64_t pc = 0;
  if (!find_cu(address, &cudie, &pc, &out.symbolize_error)) return;

  std::vector<std::string> prefixes = options.strip_prefixes;
  std::string comp_dir = attr_string(&cudie, DW_AT_comp_dir);
  if (!comp_dir.empty()) prefixes.push_back(comp_dir);
  // An out-of-tree module's own files are shown relative to its directory.
  std::string module_dir;
  if (relocatable_) {
    std::string cu_name = attr_string(&cudie, DW_AT_name);
    if (!cu_name.empty() && cu_name.front() == '/' &&
        kernel_relative_path(cu_name, prefixes) == cu_name) {
      module_dir = dirname_of(cu_name);
    }
  }
  auto relative = [&](const char* file) -> std::string {
    if (!file) return "??";
    return kernel_relative_path(file, prefixes, module_dir);
  };

  SourceLocation innermost;
  const LineProgram* program = unit_lines(&cudie, comp_dir);
  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (program) {
    if (std::optional<LineRow> row = program->lookup(pc)) {
      innermost.file = row->file < program->files().size()
                           ? relative(program->files()[row->file].c_str())
                           : "??";
      innermost.line = row->line;
      innermost.column = row->column;
      out.source = innermost;
    } else {
      out.symbolize_error = fmt::format("no line information for {:#x} in {}", pc, path_);
    }
  } else {
    if (Dwarf_Line* line = dwarf_getsrc_die(&cudie, pc)) {
      innermost.file = relative(dwarf_linesrc(line, nullptr, nullptr));
      int lineno = 0, col = 0;
      dwarf_lineno(line, &lineno);
      dwarf_linecol(line, &col);
      innermost.line = lineno > 0 ? static_cast<uint32_t>(lineno) : 0;
      innermost.column = col > 0 ? static_cast<uint32_t>(col) : 0;
      out.source = innermost;
    } else {
      out.symbolize_error = fmt::format("no line information for {:#x} in {}", pc, path_);
    }
    if (dwarf_getsrcfiles(&cudie, &files, &nfiles) != 0) files = nullptr;
  }
  auto call_file = [&](uint64_t index) -> std::string {
    if (program) {
      return index < program->files().size() ? relative(program->files()[index].c_str()) : "??";
    }
    return files && index < nfiles ? relative(dwarf_filesrc(files, index, nullptr, nullptr)) : "??";
  };

  std::vector<Dwarf_Die> scopes = function_scopes(&cudie, pc);
  const int nscopes = static_cast<int>(scopes.size());
  SourceLocation current = innermost;
  for (int i = 0; i < nscopes && i < kMaxInlineDepth; ++i) {
    Dwarf_Die* scope = &scopes[i];
    int tag = dwarf_tag(scope);
    if (tag == DW_TAG_inlined_subroutine) {
      out.inlined.push_back({die_function_name(scope), current});
      SourceLocation call;
      if (auto f = attr_udata(scope, DW_AT_call_file)) call.file = call_file(*f);
      if (auto l = attr_udata(scope, DW_AT_call_line)) call.line = static_cast<uint32_t>(*l);
      if (auto c = attr_udata(scope, DW_AT_call_column)) call.column = static_cast<uint32_t>(*c);
      current = call;
    } else if (tag == DW_TAG_subprogram) {
      out.inlined.push_back({die_function_name(scope), current});
      break;
    }
  }
  // Assembler units have lines but no subprogram DIEs: the chain is the
  // ELF symbol itself.
  if (out.inlined.empty() && out.source && !out.function.empty()) {
    out.inlined.push_back({out.function, current});
  }
}

void DebugObject::add_source_context(FrameSymbolization& out, const DebugInfoOptions& options) {
  if (!options.source_root.empty() && out.source && out.source->line > 0 &&
      out.source->file.front() != '/') {
    auto [it, inserted] = file_cache_.try_emplace(out.source->file);
    if (inserted) {
      std::ifstream in(options.source_root + "/" + out.source->file);
      std::string text;
      while (in && std::getline(in, text)) it->second.push_back(text);
    }
    const std::vector<std::string>& lines = it->second;
    uint32_t n = options.source_context_lines;
    uint32_t first = out.source->line > n ? out.source->line - n : 1;
    for (uint32_t l = first; l <= out.source->line + n && l <= lines.size(); ++l) {
      out.source_context.push_back({l, lines[l - 1]});
    }
  }
}

}  // namespace ktriage

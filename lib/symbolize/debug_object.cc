// libdwfl/libdw/libelf access for one debug file. Every libdw/libelf
// failure becomes an Error (or a per-frame message) right where it happens.
#include "symbolize/debug_object.h"
#include "symbolize/dwarf_scopes.h"
#include "support/errors.h"
#include "support/io.h"

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

struct ElfEnder {
  void operator()(Elf* e) const { elf_end(e); }
};

// Rejects what libelf/libdw would otherwise read out of bounds or choke on:
// not ELF, truncated headers, section contents past the end of the file.
Expected<bool> check_elf_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  support::FdCloser closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) return Error{fmt::format("{}: {}", path, std::strerror(errno))};
  if (!S_ISREG(st.st_mode)) return Error{fmt::format("{}: not a regular file", path)};
  if (st.st_size == 0) return Error{fmt::format("{}: empty file", path)};
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  elf_version(EV_CURRENT);
  std::unique_ptr<Elf, ElfEnder> elf(elf_begin(fd, ELF_C_READ_MMAP, nullptr));
  if (!elf) return support::libelf_error(path);
  if (elf_kind(elf.get()) != ELF_K_ELF) return Error{fmt::format("{}: not an ELF file", path)};
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr)) {
    return support::libelf_error(path + ": bad ELF header");
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
    return support::libelf_error(path + ": bad section headers");
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
      return support::libelf_error(path + ": bad section header");
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

}  // namespace

void DebugObject::DwflCloser::operator()(Dwfl* d) const { dwfl_end(d); }

DebugObject::~DebugObject() {
  units_.clear();  // their Elf/Dwarf point into image_
  if (image_) munmap(image_, file_size_);
}

Expected<std::shared_ptr<DebugObject>> DebugObject::open_elf(const std::string& path,
                                                             const std::string& name) {
  Expected<support::ElfPath> elfOrErr = support::ElfPath::open(path);
  if (!elfOrErr) return elfOrErr.error();
  Expected<bool> checked = check_elf_file(elfOrErr->path());
  if (!checked) {
    // Named as the user gave it, not as /proc/self/fd/N.
    std::string message = checked.error().message;
    if (size_t at = message.find(elfOrErr->path()); elfOrErr->decompressed() && at != std::string::npos)
      message.replace(at, elfOrErr->path().size(), path + " (decompressed)");
    return Error{message};
  }
  std::shared_ptr<DebugObject> obj(new DebugObject());
  obj->kind_ = Kind::elf;
  obj->name_ = name;
  obj->path_ = path;
  if (elfOrErr->decompressed()) obj->elf_ = std::move(*elfOrErr);
  obj->dwfl_.reset(dwfl_begin(&kOfflineCallbacks));
  if (!obj->dwfl_) return support::libdwfl_error(path);
  dwfl_report_begin(obj->dwfl_.get());
  obj->module_ = dwfl_report_offline(obj->dwfl_.get(), name.c_str(), obj->open_path().c_str(), -1);
  if (!obj->module_) return support::libdwfl_error(path);
  if (dwfl_report_end(obj->dwfl_.get(), nullptr, nullptr) != 0) return support::libdwfl_error(path);
  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(obj->module_, &bias);
  if (!elf) return support::libdwfl_error(path);
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf, &ehdr)) return support::libelf_error(path);
  obj->relocatable_ = ehdr.e_type == ET_REL;
  obj->machine_ = ehdr.e_machine;
  // A program interpreter marks a user-space program (/bin/ls), never a kernel.
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum && !obj->program_; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) && phdr.p_type == PT_INTERP) obj->program_ = true;
    }
  }
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

const DebugObject::DeclLines& DebugObject::unit_decl_lines(Dwarf_Die* cudie) {
  auto [it, fresh] = decl_lines_.try_emplace(dwarf_dieoffset(cudie));
  if (!fresh) return it->second;
  Dwarf_Die child;
  int line = 0, siblings = 0;
  if (dwarf_child(cudie, &child) == 0) {
    do {
      // Functions and variables: types outnumber them in a kernel unit, and
      // leaving them out only widens the ranges.
      const int tag = dwarf_tag(&child);
      if (tag != DW_TAG_subprogram && tag != DW_TAG_variable) continue;
      const char* file = dwarf_decl_file(&child);
      if (file && dwarf_decl_line(&child, &line) == 0 && line > 0) it->second[file].push_back(line);
    } while (++siblings < 1'000'000 && dwarf_siblingof(&child, &child) == 0);
  }
  for (auto& [file, lines] : it->second) std::sort(lines.begin(), lines.end());
  return it->second;
}

namespace {

// Flipped bytes in .debug_line still decode, to lines of nothing
// (crashzoo.c:28101 in a 356-line file, or every line 300 too far). Two
// checks against .debug_info, which the damage leaves alone:
//  - a row's line in a file lies before the end of the file's last
//    top-level declaration's function, give or take kPastEnd lines;
//  - (modules) at each function's entry one of the rows is its own: in its
//    file, on its declaration's line or after it and before the unit's next
//    top-level declaration in that file (gcc and clang attribute the
//    prologue to the declaration). Damage shifts every row after it, so one
//    function out of place condemns the unit's lines.
// Shifts of a line or two inside a function cannot be told without the
// source.
constexpr int kPastEnd = 1000;

bool before_end(std::string_view file, int line, const DebugObject::DeclLines& decls,
                const std::function<std::string(const char*)>& relative) {
  for (const auto& [decl_file, lines] : decls)
    if (!lines.empty() && relative(decl_file.c_str()) == file) return line < lines.back() + kPastEnd;
  return true;  // no declaration in that file: nothing to check against
}

bool entry_row_is_own(Dwarf_Die* cudie, Dwarf_Die* fn, const DebugObject::DeclLines& decls,
                      const std::function<std::string(const char*)>& relative) {
  const char* decl_file = dwarf_decl_file(fn);
  int decl_line = 0;
  Dwarf_Addr entry = 0;
  Dwarf_Lines* lines = nullptr;
  size_t n = 0;
  if (!decl_file || dwarf_decl_line(fn, &decl_line) != 0 || decl_line <= 0 || dwarf_entrypc(fn, &entry) != 0 ||
      dwarf_getsrclines(cudie, &lines, &n) != 0 || n == 0)
    return true;  // nothing to check against
  int end = std::numeric_limits<int>::max();
  if (auto it = decls.find(std::string_view(decl_file)); it != decls.end())
    if (auto next = std::upper_bound(it->second.begin(), it->second.end(), decl_line); next != it->second.end())
      end = *next;
  const std::string own_file = relative(decl_file);
  // libdw sorts the rows by address: the first at the entry, then all there.
  auto addr = [&](size_t i) {
    Dwarf_Addr a = 0;
    Dwarf_Line* l = dwarf_onesrcline(lines, i);
    return l && dwarf_lineaddr(l, &a) == 0 ? a : Dwarf_Addr{0};
  };
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (addr(mid) < entry) lo = mid + 1;
    else hi = mid;
  }
  bool any = false;
  for (size_t i = lo; i < n && addr(i) == entry; ++i) {
    Dwarf_Line* l = dwarf_onesrcline(lines, i);
    int line = 0;
    if (!l || dwarf_lineno(l, &line) != 0 || line == 0) continue;
    any = true;
    if (line >= decl_line && line < end && relative(dwarf_linesrc(l, nullptr, nullptr)) == own_file) return true;
  }
  return !any;  // no row at the entry at all: nothing to say
}

}  // namespace

// See before_end and entry_row_is_own.
bool DebugObject::lines_agree(Dwarf_Die* cudie, const LineProgram* program,
                              const std::function<std::string(const char*)>& relative, const SourceLocation& at) {
  const DeclLines& decls = unit_decl_lines(cudie);
  if (!before_end(at.file, static_cast<int>(at.line), decls, relative)) return false;
  if (program) return true;  // vmlinux's streaming reader: no sorted table to look entries up in
  auto [known, fresh] = unit_lines_agree_.try_emplace(dwarf_dieoffset(cudie), true);
  if (fresh) {
    Dwarf_Die child;
    int siblings = 0;
    if (dwarf_child(cudie, &child) == 0) {
      do {
        if (dwarf_tag(&child) == DW_TAG_subprogram && dwarf_hasattr(&child, DW_AT_low_pc) &&
            !entry_row_is_own(cudie, &child, decls, relative))
          known->second = false;
      } while (known->second && ++siblings < 1'000'000 && dwarf_siblingof(&child, &child) == 0);
    }
  }
  return known->second;
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

  std::vector<Dwarf_Die> scopes = symbolize::concrete_scopes(&cudie, pc);
  if (out.source && out.source->line == 0) {
    // Line 0: code the compiler attributes to no line.
    out.source.reset();
    innermost = {};
  }
  if (out.source && !lines_agree(&cudie, program, relative, *out.source)) {
    // No line beats a wrong one.
    out.source.reset();
    innermost = {};
    out.symbolize_error = fmt::format("the line table of {} disagrees with its declarations "
                                      "(damaged debug info, or another build's): no source line",
                                      path_);
  }
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

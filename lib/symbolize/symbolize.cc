// The Symbolizer: picks debug files for a report, computes the KASLR
// offset, resolves every frame, and says whether the files match the log.
#include "ktriage/symbolize.h"

#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "ktriage/kernel_facts.h"
#include "symbolize/debug_object.h"

namespace ktriage {
namespace fs = std::filesystem;

namespace {

std::string module_key(std::string_view name) {
  std::string key(name);
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

// "crc-itu-t.ko.debug" -> ("crc_itu_t", rank); rank orders the candidates
// for one module: files that usually carry DWARF first.
std::optional<std::pair<std::string, int>> module_file_key(const std::string& file) {
  static constexpr std::pair<std::string_view, int> kSuffixes[] = {
      {".ko.debug", 0}, {".ko", 1}, {".ko.xz", 2}, {".ko.zst", 3}, {".ko.gz", 4}};
  for (auto [suffix, rank] : kSuffixes) {
    if (file.size() > suffix.size() &&
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return std::pair{module_key(file.substr(0, file.size() - suffix.size())), rank};
    }
  }
  return std::nullopt;
}

bool looks_like_elf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' &&
         magic[3] == 'F';
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Why `path` is no debug file to read: "no such file", "a directory", ...
std::string not_a_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  switch (st.type()) {
    case fs::file_type::not_found: return "no such file";
    case fs::file_type::directory: return "a directory, not a file (modules go in --modules DIR)";
    case fs::file_type::character: return "a character device, not a file";
    case fs::file_type::block: return "a block device, not a file";
    case fs::file_type::fifo: return "a FIFO, not a file (it is read more than once)";
    case fs::file_type::socket: return "a socket, not a file";
    default: return ec ? ec.message() : "not a regular file";
  }
}

// "Linux version 6.1.0-56-cloud-amd64 (debian-kernel@...) (gcc-12 ...) #1 SMP ... Debian 6.1.192-2 (2025-..)"
std::string banner_release(const std::string& banner) {
  constexpr std::string_view kPrefix = "Linux version ";
  if (banner.compare(0, kPrefix.size(), kPrefix) != 0) return {};
  size_t end = banner.find(' ', kPrefix.size());
  return banner.substr(kPrefix.size(), end == std::string::npos ? end : end - kPrefix.size());
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\n') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Symbols named like `sym`, with kallsyms-style gaps computed when st_size
// alone cannot decide (duplicates, or a printed size beyond padding).
const std::vector<ElfSymbol>& candidates(DebugObject& object, const Symbol& sym) {
  const std::vector<ElfSymbol>& list = object.symbols_named(sym.function);
  if (!sym.size || list.empty()) return list;
  const uint64_t printed = *sym.size;
  bool need = list.size() > 1;
  for (const ElfSymbol& e : list) {
    // st_size 0 (assembler labels): nothing to compare without the gap,
    // but also nothing to choose between when the name is unique.
    if (e.gap == 0 && e.size != 0 && (printed < e.size || printed - e.size >= 16)) need = true;
  }
  if (!need) return list;
  object.ensure_gaps();
  return object.symbols_named(sym.function);
}

// Picks the symbol a `func+off/size` line means; nullptr when none fits.
const ElfSymbol* pick_symbol(const std::vector<ElfSymbol>& candidates, const Symbol& sym,
                             std::vector<std::string>* warnings, std::string* error) {
  if (candidates.empty()) {
    if (error) *error = fmt::format("no symbol named {}", sym.function);
    return nullptr;
  }
  if (!sym.size) {
    if (candidates.size() > 1 && warnings) {
      warnings->push_back(fmt::format("{} symbols named {} and no size printed; using the first",
                                      candidates.size(), sym.function));
    }
    return &candidates.front();
  }
  const uint64_t printed = *sym.size;
  std::vector<const ElfSymbol*> fits;
  for (const ElfSymbol& c : candidates) {
    if (printed_size_matches(printed, c.size, c.gap)) fits.push_back(&c);
  }
  if (fits.size() > 1) {
    // Prefer an exact match of either notion of size.
    for (const ElfSymbol* c : fits) {
      if (c->size == printed || c->gap == printed) return c;
    }
    if (warnings) {
      warnings->push_back(fmt::format("{} symbols named {} fit size {:#x}; using the first",
                                      fits.size(), sym.function, printed));
    }
  }
  if (!fits.empty()) return fits.front();
  if (candidates.size() == 1) {
    if (warnings) {
      warnings->push_back(fmt::format("printed size {:#x} of {} does not match its ELF size {:#x}",
                                      printed, sym.function, candidates.front().size));
    }
    return &candidates.front();
  }
  if (error) {
    *error = fmt::format("{} symbols named {}, none of size {:#x}", candidates.size(),
                         sym.function, printed);
  }
  return nullptr;
}

// What the file is when it cannot be what `role` needs, "" when it can: an
// ELF of another architecture, a module given as vmlinux, an executable given
// as a module. (The tests' gcc-built kernels and modules have no
// start_kernel or __this_module, so neither symbol is required.)
std::string not_this_role(DebugObject& obj, std::string_view role, const Report& report) {
  if (obj.kind() != DebugObject::Kind::elf) return {};
  const uint16_t want = elf_machine(report.arch);
  if (want && obj.machine() && obj.machine() != want)
    return fmt::format("an ELF file for another architecture (e_machine {}), the log is {}", obj.machine(),
                       to_string(report.arch));
  if (role == "vmlinux" && obj.relocatable())
    return obj.symbols_named("__this_module").empty()
               ? "a relocatable object, not vmlinux (give modules with --modules)"
               : "a module, not vmlinux (give modules with --modules)";
  if (role == "module" && !obj.relocatable()) return "an executable, not a module (give vmlinux with --vmlinux)";
  return {};
}

// vmlinux against the log: linux_banner vs the printed release and
// version (certain), printed symbol sizes vs the ELF's (likely/weak).
DebugInfoFile vmlinux_debuginfo(DebugObject& vmlinux, const std::string& role,
                                const Report& report) {
  DebugInfoFile d;
  d.role = role;
  d.name = "vmlinux";
  d.path = vmlinux.path();
  d.build_id = vmlinux.build_id();
  d.has_dwarf = vmlinux.has_dwarf();
  bool certain_mismatch = false, release_match = false;
  if (!report.kernel_build_id.empty()) {
    if (report.kernel_build_id == d.build_id) {
      release_match = true;
      d.evidence.push_back("build-id matches the log");
    } else {
      certain_mismatch = true;
      d.evidence.push_back(fmt::format("log prints build-id {}, vmlinux has {}", report.kernel_build_id,
                                       d.build_id.empty() ? "none" : d.build_id));
    }
  }
  if (auto banner = vmlinux.string_at_symbol("linux_banner")) {
    std::string rel = banner_release(*banner);
    if (!report.kernel_release.empty() && !rel.empty()) {
      if (rel == report.kernel_release) {
        release_match = true;
        d.evidence.push_back(fmt::format("release {} matches linux_banner", rel));
      } else {
        certain_mismatch = true;
        d.evidence.push_back(fmt::format("log says release {}, linux_banner says {}",
                                         report.kernel_release, rel));
      }
    }
    if (!report.kernel_version.empty()) {
      std::vector<std::string> have = words(*banner);
      for (const std::string& w : words(report.kernel_version)) {
        if (std::find(have.begin(), have.end(), w) == have.end()) {
          certain_mismatch = true;
          d.evidence.push_back(fmt::format(
              "log's version '{}' has '{}', linux_banner does not", report.kernel_version, w));
          break;
        }
      }
    }
  }
  int checked = 0, size_mismatch = 0, missing = 0;
  auto check = [&](const Symbol& s) {
    if (!s.module.empty() || s.function.empty()) return;
    const auto& c = candidates(vmlinux, s);
    if (c.empty()) {
      ++missing;
      if (missing <= 3) d.evidence.push_back(fmt::format("no symbol {} in vmlinux", s.function));
      return;
    }
    if (!s.size) return;
    ++checked;
    bool fits = std::any_of(c.begin(), c.end(), [&](const ElfSymbol& e) {
      return printed_size_matches(*s.size, e.size, e.gap);
    });
    if (!fits) {
      ++size_mismatch;
      if (size_mismatch <= 3) {
        d.evidence.push_back(fmt::format("{} printed with size {:#x}, vmlinux has {:#x}",
                                         s.function, *s.size, c.front().size));
      }
    }
  };
  if (report.ip) check(*report.ip);
  for (const Frame& f : report.frames) check(f);
  if (checked > 0 && size_mismatch == 0 && missing == 0) {
    d.evidence.push_back(fmt::format("all {} printed symbol sizes match", checked));
  }
  const int bad = size_mismatch + missing;
  if (std::string what = not_this_role(vmlinux, "vmlinux", report); !what.empty()) {
    d.what = what;
    certain_mismatch = true;
  } else if (vmlinux.program() && missing > 0 && checked == 0 && size_mismatch == 0) {
    // A program interpreter and none of the log's functions: /bin/ls. (The
    // tests' gcc-built kernels are PIE programs too, with the log's symbols.)
    d.what = "a user-space program, not a kernel image";
    certain_mismatch = true;
  }
  if (certain_mismatch) {
    d.match = DebugMatch::mismatch;
    d.confidence = MatchConfidence::certain;
  } else if (bad >= 2 && bad * 2 >= checked + missing) {
    d.match = DebugMatch::mismatch;
    d.confidence = MatchConfidence::likely;
  } else if (bad > 0) {
    d.match = DebugMatch::mismatch;
    d.confidence = MatchConfidence::weak;
  } else if (release_match || checked > 0) {
    d.match = DebugMatch::match;
  }
  return d;
}

// A module against the log: the printed build-id (certain), else sizes.
DebugInfoFile module_debuginfo(DebugObject& obj, const std::string& key,
                               const std::string& printed, const Report& report) {
  DebugInfoFile d;
  d.role = "module";
  d.name = obj.name();
  d.path = obj.path();
  d.build_id = obj.build_id();
  d.has_dwarf = obj.has_dwarf();
  int checked = 0, bad = 0;
  for (const Frame& f : report.frames) {
    if (module_key(f.module) != key || f.function.empty()) continue;
    const auto& c = candidates(obj, f);
    if (c.empty()) {
      ++bad;
      d.evidence.push_back(fmt::format("no symbol {} in {}", f.function, obj.path()));
      continue;
    }
    if (!f.size) continue;
    ++checked;
    if (std::none_of(c.begin(), c.end(), [&](const ElfSymbol& e) {
          return printed_size_matches(*f.size, e.size, e.gap);
        })) {
      ++bad;
      d.evidence.push_back(fmt::format("{} printed with size {:#x}, module has {:#x}",
                                       f.function, *f.size, c.front().size));
    }
  }
  d.what = not_this_role(obj, "module", report);
  if (!d.what.empty()) {
    d.match = DebugMatch::mismatch;
    d.confidence = MatchConfidence::certain;
  } else if (!printed.empty()) {
    if (printed == d.build_id) {
      d.match = DebugMatch::match;
      d.evidence.push_back("build-id matches the log");
    } else {
      d.match = DebugMatch::mismatch;
      d.confidence = MatchConfidence::certain;
      d.evidence.push_back(fmt::format("log prints build-id {}, file has {}", printed,
                                       d.build_id.empty() ? "none" : d.build_id));
    }
  } else if (bad > 0) {
    d.match = DebugMatch::mismatch;
    d.confidence = bad >= 2 ? MatchConfidence::likely : MatchConfidence::weak;
  } else if (checked > 0) {
    d.match = DebugMatch::match;
    d.evidence.push_back(fmt::format("all {} printed symbol sizes match", checked));
  }
  return d;
}

}  // namespace

std::string_view to_string(DebugMatch match) {
  switch (match) {
    case DebugMatch::match: return "match";
    case DebugMatch::mismatch: return "mismatch";
    case DebugMatch::unknown: break;
  }
  return "unknown";
}

std::string_view to_string(MatchConfidence confidence) {
  switch (confidence) {
    case MatchConfidence::weak: return "weak";
    case MatchConfidence::likely: return "likely";
    case MatchConfidence::certain: return "certain";
    case MatchConfidence::none: break;
  }
  return "";
}

std::string mismatch_text(const DebugInfoFile& f) {
  if (f.match != DebugMatch::mismatch) return {};
  std::string why = f.what.empty() ? (f.evidence.empty() ? "" : f.evidence.front()) : f.what;
  return fmt::format("{} {} does not match this log ({}{}{}){}", f.role, f.path, to_string(f.confidence),
                     why.empty() ? "" : ": ", why, f.refused() ? ": not used" : "");
}

std::string Symbolization::kaslr_offset_hex() const {
  if (!kaslr_offset) return {};
  if (*kaslr_offset < 0) return fmt::format("-{:#x}", -static_cast<uint64_t>(*kaslr_offset));
  return fmt::format("{:#x}", static_cast<uint64_t>(*kaslr_offset));
}

Expected<std::shared_ptr<DebugObject>> open_debug_object(const std::string& path,
                                                         const std::string& name) {
  auto objOrErr = DebugObject::open_elf(path, name);
  if (!objOrErr) return objOrErr.error();
  return std::move(*objOrErr);
}

FrameSymbolization resolve_address(DebugObject& object, uint64_t link_address,
                                   bool return_address, const DebugInfoOptions& options) {
  FrameSymbolization out;
  out.object = object.name();
  uint64_t offset = 0;
  std::optional<ElfSymbol> sym = object.symbol_at(link_address, &offset);
  if (!sym) {
    out.symbolize_error = fmt::format("no symbol at {:#x} in {}", link_address, object.name());
    return out;
  }
  out.function = sym->name;
  out.offset = offset;
  out.link_address = link_address;
  if (sym->size) out.size = sym->size;
  out.return_address = return_address && offset > 0;
  object.describe(out.return_address ? link_address - 1 : link_address, out, options);
  return out;
}

FrameSymbolization resolve_symbol(DebugObject& object, const Symbol& symbol, bool return_address,
                                  const DebugInfoOptions& options) {
  FrameSymbolization out;
  out.object = object.name();
  out.function = symbol.function;
  out.offset = symbol.offset.value_or(0);
  const ElfSymbol* sym =
      pick_symbol(candidates(object, symbol), symbol, &out.warnings,
                  &out.symbolize_error);
  if (!sym) return out;
  if (sym->size) out.size = sym->size;
  uint64_t limit = std::max(sym->size, sym->gap == kLastInSection ? 0 : sym->gap);
  if (symbol.size && printed_size_matches(*symbol.size, sym->size, sym->gap)) {
    limit = std::max(limit, *symbol.size);
  }
  // A return address may sit right at the end (a call to a noreturn
  // function is the last instruction); an ip may not. Past st_size, in the
  // padding, a "return address" is usually a stale stack value.
  if (return_address && sym->size != 0 && out.offset > sym->size && out.offset <= limit) {
    out.warnings.push_back(fmt::format(
        "return address {}+{:#x} is in the padding after the code (size {:#x}): probably a stale "
        "stack value, not a call", symbol.function, out.offset, sym->size));
  }
  if (limit != 0 && (out.offset > limit || (out.offset == limit && !return_address))) {
    out.warnings.push_back(fmt::format("offset {:#x} is past the end of {} (size {:#x})",
                                       out.offset, symbol.function, limit));
  }
  if (out.offset > std::numeric_limits<uint64_t>::max() - sym->address) {
    out.symbolize_error = fmt::format("offset {:#x} overflows", out.offset);
    return out;
  }
  const uint64_t address = sym->address + out.offset;
  out.link_address = address;
  out.return_address = return_address && out.offset > 0;
  object.describe(out.return_address ? address - 1 : address, out, options);
  return out;
}

struct Symbolizer::Impl {
  DebugInfoOptions options;
  std::shared_ptr<DebugObject> vmlinux;
  std::string vmlinux_role = "vmlinux";
  std::string vmlinux_error;

  // Module files by normalized name, found under module_dirs.
  std::map<std::string, std::vector<std::pair<int, std::string>>> module_files;
  std::set<std::string> scanned_dirs;
  std::map<std::string, std::shared_ptr<DebugObject>> modules;  // by path
  std::map<std::string, std::string> module_errors;              // by module key
  // The objects the last symbolize() used, by FrameSymbolization::object.
  std::map<std::string, std::shared_ptr<DebugObject>> used;

  void scan_dir(const std::string& dir);
  std::shared_ptr<DebugObject> find_vmlinux(const Report& report, std::vector<std::string>& notes);
  std::shared_ptr<DebugObject> find_module(const std::string& name, const std::string& build_id,
                                           const Report& report, std::string* error);
  std::optional<ElfSymbol> kernel_symbol(const std::string& name);
};

void Symbolizer::Impl::scan_dir(const std::string& dir) {
  if (!scanned_dirs.insert(dir).second) return;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string file = it->path().filename().string();
    if (auto key = module_file_key(file)) {
      module_files[key->first].emplace_back(key->second, it->path().string());
    }
  }
}

std::shared_ptr<DebugObject> Symbolizer::Impl::find_vmlinux(const Report& report,
                                                            std::vector<std::string>& notes) {
  if (vmlinux || options.debug_root.empty() || report.kernel_release.empty()) return vmlinux;
  const std::string& root = options.debug_root;
  const std::string& rel = report.kernel_release;
  for (const std::string& candidate :
       {root + "/usr/lib/debug/boot/vmlinux-" + rel, root + "/boot/vmlinux-" + rel,
        root + "/usr/lib/debug/lib/modules/" + rel + "/vmlinux",
        root + "/lib/modules/" + rel + "/vmlinux", root + "/lib/modules/" + rel + "/build/vmlinux",
        root + "/vmlinux-" + rel}) {
    if (!is_file(candidate)) continue;
    auto objOrErr = DebugObject::open_elf(candidate, "vmlinux");
    if (objOrErr) {
      vmlinux = *objOrErr;
      vmlinux->use_cache(options.cache_dir);
      return vmlinux;
    }
    notes.push_back(objOrErr.error().message);
  }
  return vmlinux;
}

std::shared_ptr<DebugObject> Symbolizer::Impl::find_module(const std::string& name,
                                                           const std::string& build_id,
                                                           const Report& report,
                                                           std::string* error) {
  for (const std::string& dir : options.module_dirs) scan_dir(dir);
  if (!options.debug_root.empty() && !report.kernel_release.empty()) {
    for (const std::string& dir :
         {options.debug_root + "/usr/lib/debug/lib/modules/" + report.kernel_release,
          options.debug_root + "/lib/modules/" + report.kernel_release}) {
      std::error_code ec;
      if (fs::is_directory(dir, ec)) scan_dir(dir);
    }
  }
  std::vector<std::pair<int, std::string>> candidates;
  if (auto it = module_files.find(module_key(name)); it != module_files.end()) {
    candidates = it->second;
  }
  if (!build_id.empty() && !options.debug_root.empty() && build_id.size() > 2) {
    for (const std::string& base : {options.debug_root + "/.build-id/",
                                    options.debug_root + "/usr/lib/debug/.build-id/"}) {
      std::string p = base + build_id.substr(0, 2) + "/" + build_id.substr(2) + ".debug";
      if (is_file(p)) candidates.emplace_back(-1, p);
    }
  }
  if (candidates.empty()) {
    *error = fmt::format("no file for module {} (searched {} director{})", name,
                         options.module_dirs.size(),
                         options.module_dirs.size() == 1 ? "y" : "ies");
    return nullptr;
  }
  std::stable_sort(candidates.begin(), candidates.end());
  std::shared_ptr<DebugObject> fallback;
  std::string last_error;
  for (const auto& [rank, path] : candidates) {
    std::shared_ptr<DebugObject>& obj = modules[path];
    if (!obj) {
      auto objOrErr = DebugObject::open_elf(path, name);
      if (!objOrErr) {
        last_error = objOrErr.error().message;
        continue;
      }
      obj = *objOrErr;
      obj->use_cache(options.cache_dir);
    }
    // A printed build-id decides; otherwise the first file with DWARF.
    if (!build_id.empty()) {
      if (obj->build_id() == build_id) return obj;
      continue;
    }
    if (obj->has_dwarf()) return obj;
    if (!fallback) fallback = obj;
  }
  if (fallback) return fallback;
  if (!build_id.empty()) {
    // Nothing carries the printed build-id: use the best file, flagged later.
    for (const auto& [rank, path] : candidates) {
      if (auto it = modules.find(path); it != modules.end() && it->second) return it->second;
    }
  }
  *error = last_error.empty() ? fmt::format("no usable file for module {}", name) : last_error;
  return nullptr;
}

Symbolizer::Symbolizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Symbolizer::Symbolizer(Symbolizer&&) noexcept = default;
Symbolizer& Symbolizer::operator=(Symbolizer&&) noexcept = default;
Symbolizer::~Symbolizer() = default;

Expected<Symbolizer> Symbolizer::open(const DebugInfoOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.vmlinux.empty()) {
    if (!is_file(options.vmlinux)) {
      return Error{fmt::format("{}: {}", options.vmlinux, not_a_file(options.vmlinux))};
    }
    if (looks_like_elf(options.vmlinux)) {
      auto objOrErr = DebugObject::open_elf(options.vmlinux, "vmlinux");
      if (!objOrErr) return objOrErr.error();
      impl->vmlinux = *objOrErr;
      impl->vmlinux->use_cache(options.cache_dir);
    } else {
      auto objOrErr = DebugObject::open_symbol_map(options.vmlinux, "vmlinux");
      if (!objOrErr) {
        return Error{fmt::format("{} (neither ELF nor System.map)", objOrErr.error().message)};
      }
      impl->vmlinux = *objOrErr;
      impl->vmlinux_role = "system_map";
    }
  }
  for (const std::string& dir : options.module_dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return Error{fmt::format("{}: not a directory", dir)};
  }
  if (!options.debug_root.empty()) {
    std::error_code ec;
    if (!fs::is_directory(options.debug_root, ec)) {
      return Error{fmt::format("{}: not a directory", options.debug_root)};
    }
  }
  return Symbolizer(std::move(impl));
}

Symbolization Symbolizer::symbolize(const Report& report,
                                    std::optional<int64_t> printed_kernel_offset) {
  Impl& im = *impl_;
  Symbolization out;
  std::shared_ptr<DebugObject> vmlinux = im.find_vmlinux(report, out.warnings);

  // Batch the symbol-table scans: one pass per object for all names.
  std::map<std::string, std::vector<std::string>> names_by_module;
  auto want = [&](const Symbol& s) {
    if (!s.function.empty()) names_by_module[module_key(s.module)].push_back(s.function);
  };
  if (report.ip) want(*report.ip);
  for (const Frame& f : report.frames) want(f);
  // And the symbols that tell what a file is (not_this_role).
  for (const char* name : {"linux_banner", "__this_module"}) names_by_module[""].push_back(name);
  if (vmlinux) vmlinux->prefetch(names_by_module[""]);

  // A vmlinux that does not fit the log is not used: its symbols, lines and
  // code would explain another kernel.
  std::optional<DebugInfoFile> vmlinux_file;
  std::string vmlinux_refused;
  if (vmlinux) {
    vmlinux_file = vmlinux_debuginfo(*vmlinux, im.vmlinux_role, report);
    if (vmlinux_file->refused()) {
      out.warnings.push_back(mismatch_text(*vmlinux_file));
      vmlinux_refused = "vmlinux does not match this log: not used";  // per frame; the why is said once
      vmlinux.reset();
    }
  }

  std::map<std::string, std::shared_ptr<DebugObject>> module_objects;  // by key
  std::map<std::string, std::string> module_errors;
  std::map<std::string, DebugInfoFile> module_files;  // by key, used or refused
  std::map<std::string, std::string> module_printed_build_id;
  for (const Frame& f : report.frames) {
    if (!f.module.empty() && !f.module_build_id.empty()) {
      module_printed_build_id[module_key(f.module)] = f.module_build_id;
    }
  }
  auto module_for = [&](const std::string& name) -> DebugObject* {
    std::string key = module_key(name);
    if (auto it = module_objects.find(key); it != module_objects.end()) return it->second.get();
    std::string error;
    auto obj = im.find_module(name, module_printed_build_id[key], report, &error);
    if (obj) {
      std::vector<std::string> names = names_by_module[key];
      names.push_back("__this_module");
      obj->prefetch(names);
      DebugInfoFile file = module_debuginfo(*obj, key, module_printed_build_id[key], report);
      if (file.refused()) {
        error = fmt::format("module {} does not match this log: not used", name);
        out.warnings.push_back(mismatch_text(file));
        obj.reset();
      }
      module_files[key] = std::move(file);
    }
    if (!obj) module_errors[key] = error;
    module_objects[key] = obj;
    return obj.get();
  };

  // KASLR: raw address vs func+off of vmlinux frames.
  std::map<int64_t, int> votes;
  auto vote = [&](const Symbol& s) {
    if (!vmlinux || !s.module.empty() || !s.address || s.function.empty() || !s.offset) return;
    const ElfSymbol* sym = pick_symbol(candidates(*vmlinux, s), s, nullptr, nullptr);
    if (!sym) return;
    votes[static_cast<int64_t>(*s.address - (sym->address + *s.offset))]++;
  };
  if (report.ip) vote(*report.ip);
  for (const Frame& f : report.frames) vote(f);
  if (printed_kernel_offset) {
    out.kaslr_offset = printed_kernel_offset;
    out.kaslr_source = "printed by the kernel (Kernel Offset)";
    for (auto& [offset, n] : votes) {
      if (offset != *printed_kernel_offset) {
        out.warnings.push_back(fmt::format(
            "{} frame(s) imply KASLR offset {:#x}, the log prints {:#x}", n,
            static_cast<uint64_t>(offset), static_cast<uint64_t>(*printed_kernel_offset)));
      }
    }
  } else if (!votes.empty()) {
    auto best = std::max_element(votes.begin(), votes.end(),
                                 [](auto& a, auto& b) { return a.second < b.second; });
    int total = 0;
    for (auto& [offset, n] : votes) total += n;
    out.kaslr_offset = best->first;
    out.kaslr_source = fmt::format("{} of {} frames with raw addresses agree", best->second, total);
    if (votes.size() > 1) {
      out.warnings.push_back(fmt::format(
          "KASLR offset inconsistent across frames: {} different values; using {:#x}",
          votes.size(), static_cast<uint64_t>(best->first)));
    }
  }

  // Kernel code ranges, for deciding which bare addresses to resolve.
  std::vector<std::pair<uint64_t, uint64_t>> text;
  if (vmlinux) text = vmlinux->text_ranges();
  auto in_text = [&](uint64_t link) {
    return std::any_of(text.begin(), text.end(),
                       [&](const auto& r) { return link >= r.first && link < r.second; });
  };

  auto resolve = [&](const Symbol& printed, bool return_address) {
    // The parser keeps a symbol-less frame's printed "0x..." as its function
    // (the way people read traces); here it is a bare address.
    Symbol s = printed;
    if (s.function.starts_with("0x")) {
      if (!s.address) s.address = std::strtoull(s.function.c_str(), nullptr, 16);
      s.function.clear();
    }
    FrameSymbolization r;
    if (!s.module.empty()) {
      DebugObject* mod = module_for(s.module);
      if (!mod) {
        r.object = s.module;
        r.function = s.function;
        r.offset = s.offset.value_or(0);
        r.symbolize_error = module_errors[module_key(s.module)];
      } else if (s.function.empty()) {
        r.object = s.module;
        r.symbolize_error = "module frame without a symbol: load address unknown";
      } else {
        r = resolve_symbol(*mod, s, return_address, im.options);
      }
      r.address = s.address;
      return r;
    }
    if (!vmlinux) {
      r.object = "vmlinux";
      r.function = s.function;
      r.offset = s.offset.value_or(0);
      r.symbolize_error =
          !vmlinux_refused.empty() ? vmlinux_refused
          : im.options.debug_root.empty()
              ? "no vmlinux given"
              : fmt::format("no vmlinux for release '{}' under {}", report.kernel_release,
                            im.options.debug_root);
      r.address = s.address;
      return r;
    }
    if (!s.function.empty()) {
      r = resolve_symbol(*vmlinux, s, return_address, im.options);
      if (s.address) {
        r.address = s.address;
      } else if (out.kaslr_offset && r.size) {
        const auto& c = candidates(*vmlinux, s);
        if (const ElfSymbol* e = pick_symbol(c, s, nullptr, nullptr)) {
          r.address = e->address + r.offset + static_cast<uint64_t>(*out.kaslr_offset);
        }
      }
      return r;
    }
    if (!s.address) {
      r.symbolize_error = "neither symbol nor address printed";
      return r;
    }
    const uint64_t kaslr = static_cast<uint64_t>(out.kaslr_offset.value_or(0));
    const uint64_t link = *s.address - kaslr;
    if (!text.empty() && !in_text(link)) {
      r.object = "vmlinux";
      r.address = s.address;
      r.symbolize_error = fmt::format("address {:#x} is not in kernel text", *s.address);
      return r;
    }
    r = resolve_address(*vmlinux, link, return_address, im.options);
    r.address = s.address;
    if (!out.kaslr_offset) r.warnings.push_back("KASLR offset unknown; assumed 0");
    return r;
  };

  if (report.ip) out.ip = resolve(*report.ip, false);
  out.frames.reserve(report.frames.size());
  for (const Frame& f : report.frames) out.frames.push_back(resolve(f, true));

  // Module load addresses are not in the log, but every module frame that
  // printed both its raw address and func+off tells where its section was
  // loaded; bare addresses in such a section then resolve too.
  struct Placement {
    DebugObject* object;
    uint64_t begin, end, delta;  // link-time section range; runtime - link
  };
  std::vector<Placement> placements;
  auto place = [&](const Symbol& printed, const FrameSymbolization& r) {
    if (printed.module.empty() || !r.ok() || !r.address || !r.link_address) return;
    DebugObject* obj = module_objects[module_key(printed.module)].get();
    auto section = obj ? obj->section_at(*r.link_address) : std::nullopt;
    if (!section) return;
    const uint64_t delta = *r.address - *r.link_address;
    for (const Placement& p : placements) {
      if (p.object == obj && p.begin == section->begin) return;
    }
    placements.push_back({obj, section->begin, section->end, delta});
    out.module_sections.push_back({obj->name(), section->name, section->begin + delta});
  };
  if (report.ip && out.ip) place(*report.ip, *out.ip);
  for (size_t i = 0; i < report.frames.size(); ++i) place(report.frames[i], out.frames[i]);
  auto in_module = [&](uint64_t value, bool return_address) -> std::optional<FrameSymbolization> {
    for (const Placement& p : placements) {
      const uint64_t link = value - p.delta;
      if (link < p.begin || link >= p.end) continue;
      FrameSymbolization r = resolve_address(*p.object, link, return_address, im.options);
      r.address = value;
      r.warnings.push_back("module load address inferred from the call trace");
      return r;
    }
    return std::nullopt;
  };
  for (size_t i = 0; i < report.frames.size(); ++i) {
    const Frame& f = report.frames[i];
    const bool bare = f.module.empty() && (f.function.empty() || f.function.starts_with("0x"));
    if (!bare || out.frames[i].ok() || !out.frames[i].address) continue;
    if (auto r = in_module(*out.frames[i].address, true)) out.frames[i] = std::move(*r);
  }

  // Bare addresses: the fault address and register values in kernel or module text.
  if ((vmlinux && !text.empty()) || !placements.empty()) {
    const uint64_t kaslr = static_cast<uint64_t>(out.kaslr_offset.value_or(0));
    auto bare = [&](const std::string& what, uint64_t value) {
      const uint64_t link = value - kaslr;
      if (!in_text(link)) {
        if (auto r = in_module(value, false)) out.addresses.push_back({what, value, std::move(*r)});
        return;
      }
      AddressSymbolization a;
      a.what = what;
      a.value = value;
      a.result = resolve_address(*vmlinux, link, false, im.options);
      a.result.address = value;
      if (!out.kaslr_offset) a.result.warnings.push_back("KASLR offset unknown; assumed 0");
      out.addresses.push_back(std::move(a));
    };
    if (report.fault_address) bare("fault_address", *report.fault_address);
    for (const RegisterSet& set : report.registers) {
      for (const Register& reg : set.regs) bare(reg.name, reg.value);
    }
  }

  im.used.clear();
  if (vmlinux) im.used["vmlinux"] = vmlinux;
  for (auto& [key, obj] : module_objects) {
    if (obj) im.used[obj->name()] = obj;
  }

  // Which files were used, and do they match the log?
  if (vmlinux_file) out.debuginfo.push_back(std::move(*vmlinux_file));
  for (auto& [key, file] : module_files) out.debuginfo.push_back(std::move(file));
  for (auto& [key, error] : module_errors) {
    auto file = module_files.find(key);
    if (file == module_files.end() || !file->second.refused()) out.warnings.push_back(error);  // refused: said above
  }
  if (vmlinux) vmlinux->save_cache();
  for (auto& [key, obj] : module_objects) {
    if (obj) obj->save_cache();
  }
  return out;
}

Expected<FunctionCode> Symbolizer::function_code(const FrameSymbolization& frame) {
  auto it = impl_->used.find(frame.object);
  if (it == impl_->used.end()) return Error{fmt::format("no file for {}", frame.object)};
  if (!frame.link_address || frame.function.empty()) {
    return Error{fmt::format("frame did not resolve in {}", frame.object)};
  }
  DebugObject& object = *it->second;
  // From the function's start: a return address may sit just past its end.
  const uint64_t start = *frame.link_address - std::min(frame.offset, *frame.link_address);
  std::optional<ElfSymbol> sym;
  if (frame.size && *frame.size > 0) {
    // The frame resolved through this very symbol: no address lookup (whose
    // first use sorts the whole symbol table) is needed.
    sym = ElfSymbol{frame.function, start, *frame.size, 0, 0};
  } else {
    uint64_t into = 0;
    sym = object.symbol_at(start, &into);
  }
  if (!sym) return Error{fmt::format("no symbol at {:#x} in {}", start, frame.object)};
  uint64_t size = sym->size;
  if (size == 0 && sym->gap != kLastInSection) size = sym->gap;
  // Bounded: a bogus st_size in a damaged file must not make us copy gigabytes.
  constexpr uint64_t kMaxFunction = 1 << 20;
  if (size == 0 || size > kMaxFunction) {
    return Error{fmt::format("{} in {} has no usable size ({:#x})", sym->name, frame.object, size)};
  }
  Expected<std::vector<uint8_t>> bytesOrErr = object.read_bytes(sym->address, size);
  if (!bytesOrErr) return bytesOrErr.error();
  FunctionCode code;
  code.object = frame.object;
  code.function = sym->name;
  code.link_address = sym->address;
  const uint64_t offset = *frame.link_address - sym->address;
  if (frame.address && *frame.address >= offset) code.runtime_address = *frame.address - offset;
  code.bytes = std::move(*bytesOrErr);
  code.relocatable = object.relocatable();
  return code;
}

std::vector<uint8_t> Symbolizer::read_bytes(const std::string& object, uint64_t link_address, size_t max_size) {
  auto it = impl_->used.find(object);
  if (it == impl_->used.end()) return {};
  std::optional<DebugObject::Section> section = it->second->section_at(link_address);
  if (!section || link_address >= section->end) return {};
  const uint64_t size = std::min<uint64_t>(max_size, section->end - link_address);
  Expected<std::vector<uint8_t>> bytesOrErr = it->second->read_bytes(link_address, size);
  return bytesOrErr ? std::move(*bytesOrErr) : std::vector<uint8_t>{};
}

FrameSymbolization Symbolizer::describe(const std::string& object, uint64_t link_address) {
  auto it = impl_->used.find(object);
  if (it == impl_->used.end()) {
    FrameSymbolization out;
    out.object = object;
    out.symbolize_error = fmt::format("no file for {}", object);
    return out;
  }
  return resolve_address(*it->second, link_address, false, impl_->options);
}

std::optional<SourceExpression> Symbolizer::source_expression(
    const std::string& object, uint64_t link_pc, std::string_view base_register,
    std::string_view index_register, int64_t scale, int64_t displacement, uint32_t access_size,
    const SourceExpression* base_is, const SourceExpression* index_is) {
  auto it = impl_->used.find(object);
  if (it == impl_->used.end()) return std::nullopt;
  return it->second->source_expression(link_pc, base_register, index_register, scale,
                                       displacement, access_size, base_is, index_is);
}

std::optional<SourceVariable> Symbolizer::variable_in_register(const std::string& object,
                                                               uint64_t link_pc,
                                                               std::string_view register_name) {
  auto it = impl_->used.find(object);
  if (it == impl_->used.end()) return std::nullopt;
  return it->second->variable_in_register(link_pc, register_name);
}

}  // namespace ktriage

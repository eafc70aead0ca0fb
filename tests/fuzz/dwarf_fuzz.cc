// libFuzzer target for hostile debug info inside a module, structure-aware:
// the input replaces ONE section of a small valid module and a fixed log is
// analysed against it, so mutations reach the DWARF, symbol-table and
// relocation readers instead of stopping at the ELF header checks that
// whole-file mutation (elf_fuzz) mostly exercises.
//
// The module is zoo.ko: tests/unit/data/expressions/zoo.c built with
// `gcc -g -O2 -c` and embedded at build time (see CMakeLists.txt). The log
// has one Oops per zoo function, its RIP at the function's first memory
// access, the other functions in its call trace, and goes through triage()
// -- symbolization, the ip's listing with source lines, source expressions,
// stack usage, diagnosis -- and the text renderer, as `ktriage analyze
// --modules DIR` does. (Not the JSON renderer: building its document took
// two thirds of an exec, and it replaces invalid UTF-8 from DWARF names.)
//
// Input: byte 0 picks the section (an index into kSections; the mutator
// never changes it), the rest is that section's new contents, any length.
// With KTRIAGE_FUZZ_SEEDS=DIR in the environment, the target first writes
// one seed per section (the original contents) into DIR. With
// KTRIAGE_FUZZ_DUMP=DIR, each input's module and the log go to DIR/zoo.ko
// and DIR/fuzz.log, to reproduce a finding with the CLI:
//   ktriage analyze DIR/fuzz.log --modules DIR
//
// Any crash, hang or sanitizer report is a bug; and the analysis must keep
// every report and frame of the log, whatever the debug info says.
#include <elf.h>
#include <stdlib.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ktriage/disasm.h"
#include "ktriage/logparse.h"
#include "ktriage/render.h"
#include "ktriage/triage.h"

namespace {

// Generated from zoo.ko: `const unsigned char kZooModule[] = {...};`
#include "dwarf_fuzz_module.h"

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      std::fprintf(stderr, "dwarf_fuzz: property failed: %s\n", #cond);  \
      std::abort();                                                      \
    }                                                                    \
  } while (0)

// The sections an input can replace. Append only: a corpus entry's first
// byte is an index into this table.
constexpr const char* kSections[] = {
    ".debug_info",       ".debug_abbrev",          ".debug_line",          ".debug_str",
    ".debug_line_str",   ".debug_loclists",        ".debug_rnglists",      ".debug_aranges",
    ".symtab",           ".strtab",                ".rela.text",           ".rela.debug_info",
    ".rela.debug_line",  ".rela.debug_loclists",   ".rela.debug_rnglists", ".eh_frame",
    ".rela.eh_frame",
};
constexpr size_t kSectionCount = sizeof kSections / sizeof kSections[0];

// Functions the log's reports fault in (zoo.c: one load each, an inlined
// helper in a loop, a global table through a relocation, a stack local).
constexpr const char* kFunctions[] = {"zoo_nullderef", "zoo_task_cpu", "zoo_cpu_entry",
                                      "zoo_sum_ids",   "zoo_container", "zoo_local"};

// One function, and so one coverage edge, per section: libFuzzer keeps a
// corpus entry only for new coverage, and the seeds (the unchanged module)
// would otherwise all look alike and leave one section to mutate.
volatile int section_touched[kSectionCount];
template <size_t S>
void touch_section() {
  section_touched[S] = section_touched[S] + 1;
}
template <size_t... S>
constexpr std::array<void (*)(), kSectionCount> section_touches(std::index_sequence<S...>) {
  return {&touch_section<S>...};
}
constexpr auto kTouchSection = section_touches(std::make_index_sequence<kSectionCount>());

struct Module {
  std::string image;                                    // zoo.ko as built
  std::optional<size_t> header[kSectionCount];          // file offset of each section's Elf64_Shdr
  std::string dir, path;                                // where the mutated module is written
  std::string dump;                                     // KTRIAGE_FUZZ_DUMP
  std::string log;
  std::vector<ktriage::Report> reports;                 // parse_log(log)
  ktriage::TriageOptions options;
};

template <typename T>
T read_at(const std::string& image, uint64_t offset) {
  CHECK(offset <= image.size() && sizeof(T) <= image.size() - offset);
  T value;
  std::memcpy(&value, image.data() + offset, sizeof value);
  return value;
}

Elf64_Shdr section_header(const Module& m, size_t index) {
  const auto ehdr = read_at<Elf64_Ehdr>(m.image, 0);
  return read_at<Elf64_Shdr>(m.image, ehdr.e_shoff + index * sizeof(Elf64_Shdr));
}

std::string_view contents(const Module& m, const Elf64_Shdr& sh) {
  CHECK(sh.sh_offset <= m.image.size() && sh.sh_size <= m.image.size() - sh.sh_offset);
  return std::string_view(m.image).substr(sh.sh_offset, sh.sh_size);
}

// The fixed log: one Oops per function, RIP at `ip` (its first memory
// access), the Code: line from the stored bytes, the other functions as
// call-trace return addresses.
struct Function {
  std::string name;
  uint64_t size = 0;
  uint64_t ip = 0, after_first = 0;  // offsets
  std::string code;                  // Code: bytes, "<xx>" at ip
};

std::string make_log(const std::vector<Function>& fns) {
  std::string log;
  char buf[256];
  for (size_t k = 0; k < fns.size(); ++k) {
    const Function& f = fns[k];
    log += "BUG: kernel NULL pointer dereference, address: 0000000000000018\n"
           "#PF: supervisor read access in kernel mode\n"
           "#PF: error_code(0x0000) - not-present page\n"
           "Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
           "CPU: 0 PID: 96 Comm: sh Tainted: G           OE      6.1.0-56-cloud-amd64 #1  Debian 6.1.192-2\n";
    std::snprintf(buf, sizeof buf, "RIP: 0010:%s+0x%llx/0x%llx [zoo]\n", f.name.c_str(),
                  static_cast<unsigned long long>(f.ip), static_cast<unsigned long long>(f.size));
    log += buf;
    log += "Code: " + f.code + "\n";
    log += "RSP: 0018:ffffc900003f3c30 EFLAGS: 00010202\n"
           "RAX: 0000000000000002 RBX: 000000000000000a RCX: 0000000000000000\n"
           "RDX: 0000000000000000 RSI: ffff888004019240 RDI: 0000000000000000\n"
           "RBP: ffffc900003f3c68 R08: 0000000000000000 R09: ffffc900003f3ac0\n"
           "R10: 0000000000000003 R11: ffffffff82ad2328 R12: 0000000006748950\n"
           "R13: ffff888004019240 R14: 000000000000000a R15: ffffc900003f3d50\n"
           "CR2: 0000000000000018 CR3: 00000000052ec000 CR4: 0000000000750eb0\n"
           "Call Trace:\n <TASK>\n";
    for (size_t j = 1; j < fns.size(); ++j) {
      const Function& caller = fns[(k + j) % fns.size()];
      std::snprintf(buf, sizeof buf, " %s+0x%llx/0x%llx [zoo]\n", caller.name.c_str(),
                    static_cast<unsigned long long>(caller.after_first),
                    static_cast<unsigned long long>(caller.size));
      log += buf;
    }
    log += " ksys_write+0x6b/0xf0\n do_syscall_64+0x5d/0x90\n </TASK>\n"
           "Modules linked in: zoo(OE) crc_itu_t\n"
           "CR2: 0000000000000018\n"
           "---[ end trace 0000000000000000 ]---\n";
  }
  return log;
}

// Each kFunctions entry from zoo.ko's symbol table, with the offsets the log uses.
std::vector<Function> functions(const Module& m) {
  const auto ehdr = read_at<Elf64_Ehdr>(m.image, 0);
  std::vector<Function> out;
  for (size_t i = 0; i < ehdr.e_shnum; ++i) {
    const Elf64_Shdr symtab = section_header(m, i);
    if (symtab.sh_type != SHT_SYMTAB) continue;
    const std::string_view strtab = contents(m, section_header(m, symtab.sh_link));
    const std::string_view syms = contents(m, symtab);
    for (const char* want : kFunctions) {
      for (size_t at = 0; at + sizeof(Elf64_Sym) <= syms.size(); at += sizeof(Elf64_Sym)) {
        Elf64_Sym sym;
        std::memcpy(&sym, syms.data() + at, sizeof sym);
        if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_name >= strtab.size() ||
            strtab.substr(sym.st_name).substr(0, strtab.substr(sym.st_name).find('\0')) != want) {
          continue;
        }
        const std::string_view text = contents(m, section_header(m, sym.st_shndx));
        CHECK(sym.st_value <= text.size() && sym.st_size <= text.size() - sym.st_value);
        const std::vector<uint8_t> bytes(text.begin() + sym.st_value, text.begin() + sym.st_value + sym.st_size);
        Function f{want, sym.st_size};
        auto decodeOrErr = ktriage::decode_function(bytes, 0, ktriage::Arch::x86_64, std::nullopt);
        CHECK(decodeOrErr && !decodeOrErr->instructions.empty());
        const auto& insns = decodeOrErr->instructions;
        f.after_first = insns.size() > 1 ? insns[1].offset : 0;
        for (const ktriage::Instruction& insn : insns) {
          if (ktriage::memory_operand_at(bytes, insn.offset, insn.offset, ktriage::Arch::x86_64)) {
            f.ip = insn.offset;
            break;
          }
        }
        char hex[8];
        for (size_t b = 0; b < bytes.size(); ++b) {
          std::snprintf(hex, sizeof hex, b == f.ip ? "<%02x>" : "%02x", bytes[b]);
          f.code += (b ? " " : "") + std::string(hex);
        }
        out.push_back(std::move(f));
        break;
      }
    }
  }
  return out;
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  CHECK(out.good());
}

Module& module() {
  static Module* m = [] {
    auto* mod = new Module;
    mod->image.assign(reinterpret_cast<const char*>(kZooModule), sizeof kZooModule);
    const auto ehdr = read_at<Elf64_Ehdr>(mod->image, 0);
    CHECK(std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) == 0 && ehdr.e_ident[EI_CLASS] == ELFCLASS64);
    CHECK(ehdr.e_shentsize == sizeof(Elf64_Shdr) && ehdr.e_shstrndx < ehdr.e_shnum);
    const std::string_view names = contents(*mod, section_header(*mod, ehdr.e_shstrndx));
    for (size_t i = 0; i < ehdr.e_shnum; ++i) {
      const Elf64_Shdr sh = section_header(*mod, i);
      if (sh.sh_name >= names.size() || sh.sh_type == SHT_NOBITS) continue;
      const std::string_view name = names.substr(sh.sh_name).substr(0, names.substr(sh.sh_name).find('\0'));
      for (size_t s = 0; s < kSectionCount; ++s) {
        if (name == kSections[s]) mod->header[s] = ehdr.e_shoff + i * sizeof(Elf64_Shdr);
      }
    }
    char dir[] = "/tmp/dwarf_fuzz-XXXXXX";
    CHECK(mkdtemp(dir) != nullptr);
    mod->dir = dir;
    mod->path = mod->dir + "/zoo.ko";
    std::atexit([] { std::filesystem::remove_all(module().dir); });

    const std::vector<Function> fns = functions(*mod);
    CHECK(fns.size() == sizeof kFunctions / sizeof kFunctions[0]);
    mod->log = make_log(fns);
    mod->reports = ktriage::parse_log(mod->log);
    CHECK(mod->reports.size() == fns.size());
    mod->options.debug.module_dirs = {mod->dir};
    mod->options.shipped_kb = false;  // the KB is not what this target fuzzes
    if (const char* dump = std::getenv("KTRIAGE_FUZZ_DUMP")) {
      mod->dump = dump;
      std::filesystem::create_directories(mod->dump);
      write_file(mod->dump + "/fuzz.log", mod->log);
    }
    return mod;
  }();
  return *m;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Module& m = module();
  if (const char* seeds = std::getenv("KTRIAGE_FUZZ_SEEDS")) {
    std::filesystem::create_directories(seeds);
    for (size_t s = 0; s < kSectionCount; ++s) {
      if (!m.header[s]) continue;
      const auto sh = read_at<Elf64_Shdr>(m.image, *m.header[s]);
      std::string seed(1, static_cast<char>(s));
      seed += contents(m, sh);
      write_file(std::string(seeds) + "/" + std::string(kSections[s] + 1), seed);
    }
  }
  return 0;
}

// Mutates the section's contents; byte 0 (which section) stays.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int) {
  if (size == 0 || max_size < 2) return LLVMFuzzerMutate(data, size, max_size);
  return 1 + LLVMFuzzerMutate(data + 1, size - 1, max_size - 1);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || data[0] >= kSectionCount) return 0;
  const Module& m = module();
  const std::optional<size_t> header = m.header[data[0]];
  if (!header) return 0;
  kTouchSection[data[0]]();

  // The new contents go after the end of the file; only this section's
  // header changes.
  std::string file = m.image;
  file.resize((file.size() + 7) & ~size_t{7}, '\0');
  auto sh = read_at<Elf64_Shdr>(file, *header);
  sh.sh_offset = file.size();
  sh.sh_size = size - 1;
  std::memcpy(file.data() + *header, &sh, sizeof sh);
  file.append(reinterpret_cast<const char*>(data + 1), size - 1);
  write_file(m.path, file);
  if (!m.dump.empty()) write_file(m.dump + "/zoo.ko", file);

  auto analysisOrErr = ktriage::triage("fuzz.log", m.reports, m.options);
  CHECK(analysisOrErr);  // only unusable options are errors
  const ktriage::Analysis& a = *analysisOrErr;
  CHECK(a.reports.size() == m.reports.size() && a.details.size() == m.reports.size());
  for (size_t i = 0; i < a.details.size(); ++i) {
    CHECK(a.reports[i].frames.size() == m.reports[i].frames.size());
    if (a.details[i].symbols) CHECK(a.details[i].symbols->frames.size() == m.reports[i].frames.size());
  }
  std::ostringstream out;
  ktriage::render_text(a, ktriage::RenderOptions{.color = false, .verbose = true}, out);
  return 0;
}

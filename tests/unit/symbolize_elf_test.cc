// Symbolization against ELF files built at test time from the small C
// sources in tests/unit/data/symbolize/ with `gcc -g -O2`: an executable
// standing in for vmlinux (two static functions named `twin` of different
// sizes, inlined helpers, a call followed by more code) and relocatable
// objects standing in for modules (functions in .text, .text.unlikely,
// .init.text, .exit.text, every one at offset 0 of its section).
//
// Expected lines come from `// @marker` comments in the sources, columns
// from where the call is written, sizes and addresses from `nm`, call
// sites from `objdump -d`: nothing is hard-coded that the compiler decides.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/disasm.h"
#include "ktriage/symbolize.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::run_command;

namespace fs = std::filesystem;

const std::string kSrc = std::string(KTRIAGE_SOURCE_DIR) + "/tests/unit/data/symbolize";

// Line number of the line holding `// @name` in a test source.
uint32_t marker_line(const std::string& file, const std::string& name) {
  std::ifstream in(kSrc + "/" + file);
  std::string line;
  for (uint32_t n = 1; std::getline(in, line); ++n) {
    size_t at = line.find("// @" + name);
    if (at != std::string::npos && line.size() == at + 4 + name.size()) return n;
  }
  ADD_FAILURE() << "no marker @" << name << " in " << file;
  return 0;
}

// 1-based column of `token` on the marker line.
uint32_t marker_column(const std::string& file, const std::string& name, const std::string& token) {
  std::ifstream in(kSrc + "/" + file);
  std::string line;
  for (uint32_t n = 1; std::getline(in, line); ++n) {
    if (n == marker_line(file, name)) return static_cast<uint32_t>(line.find(token) + 1);
  }
  return 0;
}

struct NmSymbol {
  uint64_t address = 0, size = 0, gap = 0;
  std::string file;  // basename from nm -l
};

// `nm -S -l -n`: every defined symbol of `name`, with the distance to the
// next symbol (what kallsyms would print as the size).
std::vector<NmSymbol> nm_symbols(const std::string& elf, const std::string& name) {
  std::istringstream in(run_command("nm -S -l -n --defined-only " + elf));
  std::vector<std::pair<uint64_t, std::string>> all;
  std::vector<NmSymbol> out;
  std::string line;
  std::vector<size_t> want;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string addr, size, type, sym, where;
    ls >> addr >> size >> type >> sym;
    if (type.size() != 1) continue;  // no size column
    std::getline(ls, where);
    all.emplace_back(std::stoull(addr, nullptr, 16), sym);
    if (sym == name) {
      NmSymbol s;
      s.address = std::stoull(addr, nullptr, 16);
      s.size = std::stoull(size, nullptr, 16);
      size_t slash = where.rfind('/');
      s.file = where.substr(slash + 1, where.find(':') - slash - 1);
      out.push_back(s);
    }
  }
  for (NmSymbol& s : out) {
    for (auto& [a, n] : all) {
      if (a > s.address) {
        s.gap = a - s.address;
        break;
      }
    }
  }
  return out;
}

// Offsets of the instructions right after each `call` in a function
// (return addresses), from objdump.
std::vector<uint64_t> return_offsets(const std::string& elf, const std::string& func) {
  std::istringstream in(run_command("objdump -d --no-show-raw-insn " + elf));
  std::vector<uint64_t> out;
  std::string line;
  bool inside = false, after_call = false;
  uint64_t start = 0;
  while (std::getline(in, line)) {
    if (line.find(">:") != std::string::npos) {
      inside = line.find("<" + func + ">:") != std::string::npos;
      if (inside) start = std::stoull(line, nullptr, 16);
      continue;
    }
    if (!inside || line.find(':') == std::string::npos) continue;
    uint64_t addr = std::stoull(line, nullptr, 16);
    if (after_call) out.push_back(addr - start);
    after_call = line.find("\tcall ") != std::string::npos || line.find("\tcall\t") != std::string::npos;
  }
  return out;
}

// The bytes of `func` as objdump prints them.
std::vector<uint8_t> objdump_bytes(const std::string& elf, const std::string& func) {
  std::vector<uint8_t> out;
  for (const test::ObjInsn& i : test::objdump_function(elf, func)) out.insert(out.end(), i.bytes.begin(), i.bytes.end());
  return out;
}

std::string fmt_hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

class SymbolizeElf : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("gcc --version > /dev/null 2>&1") != 0) return;
    dir_ = ktriage::test::ScratchDir("ktriage-symbolize");
    fs::create_directories(dir_ / "mods" / "deep");
    const std::string d = dir_.string();
    // Relative source names with the source dir as cwd: comp_dir + name,
    // like a kernel build tree. The absolute-name object is like an
    // out-of-tree module built with M=.
    const std::string cmd =
        "cd '" + kSrc + "' && gcc -g -O2 -no-pie -o '" + d + "/vmlinux' main.c dup_a.c dup_b.c" +
        " && gcc -g -O2 -c -o '" + d + "/mod.o' module.c" + " && cd '" + d +
        "' && gcc -g -O2 -c -o '" + d + "/mods/deep/test-mod.ko' '" + kSrc + "/module.c'";
    built_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() { dir_ = {}; }
  void SetUp() override {
    if (!built_) GTEST_SKIP() << "gcc not available or test sources did not build";
  }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }

  static std::shared_ptr<DebugObject> open(const std::string& name, const std::string& as) {
    auto objOrErr = open_debug_object(path(name), as);
    EXPECT_TRUE(objOrErr) << (objOrErr ? "" : objOrErr.error().message);
    return objOrErr ? *objOrErr : nullptr;
  }

  static inline ktriage::test::ScratchDir dir_;
  static inline bool built_ = false;
};

Symbol sym(const std::string& function, uint64_t offset, std::optional<uint64_t> size = {},
           const std::string& module = "") {
  Symbol s;
  s.function = function;
  s.offset = offset;
  s.size = size;
  s.module = module;
  return s;
}

// The first offset in `function` whose innermost location is `line`.
std::optional<uint64_t> offset_at_line(DebugObject& obj, const std::string& function,
                                       uint64_t size, uint32_t line) {
  for (uint64_t off = 0; off < size; ++off) {
    FrameSymbolization r = resolve_symbol(obj, sym(function, off), false);
    if (r.source && r.source->line == line) return off;
  }
  return std::nullopt;
}

TEST_F(SymbolizeElf, DuplicateStaticNamesArePickedByPrintedSize) {
  auto obj = open("vmlinux", "vmlinux");
  ASSERT_TRUE(obj);
  std::vector<NmSymbol> twins = nm_symbols(path("vmlinux"), "twin");
  ASSERT_EQ(twins.size(), 2u);
  ASSERT_NE(twins[0].size, twins[1].size);
  for (const NmSymbol& t : twins) {
    const std::string marker = t.file == "dup_a.c" ? "twin_a" : "twin_b";
    // ELF st_size as printed, and kallsyms' padded size (up to the next symbol).
    for (uint64_t printed : {t.size, t.gap}) {
      SCOPED_TRACE(t.file + " printed size " + std::to_string(printed));
      FrameSymbolization r = resolve_symbol(*obj, sym("twin", 1, printed), false);
      ASSERT_TRUE(r.ok()) << r.symbolize_error;
      ASSERT_TRUE(r.source);
      EXPECT_EQ(r.source->file, t.file);
      EXPECT_EQ(r.size, t.size);
      ASSERT_FALSE(r.inlined.empty());
      EXPECT_EQ(r.inlined.back().function, "twin");
      EXPECT_GE(r.source->line, marker_line(t.file, marker));
      EXPECT_LE(r.source->line, marker_line(t.file, marker) + 8);
    }
  }
  // A size that fits neither: a clear per-frame error.
  uint64_t bogus = std::max(twins[0].gap, twins[1].gap) + 0x1000;
  FrameSymbolization r = resolve_symbol(*obj, sym("twin", 0, bogus), false);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.symbolize_error.find("2 symbols named twin, none of size"), std::string::npos)
      << r.symbolize_error;
  // A name that does not exist.
  r = resolve_symbol(*obj, sym("no_such_function", 0, 0x10), false);
  EXPECT_NE(r.symbolize_error.find("no symbol named no_such_function"), std::string::npos);
}

TEST_F(SymbolizeElf, InlineChainInnermostFirstEndingWithTheFunction) {
  auto obj = open("vmlinux", "vmlinux");
  ASSERT_TRUE(obj);
  std::vector<NmSymbol> outer = nm_symbols(path("vmlinux"), "outer");
  ASSERT_EQ(outer.size(), 1u);
  const uint32_t store = marker_line("dup_a.c", "inner_store");
  std::optional<uint64_t> off = offset_at_line(*obj, "outer", outer[0].size, store);
  ASSERT_TRUE(off) << "no instruction of outer maps to dup_a.c:" << store;

  FrameSymbolization r = resolve_symbol(*obj, sym("outer", *off, outer[0].size), false);
  ASSERT_TRUE(r.ok()) << r.symbolize_error;
  EXPECT_FALSE(r.return_address);
  ASSERT_EQ(r.inlined.size(), 3u);
  EXPECT_EQ(r.inlined[0].function, "inner");
  EXPECT_EQ(r.inlined[0].location.file, "dup_a.c");
  EXPECT_EQ(r.inlined[0].location.line, store);
  EXPECT_EQ(r.inlined[1].function, "middle");
  EXPECT_EQ(r.inlined[1].location.file, "dup_a.c");
  EXPECT_EQ(r.inlined[1].location.line, marker_line("dup_a.c", "call_inner"));
  EXPECT_EQ(r.inlined[1].location.column, marker_column("dup_a.c", "call_inner", "inner("));
  EXPECT_EQ(r.inlined[2].function, "outer");
  EXPECT_EQ(r.inlined[2].location.line, marker_line("dup_a.c", "call_middle"));
  EXPECT_EQ(r.inlined[2].location.column, marker_column("dup_a.c", "call_middle", "middle("));
  // source is the innermost location, what addr2line -i prints first.
  ASSERT_TRUE(r.source);
  EXPECT_EQ(r.source->file, r.inlined[0].location.file);
  EXPECT_EQ(r.source->line, r.inlined[0].location.line);
  EXPECT_EQ(r.source->column, r.inlined[0].location.column);
}

TEST_F(SymbolizeElf, ReturnAddressResolvesToTheCallLine) {
  auto obj = open("vmlinux", "vmlinux");
  ASSERT_TRUE(obj);
  std::vector<uint64_t> rets = return_offsets(path("vmlinux"), "caller");
  ASSERT_FALSE(rets.empty()) << "objdump found no call in caller";
  const uint32_t call_line = marker_line("dup_a.c", "call_callee");

  FrameSymbolization as_frame = resolve_symbol(*obj, sym("caller", rets[0]), true);
  ASSERT_TRUE(as_frame.ok()) << as_frame.symbolize_error;
  EXPECT_TRUE(as_frame.return_address);
  ASSERT_TRUE(as_frame.source);
  EXPECT_EQ(as_frame.source->line, call_line);
  EXPECT_EQ(as_frame.inlined.back().function, "caller");

  // The same address as an IP is the instruction after the call.
  FrameSymbolization as_ip = resolve_symbol(*obj, sym("caller", rets[0]), false);
  ASSERT_TRUE(as_ip.source);
  EXPECT_NE(as_ip.source->line, call_line);

  // Offset 0 has no call before it: not moved back into the previous symbol.
  FrameSymbolization at_zero = resolve_symbol(*obj, sym("caller", 0), true);
  EXPECT_FALSE(at_zero.return_address);
  ASSERT_FALSE(at_zero.inlined.empty());
  EXPECT_EQ(at_zero.inlined.back().function, "caller");
}

TEST_F(SymbolizeElf, ModuleFunctionsResolveInTheirOwnSections) {
  // Every function sits at offset 0 of its own section (.text,
  // .text.unlikely, .init.text, .exit.text): resolving by symbol value
  // without the section would give them all the same line.
  auto obj = open("mod.o", "test_mod");
  ASSERT_TRUE(obj);
  for (const char* fn : {"mod_hot", "mod_cold", "mod_init", "mod_exit"}) {
    SCOPED_TRACE(fn);
    std::vector<NmSymbol> s = nm_symbols(path("mod.o"), fn);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].address, 0u);
    // The call inside each function, as a return address.
    std::vector<uint64_t> rets = return_offsets(path("mod.o"), fn);
    if (rets.empty()) continue;  // the compiler turned it into a tail call
    FrameSymbolization r = resolve_symbol(*obj, sym(fn, rets.back(), s[0].size), true);
    ASSERT_TRUE(r.ok()) << r.symbolize_error;
    ASSERT_TRUE(r.source);
    EXPECT_EQ(r.source->file, "module.c");
    EXPECT_EQ(r.source->line, marker_line("module.c", std::string(fn) + "_call"));
    EXPECT_EQ(r.inlined.back().function, fn);
  }
  // An inlined helper inside the cold function.
  std::vector<NmSymbol> cold = nm_symbols(path("mod.o"), "mod_cold");
  ASSERT_EQ(cold.size(), 1u);
  std::optional<uint64_t> off =
      offset_at_line(*obj, "mod_cold", cold[0].size, marker_line("module.c", "mod_inner_store"));
  ASSERT_TRUE(off);
  FrameSymbolization r = resolve_symbol(*obj, sym("mod_cold", *off), false);
  ASSERT_EQ(r.inlined.size(), 2u);
  EXPECT_EQ(r.inlined[0].function, "mod_inner");
  EXPECT_EQ(r.inlined[1].function, "mod_cold");
  EXPECT_EQ(r.inlined[1].location.line, marker_line("module.c", "mod_call_inner"));
}

// Distributions ship modules compressed: Debian and Fedora .ko.xz, Arch and
// newer Ubuntu .ko.zst, old ones .ko.gz. Each is read as the .ko it holds.
TEST_F(SymbolizeElf, CompressedModulesAreRead) {
  std::vector<NmSymbol> cold = nm_symbols(path("mod.o"), "mod_cold");
  ASSERT_EQ(cold.size(), 1u);
  std::vector<uint64_t> rets = return_offsets(path("mod.o"), "mod_cold");
  Expected<std::vector<CodeRelocation>> plain = read_function_relocations(path("mods/deep/test-mod.ko"), "mod_cold");
  ASSERT_TRUE(plain) << plain.error().message;
  for (const char* tool : {"xz", "zstd -q --rm", "gzip"}) {
    SCOPED_TRACE(tool);
    const std::string ext = std::string(tool) == "zstd -q --rm" ? ".zst" : std::string(tool) == "xz" ? ".xz" : ".gz";
    const fs::path dir = dir_ / ("compressed" + ext);
    fs::create_directories(dir);
    const std::string ko = (dir / "test-mod.ko").string();
    fs::copy_file(path("mods/deep/test-mod.ko"), ko, fs::copy_options::overwrite_existing);
    ASSERT_EQ(std::system((std::string(tool) + " -f '" + ko + "'").c_str()), 0);
    ASSERT_TRUE(fs::exists(ko + ext)) << ko + ext;

    DebugInfoOptions opts;
    opts.module_dirs = {dir.string()};
    auto symOrErr = Symbolizer::open(opts);
    ASSERT_TRUE(symOrErr) << symOrErr.error().message;
    Report report;
    Frame f;
    static_cast<Symbol&>(f) = sym("mod_cold", rets.empty() ? 2 : rets.back(), cold[0].size, "test_mod");
    report.frames = {f};
    Symbolization s = symOrErr->symbolize(report);
    ASSERT_EQ(s.frames.size(), 1u);
    ASSERT_TRUE(s.frames[0].ok()) << s.frames[0].symbolize_error;
    ASSERT_TRUE(s.frames[0].source);
    EXPECT_EQ(s.frames[0].source->file, "module.c");
    ASSERT_EQ(s.debuginfo.size(), 1u);
    EXPECT_EQ(s.debuginfo[0].path, ko + ext);  // named as found, not as its decompressed copy
    EXPECT_TRUE(s.debuginfo[0].has_dwarf);

    // The Code: check reads the module's relocations from the same file.
    Expected<std::vector<CodeRelocation>> relocs = read_function_relocations(ko + ext, "mod_cold");
    ASSERT_TRUE(relocs) << relocs.error().message;
    EXPECT_EQ(relocs->size(), plain->size());
  }
  // A compressed file that is cut short is an error that says so.
  const std::string cut = (dir_ / "compressed.xz" / "cut.ko.xz").string();
  {
    std::ifstream in((dir_ / "compressed.xz" / "test-mod.ko.xz").string(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  auto objOrErr = open_debug_object(cut, "cut");
  ASSERT_FALSE(objOrErr);
  EXPECT_NE(objOrErr.error().message.find("cut.ko.xz"), std::string::npos) << objOrErr.error().message;
  EXPECT_NE(objOrErr.error().message.find("ends early"), std::string::npos) << objOrErr.error().message;
}

TEST_F(SymbolizeElf, SymbolizerFindsModulesAndComputesKaslr) {
  DebugInfoOptions opts;
  opts.vmlinux = path("vmlinux");
  opts.module_dirs = {path("mods")};
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;

  std::vector<NmSymbol> outer = nm_symbols(path("vmlinux"), "outer");
  std::vector<NmSymbol> caller = nm_symbols(path("vmlinux"), "caller");
  std::vector<NmSymbol> cold = nm_symbols(path("mod.o"), "mod_cold");
  ASSERT_TRUE(!outer.empty() && !caller.empty() && !cold.empty());
  std::vector<uint64_t> rets = return_offsets(path("vmlinux"), "caller");
  ASSERT_FALSE(rets.empty());
  const uint64_t kaslr = 0x1e00000;

  Report report;
  report.kernel_release = "9.9.9-ktriage";
  report.kernel_version = "#1 SMP Debian 9.9.9-1";
  report.ip = sym("outer", 4, outer[0].gap);
  report.ip->address = outer[0].address + 4 + kaslr;
  Frame f1;
  static_cast<Symbol&>(f1) = sym("caller", rets[0], caller[0].size);
  f1.address = caller[0].address + rets[0] + kaslr;
  Frame f2;
  static_cast<Symbol&>(f2) = sym("mod_cold", 2, cold[0].size, "test_mod");  // "-" vs "_"
  Frame f3;
  static_cast<Symbol&>(f3) = sym("no_such_module_fn", 2, 0x10, "absent_mod");
  report.frames = {f1, f2, f3};
  report.fault_address = caller[0].address + 1 + kaslr;
  report.registers.push_back({{{"rax", outer[0].address + 2 + kaslr}, {"rbx", 0x1234}}, 0});

  Symbolization s = symOrErr->symbolize(report);
  ASSERT_TRUE(s.kaslr_offset);
  EXPECT_EQ(s.kaslr_offset_hex(), "0x1e00000");
  EXPECT_TRUE(s.warnings.size() == 1 &&
              s.warnings[0].find("no file for module absent_mod") != std::string::npos);

  ASSERT_TRUE(s.ip && s.ip->ok()) << (s.ip ? s.ip->symbolize_error : "no ip");
  EXPECT_EQ(s.ip->inlined.back().function, "outer");
  ASSERT_EQ(s.frames.size(), 3u);
  ASSERT_TRUE(s.frames[0].source);
  EXPECT_EQ(s.frames[0].source->line, marker_line("dup_a.c", "call_callee"));
  EXPECT_TRUE(s.frames[1].ok()) << s.frames[1].symbolize_error;
  EXPECT_EQ(s.frames[1].object, "test_mod");
  ASSERT_TRUE(s.frames[1].source);
  // The module was built with an absolute source path, like M=dir builds:
  // shown relative to the module's own directory.
  EXPECT_EQ(s.frames[1].source->file, "module.c");
  EXPECT_FALSE(s.frames[2].ok());
  EXPECT_NE(s.frames[2].symbolize_error.find("absent_mod"), std::string::npos);

  // Bare addresses through the KASLR offset: fault address and rax, not rbx.
  ASSERT_EQ(s.addresses.size(), 2u);
  EXPECT_EQ(s.addresses[0].what, "fault_address");
  EXPECT_EQ(s.addresses[0].result.function, "caller");
  EXPECT_EQ(s.addresses[0].result.offset, 1u);
  EXPECT_EQ(s.addresses[1].what, "rax");
  EXPECT_EQ(s.addresses[1].result.function, "outer");

  ASSERT_EQ(s.debuginfo.size(), 2u);
  EXPECT_EQ(s.debuginfo[0].role, "vmlinux");
  EXPECT_TRUE(s.debuginfo[0].has_dwarf);
  EXPECT_EQ(s.debuginfo[0].match, DebugMatch::match);
  EXPECT_EQ(s.debuginfo[1].role, "module");
  EXPECT_EQ(s.debuginfo[1].name, "test_mod");
  EXPECT_NE(s.debuginfo[1].path.find("test-mod.ko"), std::string::npos);
  EXPECT_EQ(s.debuginfo[1].match, DebugMatch::match);
}

TEST_F(SymbolizeElf, FunctionCodeIsTheStoredBytes) {
  DebugInfoOptions opts;
  opts.vmlinux = path("vmlinux");
  opts.module_dirs = {path("mods")};
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;
  std::vector<NmSymbol> caller = nm_symbols(path("vmlinux"), "caller");
  std::vector<NmSymbol> cold = nm_symbols(path("mod.o"), "mod_cold");
  ASSERT_TRUE(!caller.empty() && !cold.empty());
  const uint64_t kaslr = 0x200000;

  Report report;
  Frame f1;
  static_cast<Symbol&>(f1) = sym("caller", 3, caller[0].size);
  f1.address = caller[0].address + 3 + kaslr;
  Frame f2;
  static_cast<Symbol&>(f2) = sym("mod_cold", 2, cold[0].size, "test_mod");
  report.frames = {f1, f2};
  Symbolization s = symOrErr->symbolize(report);
  ASSERT_EQ(s.frames.size(), 2u);

  Expected<FunctionCode> vm = symOrErr->function_code(s.frames[0]);
  ASSERT_TRUE(vm) << vm.error().message;
  EXPECT_EQ(vm->function, "caller");
  EXPECT_EQ(vm->link_address, caller[0].address);
  EXPECT_EQ(vm->runtime_address, caller[0].address + kaslr);
  EXPECT_FALSE(vm->relocatable);
  std::vector<uint8_t> want = objdump_bytes(path("vmlinux"), "caller");
  want.resize(caller[0].size);  // objdump goes on through the padding
  EXPECT_EQ(vm->bytes, want);

  Expected<FunctionCode> mod = symOrErr->function_code(s.frames[1]);
  ASSERT_TRUE(mod) << mod.error().message;
  EXPECT_EQ(mod->object, "test_mod");
  EXPECT_TRUE(mod->relocatable);
  EXPECT_FALSE(mod->runtime_address);
  want = objdump_bytes(path("mods/deep/test-mod.ko"), "mod_cold");
  want.resize(cold[0].size);
  EXPECT_EQ(mod->bytes, want);

  // Per-instruction source lookups for listings, in the object's own space.
  FrameSymbolization at = symOrErr->describe("vmlinux", vm->link_address + 3);
  EXPECT_EQ(at.function, "caller");
  EXPECT_EQ(at.offset, 3u);
  EXPECT_TRUE(at.source);
  EXPECT_FALSE(symOrErr->describe("nope", 0).ok());

  // A frame that did not resolve has no code.
  FrameSymbolization unresolved;
  unresolved.object = "vmlinux";
  EXPECT_FALSE(symOrErr->function_code(unresolved));
}

TEST_F(SymbolizeElf, BareModuleAddressesResolveThroughAFrameOfTheSameSection) {
  DebugInfoOptions opts;
  opts.module_dirs = {path("mods")};
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;
  std::vector<NmSymbol> cold = nm_symbols(path("mod.o"), "mod_cold");
  ASSERT_EQ(cold.size(), 1u);
  ASSERT_GT(cold[0].size, 4u);
  // Where the module's section was loaded: only the frame itself says it.
  const uint64_t loaded = 0xffffffffc0208193;

  Report report;
  Frame named;
  static_cast<Symbol&>(named) = sym("mod_cold", 2, cold[0].size, "test_mod");
  named.address = loaded + 2;
  Frame bare;  // "? 0xffffffffc0208197": no symbol, no module printed
  bare.function = fmt_hex(loaded + 4);
  bare.address = loaded + 4;
  bare.reliable = false;
  report.frames = {named, bare};
  report.registers.push_back({{{"rip", loaded + 3}, {"rbx", 0x1234}}, 0});

  Symbolization s = symOrErr->symbolize(report);
  ASSERT_EQ(s.frames.size(), 2u);
  ASSERT_TRUE(s.frames[0].ok()) << s.frames[0].symbolize_error;
  ASSERT_TRUE(s.frames[1].ok()) << s.frames[1].symbolize_error;
  EXPECT_EQ(s.frames[1].object, "test_mod");
  EXPECT_EQ(s.frames[1].function, "mod_cold");
  EXPECT_EQ(s.frames[1].offset, 4u);
  EXPECT_TRUE(s.frames[1].return_address);
  ASSERT_EQ(s.addresses.size(), 1u);
  EXPECT_EQ(s.addresses[0].what, "rip");
  EXPECT_EQ(s.addresses[0].result.function, "mod_cold");
  EXPECT_EQ(s.addresses[0].result.offset, 3u);
  EXPECT_EQ(s.addresses[0].result.address, loaded + 3);
  // The load address the frame implied, with objdump's name for the section.
  std::istringstream table(run_command("objdump -t " + path("mod.o")));
  std::string row, section;
  uint64_t value = 0;
  while (std::getline(table, row)) {
    if (row.size() > 9 && row.ends_with(" mod_cold")) {
      // "0000000000000000 g     F .text.unlikely\t0000000000000014 mod_cold"
      const std::string head = row.substr(0, row.find('\t'));
      section = head.substr(head.rfind(' ') + 1);
      value = std::stoull(row.substr(0, 16), nullptr, 16);
    }
  }
  ASSERT_EQ(s.module_sections.size(), 1u);
  EXPECT_EQ(s.module_sections[0].module, "test_mod");
  EXPECT_EQ(s.module_sections[0].section, section);
  EXPECT_EQ(s.module_sections[0].address, loaded - value);

  // Past the section: not guessed.
  report.frames[1].address = loaded + cold[0].gap + 0x100000;
  report.frames[1].function = fmt_hex(*report.frames[1].address);
  s = symOrErr->symbolize(report);
  EXPECT_FALSE(s.frames[1].ok());
}

// Addresses to symbols (listings name every operand this way): inside a
// sized symbol its name, past its end nothing, as nm's table says.
TEST_F(SymbolizeElf, AddressesResolveToTheContainingSymbol) {
  auto obj = open("vmlinux", "vmlinux");
  ASSERT_TRUE(obj);
  std::istringstream in(run_command("nm -S -n --defined-only " + path("vmlinux")));
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string addr, size, type, name;
    if (!(ls >> addr >> size >> type >> name) || (type != "T" && type != "t")) continue;
    const uint64_t a = std::stoull(addr, nullptr, 16), n = std::stoull(size, nullptr, 16);
    if (n == 0) continue;
    FrameSymbolization inside = resolve_address(*obj, a + n / 2, false);
    EXPECT_EQ(inside.function, name);
    EXPECT_EQ(inside.offset, n / 2) << name;
    EXPECT_EQ(inside.link_address, a + n / 2) << name;
    ++checked;
  }
  EXPECT_GE(checked, 5);
  FrameSymbolization below = resolve_address(*obj, 0x10, false);  // below everything
  EXPECT_TRUE(below.function.empty());
  EXPECT_NE(below.symbolize_error.find("no symbol at 0x10"), std::string::npos) << below.symbolize_error;
}

// clang emits no .debug_aranges by default: units are then found by their
// own address ranges, with the same results.
TEST_F(SymbolizeElf, WithoutArangesTheSameChains) {
  const std::string stripped = path("vmlinux-no-aranges");
  const std::string relocatable = path("mod-no-aranges.o");
  ASSERT_EQ(std::system(("objcopy --remove-section .debug_aranges '" + path("vmlinux") + "' '" +
                         stripped + "' && objcopy --remove-section .debug_aranges '" +
                         path("mod.o") + "' '" + relocatable + "'").c_str()),
            0);
  ASSERT_EQ(run_command("readelf -S " + stripped + " | grep -c debug_aranges"), "0\n");
  for (auto [with, without] : {std::pair{std::string("vmlinux"), stripped},
                               std::pair{std::string("mod.o"), relocatable}}) {
    SCOPED_TRACE(without);
    auto full = open(with, "x");
    auto bare = open_debug_object(without, "x");
    ASSERT_TRUE(full && bare);
    int compared = 0;
    for (const char* fn : {"outer", "caller", "mod_cold", "mod_init"}) {
      std::vector<NmSymbol> syms = nm_symbols(with == "vmlinux" ? path("vmlinux") : path("mod.o"), fn);
      if (syms.empty()) continue;
      for (uint64_t off = 0; off < syms[0].size; ++off) {
        FrameSymbolization a = resolve_symbol(*full, sym(fn, off), false);
        FrameSymbolization b = resolve_symbol(**bare, sym(fn, off), false);
        ASSERT_TRUE(b.ok()) << fn << "+" << off << ": " << b.symbolize_error;
        ASSERT_EQ(a.inlined.size(), b.inlined.size()) << fn << "+" << off;
        for (size_t k = 0; k < a.inlined.size(); ++k) {
          EXPECT_EQ(a.inlined[k].function, b.inlined[k].function);
          EXPECT_EQ(a.inlined[k].location.line, b.inlined[k].location.line);
        }
        ++compared;
      }
    }
    EXPECT_GT(compared, 20);
  }
}

TEST_F(SymbolizeElf, MismatchedVmlinuxIsFlagged) {
  DebugInfoOptions opts;
  opts.vmlinux = path("vmlinux");
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr);
  std::vector<NmSymbol> outer = nm_symbols(path("vmlinux"), "outer");
  std::vector<NmSymbol> caller = nm_symbols(path("vmlinux"), "caller");

  Report other_release;
  other_release.kernel_release = "6.1.0-99-amd64";
  other_release.ip = sym("outer", 4, outer[0].size);
  Symbolization s = symOrErr->symbolize(other_release);
  ASSERT_EQ(s.debuginfo.size(), 1u);
  EXPECT_EQ(s.debuginfo[0].match, DebugMatch::mismatch);
  EXPECT_EQ(s.debuginfo[0].confidence, MatchConfidence::certain);
  EXPECT_NE(s.debuginfo[0].evidence[0].find("linux_banner says 9.9.9-ktriage"), std::string::npos);

  // Same release string, but the printed sizes are another build's.
  Report other_build;
  other_build.kernel_release = "9.9.9-ktriage";
  Frame a, b;
  static_cast<Symbol&>(a) = sym("outer", 4, outer[0].gap + 0x40);
  static_cast<Symbol&>(b) = sym("caller", 4, caller[0].gap + 0x80);
  other_build.frames = {a, b};
  s = symOrErr->symbolize(other_build);
  EXPECT_EQ(s.debuginfo[0].match, DebugMatch::mismatch);
  EXPECT_EQ(s.debuginfo[0].confidence, MatchConfidence::likely);
  // A likely mismatch is not used: no frame resolves through it, each says why.
  ASSERT_EQ(s.frames.size(), 2u);
  EXPECT_NE(s.warnings.at(0).find("does not match this log (likely"), std::string::npos);
  for (const FrameSymbolization& f : s.frames) {
    EXPECT_FALSE(f.ok());
    EXPECT_EQ(f.symbolize_error, "vmlinux does not match this log: not used");
  }
}

TEST_F(SymbolizeElf, SystemMapIsASymbolOnlySource) {
  const std::string map = path("System.map");
  ASSERT_EQ(std::system(("nm -n '" + path("vmlinux") + "' > '" + map + "'").c_str()), 0);
  DebugInfoOptions opts;
  opts.vmlinux = map;
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;
  std::vector<NmSymbol> twins = nm_symbols(path("vmlinux"), "twin");
  ASSERT_EQ(twins.size(), 2u);
  Report r;
  Frame f;
  static_cast<Symbol&>(f) = sym("twin", 3, twins[1].gap);
  f.address = twins[1].address + 3 + 0x400000;
  r.frames = {f};
  Symbolization s = symOrErr->symbolize(r);
  EXPECT_EQ(s.kaslr_offset_hex(), "0x400000");
  ASSERT_EQ(s.frames.size(), 1u);
  EXPECT_EQ(s.frames[0].function, "twin");
  EXPECT_FALSE(s.frames[0].source);
  EXPECT_NE(s.frames[0].symbolize_error.find("symbol map"), std::string::npos);
  ASSERT_EQ(s.debuginfo.size(), 1u);
  EXPECT_EQ(s.debuginfo[0].role, "system_map");
  EXPECT_FALSE(s.debuginfo[0].has_dwarf);
}

// Every address of every function in the test executable: our chain must
// equal eu-addr2line's (function, file, line, column), innermost first.
TEST_F(SymbolizeElf, AgreesWithEuAddr2lineOnEveryAddress) {
  if (std::system("eu-addr2line --version > /dev/null 2>&1") != 0) GTEST_SKIP();
  auto obj = open("vmlinux", "vmlinux");
  ASSERT_TRUE(obj);
  int compared = 0;
  for (const char* fn : {"outer", "caller", "callee", "main"}) {
    std::vector<NmSymbol> s = nm_symbols(path("vmlinux"), fn);
    ASSERT_EQ(s.size(), 1u);
    std::string args;
    for (uint64_t off = 0; off < s[0].size; ++off) {
      char hex[32];
      std::snprintf(hex, sizeof hex, " 0x%llx", static_cast<unsigned long long>(s[0].address + off));
      args += hex;
    }
    std::istringstream theirs(run_command("eu-addr2line -f -i -e '" + path("vmlinux") + "'" + args));
    for (uint64_t off = 0; off < s[0].size; ++off) {
      FrameSymbolization ours = resolve_symbol(*obj, sym(fn, off), false);
      for (const InlineFrame& in : ours.inlined) {
        std::string func, loc;
        std::getline(theirs, func);
        std::getline(theirs, loc);
        const std::string file = fs::path(loc.substr(0, loc.find(':'))).filename().string();
        std::string expect_loc = file + ":" + std::to_string(in.location.line);
        if (in.location.column) expect_loc += ":" + std::to_string(in.location.column);
        EXPECT_EQ(func.substr(0, func.find(' ')), in.function) << fn << "+" << off;
        EXPECT_EQ(file + loc.substr(loc.find(':')), expect_loc) << fn << "+" << off;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 40);
}

TEST(SymbolizePaths, KernelRelative) {
  struct Case {
    std::string in, module_dir, out;
  };
  const Case cases[] = {
      {"debian/build/build_amd64_none_cloud-amd64/mm/slub.c", "", "mm/slub.c"},
      {"debian/build/build_amd64_none_cloud-amd64/./include/linux/list.h", "", "include/linux/list.h"},
      {"/kernel-lab/root/usr/src/linux-headers-6.1.0-56-common/include/linux/list.h", "",
       "include/linux/list.h"},
      {"/usr/src/linux-headers-6.1.0-56-cloud-amd64/arch/x86/include/asm/processor.h", "",
       "arch/x86/include/asm/processor.h"},
      {"/lib/modules/6.1.0-56-cloud-amd64/build/include/linux/slab.h", "", "include/linux/slab.h"},
      {"/usr/src/kernels/5.14.0-362.el9.x86_64/include/linux/fs.h", "", "include/linux/fs.h"},
      {"/kernel-lab/build/crashzoo/crashzoo.c", "/kernel-lab/build/crashzoo", "crashzoo.c"},
      {"/kernel-lab/build/crashzoo/../crashzoo/crashzoo.c", "/kernel-lab/build/crashzoo/",
       "crashzoo.c"},
      {"/build/reproducible-path/linux-6.1.192/arch/x86/entry/entry_64.S", "",
       "arch/x86/entry/entry_64.S"},
      {"/usr/src/debug/kernel-6.5.6/linux-6.5.6-300.fc39.x86_64/mm/slub.c", "", "mm/slub.c"},
      {"/home/me/other/file.c", "", "/home/me/other/file.c"},
      {"/home/me/linux-stuff/file.c", "", "/home/me/linux-stuff/file.c"},
      {"kernel/sched/core.c", "", "kernel/sched/core.c"},
  };
  for (const Case& c : cases) EXPECT_EQ(kernel_relative_path(c.in, {}, c.module_dir), c.out) << c.in;
  EXPECT_EQ(kernel_relative_path("/home/me/linux/fs/xfs/xfs_buf.c", {"/home/me/linux"}),
            "fs/xfs/xfs_buf.c");
}

TEST(SymbolizeSizes, PrintedSizeMatches) {
  struct Case {
    uint64_t printed, elf_size, gap;
    bool match;
  };
  const Case cases[] = {
      {0x20, 0x20, 0x30, true},   // st_size exactly
      {0x20, 0x16, 0x20, true},   // kallsyms padding up to the next symbol
      {0x20, 0x16, 0x30, true},   // a symbol kallsyms does not list in between
      {0x40, 0x16, 0x20, false},  // beyond the next ELF symbol
      {0x10, 0x16, 0x20, false},  // smaller than the code
      {0x20, 0x16, 0, true},      // unknown gap: alignment padding only
      {0x200, 0x16, 0, false},
      {0xd8, 0, 0, true},         // assembler label without a size: cannot tell
  };
  for (const Case& c : cases) {
    EXPECT_EQ(printed_size_matches(c.printed, c.elf_size, c.gap), c.match)
        << c.printed << " " << c.elf_size << " " << c.gap;
  }
}

TEST_F(SymbolizeElf, SourceRootShowsLinesAroundTheLocation) {
  DebugInfoOptions opts;
  opts.vmlinux = path("vmlinux");
  opts.source_root = kSrc;
  opts.source_context_lines = 2;
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr);
  std::vector<uint64_t> rets = return_offsets(path("vmlinux"), "caller");
  ASSERT_FALSE(rets.empty());
  Report r;
  Frame f;
  static_cast<Symbol&>(f) = sym("caller", rets[0]);
  r.frames = {f};
  Symbolization s = symOrErr->symbolize(r);
  const uint32_t call = marker_line("dup_a.c", "call_callee");
  ASSERT_EQ(s.frames[0].source_context.size(), 5u);
  EXPECT_EQ(s.frames[0].source_context[0].line, call - 2);
  EXPECT_EQ(s.frames[0].source_context[2].line, call);
  EXPECT_NE(s.frames[0].source_context[2].text.find("callee(v);  // @call_callee"), std::string::npos);
}

// The persisted index gives the same answers from the cache, and a damaged
// cache file is ignored, not trusted.
TEST_F(SymbolizeElf, PersistedIndexGivesIdenticalResults) {
  const std::string exe = path("vmlinux-buildid");
  ASSERT_EQ(std::system(("cd '" + kSrc + "' && gcc -g -O2 -no-pie -Wl,--build-id -o '" + exe +
                         "' main.c dup_a.c dup_b.c").c_str()), 0);
  std::vector<NmSymbol> twins = nm_symbols(exe, "twin");
  std::vector<NmSymbol> outer = nm_symbols(exe, "outer");
  std::vector<uint64_t> rets = return_offsets(exe, "caller");
  ASSERT_EQ(twins.size(), 2u);
  ASSERT_FALSE(rets.empty());
  Report r;
  r.kernel_release = "9.9.9-ktriage";
  r.ip = sym("outer", 10, outer[0].gap);
  Frame a, b;
  static_cast<Symbol&>(a) = sym("twin", 2, twins[1].size);
  static_cast<Symbol&>(b) = sym("caller", rets[0]);
  r.frames = {a, b};

  auto run_once = [&](const std::string& cache) {
    DebugInfoOptions opts;
    opts.vmlinux = exe;
    opts.cache_dir = cache;
    auto symOrErr = Symbolizer::open(opts);
    EXPECT_TRUE(symOrErr);
    return symOrErr->symbolize(r);
  };
  auto same = [](const FrameSymbolization& x, const FrameSymbolization& y) {
    EXPECT_EQ(x.source.has_value(), y.source.has_value());
    if (x.source && y.source) {
      EXPECT_EQ(x.source->file, y.source->file);
      EXPECT_EQ(x.source->line, y.source->line);
      EXPECT_EQ(x.source->column, y.source->column);
    }
    ASSERT_EQ(x.inlined.size(), y.inlined.size());
    for (size_t i = 0; i < x.inlined.size(); ++i) {
      EXPECT_EQ(x.inlined[i].function, y.inlined[i].function);
      EXPECT_EQ(x.inlined[i].location.line, y.inlined[i].location.line);
    }
    EXPECT_EQ(x.symbolize_error, y.symbolize_error);
    EXPECT_EQ(x.size, y.size);
  };
  const Symbolization plain = run_once("");
  const std::string cache = path("cache");
  const Symbolization first = run_once(cache);   // fills the cache
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(cache)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].extension(), ".ktsym");
  const Symbolization second = run_once(cache);  // served from it
  for (const Symbolization* s : {&first, &second}) {
    same(*plain.ip, *s->ip);
    for (size_t i = 0; i < plain.frames.size(); ++i) same(plain.frames[i], s->frames[i]);
    EXPECT_EQ(s->debuginfo[0].match, plain.debuginfo[0].match);
  }
  // A damaged cache file is ignored (and rewritten).
  std::ofstream(files[0], std::ios::app) << "A\tnot-a-number\n";
  const Symbolization third = run_once(cache);
  same(*plain.ip, *third.ip);
  for (size_t i = 0; i < plain.frames.size(); ++i) same(plain.frames[i], third.frames[i]);
}

// The kernel prints vmlinux's build-id too (CONFIG_STACKTRACE_BUILD_ID, on
// the CPU: line): it decides whether vmlinux is the log's.
TEST_F(SymbolizeElf, VmlinuxBuildIdFromTheLogDecides) {
  const std::string exe = path("vmlinux-printed-id");
  ASSERT_EQ(std::system(("cd '" + kSrc + "' && gcc -g -O2 -no-pie -Wl,--build-id -o '" + exe +
                         "' main.c dup_a.c dup_b.c").c_str()), 0);
  std::string notes = run_command("readelf -n '" + exe + "'");
  const size_t at = notes.find("Build ID: ");
  ASSERT_NE(at, std::string::npos);
  const std::string id = notes.substr(at + 10, 40);
  DebugInfoOptions opts;
  opts.vmlinux = exe;
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr);
  for (const std::string& printed : {id, std::string(40, 'b')}) {
    SCOPED_TRACE(printed);
    Report r;
    r.kernel_build_id = printed;
    Symbolization s = symOrErr->symbolize(r);
    ASSERT_EQ(s.debuginfo.size(), 1u);
    EXPECT_EQ(s.debuginfo[0].build_id, id);
    if (printed == id) {
      EXPECT_EQ(s.debuginfo[0].match, DebugMatch::match);
    } else {
      EXPECT_EQ(s.debuginfo[0].match, DebugMatch::mismatch);
      EXPECT_EQ(s.debuginfo[0].confidence, MatchConfidence::certain);
      EXPECT_NE(s.debuginfo[0].evidence.front().find("log prints build-id bbbb"), std::string::npos);
    }
  }
}

// Modules print their build-id with CONFIG_STACKTRACE_BUILD_ID: it picks
// the file and decides whether it matches.
TEST_F(SymbolizeElf, ModuleBuildIdFromTheLogDecides) {
  const std::string dir = path("bid");
  fs::create_directories(dir);
  ASSERT_EQ(std::system(("ld -r --build-id=sha1 -o '" + dir + "/bid_mod.ko' '" + path("mod.o") + "'").c_str()), 0);
  std::string notes = run_command("readelf -n '" + dir + "/bid_mod.ko'");
  size_t at = notes.find("Build ID: ");
  ASSERT_NE(at, std::string::npos);
  const std::string id = notes.substr(at + 10, 40);
  std::vector<NmSymbol> cold = nm_symbols(path("mod.o"), "mod_cold");
  ASSERT_EQ(cold.size(), 1u);

  DebugInfoOptions opts;
  opts.module_dirs = {dir};
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr);
  for (const std::string& printed : {id, std::string(40, 'a')}) {
    SCOPED_TRACE(printed);
    Report r;
    Frame f;
    static_cast<Symbol&>(f) = sym("mod_cold", 3, cold[0].size, "bid_mod");
    f.module_build_id = printed;
    r.frames = {f};
    Symbolization s = symOrErr->symbolize(r);
    ASSERT_EQ(s.debuginfo.size(), 1u);
    EXPECT_EQ(s.debuginfo[0].build_id, id);
    if (printed == id) {
      EXPECT_TRUE(s.frames[0].ok()) << s.frames[0].symbolize_error;
      EXPECT_EQ(s.debuginfo[0].match, DebugMatch::match);
    } else {
      // Another build of the module: not used.
      EXPECT_FALSE(s.frames[0].ok());
      EXPECT_NE(s.frames[0].symbolize_error.find("not used"), std::string::npos);
      EXPECT_TRUE(s.debuginfo[0].refused());
      EXPECT_EQ(s.debuginfo[0].match, DebugMatch::mismatch);
      EXPECT_EQ(s.debuginfo[0].confidence, MatchConfidence::certain);
      EXPECT_NE(s.debuginfo[0].evidence.back().find("log prints build-id aaaa"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace ktriage

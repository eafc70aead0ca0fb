// Whole-function listings and the Code:-vs-debug-file comparison, against
// ELF files built at test time from tests/unit/data/listing/listing.c with
// `gcc -g -O2 -mcmodel=kernel -pg -mfentry`: a "vmlinux" linked at kernel
// addresses (so absolute operands are sign-extended disp32, as in the kernel)
// and the same source as a relocatable "module".
//
// Expected values come from objdump (-d, -dr), nm and the `// @marker`
// comments in the source: nothing the compiler decides is hard-coded.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/disasm.h"
#include "ktriage/render.h"
#include "ktriage/symbolize.h"
#include "ktriage/triage.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::ObjInsn;
using ktriage::test::objdump_function;
using ktriage::test::run_command;

namespace fs = std::filesystem;

const std::string kSrc = std::string(KTRIAGE_SOURCE_DIR) + "/tests/unit/data/listing";

uint32_t marker_line(const std::string& name) {
  std::ifstream in(kSrc + "/listing.c");
  std::string line;
  for (uint32_t n = 1; std::getline(in, line); ++n) {
    if (line.find("// @" + name) != std::string::npos) return n;
  }
  ADD_FAILURE() << "no marker @" << name;
  return 0;
}

struct ObjReloc {
  uint64_t offset = 0;  // from the section start
  std::string symbol;   // "__fentry__-0x4", ".bss+0x9c"
};

// `objdump -dr` relocations inside one function, offsets from its start.
std::vector<ObjReloc> objdump_relocations(const std::string& elf, const std::string& func, uint64_t start) {
  std::vector<ObjReloc> out;
  for (const std::string& line : ktriage::test::objdump_lines("-dr", elf, func)) {
    if (line.find("R_X86_64_") == std::string::npos) continue;
    std::istringstream ls(line);
    std::string off, type, sym;
    ls >> off >> type >> sym;
    off.pop_back();  // ':'
    out.push_back({std::stoull(off, nullptr, 16) - start, sym});
  }
  return out;
}

std::pair<uint64_t, uint64_t> nm_symbol(const std::string& elf, const std::string& name) {
  std::istringstream in(run_command("nm -S --defined-only " + elf));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string addr, size, type, sym;
    ls >> addr >> size >> type >> sym;
    if (sym == name) return {std::stoull(addr, nullptr, 16), std::stoull(size, nullptr, 16)};
  }
  return {0, 0};
}

class DisasmListing : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("gcc --version > /dev/null 2>&1 && objdump --version > /dev/null 2>&1") != 0) return;
    dir_ = ktriage::test::ScratchDir("ktriage-listing");
    fs::create_directories(dir_ / "mods");
    const std::string d = dir_.string();
    const std::string flags = "-g -O2 -mcmodel=kernel -fno-pie -ffreestanding -pg -mfentry";
    const std::string cmd = "cd '" + kSrc + "' && gcc " + flags +
                            " -no-pie -nostdlib -Wl,-Ttext-segment=0xffffffff81000000 -Wl,-e,entry -o '" + d +
                            "/vmlinux' listing.c 2>/dev/null && gcc " + flags + " -c -o '" + d +
                            "/mods/test-listing.ko' listing.c";
    built_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() { dir_ = {}; }
  void SetUp() override {
    if (!built_) GTEST_SKIP() << "gcc/objdump not available or the test source did not build for x86-64";
    DebugInfoOptions opts;
    opts.vmlinux = path("vmlinux");
    opts.module_dirs = {path("mods")};
    auto symOrErr = Symbolizer::open(opts);
    ASSERT_TRUE(symOrErr) << symOrErr.error().message;
    sym_ = std::make_unique<Symbolizer>(std::move(*symOrErr));
  }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }

  // The first instruction of `func` whose objdump text contains `needle`.
  static ObjInsn find_insn(const std::string& elf, const std::string& func, const std::string& needle) {
    for (const ObjInsn& i : objdump_function(elf, func)) {
      if (i.text.find(needle) != std::string::npos) return i;
    }
    ADD_FAILURE() << "no `" << needle << "` in " << func;
    return {};
  }

  // A report whose ip is `func+offset` and whose one frame is `frame_func+frame_offset`.
  Symbolization symbolize(const std::string& func, uint64_t offset, const std::string& module = "",
                          const std::string& frame_func = "", uint64_t frame_offset = 0) {
    report_ = Report{};
    report_.arch = Arch::x86_64;
    Symbol ip;
    ip.function = func;
    ip.offset = offset;
    ip.module = module;
    report_.ip = ip;
    if (!frame_func.empty()) {
      Frame f;
      f.function = frame_func;
      f.offset = frame_offset;
      f.module = module;
      report_.frames.push_back(f);
    }
    return sym_->symbolize(report_);
  }

  static inline ktriage::test::ScratchDir dir_;
  static inline bool built_ = false;
  std::unique_ptr<Symbolizer> sym_;
  Report report_;
};

TEST_F(DisasmListing, MatchesObjdumpInstructionForInstruction) {
  for (const std::string func : {"sum_ids", "caller"}) {
    Symbolization s = symbolize(func, 0);
    ASSERT_TRUE(s.ip && s.ip->ok()) << func;
    Expected<FunctionListing> l = disassemble_function(*sym_, *s.ip, "ip", Arch::x86_64);
    ASSERT_TRUE(l) << l.error().message;
    const std::vector<ObjInsn> want = objdump_function(path("vmlinux"), func);
    ASSERT_FALSE(want.empty());
    // objdump goes on through the padding after st_size.
    const uint64_t end = nm_symbol(path("vmlinux"), func).first + l->size;
    size_t n = 0;
    for (const ObjInsn& w : want) n += w.address < end;
    ASSERT_EQ(l->instructions.size(), n) << func;
    for (size_t k = 0; k < n; ++k) {
      const ListingInstruction& got = l->instructions[k];
      SCOPED_TRACE(func + ": " + want[k].text);
      EXPECT_EQ(got.insn.address, want[k].address);
      EXPECT_EQ(got.insn.bytes, want[k].bytes);
      const bool branch = want[k].text.rfind("call", 0) == 0 || want[k].text.rfind("j", 0) == 0;
      const bool rip = want[k].text.find("(%rip)") != std::string::npos;
      if (branch || rip) {
        EXPECT_EQ(got.target, want[k].target);
      }
    }
  }
}

TEST_F(DisasmListing, AbsoluteOperandsNameTheKernelSymbol) {
  // `lea -0x7effcfe0(,%rdi,8)` / `mov $0xffffffff81003020`: sign-extended
  // 32-bit addresses of `table`, as the kernel's -mcmodel=kernel code has.
  Symbolization s = symbolize("sum_ids", 0);
  ASSERT_TRUE(s.ip && s.ip->ok());
  Expected<FunctionListing> l = disassemble_function(*sym_, *s.ip, "ip", Arch::x86_64);
  ASSERT_TRUE(l) << l.error().message;
  const uint64_t table = nm_symbol(path("vmlinux"), "table").first;
  ASSERT_NE(table, 0u);
  size_t named = 0;
  for (const ListingInstruction& i : l->instructions) {
    if (i.target == "table") {
      ++named;
      EXPECT_EQ(i.target_address, table) << i.insn.text;
    }
  }
  EXPECT_GE(named, 1u);
}

TEST_F(DisasmListing, StringLiteralOperandsAreShownAsStrings) {
  Symbolization s = symbolize("say", 0);
  ASSERT_TRUE(s.ip && s.ip->ok());
  ListingOptions lo;
  Expected<FunctionListing> l = disassemble_function(*sym_, *s.ip, "ip", Arch::x86_64, lo);
  ASSERT_TRUE(l) << l.error().message;
  bool found = false;
  for (const ListingInstruction& i : l->instructions) found |= i.target == "\"hello from listing\\n\"";
  EXPECT_TRUE(found);
}

TEST_F(DisasmListing, SourceLinesInlineChainAndFaultingMarker) {
  const ObjInsn load = find_insn(path("vmlinux"), "sum_ids", "0x18(%");
  const uint64_t start = nm_symbol(path("vmlinux"), "sum_ids").first;
  Symbolization s = symbolize("sum_ids", load.address - start);
  ASSERT_TRUE(s.ip && s.ip->ok());
  Expected<FunctionListing> l = disassemble_function(*sym_, *s.ip, "ip", Arch::x86_64);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_TRUE(l->marked);
  size_t faulting = 0;
  for (const ListingInstruction& i : l->instructions) faulting += i.faulting;
  EXPECT_EQ(faulting, 1u);
  const ListingInstruction& f = l->instructions[*l->marked];
  EXPECT_EQ(f.insn.address, load.address);
  EXPECT_EQ(f.offset, load.address - start);
  ASSERT_TRUE(f.source);
  EXPECT_EQ(f.source->line, marker_line("next_id"));
  ASSERT_EQ(f.inlined.size(), 2u);
  EXPECT_EQ(f.inlined[0].function, "next_id");
  EXPECT_EQ(f.inlined[1].function, "sum_ids");
  for (const ListingInstruction& i : l->instructions) {
    if (i.target == "counter") {
      EXPECT_EQ(i.source ? i.source->line : 0, marker_line("counter"));
    }
  }

  // The text report interleaves the location whenever it changes and marks the ip.
  Analysis a;
  a.source = "test";
  a.reports = {report_};
  ReportDetails d;
  l->requested = true;
  d.disassembly.push_back(*l);
  a.details = {d};
  std::ostringstream out;
  render_text(a, RenderOptions{}, out);
  const std::string text = out.str();
  char marker[64];
  std::snprintf(marker, sizeof marker, "=> <+%#llx>", static_cast<unsigned long long>(f.offset));
  EXPECT_NE(text.find(marker), std::string::npos) << text;
  EXPECT_NE(text.find("; listing.c:" + std::to_string(marker_line("next_id")) + " (inlined next_id <- sum_ids)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("; listing.c:" + std::to_string(marker_line("counter"))), std::string::npos) << text;
}

TEST_F(DisasmListing, ReturnAddressFrameMarksTheCall) {
  const ObjInsn call = find_insn(path("vmlinux"), "caller", "<sum_ids>");
  const uint64_t start = nm_symbol(path("vmlinux"), "caller").first;
  const uint64_t ret = call.address + call.bytes.size() - start;
  Symbolization s = symbolize("sum_ids", 0, "", "caller", ret);
  ASSERT_EQ(s.frames.size(), 1u);
  ASSERT_TRUE(s.frames[0].ok()) << s.frames[0].symbolize_error;
  Expected<FunctionListing> l = disassemble_function(*sym_, s.frames[0], "0", Arch::x86_64);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_TRUE(l->return_address);
  ASSERT_TRUE(l->marked);
  const ListingInstruction& m = l->instructions[*l->marked];
  EXPECT_EQ(m.insn.address, call.address);
  EXPECT_EQ(m.target, "sum_ids");
  EXPECT_EQ(m.source ? m.source->line : 0, marker_line("call"));
}

// A Code: line as the kernel prints it: `before` bytes, the marker, `after`.
CodeDecode code_line(const std::vector<uint8_t>& bytes, uint32_t marker) {
  CodeBytes c;
  c.bytes = bytes;
  c.faulting_offset = marker;
  Expected<CodeDecode> d = decode_code(c, Arch::x86_64);
  EXPECT_TRUE(d) << d.error().message;
  return d ? *d : CodeDecode{};
}

TEST_F(DisasmListing, CodeComparisonVerdicts) {
  const ObjInsn load = find_insn(path("vmlinux"), "sum_ids", "0x18(%");
  const uint64_t start = nm_symbol(path("vmlinux"), "sum_ids").first;
  const uint64_t ip = load.address - start;
  Symbolization s = symbolize("sum_ids", ip);
  ASSERT_TRUE(s.ip && s.ip->ok());
  Expected<FunctionCode> fc = sym_->function_code(*s.ip);
  ASSERT_TRUE(fc) << fc.error().message;
  std::vector<uint8_t> bytes = fc->bytes;
  ASSERT_EQ(bytes[0], 0xe8) << "built with -pg -mfentry: call __fentry__ first";

  // Identical bytes.
  Expected<CodeComparison> same = compare_code(code_line(bytes, static_cast<uint32_t>(ip)), *fc, ip);
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_EQ(same->verdict, ktriage::CodeVerdict::match) << ktriage::code_comparison_text(*same);
  EXPECT_EQ(same->compared, bytes.size());

  // ftrace turned the entry call into a 5-byte NOP.
  std::vector<uint8_t> patched = bytes;
  const uint8_t nop5[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
  std::copy(std::begin(nop5), std::end(nop5), patched.begin());
  Expected<CodeComparison> p = compare_code(code_line(patched, static_cast<uint32_t>(ip)), *fc, ip);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->verdict, ktriage::CodeVerdict::runtime_patched) << ktriage::code_comparison_text(*p);
  ASSERT_FALSE(p->differing_offsets.empty());
  for (uint64_t o : p->differing_offsets) EXPECT_LT(o, 5u);
  EXPECT_NE(ktriage::code_comparison_text(*p).find("ftrace"), std::string::npos) << ktriage::code_comparison_text(*p);

  // KASLR moved the absolute references to `table` by 2 MiB * 5.
  const std::vector<ObjInsn> insns = objdump_function(path("vmlinux"), "sum_ids");
  const uint64_t table = nm_symbol(path("vmlinux"), "table").first;
  std::vector<uint8_t> moved = bytes;
  size_t fields = 0;
  for (const ObjInsn& i : insns) {
    for (size_t k = 0; k + 4 <= i.bytes.size(); ++k) {
      uint32_t v = 0;
      for (size_t b = 0; b < 4; ++b) v |= uint32_t{i.bytes[k + b]} << (8 * b);
      if (v != static_cast<uint32_t>(table)) continue;
      v += 5 * 0x200000;
      for (size_t b = 0; b < 4; ++b) moved[i.address - start + k + b] = static_cast<uint8_t>(v >> (8 * b));
      ++fields;
    }
  }
  ASSERT_GE(fields, 1u);
  Expected<CodeComparison> k = compare_code(code_line(moved, static_cast<uint32_t>(ip)), *fc, ip);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->verdict, ktriage::CodeVerdict::match) << ktriage::code_comparison_text(*k);
  EXPECT_EQ(k->kaslr_offset, 5 * 0x200000);
  EXPECT_EQ(k->relocated, 4 * fields);

  // A different build: bytes differ inside ordinary instructions all over.
  std::vector<uint8_t> other = bytes;
  size_t changed = 0;
  for (const ObjInsn& i : insns) {
    const uint64_t at = i.address - start;
    if (at == 0 || at >= bytes.size() || i.text.rfind("nop", 0) == 0 || i.bytes.size() < 2) continue;
    other[at + i.bytes.size() - 1] ^= 0x08;
    ++changed;
  }
  ASSERT_GE(changed, 4u);
  Expected<CodeComparison> o = compare_code(code_line(other, static_cast<uint32_t>(ip)), *fc, ip);
  if (o) {  // the changed bytes may no longer decode at the marker; then there is no comparison to make
    EXPECT_EQ(o->verdict, ktriage::CodeVerdict::different_build) << ktriage::code_comparison_text(*o);
    EXPECT_GE(o->differing_offsets.size(), 4u);
  }
  CodeDecode raw;  // compared as bytes, whatever they decode to
  raw.arch = Arch::x86_64;
  raw.bytes = other;
  raw.faulting_offset = static_cast<uint32_t>(ip);
  Expected<CodeComparison> r = compare_code(raw, *fc, ip);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->verdict, ktriage::CodeVerdict::different_build) << ktriage::code_comparison_text(*r);
  CompareOptions no_kaslr;  // "Kernel Offset: disabled": nothing is explained away as KASLR
  no_kaslr.kaslr_offset = 0;
  r = compare_code(raw, *fc, ip, no_kaslr);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->verdict, ktriage::CodeVerdict::different_build) << ktriage::code_comparison_text(*r);
  EXPECT_EQ(r->differing_offsets.size(), changed);
}

TEST_F(DisasmListing, ModuleRelocationsNameCallsAndData) {
  const std::string ko = path("mods/test-listing.ko");
  const uint64_t start = nm_symbol(ko, "caller").first;
  Expected<std::vector<CodeRelocation>> relocs = read_function_relocations(ko, "caller");
  ASSERT_TRUE(relocs) << relocs.error().message;
  const std::vector<ObjReloc> want = objdump_relocations(ko, "caller", start);
  ASSERT_EQ(relocs->size(), want.size());
  bool section_relative = false;
  for (size_t k = 0; k < want.size(); ++k) {
    SCOPED_TRACE(want[k].symbol);
    EXPECT_EQ((*relocs)[k].offset, want[k].offset);
    if (want[k].symbol[0] == '.') {
      section_relative = true;  // gcc's .bss+0x.. for the static `hits`
      EXPECT_EQ((*relocs)[k].symbol, "hits");
      EXPECT_EQ((*relocs)[k].addend, 0);
    } else {
      EXPECT_EQ((*relocs)[k].symbol, want[k].symbol.substr(0, want[k].symbol.find_first_of("+-")));
    }
  }
  EXPECT_TRUE(section_relative);

  // The listing of a module function names its calls through them.
  Symbolization s = symbolize("caller", 0, "test_listing");
  ASSERT_TRUE(s.ip && s.ip->ok()) << (s.ip ? s.ip->symbolize_error : "no ip");
  ListingOptions lo;
  lo.relocations = &*relocs;
  Expected<FunctionListing> l = disassemble_function(*sym_, *s.ip, "ip", Arch::x86_64, lo);
  ASSERT_TRUE(l) << l.error().message;
  std::vector<std::string> calls;
  for (const ListingInstruction& i : l->instructions) {
    if (i.insn.mnemonic.rfind("call", 0) == 0) calls.push_back(i.target);
  }
  EXPECT_EQ(calls, (std::vector<std::string>{"__fentry__", "sum_ids", "sink"}));
  bool hits = false;
  for (const ListingInstruction& i : l->instructions) hits |= i.target == "hits";
  EXPECT_TRUE(hits);

  // Without relocations the calls out of the function say so.
  Expected<FunctionListing> bare = disassemble_function(*sym_, *s.ip, "ip", Arch::x86_64);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->instructions.front().target, "unrelocated");

  // Code: bytes with the loader's values in the relocated fields still match.
  Expected<FunctionCode> fc = sym_->function_code(*s.ip);
  ASSERT_TRUE(fc) << fc.error().message;
  std::vector<uint8_t> loaded = fc->bytes;
  for (const CodeRelocation& r : *relocs) {
    for (uint32_t b = 0; b < r.size; ++b) loaded[r.offset + b] = static_cast<uint8_t>(0xa5 + b);
  }
  const ObjInsn pop = find_insn(ko, "caller", "pop");
  const uint32_t ip = static_cast<uint32_t>(pop.address - start);
  CompareOptions co;
  co.relocations = &*relocs;
  Expected<CodeComparison> c = compare_code(code_line(loaded, ip), *fc, ip, co);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->verdict, ktriage::CodeVerdict::match) << ktriage::code_comparison_text(*c);
  EXPECT_GT(c->relocated, 0u);
}

TEST_F(DisasmListing, DecodeFunctionMarksTheOffsetOrErrors) {
  const ObjInsn load = find_insn(path("vmlinux"), "sum_ids", "0x18(%");
  const uint64_t start = nm_symbol(path("vmlinux"), "sum_ids").first;
  Symbolization s = symbolize("sum_ids", 0);
  Expected<FunctionCode> fc = sym_->function_code(*s.ip);
  ASSERT_TRUE(fc);
  Expected<CodeDecode> d = decode_function(fc->bytes, load.address - start, Arch::x86_64, start);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->faulting().address, load.address);
  EXPECT_TRUE(d->faulting().faulting);
  EXPECT_FALSE(decode_function(fc->bytes, load.address - start + 1, Arch::x86_64, start));
  EXPECT_FALSE(decode_function(fc->bytes, fc->bytes.size(), Arch::x86_64, start));
}

// The whole pipeline: a NULL dereference in sum_ids whose Code: line holds
// only 3 bytes before the faulting one. From the log alone the slice stops at
// the start of the bytes; with the "vmlinux" it reaches the load that
// produced the NULL pointer, with its source line, and the report carries the
// listing and the comparison.
TEST_F(DisasmListing, TriageExplainsOverTheWholeFunction) {
  const std::string vm = path("vmlinux");
  const ObjInsn load = find_insn(vm, "sum_ids", "0x18(%");
  const uint64_t start = nm_symbol(vm, "sum_ids").first;
  const uint64_t ip = load.address - start;
  std::string reg = load.text.substr(load.text.find("0x18(%") + 6, 3);  // "rcx"
  Symbolization s = symbolize("sum_ids", ip);
  Expected<FunctionCode> fc = sym_->function_code(*s.ip);
  ASSERT_TRUE(fc);

  Report r = report_;
  r.kind = CrashKind::null_deref;
  r.fault_address = 0x18;
  r.error_code = PageFaultError{0};
  r.ip->address = load.address;
  RegisterSet regs;
  regs.regs = {{reg, 0}, {"rip", load.address}, {"rsp", 0xffffc90000003f00}};
  r.registers = {regs};
  CodeBytes code;
  code.bytes.assign(fc->bytes.begin() + static_cast<long>(ip - 3), fc->bytes.end());
  code.faulting_offset = 3;
  r.code = code;

  Expected<FaultExplanation> alone = explain_report_fault(r);
  ASSERT_TRUE(alone) << alone.error().message;
  EXPECT_TRUE(alone->chain.empty());

  TriageOptions options;
  options.debug.vmlinux = vm;
  options.shipped_kb = false;
  Expected<Analysis> a = triage("test", {r}, options);
  ASSERT_TRUE(a) << a.error().message;
  const ReportDetails& d = a->details.at(0);
  ASSERT_TRUE(d.code_match);
  EXPECT_EQ(d.code_match->verdict, ktriage::CodeVerdict::match) << ktriage::code_comparison_text(*d.code_match);
  ASSERT_TRUE(d.fault);
  EXPECT_EQ(d.fault->bad_register, reg);
  ASSERT_FALSE(d.fault->chain.empty()) << ktriage::chain_stop_text(d.fault->chain_stop);
  const ChainStep& step = d.fault->chain.front();
  EXPECT_EQ(step.register_name, reg);
  EXPECT_LT(step.instruction.address, load.address - 3) << "before the Code: window";
  // The writer objdump shows: the last instruction before the load that names the register as destination.
  uint64_t writer = 0;
  for (const ObjInsn& i : objdump_function(vm, "sum_ids")) {
    if (i.address < load.address && i.text.size() > 4 && i.text.compare(i.text.size() - 4, 4, "%" + reg) == 0) {
      writer = i.address;
    }
  }
  EXPECT_EQ(step.instruction.address, writer);
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(writer));
  std::string where = run_command("addr2line -e " + vm + " " + hex + " 2>/dev/null");  // innermost: "/.../listing.c:23 (discriminator 3)"
  where = where.substr(0, where.find_first_of(" \n"));
  ASSERT_NE(where.find(':'), std::string::npos) << where;
  ASSERT_TRUE(step.source);
  EXPECT_EQ(fmt::format("{}:{}", step.source->file, step.source->line), "listing.c" + where.substr(where.rfind(':')));

  // JSON carries both.
  std::ostringstream out;
  render_json(*a, out);
  const nlohmann::json j = nlohmann::json::parse(out.str());
  const nlohmann::json& rep = j["reports"][0];
  EXPECT_EQ(rep["code"]["vmlinux_match"]["verdict"], "match");
  ASSERT_EQ(rep["disassembly"].size(), 1u);
  EXPECT_EQ(rep["disassembly"][0]["frame"], "ip");
  EXPECT_EQ(rep["disassembly"][0]["function"], "sum_ids");
  size_t faulting = 0;
  for (const nlohmann::json& i : rep["disassembly"][0]["instructions"]) faulting += i["faulting"].get<bool>();
  EXPECT_EQ(faulting, 1u);
  EXPECT_EQ(rep["fault"]["chain"][0]["source"], fmt::format("{}:{}", step.source->file, step.source->line));

  // The text report: one line for the comparison, the compact listing after the explanation.
  std::ostringstream text;
  render_text(*a, RenderOptions{}, text);
  const std::string t = text.str();
  EXPECT_NE(t.find("Code: check    match:"), std::string::npos) << t;
  EXPECT_LT(t.find("faulting insn"), t.find("disassembly    sum_ids (the ip")) << t;
}

}  // namespace
}  // namespace ktriage

// Source expressions of memory operands (Symbolizer::source_expression,
// variable_in_register) against tests/unit/data/expressions/zoo.c, built at
// test time with `gcc -g -O2` as an executable (opened as vmlinux) and as a
// relocatable object (opened as a module).
//
// Which instruction loads what, and through which registers, is read from
// `objdump -d`: a test names a function and the displacement its C source
// fixes (offsetof, element size), never an address or a register the
// compiler chose.
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/symbolize.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::run_command;

namespace fs = std::filesystem;

const std::string kSrc = std::string(KTRIAGE_SOURCE_DIR) + "/tests/unit/data/expressions";

// One memory operand of one instruction, as objdump prints it (AT&T).
struct Load {
  uint64_t offset = 0;  // of the instruction from the function start
  std::string mnemonic;
  std::string base, index;  // "rdi", "" when absent
  int64_t scale = 1;
  int64_t displacement = 0;
};

// Every instruction of `func` with a memory operand, in order.
std::vector<Load> loads(const std::string& elf, const std::string& func) {
  std::istringstream in(run_command("objdump -d --no-show-raw-insn " + elf));
  static const RE2 operand(R"((-?0x[0-9a-f]+)?\((?:%([a-z0-9]+))?(?:,%([a-z0-9]+)(?:,([1248]))?)?\))");
  std::vector<Load> out;
  std::string line;
  bool inside = false;
  uint64_t start = 0;
  while (std::getline(in, line)) {
    if (line.find(">:") != std::string::npos) {
      inside = line.find("<" + func + ">:") != std::string::npos;
      if (inside) start = std::stoull(line, nullptr, 16);
      continue;
    }
    size_t colon = line.find(":\t");
    if (!inside || colon == std::string::npos) continue;
    std::istringstream insn(line.substr(colon + 2));
    Load l;
    l.offset = std::stoull(line, nullptr, 16) - start;
    insn >> l.mnemonic;
    if (l.mnemonic.starts_with("nop") || l.mnemonic == "data16" || l.mnemonic == "lea") continue;
    std::string d, scale;  // "" when the operand has none
    if (!RE2::PartialMatch(line.substr(colon + 2), operand, &d, &l.base, &l.index, &scale)) continue;
    if (!d.empty()) {
      l.displacement = d[0] == '-' ? -static_cast<int64_t>(std::stoull(d.substr(1), nullptr, 16))
                                   : static_cast<int64_t>(std::stoull(d, nullptr, 16));
    }
    if (!scale.empty()) l.scale = std::stoll(scale);
    out.push_back(l);
  }
  return out;
}

// The load in `func` with this displacement (and an index register when
// `indexed`); fails the test when the compiler emitted none or several.
std::optional<Load> load_at(const std::string& elf, const std::string& func,
                            int64_t displacement, bool indexed = false) {
  std::vector<Load> found;
  for (const Load& l : loads(elf, func)) {
    if (l.displacement == displacement && l.index.empty() != indexed && !l.base.empty()) {
      found.push_back(l);
    }
  }
  EXPECT_EQ(found.size(), 1u) << func << " loads at " << displacement;
  if (found.size() != 1) return std::nullopt;
  return found[0];
}

class SourceExpressionTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    if (std::system("gcc --version > /dev/null 2>&1") != 0) return;
    dir_ = ktriage::test::ScratchDir("ktriage-expr");
    fs::create_directories(dir_ / "mods");
    // The module is built like the kernel's (-fno-asynchronous-unwind-tables):
    // its CFI is .debug_frame, which libdwfl relocates (a .o's .eh_frame is not).
    const std::string d = dir_.string();
    const std::string cmd = "cd '" + kSrc + "' && gcc -g -O2 -fno-pie -no-pie -o '" + d +
                            "/vmlinux' zoo.c && gcc -g -O2 -fno-asynchronous-unwind-tables -c -o '" + d +
                            "/mods/zoo_mod.ko' zoo.c";
    built_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() { dir_ = {}; }
  void SetUp() override {
    if (!built_) GTEST_SKIP() << "gcc not available or the fixture did not build";
    module_ = GetParam();
    DebugInfoOptions opts;
    opts.vmlinux = path("vmlinux");
    opts.module_dirs = {path("mods")};
    auto symOrErr = Symbolizer::open(opts);
    ASSERT_TRUE(symOrErr) << symOrErr.error().message;
    sym_ = std::make_unique<Symbolizer>(std::move(*symOrErr));
  }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  std::string elf() const { return module_ ? path("mods/zoo_mod.ko") : path("vmlinux"); }
  std::string object() const { return module_ ? "zoo_mod" : "vmlinux"; }

  // Link-time address of `func` in the object, through symbolize().
  std::optional<uint64_t> function_start(const std::string& func) {
    Report report;
    Symbol s;
    s.function = func;
    s.offset = 0;
    if (module_) s.module = "zoo_mod";
    report.ip = s;
    Symbolization out = sym_->symbolize(report);
    EXPECT_TRUE(out.ip && out.ip->ok() && out.ip->link_address)
        << func << ": " << (out.ip ? out.ip->symbolize_error : "no ip");
    if (!out.ip || !out.ip->link_address) return std::nullopt;
    return *out.ip->link_address;
  }

  // The source expression of the load in `func` at `displacement`.
  std::optional<SourceExpression> expr(const std::string& func, int64_t displacement,
                                       bool indexed = false,
                                       const SourceExpression* base_is = nullptr) {
    std::optional<Load> l = load_at(elf(), func, displacement, indexed);
    std::optional<uint64_t> start = function_start(func);
    if (!l || !start) return std::nullopt;
    return sym_->source_expression(object(), *start + l->offset, l->base, l->index, l->scale,
                                   l->displacement, 0, base_is);
  }

  static inline ktriage::test::ScratchDir dir_;
  static inline bool built_ = false;
  bool module_ = false;
  std::unique_ptr<Symbolizer> sym_;
};

TEST_P(SourceExpressionTest, PointerParameterMember) {
  auto e = expr("zoo_nullderef", 0x18);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "n->next");
  EXPECT_EQ(e->variable, "n");
  EXPECT_EQ(e->variable_type, "struct zoo_node *");
  EXPECT_EQ(e->type, "struct zoo_node *");
  EXPECT_EQ(e->member, "next");
  EXPECT_FALSE(e->inferred);
}

TEST_P(SourceExpressionTest, LoadedPointerThenDereferenced) {
  // t->stack, then ->cpu through the register the first load wrote.
  auto stack = expr("zoo_task_cpu", 0x10);
  ASSERT_TRUE(stack);
  EXPECT_EQ(stack->text, "t->stack");
  EXPECT_EQ(stack->type, "struct thread_info *");
  auto cpu = expr("zoo_task_cpu", 0x14, false, &*stack);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->text, "t->stack->cpu");
  EXPECT_EQ(cpu->type, "unsigned int");
  EXPECT_EQ(cpu->member, "cpu");
  // The NULL deref's second load: n->next->id.
  auto next = expr("zoo_nullderef", 0x18);
  ASSERT_TRUE(next);
  auto id = expr("zoo_nullderef", 0, false, &*next);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->text, "n->next->id");
  EXPECT_EQ(id->type, "int");
}

TEST_P(SourceExpressionTest, NestedMembers) {
  auto b = expr("zoo_inner_b", 0xc);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->text, "o->in.b");
  EXPECT_EQ(b->member, "b");
  auto prev = expr("zoo_link_prev", 0x18);
  ASSERT_TRUE(prev);
  EXPECT_EQ(prev->text, "o->link.prev");
  EXPECT_EQ(prev->type, "struct list_head *");
}

TEST_P(SourceExpressionTest, ArrayIndexing) {
  auto at = expr("zoo_at", 0, true);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->text, "arr[i]");
  EXPECT_EQ(at->type, "const int");
  auto ptr = expr("zoo_ptr_at", 0, true);
  ASSERT_TRUE(ptr);
  EXPECT_EQ(ptr->text, "ptr[idx]");
  EXPECT_EQ(ptr->type, "struct zoo_node *");
  auto val = expr("zoo_val", 0x20, true);
  ASSERT_TRUE(val);
  EXPECT_EQ(val->text, "o->vals[i]");
  EXPECT_EQ(val->type, "int");
}

TEST_P(SourceExpressionTest, GlobalArrayIndexedByAbsoluteAddress) {
  if (module_) GTEST_SKIP() << "a relocatable object's absolute operands are not relocated";
  std::vector<Load> ls = loads(elf(), "zoo_lookup");
  ASSERT_EQ(ls.size(), 1u);
  ASSERT_TRUE(ls[0].base.empty());
  std::optional<uint64_t> start = function_start("zoo_lookup");
  ASSERT_TRUE(start);
  auto e = sym_->source_expression(object(), *start + ls[0].offset, "", ls[0].index, ls[0].scale,
                                   ls[0].displacement);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "zoo_table[i]");
  EXPECT_EQ(e->type, "struct zoo_node *");
}

TEST_P(SourceExpressionTest, IndexLoadedByAnEarlierStep) {
  if (module_) GTEST_SKIP() << "a relocatable object's absolute operands are not relocated";
  // zoo_table[t->stack->cpu]: each load's expression feeds the next as
  // what its base or index register holds.
  auto stack = expr("zoo_cpu_entry", 0x10);
  ASSERT_TRUE(stack);
  auto cpu = expr("zoo_cpu_entry", 0x14, false, &*stack);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->text, "t->stack->cpu");
  std::vector<Load> indexed;
  for (const Load& l : loads(elf(), "zoo_cpu_entry")) {
    if (l.base.empty() && !l.index.empty()) indexed.push_back(l);
  }
  ASSERT_EQ(indexed.size(), 1u);
  std::optional<uint64_t> start = function_start("zoo_cpu_entry");
  ASSERT_TRUE(start);
  const Load& l = indexed[0];
  auto e = sym_->source_expression(object(), *start + l.offset, "", l.index, l.scale,
                                   l.displacement, 8, nullptr, &*cpu);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "zoo_table[t->stack->cpu]");
  EXPECT_EQ(e->type, "struct zoo_node *");
  // Without it, the register stands in for the index, with a note.
  auto bare = sym_->source_expression(object(), *start + l.offset, "", l.index, l.scale,
                                      l.displacement, 8);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->text, "zoo_table[" + l.index + "]");
  EXPECT_FALSE(bare->note.empty());
}

TEST_P(SourceExpressionTest, ContainerOfPrefersTheObjectTheAddressIsIn) {
  // The register holds l (struct list_head *) and o == l - 0x10: the load
  // at -0x10 is o->x, not l[-1].
  auto e = expr("zoo_container", -0x10);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "o->x");
  EXPECT_EQ(e->type, "long int");
}

TEST_P(SourceExpressionTest, StructPassedInRegisters) {
  // p (struct carrier, 16 bytes) lives in two registers; the one holding
  // p.n is the base of the load of ->id.
  auto e = expr("zoo_pieces", 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "p.n->id");
  EXPECT_EQ(e->type, "int");
  std::optional<Load> l = load_at(elf(), "zoo_pieces", 0);
  std::optional<uint64_t> start = function_start("zoo_pieces");
  ASSERT_TRUE(l && start);
  auto v = sym_->variable_in_register(object(), *start + l->offset, l->base);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->text, "p.n");
  EXPECT_EQ(v->type, "struct zoo_node *");
}

TEST_P(SourceExpressionTest, UnionMemberOfTheAccessedSize) {
  std::optional<Load> l = load_at(elf(), "zoo_hi", 0xc);
  std::optional<uint64_t> start = function_start("zoo_hi");
  ASSERT_TRUE(l && start);
  auto e = sym_->source_expression(object(), *start + l->offset, l->base, "", 1, 0xc, 4);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "r->w.half.hi");
  EXPECT_EQ(e->type, "unsigned int");
  // One byte there is a byte of the array.
  e = sym_->source_expression(object(), *start + l->offset, l->base, "", 1, 0xc, 1);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "r->w.bytes[4]");
}

TEST_P(SourceExpressionTest, InlinedHelperParameter) {
  // zoo_next_id(tbl[i]) inlined into a loop: n->next, whether DWARF places
  // n in the register there or only its type singles it out.
  auto e = expr("zoo_sum_ids", 0x18);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "n->next");
  EXPECT_EQ(e->variable, "n");
}

TEST_P(SourceExpressionTest, StackLocalThroughTheFrameBase) {
  // pr.b: a local struct at a CFA-relative slot, read through the stack
  // pointer (or frame pointer) the CFI gives the CFA from.
  std::vector<Load> ls;
  for (const Load& l : loads(elf(), "zoo_local")) {
    if (l.mnemonic == "mov" && (l.base == "rsp" || l.base == "rbp") && l.index.empty()) ls.push_back(l);
  }
  ASSERT_FALSE(ls.empty()) << "no stack load in zoo_local";
  std::optional<uint64_t> start = function_start("zoo_local");
  ASSERT_TRUE(start);
  const Load& l = ls.back();  // the read after the call
  auto e = sym_->source_expression(object(), *start + l.offset, l.base, "", 1, l.displacement, 8);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "pr.b");
  EXPECT_EQ(e->type, "long int");
  EXPECT_EQ(e->variable, "pr");
}

TEST_P(SourceExpressionTest, UntypedPointerIsNamedNotTyped) {
  auto e = expr("zoo_raw", 0x18);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "*(p + 0x18)");
  EXPECT_EQ(e->variable, "p");
  EXPECT_EQ(e->type, "");
}

TEST_P(SourceExpressionTest, VariableInRegister) {
  std::optional<Load> l = load_at(elf(), "zoo_at", 0, true);
  std::optional<uint64_t> start = function_start("zoo_at");
  ASSERT_TRUE(l && start);
  auto i = sym_->variable_in_register(object(), *start + l->offset, l->index);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->text, "i");
  EXPECT_EQ(i->type, "long int");
  auto arr = sym_->variable_in_register(object(), *start + l->offset, l->base);
  ASSERT_TRUE(arr);
  EXPECT_EQ(arr->name, "arr");
  EXPECT_EQ(arr->type, "const int *");
  // Sub-registers name the same variable (esi for rsi, ...).
  const std::string sub = l->index == "rsi" ? "esi" : l->index == "rdi" ? "edi" : "";
  if (!sub.empty()) {
    auto narrow = sym_->variable_in_register(object(), *start + l->offset, sub);
    ASSERT_TRUE(narrow);
    EXPECT_EQ(narrow->name, "i");
  }
  EXPECT_FALSE(sym_->variable_in_register(object(), *start + l->offset, "r15"));
  EXPECT_FALSE(sym_->variable_in_register(object(), *start + l->offset, "not_a_register"));
}

TEST_P(SourceExpressionTest, NothingExplainsTheOperand) {
  std::optional<uint64_t> start = function_start("zoo_nullderef");
  ASSERT_TRUE(start);
  // A register no variable is in, an offset no member has, unknown objects.
  EXPECT_FALSE(sym_->source_expression(object(), *start, "r14", "", 1, 0x18));
  EXPECT_FALSE(sym_->source_expression(object(), *start, "xmm0", "", 1, 0));
  EXPECT_FALSE(sym_->source_expression("no_such_object", *start, "rdi", "", 1, 0x18));
  EXPECT_FALSE(sym_->source_expression(object(), 0xdeadbeef, "rdi", "", 1, 0x18));
  EXPECT_FALSE(sym_->variable_in_register(object(), 0xdeadbeef, "rdi"));
}

INSTANTIATE_TEST_SUITE_P(Objects, SourceExpressionTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "module" : "vmlinux"; });

// arm64: the same fixture cross-compiled by clang (x0-x30 are DWARF
// registers 0-30, w registers their low halves), as an executable and as a
// relocatable object. Skips without clang/lld.
class SourceExpressionArm64 : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() {
    if (std::system("clang-14 --version > /dev/null 2>&1 && ld.lld --version > /dev/null 2>&1 && "
                    "llvm-objdump --version > /dev/null 2>&1") != 0) {
      return;
    }
    dir_ = ktriage::test::ScratchDir("ktriage-expr-arm64");
    fs::create_directories(dir_ / "mods");
    const std::string d = dir_.string();
    // -gdwarf-aranges: the symbolizer finds units through .debug_aranges,
    // which clang leaves out by default (GCC and kernel builds have it).
    const std::string flags = "clang-14 --target=aarch64-linux-gnu -g -O2 -gdwarf-aranges ";
    const std::string cmd = "cd '" + kSrc + "' && " + flags +
                            "-nostdlib -static -fuse-ld=lld -Wl,-e,main -o '" + d +
                            "/vmlinux' zoo.c 2>/dev/null && " + flags + "-c -o '" + d +
                            "/mods/zoo_mod.ko' zoo.c";
    built_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() { dir_ = {}; }
  void SetUp() override {
    if (!built_) GTEST_SKIP() << "clang-14/lld/llvm-objdump not available or the fixture did not build";
  }

  // `ldr` operands of `func`: [xN, #imm] and [xN, xM, lsl #s], with the
  // address of each from the function start.
  struct ArmLoad {
    uint64_t offset;
    std::string base, index;
    int64_t scale = 1, displacement = 0;
  };
  static std::vector<ArmLoad> arm_loads(const std::string& elf, const std::string& func) {
    std::istringstream in(run_command("llvm-objdump -d --no-show-raw-insn '" + elf + "'"));
    static const RE2 mem(R"(\[(x[0-9]+|sp)(?:, #(-?[0-9]+)|, (x[0-9]+)(?:, lsl #([0-3]))?)?\])");
    std::vector<ArmLoad> out;
    std::string line;
    bool inside = false;
    uint64_t start = 0;
    while (std::getline(in, line)) {
      if (line.find(">:") != std::string::npos) {
        inside = line.find("<" + func + ">:") != std::string::npos;
        if (inside) start = std::stoull(line, nullptr, 16);
        continue;
      }
      ArmLoad l;
      std::string displacement, shift;  // "" when the operand has none
      if (!inside || line.find("ldr") == std::string::npos ||
          !RE2::PartialMatch(line, mem, &l.base, &displacement, &l.index, &shift)) {
        continue;
      }
      l.offset = std::stoull(line, nullptr, 16) - start;
      if (!displacement.empty()) l.displacement = std::stoll(displacement);
      if (!shift.empty()) l.scale = int64_t{1} << std::stoi(shift);
      out.push_back(l);
    }
    return out;
  }

  static inline ktriage::test::ScratchDir dir_;
  static inline bool built_ = false;
};

TEST_P(SourceExpressionArm64, MembersAndIndexing) {
  const bool module = GetParam();
  DebugInfoOptions opts;
  opts.vmlinux = (dir_ / "vmlinux").string();
  opts.module_dirs = {(dir_ / "mods").string()};
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;
  const std::string elf = module ? (dir_ / "mods/zoo_mod.ko").string() : opts.vmlinux;
  const std::string object = module ? "zoo_mod" : "vmlinux";
  auto start = [&](const std::string& func) -> uint64_t {
    Report report;
    Symbol s;
    s.function = func;
    s.offset = 0;
    if (module) s.module = "zoo_mod";
    report.ip = s;
    Symbolization out = symOrErr->symbolize(report);
    EXPECT_TRUE(out.ip && out.ip->link_address) << func;
    return out.ip && out.ip->link_address ? *out.ip->link_address : 0;
  };
  std::vector<ArmLoad> next = arm_loads(elf, "zoo_nullderef");
  ASSERT_FALSE(next.empty());
  ASSERT_EQ(next[0].displacement, 0x18);
  auto e = symOrErr->source_expression(object, start("zoo_nullderef") + next[0].offset,
                                       next[0].base, "", 1, 0x18);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "n->next");

  std::vector<ArmLoad> at = arm_loads(elf, "zoo_at");
  ASSERT_EQ(at.size(), 1u);
  ASSERT_FALSE(at[0].index.empty());
  const uint64_t pc = start("zoo_at") + at[0].offset;
  e = symOrErr->source_expression(object, pc, at[0].base, at[0].index, at[0].scale, 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->text, "arr[i]");
  auto i = symOrErr->variable_in_register(object, pc, "w" + at[0].index.substr(1));
  ASSERT_TRUE(i);
  EXPECT_EQ(i->name, "i");
}

INSTANTIATE_TEST_SUITE_P(Objects, SourceExpressionArm64, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "module" : "vmlinux"; });

TEST(SourceExpressionHostile, NoDwarfGivesNothing) {
  if (std::system("gcc --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no gcc";
  const ktriage::test::ScratchDir dir("ktriage-expr-nodwarf");
  const std::string exe = (dir / "vmlinux").string();
  const std::string cmd = "cd '" + kSrc + "' && gcc -O2 -fno-pie -no-pie -o '" + exe + "' zoo.c";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  DebugInfoOptions opts;
  opts.vmlinux = exe;
  auto symOrErr = Symbolizer::open(opts);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;
  Report report;
  Symbol s;
  s.function = "zoo_nullderef";
  s.offset = 0;
  report.ip = s;
  Symbolization out = symOrErr->symbolize(report);
  ASSERT_TRUE(out.ip && out.ip->link_address);
  EXPECT_FALSE(symOrErr->source_expression("vmlinux", *out.ip->link_address, "rdi", "", 1, 0x18));
  EXPECT_FALSE(symOrErr->variable_in_register("vmlinux", *out.ip->link_address, "rdi"));
}

// Damaged DWARF (bytes of .debug_info, .debug_abbrev, .debug_loclists,
// .debug_frame overwritten at seeded random places): any answer or none,
// never a crash, for every register and a range of PCs and offsets.
TEST(SourceExpressionHostile, DamagedDwarfNeverCrashes) {
  if (std::system("gcc --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "no gcc";
  const ktriage::test::ScratchDir dir("ktriage-expr-damaged");
  const std::string exe = (dir / "good").string();
  const std::string cmd = "cd '" + kSrc + "' && gcc -g -O2 -fno-pie -no-pie -o '" + exe + "' zoo.c";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(exe, std::ios::binary);
  const std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Section extents from readelf, so the test does not parse ELF itself.
  std::vector<std::pair<size_t, size_t>> sections;
  std::istringstream sh(run_command("readelf -SW '" + exe + "'"));
  std::string line;
  static const RE2 row(R"(\]\s+\.debug_(?:info|abbrev|loclists|frame)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+))");
  while (std::getline(sh, line)) {
    size_t offset = 0, size = 0;
    if (RE2::PartialMatch(line, row, RE2::Hex(&offset), RE2::Hex(&size))) sections.emplace_back(offset, size);
  }
  ASSERT_GE(sections.size(), 3u);
  uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  int answers = 0, opened = 0;
  for (int round = 0; round < 60; ++round) {
    std::string damaged = image;
    auto [offset, size] = sections[static_cast<size_t>(round) % sections.size()];
    ASSERT_LE(offset + size, damaged.size());
    for (int k = 0; k <= round % 8; ++k) damaged[offset + next() % size] = static_cast<char>(next());
    const std::string path = (dir / "vmlinux").string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << damaged;
    DebugInfoOptions opts;
    opts.vmlinux = path;
    auto symOrErr = Symbolizer::open(opts);
    if (!symOrErr) continue;
    ++opened;
    for (const char* func : {"zoo_nullderef", "zoo_at", "zoo_local", "zoo_sum_ids", "zoo_container"}) {
      Report report;
      Symbol s;
      s.function = func;
      s.offset = 0;
      report.ip = s;
      Symbolization out = symOrErr->symbolize(report);
      if (!out.ip || !out.ip->link_address) continue;
      for (uint64_t d = 0; d < 0x20; d += 3) {
        for (const char* reg : {"rdi", "rsi", "rax", "rdx", "rsp"}) {
          const uint64_t pc = *out.ip->link_address + d;
          answers += symOrErr->source_expression("vmlinux", pc, reg, d % 2 ? "" : "rsi", 8,
                                                 static_cast<int64_t>(d) - 0x10)
                         .has_value();
          answers += symOrErr->variable_in_register("vmlinux", pc, reg).has_value();
        }
      }
    }
  }
  EXPECT_EQ(opened, 60);   // DWARF damage does not stop the symbol table
  EXPECT_GT(answers, 0);  // most damage leaves most answers intact
}

}  // namespace
}  // namespace ktriage

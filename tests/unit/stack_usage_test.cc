// Stack usage per frame: the prologue walker on hand-written x86-64 and
// arm64 byte sequences, and the whole estimate on a program built with
// `gcc -g -O2` at test time (tests/unit/data/stack_usage/frames.c), whose
// expected frame sizes come from objdump's listing of the same binary:
// nothing here is a number the compiler decides.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/stack_usage.h"
#include "ktriage/symbolize.h"
#include "common/test_util.h"

namespace ktriage {
namespace {

using ktriage::test::run_command;

namespace fs = std::filesystem;

std::vector<uint8_t> words(std::initializer_list<uint32_t> ws) {  // arm64, little endian
  std::vector<uint8_t> out;
  for (uint32_t w : ws)
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(w >> (8 * i)));
  return out;
}

uint64_t depth(Arch arch, const std::vector<uint8_t>& code, uint64_t offset) {
  Expected<StackDepth> d = stack_depth_at(arch, code, 0x1000, offset);
  EXPECT_TRUE(d) << (d ? "" : d.error().message);
  return d ? d->bytes : ~0ull;
}

TEST(StackDepth, X86PushesAndSub) {
  // push %rbp; push %rbx; sub $0x1b8,%rsp; call .
  std::vector<uint8_t> code = {0x55, 0x53, 0x48, 0x81, 0xec, 0xb8, 0x01, 0x00, 0x00, 0xe8, 0, 0, 0, 0};
  EXPECT_EQ(depth(Arch::x86_64, code, 0), 0u);
  EXPECT_EQ(depth(Arch::x86_64, code, 1), 8u);
  EXPECT_EQ(depth(Arch::x86_64, code, 9), 16u + 0x1b8);
  EXPECT_EQ(depth(Arch::x86_64, code, 14), 16u + 0x1b8);  // return address of the call
}

TEST(StackDepth, X86ShrinkWrappedFastPathFirst) {
  // test %rdi,%rdi; je +3; xor %eax,%eax; ret; push %r12; sub $0x20,%rsp; call .
  std::vector<uint8_t> code = {0x48, 0x85, 0xff, 0x74, 0x03, 0x31, 0xc0, 0xc3, 0x41, 0x54,
                               0x48, 0x83, 0xec, 0x20, 0xe8, 0, 0, 0, 0};
  EXPECT_EQ(depth(Arch::x86_64, code, 19), 8u + 0x20);
}

TEST(StackDepth, X86EarlyEpilogueDoesNotShrinkTheBody) {
  // push %rbx; test %rdi,%rdi; jne +2; pop %rbx; ret; sub $0x10,%rsp; call .
  std::vector<uint8_t> code = {0x53, 0x48, 0x85, 0xff, 0x75, 0x02, 0x5b, 0xc3,
                               0x48, 0x83, 0xec, 0x10, 0xe8, 0, 0, 0, 0};
  EXPECT_EQ(depth(Arch::x86_64, code, 7), 0u);   // at the early ret
  EXPECT_EQ(depth(Arch::x86_64, code, 17), 8u + 0x10);
}

TEST(StackDepth, X86FramePointerAlignmentAndLeave) {
  // push %rbp; mov %rsp,%rbp; and $-64,%rsp; sub $0x40,%rsp; call .; leave; ret
  std::vector<uint8_t> code = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xe4, 0xc0, 0x48, 0x83,
                               0xec, 0x40, 0xe8, 0, 0, 0, 0, 0xc9, 0xc3};
  Expected<StackDepth> d = stack_depth_at(Arch::x86_64, code, 0, 17);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->bytes, 8u + 56 + 0x40);  // alignment counted as its worst case
  ASSERT_EQ(d->notes.size(), 1u);
  EXPECT_NE(d->notes[0].find("64"), std::string::npos);
  EXPECT_EQ(depth(Arch::x86_64, code, 18), 0u);  // after leave
}

TEST(StackDepth, X86LargeFrameThroughARegister) {
  // mov $0x2000,%eax; sub %rax,%rsp; call .
  std::vector<uint8_t> code = {0xb8, 0x00, 0x20, 0x00, 0x00, 0x48, 0x29, 0xc4, 0xe8, 0, 0, 0, 0};
  EXPECT_EQ(depth(Arch::x86_64, code, 13), 0x2000u);
}

TEST(StackDepth, X86VariableAllocationIsALowerBoundWithANote) {
  // push %rbx; sub %rax,%rsp (alloca of an unknown size); call .
  std::vector<uint8_t> code = {0x53, 0x48, 0x29, 0xc4, 0xe8, 0, 0, 0, 0};
  Expected<StackDepth> d = stack_depth_at(Arch::x86_64, code, 0, 9);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->bytes, 8u);
  ASSERT_EQ(d->notes.size(), 1u);
  EXPECT_NE(d->notes[0].find("variable-size"), std::string::npos);
}

TEST(StackDepth, X86StackSwitchCountsFromTheSwitch) {
  // push %rbp; push %rbx; mov %r11,%rsp; push %rax; call .
  std::vector<uint8_t> code = {0x55, 0x53, 0x4c, 0x89, 0xdc, 0x50, 0xe8, 0, 0, 0, 0};
  Expected<StackDepth> d = stack_depth_at(Arch::x86_64, code, 0, 11);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->bytes, 8u);
  ASSERT_EQ(d->notes.size(), 1u);
  EXPECT_NE(d->notes[0].find("switches stacks"), std::string::npos);
}

TEST(StackDepth, X86ErrorsInsteadOfGuessing) {
  std::vector<uint8_t> unknown = {0x48, 0x01, 0xc4, 0xc3};  // add %rax,%rsp with %rax unknown
  EXPECT_FALSE(stack_depth_at(Arch::x86_64, unknown, 0, 3));
  std::vector<uint8_t> from_memory = {0x48, 0x8b, 0x20, 0xc3};  // mov (%rax),%rsp
  EXPECT_FALSE(stack_depth_at(Arch::x86_64, from_memory, 0, 3));
  std::vector<uint8_t> sub = {0x48, 0x81, 0xec, 0xb8, 0x01, 0x00, 0x00};
  EXPECT_FALSE(stack_depth_at(Arch::x86_64, sub, 0, 3));   // not an instruction boundary
  EXPECT_FALSE(stack_depth_at(Arch::x86_64, sub, 0, 8));   // past the end
  std::vector<uint8_t> huge = {0x48, 0x81, 0xec, 0xff, 0xff, 0xff, 0x7f};  // sub $0x7fffffff,%rsp
  EXPECT_FALSE(stack_depth_at(Arch::x86_64, huge, 0, 7));
  EXPECT_FALSE(stack_depth_at(Arch::ppc64, sub, 0, 7));
}

TEST(StackDepth, Arm64FrameRecordAndLocals) {
  std::vector<uint8_t> code = words({
      0xa9bd7bfd,  // stp x29, x30, [sp, #-0x30]!
      0x910003fd,  // mov x29, sp
      0xd10803ff,  // sub sp, sp, #0x200
      0x94000000,  // bl .
      0x910803ff,  // add sp, sp, #0x200
      0xa8c37bfd,  // ldp x29, x30, [sp], #0x30
      0xd65f03c0,  // ret
  });
  EXPECT_EQ(depth(Arch::arm64, code, 4), 0x30u);
  EXPECT_EQ(depth(Arch::arm64, code, 16), 0x230u);
  EXPECT_EQ(depth(Arch::arm64, code, 20), 0x30u);
  EXPECT_EQ(depth(Arch::arm64, code, 24), 0u);
}

TEST(StackDepth, Arm64ShiftedImmediate) {
  std::vector<uint8_t> code = words({0xd14007ff, 0x94000000});  // sub sp, sp, #1, lsl #12; bl .
  EXPECT_EQ(depth(Arch::arm64, code, 8), 0x1000u);
}

TEST(StackDepth, HostileBytesGiveAValueOrAnError) {
  // Deterministic pseudo-random code: whatever it decodes to, the walker
  // answers (bounded, no crash) for every offset.
  uint32_t seed = 12345;
  for (Arch arch : {Arch::x86_64, Arch::i386, Arch::arm64}) {
    for (int round = 0; round < 20; ++round) {
      std::vector<uint8_t> code(256);
      for (uint8_t& b : code) {
        seed = seed * 1103515245u + 12345u;
        b = static_cast<uint8_t>(seed >> 16);
      }
      for (uint64_t offset = 0; offset <= code.size(); offset += 7) {
        Expected<StackDepth> d = stack_depth_at(arch, code, 0xffffffff81000000ull, offset);
        if (d) {
          EXPECT_LT(d->bytes, 256u * (1u << 20)) << to_string(arch) << " +" << offset;
        }
      }
    }
  }
}

// --- a real binary ----------------------------------------------------------

// What objdump shows of one function up to its first call of `callee`: the
// return address's offset and the frame size by the prologue's pushes and
// `sub $N,%rsp` (plus the return address).
struct Listed {
  uint64_t return_offset = 0;
  uint64_t frame = 8;
  bool found = false;
};

Listed objdump_frame(const std::string& listing, const std::string& function, const std::string& callee) {
  Listed out;
  std::istringstream in(listing);
  std::string line;
  const RE2 head("([0-9a-f]+) <" + RE2::QuoteMeta(function) + ">:");
  const RE2 insn(R"( *([0-9a-f]+):\s+(\S+)\s*(.*))");
  const RE2 sub_rsp(R"(\$0x([0-9a-f]+),%rsp)");
  std::optional<uint64_t> start;
  bool after_call = false;
  while (std::getline(in, line)) {
    if (!start) {
      uint64_t at = 0;
      if (RE2::FullMatch(line, head, RE2::Hex(&at))) start = at;
      continue;
    }
    if (line.empty()) break;
    uint64_t at = 0;
    std::string mnemonic, operands;
    if (!RE2::FullMatch(line, insn, RE2::Hex(&at), &mnemonic, &operands)) continue;
    if (after_call) {
      out.return_offset = at - *start;
      out.found = true;
      return out;
    }
    if (mnemonic.rfind("push", 0) == 0) out.frame += 8;
    uint64_t sub = 0;
    if (mnemonic.rfind("sub", 0) == 0 && RE2::PartialMatch(operands, sub_rsp, RE2::Hex(&sub))) out.frame += sub;
    if (mnemonic.rfind("call", 0) == 0 && operands.find("<" + callee + ">") != std::string::npos) after_call = true;
  }
  return out;
}

class StackUsageElf : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("gcc --version > /dev/null 2>&1 && objdump --version > /dev/null 2>&1") != 0) return;
    dir_ = ktriage::test::ScratchDir("ktriage-stack-usage");
    const std::string src = std::string(KTRIAGE_SOURCE_DIR) + "/tests/unit/data/stack_usage/frames.c";
    built_ = std::system(("gcc -g -O2 -no-pie -o '" + exe() + "' '" + src + "'").c_str()) == 0;
    if (built_) listing_ = run_command("objdump -d --no-show-raw-insn '" + exe() + "'");
  }
  static void TearDownTestSuite() { dir_ = {}; }
  void SetUp() override {
    if (!built_) GTEST_SKIP() << "gcc/objdump not available or the fixture did not build";
  }
  static std::string exe() { return (dir_ / "frames").string(); }

  static inline ktriage::test::ScratchDir dir_;
  static inline bool built_ = false;
  static inline std::string listing_;
};

Frame frame_at(const std::string& function, uint64_t offset) {
  Frame f;
  f.function = function;
  f.offset = offset;
  f.context = "task";
  return f;
}

TEST_F(StackUsageElf, FrameSizesMatchObjdumpsPrologue) {
  Listed big = objdump_frame(listing_, "big_frame", "sink");
  Listed none = objdump_frame(listing_, "no_locals", "sink");
  if (!big.found || !none.found) GTEST_SKIP() << "the compiler did not emit plain calls of sink";
  EXPECT_GE(big.frame, 8u + 512);  // the 512-byte array is on the stack
  EXPECT_LT(none.frame, 64u);      // no locals: at most a saved register or alignment

  Report report;
  report.arch = Arch::x86_64;
  report.frames = {frame_at("big_frame", big.return_offset), frame_at("no_locals", none.return_offset)};
  Frame stale = frame_at("big_frame", big.return_offset);
  stale.reliable = false;  // '?' frames are not summed
  report.frames.push_back(stale);

  DebugInfoOptions options;
  options.vmlinux = exe();
  Expected<Symbolizer> symOrErr = Symbolizer::open(options);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;
  Symbolization symbols = symOrErr->symbolize(report);
  StackUsage u = estimate_stack_usage(report, symbols, *symOrErr);

  ASSERT_EQ(u.frames.size(), 2u);
  EXPECT_EQ(u.stack, "task");
  EXPECT_EQ(u.measured, 2u);
  EXPECT_EQ(u.unmeasured, 0u);
  EXPECT_EQ(u.skipped, 1u);
  EXPECT_EQ(u.frames[0].function, "big_frame");
  EXPECT_EQ(u.frames[0].method, "prologue");
  EXPECT_EQ(u.frames[0].bytes, big.frame);
  EXPECT_EQ(u.frames[1].function, "no_locals");
  EXPECT_EQ(u.frames[1].bytes, none.frame);
  EXPECT_EQ(u.total, big.frame + none.frame);
  ASSERT_FALSE(u.biggest(1).empty());
  EXPECT_EQ(u.biggest(1)[0].function, "big_frame");
}

TEST_F(StackUsageElf, UnresolvedFramesAreCountedAsUnmeasured) {
  Report report;
  report.arch = Arch::x86_64;
  report.frames = {frame_at("no_such_function", 0x10)};
  DebugInfoOptions options;
  options.vmlinux = exe();
  Expected<Symbolizer> symOrErr = Symbolizer::open(options);
  ASSERT_TRUE(symOrErr) << symOrErr.error().message;
  Symbolization symbols = symOrErr->symbolize(report);
  StackUsage u = estimate_stack_usage(report, symbols, *symOrErr);
  EXPECT_EQ(u.measured, 0u);
  EXPECT_EQ(u.unmeasured, 1u);
  EXPECT_EQ(u.total, 0u);
  ASSERT_EQ(u.frames.size(), 1u);
  EXPECT_FALSE(u.frames[0].note.empty());
}

}  // namespace
}  // namespace ktriage

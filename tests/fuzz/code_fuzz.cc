// libFuzzer target for Code: lines (fuzz-link: ktriage_disasm ktriage_logparse ktriage_report ktriage_support).
//
// The first input byte picks the architecture, Thumb, the syntax, whether an
// IP is known and which register values to use; the rest is the text after
// "Code: ". Any bytes must parse, decode and explain without a crash or
// sanitizer report, and:
//  - a decodable line has its marker inside the bytes, on a unit boundary;
//  - a decode covers its bytes contiguously from `start`, with exactly one
//    faulting instruction, starting at the marker;
//  - an explanation's chain stays within the instructions before the fault.
// Builds with `clang++ -fsanitize=fuzzer`, or as a plain function called by
// any driver.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ktriage/disasm.h"
#include "logparse/code.h"

namespace {

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      std::fprintf(stderr, "code_fuzz: property failed: %s\n", #cond);   \
      std::abort();                                                      \
    }                                                                    \
  } while (0)

constexpr ktriage::Arch kArches[] = {ktriage::Arch::x86_64, ktriage::Arch::i386, ktriage::Arch::arm64,
                                     ktriage::Arch::arm};

// Values that exercise every pointer class.
constexpr uint64_t kValues[] = {0, 0x18, 0xdead000000000100, 0x6b6b6b6b6b6b6b6b, 0xffff888012345678,
                                0x00007f0012345678, 0xdffffc0000000000, 0xe03c4020};

ktriage::RegisterSet registers(uint8_t seed, ktriage::Arch arch) {
  static constexpr const char* kX86[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                         "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  static constexpr const char* kI386[] = {"eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp"};
  static constexpr const char* kArm64[] = {"x0", "x1", "x2", "x3", "x8", "x19", "x20", "x29", "lr", "sp"};
  static constexpr const char* kArm[] = {"r0", "r1", "r2", "r3", "r4", "r5", "r9", "r10", "fp", "ip", "sp", "lr"};
  ktriage::RegisterSet set;
  auto fill = [&](const auto& names) {
    unsigned i = seed;
    for (const char* n : names) set.regs.push_back({n, kValues[(i++) % (sizeof kValues / sizeof kValues[0])]});
  };
  switch (arch) {
    case ktriage::Arch::x86_64: fill(kX86); break;
    case ktriage::Arch::i386: fill(kI386); break;
    case ktriage::Arch::arm64: fill(kArm64); break;
    default: fill(kArm); break;
  }
  return set;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  ktriage::CodeBytes code = ktriage::logparse::parse_code_line(text);
  if (code.decodable) {
    CHECK(code.faulting_offset.has_value());
    CHECK(*code.faulting_offset < code.bytes.size());
    CHECK(code.unit == 1 || code.unit == 2 || code.unit == 4);
    CHECK(code.bytes.size() % code.unit == 0 && *code.faulting_offset % code.unit == 0);
  } else {
    CHECK(code.bytes.empty() && !code.problem.empty());
  }

  const ktriage::Arch arch = kArches[mode & 3];
  ktriage::DecodeOptions options;
  options.thumb = mode & 4;
  options.syntax = (mode & 8) ? ktriage::AsmSyntax::intel : ktriage::AsmSyntax::att;
  if (mode & 16) options.ip = 0xffffffff81000000ULL + mode;
  ktriage::Expected<ktriage::CodeDecode> d = ktriage::decode_code(code, arch, options);
  if (!d) {
    CHECK(d.error().message.rfind("could not decode: ", 0) == 0 || d.error().message.rfind("capstone: ", 0) == 0);
    return 0;
  }
  CHECK(!d->instructions.empty() && d->faulting_index < d->instructions.size());
  CHECK(d->faulting().offset == d->faulting_offset);
  uint32_t next = d->start;
  size_t faulting = 0;
  for (const ktriage::Instruction& i : d->instructions) {
    CHECK(i.offset == next && !i.bytes.empty());
    next += static_cast<uint32_t>(i.bytes.size());
    CHECK(next <= d->bytes.size());
    faulting += i.faulting;
  }
  CHECK(faulting == 1);

  ktriage::RegisterSet regs = registers(mode >> 5, arch);
  ktriage::FaultContext ctx{&regs, kValues[(mode >> 2) % 8], ktriage::PageFaultError{static_cast<uint32_t>(mode >> 3)}};
  ktriage::Expected<ktriage::FaultExplanation> e = ktriage::explain_fault(*d, ctx);
  if (e) {
    CHECK(e->chain.size() <= 4);
    for (const ktriage::ChainStep& s : e->chain) CHECK(s.instruction.offset < d->faulting_offset);
    CHECK(!ktriage::fault_sentences(*e).empty());
  }
  return 0;
}

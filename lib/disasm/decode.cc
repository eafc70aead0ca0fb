// Decoding `Code:` bytes. On x86 the kernel prints 42 bytes before the
// faulting byte without regard to instruction boundaries, so the first bytes
// usually sit in the middle of an instruction. We decode from every start
// offset before the marker, keep the decodings that have an instruction
// starting exactly at the marker, and prefer the one with the fewest
// undecodable bytes and implausible instructions (x87, port I/O, far
// jumps...), then the one that keeps the most bytes. Thumb (2- and 4-byte
// instructions) gets the same search on halfword starts.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "disasm/capstone.h"
#include "disasm/report_regs.h"
#include "disasm/semantics.h"

namespace ktriage {
namespace {

using disasm::CapstoneHandle;
using InsnPtr = std::unique_ptr<cs_insn, disasm::InsnDeleter>;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Instructions that kernel C code practically never contains: a decoding that
// needs them before the marker is probably misaligned.
bool implausible_x86(const cs_insn& insn) {
  std::string_view m = insn.mnemonic;
  static constexpr std::string_view kRare[] = {
      "in",    "inb",  "inw",   "inl",   "out",   "outb",  "outw", "outl", "ins",   "outs", "hlt",  "std",
      "int",   "into", "iret",  "lret",  "retf",  "enter", "les",  "lds",  "bound", "aaa",  "aas",  "daa",
      "das",   "aam",  "aad",   "sahf",  "lahf",  "xlat",  "xlatb", "loop", "loope", "loopne", "jrcxz", "jecxz",
      "ljmp",  "lcall", "arpl", "cmc",   "salc",  "fwait", "wait", "icebp", "int1", "lock", "rep",   "repne",
      "insb",  "insd", "insl",  "outsb", "outsd", "outsl", "scasb", "cmpsb", "lodsb", "lodsl", "lodsq", "stc",
      "pushf", "popf", "pushfq", "popfq", "sti",  "cli",   "rcl",   "rcr",  "sbb"};
  for (std::string_view r : kRare) {
    if (m == r) return true;
  }
  if (!m.empty() && m[0] == 'f' && !starts_with(m, "fxsave") && !starts_with(m, "fxrstor")) return true;  // x87
  if (starts_with(m, "nop")) return false;  // gcc pads with `nopw %cs:0x0(%rax,%rax,1)`
  // `00 xx` (add %r8, r/m8) and `01 00` are what runs of zero displacement
  // and immediate bytes decode to when read out of step.
  const cs_x86& x = insn.detail->x86;
  if (x.opcode[0] == 0x00 && x.opcode[1] == 0x00) return true;
  if (x.opcode[0] == 0x01 && x.opcode[1] == 0x00 && x.modrm == 0x00) return true;  // add %eax,(%rax)
  if (m == "cwtl" || m == "clc" || m == "cwtd" || m == "cld") return true;
  if (x.opcode[0] >= 0xa0 && x.opcode[0] <= 0xa3) return true;  // mov to/from an absolute moffs
  for (uint8_t i = 0; i < x.op_count; ++i) {
    const cs_x86_op& op = x.operands[i];
    if (op.type == X86_OP_MEM && op.mem.segment != X86_REG_INVALID && op.mem.segment != X86_REG_GS &&
        op.mem.segment != X86_REG_FS) {
      return true;  // cs:/ds:/es:/ss: overrides are noise in 64-bit kernel code
    }
    if (op.type == X86_OP_REG && (op.reg == X86_REG_CS || op.reg == X86_REG_DS || op.reg == X86_REG_ES ||
                                  op.reg == X86_REG_SS || op.reg == X86_REG_FS || op.reg == X86_REG_GS)) {
      return true;  // moves to/from segment registers
    }
    if (op.type == X86_OP_REG && (op.reg == X86_REG_AH || op.reg == X86_REG_BH || op.reg == X86_REG_CH ||
                                  op.reg == X86_REG_DH)) {
      return true;  // compilers almost never use the high byte registers
    }
  }
  return false;
}


struct Candidate {
  uint32_t start = 0;
  int score = 0;  // lower is better
  std::vector<Instruction> instructions;
  size_t faulting_index = 0;
};

// Direct branch/call target: the last immediate of a jump or call.
std::optional<uint64_t> branch_target(const cs_insn& insn, Arch arch) {
  const cs_detail* d = insn.detail;
  bool branch = false;
  for (uint8_t g = 0; g < d->groups_count; ++g) {
    branch |= d->groups[g] == CS_GRP_JUMP || d->groups[g] == CS_GRP_CALL || d->groups[g] == CS_GRP_BRANCH_RELATIVE;
  }
  if (!branch) return std::nullopt;
  std::optional<uint64_t> target;
  switch (arch) {
    case Arch::x86_64:
    case Arch::i386:
      for (uint8_t i = 0; i < d->x86.op_count; ++i) {
        if (d->x86.operands[i].type == X86_OP_IMM) target = static_cast<uint64_t>(d->x86.operands[i].imm);
      }
      break;
    case Arch::arm64:
      for (uint8_t i = 0; i < d->arm64.op_count; ++i) {
        if (d->arm64.operands[i].type == ARM64_OP_IMM) target = static_cast<uint64_t>(d->arm64.operands[i].imm);
      }
      break;
    case Arch::arm:
      for (uint8_t i = 0; i < d->arm.op_count; ++i) {
        if (d->arm.operands[i].type == ARM_OP_IMM) target = static_cast<uint32_t>(d->arm.operands[i].imm);
      }
      break;
    default: break;
  }
  return target;
}

Instruction make_instruction(const cs_insn& insn, uint32_t offset, Arch arch) {
  Instruction out;
  out.branch_target = branch_target(insn, arch);
  out.address = insn.address;
  out.offset = offset;
  out.bytes.assign(insn.bytes, insn.bytes + insn.size);
  out.mnemonic = insn.mnemonic;
  out.operands = insn.op_str;
  out.text = out.operands.empty() ? out.mnemonic : out.mnemonic + " " + out.operands;
  return out;
}

Instruction bad_unit(const std::vector<uint8_t>& bytes, uint32_t offset, uint32_t unit, uint64_t base) {
  Instruction out;
  out.address = base + offset;
  out.offset = offset;
  out.bytes.assign(bytes.begin() + offset, bytes.begin() + std::min<size_t>(offset + unit, bytes.size()));
  out.mnemonic = "(bad)";
  out.text = "(bad)";
  return out;
}

// Decodes bytes[start..] linearly. Returns nullopt when no instruction starts
// exactly at `marker` or the marked instruction itself does not decode.
std::optional<Candidate> decode_from(csh handle, Arch arch, const std::vector<uint8_t>& bytes, uint32_t start,
                                     uint32_t marker, uint32_t unit, uint64_t base) {
  InsnPtr insn(cs_malloc(handle));
  if (!insn) return std::nullopt;
  Candidate c;
  c.start = start;
  bool landed = false;
  uint32_t off = start;
  while (off < bytes.size()) {
    const uint8_t* code = bytes.data() + off;
    size_t size = bytes.size() - off;
    uint64_t address = base + off;
    if (!cs_disasm_iter(handle, &code, &size, &address, insn.get())) {
      if (off == marker) return std::nullopt;     // the faulting instruction itself is garbage
      if (off > marker) break;                    // the tail is cut mid-instruction: normal
      c.instructions.push_back(bad_unit(bytes, off, unit, base));
      c.score += 100;
      off += unit;
      continue;
    }
    Instruction decoded = make_instruction(*insn, off, arch);
    if (arch == Arch::x86_64 || arch == Arch::i386) {
      if (uint32_t len = disasm::x86_ud1_length(bytes, off); len > insn->size) {
        decoded.bytes.assign(bytes.begin() + off, bytes.begin() + off + len);
        decoded.mnemonic = "ud1";
        decoded.operands.clear();
        decoded.text = "ud1";
      }
    }
    const uint32_t length = static_cast<uint32_t>(decoded.bytes.size());
    if (off < marker && off + length > marker) return std::nullopt;  // straddles the marker
    if (off == marker) {
      landed = true;
      c.faulting_index = c.instructions.size();
    }
    if (off < marker && (arch == Arch::x86_64 || arch == Arch::i386) && implausible_x86(*insn)) c.score += 10;
    c.instructions.push_back(std::move(decoded));
    off += length;
  }
  if (!landed) return std::nullopt;
  c.instructions[c.faulting_index].faulting = true;
  return c;
}

std::optional<uint64_t> report_ip(const Report& report) {
  if (report.ip && report.ip->address) return report.ip->address;
  if (const RegisterSet* regs = disasm::fault_registers(report)) {
    for (std::string_view n : {"rip", "eip", "pc"}) {
      if (auto v = regs->get(n)) return v;
    }
  }
  return std::nullopt;
}

}  // namespace

Expected<CodeDecode> decode_code(const CodeBytes& code, Arch arch, const DecodeOptions& options) {
  if (!code.decodable) {
    return Error{fmt::format("could not decode: {}", code.problem.empty() ? "the Code: line is not decodable" : code.problem)};
  }
  if (!code.faulting_offset || *code.faulting_offset >= code.bytes.size()) {
    return Error{"could not decode: no faulting-instruction marker in the Code: bytes"};
  }
  const uint32_t marker = *code.faulting_offset;
  const bool thumb = arch == Arch::arm && (options.thumb || code.unit == 2);
  const bool x86 = arch == Arch::x86_64 || arch == Arch::i386;
  if ((x86 && code.unit != 1) || (arch == Arch::arm64 && code.unit != 4) ||
      (arch == Arch::arm && code.unit != 2 && code.unit != 4)) {
    return Error{fmt::format("could not decode: {}-byte Code: units do not fit {}", code.unit, to_string(arch))};
  }

  Expected<CapstoneHandle> handleOrErr = disasm::open_capstone(arch, thumb, options.syntax);
  if (!handleOrErr) return handleOrErr.error();

  const uint64_t base = options.ip ? *options.ip - marker : 0;
  const uint32_t step = x86 ? 1 : thumb ? 2 : 4;
  const uint32_t first = x86 || thumb ? 0 : marker % 4;  // fixed-width: aligned to the marker

  std::optional<Candidate> best;
  // Variable-length code: every start before the marker; fixed-width: one.
  // Among equally plausible decodings the one keeping the most bytes wins:
  // measured on real compiler output (DecodeQuality test), this beats voting
  // across starts and branch-target consistency.
  const uint32_t last = x86 || thumb ? marker : first;
  for (uint32_t start = first; start <= last; start += step) {
    std::optional<Candidate> c = decode_from(handleOrErr->get(), arch, code.bytes, start, marker, step, base);
    if (c && (!best || c->score < best->score)) best = std::move(c);
  }
  if (!best) {
    std::optional<Candidate> alone = decode_from(handleOrErr->get(), arch, code.bytes, marker, marker, step, base);
    if (!alone) {
      return Error{fmt::format("could not decode: the bytes at the marker (offset {}) are not a valid instruction; "
                               "the IP may point into the middle of one",
                               marker)};
    }
    return Error{fmt::format("could not decode: no decoding of the {} Code: bytes has an instruction at the marker (offset {})",
                             code.bytes.size(), marker)};
  }

  CodeDecode out;
  out.arch = arch;
  out.thumb = thumb;
  out.bytes = code.bytes;
  out.faulting_offset = marker;
  out.start = best->start;
  out.faulting_index = best->faulting_index;
  if (options.ip) out.base_address = base;
  out.instructions = std::move(best->instructions);
  return out;
}

Expected<CodeDecode> decode_report_code(const Report& report, const DecodeOptions& options) {
  if (!report.code) return Error{"could not decode: the report has no Code: line"};
  Arch arch = disasm::report_arch(report);
  DecodeOptions opts = options;
  if (!opts.ip) opts.ip = report_ip(report);
  return decode_code(*report.code, arch, opts);
}

}  // namespace ktriage

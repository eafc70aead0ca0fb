#include "disasm/semantics.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "ktriage/kernel_facts.h"

namespace ktriage::disasm {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

void add_unique(std::vector<std::string>& v, std::string name) {
  if (name.empty()) return;
  if (std::find(v.begin(), v.end(), name) == v.end()) v.push_back(std::move(name));
}

// A disassembler's register name as the family the dumps print ("eax" ->
// "rax" on x86_64, "w19" -> "x19", "sb" -> "r9"), from lib/kernel's table;
// "" for none (arm64's zero register).
std::string family(std::string_view name, Arch arch) {
  std::optional<RegisterInfo> r = register_info(name, arch);
  return r ? std::string(r->family) : "";
}
std::string x86_family(std::string_view name, bool is64) { return family(name, is64 ? Arch::x86_64 : Arch::i386); }
std::string arm64_family(std::string_view name) { return family(name, Arch::arm64); }
std::string arm_family(std::string_view name) { return family(name, Arch::arm); }

uint32_t x86_view_size(std::string_view name) {
  std::optional<RegisterInfo> r = register_info(name, Arch::x86_64);
  return r ? r->bytes : 0;
}

std::string reg_name(csh handle, unsigned reg) {
  if (reg == 0) return "";
  const char* n = cs_reg_name(handle, reg);
  return n != nullptr ? n : "";
}

bool has_group(const cs_insn& insn, uint8_t group) {
  const cs_detail* d = insn.detail;
  return std::find(d->groups, d->groups + d->groups_count, group) != d->groups + d->groups_count;
}

// Bytes accessed by an arm/arm64 load or store, from the mnemonic and the
// data register ("ldrb" 1, "ldrsh" 2, "ldr w0" 4, "ldp x0, x1" 16).
uint32_t arm_access_size(std::string_view mnem, std::string_view data_reg, Arch arch) {
  std::string_view m = mnem;
  // Strip condition/width suffixes the arm mnemonics carry ("ldrbeq", "ldr.w").
  if (m.find('.') != std::string_view::npos) m = m.substr(0, m.find('.'));
  bool pair = starts_with(m, "ldp") || starts_with(m, "stp") || starts_with(m, "ldrd") || starts_with(m, "strd");
  for (std::string_view s : {"ldrsb", "ldrb", "strb", "ldurb", "sturb", "ldursb", "ldarb", "stlrb", "ldxrb", "stxrb"}) {
    if (m == s) return 1;
  }
  for (std::string_view s : {"ldrsh", "ldrh", "strh", "ldurh", "sturh", "ldursh", "ldarh", "stlrh", "ldxrh", "stxrh"}) {
    if (m == s) return 2;
  }
  if (m == "ldrsw" || m == "ldursw") return 4;
  uint32_t one = arch == Arch::arm64 ? (starts_with(data_reg, "w") ? 4 : starts_with(data_reg, "x") ? 8 : 0) : 4;
  if (arch == Arch::arm && starts_with(m, "ldrd")) return 8;
  if (arch == Arch::arm && starts_with(m, "strd")) return 8;
  return pair ? one * 2 : one;
}

AccessKind arm64_access(std::string_view m) {
  for (std::string_view rmw : {"ldadd", "ldclr", "ldeor", "ldset", "ldsmax", "ldsmin", "ldumax", "ldumin", "swp", "cas"}) {
    if (starts_with(m, rmw)) return AccessKind::read_write;
  }
  if (starts_with(m, "ld")) return AccessKind::read;
  if (starts_with(m, "st")) return AccessKind::write;
  if (starts_with(m, "prfm") || starts_with(m, "prfum")) return AccessKind::none;
  return AccessKind::unknown;
}

// The C operator of an arithmetic mnemonic ("addq" -> "+"), or nullptr.
const char* arith_symbol(std::string_view m) {
  static constexpr std::pair<std::string_view, const char*> kOps[] = {
      {"add", "+"}, {"sub", "-"}, {"shr", ">>"}, {"sar", ">>"}, {"shl", "<<"}, {"sal", "<<"}, {"and", "&"},
      {"or", "|"},  {"xor", "^"}, {"imul", "*"}, {"lsr", ">>"}, {"asr", ">>"}, {"lsl", "<<"}, {"orr", "|"},
      {"eor", "^"}, {"mul", "*"},
  };
  for (const auto& [name, op] : kOps) {
    if (!starts_with(m, name)) continue;
    std::string_view rest = m.substr(name.size());
    // AT&T size suffix only: "addq" yes, "addsd"/"andn"/"orpd" no.
    if (rest.empty() || (rest.size() == 1 && std::string_view("bwlq").find(rest[0]) != std::string_view::npos)) return op;
  }
  return nullptr;
}

std::string hex_imm(int64_t v) {
  char buf[32];
  if (v < 0) std::snprintf(buf, sizeof buf, "-0x%llx", static_cast<unsigned long long>(-static_cast<uint64_t>(v)));
  else std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

void fill_x86(csh handle, const cs_insn& insn, Arch arch, Semantics& s) {
  const bool is64 = arch == Arch::x86_64;
  const cs_x86& x = insn.detail->x86;
  std::string_view m = insn.mnemonic;

  if (has_group(insn, CS_GRP_CALL)) s.flow = Flow::call;
  else if (has_group(insn, CS_GRP_RET) || has_group(insn, CS_GRP_IRET)) s.flow = Flow::ret;
  else if (has_group(insn, CS_GRP_JUMP)) s.flow = (starts_with(m, "jmp") || starts_with(m, "ljmp")) ? Flow::jump : Flow::cond_jump;
  else if (m == "ud2" || m == "ud1" || m == "ud0" || m == "int3" || m == "ud2a" || m == "ud2b") s.flow = Flow::trap;

  if (starts_with(m, "push") || s.flow == Flow::call) s.implicit_stack = AccessKind::stack_push;
  if (starts_with(m, "pop") || s.flow == Flow::ret || starts_with(m, "leave")) s.implicit_stack = AccessKind::stack_pop;

  const bool no_access = starts_with(m, "lea") || starts_with(m, "nop") || starts_with(m, "prefetch") ||
                         starts_with(m, "clflush") || starts_with(m, "clwb");
  const cs_x86_op* dest_reg = nullptr;
  const cs_x86_op* src_reg = nullptr;
  const cs_x86_op* imm = nullptr;
  const cs_x86_op* mem = nullptr;
  for (uint8_t i = 0; i < x.op_count; ++i) {
    const cs_x86_op& op = x.operands[i];
    if (op.type == X86_OP_MEM) {
      MemoryOperand mo;
      if (op.mem.segment != X86_REG_INVALID) mo.segment = reg_name(handle, op.mem.segment);
      mo.base = x86_family(reg_name(handle, op.mem.base), is64);
      mo.index = x86_family(reg_name(handle, op.mem.index), is64);
      mo.scale = op.mem.scale;
      mo.displacement = op.mem.disp;
      mo.size = op.size;
      if (no_access) {
        if (starts_with(m, "lea")) s.address = mo;
        continue;
      }
      AccessKind a = (op.access & CS_AC_READ) && (op.access & CS_AC_WRITE) ? AccessKind::read_write
                     : (op.access & CS_AC_WRITE)                           ? AccessKind::write
                     : (op.access & CS_AC_READ)                            ? AccessKind::read
                                                                           : AccessKind::unknown;
      // String instructions: Capstone 4's access flags are unreliable;
      // (%rsi) is the source, (%rdi) the destination.
      if (m.find("stos") != std::string_view::npos) a = AccessKind::write;
      if (m.find("movs") != std::string_view::npos && x.op_count == 2 && x.operands[0].type == X86_OP_MEM &&
          x.operands[1].type == X86_OP_MEM) {
        a = (mo.base == "rdi" || mo.base == "edi") ? AccessKind::write : AccessKind::read;
      }
      s.memory.push_back({mo, a});
      mem = &op;
    } else if (op.type == X86_OP_REG) {
      if (op.access & CS_AC_WRITE) dest_reg = &op;
      else if (op.access & CS_AC_READ) src_reg = &op;
    } else if (op.type == X86_OP_IMM) {
      imm = &op;
      if (s.flow == Flow::call || s.flow == Flow::jump || s.flow == Flow::cond_jump) s.target = static_cast<uint64_t>(op.imm);
    }
  }

  // mov, movl, movzbl, movslq, movabs (AT&T); mov, movzx, movsxd (Intel). String moves
  // (movsq) have two memory operands and no register destination.
  const bool is_mov = starts_with(m, "mov");
  if ((starts_with(m, "div") || starts_with(m, "idiv")) && x.op_count == 1 && x.operands[0].type == X86_OP_REG) {
    s.divisor = x86_family(reg_name(handle, x.operands[0].reg), is64);
    s.divisor_size = x86_view_size(reg_name(handle, x.operands[0].reg));
  }
  if (x.op_count == 2 && dest_reg != nullptr) {
    std::string d = x86_family(reg_name(handle, dest_reg->reg), is64);
    uint32_t dsize = x86_view_size(reg_name(handle, dest_reg->reg));
    if (is_mov && mem != nullptr && (mem->access & CS_AC_READ)) {
      s.kind = OpKind::load;
    } else if (is_mov && src_reg != nullptr) {
      s.kind = OpKind::move;
      s.source = x86_family(reg_name(handle, src_reg->reg), is64);
    } else if (is_mov && imm != nullptr) {
      s.kind = OpKind::constant;
      s.immediate = static_cast<uint64_t>(imm->imm);
    } else if (starts_with(m, "lea") && s.address) {
      s.kind = OpKind::address;
    } else if ((starts_with(m, "xor") || starts_with(m, "sub")) && x.operands[0].type == X86_OP_REG &&
               x.operands[1].type == X86_OP_REG && x.operands[0].reg == x.operands[1].reg) {
      s.kind = OpKind::constant;
      s.immediate = 0;
    } else if (const char* op = arith_symbol(m); op != nullptr && mem == nullptr && (dest_reg->access & CS_AC_READ)) {
      // Two-operand x86 arithmetic: dest = dest op src.
      s.kind = OpKind::arith;
      s.arith_op = op;
      s.lhs = d;
      if (src_reg != nullptr) s.rhs = x86_family(reg_name(handle, src_reg->reg), is64);
      else if (imm != nullptr) s.rhs = hex_imm(imm->imm);
      else if (starts_with(m, "sh") || starts_with(m, "sa")) s.rhs = "1";
      if (s.rhs.empty()) s.kind = OpKind::other;
    }
    if (s.kind != OpKind::other) {
      s.dest = d;
      s.dest_size = dsize;
    }
  }
}

void fill_arm64(csh handle, const cs_insn& insn, Semantics& s) {
  const cs_arm64& a = insn.detail->arm64;
  std::string_view m = insn.mnemonic;
  if (m == "bl" || m == "blr") s.flow = Flow::call;
  else if (m == "ret" || m == "eret") s.flow = Flow::ret;
  else if (m == "b" || m == "br") s.flow = Flow::jump;
  else if (starts_with(m, "b.") || m == "cbz" || m == "cbnz" || m == "tbz" || m == "tbnz") s.flow = Flow::cond_jump;
  else if (m == "brk" || m == "udf" || m == "hlt") s.flow = Flow::trap;

  const cs_arm64_op* first_reg = nullptr;
  const cs_arm64_op* second_reg = nullptr;
  const cs_arm64_op* imm = nullptr;
  for (uint8_t i = 0; i < a.op_count; ++i) {
    const cs_arm64_op& op = a.operands[i];
    if (op.type == ARM64_OP_MEM) {
      MemoryOperand mo;
      mo.base = arm64_family(reg_name(handle, op.mem.base));
      if (op.mem.base != ARM64_REG_INVALID && mo.base.empty()) mo.base = reg_name(handle, op.mem.base);
      mo.index = arm64_family(reg_name(handle, op.mem.index));
      mo.scale = (op.shift.type == ARM64_SFT_LSL && op.shift.value < 8) ? (int64_t{1} << op.shift.value) : 1;
      mo.displacement = op.mem.disp;
      mo.post_indexed = a.writeback && i + 1 < a.op_count && a.operands[i + 1].type == ARM64_OP_IMM;
      std::string data = first_reg != nullptr ? reg_name(handle, first_reg->reg) : "";
      mo.size = arm_access_size(m, data, Arch::arm64);
      AccessKind k = arm64_access(m);
      if (k != AccessKind::none) s.memory.push_back({mo, k});
    } else if (op.type == ARM64_OP_REG) {
      if (first_reg == nullptr) first_reg = &op;
      else if (second_reg == nullptr) second_reg = &op;
    } else if (op.type == ARM64_OP_IMM) {
      imm = &op;
      if (s.flow == Flow::call || s.flow == Flow::jump || s.flow == Flow::cond_jump) s.target = static_cast<uint64_t>(op.imm);
    }
  }
  if (first_reg != nullptr && s.flow == Flow::none) {
    std::string d = arm64_family(reg_name(handle, first_reg->reg));
    std::string dname = reg_name(handle, first_reg->reg);
    uint32_t dsize = starts_with(dname, "w") ? 4 : 8;
    if (starts_with(m, "ldr") || starts_with(m, "ldur")) {
      if (!s.memory.empty()) s.kind = OpKind::load;
    } else if (m == "mov" && second_reg != nullptr && a.op_count == 2) {
      s.kind = OpKind::move;
      s.source = arm64_family(reg_name(handle, second_reg->reg));
      if (s.source.empty()) {  // mov x0, xzr
        s.kind = OpKind::constant;
        s.immediate = 0;
      }
    } else if ((m == "mov" || m == "movz") && imm != nullptr && a.op_count == 2) {
      s.kind = OpKind::constant;
      uint64_t v = static_cast<uint64_t>(imm->imm);
      if (imm->shift.type == ARM64_SFT_LSL && imm->shift.value < 64) v <<= imm->shift.value;
      s.immediate = v;
    } else if ((m == "adrp" || m == "adr") && imm != nullptr) {
      s.kind = OpKind::constant;
      s.immediate = static_cast<uint64_t>(imm->imm);
    } else if (const char* op = arith_symbol(m); op != nullptr && second_reg != nullptr && a.op_count == 3) {
      // Three-operand arm64 arithmetic: dest = src1 op src2 (no shifted operands).
      const cs_arm64_op& third = a.operands[2];
      if (third.shift.type == ARM64_SFT_INVALID && third.ext == ARM64_EXT_INVALID) {
        s.lhs = arm64_family(reg_name(handle, second_reg->reg));
        if (third.type == ARM64_OP_REG) s.rhs = arm64_family(reg_name(handle, third.reg));
        else if (third.type == ARM64_OP_IMM) s.rhs = hex_imm(third.imm);
        if (!s.lhs.empty() && !s.rhs.empty()) {
          s.kind = OpKind::arith;
          s.arith_op = op;
        }
      }
    }
    if (s.kind != OpKind::other) {
      s.dest = d;
      s.dest_size = dsize;
    }
  }
}

void fill_arm(csh handle, const cs_insn& insn, Semantics& s) {
  const cs_arm& a = insn.detail->arm;
  std::string_view m = insn.mnemonic;
  std::string_view base = m;
  if (base.find('.') != std::string_view::npos) base = base.substr(0, base.find('.'));
  const bool always = a.cc == ARM_CC_AL || a.cc == ARM_CC_INVALID;
  bool writes_pc = false;
  for (uint8_t i = 0; i < a.op_count; ++i) {
    if (a.operands[i].type == ARM_OP_REG && a.operands[i].reg == ARM_REG_PC && (a.operands[i].access & CS_AC_WRITE)) writes_pc = true;
  }
  if (starts_with(base, "bl")) s.flow = Flow::call;  // bl, blx
  else if ((starts_with(base, "bx") && a.op_count == 1 && a.operands[0].reg == ARM_REG_LR) ||
           ((starts_with(base, "pop") || starts_with(base, "ldm")) && writes_pc)) s.flow = always ? Flow::ret : Flow::cond_jump;
  else if (starts_with(base, "b") && !starts_with(base, "bic") && !starts_with(base, "bfc") && !starts_with(base, "bfi") &&
           !starts_with(base, "bkpt")) s.flow = always ? Flow::jump : Flow::cond_jump;
  else if (base == "cbz" || base == "cbnz") s.flow = Flow::cond_jump;
  else if (starts_with(base, "udf") || starts_with(base, "bkpt")) s.flow = Flow::trap;
  else if (writes_pc) s.flow = always ? Flow::jump : Flow::cond_jump;

  if (starts_with(base, "push")) s.implicit_stack = AccessKind::stack_push;
  if (starts_with(base, "pop")) s.implicit_stack = AccessKind::stack_pop;

  const cs_arm_op* first_reg = nullptr;
  const cs_arm_op* second_reg = nullptr;
  const cs_arm_op* imm = nullptr;
  for (uint8_t i = 0; i < a.op_count; ++i) {
    const cs_arm_op& op = a.operands[i];
    if (op.type == ARM_OP_MEM) {
      MemoryOperand mo;
      mo.base = arm_family(reg_name(handle, op.mem.base));
      mo.index = arm_family(reg_name(handle, op.mem.index));
      mo.scale = op.mem.scale < 0 ? -1 : 1;
      if (!mo.index.empty() && op.mem.lshift > 0 && op.mem.lshift < 8) mo.scale *= int64_t{1} << op.mem.lshift;
      mo.displacement = op.mem.disp;
      mo.post_indexed = a.writeback && i + 1 < a.op_count && a.operands[i + 1].type == ARM_OP_IMM;
      std::string data = first_reg != nullptr ? reg_name(handle, first_reg->reg) : "";
      mo.size = arm_access_size(base, data, Arch::arm);
      AccessKind k = starts_with(base, "swp") ? AccessKind::read_write
                     : starts_with(base, "ld") ? AccessKind::read
                     : starts_with(base, "st") ? AccessKind::write
                     : starts_with(base, "pld") ? AccessKind::none
                                                : AccessKind::unknown;
      if (k != AccessKind::none) s.memory.push_back({mo, k});
    } else if (op.type == ARM_OP_REG) {
      if (first_reg == nullptr) first_reg = &op;
      else if (second_reg == nullptr) second_reg = &op;
    } else if (op.type == ARM_OP_IMM) {
      imm = &op;
      if (s.flow == Flow::call || s.flow == Flow::jump || s.flow == Flow::cond_jump) s.target = static_cast<uint32_t>(op.imm);
    }
  }
  if (first_reg != nullptr && s.flow == Flow::none) {
    std::string d = arm_family(reg_name(handle, first_reg->reg));
    if (starts_with(base, "ldr") && !s.memory.empty()) {
      s.kind = OpKind::load;
    } else if (base == "mov" && second_reg != nullptr && a.op_count == 2 && second_reg->shift.type == ARM_SFT_INVALID) {
      s.kind = OpKind::move;
      s.source = arm_family(reg_name(handle, second_reg->reg));
    } else if ((base == "mov" || base == "movw") && imm != nullptr && a.op_count == 2) {
      s.kind = OpKind::constant;
      s.immediate = static_cast<uint32_t>(imm->imm);
    } else if (const char* op = arith_symbol(base); op != nullptr && second_reg != nullptr && a.op_count == 3 &&
               !a.update_flags) {
      const cs_arm_op& third = a.operands[2];
      if (third.shift.type == ARM_SFT_INVALID) {
        s.lhs = arm_family(reg_name(handle, second_reg->reg));
        if (third.type == ARM_OP_REG) s.rhs = arm_family(reg_name(handle, third.reg));
        else if (third.type == ARM_OP_IMM) s.rhs = hex_imm(third.imm);
        if (!s.lhs.empty() && !s.rhs.empty()) {
          s.kind = OpKind::arith;
          s.arith_op = op;
        }
      }
    }
    if (s.kind != OpKind::other) {
      s.dest = d;
      s.dest_size = 4;
    }
  }
}

}  // namespace

std::string register_family(std::string_view name, Arch arch) { return family(name, arch); }

bool caller_saved(std::string_view r, Arch arch) {
  switch (arch) {
    case Arch::x86_64:
      for (std::string_view n : {"rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"}) {
        if (r == n) return true;
      }
      return false;
    case Arch::i386: return r == "eax" || r == "ecx" || r == "edx";
    case Arch::arm64: {
      if (r.size() < 2 || r[0] != 'x') return false;
      int n = 0;
      for (char c : r.substr(1)) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + (c - '0');
      }
      return n <= 18 || n == 30;
    }
    case Arch::arm: return r == "r0" || r == "r1" || r == "r2" || r == "r3" || r == "ip" || r == "lr";
    default: return true;
  }
}

std::string_view return_register(Arch arch) {
  switch (arch) {
    case Arch::x86_64: return "rax";
    case Arch::i386: return "eax";
    case Arch::arm64: return "x0";
    case Arch::arm: return "r0";
    default: return "";
  }
}


Semantics semantics_of(csh handle, const cs_insn& insn, Arch arch) {
  Semantics s;
  s.next_address = insn.address + insn.size;
  if (insn.detail == nullptr) return s;
  switch (arch) {
    case Arch::x86_64:
    case Arch::i386: fill_x86(handle, insn, arch, s); break;
    case Arch::arm64: fill_arm64(handle, insn, s); break;
    case Arch::arm: fill_arm(handle, insn, s); break;
    default: return s;
  }
  cs_regs read{}, written{};
  uint8_t nread = 0, nwritten = 0;
  if (cs_regs_access(handle, &insn, read, &nread, written, &nwritten) == CS_ERR_OK) {
    for (uint8_t i = 0; i < nread; ++i) add_unique(s.reads, register_family(reg_name(handle, read[i]), arch));
    for (uint8_t i = 0; i < nwritten; ++i) add_unique(s.writes, register_family(reg_name(handle, written[i]), arch));
  }
  // The program counter is not data flow; the stack pointer only matters to push/pop.
  for (auto* v : {&s.reads, &s.writes}) {
    std::erase_if(*v, [](const std::string& r) { return r == "rip" || r == "eip" || r == "pc"; });
  }
  if (!s.dest.empty()) add_unique(s.writes, s.dest);
  return s;
}

}  // namespace ktriage::disasm

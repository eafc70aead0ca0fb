// What one instruction does, in the terms the fault explanation needs:
// control flow, memory operands, registers read and written, and whether it
// is a simple load/move/constant we can turn into an expression. Built from
// Capstone's detail (operand access flags, cs_regs_access) plus mnemonic
// rules where Capstone 4's detail is incomplete (arm64 load/store access).
#pragma once

#include <capstone/capstone.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/disasm.h"

namespace ktriage::disasm {

enum class Flow { none, call, jump, cond_jump, ret, trap };

enum class OpKind {
  other,
  load,      // reg = *(mem)
  store,     // *(mem) = reg
  move,      // reg = reg
  address,   // reg = computed address (lea, adr/adrp): no memory access
  constant,  // reg = immediate (mov $imm, movz, xor %eax,%eax)
  arith,     // reg = lhs <op> rhs (add, sub, shifts, and/or/xor, imul)
};

struct MemoryAccess {
  MemoryOperand operand;
  AccessKind access = AccessKind::unknown;
};

struct Semantics {
  Flow flow = Flow::none;
  std::optional<uint64_t> target;       // direct branch/call target
  OpKind kind = OpKind::other;
  std::vector<MemoryAccess> memory;     // explicit memory operands actually accessed
  std::optional<MemoryOperand> address; // the operand of lea/adr (computed, not accessed)
  AccessKind implicit_stack = AccessKind::none;  // push/call: stack_push, pop/ret: stack_pop
  std::vector<std::string> reads;       // register families, general-purpose only
  std::vector<std::string> writes;
  std::string dest;                     // destination register family for load/move/constant
  uint32_t dest_size = 0;               // bytes of the written register view (eax: 4)
  std::string source;                   // source register family for move
  std::optional<uint64_t> immediate;    // constant value for OpKind::constant
  std::string arith_op;                 // "+", ">>", ... for OpKind::arith
  std::string lhs, rhs;                 // operands for OpKind::arith: register family or hex immediate
  uint64_t next_address = 0;            // address + size, for rip-relative operands
  std::string divisor;                  // div/idiv/udiv/sdiv: the divisor register family
  uint32_t divisor_size = 0;            // bytes of the divisor view (div %ebp: 4)
};

Semantics semantics_of(csh handle, const cs_insn& insn, Arch arch);

// "eax" -> "rax", "w3" -> "x3", "sb" -> "r9"; "" for registers that are not
// general-purpose (flags, vector, segment).
std::string register_family(std::string_view capstone_name, Arch arch);

// Registers a call may overwrite (the C ABI's caller-saved set).
bool caller_saved(std::string_view family, Arch arch);

// The register holding a function's return value ("rax", "x0").
std::string_view return_register(Arch arch);


}  // namespace ktriage::disasm

// Stack usage per frame from the function's own code: follow every change of
// the stack pointer from the function's first instruction to the call (or
// faulting instruction) the frame stopped at. See include/ktriage/stack_usage.h.
#include "ktriage/stack_usage.h"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <string_view>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "disasm/capstone.h"

namespace ktriage {
namespace {

using disasm::CapstoneHandle;
using disasm::InsnDeleter;

// The stack pointer's distance below its value at function entry, as the
// instructions are walked in address order.
struct Walk {
  int64_t depth = 0;
  int64_t deepest = 0;
  std::optional<int64_t> frame_pointer;  // depth at which the frame pointer was set
  std::vector<std::string> notes;

  void set(int64_t d) {
    depth = std::max<int64_t>(d, 0);
    deepest = std::max(deepest, depth);
  }
  void grow(int64_t n) { set(depth + n); }
  // After a return or a jump away the next instruction starts another path;
  // compilers lay those out inside the body, at the body's depth.
  void new_path() { depth = deepest; }
};

// Bounded immediates: a stack frame beyond 1 MiB is not a frame but a
// misdecode (or hostile bytes); refuse rather than sum nonsense.
constexpr int64_t kMaxAdjust = 1 << 20;

bool sane(int64_t v) { return v > -kMaxAdjust && v < kMaxAdjust; }

// --- x86 -------------------------------------------------------------------

bool is_sp(x86_reg r) { return r == X86_REG_RSP || r == X86_REG_ESP; }
bool is_bp(x86_reg r) { return r == X86_REG_RBP || r == X86_REG_EBP; }

// `mov $N,%eax` zero-extends into %rax: one entry per 64-bit register.
x86_reg full_register(x86_reg r) {
  static constexpr std::pair<x86_reg, x86_reg> k32[] = {
      {X86_REG_EAX, X86_REG_RAX}, {X86_REG_EBX, X86_REG_RBX}, {X86_REG_ECX, X86_REG_RCX},
      {X86_REG_EDX, X86_REG_RDX}, {X86_REG_ESI, X86_REG_RSI}, {X86_REG_EDI, X86_REG_RDI},
      {X86_REG_R8D, X86_REG_R8},  {X86_REG_R9D, X86_REG_R9},  {X86_REG_R10D, X86_REG_R10},
      {X86_REG_R11D, X86_REG_R11}, {X86_REG_R12D, X86_REG_R12}, {X86_REG_R13D, X86_REG_R13},
      {X86_REG_R14D, X86_REG_R14}, {X86_REG_R15D, X86_REG_R15}};
  for (auto [narrow, wide] : k32)
    if (r == narrow) return wide;
  return r;
}

// One x86 instruction; Intel operand order (destination first). Returns an
// error message when the stack pointer changes in a way it cannot follow.
std::optional<std::string> step_x86(const cs_insn& insn, int word, Walk& w,
                                    std::map<x86_reg, int64_t>& known) {
  const cs_x86& x = insn.detail->x86;
  const cs_x86_op* op0 = x.op_count > 0 ? &x.operands[0] : nullptr;
  const cs_x86_op* op1 = x.op_count > 1 ? &x.operands[1] : nullptr;
  auto imm_or_known = [&](const cs_x86_op* op) -> std::optional<int64_t> {
    if (op == nullptr) return std::nullopt;
    if (op->type == X86_OP_IMM) return op->imm;
    if (op->type == X86_OP_REG) {
      auto it = known.find(full_register(op->reg));
      if (it != known.end()) return it->second;
    }
    return std::nullopt;
  };
  const bool dest_sp = op0 && op0->type == X86_OP_REG && is_sp(op0->reg);

  switch (insn.id) {
    case X86_INS_PUSH:
      // push imm / reg / mem: one word (16-bit pushes do not occur in kernel code).
      w.grow(word);
      return std::nullopt;
    case X86_INS_PUSHFQ: case X86_INS_PUSHFD: case X86_INS_PUSHF:
      w.grow(word);
      return std::nullopt;
    case X86_INS_POP: case X86_INS_POPFQ: case X86_INS_POPFD: case X86_INS_POPF:
      w.grow(-word);
      return std::nullopt;
    case X86_INS_LEAVE:
      if (!w.frame_pointer) return "leave without a frame pointer set in this function";
      w.set(*w.frame_pointer - word);
      return std::nullopt;
    case X86_INS_RET: case X86_INS_RETF: case X86_INS_UD2: case X86_INS_INT3:
      w.new_path();
      return std::nullopt;
    case X86_INS_JMP:
      w.new_path();
      return std::nullopt;
    default:
      break;
  }

  if (op0 && op0->type == X86_OP_REG && !is_sp(op0->reg)) {
    // Remember `mov $N,%reg` for a later `sub %reg,%rsp`; any other write forgets it.
    if (insn.id == X86_INS_MOV && op1 && op1->type == X86_OP_IMM) {
      known[full_register(op0->reg)] = op1->imm;
    } else {
      known.erase(full_register(op0->reg));
    }
    if ((insn.id == X86_INS_MOV) && is_bp(op0->reg) && op1 && op1->type == X86_OP_REG && is_sp(op1->reg)) {
      w.frame_pointer = w.depth;
    }
    return std::nullopt;
  }
  if (!dest_sp) return std::nullopt;

  switch (insn.id) {
    case X86_INS_SUB:
    case X86_INS_ADD: {
      std::optional<int64_t> n = imm_or_known(op1);
      if (!n && insn.id == X86_INS_SUB) {
        // A variable-size allocation (alloca, randomize_kstack_offset): its
        // fixed part is still measured, so the frame is a lower bound.
        w.notes.push_back(fmt::format("{} {}: a variable-size allocation, not counted", insn.mnemonic, insn.op_str));
        return std::nullopt;
      }
      if (!n) return fmt::format("{} {}: amount not known", insn.mnemonic, insn.op_str);
      if (!sane(*n)) return fmt::format("{} {}: implausible stack adjustment", insn.mnemonic, insn.op_str);
      w.grow(insn.id == X86_INS_SUB ? *n : -*n);
      return std::nullopt;
    }
    case X86_INS_AND: {
      std::optional<int64_t> n = imm_or_known(op1);
      if (!n || *n >= 0 || !sane(*n)) return fmt::format("{} {}: alignment not understood", insn.mnemonic, insn.op_str);
      int64_t pad = -*n - word;  // worst case: the pointer was one word past an aligned address
      if (pad > 0) {
        w.grow(pad);
        w.notes.push_back(fmt::format("stack aligned to {} bytes: up to {} bytes of padding counted", -*n, pad));
      }
      return std::nullopt;
    }
    case X86_INS_LEA: {
      if (!op1 || op1->type != X86_OP_MEM || op1->mem.index != X86_REG_INVALID || !sane(op1->mem.disp)) {
        return fmt::format("{} {}: not understood", insn.mnemonic, insn.op_str);
      }
      if (is_sp(static_cast<x86_reg>(op1->mem.base))) {
        w.grow(-op1->mem.disp);
      } else if (is_bp(static_cast<x86_reg>(op1->mem.base)) && w.frame_pointer) {
        w.set(*w.frame_pointer - op1->mem.disp);
      } else {
        return fmt::format("{} {}: base not known", insn.mnemonic, insn.op_str);
      }
      return std::nullopt;
    }
    case X86_INS_MOV:
      if (op1 && op1->type == X86_OP_REG && is_bp(op1->reg) && w.frame_pointer) {
        w.set(*w.frame_pointer);
        return std::nullopt;
      }
      if (op1 && op1->type == X86_OP_REG) {
        // A switch to another stack (call_on_irqstack): what follows is on
        // the new stack, and only that part belongs to this frame there.
        w = Walk{};
        w.notes.push_back(fmt::format("{} {}: switches stacks; counted from the switch", insn.mnemonic, insn.op_str));
        return std::nullopt;
      }
      return fmt::format("{} {}: stack pointer loaded from memory", insn.mnemonic, insn.op_str);
    default:
      return fmt::format("{} {}: stack pointer changed in a way not followed", insn.mnemonic, insn.op_str);
  }
}

// --- arm64 -----------------------------------------------------------------

bool is_sp(arm64_reg r) { return r == ARM64_REG_SP || r == ARM64_REG_WSP; }

int64_t shifted(const cs_arm64_op& op) {
  if (op.shift.type == ARM64_SFT_LSL && op.shift.value < 32) return op.imm << op.shift.value;
  return op.imm;
}

std::optional<std::string> step_arm64(const cs_insn& insn, Walk& w) {
  const cs_arm64& a = insn.detail->arm64;
  switch (insn.id) {
    case ARM64_INS_RET:
      w.new_path();
      return std::nullopt;
    case ARM64_INS_B:
    case ARM64_INS_BR:
      if (insn.id == ARM64_INS_BR || a.cc == ARM64_CC_INVALID || a.cc == ARM64_CC_AL) w.new_path();
      return std::nullopt;
    case ARM64_INS_BRK:
      w.new_path();  // BUG(): does not return
      return std::nullopt;
    default:
      break;
  }
  // Loads and stores with writeback of sp: `stp x29, x30, [sp, #-0x30]!`
  // (pre-index, the displacement) and `ldp x29, x30, [sp], #0x30`
  // (post-index, a trailing immediate).
  if (a.writeback) {
    for (uint8_t i = 0; i < a.op_count; ++i) {
      const cs_arm64_op& op = a.operands[i];
      if (op.type != ARM64_OP_MEM || !is_sp(op.mem.base)) continue;
      int64_t delta = op.mem.disp;
      if (i + 1 < a.op_count && a.operands[i + 1].type == ARM64_OP_IMM) delta = a.operands[i + 1].imm;
      if (!sane(delta)) return fmt::format("{} {}: implausible stack adjustment", insn.mnemonic, insn.op_str);
      w.grow(-delta);
      return std::nullopt;
    }
    return std::nullopt;
  }
  if (a.op_count < 2 || a.operands[0].type != ARM64_OP_REG) return std::nullopt;
  const arm64_reg dst = a.operands[0].reg;
  const cs_arm64_op& src = a.operands[1];
  const bool src_sp = src.type == ARM64_OP_REG && is_sp(src.reg);
  const bool src_fp = src.type == ARM64_OP_REG && src.reg == ARM64_REG_X29;
  const cs_arm64_op* amount = a.op_count > 2 ? &a.operands[2] : nullptr;
  const bool imm = amount && amount->type == ARM64_OP_IMM;

  if (dst == ARM64_REG_X29) {
    // mov x29, sp / add x29, sp, #N: the frame record's address.
    if (src_sp && (insn.id == ARM64_INS_MOV || (insn.id == ARM64_INS_ADD && imm)))
      w.frame_pointer = w.depth - (imm ? shifted(*amount) : 0);
    return std::nullopt;
  }
  if (!is_sp(dst)) return std::nullopt;
  if ((insn.id == ARM64_INS_SUB || insn.id == ARM64_INS_ADD) && src_sp && imm) {
    int64_t n = shifted(*amount);
    if (!sane(n)) return fmt::format("{} {}: implausible stack adjustment", insn.mnemonic, insn.op_str);
    w.grow(insn.id == ARM64_INS_SUB ? n : -n);
    return std::nullopt;
  }
  if (src_fp && w.frame_pointer && (insn.id == ARM64_INS_MOV || ((insn.id == ARM64_INS_SUB || insn.id == ARM64_INS_ADD) && imm))) {
    int64_t n = imm ? shifted(*amount) : 0;
    w.set(*w.frame_pointer + (insn.id == ARM64_INS_ADD ? -n : n));
    return std::nullopt;
  }
  return fmt::format("{} {}: stack pointer changed in a way not followed", insn.mnemonic, insn.op_str);
}

// --- the trace ---------------------------------------------------------------

// Symbols where the trace entered this stack from user space or through an
// interrupt/exception: the frame there is the saved registers (pt_regs), not
// a C function's prologue.
bool is_entry_symbol(Arch arch, std::string_view f) {
  // Whole families of entry stubs, by prefix; older entry code by exact
  // name (prefixes would also catch C functions such as page_fault_oops).
  static constexpr std::string_view kX86Prefixes[] = {"entry_SYSCALL", "entry_INT80", "entry_SYSENTER", "asm_"};
  static constexpr std::string_view kX86Names[] = {
      "ret_from_fork", "ret_from_fork_asm", "system_call", "system_call_fastpath", "ia32_sysenter_target",
      "ia32_syscall", "ret_from_intr", "apic_timer_interrupt", "page_fault", "error_entry", "child_rip",
      "kernel_thread_helper", "int_signal", "sysenter_do_call"};
  static constexpr std::string_view kArm64Prefixes[] = {"el0t_", "el1h_", "el1t_"};
  static constexpr std::string_view kArm64Names[] = {"el0_sync", "el1_sync", "el0_irq", "el1_irq", "ret_from_fork"};
  const bool arm64 = arch == Arch::arm64;
  for (std::string_view p : arm64 ? std::span<const std::string_view>(kArm64Prefixes) : std::span<const std::string_view>(kX86Prefixes))
    if (f.starts_with(p)) return true;
  for (std::string_view n : arm64 ? std::span<const std::string_view>(kArm64Names) : std::span<const std::string_view>(kX86Names))
    if (f == n) return true;
  return false;
}

// sizeof(struct pt_regs).
std::optional<uint64_t> pt_regs_size(Arch arch) {
  switch (arch) {
    case Arch::x86_64: return 21 * 8;  // r15..rdi, orig_ax, ip, cs, flags, sp, ss
    case Arch::i386: return 17 * 4;
    case Arch::arm64: return 336;      // PT_REGS_SIZE on 5.x/6.x kernels
    default: return std::nullopt;
  }
}

unsigned return_address_bytes(Arch arch) {
  switch (arch) {
    case Arch::x86_64: return 8;  // pushed by the call
    case Arch::i386: return 4;
    default: return 0;            // arm64: in x30, saved in the frame record (counted by stp)
  }
}

std::string stack_of(const Frame& f) { return f.context.empty() ? "task" : f.context; }

}  // namespace

Expected<StackDepth> stack_depth_at(Arch arch, std::span<const uint8_t> code, uint64_t address,
                                    uint64_t offset) {
  if (arch != Arch::x86_64 && arch != Arch::i386 && arch != Arch::arm64) {
    return Error{fmt::format("no stack-usage decoder for {}", to_string(arch))};
  }
  if (offset > code.size()) {
    return Error{fmt::format("offset {:#x} is past the function's {:#x} bytes", offset, code.size())};
  }
  Expected<CapstoneHandle> handleOrErr = disasm::open_capstone(arch, false, AsmSyntax::intel);
  if (!handleOrErr) return handleOrErr.error();
  const csh h = handleOrErr->get();
  std::unique_ptr<cs_insn, InsnDeleter> insn(cs_malloc(h));
  if (!insn) return Error{"capstone: cs_malloc failed"};

  const int word = arch == Arch::i386 ? 4 : 8;
  Walk w;
  std::map<x86_reg, int64_t> known;
  const uint8_t* p = code.data();
  size_t left = static_cast<size_t>(offset);
  uint64_t pc = address;
  while (left > 0) {
    if (!cs_disasm_iter(h, &p, &left, &pc, insn.get())) {
      return Error{fmt::format("undecodable bytes at +{:#x}", pc - address)};
    }
    std::optional<std::string> problem =
        arch == Arch::arm64 ? step_arm64(*insn, w) : step_x86(*insn, word, w, known);
    if (problem) return Error{fmt::format("+{:#x}: {}", insn->address - address, *problem)};
  }
  // cs_disasm_iter consumed exactly `offset` bytes only if an instruction ends there.
  if (pc != address + offset) {
    return Error{fmt::format("+{:#x} is not an instruction boundary", offset)};
  }
  StackDepth out;
  out.bytes = static_cast<uint64_t>(w.depth);
  out.notes = std::move(w.notes);
  return out;
}

std::vector<FrameStackUsage> StackUsage::biggest(size_t n) const {
  std::vector<FrameStackUsage> out;
  for (const FrameStackUsage& f : frames)
    if (f.measured()) out.push_back(f);
  std::stable_sort(out.begin(), out.end(),
                   [](const FrameStackUsage& a, const FrameStackUsage& b) { return a.bytes > b.bytes; });
  if (out.size() > n) out.resize(n);
  return out;
}

StackUsage estimate_stack_usage(const Report& report, const Symbolization& symbols, Symbolizer& symbolizer) {
  StackUsage u;
  u.arch = report.arch;
  u.stack = report.frames.empty() ? "task" : stack_of(report.frames.front());

  // Code per function, read once: a recursion repeats one function many times.
  std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const Expected<FunctionCode>>> code_cache;
  auto code_of = [&](const FrameSymbolization& s) {
    uint64_t start = s.link_address ? *s.link_address - std::min(s.offset, *s.link_address) : 0;
    auto key = std::make_pair(s.object, start);
    auto it = code_cache.find(key);
    if (it == code_cache.end())
      it = code_cache.emplace(key, std::make_shared<const Expected<FunctionCode>>(symbolizer.function_code(s))).first;
    return it->second;
  };
  std::map<std::tuple<std::string, uint64_t, uint64_t>, Expected<StackDepth>> depth_cache;

  auto measure = [&](const FrameSymbolization* s, const Symbol& printed, std::optional<size_t> index) -> void {
    FrameStackUsage f;
    f.index = index;
    f.function = s && !s->function.empty() ? s->function : printed.function;
    f.module = printed.module;
    const bool entry = is_entry_symbol(report.arch, f.function);
    if (entry && pt_regs_size(report.arch)) {
      // Entered from user space or an interrupt: the saved registers.
      f.bytes = *pt_regs_size(report.arch);
      f.method = "pt_regs";
      f.note = "entry code: struct pt_regs saved on this stack";
    } else if (s == nullptr || !s->ok() || !s->link_address) {
      f.note = s && !s->symbolize_error.empty() ? s->symbolize_error : "frame not symbolized";
    } else if (s->function.ends_with(".cold") || s->function.find(".cold.") != std::string::npos) {
      f.note = "a .cold part runs in its parent function's frame";
    } else {
      auto codeOrErr = code_of(*s);
      if (!*codeOrErr) {
        f.note = codeOrErr->error().message;
      } else {
        const FunctionCode& fc = **codeOrErr;
        const uint64_t at = *s->link_address - fc.link_address;
        auto key = std::make_tuple(fc.object, fc.link_address, at);
        auto it = depth_cache.find(key);
        if (it == depth_cache.end())
          it = depth_cache.emplace(key, stack_depth_at(report.arch, fc.bytes, fc.link_address, at)).first;
        const Expected<StackDepth>& depth = it->second;
        if (!depth) {
          f.note = depth.error().message;
        } else {
          f.bytes = depth->bytes + return_address_bytes(report.arch);
          f.method = "prologue";
          for (const std::string& n : depth->notes) f.note += (f.note.empty() ? "" : "; ") + n;
        }
      }
    }
    if (f.measured()) {
      ++u.measured;
      u.total += f.bytes;
    } else {
      ++u.unmeasured;
    }
    u.frames.push_back(std::move(f));
  };

  if (report.ip) measure(symbols.ip ? &*symbols.ip : nullptr, *report.ip, std::nullopt);
  for (size_t i = 0; i < report.frames.size(); ++i) {
    const Frame& fr = report.frames[i];
    if (stack_of(fr) != u.stack || !fr.reliable) {
      ++u.skipped;
      continue;
    }
    const FrameSymbolization* s = i < symbols.frames.size() ? &symbols.frames[i] : nullptr;
    measure(s, fr, i);
  }
  return u;
}

}  // namespace ktriage

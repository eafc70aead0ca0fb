// Explaining the faulting instruction from the log alone: what it accessed,
// where (from the dumped registers), which register made the address bad,
// and a backward slice through the Code: bytes to where that register came
// from. The slice only follows the straight-line path that ends at the
// faulting instruction and stops wherever that path is no longer certain:
// an unconditional jump or return (the code after it is reached by a jump),
// a join (a branch in the bytes targets the path), a call that clobbers the
// register, or the first Code: byte.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <set>

#include "ktriage/kernel_facts.h"
#include "disasm/capstone.h"
#include "disasm/report_regs.h"
#include "disasm/semantics.h"

namespace ktriage {
namespace {

using disasm::OpKind;
using disasm::Semantics;
using InsnPtr = std::unique_ptr<cs_insn, disasm::InsnDeleter>;

constexpr int kMaxChainSteps = 4;

// Array indexes above this (as unsigned) are called implausible: 16M entries.
constexpr uint64_t kLargestPlausibleIndex = 1u << 24;

// KASAN's shadow offsets (KASAN_SHADOW_OFFSET): x86-64 0xdffffc0000000000,
// arm64 generic 0xdfff800000000000 / 0xdfffa00000000000 / 0xdfffc00000000000.
bool is_kasan_shadow_offset(uint64_t v) {
  return (v >> 48) == 0xdfff && (v & 0xffffffffULL) == 0;
}

// When a memory operand is shadow_offset + reg (KASAN instrumentation),
// returns the register holding addr >> 3.
std::optional<std::string> kasan_shadow_check(const MemoryOperand& m, std::optional<uint64_t> base,
                                              std::optional<uint64_t> index) {
  if (m.base.empty() || m.index.empty() || m.scale != 1 || m.displacement != 0 || !base || !index) return std::nullopt;
  if (is_kasan_shadow_offset(*index)) return m.base;
  if (is_kasan_shadow_offset(*base)) return m.index;
  return std::nullopt;
}

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

std::string signed_hex(int64_t v) {
  return v < 0 ? fmt::format("- {:#x}", uint64_t{0} - static_cast<uint64_t>(v)) : fmt::format("+ {:#x}", v);
}

uint64_t mask_to(uint64_t v, unsigned bytes) { return bytes >= 8 ? v : v & ((uint64_t{1} << (8 * bytes)) - 1); }

// Where an instruction is, for ChainStep::site and FaultExplanation::site.
std::string site(const CodeDecode& d, const Instruction& insn) {
  if (!d.function.empty()) return fmt::format("{}+{:#x}", d.function, insn.offset);
  return d.base_address ? hex(insn.address) : fmt::format("Code:+{:#x}", insn.offset);
}

// Semantics of every decoded instruction, re-decoded with detail.
std::vector<Semantics> analyse(csh handle, const CodeDecode& d) {
  std::vector<Semantics> out;
  out.reserve(d.instructions.size());
  InsnPtr insn(cs_malloc(handle));
  for (const Instruction& i : d.instructions) {
    const uint8_t* code = i.bytes.data();
    size_t size = i.bytes.size();
    uint64_t address = i.address;
    if (insn && i.mnemonic != "(bad)" && cs_disasm_iter(handle, &code, &size, &address, insn.get())) {
      out.push_back(disasm::semantics_of(handle, *insn, d.arch));
    } else {
      out.emplace_back();
      out.back().flow = disasm::Flow::trap;  // undecodable: never falls through
    }
  }
  return out;
}

// Value of a register usable in an address: the dump's value, or the PC-relative base.
std::optional<uint64_t> operand_register(const std::string& reg, const CodeDecode& d, const Instruction& insn,
                                         const Semantics& sem, const RegisterSet* regs) {
  if (reg.empty()) return uint64_t{0};
  if (reg == "rip" || reg == "eip") {
    if (!d.base_address) return std::nullopt;
    return sem.next_address;
  }
  if (reg == "pc" && d.arch == Arch::arm) {
    if (!d.base_address) return std::nullopt;
    return d.thumb ? ((insn.address + 4) & ~uint64_t{3}) : insn.address + 8;
  }
  if (regs == nullptr) return std::nullopt;
  return register_value(*regs, reg, d.arch);
}

std::optional<uint64_t> effective_address(const MemoryOperand& m, const CodeDecode& d, const Instruction& insn,
                                          const Semantics& sem, const RegisterSet* regs) {
  auto base = operand_register(m.base, d, insn, sem, regs);
  auto index = operand_register(m.index, d, insn, sem, regs);
  if (!base || !index) return std::nullopt;
  uint64_t ea = *base;
  if (!m.post_indexed) ea += *index * static_cast<uint64_t>(m.scale) + static_cast<uint64_t>(m.displacement);
  if (!m.segment.empty()) {
    if (m.segment != "fs" && m.segment != "gs") return std::nullopt;
    if (regs == nullptr) return std::nullopt;
    std::optional<uint64_t> seg = regs->get(m.segment + "_base");
    if (!seg) seg = regs->get(m.segment);
    if (!seg) return std::nullopt;
    ea += *seg;
  }
  return mask_to(ea, pointer_bytes(d.arch));
}

bool same_address(uint64_t a, uint64_t b, Arch arch) {
  if (arch == Arch::arm64) return ((a ^ b) & 0x00ffffffffffffffULL) == 0;  // top byte is a tag
  return a == b;
}

bool address_matches(uint64_t ea, uint32_t size, uint64_t fault, Arch arch) {
  if (same_address(ea, fault, arch)) return true;
  // An access that crosses into the next page faults on that page's first byte.
  uint64_t f = arch == Arch::arm64 ? fault & 0x00ffffffffffffffULL : fault;
  uint64_t e = arch == Arch::arm64 ? ea & 0x00ffffffffffffffULL : ea;
  return f > e && f - e < std::max<uint32_t>(size, 1);
}

bool writes(const Semantics& s, const std::string& reg) {
  return std::find(s.writes.begin(), s.writes.end(), reg) != s.writes.end();
}

bool is_stack_pointer(const std::string& reg) { return reg == "rsp" || reg == "esp" || reg == "sp"; }

// What step `s` did to its register, as typed fields.
void describe_step(const Semantics& s, ChainStep& step) {
  switch (s.kind) {
    case OpKind::load:
      if (!s.memory.empty()) {
        step.kind = StepKind::load;
        step.operand = s.memory.front().operand;
        return;
      }
      break;
    case OpKind::move:
      step.kind = StepKind::move;
      step.source_register = s.source;
      return;
    case OpKind::address:
      if (s.address) {
        step.kind = StepKind::address;
        step.operand = s.address;
        return;
      }
      break;
    case OpKind::constant:
      if (s.immediate) {
        step.kind = StepKind::constant;
        step.constant = s.immediate;
        return;
      }
      break;
    case OpKind::arith:
      step.kind = StepKind::arith;
      step.arith_lhs = s.lhs;
      step.arith_op = s.arith_op;
      step.arith_rhs = s.rhs;
      return;
    default: break;
  }
  if (s.flow == disasm::Flow::call) {
    step.kind = StepKind::call;
    step.call_target = s.target;
    return;
  }
  step.kind = StepKind::other;
}

// The register the value of step `s` (which wrote `reg`) came from, or "" with
// `stop` set when the trail ends at this step.
std::string next_register(const Semantics& s, const std::string& reg, const Instruction& insn, ChainStop& stop) {
  auto stop_at = [&](StopReason why) {
    stop.reason = why;
    stop.instruction = insn.text;
    return std::string();
  };
  auto pointer_of = [](const MemoryOperand& m) { return m.base.empty() ? m.index : m.base; };
  switch (s.kind) {
    case OpKind::load: {
      std::string r = s.memory.empty() ? "" : pointer_of(s.memory.front().operand);
      if (r.empty() || r == "rip" || r == "eip" || r == "pc") return stop_at(StopReason::fixed_address_load);
      if (is_stack_pointer(r) || r == "rbp" || r == "x29" || r == "fp") return stop_at(StopReason::stack_reload);
      return r;
    }
    case OpKind::move: return s.source;
    case OpKind::address: return s.address ? pointer_of(*s.address) : "";
    case OpKind::constant: return stop_at(StopReason::constant);
    case OpKind::arith:
      if (!s.lhs.empty() && s.lhs[0] != '-' && s.lhs.rfind("0x", 0) != 0) return s.lhs;
      break;
    default: break;
  }
  if (s.flow == disasm::Flow::call) return stop_at(StopReason::call_return);
  // Arithmetic: follow the register's own previous value when it was an
  // input (add $8, %rax), else the first register read.
  if (std::find(s.reads.begin(), s.reads.end(), reg) != s.reads.end()) return reg;
  for (const std::string& r : s.reads) {
    if (!is_stack_pointer(r)) return r;
  }
  return stop_at(StopReason::no_register_input);
}

struct Slice {
  std::vector<ChainStep> chain;
  ChainStop stop;
  bool from_stack_pointer = false;  // the trail reached the stack pointer
};

Slice backward_slice(const CodeDecode& d, const std::vector<Semantics>& sems, const std::string& bad,
                     const RegisterSet* regs) {
  Slice out;
  std::set<uint64_t> targets;
  for (const Semantics& s : sems) {
    if (s.target && (s.flow == disasm::Flow::jump || s.flow == disasm::Flow::cond_jump)) targets.insert(*s.target);
  }
  const size_t fault = d.faulting_index;
  std::string reg = bad;
  size_t pos = fault;
  while (static_cast<int>(out.chain.size()) < kMaxChainSteps) {
    std::optional<size_t> found;
    for (size_t k = pos; k-- > 0;) {
      const Instruction& after = d.instructions[k + 1];
      if (targets.count(after.address)) {
        out.stop = {StopReason::join, site(d, after), "", reg};
        return out;
      }
      const Semantics& s = sems[k];
      const Instruction& insn = d.instructions[k];
      if (insn.mnemonic == "(bad)") {
        out.stop = {StopReason::undecodable, site(d, insn)};
        return out;
      }
      if (s.flow == disasm::Flow::jump || s.flow == disasm::Flow::ret || s.flow == disasm::Flow::trap) {
        out.stop = {StopReason::jump, site(d, insn), insn.text};
        return out;
      }
      if (s.flow == disasm::Flow::call) {
        if (reg == disasm::return_register(d.arch)) {
          found = k;
          break;
        }
        if (disasm::caller_saved(reg, d.arch)) {
          out.stop = {StopReason::call_clobbers, site(d, insn), "", reg};
          return out;
        }
        continue;
      }
      if (writes(s, reg)) {
        found = k;
        break;
      }
    }
    if (!found) {
      out.stop = {StopReason::no_writer, "", "", reg, d.function};
      return out;
    }
    const size_t j = *found;
    const Semantics& s = sems[j];
    ChainStep step;
    step.instruction = d.instructions[j];
    step.site = site(d, step.instruction);
    step.register_name = reg;
    describe_step(s, step);
    // The dump shows the register as the fault left it: that is this step's
    // result if nothing between here and the fault wrote it again.
    bool rewritten = false;
    for (size_t k = j + 1; k < fault; ++k) {
      if (writes(sems[k], reg) || (sems[k].flow == disasm::Flow::call && disasm::caller_saved(reg, d.arch))) rewritten = true;
    }
    if (!rewritten && regs != nullptr) {
      if (auto v = register_value(*regs, reg, d.arch)) {
        step.value = s.dest_size != 0 ? mask_to(*v, s.dest_size) : *v;
      }
    }
    out.chain.push_back(std::move(step));
    ChainStop stop;
    std::string next = next_register(s, reg, d.instructions[j], stop);
    if (next.empty()) {
      out.stop = stop.reason == StopReason::none ? ChainStop{StopReason::no_inputs} : stop;
      return out;
    }
    if (is_stack_pointer(next)) out.from_stack_pointer = true;
    reg = next;
    pos = j;
  }
  out.stop.reason = StopReason::depth_limit;
  out.stop.depth = kMaxChainSteps;
  return out;
}

// No code bytes to decode ("Unable to access opcode bytes", "Bad RIP
// value"), but the report still says what was accessed: an instruction fetch
// from a bad address (a call through a bad function pointer), or a data
// access whose address one of the dumped registers is nearest to.
std::optional<FaultExplanation> explain_without_code(const Report& report, const std::string& why) {
  const std::optional<uint64_t> fault = disasm::report_fault_address(report);
  if (!fault) return std::nullopt;
  const bool fetch = report.error_code && report.error_code->instruction_fetch();
  const bool at_ip = report.ip && report.ip->address.has_value() && report.ip->address.value_or(0) == fault.value_or(0);
  const Arch arch = disasm::report_arch(report);
  FaultExplanation e;
  e.address = fault;
  e.access = fetch || at_ip              ? AccessKind::execute
             : !report.error_code        ? AccessKind::unknown
             : report.error_code->write() ? AccessKind::write
                                          : AccessKind::read;
  e.code_missing = why;
  e.bad_verdict = classify_pointer(*fault, arch);
  e.address_verdict = e.bad_verdict;

  // Registers holding the address, or (for data) closest above/below it
  // within a page: a pointer that was advanced or offset before the access.
  std::vector<const Register*> exact;
  const Register* nearest = nullptr;
  bool nearest_unique = false;
  uint64_t best = 0;
  if (const RegisterSet* regs = disasm::fault_registers(report)) {
    for (const Register& r : regs->regs) {
      if (disasm::register_family(r.name, arch).empty() || r.name == "rip" || r.name == "eip" || r.name == "pc") continue;
      uint64_t dist = r.value > *fault ? r.value - *fault : *fault - r.value;
      if (dist == 0) exact.push_back(&r);
      if (dist >= 0x1000) continue;
      if (nearest == nullptr || dist < best) {
        nearest = &r;
        best = dist;
        nearest_unique = true;
      } else if (dist == best) {
        nearest_unique = false;
      }
    }
  }
  if (e.access == AccessKind::execute) {
    e.effective_address = fault;
    e.address_matches = true;
    if (exact.size() == 1) {
      e.bad_register = exact.front()->name;
      e.bad_value = fault;
    }
    if (exact.size() <= 3)
      for (const Register* r : exact) e.registers_holding.push_back(r->name);
    return e;
  }
  if (nearest != nullptr && nearest_unique) {
    e.bad_register = nearest->name;
    e.bad_value = nearest->value;
    e.bad_verdict = classify_pointer(nearest->value, arch);
    e.nearest_distance = best;
  }
  return e;
}

}  // namespace

std::string_view to_string(AccessKind kind) {
  switch (kind) {
    case AccessKind::unknown: return "unknown";
    case AccessKind::none: return "none";
    case AccessKind::read: return "read";
    case AccessKind::write: return "write";
    case AccessKind::read_write: return "read_write";
    case AccessKind::execute: return "execute";
    case AccessKind::stack_push: return "stack_push";
    case AccessKind::stack_pop: return "stack_pop";
  }
  return "unknown";
}

std::string MemoryOperand::describe() const {
  std::string s;
  if (!segment.empty()) s = segment + ":";
  std::string terms;
  if (!base.empty()) terms = base;
  if (!index.empty()) {
    std::string idx = scale == 1 ? index : scale == -1 ? index : fmt::format("{}*{}", index, scale < 0 ? -scale : scale);
    if (terms.empty()) terms = scale < 0 ? "-" + idx : idx;
    else terms += fmt::format(" {} {}", scale < 0 ? "-" : "+", idx);
  }
  if (!post_indexed && displacement != 0) {
    if (terms.empty()) terms = hex(static_cast<uint64_t>(displacement));
    else terms += " " + signed_hex(displacement);
  }
  if (terms.empty()) terms = "0x0";
  return s + terms;
}

Expected<FaultExplanation> explain_fault(const CodeDecode& d, const FaultContext& ctx) {
  if (d.instructions.empty() || d.faulting_index >= d.instructions.size()) {
    return Error{"could not explain: the decode has no faulting instruction"};
  }
  Expected<disasm::CapstoneHandle> handleOrErr = disasm::open_capstone(d.arch, d.thumb, AsmSyntax::att);
  if (!handleOrErr) return handleOrErr.error();
  const std::vector<Semantics> sems = analyse(handleOrErr->get(), d);
  const Semantics& sem = sems[d.faulting_index];
  const RegisterSet* regs = ctx.registers;

  FaultExplanation e;
  e.address = ctx.fault_address;
  e.instruction = d.faulting();
  e.site = site(d, e.instruction);
  e.trap = sem.flow == disasm::Flow::trap;

  // Which memory access faulted: the operand whose address is the fault
  // address, else the one the error code's write bit points at, else the first.
  const disasm::MemoryAccess* chosen = nullptr;
  for (const disasm::MemoryAccess& m : sem.memory) {
    auto ea = effective_address(m.operand, d, e.instruction, sem, regs);
    if (ea && ctx.fault_address && address_matches(*ea, m.operand.size, *ctx.fault_address, d.arch)) {
      chosen = &m;
      break;
    }
  }
  if (chosen == nullptr && ctx.error_code) {
    for (const disasm::MemoryAccess& m : sem.memory) {
      bool w = m.access == AccessKind::write || m.access == AccessKind::read_write;
      if (w == ctx.error_code->write()) {
        chosen = &m;
        break;
      }
    }
  }
  if (chosen == nullptr && !sem.memory.empty()) chosen = &sem.memory.front();

  if (chosen != nullptr) {
    e.memory = chosen->operand;
    e.access = chosen->access;
  } else if (sem.implicit_stack != AccessKind::none) {
    MemoryOperand m;
    m.base = d.arch == Arch::x86_64 ? "rsp" : d.arch == Arch::i386 ? "esp" : "sp";
    m.size = pointer_bytes(d.arch);
    m.displacement = sem.implicit_stack == AccessKind::stack_push ? -static_cast<int64_t>(m.size) : 0;
    e.memory = m;
    e.access = sem.implicit_stack;
  } else {
    e.access = AccessKind::none;
  }
  if (ctx.error_code && ctx.error_code->instruction_fetch()) e.access = AccessKind::execute;

  // Divide error: the divisor register is the bad one (zero, or a quotient
  // that does not fit).
  if (!e.memory && !sem.divisor.empty()) {
    e.bad_register = sem.divisor;
    if (regs != nullptr) e.bad_value = register_value(*regs, sem.divisor, d.arch);
    if (e.bad_value) {
      const uint64_t v = sem.divisor_size ? mask_to(*e.bad_value, sem.divisor_size) : *e.bad_value;
      e.bad_verdict.description = v == 0 ? "the divisor is zero" : "the divisor is not zero: the quotient overflowed";
    }
    Slice slice = backward_slice(d, sems, e.bad_register, regs);
    e.chain = std::move(slice.chain);
    e.chain_stop = std::move(slice.stop);
  }

  if (e.memory) {
    e.effective_address = effective_address(*e.memory, d, e.instruction, sem, regs);
    if (e.effective_address && e.address) {
      e.address_matches = address_matches(*e.effective_address, e.memory->size, *e.address, d.arch);
    }
    // The bad register: a base whose value is visibly wrong; else an index
    // that pushed the address somewhere wrong; else the base (the pointer).
    const MemoryOperand& m = *e.memory;
    const bool base_usable = !m.base.empty() && m.base != "rip" && m.base != "eip" && m.base != "pc";
    std::optional<uint64_t> bv = base_usable && regs ? register_value(*regs, m.base, d.arch) : std::nullopt;
    std::optional<uint64_t> iv = !m.index.empty() && regs ? register_value(*regs, m.index, d.arch) : std::nullopt;
    PointerVerdict ea_verdict;
    if (e.effective_address) ea_verdict = classify_pointer(*e.effective_address, d.arch);
    PointerVerdict base_verdict;
    if (bv) base_verdict = classify_pointer(*bv, d.arch);
    const std::optional<std::string> shadow_reg = kasan_shadow_check(m, bv, iv);
    if (shadow_reg) {
      // KASAN's inline check `cmpb $0, (shadow_offset + addr >> 3)`: the
      // address being checked is the other register shifted back.
      e.bad_register = *shadow_reg;
      e.bad_value = *shadow_reg == m.base ? bv : iv;
      uint64_t checked = *e.bad_value << 3;
      PointerVerdict v = classify_pointer(checked, d.arch);
      e.bad_verdict = {v.kind, fmt::format("KASAN's shadow check for address {:#x}..{:#x} ({})", checked, checked + 7,
                                           v.kind == PointerClass::plausible ? "a kernel address" : v.description)};
    } else if (base_usable && (m.index.empty() || base_verdict.kind != PointerClass::plausible ||
                               ea_verdict.kind == PointerClass::plausible)) {
      e.bad_register = m.base;
      e.bad_value = bv;
      e.bad_verdict = base_verdict;
      if (bv && base_verdict.kind == PointerClass::plausible && ea_verdict.kind != PointerClass::plausible) {
        e.bad_verdict = {ea_verdict.kind, fmt::format("with the offset the address becomes {} ({})",
                                                      hex(*e.effective_address), ea_verdict.description)};
      } else if (bv && base_verdict.kind == PointerClass::null && e.effective_address && *e.effective_address != 0) {
        e.bad_verdict.description = fmt::format("NULL (the access went to NULL + {})", hex(*e.effective_address));
      }
    } else if (!m.index.empty()) {
      e.bad_register = m.index;
      e.bad_value = iv;
      if (iv) {
        const int64_t as_signed = static_cast<int64_t>(*iv);
        std::string what = as_signed < 0                ? fmt::format("a negative index ({})", as_signed)
                           : *iv > kLargestPlausibleIndex ? fmt::format("an implausibly large index ({})", *iv)
                                                          : fmt::format("an index of {}", *iv);
        if (e.effective_address) {
          what += fmt::format(", which (scaled by {}) puts the address at {}", m.scale, hex(*e.effective_address));
          if (ea_verdict.kind != PointerClass::plausible) what += ": " + ea_verdict.description;
        }
        e.bad_verdict = {ea_verdict.kind, what};
      }
    }
    if (!e.bad_register.empty() && !is_stack_pointer(e.bad_register)) {
      Slice slice = backward_slice(d, sems, e.bad_register, regs);
      e.chain = std::move(slice.chain);
      e.chain_stop = std::move(slice.stop);
      e.through_stack_pointer = slice.from_stack_pointer;
    }
  }
  return e;
}

Expected<FaultExplanation> explain_report_fault(const Report& report, const DecodeOptions& options) {
  // In these reports the IP is where the CPU was interrupted or stopped on
  // purpose, not an instruction that faulted on memory.
  static constexpr CrashKind kNotFaults[] = {
      CrashKind::warning,     CrashKind::soft_lockup,  CrashKind::hard_lockup, CrashKind::hung_task,
      CrashKind::rcu_stall,   CrashKind::lockdep,      CrashKind::memory_leak, CrashKind::scheduling_while_atomic,
      CrashKind::sleeping_in_atomic, CrashKind::panic, CrashKind::kcsan,       CrashKind::refcount,
  };
  for (CrashKind k : kNotFaults) {
    if (report.kind == k) {
      return Error{fmt::format("not explained: the IP of a {} report is not a faulting instruction", to_string(k))};
    }
  }
  Expected<CodeDecode> decodeOrErr = decode_report_code(report, options);
  if (!decodeOrErr) {
    std::string why = decodeOrErr.error().message;
    if (why.rfind("could not decode: ", 0) == 0) why = why.substr(18);
    if (std::optional<FaultExplanation> e = explain_without_code(report, why)) return std::move(*e);
    return decodeOrErr.error();
  }
  if (decodeOrErr->base_address &&
      classify_pointer(*decodeOrErr->base_address, decodeOrErr->arch).kind == PointerClass::user_space) {
    return Error{"not explained: the Code: bytes are user-space code (the kernel report printed the interrupted "
                 "user context)"};
  }
  FaultContext ctx;
  ctx.registers = disasm::fault_registers(report);
  ctx.fault_address = disasm::report_fault_address(report);
  ctx.error_code = report.error_code;
  return explain_fault(*decodeOrErr, ctx);
}

}  // namespace ktriage

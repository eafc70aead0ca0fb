// The fault explanation and the Code: check in words. Everything here reads
// typed fields only: the text report, the JSON's sentences and the analyses'
// evidence all say the same thing, and nothing reads the words back.
#include <fmt/format.h>

#include "ktriage/disasm.h"

namespace ktriage {
namespace {

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

bool is_stack_pointer(const std::string& reg) { return reg == "rsp" || reg == "esp" || reg == "sp"; }

const char* c_type(uint32_t size) {
  switch (size) {
    case 1: return "u8";
    case 2: return "u16";
    case 4: return "u32";
    case 8: return "u64";
    case 16: return "u128";
    default: return "void";
  }
}

std::string access_phrase(AccessKind a) {
  switch (a) {
    case AccessKind::read: return "reads";
    case AccessKind::write: return "writes";
    case AccessKind::read_write: return "reads and writes";
    case AccessKind::stack_push: return "pushes onto the stack at";
    case AccessKind::stack_pop: return "pops from the stack at";
    case AccessKind::execute: return "fetches instructions from";
    default: return "accesses";
  }
}

// Without the instruction: an instruction fetch from a bad address, or a
// data access whose address a register is nearest to.
std::vector<std::string> sentences_without_code(const FaultExplanation& e) {
  std::vector<std::string> out;
  if (!e.address) return out;
  const std::string what = e.address_verdict.kind == PointerClass::plausible
                               ? ""
                               : fmt::format(" ({})", e.address_verdict.description);
  if (e.access == AccessKind::execute) {
    out.push_back(fmt::format("The CPU faulted fetching an instruction at {}{}: the kernel called or jumped "
                              "through a bad function pointer, so there is no faulting instruction to decode; "
                              "the caller is the first frame of the call trace.",
                              hex(*e.address), what));
    if (!e.registers_holding.empty() && e.registers_holding.size() <= 3) {
      out.push_back(fmt::format("{} {} {}, likely the function pointer.", fmt::join(e.registers_holding, ", "),
                                e.registers_holding.size() == 1 ? "holds" : "hold", hex(*e.address)));
    }
    return out;
  }
  out.push_back(fmt::format("The faulting instruction is not in the log ({}); the fault address is {}{}.",
                            e.code_missing, hex(*e.address), what));
  if (!e.bad_register.empty() && e.bad_value && e.nearest_distance) {
    const uint64_t d = *e.nearest_distance;
    out.push_back(fmt::format("{} held {}, {}, likely the bad pointer.", e.bad_register, hex(*e.bad_value),
                              d == 0 ? "exactly that address"
                                     : fmt::format("{:#x} {} it", d, *e.bad_value > *e.address ? "above" : "below")));
  }
  return out;
}

// DWARF's view: the access and each load of the chain in C.
std::string source_sentence(const FaultExplanation& e) {
  const SourceExpression& access = *e.source_access;
  std::string sentence = fmt::format("In the source the faulting access is `{}`", access.text);
  if (e.source_location) sentence += fmt::format(" ({}:{})", e.source_location->file, e.source_location->line);
  if (access.inferred) sentence += " (likely: DWARF has no location for it here, inferred from the types in scope)";
  for (const ChainStep& step : e.chain) {
    if (!step.source_expression) continue;
    const std::string who =
        step.variable.empty() ? step.register_name : fmt::format("`{}` ({})", step.variable, step.register_name);
    if (step.kind == StepKind::load) sentence += fmt::format("; {} was loaded from `{}`", who, step.source_expression->text);
    else sentence += fmt::format("; {} was computed as `&{}`", who, step.source_expression->text);
    if (step.value) sentence += fmt::format(", which held {:#x}", *step.value);
  }
  return sentence + ".";
}

}  // namespace

std::string step_machine_expression(const ChainStep& step) {
  const std::string& reg = step.register_name;
  switch (step.kind) {
    case StepKind::load:
      if (step.operand) return fmt::format("{} = *({} *)({})", reg, c_type(step.operand->size), step.operand->describe());
      break;
    case StepKind::move: return fmt::format("{} = {}", reg, step.source_register);
    case StepKind::address:
      if (step.operand) return fmt::format("{} = {}", reg, step.operand->describe());
      break;
    case StepKind::constant:
      if (step.constant) return fmt::format("{} = {}", reg, hex(*step.constant));
      break;
    case StepKind::arith: return fmt::format("{} = {} {} {}", reg, step.arith_lhs, step.arith_op, step.arith_rhs);
    case StepKind::call:
      if (!step.instruction.target_symbol.empty())
        return fmt::format("{} = return value of the call to {}", reg, step.instruction.target_symbol);
      return step.call_target ? fmt::format("{} = return value of the call to {}", reg, hex(*step.call_target))
                              : fmt::format("{} = return value of an indirect call", reg);
    case StepKind::other: break;
  }
  return fmt::format("{} = result of `{}`", reg, step.instruction.text);
}

std::string step_expression(const ChainStep& step) {
  if (!step.source_expression) return step_machine_expression(step);
  return fmt::format("{} = {}{}", step.register_name, step.kind == StepKind::load ? "" : "&",
                     step.source_expression->text);
}

std::string chain_stop_reason_text(const ChainStop& s);

std::string chain_stop_text(const ChainStop& s) {
  std::string out = chain_stop_reason_text(s);
  if (out.empty() || s.variable.empty()) return out;
  return out + fmt::format("; DWARF says {} holds `{}`{} there{}", s.register_name, s.variable,
                           s.variable_type.empty() ? "" : fmt::format(" ({})", s.variable_type),
                           s.variable_entry_value ? ", if it is unchanged since the function's entry" : "");
}

std::string chain_stop_reason_text(const ChainStop& s) {
  switch (s.reason) {
    case StopReason::none: return "";
    case StopReason::join:
      return fmt::format("a join at {}: a branch jumps there, so {} may come from another path", s.site, s.register_name);
    case StopReason::undecodable: return fmt::format("undecodable bytes at {}", s.site);
    case StopReason::jump:
      return fmt::format("`{}` at {}: the code after it is only reached by a jump", s.instruction, s.site);
    case StopReason::call_clobbers: return fmt::format("the call at {}, which may change {}", s.site, s.register_name);
    case StopReason::no_writer:
      return fmt::format("{} ({} has no writer after it)",
                         s.function.empty() ? "the start of the Code: bytes" : "the entry of " + s.function,
                         s.register_name);
    case StopReason::fixed_address_load: return fmt::format("a load from a fixed address (`{}`)", s.instruction);
    case StopReason::stack_reload: return fmt::format("a reload from the stack frame (`{}`)", s.instruction);
    case StopReason::constant: return fmt::format("a constant (`{}`)", s.instruction);
    case StopReason::call_return: return fmt::format("the return value of a call (`{}`)", s.instruction);
    case StopReason::no_register_input: return fmt::format("`{}`, which reads no other register", s.instruction);
    case StopReason::no_inputs: return "an instruction whose inputs are not registers";
    case StopReason::depth_limit: return fmt::format("the depth limit of {} steps", s.depth);
  }
  return "";
}

std::string source_expression_text(const FaultExplanation& e) {
  return e.source_access && !e.source_access->inferred ? e.source_access->text : "";
}

std::string source_location_text(const FaultExplanation& e) {
  return e.source_location ? fmt::format("{}:{}", e.source_location->file, e.source_location->line) : "";
}

std::vector<std::string> fault_sentences(const FaultExplanation& e) {
  if (!e.code_missing.empty()) return sentences_without_code(e);
  std::vector<std::string> out;
  if (!e.memory) {
    out.push_back(e.trap ? fmt::format("The faulting instruction `{}` at {} is a deliberate trap (BUG()/WARN() and "
                                       "friends), not a bad memory access.",
                                       e.instruction.text, e.site)
                         : fmt::format("The faulting instruction `{}` at {} does not access memory through an operand.",
                                       e.instruction.text, e.site));
    if (e.bad_register.empty()) return out;
  } else {
    std::string s = fmt::format("The faulting instruction `{}` at {} {} {}", e.instruction.text, e.site,
                                access_phrase(e.access), e.memory->describe());
    if (e.effective_address) s += fmt::format(" = {}", hex(*e.effective_address));
    if (e.address && e.address_matches) {
      if (*e.address_matches) {
        s += ", the fault address";
      } else if (e.effective_address && (*e.effective_address >> 12) == (*e.address >> 12)) {
        s += fmt::format(", in the same page as the fault address {}", hex(*e.address));
      } else {
        s += fmt::format(", not the fault address {}", hex(*e.address));
      }
    }
    out.push_back(s + ".");
  }
  if (!e.bad_register.empty() && e.bad_value) {
    std::string v = fmt::format("{} held {}", e.bad_register, hex(*e.bad_value));
    if (!e.bad_verdict.description.empty()) v += fmt::format(": {}", e.bad_verdict.description);
    else if (!is_stack_pointer(e.bad_register) && e.memory) v += ", which looks like a valid pointer by value alone";
    if (is_stack_pointer(e.bad_register) && e.address && e.address_matches.value_or(false) &&
        (e.access == AccessKind::stack_push || e.access == AccessKind::write) && (*e.address & 0xfff) >= 0xf00) {
      v += "; a store just below a page boundary through the stack pointer is what a kernel stack overflow into "
           "the guard page looks like";
    }
    out.push_back(v + ".");
  }
  const std::string stop = chain_stop_text(e.chain_stop);
  if (!e.chain.empty()) {
    std::string c;
    for (size_t i = 0; i < e.chain.size(); ++i) {
      const ChainStep& st = e.chain[i];
      c += fmt::format("{}{} was set by `{}` at {} ({}{})", i == 0 ? "" : "; ", st.register_name, st.instruction.text,
                       st.site, step_machine_expression(st),
                       st.value ? fmt::format(", value {}", hex(*st.value)) : std::string());
    }
    out.push_back(fmt::format("{}; the trace stopped at {}.", c, stop));
    if (e.through_stack_pointer && e.effective_address && e.address &&
        (*e.effective_address >> 12) == (*e.address >> 12)) {
      out.push_back(fmt::format("{} points into the current stack frame, so this is an access to the stack "
                                "itself: the kernel stack overflowed into its guard page.",
                                e.bad_register));
    }
  } else if (!e.bad_register.empty() && !stop.empty()) {
    out.push_back(fmt::format("Where {} came from is not in the Code: bytes: the trace stopped at {}.",
                              e.bad_register, stop));
  }
  if (e.source_access) out.push_back(source_sentence(e));
  return out;
}

std::string code_comparison_text(const CodeComparison& c) {
  const std::string where =
      fmt::format("{}'s {}", c.object == "vmlinux" ? "vmlinux" : c.object + ".ko", c.function);
  std::string skipped;
  if (c.kaslr_offset) {
    skipped = fmt::format(" ({} bytes of absolute addresses moved by a KASLR offset of {:#x} not compared)",
                          c.relocated, static_cast<uint64_t>(*c.kaslr_offset));
  } else if (c.relocated) {
    skipped = fmt::format(" ({} relocated bytes not compared)", c.relocated);
  }
  switch (c.verdict) {
    case CodeVerdict::match:
      return fmt::format("the {} Code: bytes that overlap {} match it{}", c.compared, where, skipped);
    case CodeVerdict::runtime_patched: {
      std::string list;
      for (const PatchSite& p : c.patch_sites) list += fmt::format("{}+{:#x}: {}", list.empty() ? "" : "; ", p.offset, p.kind);
      return fmt::format("the Code: bytes match {} except at {} runtime patch site{} ({}): "
                         "runtime-patched code, the same build{}",
                         where, c.differing_sites, c.differing_sites == 1 ? "" : "s", list, skipped);
    }
    case CodeVerdict::different_build:
      return fmt::format("{} of the {} Code: bytes that overlap {} differ, at {} place{} that are not "
                         "typical runtime patch sites: the debug file is probably not this kernel's build",
                         c.differing_offsets.size(), c.compared, where, c.differing_sites,
                         c.differing_sites == 1 ? "" : "s");
  }
  return "";
}

}  // namespace ktriage

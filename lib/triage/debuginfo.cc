#include "triage/debuginfo.h"

#include <fmt/format.h>

#include <algorithm>

#include "disasm/report_regs.h"

namespace ktriage::debuginfo {
namespace {

bool wants(const std::vector<std::string>& list, const std::string& what) {
  return std::find(list.begin(), list.end(), what) != list.end();
}

std::string module_key(std::string name) {
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}


// DWARF's view of the faulting access and of each load in the chain
// ("n->next", "zoo_table[i]"), farthest step first, so a load through a
// register DWARF has no variable for builds on the step that wrote it.
// Operands come from the stored bytes: link-time addresses, as DWARF has them.
void add_source_expressions(Symbolizer& sym, const FunctionCode& fc, uint64_t ip_offset, Arch arch,
                            const FunctionListing* listing, FaultExplanation& e) {
  auto operand = [&](uint64_t offset) { return memory_operand_at(fc.bytes, offset, fc.link_address + offset, arch); };
  // The listing's name for a fixed-address operand (a module's come from its
  // relocations, which DWARF lookups by address cannot use).
  auto listed_target = [&](uint64_t offset) -> std::string {
    if (!listing) return "";
    for (const ListingInstruction& li : listing->instructions) {
      if (li.offset == offset && li.target != "unrelocated") return li.target;
    }
    return "";
  };
  // What step `k` put in `reg`, for a later operand DWARF has no variable for.
  auto earlier = [&](size_t k, const std::string& reg) -> const SourceExpression* {
    if (k >= e.chain.size() || reg.empty()) return nullptr;
    const ChainStep& step = e.chain[k];
    if (!step.source_expression || step.source_expression->type_ref == 0) return nullptr;
    return step.register_name == reg ? &*step.source_expression : nullptr;
  };
  for (size_t k = e.chain.size(); k-- > 0;) {
    ChainStep& step = e.chain[k];
    std::optional<MemoryOperand> m = operand(step.instruction.offset);
    if (!m) continue;
    step.source_expression = sym.source_expression(fc.object, fc.link_address + step.instruction.offset, m->base,
                                                    m->index, m->scale, m->displacement, m->size,
                                                    earlier(k + 1, m->base), earlier(k + 1, m->index));
    if (!step.source_expression && m->base.empty() && m->index.empty()) {
      if (std::string target = listed_target(step.instruction.offset); !target.empty()) {
        step.source_expression = SourceExpression{};
        step.source_expression->text = target;
        step.source_expression->note = "named by symbol, not by DWARF";
      }
    }
  }
  if (!e.memory) return;
  std::optional<MemoryOperand> m = operand(ip_offset);
  if (!m) return;
  const SourceExpression* base_is = earlier(0, m->base);
  const SourceExpression* index_is = earlier(0, m->index);
  std::optional<SourceExpression> access = sym.source_expression(
      fc.object, fc.link_address + ip_offset, m->base, m->index, m->scale, m->displacement, m->size, base_is, index_is);
  if (!access) return;
  const FrameSymbolization where = sym.describe(fc.object, fc.link_address + ip_offset);
  if (where.source) e.source_location = where.source;
  // The variable the first step's register holds, when DWARF names it.
  if (!e.chain.empty() && !base_is && !index_is && !access->inferred && !access->variable.empty() &&
      e.chain.front().register_name == m->base && e.chain.front().source_expression)
    e.chain.front().variable = access->variable;
  e.source_access = std::move(access);
}

// Where the slice stopped without a writer for its register (a join: a
// branch brings another path; a call that may change it; the function's
// entry), DWARF may still say which variable the register holds there, on
// every path: at the instruction that read it.
void stopped_register_variable(Symbolizer& sym, const FunctionCode& fc, uint64_t ip_offset, FaultExplanation& e) {
  ChainStop& stop = e.chain_stop;
  if (stop.register_name.empty()) return;
  if (stop.reason != StopReason::join && stop.reason != StopReason::call_clobbers &&
      stop.reason != StopReason::no_writer)
    return;
  const uint64_t reader = e.chain.empty() ? ip_offset : e.chain.back().instruction.offset;
  std::optional<SourceVariable> v = sym.variable_in_register(fc.object, fc.link_address + reader, stop.register_name);
  if (!v || v->text.empty()) return;
  stop.variable = v->text;
  stop.variable_type = v->type;
  stop.variable_entry_value = v->entry_value;
}

// The whole function's bytes give the backward slice more room than the
// Code: window: explain again over them, with source lines for each step.
// The Code: bytes are what really ran, so where they overlap they replace
// the stored bytes (a module's relocated fields, patched sites).
void explain_with_function(Symbolizer& sym, const Report& report, const FunctionCode& fc, uint64_t ip_offset,
                           Arch arch, const TriageOptions& options, const FunctionListing* listing, ReportDetails& d) {
  if (!d.fault || d.fault->access == AccessKind::execute) return;
  if (d.code_match && d.code_match->verdict == CodeVerdict::different_build) return;
  std::vector<uint8_t> bytes = fc.bytes;
  if (d.code && d.code_match) {
    const int64_t shift = static_cast<int64_t>(ip_offset) - static_cast<int64_t>(d.code->faulting_offset);
    for (size_t k = 0; k < d.code->bytes.size(); ++k) {
      const int64_t at = shift + static_cast<int64_t>(k);
      if (at >= 0 && at < static_cast<int64_t>(bytes.size())) bytes[static_cast<size_t>(at)] = d.code->bytes[k];
    }
  }
  Expected<CodeDecode> decodeOrErr = decode_function(bytes, ip_offset, arch, fc.runtime_address, options.syntax);
  if (!decodeOrErr) return;
  if (d.code && decodeOrErr->faulting().text != d.code->faulting().text) return;
  decodeOrErr->function = fc.function;
  // Calls by name, as the listing has them ("the call to kmalloc_trace").
  for (Instruction& insn : decodeOrErr->instructions) {
    if (!insn.branch_target || !listing) continue;
    for (const ListingInstruction& li : listing->instructions) {
      if (li.offset != insn.offset || li.target.empty() || li.target == "unrelocated") continue;
      insn.target_symbol = li.target;
      if (insn.operands.find(fmt::format("{:#x}", *insn.branch_target)) != std::string::npos) {
        insn.operands = li.target;
        insn.text = insn.mnemonic + " " + insn.operands;
      }
    }
  }
  FaultContext ctx;
  ctx.registers = disasm::fault_registers(report);
  ctx.fault_address = disasm::report_fault_address(report);
  ctx.error_code = report.error_code;
  Expected<FaultExplanation> faultOrErr = explain_fault(*decodeOrErr, ctx);
  if (!faultOrErr) return;
  FaultExplanation& e = *faultOrErr;
  for (ChainStep& step : e.chain) {
    const FrameSymbolization where = sym.describe(fc.object, fc.link_address + step.instruction.offset);
    if (where.source) step.source = where.source;
  }
  add_source_expressions(sym, fc, ip_offset, arch, listing, e);
  stopped_register_variable(sym, fc, ip_offset, e);
  d.fault = std::move(e);
}

}  // namespace

const std::vector<CodeRelocation>* Relocations::get(const Symbolization& s, const std::string& object,
                                                    const std::string& function) {
  if (object == "vmlinux") return nullptr;
  auto key = std::make_pair(object, function);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second ? &*it->second : nullptr;
  std::optional<std::vector<CodeRelocation>>& slot = cache_[key];
  for (const DebugInfoFile& f : s.debuginfo) {
    if (f.role != "module" || module_key(f.name) != module_key(object)) continue;
    Expected<std::vector<CodeRelocation>> relocsOrErr = read_function_relocations(f.path, function);
    if (relocsOrErr) slot = std::move(*relocsOrErr);
    break;
  }
  return slot ? &*slot : nullptr;
}

// With debug info: the ip's function listed (and checked against the Code:
// bytes), plus the call-trace frames asked for.
void disassemble(Symbolizer& sym, const Report& report, const TriageOptions& options, Relocations& relocations,
                 ReportDetails& d) {
  if (!d.symbols) return;
  const Symbolization& s = *d.symbols;
  Arch arch = disasm::report_arch(report);
  if (arch == Arch::unknown && d.code) arch = d.code->arch;
  const bool all = wants(options.disasm, "all");
  std::optional<int64_t> kaslr = s.kaslr_offset;

  auto list = [&](const FrameSymbolization& frame, const std::string& label, bool requested) {
    ListingOptions lo;
    lo.syntax = options.syntax;
    lo.relocations = relocations.get(s, frame.object, frame.function);
    lo.kaslr_offset = kaslr;
    Expected<FunctionListing> listingOrErr = disassemble_function(sym, frame, label, arch, lo);
    if (!listingOrErr) {
      if (requested) d.disassembly_errors.push_back(fmt::format("{}: {}", label, listingOrErr.error().message));
      return;
    }
    listingOrErr->requested = requested;
    d.disassembly.push_back(std::move(*listingOrErr));
  };

  if (s.ip && s.ip->ok()) {
    Expected<FunctionCode> fcOrErr = sym.function_code(*s.ip);
    std::optional<uint64_t> ip_offset;
    if (fcOrErr && s.ip->link_address && *s.ip->link_address >= fcOrErr->link_address) {
      ip_offset = *s.ip->link_address - fcOrErr->link_address;
    }
    // First the comparison: a KASLR offset it infers gives the listings runtime addresses.
    if (ip_offset && d.code) {
      CompareOptions co;
      co.kaslr_offset = s.kaslr_offset;
      co.relocations = relocations.get(s, fcOrErr->object, fcOrErr->function);
      Expected<CodeComparison> cmpOrErr = compare_code(*d.code, *fcOrErr, *ip_offset, co);
      if (cmpOrErr) d.code_match = std::move(*cmpOrErr);
      if (d.code_match && !kaslr) kaslr = d.code_match->kaslr_offset;
    }
    list(*s.ip, "ip", all || wants(options.disasm, "ip"));
    if (ip_offset) {
      if (!fcOrErr->runtime_address && !fcOrErr->relocatable && kaslr) {
        fcOrErr->runtime_address = fcOrErr->link_address + static_cast<uint64_t>(*kaslr);
      }
      // The log printed no IP address but the debug info gives it: decode
      // the Code: bytes again at their real addresses.
      if (d.code && !d.code->base_address && fcOrErr->runtime_address) {
        DecodeOptions decode;
        decode.syntax = options.syntax;
        decode.ip = *fcOrErr->runtime_address + *ip_offset;
        if (Expected<CodeDecode> again = decode_report_code(report, decode)) d.code = std::move(*again);
      }
      const FunctionListing* listing = nullptr;
      for (const FunctionListing& l : d.disassembly) {
        if (l.frame == "ip") listing = &l;
      }
      explain_with_function(sym, report, *fcOrErr, *ip_offset, arch, options, listing, d);
    }
  } else if (report.ip && (wants(options.disasm, "ip") || all)) {
    d.disassembly_errors.push_back("ip: did not resolve in the debug info");
  }

  for (size_t i = 0; i < report.frames.size() && i < s.frames.size(); ++i) {
    const std::string label = std::to_string(i);
    const bool asked = wants(options.disasm, label);
    if (!asked && !(all && report.frames[i].reliable)) continue;
    if (!s.frames[i].ok()) {
      if (asked) d.disassembly_errors.push_back(fmt::format("frame {}: did not resolve in the debug info", i));
      continue;
    }
    list(s.frames[i], label, true);
  }
  for (const std::string& want : options.disasm) {
    if (want == "ip" || want == "all") continue;
    size_t used = 0;
    unsigned long index = 0;
    try {
      index = std::stoul(want, &used);
    } catch (...) {
      used = 0;
    }
    if (!report.frames.empty() && (used != want.size() || index >= report.frames.size())) {
      d.disassembly_errors.push_back(fmt::format("frame {}: no such call-trace frame ({} frames)", want, report.frames.size()));
    }
  }
}

}  // namespace ktriage::debuginfo

// Whole-function listings from the stored bytes of vmlinux or a module:
// linear decoding from the function's first byte, one source lookup per
// instruction, and names for call/jump targets and address operands.
//
// Address spaces: the listing is decoded at the function's runtime address
// when the log printed one, so relative branch targets and rip-relative
// operands come out as runtime addresses (minus `delta` gives link-time).
// Absolute operands and immediates are stored as vmlinux was linked (the
// KASLR relocation happens at boot), so they are link-time already. In a
// module they are 0 until relocated: the .ko's relocations name them.

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "disasm/capstone.h"
#include "disasm/semantics.h"
#include "ktriage/disasm.h"

namespace ktriage {
namespace {

using InsnPtr = std::unique_ptr<cs_insn, disasm::InsnDeleter>;

bool is_x86(Arch a) { return a == Arch::x86_64 || a == Arch::i386; }

bool in_group(const cs_insn& insn, uint8_t group) {
  for (uint8_t g = 0; g < insn.detail->groups_count; ++g) {
    if (insn.detail->groups[g] == group) return true;
  }
  return false;
}

// Where an operand of `insn` points, and which instruction byte holds the
// field the loader would relocate (for a module's relocation lookup).
struct Reference {
  uint64_t value = 0;        // listing address space when `relative`, else link-time
  bool relative = false;     // computed from the instruction's address
  uint32_t field = 0;        // offset of the encoded field in the instruction, 0 = unknown
  bool branch = false;
  bool per_cpu = false;      // %gs:-relative: a per-CPU offset, never moved by KASLR
};

std::optional<Reference> reference_of(const cs_insn& insn, Arch arch) {
  const cs_detail* d = insn.detail;
  const bool branch = in_group(insn, CS_GRP_JUMP) || in_group(insn, CS_GRP_CALL);
  if (is_x86(arch)) {
    const cs_x86& x = d->x86;
    for (uint8_t i = 0; i < x.op_count; ++i) {
      const cs_x86_op& op = x.operands[i];
      if (branch && op.type == X86_OP_IMM) {
        return Reference{static_cast<uint64_t>(op.imm), true, x.encoding.imm_offset, true};
      }
      if (op.type == X86_OP_MEM && op.mem.base == X86_REG_RIP && op.mem.index == X86_REG_INVALID) {
        return Reference{insn.address + insn.size + static_cast<uint64_t>(op.mem.disp), true, x.encoding.disp_offset,
                         false};
      }
      // An absolute address: a sign-extended disp32 into the kernel image
      // (`-0x7e4030a0(,%rax,8)`), a per-CPU variable (`%gs:0x1fbc0`), or a
      // module's 0 waiting for its relocation.
      if (op.type == X86_OP_MEM && op.mem.base == X86_REG_INVALID && x.encoding.disp_offset != 0) {
        const uint64_t v = static_cast<uint64_t>(op.mem.disp);
        const bool per_cpu = op.mem.segment == X86_REG_GS && arch == Arch::x86_64;
        const bool image = arch == Arch::x86_64 ? v >= 0xffffffff80000000ULL : v >= 0xc0000000ULL;
        if (per_cpu || image || v == 0) return Reference{v, false, x.encoding.disp_offset, false, per_cpu};
      }
    }
    // `mov $sym, %rdi`: an immediate that is a kernel-image address, or a
    // module's relocated immediate (0 in the file).
    for (uint8_t i = 0; i < x.op_count; ++i) {
      const cs_x86_op& op = x.operands[i];
      if (!branch && op.type == X86_OP_IMM && x.encoding.imm_offset != 0) {
        const uint64_t v = static_cast<uint64_t>(op.imm);
        if (arch == Arch::x86_64 ? v >= 0xffffffff80000000ULL : v >= 0xc0000000ULL) {
          return Reference{v, false, x.encoding.imm_offset, false};
        }
        if (v == 0) return Reference{0, false, x.encoding.imm_offset, false};  // only named through a relocation
      }
    }
    return std::nullopt;
  }
  if (branch) {
    if (arch == Arch::arm64) {
      for (uint8_t i = 0; i < d->arm64.op_count; ++i) {
        if (d->arm64.operands[i].type == ARM64_OP_IMM) {
          return Reference{static_cast<uint64_t>(d->arm64.operands[i].imm), true, 0, true};
        }
      }
    } else if (arch == Arch::arm) {
      for (uint8_t i = 0; i < d->arm.op_count; ++i) {
        if (d->arm.operands[i].type == ARM_OP_IMM) {
          return Reference{static_cast<uint32_t>(d->arm.operands[i].imm), true, 0, true};
        }
      }
    }
  }
  return std::nullopt;
}

std::string name_with_offset(const std::string& name, int64_t offset) {
  if (offset == 0) return name;
  return offset > 0 ? fmt::format("{}+{:#x}", name, offset)
                    : fmt::format("{}-{:#x}", name, uint64_t{0} - static_cast<uint64_t>(offset));
}

// The relocation patching a field of the instruction at [begin, end): the
// one at `field` when given, else the first inside.
const CodeRelocation* relocation_in(const std::vector<CodeRelocation>* relocs, uint64_t begin, uint64_t end,
                                    std::optional<uint64_t> field) {
  if (!relocs) return nullptr;
  const CodeRelocation* any = nullptr;
  for (const CodeRelocation& r : *relocs) {
    if (r.offset < begin || r.offset >= end) continue;
    if (field && r.offset == *field) return &r;
    if (!any) any = &r;
  }
  return any;
}

// `bytes` (read at a string literal's address) quoted as C would write
// it; "" when they do not start with a printable NUL-terminated string.
// For string literals, which only have .LC labels.
std::string string_literal(const std::vector<uint8_t>& bytes) {
  constexpr size_t kLongest = 120;
  size_t i = 0;
  if (bytes.size() > 1 && bytes[0] == '\001' && bytes[1] >= '0' && bytes[1] <= '7') i = 2;  // KERN_<level>
  std::string out = "\"";
  for (; i < bytes.size() && bytes[i] != 0; ++i) {
    const unsigned char c = bytes[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      return "";
    }
    if (out.size() > kLongest) return out + "...\"";
  }
  if (out.size() < 3 || i >= bytes.size()) return "";
  return out + "\"";
}

struct Decoded {
  std::vector<Instruction> instructions;
  std::vector<std::optional<Reference>> references;
};

Expected<Decoded> decode_linear(const std::vector<uint8_t>& bytes, uint64_t base, Arch arch, AsmSyntax syntax) {
  Expected<disasm::CapstoneHandle> handleOrErr = disasm::open_capstone(arch, false, syntax);
  if (!handleOrErr) return handleOrErr.error();
  InsnPtr insn(cs_malloc(handleOrErr->get()));
  if (!insn) return Error{"capstone: out of memory"};
  const uint32_t unit = is_x86(arch) ? 1 : 4;  // arm64 and ARM (not Thumb) are fixed-width
  Decoded out;
  size_t off = 0;
  while (off < bytes.size()) {
    const uint8_t* code = bytes.data() + off;
    size_t size = bytes.size() - off;
    uint64_t address = base + off;
    Instruction i;
    i.address = base + off;
    i.offset = static_cast<uint32_t>(off);
    std::optional<Reference> ref;
    if (cs_disasm_iter(handleOrErr->get(), &code, &size, &address, insn.get())) {
      i.bytes.assign(insn->bytes, insn->bytes + insn->size);
      i.mnemonic = insn->mnemonic;
      i.operands = insn->op_str;
      ref = reference_of(*insn, arch);
      if (ref && ref->branch) i.branch_target = ref->value;
      if (is_x86(arch)) {
        if (uint32_t len = disasm::x86_ud1_length(bytes, off); len > insn->size) {
          i.bytes.assign(bytes.begin() + static_cast<long>(off), bytes.begin() + static_cast<long>(off + len));
          i.mnemonic = "ud1";
          i.operands.clear();
          ref.reset();
        }
      }
    } else {
      const size_t n = std::min<size_t>(unit, bytes.size() - off);
      i.bytes.assign(bytes.begin() + static_cast<long>(off), bytes.begin() + static_cast<long>(off + n));
      i.mnemonic = "(bad)";
    }
    i.text = i.operands.empty() ? i.mnemonic : i.mnemonic + " " + i.operands;
    off += i.bytes.size();
    out.instructions.push_back(std::move(i));
    out.references.push_back(ref);
  }
  return out;
}

}  // namespace

Expected<CodeDecode> decode_function(const std::vector<uint8_t>& bytes, uint64_t faulting_offset, Arch arch,
                                     std::optional<uint64_t> base_address, AsmSyntax syntax) {
  if (faulting_offset >= bytes.size()) {
    return Error{fmt::format("could not decode: offset {:#x} is past the function's {:#x} bytes", faulting_offset,
                             bytes.size())};
  }
  Expected<Decoded> decodedOrErr = decode_linear(bytes, base_address.value_or(0), arch, syntax);
  if (!decodedOrErr) return decodedOrErr.error();
  CodeDecode out;
  out.arch = arch;
  out.bytes = bytes;
  out.faulting_offset = static_cast<uint32_t>(faulting_offset);
  out.base_address = base_address;
  out.instructions = std::move(decodedOrErr->instructions);
  for (size_t k = 0; k < out.instructions.size(); ++k) {
    if (out.instructions[k].offset == faulting_offset) {
      out.instructions[k].faulting = true;
      out.faulting_index = k;
      return out;
    }
  }
  return Error{fmt::format("could not decode: no instruction starts at offset {:#x} of the function", faulting_offset)};
}

std::optional<MemoryOperand> memory_operand_at(const std::vector<uint8_t>& bytes, uint64_t offset, uint64_t address,
                                               Arch arch) {
  if (offset >= bytes.size()) return std::nullopt;
  Expected<disasm::CapstoneHandle> h = disasm::open_capstone(arch, false, AsmSyntax::att);
  if (!h) return std::nullopt;
  InsnPtr insn(cs_malloc(h->get()));
  const uint8_t* code = bytes.data() + offset;
  size_t size = bytes.size() - offset;
  uint64_t at = address;
  if (!insn || !cs_disasm_iter(h->get(), &code, &size, &at, insn.get())) return std::nullopt;
  const disasm::Semantics sem = disasm::semantics_of(h->get(), *insn, arch);
  std::optional<MemoryOperand> m;
  if (!sem.memory.empty()) m = sem.memory.front().operand;
  else if (sem.address) m = sem.address;
  if (m && (m->base == "rip" || m->base == "eip")) {
    m->displacement = static_cast<int64_t>(sem.next_address + static_cast<uint64_t>(m->displacement));
    m->base.clear();
  }
  return m;
}

Expected<FunctionListing> disassemble_function(Symbolizer& symbolizer, const FrameSymbolization& frame,
                                               std::string label, Arch arch, const ListingOptions& options) {
  Expected<FunctionCode> codeOrErr = symbolizer.function_code(frame);
  if (!codeOrErr) return codeOrErr.error();
  const FunctionCode& code = *codeOrErr;

  FunctionListing l;
  l.frame = std::move(label);
  l.object = code.object;
  l.function = code.function;
  l.link_address = code.link_address;
  std::optional<uint64_t> runtime = code.runtime_address;
  if (!runtime && !code.relocatable && options.kaslr_offset) {
    runtime = code.link_address + static_cast<uint64_t>(*options.kaslr_offset);
  }
  l.runtime = runtime.has_value();
  l.address = runtime.value_or(code.link_address);
  l.size = code.bytes.size();
  l.return_address = frame.return_address;
  const uint64_t delta = l.address - l.link_address;  // runtime minus link (mod 2^64)

  Expected<Decoded> decodedOrErr = decode_linear(code.bytes, l.address, arch, options.syntax);
  if (!decodedOrErr) return decodedOrErr.error();
  Decoded& decoded = *decodedOrErr;

  const uint64_t at = frame.link_address ? *frame.link_address - code.link_address : frame.offset;
  for (size_t k = 0; k < decoded.instructions.size(); ++k) {
    ListingInstruction li;
    li.insn = std::move(decoded.instructions[k]);
    li.offset = li.insn.offset;
    const FrameSymbolization where = symbolizer.describe(code.object, code.link_address + li.offset);
    li.source = where.source;
    li.inlined = where.inlined;

    const std::optional<Reference>& ref = decoded.references[k];
    const uint64_t end = li.offset + li.insn.bytes.size();
    const CodeRelocation* reloc =
        code.relocatable ? relocation_in(options.relocations, li.offset, end,
                                         ref && ref->field ? std::optional<uint64_t>(li.offset + ref->field) : std::nullopt)
                         : nullptr;
    if (reloc && !reloc->symbol.empty()) {
      const int64_t trailing =
          reloc->pc_relative && is_x86(arch) ? static_cast<int64_t>(end - (reloc->offset + reloc->size)) : 0;
      li.target = name_with_offset(reloc->symbol, reloc->addend + trailing);
    } else if (ref) {
      if (code.relocatable && !options.relocations && ref->relative &&
          ref->value == li.insn.address + li.insn.bytes.size()) {
        li.target = "unrelocated";  // a zero field the module loader fills in
      } else if (ref->relative || (!code.relocatable && ref->value != 0)) {
        const uint64_t link = ref->relative ? ref->value - delta : ref->value;
        li.target_address = ref->relative || ref->per_cpu ? ref->value : ref->value + delta;
        if (link >= code.link_address && link - code.link_address < code.bytes.size()) {
          li.target = name_with_offset(code.function, static_cast<int64_t>(link - code.link_address));
        } else {
          const FrameSymbolization t = symbolizer.describe(code.object, link);
          // Assembler-local labels (.LC0) name nothing a reader knows; they
          // mark string literals (printk formats), so show the string.
          const bool local_label = t.function.rfind(".L", 0) == 0;
          const bool past_symbol = t.function.empty() || (t.size && t.offset >= *t.size);
          if (!ref->branch && (local_label || past_symbol)) li.target = string_literal(symbolizer.read_bytes(code.object, link, 128));
          if (li.target.empty() && !t.function.empty() && !local_label) {
            li.target = name_with_offset(t.function, static_cast<int64_t>(t.offset));
          }
        }
        if (li.target.empty()) li.target_address.reset();
      }
    }

    const bool marks = frame.return_address ? li.offset + li.insn.bytes.size() == at : li.offset == at;
    if (marks && !l.marked) {
      li.faulting = true;
      li.insn.faulting = true;
      l.marked = l.instructions.size();
    }
    l.instructions.push_back(std::move(li));
  }
  if (!l.marked) {
    l.warnings.push_back(fmt::format("{} {}+{:#x} is not at an instruction boundary of the stored code "
                                     "(a different build, or code patched at runtime)",
                                     frame.return_address ? "return address" : "ip", code.function, at));
  }
  if (code.relocatable && !options.relocations) {
    l.warnings.push_back("the module's relocations could not be read: its calls to other symbols are shown unrelocated");
  }
  return l;
}

}  // namespace ktriage

// Disassembly of crash-report code bytes and explanation of the faulting
// instruction, from the log alone (no vmlinux needed).
//
// Two steps, each usable alone:
//
//   1. decode_code(): the report's `Code:` bytes (CodeBytes, parsed by
//      logparse::parse_code_line) -> the instruction list, one of them marked
//      as the faulting instruction. On x86 the bytes before the marker may
//      start mid-instruction; the decoder tries every start offset before the
//      marker and keeps the most plausible decoding that lands exactly on it.
//
//   2. explain_fault(): the faulting instruction + the oops's registers and
//      fault address -> what the instruction accessed (read, write, stack
//      push/pop, execute), its memory operand as base + index*scale + disp,
//      the effective address, which register made it bad (NULL, near NULL,
//      user-space, non-canonical, poison), and a backward slice through the
//      preceding Code: bytes to the instruction that produced that register.
//
// Usage, given a parsed Report:
//
//   ktriage::Expected<ktriage::CodeDecode> codeOrErr = ktriage::decode_report_code(report);
//   if (!codeOrErr) { /* codeOrErr.error().message: "could not decode: ..." */ }
//   ktriage::Expected<ktriage::FaultExplanation> faultOrErr = ktriage::explain_report_fault(report);
//   if (faultOrErr) for (const std::string& s : faultOrErr->sentences) puts(s.c_str());
//
// Nothing here throws on hostile input: every failure is an Error value.
// Architectures: x86_64, i386, arm64, arm (ARM and Thumb). Fault explanation
// covers x86_64, i386, arm64 and arm.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/error.h"
#include "ktriage/report.h"
#include "ktriage/symbolize.h"

namespace ktriage {

enum class AsmSyntax { att, intel };

struct DecodeOptions {
  AsmSyntax syntax = AsmSyntax::att;  // x86 only; ARM has one syntax
  // Address of the marked (faulting) unit, i.e. RIP / PC. When set,
  // instruction addresses are absolute; otherwise they are offsets from the
  // first Code: byte (and branch targets are relative to that too).
  std::optional<uint64_t> ip;
  // arm: decode as Thumb. Also implied by CodeBytes::unit == 2.
  bool thumb = false;
};

// One decoded instruction.
struct Instruction {
  uint64_t address = 0;        // absolute when DecodeOptions::ip was known, else == offset
  uint32_t offset = 0;         // index of its first byte in CodeDecode::bytes
  std::vector<uint8_t> bytes;
  std::string mnemonic;        // "movl", "ldr"
  std::string operands;        // "0x18(%rax), %eax"
  std::string text;            // mnemonic + " " + operands
  std::optional<uint64_t> branch_target;  // direct jump/call target, same address space as `address`
  std::string target_symbol;               // its symbol ("kmalloc_trace"), when debug info named it
  bool faulting = false;
};

// A decoded `Code:` line. JSON (fixed names): `code` {bytes, faulting_offset,
// instructions: [{address, bytes, text}]}.
struct CodeDecode {
  Arch arch = Arch::unknown;
  bool thumb = false;
  std::vector<uint8_t> bytes;         // all Code: bytes, memory order
  uint32_t faulting_offset = 0;       // index in bytes of the faulting instruction
  uint32_t start = 0;                 // bytes before this could not be decoded in line
                                      // with the marker (x86 mid-instruction start)
  size_t faulting_index = 0;          // index in instructions
  std::optional<uint64_t> base_address;  // address of bytes[0], when the IP was known
  // Set when bytes[0] is this function's entry (code read from vmlinux or a
  // module rather than the log's Code: line); messages then count from it.
  std::string function;
  std::vector<Instruction> instructions;

  const Instruction& faulting() const { return instructions.at(faulting_index); }
};

// Decodes `code` for `arch`. Errors ("could not decode: ...") for
// undecodable Code: lines (decodable=false, no marker), unsupported
// architectures, and bytes where no decoding lands on the marker.
Expected<CodeDecode> decode_code(const CodeBytes& code, Arch arch, const DecodeOptions& options = {});

// How the faulting instruction touched memory.
enum class AccessKind {
  unknown,
  none,        // no memory operand (e.g. div, ud2, brk): the fault is not an access
  read,
  write,
  read_write,  // read-modify-write (add %eax, (%rbx); lock inc)
  execute,     // instruction fetch (error code bit 4, or PC == fault address)
  stack_push,  // push/call: implicit write below the stack pointer
  stack_pop,   // pop/ret: implicit read at the stack pointer
};
std::string_view to_string(AccessKind kind);

// The memory operand as base + index*scale + displacement. Register names are
// the dump's names (lower case, full width: "rax", "x19", "r3").
struct MemoryOperand {
  std::string segment;          // "gs", "fs", or ""
  std::string base;             // "" when absent; "rip" / "pc" when PC-relative
  std::string index;            // "" when absent
  int64_t scale = 1;            // negative on arm for subtracted index
  int64_t displacement = 0;
  bool post_indexed = false;    // arm/arm64 [xN], #imm: accessed at base alone
  uint32_t size = 0;            // bytes accessed, 0 when unknown

  std::string describe() const; // "rax + 0x18", "rax*8 - 0x7e4030a0", "x19"
};

// What a suspicious pointer value looks like.
enum class PointerClass {
  plausible,      // nothing wrong visible from the value alone
  null,           // exactly 0
  near_null,      // NULL plus a small offset (< 64 KiB): a field of a NULL struct
  user_space,     // a user-space address in kernel context
  non_canonical,  // x86-64: bits 63..47 not all equal
  poison,         // slab/list/page poison pattern
};
std::string_view to_string(PointerClass c);

struct PointerVerdict {
  PointerClass kind = PointerClass::plausible;
  std::string description;  // "NULL + 0x18", "LIST_POISON1 (0xdead000000000100)", ...
};

// Classifies `value` as a kernel data pointer on `arch`.
PointerVerdict classify_pointer(uint64_t value, Arch arch);

// The general-purpose registers of the fault's register dump (the first set
// holding them, the one the fault explanation reads), each value read as a
// pointer. Flags, segment and control registers are left out: their values
// are not addresses. JSON (fixed names): `registers[set].classes`
// {"rcx": {class, description}}.
struct ClassifiedRegister {
  std::string name;             // as printed: "rcx", "x19", "pc"
  PointerVerdict verdict;       // what the value looks like as a pointer ("NULL + 0x18")
};
struct RegisterClasses {
  size_t set = 0;               // index into Report::registers
  std::vector<ClassifiedRegister> registers;  // in the dump's order
};
// nullopt when the report has no register dump or its architecture is unknown.
std::optional<RegisterClasses> classify_fault_registers(const Report& report);

// How a step of the backward slice produced its register.
enum class StepKind {
  load,      // read from memory: `operand`
  move,      // copied from `source_register`
  address,   // computed an address without reading it (lea): `operand`
  constant,  // `constant`
  arith,     // `arith_lhs arith_op arith_rhs`
  call,      // a call's return value (`call_target`, or indirect)
  other,     // any other instruction that wrote it
};

// One step of the backward slice: the instruction that last wrote a register
// the faulting address depended on. JSON (fixed names): {instruction,
// address, source, expression, value}; step_expression() makes `expression`.
struct ChainStep {
  Instruction instruction;
  std::string site;                 // where the instruction is: "zoo_uaf+0x34", its address, or "Code:+0x12"
  std::string register_name;        // register this step wrote ("rax")
  StepKind kind = StepKind::other;
  std::optional<MemoryOperand> operand;   // load, address
  std::string source_register;            // move
  std::optional<uint64_t> constant;       // constant
  std::string arith_lhs, arith_op, arith_rhs;  // arith: "rax", "+", "0x8"
  std::optional<uint64_t> call_target;    // call: a direct call's target (instruction.target_symbol names it)
  std::optional<uint64_t> value;    // value the register held at the fault, when known
  // With DWARF: the step's source line, what it loaded (or took the address
  // of) in C, and the C variable its register holds when DWARF names one.
  std::optional<SourceLocation> source;
  std::optional<SourceExpression> source_expression;
  std::string variable;
};

// Why the backward slice stopped.
enum class StopReason {
  none,              // it did not run (no bad register), or has not stopped
  join,              // a branch jumps into the path: `site`, `register_name`
  undecodable,       // undecodable bytes at `site`
  jump,              // an unconditional jump or return `instruction` at `site`
  call_clobbers,     // the call at `site` may change `register_name`
  no_writer,         // the start of the bytes (`function`'s entry when known): `register_name` has no writer
  fixed_address_load,  // a load from a fixed address: `instruction`
  stack_reload,      // a reload from the stack frame: `instruction`
  constant,          // a constant: `instruction`
  call_return,       // the return value of a call: `instruction`
  no_register_input, // `instruction` reads no other register
  no_inputs,         // an instruction whose inputs are not registers
  depth_limit,       // the slice's depth limit, `depth` steps
};

struct ChainStop {
  StopReason reason = StopReason::none;
  std::string site;
  std::string instruction;    // its text
  std::string register_name;
  std::string function;       // no_writer: the function whose entry was reached ("" for Code: bytes)
  int depth = 0;              // depth_limit
  // With DWARF: the variable `register_name` holds where the slice stopped
  // (before the instruction that read it), when the trail cannot go on: at
  // a join, DWARF knows what the register holds on every path.
  std::string variable;       // "i"; "p - 0x10"
  std::string variable_type;  // "int"
  bool variable_entry_value = false;  // only if the register is unchanged since the function's entry
};

// Everything known about the faulting instruction: from the log alone, and
// with DWARF in source terms. Typed; fault_sentences() puts it in words.
// JSON (fixed names): `fault` {address, access, instruction: {address,
// bytes, text}, bad_register, effective_address, chain: [...], chain_stop,
// source_expression, source_location, sentences}.
struct FaultExplanation {
  std::optional<uint64_t> address;            // fault address: CR2 / FAR
  AccessKind access = AccessKind::unknown;
  Instruction instruction;
  std::string site;                           // where `instruction` is, as ChainStep::site
  bool trap = false;                          // a deliberate trap (BUG()/WARN()), not a memory access
  std::optional<MemoryOperand> memory;
  std::optional<uint64_t> effective_address;  // from the registers, when all were known
  std::optional<bool> address_matches;        // effective_address == address (page-granular for execute)
  std::string bad_register;                   // "" when none could be named
  std::optional<uint64_t> bad_value;
  PointerVerdict bad_verdict;                 // what the bad value looks like
  std::vector<ChainStep> chain;               // nearest step first
  ChainStop chain_stop;
  bool through_stack_pointer = false;         // the slice reached the stack pointer
  // The instruction is not in the log (no decodable Code: bytes): why, and
  // what the registers still say.
  std::string code_missing;                   // "" when it was decoded
  PointerVerdict address_verdict;             // what the fault address looks like
  std::vector<std::string> registers_holding; // an instruction fetch: the registers holding the address
  std::optional<uint64_t> nearest_distance;   // a data access: how far bad_value is from the address
  // With DWARF (vmlinux/modules given): the faulting access in source terms
  // and where it is ("zoo_table[i]->next", crashzoo.c:72).
  std::optional<SourceExpression> source_access;
  std::optional<SourceLocation> source_location;
};

// The words for a typed explanation, for every renderer and for the
// analyses' evidence; nothing parses them.
std::vector<std::string> fault_sentences(const FaultExplanation& e);
// "rax = *(u64 *)(rbx + 0x20)": what the step computed, in machine terms.
std::string step_machine_expression(const ChainStep& step);
// In source terms when DWARF gave them ("rax = s->ops", "rbx = &p->list"),
// else in machine terms.
std::string step_expression(const ChainStep& step);
// "a join at zoo_uaf+0x29: a branch jumps there, so rax may come from another path"; "" for none.
std::string chain_stop_text(const ChainStop& stop);
// The access in C when DWARF is sure of it (not inferred); "" otherwise.
std::string source_expression_text(const FaultExplanation& e);
// "crashzoo.c:72", "" without DWARF.
std::string source_location_text(const FaultExplanation& e);

// What the report says about the fault, beside the code.
struct FaultContext {
  const RegisterSet* registers = nullptr;     // the register dump at the fault, may be null
  std::optional<uint64_t> fault_address;      // CR2 / FAR / "paging request at"
  std::optional<PageFaultError> error_code;   // x86 page-fault error code
};

// Explains the faulting instruction of `decode`. Errors only when the decode
// is empty or the faulting instruction cannot be analysed at all.
Expected<FaultExplanation> explain_fault(const CodeDecode& decode, const FaultContext& context);

// Convenience over a parsed Report: picks the Code: bytes, the register set,
// the fault address (Report::fault_address, else CR2 / FAR) and the IP
// (Report::ip->address, else the rip/pc register).
Expected<CodeDecode> decode_report_code(const Report& report, const DecodeOptions& options = {});
Expected<FaultExplanation> explain_report_fault(const Report& report, const DecodeOptions& options = {});

// ---------------------------------------------------------------------------
// With debug info: whole-function listings from vmlinux / module .ko files,
// and the report's Code: bytes checked against them.
//
//   Symbolization s = symbolizer.symbolize(report);
//   Expected<FunctionListing> listingOrErr =
//       disassemble_function(symbolizer, s, *s.ip, "ip", report.arch);
//   for (const ListingInstruction& i : listingOrErr->instructions) ...
//
// Listings decode the stored bytes linearly from the function's first byte
// (compilers put no data in x86/arm64 function bodies) at the function's
// runtime address when the log printed one, else at its link address.

// One instruction of a listing. JSON (fixed names): {address, offset, bytes,
// text, source: {file, line, column}, inlined: [...], target, faulting}.
struct ListingInstruction {
  Instruction insn;                      // insn.address: see FunctionListing::runtime
  uint64_t offset = 0;                   // from the function's first byte
  std::optional<SourceLocation> source;  // innermost location; empty without DWARF
  std::vector<InlineFrame> inlined;      // innermost first, ending with the function
  // The symbolized branch target or address operand: "mutex_lock",
  // "__per_cpu_offset+0x8", "unrelocated" (a module's call to another
  // symbol whose relocation could not be read); "" when there is none.
  std::string target;
  std::optional<uint64_t> target_address;  // same address space as insn.address, when known
  bool faulting = false;                 // the ip, or the call a return address returns from
};

// A disassembled function. JSON (fixed names): `disassembly` [{frame, object,
// function, address, instructions: [...]}].
struct FunctionListing {
  std::string frame;                     // "ip" or the call-trace index ("3")
  std::string object;                    // "vmlinux" or the module name
  std::string function;
  uint64_t address = 0;                  // first byte, runtime when `runtime`, else link-time
  uint64_t link_address = 0;             // first byte in the object's own address space
  bool runtime = false;                  // addresses are the crashed kernel's
  uint64_t size = 0;
  std::vector<ListingInstruction> instructions;
  std::optional<size_t> marked;          // index of the faulting / call instruction
  bool return_address = false;           // the frame is a return address: `marked` is the call
  bool requested = false;                // asked for by name (--disasm): the text report shows it whole
  std::vector<std::string> warnings;     // "ip +0x13 is not at an instruction boundary", ...
};

// One relocation inside a module function's stored bytes (a .ko is
// relocatable: these fields read as 0 until the module loader patches them).
struct CodeRelocation {
  uint64_t offset = 0;        // of the patched field, from the function's first byte
  uint32_t size = 4;          // bytes patched
  bool pc_relative = false;   // value = S + A - P (calls, jumps, rip-relative)
  std::string symbol;         // named target ("mutex_lock", "zoo_table"), "" when only a section is known
  int64_t addend = 0;         // relative to `symbol`'s address (section symbols already resolved)
};

struct ListingOptions {
  AsmSyntax syntax = AsmSyntax::att;
  // A module's relocations, from read_function_relocations(); without them
  // calls out of a module function say "unrelocated".
  const std::vector<CodeRelocation>* relocations = nullptr;
  // vmlinux's KASLR offset, when known: gives runtime addresses to a
  // function whose frame printed none.
  std::optional<int64_t> kaslr_offset;
};

// Disassembles the function `frame` resolved in (the ip or a call-trace
// frame from the last symbolizer.symbolize() call) and marks its faulting
// instruction (the ip) or, for a return address, the call before it.
// Errors when there are no bytes (symbol map only, frame not resolved) or
// no disassembler for `arch`.
Expected<FunctionListing> disassemble_function(Symbolizer& symbolizer, const FrameSymbolization& frame,
                                               std::string label, Arch arch, const ListingOptions& options = {});

// Decodes a whole function's `bytes` linearly from its first byte and marks
// the instruction at `faulting_offset`, so explain_fault() can slice back
// further than a Code: window. `base_address`: the function's runtime address
// when known (instruction addresses and rip-relative operands use it).
// Errors when no instruction starts at `faulting_offset`.
Expected<CodeDecode> decode_function(const std::vector<uint8_t>& bytes, uint64_t faulting_offset, Arch arch,
                                     std::optional<uint64_t> base_address, AsmSyntax syntax = AsmSyntax::att);

// The memory operand of the instruction at `offset` of `bytes` decoded at
// `address` (the operand it reads or writes, else a lea's), with a
// PC-relative base folded into an absolute displacement, as
// Symbolizer::source_expression() wants it; nullopt when there is none.
std::optional<MemoryOperand> memory_operand_at(const std::vector<uint8_t>& bytes, uint64_t offset, uint64_t address,
                                               Arch arch);

// The relocations that fall inside `function` (its st_size bytes) of the
// relocatable ELF file at `path` (a module .ko), offsets relative to the
// function. Errors for a file libelf cannot read (compressed modules) or a
// function it does not hold.
Expected<std::vector<CodeRelocation>> read_function_relocations(const std::string& path, const std::string& function);

// The report's Code: bytes against the stored function bytes at the IP.
enum class CodeVerdict {
  match,
  // A few bytes differ at typical patch sites: ftrace's 5-byte call/NOP at
  // entry, static-key jmp/NOP, alternatives, return thunks.
  runtime_patched,
  different_build,
};
std::string_view to_string(CodeVerdict verdict);  // "match", "runtime_patched", "different_build"

// A runtime patch site the differences fall in.
struct PatchSite {
  uint64_t offset = 0;   // of its instruction, from the function's first byte
  std::string kind;      // "ftrace NOP/call at entry", "static-key jmp/NOP", ...
};

// JSON (fixed names): `code.vmlinux_match` {verdict, differing_offsets,
// compared, relocated, kaslr_offset, explanation}.
struct CodeComparison {
  CodeVerdict verdict = CodeVerdict::match;
  std::string object;                       // what was compared: "vmlinux" or the module name
  std::string function;
  std::vector<uint64_t> differing_offsets;  // function offsets of bytes that differ
  size_t differing_sites = 0;               // stored instructions those bytes fall in
  std::vector<PatchSite> patch_sites;       // runtime_patched: the sites, in order
  uint32_t compared = 0;                    // bytes compared (the overlap of both)
  uint32_t relocated = 0;                   // bytes skipped as relocation / KASLR fields
  // The KASLR offset the absolute address fields imply, when the caller did
  // not know it and they differ by one multiple of 2 MiB.
  std::optional<int64_t> kaslr_offset;
};

// The comparison in one sentence for the reports.
std::string code_comparison_text(const CodeComparison& c);

struct CompareOptions {
  // vmlinux: absolute address fields differ by this at runtime.
  std::optional<int64_t> kaslr_offset;
  // module: fields the loader patches, never compared.
  const std::vector<CodeRelocation>* relocations = nullptr;
};

// Compares `code` (a decoded Code: line) with `function` (stored bytes),
// aligned so that the Code: faulting byte sits at `ip_offset` into the
// function. Errors when the two do not overlap.
Expected<CodeComparison> compare_code(const CodeDecode& code, const FunctionCode& function, uint64_t ip_offset,
                                      const CompareOptions& options = {});

}  // namespace ktriage

// Symbolization: turning the `func+off/size [module]` and raw addresses of a
// parsed Report into source locations and inline chains, from a vmlinux
// (with or without DWARF), module .ko files, or a System.map/kallsyms file.
//
// Data flows one way: the Report is read, never modified; the result is a
// separate Symbolization whose `frames` run parallel to Report::frames.
//
//   ktriage::DebugInfoOptions opts;
//   opts.vmlinux = "/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64";
//   opts.module_dirs = {"/usr/lib/debug/lib/modules/6.1.0-56-cloud-amd64"};
//   auto symOrErr = ktriage::Symbolizer::open(opts);
//   if (!symOrErr) return symOrErr.error();
//   ktriage::Symbolization s = symOrErr->symbolize(report);
//   // s.frames[i].source->file == "mm/slub.c", s.kaslr_offset_hex() == "0x0"
//
// What is resolved where:
//  - `ip` (the faulting instruction) at its own address; call-trace frames
//    are return addresses and resolve at address - 1 (the call instruction),
//    except at offset 0 where there is no call before them.
//  - `func+off/size`: among ELF symbols with that name, the one whose size
//    fits the printed size (kallsyms sizes include padding up to the next
//    symbol, ELF st_size does not).
//  - module frames relative to the module's own symbol, in whatever section
//    it sits (.text, .text.unlikely, .init.text, .exit.text, .cold parts).
//  - bare addresses (fault address, register values, frames without a name)
//    through the KASLR offset computed from the log.
//
// Failures stay per frame (`symbolize_error`); only unusable options (a
// missing or non-ELF --vmlinux, a missing directory) fail open().
//
// A Symbolizer keeps files open and caches per-module state; it is not
// thread-safe. Every offset read from an ELF/DWARF file is treated as
// hostile: a damaged file gives an Error or a per-frame error, never a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/error.h"
#include "ktriage/report.h"

namespace ktriage {

struct DebugInfoOptions {
  // vmlinux ELF (DWARF optional), or a System.map / /proc/kallsyms file.
  std::string vmlinux;
  // Searched recursively for <name>.ko, .ko.debug, .ko.xz, .ko.zst
  // ('-' and '_' in names treated alike).
  std::vector<std::string> module_dirs;
  // A debug root (/, /usr/lib/debug, an unpacked -dbg package): vmlinux and
  // modules are looked up by the report's kernel release and by build-id.
  std::string debug_root;
  // When set, `source_context` is filled with lines around each location.
  std::string source_root;
  unsigned source_context_lines = 2;  // lines before and after
  // Extra path prefixes to strip from DWARF file names (tried first).
  std::vector<std::string> strip_prefixes;
  // Persisted per-build-id lookup index ("" = none): symbol candidates and
  // resolved addresses are kept in <cache_dir>/<build-id>.ktsym, so a repeat
  // run over the same crash needs neither the symbol table scan nor DWARF.
  // Files without a build-id are never cached.
  std::string cache_dir;
};

// A source position; `file` is kernel-relative ("mm/slub.c",
// "include/linux/list.h"); an out-of-tree module's own files are relative
// to the module's directory ("crashzoo.c").
struct SourceLocation {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;  // 0 when DWARF has none
};

// One entry of an inline chain (JSON: {function, file, line, column}).
struct InlineFrame {
  std::string function;  // DWARF name ("zoo_sum_ids", not "zoo_sum_ids.constprop.0")
  SourceLocation location;
};

struct SourceLine {
  uint32_t line = 0;
  std::string text;
};

// The result for one frame, the ip, or a bare address.
struct FrameSymbolization {
  // Innermost location: what `addr2line -i` prints first. Empty when only a
  // symbol-level result was possible (no DWARF) or on error.
  std::optional<SourceLocation> source;
  // The whole chain at the address, innermost first, ending with the
  // function that contains it (llvm-symbolizer order).
  std::vector<InlineFrame> inlined;
  // Why this frame could not be (fully) symbolized; "" on success.
  std::string symbolize_error;
  // Non-fatal remarks: "2 symbols named foo, none of size 0x80", ...
  std::vector<std::string> warnings;

  // How it was resolved (useful for rendering and for bare addresses).
  std::string object;               // "vmlinux" or the module name
  std::string function;             // ELF symbol it resolved in
  uint64_t offset = 0;              // offset into `function`
  std::optional<uint64_t> size;     // ELF st_size of `function`
  std::optional<uint64_t> address;  // runtime address, when known
  // The same location in the object's own (link-time) address space; for a
  // module, libdwfl's layout of its sections. Set whenever `function` resolved.
  std::optional<uint64_t> link_address;
  bool return_address = false;      // resolved at address - 1

  std::vector<SourceLine> source_context;  // with DebugInfoOptions::source_root

  bool ok() const { return symbolize_error.empty() && !function.empty(); }
};

// A register value or the fault address that points into kernel text.
struct AddressSymbolization {
  std::string what;  // "fault_address", "rip", "rax", ...
  uint64_t value = 0;
  FrameSymbolization result;
};

// Where a module section was loaded, as implied by a frame that printed
// both its raw address and func+off (the log itself has no load addresses).
struct ModuleSection {
  std::string module;   // "crashzoo"
  std::string section;  // ".text", ".text.unlikely"
  uint64_t address = 0; // runtime address of the section's first byte
};

// One debug file that was used, and whether it matches the log.
// Does a debug file fit the log? A file rated a likely or certain mismatch
// is not used: its symbols, lines and code would explain another kernel.
enum class DebugMatch { unknown, match, mismatch };
enum class MatchConfidence { none, weak, likely, certain };  // of a mismatch
std::string_view to_string(DebugMatch match);
std::string_view to_string(MatchConfidence confidence);

struct DebugInfoFile {
  std::string role;       // "vmlinux", "module", "system_map"
  std::string name;       // "vmlinux", "crashzoo"
  std::string path;
  std::string build_id;   // hex, "" when the file has none
  bool has_dwarf = false;
  DebugMatch match = DebugMatch::unknown;
  // certain: build-id, release or architecture differ, or the file is not
  // what its role needs; likely: most printed symbol sizes differ; weak: one.
  MatchConfidence confidence = MatchConfidence::none;
  std::vector<std::string> evidence;  // human-readable reasons, both ways
  // What the file is when it is not what its role needs: "not a kernel
  // image", "a module (give it with --modules)"; "" otherwise.
  std::string what;

  bool refused() const { return match == DebugMatch::mismatch && confidence >= MatchConfidence::likely; }
};

// "vmlinux /x/vmlinux does not match this log (certain: log says release
// 2.6.32-431.el6.x86_64, linux_banner says 6.1.0-56-cloud-amd64): not used";
// "" for a file that is not a mismatch.
std::string mismatch_text(const DebugInfoFile& file);

struct Symbolization {
  std::optional<FrameSymbolization> ip;  // when Report::ip is set
  std::vector<FrameSymbolization> frames;  // parallel to Report::frames
  std::vector<AddressSymbolization> addresses;  // fault address, registers
  // Module sections whose load address the frames imply; bare addresses
  // (unnamed frames, registers) inside them are resolved through these.
  std::vector<ModuleSection> module_sections;
  // Runtime minus link-time address of vmlinux, when the log tells it.
  std::optional<int64_t> kaslr_offset;
  std::string kaslr_source;   // "frames (3 agree)", "assumed 0", ...
  std::vector<DebugInfoFile> debuginfo;
  std::vector<std::string> warnings;  // report-level: inconsistent KASLR, ...

  // kaslr_offset as JSON wants it: "0x13200000"; "" when unknown.
  std::string kaslr_offset_hex() const;
};

// The machine code of one function, as stored in vmlinux or a module.
struct FunctionCode {
  std::string object;                       // "vmlinux" or the module name
  std::string function;
  uint64_t link_address = 0;                // first byte, object's own address space
  std::optional<uint64_t> runtime_address;  // first byte at runtime, when the log printed it
  std::vector<uint8_t> bytes;               // st_size bytes (the gap to the next symbol when 0)
  // A module's code is stored unrelocated: call/jump targets and absolute
  // operands that point outside the function read as 0 until relocated.
  bool relocatable = false;
};

// A memory operand at a code address, in source terms: what a kernel
// engineer would write for `mov 0x18(%rcx),%rcx` where DWARF says rcx holds
// `n` (struct zoo_node *): "n->next". Built from the variable locations and
// types in DWARF at that address (innermost inline scope first).
struct SourceExpression {
  std::string text;           // "n->next", "p->link.prev", "arr[i]", "tbl[i]->next"
  std::string variable;       // variable the base (or index) register held: "n"; "" if none
  std::string variable_type;  // its type as declared: "const struct zoo_node *"
  std::string type;           // type of what the operand accesses: "struct zoo_node *"
  std::string member;         // innermost member named: "next"; "" for none
  // True when no DWARF location puts `variable` in the register at this
  // address and it was chosen as the only variable in scope whose type has
  // a member at this offset (e.g. an inlined helper's parameter whose
  // location list has a gap there). Treat as likely, not certain.
  bool inferred = false;
  std::string note;           // why it is inferred, residual offsets, ...

  // Opaque: identify `type` for a later call's `base_is` (same object and
  // compile unit only).
  uint64_t unit_ref = 0;
  uint64_t type_ref = 0;
};

// The source variable a register holds at a code address.
struct SourceVariable {
  std::string text;      // "cpu"; "p - 0x10" when DWARF says the register is p - 0x10
  std::string name;      // "cpu"
  std::string type;      // "unsigned int"
  // True when DWARF only says the variable is the value this register had
  // at function entry (DW_OP_entry_value): it holds the variable only if
  // the register is unchanged since entry.
  bool entry_value = false;
  bool inferred = false;  // reserved; always false for now
  uint64_t unit_ref = 0;  // opaque, as in SourceExpression
  uint64_t type_ref = 0;
};

class Symbolizer {
 public:
  // Checks the options (files exist, vmlinux is ELF or a symbol map);
  // DWARF and modules are loaded lazily, on first use.
  static Expected<Symbolizer> open(const DebugInfoOptions& options);

  Symbolizer(Symbolizer&&) noexcept;
  Symbolizer& operator=(Symbolizer&&) noexcept;
  ~Symbolizer();

  // `printed_kernel_offset`: what the log's panic footer says ("Kernel
  // Offset: 0x13200000 from 0xffffffff81000000", "Kernel Offset: disabled"
  // = 0), when the caller has it. It is checked against the offset the
  // frames' raw addresses imply, if any.
  Symbolization symbolize(const Report& report,
                          std::optional<int64_t> printed_kernel_offset = std::nullopt);

  // The code of the function `frame` resolved in (a frame, ip or address
  // from the last symbolize() call). Errors when the object is only a symbol
  // map, the function's section holds no bytes, or the frame did not resolve.
  Expected<FunctionCode> function_code(const FrameSymbolization& frame);

  // Source location and inline chain of one code address of `object`
  // ("vmlinux" or a module name used by the last symbolize() call), given
  // in that object's own address space; for disassembly listings.
  FrameSymbolization describe(const std::string& object, uint64_t link_address);

  // Up to `max_size` bytes stored at `link_address` of `object` (as for
  // describe), cut at the end of their section; empty when nothing is
  // stored there (NOBITS, no section, a symbol map).
  std::vector<uint8_t> read_bytes(const std::string& object, uint64_t link_address, size_t max_size);

  // The source expression of the memory operand
  //   displacement(base_register, index_register, scale)
  // of the instruction at `link_pc` in `object` (as for describe()).
  // Register names as a dump prints them, any width ("rax", "eax", "r8d",
  // "x19", "w2"); "" for none. A PC-relative or absolute operand is given
  // with no base and its absolute (link-time) address as displacement.
  // `access_size` (bytes, 0 = unknown) picks between a struct and its first
  // member. `base_is`: what the base register holds when DWARF has no
  // variable for it but an earlier step does (the SourceExpression of the
  // load that wrote it, e.g. "t->stack" for a later 0x18(%rax) giving
  // "t->stack->cpu"). `index_is`: the same for the index register
  // ("__per_cpu_offset[p->thread_info.cpu]"). nullopt when the object has no DWARF, no variable
  // explains the operand, or anything in the file is damaged.
  //   auto e = sym.source_expression("crashzoo", 0x23b, "rcx", "", 1, 0x18);
  //   // e->text == "n->next", e->type == "struct zoo_node *"
  std::optional<SourceExpression> source_expression(const std::string& object, uint64_t link_pc,
                                                    std::string_view base_register,
                                                    std::string_view index_register,
                                                    int64_t scale, int64_t displacement,
                                                    uint32_t access_size = 0,
                                                    const SourceExpression* base_is = nullptr,
                                                    const SourceExpression* index_is = nullptr);

  // The variable `register_name` holds at `link_pc` (before that
  // instruction executes), innermost scope first.
  std::optional<SourceVariable> variable_in_register(const std::string& object, uint64_t link_pc,
                                                     std::string_view register_name);

 private:
  struct Impl;
  explicit Symbolizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Lower-level pieces, exposed for tests, benchmarks and the fuzzer.

// Strips build prefixes ("debian/build/build_amd64_none_cloud-amd64/",
// ".../linux-headers-6.1.0-56-common/", "./") from a DWARF path.
// `module_dir` is an out-of-tree module's source directory, stripped too.
std::string kernel_relative_path(std::string_view path,
                                 const std::vector<std::string>& extra_prefixes = {},
                                 std::string_view module_dir = {});

// Does a kallsyms-printed size fit an ELF symbol? `elf_size` is st_size,
// `gap` the distance to the next symbol in the same section (0 = unknown).
bool printed_size_matches(uint64_t printed, uint64_t elf_size, uint64_t gap);

// Opens one ELF file (vmlinux or a module) and resolves `symbol+offset`
// in it, as the Symbolizer does per frame. For tests and the fuzzer.
class DebugObject;
Expected<std::shared_ptr<DebugObject>> open_debug_object(const std::string& path,
                                                         const std::string& name);
FrameSymbolization resolve_symbol(DebugObject& object, const Symbol& symbol,
                                  bool return_address,
                                  const DebugInfoOptions& options = {});
FrameSymbolization resolve_address(DebugObject& object, uint64_t link_address,
                                   bool return_address,
                                   const DebugInfoOptions& options = {});

}  // namespace ktriage

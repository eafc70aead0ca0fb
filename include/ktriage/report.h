// The crash-report model: what the log parser produces and every later stage
// (symbolize, disasm, analysis, bucket, render) reads.
//
// A Report is one crash report found in console text: its kind, the
// syzkaller-convention title, and every structured field the kernel printed.
// Fields the kernel did not print stay empty (std::nullopt / "" / {}); the
// parser never invents values. Damaged input still yields a Report, with
// `corrupted` set and `anomalies` saying what was wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ktriage {

// Root-cause-neutral class of a report, by the kernel's reporting mechanism.
// Vocabulary from shared/corpus/README.md, extended; documented in docs/json.md.
enum class CrashKind {
  other,
  oops_paging,      // BUG: unable to handle kernel paging request
  null_deref,       // ... NULL pointer dereference
  gpf,              // general protection fault
  bug_at,           // kernel BUG at file:line!
  warning,          // WARNING: / Badness at
  soft_lockup,
  hard_lockup,
  hung_task,
  rcu_stall,
  scheduling_while_atomic,
  sleeping_in_atomic,
  panic,            // Kernel panic - not syncing (standalone)
  double_fault,
  stack_overflow,   // stack guard page, corrupted stack end, thread overran stack
  list_corruption,
  bad_page,
  kasan,
  kmsan,
  kcsan,
  kfence,
  ubsan,
  lockdep,
  memory_leak,
  divide_error,
  invalid_opcode,
  stack_protector,
  refcount,
};

std::string_view to_string(CrashKind kind);
std::optional<CrashKind> crash_kind_from_string(std::string_view name);

// Architecture the report came from, inferred from register names, frame
// formats and the kernel release string.
enum class Arch { unknown, x86_64, i386, arm64, arm, ppc64, ppc, s390, riscv64, mips };

std::string_view to_string(Arch arch);

// Where something sits in the input: bytes [begin, end) and lines
// [first_line, last_line], 1-based.
struct Span {
  uint64_t begin = 0;
  uint64_t end = 0;
  uint32_t first_line = 0;
  uint32_t last_line = 0;
};

// A place where the log was damaged or odd and the parser guessed.
struct Anomaly {
  uint32_t line = 0;      // input line, 1-based
  std::string message;    // e.g. "address has 15 hex digits"
};

// `func+0x4d/0xa8 [module]` as printed, plus the raw address when printed.
struct Symbol {
  std::optional<uint64_t> address;  // raw [<ffffffff81058e5d>]
  std::string function;             // as printed; the printed "0x..." text when the kernel had no symbol
  std::optional<uint64_t> offset;
  std::optional<uint64_t> size;
  std::string module;               // "" for the core kernel (vmlinux)
  std::string module_build_id;      // when printed after the module name
};

// A source line as the log printed it: "kernel BUG at mm/slub.c:419!", "WARNING: ... at fs/xfs/xfs_buf.c:1234": the
// source line an assertion printed; "func+0x1/0x2 fs/namei.c:12" in a symbolized trace.
struct SourceSite {
  std::string file;
  uint32_t line = 0;
};

// One call-trace entry.
struct Frame : Symbol {
  bool reliable = true;      // false when printed with '?'
  std::string context;       // stack it was on: "task", "IRQ", "NMI", "SOFTIRQ", "EXCEPTION", ...
  uint32_t line = 0;         // input line, 1-based
  // Symbolized traces (syzbot reports, scripts/decode_stacktrace.sh) print
  // where each frame is: "f+0x1/0x2 fs/namei.c:12", "f (fs/namei.c:12)".
  std::optional<SourceSite> printed_source;
  // "f fs/namei.c:12 [inline]": a function inlined into the frame below it,
  // which has no address, offset or stack slot of its own.
  bool printed_inline = false;
};

struct Register {
  std::string name;          // as printed, lower case: "rax", "cr2", "x0", "pc", "eflags"
  uint64_t value = 0;
};

// One register dump; a report can carry several (an <IRQ> part and the
// interrupted task, say).
struct RegisterSet {
  std::vector<Register> regs;
  uint32_t line = 0;

  std::optional<uint64_t> get(std::string_view name) const;
};

// `Code:` bytes. x86 marks the faulting byte as <xx>; arm64/arm mark the
// faulting instruction word as (xxxxxxxx). Bytes are in memory order.
struct CodeBytes {
  std::string text;                // as printed, after "Code: "
  std::vector<uint8_t> bytes;
  std::optional<uint32_t> faulting_offset;  // index into bytes of the marked unit
  uint8_t unit = 1;                // 1 = bytes (x86), 2 (thumb), 4 (arm/arm64 words)
  bool decodable = true;           // false for "Unable to access opcode bytes" etc.
  std::string problem;             // why not decodable: "no faulting-byte marker", ...
};

// x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h).
struct PageFaultError {
  uint32_t code = 0;
  bool present() const { return code & 1; }
  bool write() const { return code & 2; }
  bool user() const { return code & 4; }
  bool reserved_bit() const { return code & 8; }
  bool instruction_fetch() const { return code & 16; }
  bool protection_key() const { return code & 32; }
  bool shadow_stack() const { return code & 64; }
  bool sgx() const { return code & 0x8000; }
  // "supervisor read access in kernel mode, page not present"
  std::string describe() const;
};

// Taint as printed ("Tainted: G        W  OE") and decoded.
struct Taint {
  std::string flags;                 // as printed, e.g. "G        W  OE"; "" when not tainted/not printed
  std::vector<std::string> meanings; // one per set flag: "O: out-of-tree module loaded"
  uint32_t line = 0;                 // input line that printed the flags, 0 when none
};

// A module printed with taint flags in "Modules linked in:" ("crashzoo(OE)").
struct ModuleFlags {
  std::string name;
  std::string flags;                 // "OE", "P", "+"
};

// A line the kernel printed with (or just before) a report that the analyses
// need and the fields above do not hold, classified by the parser. `text` is
// the kernel's own words, console prefix stripped.
enum class NoteKind : uint8_t {
  list_check,       // CONFIG_DEBUG_LIST's verdict: "list_add corruption. next->prev should be ..."
  refcount_check,   // "refcount_t: underflow; use-after-free."
  usercopy_check,   // "usercopy: Kernel memory exposure attempt detected from SLUB object ..."
  hard_lockup,      // "Watchdog detected hard LOCKUP on cpu 3"
  lock,             // a lock lockdep lists: "#0: ffff... (&mm->mmap_lock){++++}-{3:3}, at: ..."
  locks_held,       // "2 locks held by kworker/0:1/31:"
  atomic_context,   // "in_atomic(): 1, irqs_disabled(): 0, ...", "preempt_count: 1, expected: 0"
  module_taint,     // "crashzoo: loading out-of-tree module taints kernel." earlier in the same boot
};
std::string_view to_string(NoteKind kind);

struct Note {
  NoteKind kind = NoteKind::lock;
  std::string text;
  uint32_t line = 0;                 // input line, 1-based
};

// Marks of the report's format that date a kernel that printed no release,
// or tell its architecture when nothing else does.
// Lines are 1-based input lines, 0 when absent.
struct FormatMarks {
  uint32_t last_sysfs_file = 0;      // a "last sysfs file:" line: 2.6-era kernels only
  uint32_t bracketed_ip = 0;         // "IP: [<address>] symbol": x86 before 4.x
  bool x86_64_text = false;          // 64-bit x86 text: [<ffffffff8...>] addresses or a "RIP: " line
  bool i386_text = false;            // an "EIP: " line
};

// A kernel crash report and everything printed in it.
struct Report {
  // Classification.
  CrashKind kind = CrashKind::other;
  std::string type;                // syzkaller crash type: "KASAN-READ", "HANG", "" when unknown
  std::string header;              // first line of the report, console prefix stripped

  // syzkaller conventions (see shared/corpus/README.md).
  std::string title;
  std::vector<std::string> alt_titles;
  std::string frame;               // guilty frame
  bool corrupted = false;
  std::string corrupted_reason;
  bool suppressed = false;
  bool panicked = false;

  // Machine and kernel.
  Arch arch = Arch::unknown;
  std::string kernel_release;      // "2.6.32-431.el6.x86_64"
  std::string kernel_version;      // "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2"
  // vmlinux's build-id, printed after the version on the "CPU: ... Comm:"
  // line by kernels with CONFIG_STACKTRACE_BUILD_ID (40 hex digits).
  std::string kernel_build_id;
  std::string hardware;            // "QEMU Standard PC (i440FX + PIIX, 1996), BIOS ..."
  Taint taint;

  // Context of the crashing task.
  std::optional<uint32_t> cpu;
  std::optional<uint32_t> pid;
  std::string comm;
  std::optional<uint64_t> preempt_count;  // as printed, e.g. 0xffff8811 in "scheduling while atomic"
  std::string oops_code;           // "0000 [#1] SMP" after "Oops:"
  std::optional<uint32_t> oops_number;  // [#N]

  // The fault.
  std::optional<uint64_t> fault_address;
  std::optional<PageFaultError> error_code;
  std::optional<Symbol> ip;
  std::vector<RegisterSet> registers;
  std::vector<Frame> frames;
  std::vector<std::string> modules;          // "Modules linked in:"
  uint32_t modules_line = 0;                 // the input line of "Modules linked in:", 0 when none
  std::vector<ModuleFlags> module_flags;     // those printed with taint flags
  std::optional<CodeBytes> code;
  std::optional<SourceSite> assertion;       // BUG()/WARN() source line

  // "Kernel Offset: 0x13200000 from 0xffffffff81000000" in the panic footer
  // (KASLR); 0 for "Kernel Offset: disabled". Printed once per boot, it
  // applies to every report of that boot.
  std::optional<int64_t> kernel_offset;

  // Where it was, and what was odd.
  // The input it came from, as the caller named it (a file path, "-" for
  // standard input); "" when the caller did not say. The parser leaves it alone.
  std::string source;
  // Which boot of its input the report belongs to, 0-based: a new boot starts
  // at a "Linux version" banner, a "Command line:" line, console timestamps
  // restarting near 0, or a report after a panic's "---[ end Kernel panic".
  // Reports of different boots are never the same incident.
  uint32_t boot = 0;
  Span span;
  std::optional<double> timestamp;            // seconds, of the header line
  std::vector<Note> notes;
  FormatMarks marks;
  std::vector<Anomaly> anomalies;
};

}  // namespace ktriage

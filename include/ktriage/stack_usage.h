// Stack usage along a call trace: how many bytes of the kernel stack each
// frame of a report's trace occupies, read from its function's machine code
// (vmlinux or module, via the Symbolizer), summed along the trace.
//
//   ktriage::Symbolization s = symbolizer.symbolize(report);
//   ktriage::StackUsage u = ktriage::estimate_stack_usage(report, s, symbolizer);
//   // u.total == 16232, u.measured == 73, u.unmeasured == 0;
//   // u.frames[0] == {index 0, "zoo_recurse", 0xe8, "prologue"}
//
// Method ("prologue"): the function's code is decoded from its first byte
// up to the call instruction that the frame's return address follows (for
// the faulting function: up to the faulting instruction), and every change
// of the stack pointer on the way is added up: x86 `push`/`pop`, `sub`/`add
// $N,%rsp` (also by a register loaded with `mov $N,%reg`), `and $-N,%rsp`
// (counted as the worst case, N-8 bytes), `lea -N(%rbp),%rsp`, `leave`;
// arm64 `stp x29, x30, [sp, #-N]!`, `str x, [sp, #-N]!`, `sub sp, sp, #N`,
// `add sp, sp, #N`, `ldp ..., [sp], #N`. Code after a return or a tail jump
// (another path through the function) restarts at the deepest depth seen so
// far, the depth of the function's body. On x86 the return address pushed
// by the call adds 8 bytes per frame; arm64 keeps it in the frame record.
//
// Only frames on the stack the report crashed on are summed (the stack of
// the first frame: the task stack, or an IRQ stack), and only reliable ones
// ('?' frames are stale words, not frames). Where the trace enters that
// stack from user space or through an interrupt/exception, the saved
// registers (struct pt_regs) are added once.
//
// Nothing here throws on hostile input; a frame whose code cannot be read
// or decoded is counted as unmeasured, with the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ktriage/error.h"
#include "ktriage/report.h"
#include "ktriage/symbolize.h"

namespace ktriage {

// One frame of the trace and the stack it occupies.
struct FrameStackUsage {
  // Index into Report::frames; nullopt for the faulting function (Report::ip).
  std::optional<size_t> index;
  std::string function;       // "xfs_bmapi_allocate"
  std::string module;         // "" for vmlinux
  uint64_t bytes = 0;         // its frame, return address included (0 when unmeasured)
  std::string method;         // "prologue", or "" when unmeasured
  std::string note;           // why unmeasured, or a caveat ("and $-64,%rsp: up to 56 bytes of alignment counted")
  bool measured() const { return !method.empty(); }
};

struct StackUsage {
  Arch arch = Arch::unknown;
  std::string stack;          // which stack was summed: "task", "IRQ", ...
  // Innermost first: the faulting function (when the report has an ip),
  // then the trace's frames on `stack` in order.
  std::vector<FrameStackUsage> frames;
  uint64_t total = 0;         // sum of measured frames + entry_frame
  uint64_t entry_frame = 0;   // struct pt_regs where the trace enters the stack, 0 when none
  std::string entry_reason;   // "entered from user space (RIP: 0033:...)", ...
  size_t measured = 0;
  size_t unmeasured = 0;
  size_t skipped = 0;         // unreliable ('?') frames and frames on other stacks
  // THREAD_SIZE the estimate is compared against; filled by the caller that
  // knows the kernel (lib/triage via thread_size_for()), nullopt when unknown.
  std::optional<uint64_t> thread_size;
  std::string thread_size_assumption;

  // The n biggest measured frames, biggest first (ties: innermost first).
  std::vector<FrameStackUsage> biggest(size_t n) const;
};

// The kernel's stack geometry as the analyses assume it (from the release,
// architecture, KASAN and distro backports; lib/analysis), for one log.
// JSON (fixed names): top-level `stack_limit`.
struct StackLimit {
  std::optional<uint64_t> thread_size;  // THREAD_SIZE in bytes, nullopt when not known
  std::string assumption;   // "16 KiB: x86_64 THREAD_SIZE is 8 KiB before 3.15 and 16 KiB since; this is 6.1.0-56-cloud-amd64"
  // thread_info sits at the bottom (lowest addresses) of the task stack, where
  // an overflow reaches it first: x86 before 4.9, arm64 before 4.10
  // (THREAD_INFO_IN_TASK). nullopt when the kernel is not known well enough.
  std::optional<bool> thread_info_on_stack;
  std::string thread_info_reason;  // "x86 keeps thread_info at the bottom of the kernel stack before 4.9 ..."
};

// Depth of the stack pointer below its value at function entry (the return
// address not included), just before the instruction at `offset` in `code`.
struct StackDepth {
  uint64_t bytes = 0;
  std::vector<std::string> notes;   // caveats, e.g. alignment counted as worst case
};

// Decodes `code` (a function's bytes, first byte at link address `address`)
// from its start and returns the stack depth before the instruction at
// `offset`. Errors: no decoder for `arch`, undecodable bytes before `offset`,
// `offset` not on an instruction boundary or past the end, or a stack-pointer
// change it cannot follow (e.g. `sub %rax,%rsp` with an unknown %rax).
Expected<StackDepth> stack_depth_at(Arch arch, std::span<const uint8_t> code, uint64_t address,
                                    uint64_t offset);

// Per-frame usage along `report`'s trace from the code `symbolizer` holds;
// `symbols` is what the same symbolizer's last symbolize(report) returned.
StackUsage estimate_stack_usage(const Report& report, const Symbolization& symbols,
                                Symbolizer& symbolizer);

}  // namespace ktriage

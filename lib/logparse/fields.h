// Structured fields of one report: IP, registers, call trace, modules,
// taint, release, Code: bytes, CPU/PID/comm, fault address, arch.
//
// Every format the kernel has printed since 2.6 is read: x86_64/i386
// (`RIP: 0010:[<...>]`, `IP: [<...>]`, `EIP is at`, modern `RIP: 0010:f+0x1/0x2`),
// arm64 (`pc : f+0x1/0x2`, `Call trace:`), arm (`PC is at`, `[<..>] (f) from [<..>] (g)`),
// ppc64 (`NIP [..] .f+0x1/0x2`, `[sp] [pc] .f+0x1/0x2 (unreliable)`), s390
// (`Krnl PSW : ... (f+0x1/0x2)`, `([<..>] f+0x1/0x2)`), with the stack
// contexts <IRQ>/<NMI>/<EOI>/<TASK>. Damaged text (a 15-digit address, a
// doubled `0x0x`) is read as far as it goes and recorded in report.anomalies;
// a frame is never dropped because part of it is unreadable.
#pragma once

#include <span>
#include <string_view>

#include "ktriage/report.h"
#include "logparse/lines.h"

namespace ktriage::logparse {

// Fills the structured fields of `report` from its lines (header first), as
// clean_line() left them: `bytes` must describe `text`.
// Leaves classification (kind, title, type, ...) alone; reads report.kind to
// decide whether an old `Oops: 0002` code is a page-fault error code.
void extract_fields(std::span<const LogLine> lines, Report& report);

// A report that did not print its kernel (a second report of the same boot,
// a lockdep splat cut short) takes the release and version the log printed
// elsewhere: the previous report's, or a "Linux version" line. Fills only
// what is empty and redoes the arch when it was unknown. For the parser to
// call after extract_fields().
void inherit_kernel(Report& report, std::string_view release, std::string_view version);

// The pieces, exposed for tests. Each returns false when `text` (one cleaned
// line) is not of its kind.

// `func+0x4d/0xa8 [mod buildid]`, `:mod:func+0x1/0x2`, `.func+0x1/0x2`, bare `0xaddr`.
bool parse_symbol(std::string_view text, Symbol& out, std::vector<Anomaly>* anomalies = nullptr,
                  uint32_t line = 0);

// Decodes taint letters: "G        W  OE" -> {"W: kernel issued warning", ...}.
std::vector<std::string> taint_meanings(std::string_view flags);

// Arch named by a kernel release's suffix (.x86_64, -amd64, .i686, .armv7hl, .ppc64, .s390x, ...).
Arch arch_from_release(std::string_view release);

}  // namespace ktriage::logparse

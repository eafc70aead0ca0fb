// Structured fields of one report: IP, registers, call trace, modules,
// taint, release, Code: bytes, CPU/PID/comm, fault address, arch.
#pragma once

#include <span>

#include "ktriage/report.h"
#include "logparse/lines.h"

namespace ktriage::logparse {

// Fills the structured fields of `report` from its lines (header first).
// Leaves classification (kind, title, type, ...) alone.
void extract_fields(std::span<const LogLine> lines, Report& report);

}  // namespace ktriage::logparse

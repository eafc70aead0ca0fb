// Picking what the fault explanation needs out of a Report.
#pragma once

#include <optional>

#include "ktriage/report.h"

namespace ktriage::disasm {

// The register dump that belongs with the Code: line: the first set holding
// general-purpose registers (later sets are usually user-space or other CPUs).
const RegisterSet* fault_registers(const Report& report);

// Report::arch, else inferred from register names.
Arch report_arch(const Report& report);

// Report::fault_address, else CR2 (x86) or FAR (arm64) from the dump.
std::optional<uint64_t> report_fault_address(const Report& report);

}  // namespace ktriage::disasm

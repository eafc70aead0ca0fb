// The debug-info stages of triage for one report, run after symbolize():
// the faulting function (and requested frames) listed, the Code: bytes
// checked against the stored code, and the fault explained again over the
// whole function, in source terms. Internal to lib/triage.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/disasm.h"
#include "ktriage/symbolize.h"
#include "ktriage/triage.h"

namespace ktriage::debuginfo {

// Relocations of module functions, read once per function.
class Relocations {
 public:
  const std::vector<CodeRelocation>* get(const Symbolization& s, const std::string& object,
                                         const std::string& function);

 private:
  std::map<std::pair<std::string, std::string>, std::optional<std::vector<CodeRelocation>>> cache_;
};

// Fills d.disassembly, d.disassembly_errors, d.code_match and, over the
// whole function, a better d.fault. Needs d.symbols from the same `sym`.
void disassemble(Symbolizer& sym, const Report& report, const TriageOptions& options,
                 Relocations& relocations, ReportDetails& d);

}  // namespace ktriage::debuginfo

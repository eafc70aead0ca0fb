// The table of analyses: each entry a named unit that reads the reports of
// one log and may emit findings (docs/findings.md).
#include "analysis/analyses.h"

namespace ktriage::analysis {

const std::vector<Analyzer>& analyzers() {
  static const std::vector<Analyzer> kAnalyses = {
      {"stack_overflow", stack_overflow},
      {"slab_misuse", slab_misuse},
      {"list_corruption", list_corruption},
      {"fault_address", fault_address},
      {"atomic_context", atomic_context},
      {"lockups", lockups},
      {"traps", traps},
      {"assertions", assertions},
      {"panic", panic_reason},
      {"mechanism", mechanism},
      {"linked_reports", linked_reports},
      {"tainted_modules", tainted_modules},
      {"crash_location", crash_location},
  };
  return kAnalyses;
}

}  // namespace ktriage::analysis

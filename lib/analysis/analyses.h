// Internal: the table of analyses. Each reads the Context and appends findings.
#pragma once

#include <string_view>
#include <vector>

#include "analysis/context.h"

namespace ktriage::analysis {

using AnalysisFn = void (*)(const Context&, std::vector<Finding>&);

struct Analyzer {
  std::string_view name;
  AnalysisFn run;
};

// The analyses (one file per group: fault_address.cc, stack_overflow.cc,
// memory.cc, scheduling.cc, assertions.cc, context_findings.cc).
void fault_address(const Context& c, std::vector<Finding>& out);
void stack_overflow(const Context& c, std::vector<Finding>& out);
void slab_misuse(const Context& c, std::vector<Finding>& out);
void list_corruption(const Context& c, std::vector<Finding>& out);
void atomic_context(const Context& c, std::vector<Finding>& out);
void lockups(const Context& c, std::vector<Finding>& out);
void traps(const Context& c, std::vector<Finding>& out);
void assertions(const Context& c, std::vector<Finding>& out);
void panic_reason(const Context& c, std::vector<Finding>& out);
void mechanism(const Context& c, std::vector<Finding>& out);
void linked_reports(const Context& c, std::vector<Finding>& out);
void tainted_modules(const Context& c, std::vector<Finding>& out);
void crash_location(const Context& c, std::vector<Finding>& out);

// Table order is the tie-break order when two findings are equally strong.
const std::vector<Analyzer>& analyzers();

}  // namespace ktriage::analysis

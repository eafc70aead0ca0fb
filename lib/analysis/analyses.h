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

// Table order is the tie-break order when two findings are equally strong.
const std::vector<Analyzer>& analyzers();

}  // namespace ktriage::analysis

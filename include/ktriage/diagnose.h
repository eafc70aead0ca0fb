// Diagnosis: turn parsed (and optionally symbolized) reports into ranked
// findings with evidence, the way a kernel engineer reads an oops.
//
//   std::vector<ktriage::Report> reports = ktriage::parse_log(text);
//   ktriage::DiagnoseOptions options;
//   options.kernel_version = "2.6.32-431.el6.x86_64";   // optional override
//   std::vector<ktriage::Finding> findings = ktriage::diagnose(reports, options);
//   // findings[0] is the headline; each finding cites its evidence.
//
// Each analysis is a small named unit (lib/analysis/analyses.cc, table
// kAnalyses) that reads the reports and may emit findings. Findings are
// ranked by confidence, with findings about the first incident in the log
// ahead of later ones at equal strength. Causes are documented in
// docs/findings.md. diagnose() never fails: missing fields only lower what it
// can say, and an empty input gives no findings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/report.h"

namespace ktriage {

struct DiagnoseOptions {
  // Kernel release to reason about (THREAD_SIZE, where thread_info lives),
  // e.g. "2.6.32-431.el6.x86_64". Overrides the release printed in the log.
  std::string kernel_version;
  // What the symbolizer and disassembler made of each report (parallel to
  // the reports), when the caller has it: analyses then use debug-info
  // results such as StackUsage. Optional; not owned.
  const std::vector<ReportDetails>* details = nullptr;
  // The reports' numbers in the caller's list (1-based), when `reports` is a
  // part of it: the evidence text names reports by these. Empty: 1, 2, ...
  std::vector<size_t> report_numbers;
};

std::vector<Finding> diagnose(const std::vector<Report>& reports,
                              const DiagnoseOptions& options = {});

// THREAD_SIZE of the kernel that printed reports[report] and where its
// thread_info lives, as the stack-overflow analysis assumes them (version,
// architecture, KASAN, distro backports), with the assumptions in words
// (StackLimit: stack_usage.h).
StackLimit stack_limit(const std::vector<Report>& reports, size_t report,
                       const DiagnoseOptions& options = {});

// Names of the analyses, in table order (for docs and `--explain`-style listings).
std::vector<std::string> analysis_names();

}  // namespace ktriage

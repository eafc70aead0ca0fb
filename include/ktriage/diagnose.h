// Diagnosis: turn parsed (and optionally symbolized) reports into ranked
// findings with evidence, the way a kernel engineer reads an oops.
//
//   std::vector<ktriage::Report> reports = ktriage::parse_log(text);
//   ktriage::DiagnoseOptions options;
//   options.kernel_version = "2.6.32-431.el6.x86_64";   // optional override
//   options.log_text = text;                              // optional, see below
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
  // The text the reports were parsed from, when the caller still has it.
  // Report spans index into it; analyses read lines the Report model does
  // not keep (e.g. `last sysfs file:`, `IP: [<...>]`, lock lists). Optional.
  std::string_view log_text;
  // What the symbolizer and disassembler made of each report (parallel to
  // the reports), when the caller has it: analyses then use debug-info
  // results such as StackUsage. Optional; not owned.
  const std::vector<ReportDetails>* details = nullptr;
};

std::vector<Finding> diagnose(const std::vector<Report>& reports,
                              const DiagnoseOptions& options = {});

// THREAD_SIZE of the kernel that printed reports[report], as the
// stack-overflow analysis assumes it (version, architecture, KASAN, distro
// backports), with the assumption in words. nullopt when not known.
struct StackLimit {
  std::optional<uint64_t> thread_size;
  std::string assumption;   // "16 KiB: x86_64 THREAD_SIZE is 8 KiB before 3.15 and 16 KiB since; this is 6.1.0-56-cloud-amd64"
};
StackLimit stack_limit(const std::vector<Report>& reports, size_t report,
                       const DiagnoseOptions& options = {});

// Names of the analyses, in table order (for docs and `--explain`-style listings).
std::vector<std::string> analysis_names();

}  // namespace ktriage

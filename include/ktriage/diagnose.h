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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/report.h"

namespace ktriage {

struct DiagnoseOptions;

// What a whole log says about the kernels that printed it (release,
// architecture, era, KASAN), read report by report. A log analysed in
// windows (ktriage::TriageStream) needs it: each window then reasons with the
// facts of the whole log, as when the log is analysed at once. It keeps a few
// reports' facts per distinct kernel and a few bytes per boot.
class LogFacts {
 public:
  LogFacts();
  ~LogFacts();
  LogFacts(LogFacts&&) noexcept;
  LogFacts& operator=(LogFacts&&) noexcept;

  void add(const Report& report);  // every report of the log, in order
  size_t reports() const;          // added so far
  // Whether each boot is reasoned about alone (the log runs several kernels
  // and `options` names none).
  bool by_boot(const DiagnoseOptions& options) const;
  size_t boot_rank(uint32_t boot) const;  // boots before it in the log

  struct Impl;  // lib/analysis/log_facts.cc
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

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
  // A window of a longer log: the facts of the whole log (read beforehand,
  // not owned) and the log's index of reports[0]. Report numbers are then
  // first_report + 1, ...; indices in the findings stay indices into `reports`.
  const LogFacts* log = nullptr;
  size_t first_report = 0;
};

std::vector<Finding> diagnose(const std::vector<Report>& reports,
                              const DiagnoseOptions& options = {});

// The same findings, unsorted, each with what orders it. diagnose() is
// diagnose_ranked() then rank_findings(); the findings of a log's windows
// (each diagnosed with DiagnoseOptions::log), concatenated in order and
// ranked, are in the order diagnose() gives for the whole log.
struct RankedFinding {
  Finding finding;
  double rank = 0;       // confidence, +0.05 for the log's first incident
  size_t group = 0;      // the boot's place in the log, when boots are reasoned about apart
  size_t analysis = 0;   // the analysis that found it, in table order
};
std::vector<RankedFinding> diagnose_ranked(const std::vector<Report>& reports, const DiagnoseOptions& options = {});
void rank_findings(std::vector<RankedFinding>& findings);  // best first; stable

// Where a log can be cut into windows diagnosed apart: the first index at or
// after `from` whose report starts an incident (no report before it is
// linked to it), reports[0] starting one; reports.size() when none is known
// yet. Incidents are at most 32 reports long, so one of any 33 reports after
// `from` is a cut.
size_t incident_start(const std::vector<Report>& reports, size_t from);

// THREAD_SIZE of the kernel that printed reports[report] and where its
// thread_info lives, as the stack-overflow analysis assumes them (version,
// architecture, KASAN, distro backports), with the assumptions in words
// (StackLimit: stack_usage.h).
StackLimit stack_limit(const std::vector<Report>& reports, size_t report,
                       const DiagnoseOptions& options = {});

// Names of the analyses, in table order (for docs and `--explain`-style listings).
std::vector<std::string> analysis_names();

}  // namespace ktriage

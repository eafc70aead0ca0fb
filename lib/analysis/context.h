// Internal to the analysis stage: what every analysis can read (the reports,
// how they group into incidents, what is known about the kernel), and small
// helpers for facts about addresses, preempt counts and kernel versions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/diagnose.h"
#include "ktriage/kernel_facts.h"
#include "ktriage/report.h"

namespace ktriage::analysis {

// What the log (or the user) tells us about the running kernel.
struct KernelFacts {
  Arch arch = Arch::unknown;
  std::string arch_reason;             // "" when the parser said so
  std::string release;                 // as given, "" when unknown
  bool era_pre_3 = false;              // inferred 2.6-era kernel (no release printed)
  bool era_pre_4 = false;              // inferred pre-4.x kernel
  bool era_modern = false;             // inferred 4.15+ x86 kernel (PTI era report format)
  std::vector<Evidence> era_evidence;  // why we believe the era
  bool kasan = false;                  // KASAN reports seen (doubles THREAD_SIZE)

  // The kernel as lib/kernel's tables take it: the release, or the era's
  // version bounds when there is none.
  RunningKernel running() const;
};

struct Context {
  const std::vector<Report>& reports;
  const DiagnoseOptions& options;
  KernelFacts kernel;
  std::vector<size_t> incident;        // per report: index of its incident (linked group)
  std::vector<std::string> link_reason;  // per report: why it joined the previous one ("" for the first)
  std::vector<bool> consequence;       // per report: a follow-on (panic after an oops, cascade)

  // Reports of the same incident as `r`, in order.
  std::vector<size_t> incident_of(size_t r) const;
  // How the text names report `r`: "report #N" (see DiagnoseOptions::report_numbers).
  size_t number(size_t r) const {
    return r < options.report_numbers.size() ? options.report_numbers[r] : options.first_report + r + 1;
  }
};

Context make_context(const std::vector<Report>& reports, const DiagnoseOptions& options);

// What KernelFacts reads of one report.
struct ReportFacts {
  size_t index = 0;            // the report's, as evidence cites it
  uint32_t first_line = 0;
  Arch arch = Arch::unknown;
  std::string release;
  bool kasan = false;
  bool x86_64_addresses = false;  // its ip and frames are mostly at 0xffffffff8...
  FormatMarks marks;
  bool old_fault_line = false;    // "unable to handle kernel paging request at" with a raw [<address>] ip
  bool modern_format = false;     // PTI in the Oops line, or the 4.15+ page-fault header
  static ReportFacts of(const Report& report, size_t index);
};

// The facts of reports of one kernel, in log order; `kernel_version`
// overrides the release they print.
KernelFacts kernel_facts(const std::vector<ReportFacts>& reports, std::string_view kernel_version);
// The facts of the whole log (options.log) for `reports`, a part of it
// (options.first_report, options.report_numbers say where).
KernelFacts log_facts_for(const LogFacts& log, const std::vector<Report>& reports, const DiagnoseOptions& options);

// --- Facts about values -------------------------------------------------

// A preempt count as printed in "scheduling while atomic: comm/pid/0x...".
struct PreemptCount {
  uint64_t value = 0;
  bool plausible = true;
  bool pointer_like = false;     // upper half of a kernel pointer (0xffff8811)
  bool underflow = false;        // 0xffffffff and friends
  std::string meaning;           // "preempt depth 2" / "looks like the top half of 0xffff8811xxxxxxxx (direct map)"
};
PreemptCount decode_preempt_count(uint64_t value);


// Formatting.
std::string hex(uint64_t v);
std::string frame_name(const Symbol& s);   // "xfs_buf_unlock+0x32/0x90 [xfs]"
bool contains(std::string_view haystack, std::string_view needle);
bool icontains(std::string_view haystack, std::string_view needle);

}  // namespace ktriage::analysis

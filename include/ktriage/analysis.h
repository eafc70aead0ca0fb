// Diagnoses: small named analyses read the parsed (and, when debug info was
// given, symbolized) reports and emit findings with evidence; known-bug
// matches come from the knowledge base (lib/kb). Renderers print these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ktriage/debuginfo.h"
#include "ktriage/disasm.h"
#include "ktriage/kb_match.h"
#include "ktriage/report.h"
#include "ktriage/stack_usage.h"
#include "ktriage/symbolize.h"

namespace ktriage {

// One checkable fact behind a finding.
struct Evidence {
  std::string what;                  // "log_line", "register", "frame", "instruction", "figure", "kernel"
  std::string text;                  // "preempt count 0xffff8811 is pointer-like (top half of a direct-map address)"
  std::optional<size_t> report;      // index into Analysis::reports
  std::optional<uint32_t> line;      // input line, 1-based
};

struct Finding {
  std::string id;                    // stable, e.g. "stack_overflow.thread_info"
  std::string cause;                 // root-cause class (docs/json.md): null_deref, stack_overflow, ...
  std::string title;                 // one line: "kernel stack overflow corrupted thread_info"
  double confidence = 0;             // 0..1
  std::string confidence_reason;
  std::vector<size_t> reports;       // indices into Analysis::reports
  std::vector<Evidence> evidence;
  std::string explanation;
  std::vector<std::string> actions;
};

// Findings best first, wherever they are kept: Analysis::findings, or a
// temporary file for a log analysed in windows (TriageStream).
class FindingSource {
 public:
  virtual ~FindingSource() = default;
  virtual size_t size() const = 0;
  virtual Finding at(size_t i) const = 0;
};

class FindingList final : public FindingSource {
 public:
  explicit FindingList(const std::vector<Finding>& findings) : findings_(findings) {}
  size_t size() const override { return findings_.size(); }
  Finding at(size_t i) const override { return findings_[i]; }

 private:
  const std::vector<Finding>& findings_;
};

// What the symbolizer and the disassembler made of one report.
struct ReportDetails {
  std::optional<Symbolization> symbols;    // with debug info (--vmlinux, --debug-root)
  std::optional<CodeDecode> code;          // the report's Code: bytes, decoded
  std::string code_error;                  // why they could not be, "" when there were none
  std::optional<FaultExplanation> fault;   // the faulting instruction explained
  // With debug info: the ip's function (and the frames asked for with
  // --disasm) disassembled from vmlinux / the module, and the Code: bytes
  // checked against the stored bytes at the IP.
  std::vector<FunctionListing> disassembly;
  std::vector<std::string> disassembly_errors;   // "frame 3: no bytes for ...", per listing that failed
  std::optional<CodeComparison> code_match;
  std::optional<StackUsage> stack_usage;   // per-frame stack usage along the trace (with debug info)
  // The fault's register dump, each general-purpose value read as a pointer.
  std::optional<RegisterClasses> register_classes;
};

// The whole result of one `analyze` run, as rendered.
struct Analysis {
  std::string source;                // input name ("-" for stdin); the first one given when there are several
  std::vector<std::string> sources;  // every file read, in order (Report::source names each report's)
  std::string kernel_version;        // the version used for KB verdicts (flag or log), "" when unknown
  std::vector<Report> reports;
  std::vector<ReportDetails> details;  // parallel to reports
  std::vector<Finding> findings;     // best first; findings[0] is the headline
  std::vector<KbMatch> kb_matches;   // best first (kb_match.h)
  KbSummary kb_summary;              // what the paragraph across the likely matches says
  // THREAD_SIZE and where thread_info sits, as the analyses assumed them for
  // this log's kernel (also without debug info; StackUsage compares against it).
  StackLimit stack_limit;
  // With --fetch-debuginfo: what was fetched, or why not (the analysis then
  // went on without it).
  std::optional<FetchReport> debuginfo_fetch;

  // The debug files rated a likely or certain mismatch and so not used, once
  // each (every report rates them against itself): for the top of a report
  // and for stderr.
  std::vector<DebugInfoFile> refused_debuginfo() const;
  // The debug files the reports were read with, each once.
  std::vector<DebugInfoFile> used_debuginfo() const;
};

}  // namespace ktriage

// Diagnoses: small named analyses read the parsed (and, when debug info was
// given, symbolized) reports and emit findings with evidence; known-bug
// matches come from the knowledge base (lib/kb). Renderers print these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ktriage/disasm.h"
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

// A known bug from the knowledge base that matches, and whether the running
// kernel already carries its fix.
struct KbMatch {
  std::string id;
  std::string title;
  std::string fixed_in;              // first upstream release with the fix, e.g. "3.15"
  std::string carried_by;            // distro kernel carrying it for this kernel's line, e.g. "2.6.32-520.el6"
  std::string verdict;               // "fixed", "not_fixed", "unknown"
  std::string verdict_text;          // "this kernel (2.6.32-431.el6) lacks the fix; upgrade to 2.6.32-520.el6 or later"
  std::string commit;                // upstream commit id
  std::string subject;               // upstream commit subject
  std::vector<std::string> references;
  std::string advice;
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
};

// The whole result of one `analyze` run, as rendered.
struct Analysis {
  std::string source;                // input name ("-" for stdin)
  std::string kernel_version;        // the version used for KB verdicts (flag or log), "" when unknown
  std::vector<Report> reports;
  std::vector<ReportDetails> details;  // parallel to reports
  std::vector<Finding> findings;     // best first; findings[0] is the headline
  std::vector<KbMatch> kb_matches;
  std::string kb_summary;            // one paragraph across kb_matches: "this kernel lacks both fixes ..."
};

}  // namespace ktriage

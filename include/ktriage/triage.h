// The whole pipeline after parsing, as one call: symbolize (when debug info
// is given), decode and explain the faulting instruction, diagnose, match
// known bugs. The CLI is a thin layer over parse_log/LogParser + triage().
//
//   ktriage::TriageOptions options;
//   options.debug.vmlinux = "vmlinux";            // optional
//   options.kernel_version = "2.6.32-431.el6";    // optional
//   Expected<Analysis> analysisOrErr = ktriage::triage(source, std::move(reports), options);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/diagnose.h"
#include "ktriage/disasm.h"
#include "ktriage/error.h"
#include "ktriage/kb.h"
#include "ktriage/report.h"
#include "ktriage/symbolize.h"

namespace ktriage {

struct TriageOptions {
  DebugInfoOptions debug;            // all empty: no symbolization
  AsmSyntax syntax = AsmSyntax::att;
  // With debug info the ip's function is always disassembled (the text
  // report shows the instructions around the faulting one); these are shown
  // whole: "ip", "all" (ip and every reliable call-trace frame), or a
  // call-trace index as the text report numbers frames ("3").
  std::vector<std::string> disasm;
  std::string kernel_version;        // overrides the log's release for diagnosis and KB verdicts
  bool shipped_kb = true;            // load data/kb
  std::vector<std::filesystem::path> kb_dirs;  // user knowledge bases, after the shipped one
};

bool has_debug_info(const DebugInfoOptions& options);

// Errors only for unusable options: a vmlinux that cannot be opened, a
// knowledge base that does not load. Everything about the reports themselves
// degrades per report or per frame instead.
Expected<Analysis> triage(std::string source, std::vector<Report> reports, const TriageOptions& options);

// triage() for a log too long to hold in memory: the reports go in one at a
// time, are analysed in windows of consecutive reports cut between
// incidents, and leave memory with their window. What links reports (an
// incident, the kernel a boot runs, the known bugs of the log) is the same
// as triage() finds for the whole log:
//
//   LogFacts facts;                   // a first pass over the reports
//   KbLogKernel kernel{.release = options.kernel_version, .flag = !options.kernel_version.empty()};
//   for (const Report& r : reports) { facts.add(r); kernel.see(r); }
//   auto streamOrErr = TriageStream::open(source, options, facts, kernel,
//       [&](const Analysis& window, size_t first) { /* render its reports */ });
//   for (Report& r : reports) streamOrErr->add(std::move(r));   // the second pass
//   Expected<TriageTotals> totals = streamOrErr->finish();
//
// Findings are kept in a temporary file; the caller's windows are theirs to
// render. Memory is that of one window (64 reports, and up to 32 more to
// end an incident), whatever the log.
class FindingSpool;

struct TriageTotals {
  // Everything triage() returns but reports, details and findings.
  Analysis summary;
  size_t reports = 0;
  std::unique_ptr<FindingSpool> findings;  // the whole log's, best first
  std::vector<DebugInfoFile> used_debuginfo;     // Analysis::used_debuginfo() of the whole log
  std::vector<DebugInfoFile> refused_debuginfo;  // and refused_debuginfo()
};

class TriageStream {
 public:
  // The window: `reports` in it and its analysis (details; its findings
  // best first, indices into the window); report 0 is the log's `first`.
  using Sink = std::function<void(const Analysis& window, size_t first)>;
  static constexpr size_t kWindow = 64;

  static Expected<TriageStream> open(std::string source, const TriageOptions& options, const LogFacts& facts,
                                     const KbLogKernel& kernel, Sink sink, size_t window = kWindow);
  TriageStream(TriageStream&&) noexcept;
  TriageStream& operator=(TriageStream&&) noexcept;
  ~TriageStream();

  void add(Report report);  // in log order, as the first pass saw them
  // The last window, then the whole log's findings and known bugs. An error
  // when the temporary file could not be written.
  Expected<TriageTotals> finish();

 private:
  struct State;
  explicit TriageStream(std::unique_ptr<State> state);
  void flush(size_t count);
  std::unique_ptr<State> state_;
};

// The findings of a log analysed in windows, in a temporary file; an index
// of (rank, place) per finding in memory.
class FindingSpool final : public FindingSource {
 public:
  static Expected<std::unique_ptr<FindingSpool>> create();
  ~FindingSpool() override;

  void add(const RankedFinding& finding);  // report indices the log's
  void rank();                             // rank_findings()'s order; before at()
  size_t size() const override;
  Finding at(size_t i) const override;
  const std::string& error() const;

 private:
  FindingSpool();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ktriage

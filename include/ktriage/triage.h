// The whole pipeline after parsing, as one call: symbolize (when debug info
// is given), decode and explain the faulting instruction, diagnose, match
// known bugs. The CLI is a thin layer over parse_log/LogParser + triage().
//
//   ktriage::TriageOptions options;
//   options.debug.vmlinux = "vmlinux";            // optional
//   options.kernel_version = "2.6.32-431.el6";    // optional
//   Expected<Analysis> analysisOrErr = ktriage::triage(source, std::move(reports), options);
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/disasm.h"
#include "ktriage/error.h"
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

}  // namespace ktriage

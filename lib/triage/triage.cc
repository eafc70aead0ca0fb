#include "ktriage/triage.h"

#include <algorithm>
#include <map>
#include <utility>

#include "ktriage/diagnose.h"
#include "ktriage/kb.h"
#include "ktriage/stack_usage.h"
#include "triage/debuginfo.h"
#include "triage/stages.h"

namespace ktriage {
namespace {

ReportDetails decode_and_explain(const Report& report, const TriageOptions& options) {
  ReportDetails d;
  DecodeOptions decode;
  decode.syntax = options.syntax;
  if (report.code) {
    Expected<CodeDecode> codeOrErr = decode_report_code(report, decode);
    if (codeOrErr) d.code = std::move(*codeOrErr);
    else d.code_error = codeOrErr.error().message;
  }
  // Explained even without decodable bytes: an instruction fetch at a bad
  // address, or a register holding the fault address, still says something.
  // An Error here means "nothing to explain" (not a memory fault), not a failure.
  Expected<FaultExplanation> faultOrErr = explain_report_fault(report, decode);
  if (faultOrErr) d.fault = std::move(*faultOrErr);
  d.register_classes = classify_fault_registers(report);
  return d;
}

}  // namespace

bool has_debug_info(const DebugInfoOptions& o) {
  return !o.vmlinux.empty() || !o.debug_root.empty() || !o.module_dirs.empty();
}

namespace triage_stage {

void analyse_reports(Analysis& analysis, const TriageOptions& options, Symbolizer* sym,
                     debuginfo::Relocations& relocations) {
  analysis.details.reserve(analysis.reports.size());
  for (const Report& r : analysis.reports) analysis.details.push_back(decode_and_explain(r, options));
  if (sym) {
    for (size_t i = 0; i < analysis.reports.size(); ++i) {
      analysis.details[i].symbols = sym->symbolize(analysis.reports[i], analysis.reports[i].kernel_offset);
      // Right after symbolize(): the frames' code comes from that call's files.
      analysis.details[i].stack_usage = estimate_stack_usage(analysis.reports[i], *analysis.details[i].symbols, *sym);
      debuginfo::disassemble(*sym, analysis.reports[i], options, relocations, analysis.details[i]);
    }
  } else if (!options.disasm.empty()) {
    // Asked for listings it cannot make: say so rather than print none.
    for (ReportDetails& d : analysis.details)
      d.disassembly_errors.push_back("no debug info given (--vmlinux, --modules or --debug-root): nothing to disassemble");
  }
}

void BootLimits::apply(Analysis& analysis, const DiagnoseOptions& options) {
  for (size_t i = 0; i < analysis.details.size(); ++i) {
    ReportDetails& d = analysis.details[i];
    if (!d.stack_usage) continue;
    const StackLimit& limit = of(analysis.reports, i, options);
    d.stack_usage->thread_size = limit.thread_size;
    d.stack_usage->thread_size_assumption = limit.assumption;
  }
}

const StackLimit& BootLimits::of(const std::vector<Report>& reports, size_t i, const DiagnoseOptions& options) {
  // Boots are runs of reports: the last one's is what the next asks for.
  auto [at, fresh] = limits_.try_emplace(reports[i].boot);
  if (fresh) at->second = stack_limit(reports, i, options);
  if (limits_.size() > kKept) {
    const uint32_t keep = reports[i].boot;
    std::erase_if(limits_, [&](const auto& e) { return e.first != keep && e.first != first_boot_; });
  }
  return at->second;
}

}  // namespace triage_stage

Expected<Analysis> triage(std::string source, std::vector<Report> reports, const TriageOptions& options) {
  Analysis analysis;
  analysis.source = std::move(source);
  analysis.reports = std::move(reports);
  std::optional<Symbolizer> sym;
  if (has_debug_info(options.debug)) {
    Expected<Symbolizer> symOrErr = Symbolizer::open(options.debug);
    if (!symOrErr) return symOrErr.error();
    sym = std::move(*symOrErr);
  }
  debuginfo::Relocations relocations;
  triage_stage::analyse_reports(analysis, options, sym ? &*sym : nullptr, relocations);

  DiagnoseOptions diagnose_options;
  diagnose_options.kernel_version = options.kernel_version;
  diagnose_options.details = &analysis.details;
  // Each boot's own kernel (a log can hold several); the first report's
  // boot's is the log's.
  triage_stage::BootLimits limits(analysis.reports.empty() ? 0 : analysis.reports[0].boot);
  if (!analysis.reports.empty()) analysis.stack_limit = limits.of(analysis.reports, 0, diagnose_options);
  limits.apply(analysis, diagnose_options);
  analysis.findings = diagnose(analysis.reports, diagnose_options);

  Expected<std::optional<KnowledgeBase>> kbOrErr = triage_stage::load_kb(options);
  if (!kbOrErr) return kbOrErr.error();
  if (*kbOrErr) {
    KbVerdicts verdicts = (*kbOrErr)->match(analysis, options.kernel_version);
    analysis.kb_matches = std::move(verdicts.matches);
    analysis.kb_summary = std::move(verdicts.summary);
    analysis.kernel_version = verdicts.kernel.display();
  }
  return analysis;
}

namespace triage_stage {

Expected<std::optional<KnowledgeBase>> load_kb(const TriageOptions& options) {
  std::vector<std::filesystem::path> kb_dirs;
  if (options.shipped_kb) kb_dirs.push_back(default_kb_dir());
  kb_dirs.insert(kb_dirs.end(), options.kb_dirs.begin(), options.kb_dirs.end());
  if (kb_dirs.empty()) return std::optional<KnowledgeBase>();
  Expected<KnowledgeBase> kbOrErr = KnowledgeBase::load(kb_dirs);
  if (!kbOrErr) return kbOrErr.error();
  return std::optional<KnowledgeBase>(std::move(*kbOrErr));
}

}  // namespace triage_stage

namespace {

// Each file once, over all reports, that `keep` accepts.
template <typename Keep>
std::vector<DebugInfoFile> debuginfo_files(const std::vector<ReportDetails>& details, Keep keep) {
  std::vector<DebugInfoFile> out;
  for (const ReportDetails& d : details) {
    if (!d.symbols) continue;
    for (const DebugInfoFile& f : d.symbols->debuginfo) {
      if (!keep(f)) continue;
      if (std::none_of(out.begin(), out.end(), [&](const DebugInfoFile& o) { return o.path == f.path; }))
        out.push_back(f);
    }
  }
  return out;
}

}  // namespace

std::vector<DebugInfoFile> Analysis::refused_debuginfo() const {
  return debuginfo_files(details, [](const DebugInfoFile& f) { return f.refused(); });
}

std::vector<DebugInfoFile> Analysis::used_debuginfo() const {
  // A file refused for one report is not "used" because another report had
  // nothing to check it against.
  const std::vector<DebugInfoFile> refused = refused_debuginfo();
  return debuginfo_files(details, [&](const DebugInfoFile& f) {
    return !f.refused() &&
           std::none_of(refused.begin(), refused.end(), [&](const DebugInfoFile& r) { return r.path == f.path; });
  });
}

}  // namespace ktriage

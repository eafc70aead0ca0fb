// The steps triage() and TriageStream share. Internal to lib/triage.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "ktriage/analysis.h"
#include "ktriage/diagnose.h"
#include "ktriage/kb.h"
#include "ktriage/symbolize.h"
#include "ktriage/triage.h"
#include "triage/debuginfo.h"

namespace ktriage::triage_stage {

// Decodes, explains and (with `sym`) symbolizes and disassembles every
// report: fills analysis.details.
void analyse_reports(Analysis& analysis, const TriageOptions& options, Symbolizer* sym,
                     debuginfo::Relocations& relocations);

// THREAD_SIZE per boot: each boot's own kernel. Keeps the log's first boot's
// and a few recent ones (boots are runs of reports).
class BootLimits {
 public:
  explicit BootLimits(uint32_t first_boot) : first_boot_(first_boot) {}
  const StackLimit& of(const std::vector<Report>& reports, size_t i, const DiagnoseOptions& options);
  // Sets each StackUsage's thread_size from its report's boot.
  void apply(Analysis& analysis, const DiagnoseOptions& options);

 private:
  static constexpr size_t kKept = 64;
  uint32_t first_boot_;
  std::map<uint32_t, StackLimit> limits_;
};

// The shipped knowledge base and the user's, as the options say; none when
// neither is wanted.
Expected<std::optional<KnowledgeBase>> load_kb(const TriageOptions& options);

}  // namespace ktriage::triage_stage

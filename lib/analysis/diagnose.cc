// diagnose(): run the table of analyses, link findings to their incident, rank.
#include "ktriage/diagnose.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/analyses.h"
#include "analysis/context.h"
#include "analysis/helpers.h"

namespace ktriage {

std::vector<std::string> analysis_names() {
  std::vector<std::string> names;
  for (const analysis::Analyzer& a : analysis::analyzers()) names.emplace_back(a.name);
  return names;
}

StackLimit stack_limit(const std::vector<Report>& reports, size_t report, const DiagnoseOptions& options) {
  if (report >= reports.size()) return {};
  // The kernel facts are the log's (all its reports print one kernel).
  StackGeometry sf = stack_geometry(analysis::make_context(reports, options).kernel.running());
  StackLimit out;
  if (sf.thread_size) out.thread_size = *sf.thread_size;
  out.assumption = sf.assumption;
  out.thread_info_on_stack = sf.thread_info_on_stack;
  out.thread_info_reason = sf.thread_info_reason;
  return out;
}

std::vector<Finding> diagnose(const std::vector<Report>& reports, const DiagnoseOptions& options) {
  if (reports.empty()) return {};
  analysis::Context context = analysis::make_context(reports, options);

  struct Ranked {
    Finding finding;
    double rank;
    size_t order;
  };
  std::vector<Ranked> ranked;
  for (const analysis::Analyzer& a : analysis::analyzers()) {
    std::vector<Finding> found;
    a.run(context, found);
    for (Finding& f : found) {
      // A cause finding speaks for its whole incident: say which reports it
      // explains and why they belong together.
      if (f.cause != "other" && !f.reports.empty()) {
        std::vector<size_t> members = context.incident_of(f.reports.front());
        std::vector<std::string> panics;
        std::optional<size_t> first_panic;
        const size_t own = f.reports.front();
        for (size_t m : members) {
          if (std::find(f.reports.begin(), f.reports.end(), m) == f.reports.end()) f.reports.push_back(m);
          if (context.link_reason[m].empty() || members.size() < 2) continue;
          if (context.consequence[m] && reports[m].kind == CrashKind::panic) {
            // The panic is the failure's it follows (the last report before
            // it that is no consequence itself), not every report's of the
            // incident: a WARNING before an oops did not panic the kernel.
            size_t cause = m;
            while (cause > members.front() && (cause == m || context.consequence[cause])) --cause;
            if (cause != own) continue;
            panics.push_back(fmt::format("#{}", m + 1));
            if (!first_panic) first_panic = m;
            continue;
          }
          f.evidence.push_back({"log_line",
                                fmt::format("linked: report #{} and report #{} are one incident ({})", m, m + 1, context.link_reason[m]),
                                m, reports[m].span.first_line ? std::optional<uint32_t>(reports[m].span.first_line) : std::nullopt});
        }
        if (!panics.empty())
          f.evidence.push_back(analysis::line_at(
              *first_panic, reports[*first_panic].span.first_line,
              fmt::format("then the kernel panicked (report {}: \"{}\"), only because of this failure",
                          fmt::join(panics, ", "), reports[*first_panic].header)));
        std::sort(f.reports.begin(), f.reports.end());
      }
      // Findings about the first incident lead: later reports are often its aftermath.
      double rank = f.confidence;
      if (!f.reports.empty() && context.incident[f.reports.front()] == 0) rank += 0.05;
      ranked.push_back({std::move(f), rank, ranked.size()});
    }
  }
  // The mechanism fallback only speaks for incidents nothing else explained.
  std::vector<bool> explained(reports.size(), false);
  for (const Ranked& r : ranked)
    if (r.finding.cause != "other" && !r.finding.id.starts_with("mechanism.") && !r.finding.reports.empty())
      explained[context.incident[r.finding.reports.front()]] = true;
  std::erase_if(ranked, [&](const Ranked& r) {
    return r.finding.id.starts_with("mechanism.") && !r.finding.reports.empty() &&
           explained[context.incident[r.finding.reports.front()]];
  });
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.rank > b.rank; });
  std::vector<Finding> out;
  out.reserve(ranked.size());
  for (Ranked& r : ranked) out.push_back(std::move(r.finding));
  return out;
}

}  // namespace ktriage

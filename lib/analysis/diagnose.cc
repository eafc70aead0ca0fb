// diagnose(): run the table of analyses, link findings to their incident, rank.
#include "ktriage/diagnose.h"

#include <algorithm>
#include <iterator>

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

namespace {

// The reports of each boot (Report::boot), in order, when they run different
// kernels and the caller named none; one group of all reports otherwise.
// With the whole log's facts (options.log) its releases decide, not these
// reports' alone.
std::vector<std::vector<size_t>> kernel_groups(const std::vector<Report>& reports, const DiagnoseOptions& options) {
  std::vector<std::vector<size_t>> groups;
  std::vector<uint32_t> boots;
  std::string release;
  bool several = false;
  for (size_t i = 0; i < reports.size(); ++i) {
    const Report& r = reports[i];
    if (!r.kernel_release.empty()) {
      if (release.empty()) release = r.kernel_release;
      else if (r.kernel_release != release) several = true;
    }
    auto at = std::find(boots.begin(), boots.end(), r.boot);
    if (at == boots.end()) {
      boots.push_back(r.boot);
      groups.emplace_back();
      at = boots.end() - 1;
    }
    groups[static_cast<size_t>(at - boots.begin())].push_back(i);
  }
  const bool by_boot = options.log ? options.log->by_boot(options) : several && options.kernel_version.empty();
  if (by_boot && groups.size() > 1) return groups;
  std::vector<size_t> all(reports.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return {all};
}

// The findings about reports that ran one kernel, ranked.
std::vector<RankedFinding> diagnose_one_kernel(const std::vector<Report>& reports, const DiagnoseOptions& options);

}  // namespace

StackLimit stack_limit(const std::vector<Report>& reports, size_t report, const DiagnoseOptions& options) {
  if (report >= reports.size()) return {};
  // The kernel facts are those of the report's boot (one kernel per boot).
  std::vector<std::vector<size_t>> groups = kernel_groups(reports, options);
  std::vector<Report> same;
  if (groups.size() > 1) {
    for (const std::vector<size_t>& group : groups)
      if (std::find(group.begin(), group.end(), report) != group.end())
        for (size_t i : group) same.push_back(reports[i]);
  }
  // The whole log's facts are those of the report's boot, whichever reports are here.
  if (options.log) same.assign(1, reports[report]);
  const std::vector<Report>& own = groups.size() > 1 || options.log ? same : reports;
  StackGeometry sf = stack_geometry(analysis::make_context(own, options).kernel.running());
  StackLimit out;
  if (sf.thread_size) out.thread_size = *sf.thread_size;
  out.assumption = sf.assumption;
  out.thread_info_on_stack = sf.thread_info_on_stack;
  out.thread_info_reason = sf.thread_info_reason;
  return out;
}

std::vector<RankedFinding> diagnose_ranked(const std::vector<Report>& reports, const DiagnoseOptions& options) {
  if (reports.empty()) return {};
  // A log of several boots running different kernels: each boot's reports
  // are reasoned about with its own kernel's facts (THREAD_SIZE, where
  // preempt_count lives), never another boot's.
  std::vector<std::vector<size_t>> groups = kernel_groups(reports, options);
  std::vector<RankedFinding> ranked;
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::vector<size_t>& idx = groups[g];
    // Groups in the order of the log's boots, also in a window of it.
    const size_t group =
        options.log && options.log->by_boot(options) ? options.log->boot_rank(reports[idx.front()].boot) : g;
    std::vector<RankedFinding> found;
    if (groups.size() == 1) {
      found = diagnose_one_kernel(reports, options);
    } else {
      std::vector<Report> part;
      std::vector<ReportDetails> details;
      DiagnoseOptions o = options;
      o.report_numbers.clear();
      for (size_t i : idx) {
        part.push_back(reports[i]);
        if (options.details && i < options.details->size()) details.push_back((*options.details)[i]);
        o.report_numbers.push_back(i < options.report_numbers.size() ? options.report_numbers[i]
                                                                     : options.first_report + i + 1);
      }
      o.details = options.details && details.size() == part.size() ? &details : nullptr;
      found = diagnose_one_kernel(part, o);
      for (RankedFinding& r : found) {
        for (size_t& k : r.finding.reports) k = idx[k];
        // A report outside the part (the whole log's facts cite one in
        // another window) is an offset from its first report (log_facts_for).
        for (Evidence& e : r.finding.evidence)
          if (e.report) e.report = *e.report < idx.size() ? idx[*e.report] : *e.report + idx.front();
      }
    }
    for (RankedFinding& r : found) r.group = group;
    std::move(found.begin(), found.end(), std::back_inserter(ranked));
  }
  return ranked;
}

void rank_findings(std::vector<RankedFinding>& findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const RankedFinding& a, const RankedFinding& b) {
    if (a.rank != b.rank) return a.rank > b.rank;
    if (a.group != b.group) return a.group < b.group;
    return a.analysis < b.analysis;
  });
}

std::vector<Finding> diagnose(const std::vector<Report>& reports, const DiagnoseOptions& options) {
  std::vector<RankedFinding> ranked = diagnose_ranked(reports, options);
  rank_findings(ranked);
  std::vector<Finding> out;
  out.reserve(ranked.size());
  for (RankedFinding& r : ranked) out.push_back(std::move(r.finding));
  return out;
}

namespace {

std::vector<RankedFinding> diagnose_one_kernel(const std::vector<Report>& reports, const DiagnoseOptions& options) {
  analysis::Context context = analysis::make_context(reports, options);
  std::vector<RankedFinding> ranked;
  const std::vector<analysis::Analyzer>& analyzers = analysis::analyzers();
  for (size_t which = 0; which < analyzers.size(); ++which) {
    std::vector<Finding> found;
    analyzers[which].run(context, found);
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
            panics.push_back(fmt::format("#{}", context.number(m)));
            if (!first_panic) first_panic = m;
            continue;
          }
          f.evidence.push_back({"log_line",
                                fmt::format("linked: report #{} and report #{} are one incident ({})", context.number(m - 1),
                                            context.number(m), context.link_reason[m]),
                                m, reports[m].span.first_line ? std::optional<uint32_t>(reports[m].span.first_line) : std::nullopt});
        }
        if (!panics.empty())
          f.evidence.push_back(analysis::line_at(
              *first_panic, reports[*first_panic].span.first_line,
              fmt::format("then the kernel panicked (report {}: \"{}\"), only because of this failure",
                          fmt::join(panics, ", "), reports[*first_panic].header)));
        std::sort(f.reports.begin(), f.reports.end());
      }
      // Findings about the log's first incident lead: later reports are
      // often its aftermath. (Report #1 starts it, whichever part of the log
      // `reports` is.)
      double rank = f.confidence;
      if (!f.reports.empty() && context.number(context.incident[f.reports.front()]) == 1) rank += 0.05;
      ranked.push_back({std::move(f), rank, 0, which});
    }
  }
  // The mechanism fallback only speaks for incidents nothing else explained.
  std::vector<bool> explained(reports.size(), false);
  for (const RankedFinding& r : ranked)
    if (r.finding.cause != "other" && !r.finding.id.starts_with("mechanism.") && !r.finding.reports.empty())
      explained[context.incident[r.finding.reports.front()]] = true;
  std::erase_if(ranked, [&](const RankedFinding& r) {
    return r.finding.id.starts_with("mechanism.") && !r.finding.reports.empty() &&
           explained[context.incident[r.finding.reports.front()]];
  });
  return ranked;
}

}  // namespace

}  // namespace ktriage

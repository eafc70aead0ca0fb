// Context findings (cause "other"): taint and which module caused it, crash in
// a module vs the core kernel, linked reports.
#include "analysis/analyses.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/helpers.h"

namespace ktriage::analysis {

// --- context: taint, module vs core kernel, linked reports ------------------

void tainted_modules(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i) || r.taint.flags.empty()) continue;
    std::string_view flags = r.taint.flags;
    bool proprietary = contains(flags, "P"), out_of_tree = contains(flags, "O"), unsigned_mod = contains(flags, "E");
    bool warned = contains(flags, "W");
    if (!proprietary && !out_of_tree && !unsigned_mod && !warned) continue;
    // "Modules linked in: crashzoo(OE) crc_itu_t": the modules printed with flags.
    std::vector<std::string> flagged, in_trace;
    for (const ModuleFlags& m : r.module_flags) {
      if (!contains(m.flags, "P") && !contains(m.flags, "O") && !contains(m.flags, "E")) continue;
      std::string printed = fmt::format("{}({})", m.name, m.flags);
      if (std::find(flagged.begin(), flagged.end(), printed) != flagged.end()) continue;
      flagged.push_back(std::move(printed));
      bool traced = r.ip && r.ip->module == m.name;
      for (const Frame& f : r.frames) traced |= f.module == m.name;
      if (traced) in_trace.push_back(m.name);
    }
    std::vector<std::string> what;
    if (proprietary) what.push_back("proprietary (P)");
    if (out_of_tree) what.push_back("out-of-tree (O)");
    if (unsigned_mod) what.push_back("unsigned (E)");
    std::string title;
    if (!in_trace.empty())
      title = fmt::format("{} module {} is in the call trace", fmt::join(what, ", "), fmt::join(in_trace, ", "));
    else if (!flagged.empty())
      title = fmt::format("kernel tainted by {} module(s): {}", fmt::join(what, ", "), fmt::join(flagged, ", "));
    else if (!what.empty())
      title = fmt::format("kernel tainted: {} module loaded", fmt::join(what, ", "));
    else
      title = "kernel tainted W: an earlier warning was printed";
    Finding f = make_finding("context.taint", "other", title, in_trace.empty() ? 0.2 : 0.3,
                     "context for the headline, not a cause by itself", i);
    f.evidence.push_back(line_at(i, r.taint.line, fmt::format("Tainted: {}", r.taint.flags)));
    for (const std::string& m : r.taint.meanings) f.evidence.push_back(Evidence{"kernel", m, i, std::nullopt});
    if (!flagged.empty())
      f.evidence.push_back(line_at(i, r.modules_line, fmt::format("flagged in Modules linked in: {}", fmt::join(flagged, " "))));
    // "crashzoo: loading out-of-tree module taints kernel." printed at load time.
    for (const Note* n : notes_of(r, NoteKind::module_taint)) f.evidence.push_back(note_line(i, *n));
    if (warned) f.evidence.push_back(log_line(i, r, "taint W: a WARNING was printed before this report; it may be the first sign of the problem"));
    f.explanation = "Code the kernel community cannot see or did not build is part of this crash; its authors are the first to ask.";
    f.actions = {in_trace.empty() ? "Reproduce without the tainting modules if possible." : "Report to the maintainers of " + fmt::format("{}", fmt::join(in_trace, ", ")) + " first."};
    out.push_back(std::move(f));
  }
}

void crash_location(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    // Only a report with a faulting IP has a crash location (not a hung task
    // or a scheduling-while-atomic dump), and only a symbol says whose code it is.
    if (!r.ip || r.ip->function.empty()) continue;
    const Symbol* at = &*r.ip;
    const Frame* mod_frame = nullptr;
    for (const Frame& f : r.frames)
      if (f.reliable && !f.module.empty()) { mod_frame = &f; break; }
    Finding f;
    if (!at->module.empty()) {
      f = make_finding("context.in_module", "other", fmt::format("crash inside module {} ({})", at->module, frame_name(*at)), 0.25,
               "where the CPU was, not why", i);
      f.explanation = "The faulting code belongs to a loadable module, not the core kernel.";
    } else if (mod_frame) {
      f = make_finding("context.core_from_module", "other",
               fmt::format("crash in the core kernel ({}), called from module {} ({})", frame_name(*at), mod_frame->module, frame_name(*mod_frame)),
               0.25, "where the CPU was, not why", i);
      f.explanation = "The fault is in core kernel code, reached from a module: the module may have passed it bad data.";
    } else {
      continue;
    }
    f.evidence.push_back(Evidence{"frame", frame_name(*at), i, std::nullopt});
    out.push_back(std::move(f));
  }
}

void linked_reports(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    if (i > 0 && c.incident[i] == c.incident[i - 1]) continue;
    std::vector<size_t> members = c.incident_of(i);
    if (members.size() < 2) continue;
    std::vector<std::string> names;
    for (size_t j : members) names.push_back(fmt::format("#{} {}", c.number(j), c.reports[j].title.empty() ? c.reports[j].header : c.reports[j].title));
    Finding f = make_finding("context.linked_reports", "other",
                     fmt::format("{} reports are one incident: {}", members.size(), fmt::join(names, "; ")), 0.3,
                     "same task or CPU, close together, nothing contradicting", i);
    f.reports = members;
    for (size_t j : members)
      if (!c.link_reason[j].empty())
        f.evidence.push_back(log_line(j, c.reports[j], fmt::format("report #{} joins report #{}: {}", c.number(j), c.number(j - 1), c.link_reason[j])));
    f.explanation = "Reports printed together by the same task or CPU usually share one cause; the headline finding explains them together.";
    out.push_back(std::move(f));
  }
}

}  // namespace ktriage::analysis

// The knowledge base's verdicts in words, made from KbMatch's typed fields;
// shared by the text and JSON renderers and `ktriage kb show`.
#include <fmt/format.h>

#include "ktriage/render.h"

namespace ktriage {
namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

std::string join_comma(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "2.6.32-520.el6 or later on rhel6, or 3.15 or later upstream"
std::string where_fixed(const KbMatch& m) {
  std::vector<std::string> parts;
  for (const KbCarrier& c : m.carriers) parts.push_back(fmt::format("{} or later on {}", c.version, c.line));
  if (!m.fixed_in.empty()) parts.push_back(fmt::format("{} or later upstream", m.fixed_in));
  if (!m.stable_fixes.empty())
    parts.push_back(fmt::format("a stable release with it ({})", join_comma(m.stable_fixes)));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", or " : "") + parts[i];
  return out;
}

std::string fix_name(const KbMatch& m) {
  if (!m.commit.empty() && !m.subject.empty()) return fmt::format("{} (\"{}\")", m.commit.substr(0, 12), m.subject);
  if (!m.commit.empty()) return m.commit.substr(0, 12);
  return "the fix";
}

std::string branch_of(const std::string& release) {
  // "6.1.78" -> "6.1", "2.6.32.27" -> "2.6.32"
  size_t dots = release.starts_with("2.") ? 3 : 2;
  size_t at = 0;
  for (size_t i = 0; i < dots && at != std::string::npos; ++i) at = release.find('.', at ? at + 1 : 0);
  return at == std::string::npos ? release : release.substr(0, at);
}

// "fixed upstream in 7.1, and in 6.12.40 and 6.18.20"
std::string where_upstream(const KbMatch& m) {
  std::string out = m.fixed_in.empty() ? "" : fmt::format("fixed upstream in {}", m.fixed_in);
  if (!m.stable_fixes.empty())
    out += fmt::format("{}in {}", out.empty() ? "fixed " : ", and ", join_names(m.stable_fixes));
  return out;
}

}  // namespace

std::string kb_carried_by_text(const KbMatch& m, const KbKernel& k) {
  if (k.known()) return m.carried_by;
  std::vector<std::string> carriers;
  for (const KbCarrier& c : m.carriers) carriers.push_back(fmt::format("{} {}", c.line, c.version));
  return join_names(carriers);
}

std::string kb_verdict_text(const KbMatch& m, const KbKernel& k) {
  const std::string& shown = k.shown;
  const std::string branch = m.branch_fix.empty() ? "" : branch_of(m.branch_fix);
  switch (m.basis) {
    case KbBasis::kernel_unknown: {
      std::string where = where_fixed(m);
      return where.empty() ? "kernel version unknown; no fixed kernel is known"
                           : fmt::format("kernel version unknown; upgrade to {}", where);
    }
    case KbBasis::release_candidate:
      return fmt::format(
          "this kernel ({}) is a release candidate of {}, the first release with {}; "
          "check whether it contains the commit",
          shown, m.fixed_in, fix_name(m));
    case KbBasis::upstream_has_fix:
      return k.line == "upstream"
                 ? fmt::format("this kernel ({}) has the fix (upstream since {})", shown, m.fixed_in)
                 : fmt::format("this kernel ({}) is based on {}, which has the fix (upstream since {})", shown, k.base,
                               m.fixed_in);
    case KbBasis::stable_has_fix:
      return k.line == "upstream"
                 ? fmt::format("this kernel ({}) has the fix ({}.y since {})", shown, branch, m.branch_fix)
                 : fmt::format("this kernel ({}) is based on {}, which has the fix ({}.y since {})", shown, k.base,
                               branch, m.branch_fix);
    case KbBasis::carried:
      return fmt::format("this kernel ({}) already carries the fix ({} since {})", shown, k.line, m.carried_by);
    case KbBasis::not_carried:
      return fmt::format("this kernel ({}) lacks the fix; upgrade to {} or later", shown, m.carried_by);
    case KbBasis::cannot_order:
      return k.line == "debian"
                 ? fmt::format(
                       "cannot tell: the log gives the Debian ABI ({}), not the package version; "
                       "the fix is in {} or later (pass --kernel-version \"Debian VERSION\")",
                       k.abi.empty() ? shown : k.abi, m.carried_by)
                 : fmt::format("cannot tell whether {} is before or after {}, the first {} kernel with the fix", shown,
                               m.carried_by, k.line);
    case KbBasis::predates_fix:
      return fmt::format("this kernel ({}) predates {}, the first release with the fix; upgrade to {} or later", shown,
                         m.fixed_in, m.fixed_in);
    case KbBasis::stable_lacks_fix:
      return fmt::format("this kernel ({}) lacks the fix; upgrade to {} or later (the first {}.y release with it{})",
                         shown, m.branch_fix, branch,
                         m.fixed_in.empty() ? "" : fmt::format("; upstream since {}", m.fixed_in));
    case KbBasis::no_stable_fix:
      return fmt::format("this kernel ({}) lacks the fix: no {}.y release has it ({}); upgrade to a release that does",
                         shown, branch_of(k.base), where_upstream(m));
    case KbBasis::changelog_lacks_fix: {
      std::string where =
          !m.branch_fix.empty() ? fmt::format("first fixed upstream in {}", m.branch_fix) : where_upstream(m);
      return fmt::format("this kernel ({}) lacks the fix: the {} changelog up to {} does not list it ({})", shown,
                         k.line, m.changelog_newest, where);
    }
    case KbBasis::introduced_later:
      return fmt::format(
          "this kernel ({}) is based on {}, before {} where the bug came in: unless it carries a "
          "backport of the change that caused it, this crash is another bug ({})",
          shown, k.base.empty() ? "an older release" : k.base, m.introduced_in, where_upstream(m));
    case KbBasis::no_backport_known:
      if (!m.branch_fix.empty())
        return fmt::format(
            "this kernel ({}) is based on {}, before {} where {} reached {}.y; no {} kernel is known "
            "to carry a backport: check its changelog",
            shown, k.base.empty() ? "an older release" : k.base, m.branch_fix, fix_name(m), branch, k.line);
      return fmt::format(
          "this kernel ({}) is based on {}, before {} where {} landed; no {} kernel is known "
          "to carry a backport: check its changelog",
          shown, k.base.empty() ? "an older release" : k.base, m.fixed_in, fix_name(m), k.line);
    case KbBasis::no_fixed_kernel:
      return fmt::format("no {} kernel is known to carry the fix", k.line);
  }
  return {};
}

std::string kb_summary_text(const std::vector<KbMatch>& matches, const KbSummary& s) {
  if (s.matches.empty()) return {};
  if (!s.kernel.known()) {
    std::string out = "kernel version unknown (pass --kernel-version)";
    for (size_t i = 0; i < s.needs.size(); ++i) {
      const KbSummary::Need& n = s.needs[i];
      out += fmt::format("{}{} or later {} ({})", i ? ", or to " : ": upgrade to ", n.version,
                         n.line == "upstream" ? "upstream" : "on " + n.line, join_names(n.names));
    }
    if (!s.nowhere.empty()) out += fmt::format("; no fixed kernel is known for {}", join_names(s.nowhere));
    return out;
  }
  std::vector<std::string> lacking, carrying, unsure;
  for (size_t i : s.matches) {
    if (i >= matches.size()) continue;
    const KbMatch& m = matches[i];
    if (m.verdict == KbVerdict::not_fixed) {
      lacking.push_back(m.short_name);
    } else if (m.verdict == KbVerdict::fixed) {
      carrying.push_back(m.short_name);
    } else {
      std::string why = m.fixed_in.empty() ? "" : fmt::format("upstream since {}", m.fixed_in);
      if (!m.subject.empty()) why = fmt::format("\"{}\"{}{}", m.subject, why.empty() ? "" : ", ", why);
      unsure.push_back(why.empty() ? m.short_name : fmt::format("{} ({})", m.short_name, why));
    }
  }
  std::string out = fmt::format("{} ({}): this kernel", s.kernel.shown, s.kernel.line);
  if (!lacking.empty()) {
    out += lacking.size() == 1   ? fmt::format(" lacks {}", lacking[0])
           : lacking.size() == 2 ? fmt::format(" lacks both fixes ({})", join_names(lacking))
                                 : fmt::format(" lacks {} fixes ({})", lacking.size(), join_names(lacking));
    out += fmt::format(": upgrade to {} or later", s.upgrade_to);
    if (!carrying.empty()) out += fmt::format("; it already carries {}", join_names(carrying));
  } else if (!carrying.empty()) {
    out += fmt::format(" already carries {}", join_names(carrying));
  } else {
    out += " cannot be checked against the known fixes";
  }
  if (!unsure.empty()) out += fmt::format("; {}look at {}", lacking.empty() ? "" : "also ", join_names(unsure));
  return out;
}

std::string kb_reason_text(const KbReason& r) {
  const std::string first = r.values.empty() ? "" : r.values[0];
  switch (r.kind) {
    case KbReasonKind::title:
      return fmt::format("title \"{}\"", first);
    case KbReasonKind::guilty_frame:
      return fmt::format("guilty frame {}", first);
    case KbReasonKind::frames:
      return r.of ? fmt::format("frames {} ({} of the top {})", join_comma(r.values), r.values.size(), r.of)
                  : fmt::format("frames {}", join_comma(r.values));
    case KbReasonKind::kind:
      return fmt::format("kind {}", first);
    case KbReasonKind::type:
      return fmt::format("type {}", first);
    case KbReasonKind::module:
      return fmt::format("module {}", first);
    case KbReasonKind::finding:
      return fmt::format("finding {}", first);
    case KbReasonKind::cause:
      return fmt::format("cause {}", first);
    case KbReasonKind::arch:
      return fmt::format("arch {}", first);
  }
  return first;
}

}  // namespace ktriage

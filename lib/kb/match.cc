// Knowledge-base matcher: which entries fit the analysed reports, and for
// each whether the kernel in question already carries the fix.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "kb/compiled.h"
#include "ktriage/kb.h"

namespace ktriage {
namespace {

// Log text is hostile: bound what a pattern is run over.
constexpr size_t kMaxMatchText = 4096;
constexpr size_t kMaxFrames = 512;

std::string_view bounded(std::string_view s) { return s.substr(0, std::min(s.size(), kMaxMatchText)); }

bool any_partial(const std::vector<std::unique_ptr<RE2>>& res, std::string_view text) {
  if (text.empty()) return false;
  return std::any_of(res.begin(), res.end(), [&](const auto& re) { return RE2::PartialMatch(bounded(text), *re); });
}

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Architecture named by a release's flavour ("x86_64", "cloud-amd64").
std::string_view arch_of_kernel(const KernelRelease& k) {
  std::string_view f = k.flavour.empty() ? std::string_view(k.text) : std::string_view(k.flavour);
  if (f.find("x86_64") != f.npos || f.ends_with("amd64")) return "x86_64";
  if (f.find("aarch64") != f.npos || f.ends_with("arm64")) return "arm64";
  if (f.find("i686") != f.npos || f.ends_with("686") || f.ends_with("686-pae") || f.find("i386") != f.npos) return "i386";
  if (f.find("ppc64") != f.npos || f.find("powerpc64") != f.npos) return "ppc64";
  if (f.find("s390") != f.npos) return "s390";
  if (f.find("armv7") != f.npos || f.ends_with("armmp") || f.ends_with("armmp-lpae")) return "arm";
  return {};
}

bool finding_covers(const Finding& f, size_t report) {
  return f.reports.empty() || std::find(f.reports.begin(), f.reports.end(), report) != f.reports.end();
}

bool id_matches(std::string_view id, std::string_view want) {
  return id == want || (id.size() > want.size() && id.starts_with(want) && id[want.size()] == '.');
}

bool report_matches(const KbCondition& m, const KnowledgeBase::Compiled& c, const Analysis& a, size_t index,
                    const KernelRelease& kernel) {
  const Report& r = a.reports[index];
  if (!c.titles.empty()) {
    bool hit = any_partial(c.titles, r.title) || any_partial(c.titles, r.header) ||
               std::any_of(r.alt_titles.begin(), r.alt_titles.end(), [&](const std::string& t) { return any_partial(c.titles, t); });
    if (!hit) return false;
  }
  if (!c.types.empty()) {
    bool hit = !r.type.empty() && std::any_of(c.types.begin(), c.types.end(),
                                              [&](const auto& re) { return RE2::FullMatch(bounded(r.type), *re); });
    if (!hit) return false;
  }
  if (!m.kinds.empty() && !contains(m.kinds, to_string(r.kind))) return false;

  size_t n = std::min(r.frames.size(), kMaxFrames);
  if (!c.frames.empty()) {
    bool hit = (r.ip && any_partial(c.frames, r.ip->function)) ||
               std::any_of(r.frames.begin(), r.frames.begin() + static_cast<std::ptrdiff_t>(n),
                           [&](const Frame& f) { return any_partial(c.frames, f.function); });
    if (!hit) return false;
  }
  if (!m.modules.empty()) {
    bool hit = (r.ip && contains(m.modules, r.ip->module)) ||
               std::any_of(r.frames.begin(), r.frames.begin() + static_cast<std::ptrdiff_t>(n),
                           [&](const Frame& f) { return !f.module.empty() && contains(m.modules, f.module); });
    if (!hit) return false;
  }
  if (!m.findings.empty()) {
    bool hit = std::any_of(a.findings.begin(), a.findings.end(), [&](const Finding& f) {
      return finding_covers(f, index) &&
             std::any_of(m.findings.begin(), m.findings.end(), [&](const std::string& w) { return id_matches(f.id, w); });
    });
    if (!hit) return false;
  }
  if (!m.causes.empty()) {
    bool hit = std::any_of(a.findings.begin(), a.findings.end(),
                           [&](const Finding& f) { return finding_covers(f, index) && contains(m.causes, f.cause); });
    if (!hit) return false;
  }
  if (!m.arch.empty()) {
    // A release that names its architecture ("2.6.32-431.el6.x86_64") is
    // firmer than the arch the parser infers from register and address shapes.
    std::string_view arch = arch_of_kernel(kernel);
    if (arch.empty() && r.arch != Arch::unknown) arch = to_string(r.arch);
    if (!arch.empty() && !contains(m.arch, arch)) return false;  // unknown arch does not exclude
  }
  return true;
}

bool satisfies(std::optional<int> c, std::string_view op) {
  if (!c) return true;  // cannot be ordered: do not exclude
  if (op == "<") return *c < 0;
  if (op == "<=") return *c <= 0;
  if (op == ">") return *c > 0;
  if (op == ">=") return *c >= 0;
  if (op == "!=") return *c != 0;
  return *c == 0;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

// "2.6.32-520.el6 or later on rhel6, or 3.15 or later upstream"
std::string where_fixed(const KbEntry& e) {
  std::vector<std::string> parts;
  for (const auto& [line, version] : e.carried_by) parts.push_back(fmt::format("{} or later on {}", version, line));
  if (!e.fixed_in.empty()) parts.push_back(fmt::format("{} or later upstream", e.fixed_in));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", or " : "") + parts[i];
  return out;
}

std::string fix_name(const KbEntry& e) {
  if (!e.commit.empty() && !e.subject.empty()) return fmt::format("{} (\"{}\")", e.commit.substr(0, 12), e.subject);
  if (!e.commit.empty()) return e.commit.substr(0, 12);
  return "the fix";
}

int compare_for(const KernelRelease& k, std::string_view a, std::string_view b) {
  return compare_versions(k.scheme, a, b);
}

}  // namespace

bool kernel_in_range(const KbCondition& condition, const KernelRelease& kernel) {
  if (condition.kernels.empty() || !kernel.known()) return true;
  auto check = [](const KbVersionRange& range, auto compare) {
    return std::all_of(range.constraints.begin(), range.constraints.end(),
                       [&](const auto& c) { return satisfies(compare(c.second), c.first); });
  };
  if (auto it = condition.kernels.find(kernel.line); it != condition.kernels.end())
    return check(it->second, [&](std::string_view v) { return compare_with_line_version(kernel, v); });
  if (auto it = condition.kernels.find("upstream"); it != condition.kernels.end() && !kernel.base.empty())
    return check(it->second, [&](std::string_view v) -> std::optional<int> {
      return compare_upstream_versions(kernel.base, v);
    });
  return false;
}

KbMatch judge(const KbEntry& e, const KernelRelease& k) {
  KbMatch m;
  m.id = e.id;
  m.title = e.title;
  m.fixed_in = e.fixed_in;
  m.commit = e.commit;
  m.subject = e.subject;
  m.references = e.references;
  m.advice = e.advice;
  m.verdict = "unknown";

  if (!k.known()) {
    std::vector<std::string> carriers;
    for (const auto& [line, version] : e.carried_by) carriers.push_back(fmt::format("{} {}", line, version));
    m.carried_by = join_names(carriers);
    std::string where = where_fixed(e);
    m.verdict_text = where.empty() ? "kernel version unknown; no fixed kernel is known"
                                   : fmt::format("kernel version unknown; upgrade to {}", where);
    return m;
  }

  const std::string shown = k.display();
  auto carrier = e.carried_by.find(k.line);
  if (carrier != e.carried_by.end()) m.carried_by = carrier->second;

  // A kernel based on an upstream release that has the fix has it.
  if (!e.fixed_in.empty() && !k.base.empty() && compare_upstream_versions(k.base, e.fixed_in) >= 0) {
    bool rc_of_fix = k.line == "upstream" && k.version.find("-rc") != std::string::npos &&
                     compare_upstream_versions(k.base, e.fixed_in) == 0;
    if (rc_of_fix) {
      m.verdict_text = fmt::format("this kernel ({}) is a release candidate of {}, the first release with {}; "
                                   "check whether it contains the commit",
                                   shown, e.fixed_in, fix_name(e));
      return m;
    }
    m.verdict = "fixed";
    m.verdict_text = k.line == "upstream"
                         ? fmt::format("this kernel ({}) has the fix (upstream since {})", shown, e.fixed_in)
                         : fmt::format("this kernel ({}) is based on {}, which has the fix (upstream since {})",
                                       shown, k.base, e.fixed_in);
    return m;
  }
  if (carrier != e.carried_by.end()) {
    std::optional<int> c = compare_with_line_version(k, carrier->second);
    if (!c) {
      m.verdict_text = k.line == "debian"
                           ? fmt::format("cannot tell: the log gives the Debian ABI ({}), not the package version; "
                                         "the fix is in {} or later (pass --kernel-version \"Debian VERSION\")",
                                         k.abi.empty() ? shown : k.abi, carrier->second)
                           : fmt::format("cannot tell whether {} is before or after {}, the first {} kernel with the fix",
                                         shown, carrier->second, k.line);
      return m;
    }
    if (*c >= 0) {
      m.verdict = "fixed";
      m.verdict_text = fmt::format("this kernel ({}) already carries the fix ({} since {})", shown, k.line, carrier->second);
    } else {
      m.verdict = "not_fixed";
      m.verdict_text = fmt::format("this kernel ({}) lacks the fix; upgrade to {} or later", shown, carrier->second);
    }
    return m;
  }
  if (k.line == "upstream" && !e.fixed_in.empty()) {
    m.verdict = "not_fixed";
    m.verdict_text = fmt::format("this kernel ({}) predates {}, the first release with the fix; upgrade to {} or later",
                                 shown, e.fixed_in, e.fixed_in);
    return m;
  }
  if (!e.fixed_in.empty()) {
    m.verdict_text = fmt::format("this kernel ({}) is based on {}, before {} where {} landed; no {} kernel is known "
                                 "to carry a backport: check its changelog",
                                 shown, k.base.empty() ? "an older release" : k.base, e.fixed_in, fix_name(e), k.line);
    return m;
  }
  m.verdict_text = fmt::format("no {} kernel is known to carry the fix", k.line);
  return m;
}

namespace {

std::string summarize_unknown(const std::vector<const KbEntry*>& entries) {
  // line -> (newest version needed, names of the fixes it brings)
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> need;
  std::vector<std::string> nowhere;
  for (const KbEntry* e : entries) {
    auto add = [&](const std::string& line, const std::string& version) {
      auto& [best, names] = need[line];
      if (best.empty() || compare_versions(scheme_of_line(line), version, best) > 0) best = version;
      names.push_back(e->short_name);
    };
    for (const auto& [line, version] : e->carried_by) add(line, version);
    if (!e->fixed_in.empty()) add("upstream", e->fixed_in);
    if (e->carried_by.empty() && e->fixed_in.empty()) nowhere.push_back(e->short_name);
  }
  std::vector<std::string> parts;
  auto part = [&](const std::string& line) {
    const auto& [best, names] = need[line];
    parts.push_back(fmt::format("{} or later {} ({})", best, line == "upstream" ? "upstream" : "on " + line,
                                join_names(names)));
  };
  for (const auto& [line, unused] : need)
    if (line != "upstream") part(line);
  if (need.contains("upstream")) part("upstream");
  std::string out = "kernel version unknown (pass --kernel-version)";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", or to " : ": upgrade to ") + parts[i];
  if (!nowhere.empty()) out += fmt::format("; no fixed kernel is known for {}", join_names(nowhere));
  return out;
}

std::string summarize_known(const KernelRelease& k, const std::vector<std::pair<const KbEntry*, const KbMatch*>>& all) {
  std::vector<std::string> lacking, carrying, unsure;
  std::string target;
  for (const auto& [e, m] : all) {
    if (m->verdict == "not_fixed") {
      lacking.push_back(e->short_name);
      const std::string& v = !m->carried_by.empty() ? m->carried_by : e->fixed_in;
      if (target.empty() || compare_for(k, v, target) > 0) target = v;
    } else if (m->verdict == "fixed") {
      carrying.push_back(e->short_name);
    } else {
      std::string why = e->fixed_in.empty() ? "" : fmt::format("upstream since {}", e->fixed_in);
      if (!e->subject.empty()) why = fmt::format("\"{}\"{}{}", e->subject, why.empty() ? "" : ", ", why);
      unsure.push_back(why.empty() ? e->short_name : fmt::format("{} ({})", e->short_name, why));
    }
  }
  std::string out = fmt::format("{} ({}): this kernel", k.display(), k.line);
  if (!lacking.empty()) {
    out += lacking.size() == 1   ? fmt::format(" lacks {}", lacking[0])
           : lacking.size() == 2 ? fmt::format(" lacks both fixes ({})", join_names(lacking))
                                 : fmt::format(" lacks {} fixes ({})", lacking.size(), join_names(lacking));
    out += fmt::format(": upgrade to {} or later", target);
    if (!carrying.empty()) out += fmt::format("; it already carries {}", join_names(carrying));
  } else if (!carrying.empty()) {
    out += fmt::format(" already carries {}", join_names(carrying));
  } else {
    out += " cannot be checked against the known fixes";
  }
  if (!unsure.empty())
    out += fmt::format("; {}look at {}", lacking.empty() ? "" : "also ", join_names(unsure));
  return out;
}

}  // namespace

KbVerdicts KnowledgeBase::match(const Analysis& analysis, std::string_view kernel_version) const {
  KbVerdicts out;
  // The kernel: flag, then the analysis, then the log. A report printing the
  // same release supplies its build string (Debian package, Ubuntu upload).
  std::string_view release = !kernel_version.empty() ? kernel_version : std::string_view(analysis.kernel_version);
  std::string_view build;
  for (const Report& r : analysis.reports) {
    if (r.kernel_release.empty()) continue;
    if (release.empty()) release = r.kernel_release;
    if (r.kernel_release == release) {
      build = r.kernel_version;
      break;
    }
  }
  out.kernel = classify_kernel_release(release, build);

  struct Hit {
    size_t entry;
    KbMatch match;
  };
  std::vector<Hit> hits;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const KbEntry& e = entries_[i];
    if (!kernel_in_range(e.match, out.kernel)) continue;
    bool any = false;
    for (size_t r = 0; r < analysis.reports.size() && !any; ++r)
      any = report_matches(e.match, *compiled_[i], analysis, r, out.kernel);
    if (any) hits.push_back({i, judge(e, out.kernel)});
  }
  auto rank = [](const std::string& verdict) { return verdict == "not_fixed" ? 0 : verdict == "unknown" ? 1 : 2; };
  std::stable_sort(hits.begin(), hits.end(),
                   [&](const Hit& a, const Hit& b) { return rank(a.match.verdict) < rank(b.match.verdict); });
  if (hits.empty()) return out;

  if (!out.kernel.known()) {
    std::vector<const KbEntry*> matched;
    for (const Hit& h : hits) matched.push_back(&entries_[h.entry]);
    out.summary = summarize_unknown(matched);
  } else {
    std::vector<std::pair<const KbEntry*, const KbMatch*>> all;
    for (const Hit& h : hits) all.emplace_back(&entries_[h.entry], &h.match);
    out.summary = summarize_known(out.kernel, all);
  }
  for (Hit& h : hits) out.matches.push_back(std::move(h.match));
  return out;
}

}  // namespace ktriage

// Knowledge-base matcher: which entries fit the analysed reports (hand-written
// conditions, and the signatures of imported CVE records), and for each
// whether the kernel in question already carries the fix. Produces typed
// verdicts; the renderers say them in words.
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <set>

#include "kb/compiled.h"
#include "ktriage/kb.h"
#include "ktriage/kb_index.h"

namespace ktriage {
namespace {

// Log text is hostile: bound what a pattern is run over.
constexpr size_t kMaxMatchText = 4096;
constexpr size_t kMaxFrames = 512;
// Reports scored against the indexes per log, and index matches kept.
constexpr size_t kMaxIndexedReports = 256;
constexpr size_t kMaxLikely = 10;
constexpr size_t kMaxSimilar = 5;

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

// The findings that speak for each report (those naming it, and those
// naming none), in the analysis' order: built once per match, so that
// matching a log of many reports and findings is not their product.
class FindingsByReport {
 public:
  explicit FindingsByReport(const Analysis& a) : findings_(a.findings), of_(a.reports.size()) {
    for (size_t i = 0; i < findings_.size(); ++i) {
      if (findings_[i].reports.empty()) everyone_.push_back(i);
      for (size_t r : findings_[i].reports)
        if (r < of_.size() && (of_[r].empty() || of_[r].back() != i)) of_[r].push_back(i);
    }
  }

  // The first finding covering `report` that `want` accepts.
  template <typename Want>
  const Finding* first(size_t report, Want want) const {
    const std::vector<size_t>& own = of_[report];
    for (size_t a = 0, b = 0; a < own.size() || b < everyone_.size();) {
      const size_t i = b == everyone_.size() || (a < own.size() && own[a] < everyone_[b]) ? own[a++] : everyone_[b++];
      if (want(findings_[i])) return &findings_[i];
    }
    return nullptr;
  }

 private:
  const std::vector<Finding>& findings_;
  std::vector<size_t> everyone_;
  std::vector<std::vector<size_t>> of_;
};

bool id_matches(std::string_view id, std::string_view want) {
  return id == want || (id.size() > want.size() && id.starts_with(want) && id[want.size()] == '.');
}

// Does one report satisfy every condition of a hand-written entry? On a
// match, `reasons` says what each condition matched. Without `findings` (not
// diagnosed), whether every condition but findings and causes holds.
bool report_matches(const KbCondition& m, const KnowledgeBase::Compiled& c, const Analysis& a, size_t index,
                    const KernelRelease& kernel, std::vector<KbReason>& reasons, const FindingsByReport* findings) {
  const Report& r = a.reports[index];
  reasons.clear();
  if (!c.titles.empty()) {
    const std::string* hit = nullptr;
    if (any_partial(c.titles, r.title)) hit = &r.title;
    else if (any_partial(c.titles, r.header)) hit = &r.header;
    for (const std::string& t : r.alt_titles)
      if (!hit && any_partial(c.titles, t)) hit = &t;
    if (!hit) return false;
    reasons.push_back({KbReasonKind::title, {std::string(bounded(*hit))}, 0});
  }
  if (!c.types.empty()) {
    bool hit = !r.type.empty() && std::any_of(c.types.begin(), c.types.end(),
                                              [&](const auto& re) { return RE2::FullMatch(bounded(r.type), *re); });
    if (!hit) return false;
    reasons.push_back({KbReasonKind::type, {r.type}, 0});
  }
  if (!m.kinds.empty()) {
    if (!contains(m.kinds, to_string(r.kind))) return false;
    reasons.push_back({KbReasonKind::kind, {std::string(to_string(r.kind))}, 0});
  }

  size_t n = std::min(r.frames.size(), kMaxFrames);
  if (!c.frames.empty()) {
    std::vector<std::string> hits;
    if (r.ip && any_partial(c.frames, r.ip->function)) hits.push_back(r.ip->function);
    for (size_t i = 0; i < n; ++i)
      if (any_partial(c.frames, r.frames[i].function) && !contains(hits, r.frames[i].function))
        hits.push_back(r.frames[i].function);
    if (hits.empty()) return false;
    reasons.push_back({KbReasonKind::frames, hits, 0});
  }
  if (!m.modules.empty()) {
    const std::string* hit = r.ip && contains(m.modules, r.ip->module) ? &r.ip->module : nullptr;
    for (size_t i = 0; i < n && !hit; ++i)
      if (!r.frames[i].module.empty() && contains(m.modules, r.frames[i].module)) hit = &r.frames[i].module;
    if (!hit) return false;
    reasons.push_back({KbReasonKind::module, {*hit}, 0});
  }
  if (!m.findings.empty() && findings) {
    const Finding* hit = findings->first(index, [&](const Finding& f) {
      return std::any_of(m.findings.begin(), m.findings.end(), [&](const std::string& w) { return id_matches(f.id, w); });
    });
    if (!hit) return false;
    reasons.push_back({KbReasonKind::finding, {hit->id}, 0});
  }
  if (!m.causes.empty() && findings) {
    const Finding* hit = findings->first(index, [&](const Finding& f) { return contains(m.causes, f.cause); });
    if (!hit) return false;
    reasons.push_back({KbReasonKind::cause, {hit->cause}, 0});
  }
  if (!m.arch.empty()) {
    // A release that names its architecture ("2.6.32-431.el6.x86_64") is
    // firmer than the arch the parser infers from register and address shapes.
    std::string_view arch = arch_of_kernel(kernel);
    if (arch.empty() && r.arch != Arch::unknown) arch = to_string(r.arch);
    if (!arch.empty() && !contains(m.arch, arch)) return false;  // unknown arch does not exclude
    if (!arch.empty()) reasons.push_back({KbReasonKind::arch, {std::string(arch)}, 0});
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

// The release of `list` on `branch`, "" when none.
std::string on_branch(const std::vector<std::string>& list, std::string_view branch) {
  if (branch.empty()) return {};
  for (const std::string& v : list)
    if (stable_branch(v) == branch) return v;
  return {};
}

int rank(KbVerdict v) { return v == KbVerdict::not_fixed ? 0 : v == KbVerdict::unknown ? 1 : 2; }

}  // namespace

std::string_view to_string(KbVerdict v) {
  switch (v) {
    case KbVerdict::fixed: return "fixed";
    case KbVerdict::not_fixed: return "not_fixed";
    case KbVerdict::unknown: return "unknown";
  }
  return "unknown";
}

std::string_view to_string(KbStrength s) { return s == KbStrength::likely ? "likely" : "similar"; }

KbKernel kb_kernel(const KernelRelease& k) {
  KbKernel out;
  out.line = k.line;
  out.version = k.version;
  out.base = k.base;
  out.abi = k.abi;
  if (k.known()) out.shown = k.display();
  return out;
}

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

KbMatch judge(const KbEntry& e, const KernelRelease& k, const KbDistroView* distro) {
  KbMatch m;
  m.id = e.id;
  m.title = e.title;
  m.cve = e.cve;
  m.short_name = e.short_name.empty() ? e.id : e.short_name;
  m.fixed_in = e.fixed_in;
  m.stable_fixes = e.stable_fixes;
  m.introduced_in = e.introduced_in;
  m.commit = e.commit;
  m.subject = e.subject;
  m.references = e.references;
  m.advice = e.advice;
  m.verdict = KbVerdict::unknown;
  for (const auto& [line, version] : e.carried_by) m.carriers.push_back({line, version});
  if (distro)
    for (const KbCarrier& c : distro->carriers)
      if (!e.carried_by.contains(c.line)) m.carriers.push_back(c);

  auto set = [&](KbVerdict verdict, KbBasis basis) {
    m.verdict = verdict;
    m.basis = basis;
    return m;
  };
  if (!k.known()) return set(KbVerdict::unknown, KbBasis::kernel_unknown);

  if (auto carrier = e.carried_by.find(k.line); carrier != e.carried_by.end()) m.carried_by = carrier->second;
  else if (distro) m.carried_by = distro->carried_in;
  const std::string branch = stable_branch(k.base);
  m.branch_fix = on_branch(e.stable_fixes, branch);

  // A kernel based on an upstream release that has the fix has it.
  if (!e.fixed_in.empty() && !k.base.empty() && compare_upstream_versions(k.base, e.fixed_in) >= 0) {
    bool rc_of_fix = k.line == "upstream" && k.version.find("-rc") != std::string::npos &&
                     compare_upstream_versions(k.base, e.fixed_in) == 0;
    return set(rc_of_fix ? KbVerdict::unknown : KbVerdict::fixed,
               rc_of_fix ? KbBasis::release_candidate : KbBasis::upstream_has_fix);
  }
  // ... or a stable release of its branch that has it.
  if (!m.branch_fix.empty() && compare_upstream_versions(k.base, m.branch_fix) >= 0)
    return set(KbVerdict::fixed, KbBasis::stable_has_fix);
  std::optional<int> carried;
  if (!m.carried_by.empty()) {
    carried = compare_with_line_version(k, m.carried_by);
    if (!carried) return set(KbVerdict::unknown, KbBasis::cannot_order);
    if (*carried >= 0) return set(KbVerdict::fixed, KbBasis::carried);
  }
  // The bug came after this kernel's base (in mainline, or on its branch
  // through a backport): the crash is probably another bug.
  std::string affected_from = on_branch(e.stable_affected, branch);
  if (affected_from.empty() && m.branch_fix.empty()) affected_from = e.introduced_in;
  if (!affected_from.empty() && !k.base.empty() && compare_upstream_versions(k.base, affected_from) < 0) {
    m.introduced_in = affected_from;
    return set(KbVerdict::unknown, KbBasis::introduced_later);
  }
  if (carried) return set(KbVerdict::not_fixed, KbBasis::not_carried);
  // A changelog that covers this kernel and does not list the fix.
  if (distro && !distro->newest.empty() && !k.version.empty() &&
      compare_versions(k.scheme, k.version, distro->newest) <= 0 &&
      compare_versions(k.scheme, k.version, distro->oldest) >= 0) {
    m.changelog_newest = distro->newest;
    return set(KbVerdict::not_fixed, KbBasis::changelog_lacks_fix);
  }
  if (k.line == "upstream") {
    if (!m.branch_fix.empty()) return set(KbVerdict::not_fixed, KbBasis::stable_lacks_fix);
    // A CVE record lists every stable branch that got the fix.
    if (!e.cve.empty() && !e.fixed_in.empty()) return set(KbVerdict::not_fixed, KbBasis::no_stable_fix);
    if (!e.fixed_in.empty()) return set(KbVerdict::not_fixed, KbBasis::predates_fix);
  }
  if (!e.fixed_in.empty() || !m.branch_fix.empty()) return set(KbVerdict::unknown, KbBasis::no_backport_known);
  return set(KbVerdict::unknown, KbBasis::no_fixed_kernel);
}

namespace {

// Over the likely matches judged against `k` (`judged[i]`).
KbSummary summarize(const KernelRelease& k, const std::vector<KbMatch>& matches, const std::vector<bool>& judged) {
  KbSummary s;
  s.kernel = kb_kernel(k);
  for (size_t i = 0; i < matches.size(); ++i)
    if (matches[i].strength == KbStrength::likely && judged[i]) s.matches.push_back(i);
  if (s.matches.empty()) return s;
  if (!k.known()) {
    std::map<std::string, KbSummary::Need> need;
    for (size_t i : s.matches) {
      const KbMatch& m = matches[i];
      auto add = [&](const std::string& line, const std::string& version) {
        KbSummary::Need& n = need[line];
        n.line = line;
        if (n.version.empty() || compare_versions(scheme_of_line(line), version, n.version) > 0) n.version = version;
        n.names.push_back(m.short_name);
      };
      for (const KbCarrier& c : m.carriers) add(c.line, c.version);
      if (!m.fixed_in.empty()) add("upstream", m.fixed_in);
      if (m.carriers.empty() && m.fixed_in.empty()) s.nowhere.push_back(m.short_name);
    }
    for (auto& [line, n] : need)
      if (line != "upstream") s.needs.push_back(std::move(n));
    if (auto it = need.find("upstream"); it != need.end()) s.needs.push_back(std::move(it->second));
    return s;
  }
  for (size_t i : s.matches) {
    const KbMatch& m = matches[i];
    if (m.verdict != KbVerdict::not_fixed) continue;
    const std::string& v = !m.carried_by.empty() ? m.carried_by : !m.branch_fix.empty() ? m.branch_fix : m.fixed_in;
    if (s.upgrade_to.empty() || compare_versions(k.scheme, v, s.upgrade_to) > 0) s.upgrade_to = v;
  }
  return s;
}

}  // namespace

KbMatch KnowledgeBase::judge(const KbEntry& entry, const KernelRelease& k) const {
  if (indexes_.empty()) return ktriage::judge(entry, k);
  KbDistroView view;
  const std::vector<std::string> keys = distro_keys(entry);
  auto older = [&](const std::string& line, const std::string& a, const std::string& b) {
    return compare_versions(scheme_of_line(line), a, b) < 0;
  };
  if (!k.known()) {
    std::map<std::string, std::string> first;  // line -> first carrier
    for (const auto& index : indexes_)
      for (KbCarrier& c : index->distro_carriers(keys, "", ""))
        if (auto it = first.find(c.line); it == first.end() || older(c.line, c.version, it->second))
          first[c.line] = c.version;
    for (auto& [line, version] : first) view.carriers.push_back({line, version});
  } else {
    const std::string branch = stable_branch(k.base);
    for (const auto& index : indexes_) {
      for (KbCarrier& c : index->distro_carriers(keys, k.line, branch))
        if (view.carried_in.empty() || older(k.line, c.version, view.carried_in)) view.carried_in = c.version;
      for (std::string& r : index->distro_releases(k.line, branch)) {
        if (view.newest.empty() || older(k.line, view.newest, r)) view.newest = r;
        if (view.oldest.empty() || older(k.line, r, view.oldest)) view.oldest = r;
      }
    }
  }
  return ktriage::judge(entry, k, &view);
}

std::optional<KbEntry> KnowledgeBase::find(std::string_view id) const {
  for (const KbEntry& e : entries_)
    if (e.id == id) return e;
  for (auto it = indexes_.rbegin(); it != indexes_.rend(); ++it)
    if (std::optional<KbEntry> e = (*it)->entry(id)) return e;
  return std::nullopt;
}

std::vector<KbEntry> KnowledgeBase::search(std::string_view text, size_t limit) const {
  auto lower = [](std::string_view v) {
    std::string out(v);
    for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
    return out;
  };
  std::vector<std::string> words;
  for (size_t i = 0; i < text.size();) {
    size_t j = text.find(' ', i);
    if (j == std::string_view::npos) j = text.size();
    if (j > i) words.push_back(lower(text.substr(i, j - i)));
    i = j + 1;
  }
  std::vector<KbEntry> out;
  std::set<std::string, std::less<>> seen;
  for (const KbEntry& e : entries_) {
    std::string hay = lower(e.id + " " + e.title + " " + e.subject);
    if (out.size() < limit &&
        std::all_of(words.begin(), words.end(), [&](const std::string& w) { return hay.find(w) != std::string::npos; })) {
      out.push_back(e);
    }
    seen.insert(e.id);
  }
  for (auto it = indexes_.rbegin(); it != indexes_.rend() && out.size() < limit; ++it)
    for (KbEntry& e : (*it)->search(text, limit))
      if (out.size() < limit && seen.insert(e.id).second) out.push_back(std::move(e));
  return out;
}

namespace {

// The one kernel a match judges against (KbLogKernel).
class JudgedKernel {
 public:
  explicit JudgedKernel(const KbLogKernel& log) : release_(log.release), flag_(log.flag) {
    kernel_ = classify_kernel_release(release_, log.build);
  }

  const KernelRelease& kernel() const { return kernel_; }

  // A report of another boot runs another kernel: no verdict of this one's
  // applies to it, and a run judges one kernel (unknown for that report).
  const KernelRelease& of(const Report& report) const {
    static const KernelRelease kUnknownKernel;
    const std::string& own = report.kernel_release;
    return flag_ || own.empty() || own == release_ ? kernel_ : kUnknownKernel;
  }

 private:
  std::string release_;
  bool flag_;
  KernelRelease kernel_;
};

}  // namespace

struct KbMatcher::State {
  explicit State(const KbLogKernel& log) : kernels(log) {}
  JudgedKernel kernels;
  // Hand-written entries: the first report every condition held for, per entry.
  struct Hit {
    KbMatch match;
    bool judged;  // the report runs the judged kernel
  };
  std::vector<std::optional<Hit>> hits;
  std::set<std::string, std::less<>> hand_written;
  // Index entries: the best-scoring report per entry; a later index's entry
  // replaces an earlier one's with the same id.
  struct Best {
    KbCandidate candidate;
    size_t index;
    size_t report;
    bool judged;
  };
  std::map<std::string, Best, std::less<>> best;
};

KbMatcher::KbMatcher(const KnowledgeBase& kb, const KbLogKernel& log)
    : kb_(kb), state_(std::make_unique<State>(log)) {
  state_->hits.resize(kb.entries_.size());
  for (const KbEntry& e : kb.entries_) {
    state_->hand_written.insert(e.id);
    if (!e.cve.empty()) state_->hand_written.insert(e.cve);  // the same bug, described by hand
  }
}
KbMatcher::~KbMatcher() = default;

void KbMatcher::add(const Analysis& window, size_t first_report) {
  State& st = *state_;
  const FindingsByReport findings(window);
  std::vector<KbReason> reasons;
  for (size_t i = 0; i < kb_.entries_.size(); ++i) {
    if (st.hits[i]) continue;
    const KbEntry& e = kb_.entries_[i];
    for (size_t r = 0; r < window.reports.size(); ++r) {
      const KernelRelease& kernel = st.kernels.of(window.reports[r]);
      if (!kernel_in_range(e.match, kernel)) continue;
      if (!report_matches(e.match, *kb_.compiled_[i], window, r, kernel, reasons, &findings)) continue;
      KbMatch m = kb_.judge(e, kernel);
      m.strength = KbStrength::likely;
      m.reasons = std::move(reasons);
      m.report = first_report + r;
      st.hits[i] = State::Hit{std::move(m), &kernel == &st.kernels.kernel()};
      break;
    }
  }

  const size_t reports = first_report >= kMaxIndexedReports
                             ? 0
                             : std::min(window.reports.size(), kMaxIndexedReports - first_report);
  for (size_t r = 0; r < reports && !kb_.indexes_.empty(); ++r) {
    KbSignature sig = signature_of(window.reports[r]);
    if (sig.empty()) continue;
    for (size_t x = 0; x < kb_.indexes_.size(); ++x) {
      for (KbCandidate& c : kb_.indexes_[x]->candidates(sig)) {
        if (st.hand_written.contains(c.id)) continue;
        auto it = st.best.find(c.id);
        bool better = it == st.best.end() || x > it->second.index ||
                      (x == it->second.index &&
                       (c.strength == KbStrength::likely) > (it->second.candidate.strength == KbStrength::likely)) ||
                      (x == it->second.index && c.strength == it->second.candidate.strength &&
                       c.score > it->second.candidate.score);
        if (better) {
          std::string id = c.id;  // the key, before c is moved
          const bool judged = &st.kernels.of(window.reports[r]) == &st.kernels.kernel();
          st.best[id] = State::Best{std::move(c), x, first_report + r, judged};
        }
      }
    }
  }
}

KbVerdicts KbMatcher::verdicts() const {
  static const KernelRelease kUnknownKernel;
  const State& st = *state_;
  KbVerdicts out;
  out.kernel = st.kernels.kernel();
  std::vector<const State::Hit*> hits;
  for (const std::optional<State::Hit>& h : st.hits)
    if (h) hits.push_back(&*h);
  std::stable_sort(hits.begin(), hits.end(),
                   [&](const State::Hit* a, const State::Hit* b) { return rank(a->match.verdict) < rank(b->match.verdict); });
  std::vector<bool> judged;  // per match: the report runs the judged kernel
  for (const State::Hit* h : hits) {
    out.matches.push_back(h->match);
    judged.push_back(h->judged);
  }

  std::vector<const State::Best*> ranked;
  for (const auto& [id, b] : st.best) ranked.push_back(&b);
  std::sort(ranked.begin(), ranked.end(), [](const State::Best* a, const State::Best* b) {
    if (a->candidate.strength != b->candidate.strength) return a->candidate.strength == KbStrength::likely;
    if (a->candidate.score != b->candidate.score) return a->candidate.score > b->candidate.score;
    return a->candidate.id > b->candidate.id;
  });
  size_t likely = 0, similar = 0;
  for (const State::Best* b : ranked) {
    bool is_likely = b->candidate.strength == KbStrength::likely;
    if (is_likely ? likely >= kMaxLikely : similar >= kMaxSimilar) continue;
    std::optional<KbEntry> e = kb_.indexes_[b->index]->entry(b->candidate.id);
    if (!e) continue;
    KbMatch m = kb_.judge(*e, b->judged ? st.kernels.kernel() : kUnknownKernel);
    m.strength = b->candidate.strength;
    m.reasons = b->candidate.reasons;
    m.score = b->candidate.score;
    m.report = b->report;
    out.matches.push_back(std::move(m));
    judged.push_back(b->judged);
    ++(is_likely ? likely : similar);
  }
  // Likely before similar; the order within each group stays.
  std::vector<size_t> order(out.matches.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_partition(order.begin(), order.end(),
                        [&](size_t i) { return out.matches[i].strength == KbStrength::likely; });
  std::vector<KbMatch> matches;
  std::vector<bool> judged_in_order;
  for (size_t i : order) {
    matches.push_back(std::move(out.matches[i]));
    judged_in_order.push_back(judged[i]);
  }
  out.matches = std::move(matches);
  // The summary speaks of one kernel: matches of another boot's reports are not in it.
  out.summary = summarize(out.kernel, out.matches, judged_in_order);
  return out;
}

bool KnowledgeBase::needs_diagnosis(const Analysis& analysis, std::string_view kernel_version) const {
  const JudgedKernel kernels(KbLogKernel::of(analysis, kernel_version));
  std::vector<KbReason> reasons;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const KbCondition& m = entries_[i].match;
    if (m.findings.empty() && m.causes.empty()) continue;
    for (size_t r = 0; r < analysis.reports.size(); ++r)
      if (kernel_in_range(m, kernels.of(analysis.reports[r])) &&
          report_matches(m, *compiled_[i], analysis, r, kernels.of(analysis.reports[r]), reasons, /*findings=*/nullptr))
        return true;
  }
  return false;
}

KbLogKernel KbLogKernel::of(const Analysis& analysis, std::string_view kernel_version) {
  KbLogKernel k;
  k.flag = !kernel_version.empty();
  k.release = k.flag ? std::string(kernel_version) : analysis.kernel_version;
  for (const Report& r : analysis.reports) k.see(r);
  return k;
}

void KbLogKernel::see(const Report& r) {
  if (build_seen || r.kernel_release.empty()) return;
  if (release.empty()) release = r.kernel_release;
  if (r.kernel_release == release) {
    build = r.kernel_version;
    build_seen = true;
  }
}

KbVerdicts KnowledgeBase::match(const Analysis& analysis, std::string_view kernel_version) const {
  KbMatcher matcher(*this, KbLogKernel::of(analysis, kernel_version));
  matcher.add(analysis, 0);
  return matcher.verdicts();
}

}  // namespace ktriage

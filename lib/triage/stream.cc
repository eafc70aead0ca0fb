// TriageStream: triage() window by window, in bounded memory.
#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <utility>

#include "ktriage/triage.h"
#include "support/spool.h"
#include "triage/stages.h"

namespace ktriage {

// --- FindingSpool -----------------------------------------------------------

namespace {

// A finding as bytes: length-prefixed strings, fixed-size numbers.
class Writer {
 public:
  void num(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(std::string_view s) {
    num(s.size());
    out_.append(s);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint64_t num() {
    uint64_t v = 0;
    if (in_.size() >= sizeof v) std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(std::min(in_.size(), sizeof v));
    return v;
  }
  std::string str() {
    const size_t n = std::min<uint64_t>(num(), in_.size());
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }

 private:
  std::string_view in_;
};

constexpr uint64_t kNone = UINT64_MAX;

std::string encode(const Finding& f) {
  Writer w;
  w.str(f.id);
  w.str(f.cause);
  w.str(f.title);
  uint64_t confidence;
  static_assert(sizeof confidence == sizeof f.confidence);
  std::memcpy(&confidence, &f.confidence, sizeof confidence);
  w.num(confidence);
  w.str(f.confidence_reason);
  w.num(f.reports.size());
  for (size_t r : f.reports) w.num(r);
  w.num(f.evidence.size());
  for (const Evidence& e : f.evidence) {
    w.str(e.what);
    w.str(e.text);
    w.num(e.report ? *e.report : kNone);
    w.num(e.line ? *e.line : kNone);
  }
  w.str(f.explanation);
  w.num(f.actions.size());
  for (const std::string& a : f.actions) w.str(a);
  return std::move(w.bytes());
}

Finding decode(std::string_view bytes) {
  Reader r(bytes);
  Finding f;
  f.id = r.str();
  f.cause = r.str();
  f.title = r.str();
  uint64_t confidence = r.num();
  std::memcpy(&f.confidence, &confidence, sizeof confidence);
  f.confidence_reason = r.str();
  for (uint64_t n = r.num(), i = 0; i < n && i < bytes.size(); ++i) f.reports.push_back(r.num());
  for (uint64_t n = r.num(), i = 0; i < n && i < bytes.size(); ++i) {
    Evidence e;
    e.what = r.str();
    e.text = r.str();
    if (uint64_t v = r.num(); v != kNone) e.report = v;
    if (uint64_t v = r.num(); v != kNone) e.line = static_cast<uint32_t>(v);
    f.evidence.push_back(std::move(e));
  }
  f.explanation = r.str();
  for (uint64_t n = r.num(), i = 0; i < n && i < bytes.size(); ++i) f.actions.push_back(r.str());
  return f;
}

}  // namespace

struct FindingSpool::State {
  // 32 bytes a finding: a log of a million findings keeps 32 MB here.
  struct Entry {
    double rank;
    uint64_t offset;
    uint32_t length;
    uint32_t group;
    uint32_t analysis;
  };
  support::Spool spool;
  std::deque<Entry> entries;  // in the order added, then ranked (a deque: no doubling copy as it grows)
};

FindingSpool::FindingSpool() : state_(std::make_unique<State>()) {}
FindingSpool::~FindingSpool() = default;

Expected<std::unique_ptr<FindingSpool>> FindingSpool::create() {
  Expected<support::Spool> fileOrErr = support::Spool::file();
  if (!fileOrErr) return fileOrErr.error();
  std::unique_ptr<FindingSpool> out(new FindingSpool());
  out->state_->spool = std::move(*fileOrErr);
  return out;
}

void FindingSpool::add(const RankedFinding& f) {
  std::string bytes = encode(f.finding);
  state_->entries.push_back({f.rank, state_->spool.size(), static_cast<uint32_t>(bytes.size()),
                             static_cast<uint32_t>(f.group), static_cast<uint32_t>(f.analysis)});
  state_->spool.append(bytes);
}

void FindingSpool::rank() {
  // As rank_findings(): stable, so findings added in order stay in order.
  std::stable_sort(state_->entries.begin(), state_->entries.end(), [](const State::Entry& a, const State::Entry& b) {
    if (a.rank != b.rank) return a.rank > b.rank;
    if (a.group != b.group) return a.group < b.group;
    return a.analysis < b.analysis;
  });
}

size_t FindingSpool::size() const { return state_->entries.size(); }

Finding FindingSpool::at(size_t i) const {
  const State::Entry& e = state_->entries[i];
  return decode(state_->spool.read(e.offset, e.length));
}

const std::string& FindingSpool::error() const { return state_->spool.error(); }

// --- TriageStream -----------------------------------------------------------

struct TriageStream::State {
  std::string source;
  TriageOptions options;
  const LogFacts* facts;
  Sink sink;
  size_t window;
  std::optional<Symbolizer> sym;
  debuginfo::Relocations relocations;
  std::optional<KnowledgeBase> kb;
  std::optional<KbMatcher> matcher;
  std::optional<triage_stage::BootLimits> limits;
  std::unique_ptr<FindingSpool> findings;
  std::vector<Report> pending;  // not yet in a window
  size_t done = 0;              // reports in earlier windows
  StackLimit stack_limit;       // of the log's first report's boot
  std::vector<DebugInfoFile> used, refused;
};

TriageStream::TriageStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
TriageStream::TriageStream(TriageStream&&) noexcept = default;
TriageStream& TriageStream::operator=(TriageStream&&) noexcept = default;
TriageStream::~TriageStream() = default;

Expected<TriageStream> TriageStream::open(std::string source, const TriageOptions& options, const LogFacts& facts,
                                          const KbLogKernel& kernel, Sink sink, size_t window) {
  auto st = std::make_unique<State>();
  st->source = std::move(source);
  st->options = options;
  st->facts = &facts;
  st->sink = std::move(sink);
  st->window = std::max<size_t>(window, 1);
  if (has_debug_info(options.debug)) {
    Expected<Symbolizer> symOrErr = Symbolizer::open(options.debug);
    if (!symOrErr) return symOrErr.error();
    st->sym = std::move(*symOrErr);
  }
  Expected<std::optional<KnowledgeBase>> kbOrErr = triage_stage::load_kb(options);
  if (!kbOrErr) return kbOrErr.error();
  st->kb = std::move(*kbOrErr);
  if (st->kb) st->matcher.emplace(*st->kb, kernel);
  Expected<std::unique_ptr<FindingSpool>> spoolOrErr = FindingSpool::create();
  if (!spoolOrErr) return spoolOrErr.error();
  st->findings = std::move(*spoolOrErr);
  return TriageStream(std::move(st));
}

void TriageStream::add(Report report) {
  State& st = *state_;
  st.pending.push_back(std::move(report));
  // Cut between incidents: an incident is at most 32 reports, so one of the
  // 33 after the window's size starts one.
  if (st.pending.size() < st.window + 33) return;
  flush(incident_start(st.pending, st.window));
}

void TriageStream::flush(size_t count) {
  State& st = *state_;
  if (count == 0) return;
  Analysis window;
  window.source = st.source;
  window.reports.assign(std::make_move_iterator(st.pending.begin()),
                        std::make_move_iterator(st.pending.begin() + static_cast<std::ptrdiff_t>(count)));
  st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(count));
  triage_stage::analyse_reports(window, st.options, st.sym ? &*st.sym : nullptr, st.relocations);

  DiagnoseOptions diagnose_options;
  diagnose_options.kernel_version = st.options.kernel_version;
  diagnose_options.details = &window.details;
  diagnose_options.log = st.facts;
  diagnose_options.first_report = st.done;
  if (!st.limits) {
    st.limits.emplace(window.reports[0].boot);
    st.stack_limit = st.limits->of(window.reports, 0, diagnose_options);
  }
  st.limits->apply(window, diagnose_options);
  std::vector<RankedFinding> ranked = diagnose_ranked(window.reports, diagnose_options);
  rank_findings(ranked);
  for (RankedFinding& r : ranked) {
    window.findings.push_back(r.finding);
    // Into the log's numbering.
    for (size_t& k : r.finding.reports) k += st.done;
    for (Evidence& e : r.finding.evidence)
      if (e.report) *e.report += st.done;
    st.findings->add(r);
  }
  if (st.matcher) st.matcher->add(window, st.done);
  for (const DebugInfoFile& f : window.used_debuginfo())
    if (std::none_of(st.used.begin(), st.used.end(), [&](const DebugInfoFile& u) { return u.path == f.path; }))
      st.used.push_back(f);
  for (const DebugInfoFile& f : window.refused_debuginfo())
    if (std::none_of(st.refused.begin(), st.refused.end(), [&](const DebugInfoFile& u) { return u.path == f.path; }))
      st.refused.push_back(f);
  st.sink(window, st.done);
  st.done += count;
}

Expected<TriageTotals> TriageStream::finish() {
  State& st = *state_;
  flush(st.pending.size());
  TriageTotals out;
  out.summary.source = st.source;
  out.summary.stack_limit = st.stack_limit;
  if (st.matcher) {
    KbVerdicts verdicts = st.matcher->verdicts();
    out.summary.kb_matches = std::move(verdicts.matches);
    out.summary.kb_summary = std::move(verdicts.summary);
    out.summary.kernel_version = verdicts.kernel.display();
  }
  out.reports = st.done;
  st.findings->rank();
  if (!st.findings->error().empty()) return Error{st.findings->error()};
  out.findings = std::move(st.findings);
  // A file refused for one report is not "used" because another had nothing to check it against.
  std::erase_if(st.used, [&](const DebugInfoFile& f) {
    return std::any_of(st.refused.begin(), st.refused.end(), [&](const DebugInfoFile& r) { return r.path == f.path; });
  });
  out.used_debuginfo = std::move(st.used);
  out.refused_debuginfo = std::move(st.refused);
  return out;
}

}  // namespace ktriage

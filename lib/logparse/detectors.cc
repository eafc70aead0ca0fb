// The detectors at run time: the table of detector_table.cc built into
// Detector entries whose patterns compile on first use, and the lookups the
// parser makes with them.
#include "logparse/detectors.h"

#include <algorithm>
#include <optional>

#include "logparse/detector_table.h"

namespace ktriage::logparse {
namespace {

using namespace table;

// Stack-part patterns shared by many formats.
const LazyRE2* shared_part(std::string_view name) {
  auto with_required = [](std::string_view pattern, std::vector<std::string> required) {
    LazyRE2 re(pattern);
    re.set_required(std::move(required));
    return re;
  };
  // "NIP" contains "IP".
  static const LazyRE2 rip = with_required(kRipPattern, {"IP", "pc ", "PC is at"});
  static const LazyRE2 call_trace = with_required(kCallTracePattern, {"Call ", "Backtrace:"});
  static const LazyRE2 warn_rip =
      with_required(std::string("(?:").append(kRipPattern).append("|--- interrupt: [0-9]+ at {{FUNC}})"),
                    {"IP", "pc ", "PC is at", "--- interrupt: "});
  if (name == kTrace) return nullptr;
  if (name == kRip) return &rip;
  if (name == kCallTrace) return &call_trace;
  if (name == "<warnrip>") return &warn_rip;
  return nullptr;
}

std::vector<const LazyRE2*> make_parts(const std::vector<std::string_view>& parts,
                                       std::vector<std::unique_ptr<LazyRE2>>& owned) {
  std::vector<const LazyRE2*> out;
  for (std::string_view p : parts) {
    if (p == kTrace || p == kRip || p == kCallTrace || p == "<warnrip>") {
      out.push_back(shared_part(p));
      continue;
    }
    owned.push_back(std::make_unique<LazyRE2>(p));
    out.push_back(owned.back().get());
  }
  return out;
}

// One alternation of all common skips: a frame is skipped when it or the
// format's own skip pattern matches (the same as one joined pattern).
const LazyRE2& common_skip() {
  static const LazyRE2 re = [] {
    std::string skip;
    for (auto s : common_skips()) {
      if (!skip.empty()) skip.push_back('|');
      skip.append(s);
    }
    return LazyRE2(skip, LazyRE2::Syntax::plain);
  }();
  return re;
}

// The table in its runtime shape. Building it copies strings and compiles
// nothing: every pattern is a LazyRE2.
const std::vector<Detector>& built_table() {
  static const std::vector<Detector>* detectors = [] {
    auto* out = new std::vector<Detector>;
    for (const D& d : entries()) {
      Detector det;
      det.header = std::string(d.header);
      for (const K& k : d.kinds) det.kinds.push_back({k.wording.empty() ? LazyRE2() : LazyRE2(k.wording), k.kind});
      for (const T& t : d.types) {
        Detector::TypeRule rule{std::string(t.type), {}};
        for (std::string_view prefix : t.title_prefixes) rule.title_prefixes.emplace_back(prefix);
        det.types.push_back(std::move(rule));
      }
      for (auto s : d.suppress) det.suppress.emplace_back(s);
      det.continues_report = std::string(d.continues_report);
      det.own_report_inside = d.own_report_inside;
      det.syzkaller = d.syzkaller;
      det.fragment = d.fragment;
      for (auto a : d.absorbs) det.absorbs.emplace_back(a);
      for (const F& f : d.formats) {
        TitleFormat tf;
        tf.title = LazyRE2(f.title);
        tf.title_literal = leading_literal(f.title);
        if (!f.report.empty()) {
          tf.report = LazyRE2(f.report);
          tf.report_literal = leading_literal(f.report);
        }
        tf.fmt = std::string(f.fmt);
        for (auto a : f.alt) tf.alt.emplace_back(a);
        tf.no_stack_trace = f.no_stack_trace;
        tf.corrupted = f.corrupted;
        if (f.stack) {
          auto spec = std::make_unique<StackSpec>();
          spec->parts = make_parts(f.stack->parts, spec->owned);
          spec->parts2 = make_parts(f.stack->parts2, spec->owned);
          spec->chooser = f.stack->chooser;
          spec->common_skip = &common_skip();
          std::string skip;
          for (auto s : f.stack->skip) {
            if (!skip.empty()) skip.push_back('|');
            skip.append(s);
          }
          if (!skip.empty()) spec->skip = LazyRE2(skip, LazyRE2::Syntax::plain);
          tf.stack = std::move(spec);
        }
        det.formats.push_back(std::move(tf));
      }
      out->push_back(std::move(det));
    }
    return out;
  }();
  return *detectors;
}

}  // namespace

bool StackSpec::skips(std::string_view frame) const {
  if (common_skip && RE2::PartialMatch(frame, **common_skip)) return true;
  return skip && RE2::PartialMatch(frame, *skip);
}

const std::vector<Detector>& detector_table() { return built_table(); }

const Detector* match_header(std::string_view line) {
  for (const Detector& d : detector_table()) {
    if (line.find(d.header) == std::string_view::npos) continue;
    bool suppressed = false;
    for (const auto& s : d.suppress)
      if (RE2::PartialMatch(line, *s)) {
        suppressed = true;
        break;
      }
    if (!suppressed) return &d;
  }
  return nullptr;
}

bool continues_report(std::string_view line) {
  static const std::vector<std::string_view> literals = [] {
    std::vector<std::string_view> out;
    for (const Detector& d : detector_table())
      if (!d.continues_report.empty()) out.push_back(d.continues_report);
    return out;
  }();
  return std::any_of(literals.begin(), literals.end(),
                     [&](std::string_view l) { return line.find(l) != std::string_view::npos; });
}

CrashKind kind_for_report(const Detector& detector, std::string_view header, std::string_view text) {
  for (const Detector::KindRule& rule : detector.kinds) {
    if (rule.wording && (!rule.wording.may_match(header) || !RE2::PartialMatch(header, *rule.wording))) continue;
    // "BUG: unable to handle kernel" lost its second half: the next lines say which.
    if (rule.kind == CrashKind::oops_paging && header.find("NULL") == std::string_view::npos &&
        header.find("paging") == std::string_view::npos &&
        text.substr(0, 512).find("NULL pointer") != std::string_view::npos)
      return CrashKind::null_deref;
    return rule.kind;
  }
  return CrashKind::other;
}

std::string_view crash_type(const Detector& detector, std::string_view title) {
  for (const Detector::TypeRule& rule : detector.types)
    for (const std::string& prefix : rule.title_prefixes)
      if (title.starts_with(prefix)) return rule.type;
  return "";
}

}  // namespace ktriage::logparse

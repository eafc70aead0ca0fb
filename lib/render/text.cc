// Human report for the terminal: the headline first, then the details a
// kernel engineer reads (fault, IP, trace), nothing computed here.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <iterator>
#include <tuple>
#include <unordered_map>

#include "ktriage/render.h"
#include "render/display.h"
#include "render/stream.h"
#include "support/spool.h"

namespace ktriage {
namespace {

using render::symbol_text;

std::string wrapped(std::string_view text, std::string_view lead, size_t width);

struct Style {
  bool color;
  size_t width;  // wrap prose at this many columns; 0: one line each
  // `text` after `lead`, wrapped to the width (indented under its start).
  std::string prose(std::string_view text, std::string_view lead) const {
    return width ? wrapped(text, lead, width) : fmt::format("{}{}\n", lead, text);
  }
  std::string bold(std::string_view s) const { return wrap("1", s); }
  std::string red(std::string_view s) const { return wrap("1;31", s); }
  std::string dim(std::string_view s) const { return wrap("2", s); }
  std::string wrap(std::string_view code, std::string_view s) const {
    return color ? fmt::format("\033[{}m{}\033[0m", code, s) : std::string(s);
  }
};

// " at mm/slub.c:337:9", with the inline chain when there is one.
std::string location_text(const FrameSymbolization* s) {
  if (!s) return "";
  if (!s->symbolize_error.empty()) return fmt::format("  ({})", s->symbolize_error);
  if (!s->source) return "";
  std::string out = fmt::format("  {}:{}", s->source->file, s->source->line);
  if (s->inlined.size() > 1) {
    out += "  inlined:";
    for (size_t i = 0; i + 1 < s->inlined.size(); ++i)
      out += fmt::format(" {} ({}:{}) ->", s->inlined[i].function, s->inlined[i].location.file,
                         s->inlined[i].location.line);
    // The chain ends in the function that holds the code, at its own line.
    const InlineFrame& outer = s->inlined.back();
    out += " " + outer.function;
    if (outer.location.line) out += fmt::format(" ({}:{})", outer.location.file, outer.location.line);
  }
  return out;
}

void render_code(const ReportDetails& d, const Style& st, std::ostream& out) {
  if (d.fault) {
    const std::string& insn = d.fault->instruction.text;
    out << fmt::format("  faulting insn  {}  ({})\n", insn.empty() ? "not in the log" : insn, to_string(d.fault->access));
    for (const std::string& sentence : fault_sentences(*d.fault)) out << st.prose(sentence, "                 ");
  } else if (!d.code_error.empty()) {
    out << st.dim(fmt::format("  Code:          {}", d.code_error)) << '\n';
  }
  if (d.code_match) {
    const render::CodeCheckText check = render::code_check_text(*d.code_match);
    std::string line = fmt::format("  Code: check    {}: {}", check.label, check.explanation);
    out << (check.alarming ? st.red(line) : line) << '\n';
  }
  if (d.code) {
    out << "  Code: decoded\n";
    for (const Instruction& i : d.code->instructions) {
      std::string line = fmt::format("    {} {:#x}: {}", i.faulting ? "=>" : "  ", i.address, i.text);
      out << (i.faulting ? st.bold(line) : line) << '\n';
    }
  }
}

void render_listing(const FunctionListing& l, const Style& st, std::ostream& out) {
  const bool module = l.object != "vmlinux";
  const std::string what = render::listing_frame_text(l);
  const render::ListingWindow window = render::listing_window(l);
  const size_t first = window.first, last = window.last;
  std::string head = fmt::format("  disassembly    {}{} ({}, {:#x} bytes", l.function, module ? " [" + l.object + "]" : "",
                                 what, l.size);
  if (!window.whole) {
    head += fmt::format("; instructions {}-{} of {}, --disasm {} for all", first + 1, last, l.instructions.size(),
                        l.frame);
  }
  out << head << ")\n";
  for (const std::string& w : l.warnings) out << st.dim(fmt::format("                 note: {}", w)) << '\n';
  // A module's addresses are only meaningful as offsets when the log did not
  // print where it was loaded.
  const bool show_address = l.runtime || !module;
  std::string location;
  for (size_t k = first; k < last; ++k) {
    const ListingInstruction& i = l.instructions[k];
    std::string loc = i.source ? "; " + render::listing_location(i) : "";
    if (!loc.empty() && (loc != location || k == first)) out << st.dim("                 " + loc) << '\n';
    location = loc;
    std::string line = fmt::format("    {} {:<8}", i.faulting ? "=>" : "  ", fmt::format("<+{:#x}>", i.offset));
    if (show_address) line += fmt::format(" {:x}:", i.insn.address);
    line += " " + i.insn.text + render::listing_target_text(i);
    out << (i.faulting ? st.bold(line) : line) << '\n';
  }
}

void render_report(const Report& r, const ReportDetails& d, size_t index, std::string_view source, const Style& st,
                   std::ostream& out) {
  // syzkaller titles a report whose guilty frame it cannot pick "... in
  // corrupted"; people read the header's words (JSON keeps the title).
  std::string_view title = r.title.empty() ? std::string_view(r.header) : std::string_view(r.title);
  if (title.ends_with(" in corrupted")) title.remove_suffix(13);
  out << st.red(fmt::format("Report {}: {}", index + 1, title)) << '\n';
  auto field = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) out << fmt::format("  {:<14} {}\n", name, value);
  };
  const Symbolization* sym = d.symbols ? &*d.symbols : nullptr;
  field("kind", std::string(to_string(r.kind)));
  field("header", r.header);
  if (r.source != source) field("input", r.source);
  field("lines", fmt::format("{}-{}", r.span.first_line, r.span.last_line));
  if (r.boot > 0) field("boot", fmt::format("#{} in its input (boot #1 is the first)", r.boot + 1));
  if (r.arch != Arch::unknown) field("arch", std::string(to_string(r.arch)));
  field("kernel", r.kernel_release);
  field("taint", r.taint.flags);
  std::string task;
  if (r.cpu) task += fmt::format("CPU {} ", *r.cpu);
  if (r.pid) task += fmt::format("PID {} ", *r.pid);
  if (!r.comm.empty()) task += fmt::format("comm {}", r.comm);
  field("task", task);
  if (r.preempt_count) field("preempt_count", fmt::format("{:#x}", *r.preempt_count));
  if (r.fault_address) field("fault address", fmt::format("{:#x}", *r.fault_address));
  if (r.error_code) field("error code", fmt::format("{:#x} ({})", r.error_code->code, r.error_code->describe()));
  if (r.ip) field("ip", symbol_text(*r.ip) + location_text(sym && sym->ip ? &*sym->ip : nullptr));
  if (sym && sym->kaslr_offset) field("kaslr offset", sym->kaslr_offset_hex() + " (" + sym->kaslr_source + ")");
  if (sym) {
    for (const DebugInfoFile& f : sym->debuginfo) {
      if (f.match == DebugMatch::mismatch)
        out << st.red("  " + mismatch_text(f)) << '\n';
    }
  }
  // syzkaller's verdicts on its own title text ("no stack trace in report")
  // read as nonsense above a trace ktriage did read: JSON keeps them.
  static constexpr std::string_view kTraceVerdicts[] = {"no stack trace in report", "extracted no frames",
                                                         "no frames in a stack trace"};
  bool says_no_trace = std::find(std::begin(kTraceVerdicts), std::end(kTraceVerdicts), r.corrupted_reason) !=
                       std::end(kTraceVerdicts);
  if (r.corrupted && !(says_no_trace && !r.frames.empty()))
    field("corrupted", r.corrupted_reason.empty() ? "yes" : r.corrupted_reason);
  render_code(d, st, out);
  for (const FunctionListing& l : d.disassembly) {
    if (l.frame == "ip") render_listing(l, st, out);
  }
  if (!r.frames.empty()) {
    size_t unreliable = 0;
    for (const Frame& f : r.frames) unreliable += !f.reliable;
    out << fmt::format("  call trace     {} frames, {} unreliable\n", r.frames.size(), unreliable);
    // Why a frame has no source line ("no debug file for module crashzoo")
    // is said at its first frame only.
    std::vector<std::string_view> said;
    auto frame_text = [&](size_t i) {
      const Frame& f = r.frames[i];
      const FrameSymbolization* fs = sym && i < sym->frames.size() ? &sym->frames[i] : nullptr;
      std::string printed;
      if (f.printed_source && !(fs && fs->source))
        printed = fmt::format("  {}:{}", f.printed_source->file, f.printed_source->line);
      if (f.printed_inline) printed += " [inline]";
      const bool repeat = fs && std::find(said.begin(), said.end(), fs->symbolize_error) != said.end();
      return fmt::format("{}{}{}", symbol_text(f), repeat ? "" : location_text(fs), printed);
    };
    // A recursion prints one frame dozens of times: identical frames in a
    // row show once, with their index range and count ("#0-#71 ... x72").
    for (size_t i = 0; i < r.frames.size();) {
      const Frame& f = r.frames[i];
      std::string text = frame_text(i);
      size_t j = i + 1;
      while (j < r.frames.size() && r.frames[j].reliable == f.reliable && frame_text(j) == text) ++j;
      if (j - i < 3) j = i + 1;  // two in a row stay two lines
      const std::string numbers = j - i > 1 ? fmt::format("#{}-#{}", i, j - 1) : fmt::format("#{}", i);
      const std::string count = j - i > 1 ? fmt::format("  \u00d7{}", j - i) : "";
      const std::string line = fmt::format("    {} {:<3} {}{}", f.reliable ? " " : "?", numbers, text, count);
      out << (f.reliable ? line : st.dim(line)) << '\n';
      if (sym && i < sym->frames.size() && !sym->frames[i].symbolize_error.empty())
        said.push_back(sym->frames[i].symbolize_error);
      i = j;
    }
  }
  for (const FunctionListing& l : d.disassembly) {
    if (l.frame != "ip") render_listing(l, st, out);
  }
  for (const std::string& e : d.disassembly_errors) out << st.dim(fmt::format("  disassembly    {}", e)) << '\n';
  for (const Anomaly& a : r.anomalies) out << st.dim(fmt::format("  note: line {}: {}", a.line, a.message)) << '\n';
}

// `reports`, when given, replaces the list of the finding's own reports.
void render_finding(const Finding& f, bool headline, const Style& st, std::ostream& out,
                    std::string_view reports = {}) {
  std::string head = fmt::format("{} [{}, confidence {:.0f}%]", f.title, f.cause, f.confidence * 100);
  out << (headline ? st.red("Most likely: " + head) : st.bold(head)) << '\n';
  if (!f.confidence_reason.empty()) out << st.prose(f.confidence_reason, "  confidence: ");
  if (!reports.empty()) {
    out << fmt::format("  reports: {}\n", reports);
  } else if (!f.reports.empty()) {
    std::string ids;
    for (size_t r : f.reports) ids += fmt::format("{}{}", ids.empty() ? "" : ", ", r + 1);
    out << fmt::format("  reports: {}\n", ids);
  }
  if (!f.evidence.empty()) {
    out << "  evidence:\n";
    for (const Evidence& e : f.evidence) {
      std::string where = e.line ? fmt::format("line {}: ", *e.line) : "";
      out << st.prose(where + e.text, "    - ");
    }
  }
  if (!f.explanation.empty()) out << st.prose(f.explanation, "  why: ");
  for (const std::string& a : f.actions) out << st.prose(a, "  -> ");
}

// What a finding says, but not about which reports or lines: a storm of one
// oops gives one finding per report, all saying the same.
std::string finding_key(const Finding& f) {
  std::string key = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n", f.id, f.title, f.cause, f.confidence,
                                f.confidence_reason, f.explanation);
  for (const std::string& a : f.actions) key += a + '\n';
  for (const Evidence& e : f.evidence) key += e.what + ' ' + e.text + '\n';
  return key;
}

// Report indices, kept as runs of consecutive ones.
class Runs {
 public:
  void add(size_t r) {
    if (runs_.empty() || r > runs_.back().second + 1) {
      runs_.emplace_back(r, r);
    } else if (r == runs_.back().second + 1) {
      ++runs_.back().second;
    } else if (r >= runs_.back().first) {
      return;  // already in
    } else {
      // Out of order (rare): the first run ending at or after r - 1.
      auto at = std::lower_bound(runs_.begin(), runs_.end(), r,
                                 [](const std::pair<size_t, size_t>& run, size_t v) { return run.second + 1 < v; });
      if (at->first <= r && r <= at->second) return;  // already in
      if (at->second + 1 == r) {
        at->second = r;
        if (auto next = std::next(at); next != runs_.end() && next->first == r + 1) {
          at->second = next->second;
          runs_.erase(next);
        }
      } else if (at->first == r + 1) {
        at->first = r;  // the run before ends before r - 1
      } else {
        runs_.insert(at, {r, r});
      }
    }
    ++count_;
  }
  size_t count() const { return count_; }

  // As 1-based numbers, "1-3, 7, 9-12"; past `max_runs` runs, "..." and how
  // many reports in all.
  std::string text(size_t max_runs = 8) const {
    std::string out;
    for (size_t i = 0; i < runs_.size(); ++i) {
      if (i == max_runs) return out + fmt::format(", ... ({} reports)", count_);
      out += fmt::format("{}{}", out.empty() ? "" : ", ", runs_[i].first + 1);
      if (runs_[i].second > runs_[i].first) out += fmt::format("-{}", runs_[i].second + 1);
    }
    return out;
  }

 private:
  std::vector<std::pair<size_t, size_t>> runs_;
  size_t count_ = 0;
};

// A key as a 128-bit digest: what groups reports and findings is kept for
// the whole log, not its text.
struct Digest {
  uint64_t a, b;
  bool operator==(const Digest&) const = default;
};
struct DigestHash {
  size_t operator()(const Digest& d) const { return d.a ^ (d.b * 0x9e3779b97f4a7c15ull); }
};
Digest digest(std::string_view key) {
  uint64_t fnv = 0xcbf29ce484222325ull;
  for (unsigned char c : key) fnv = (fnv ^ c) * 0x100000001b3ull;
  return {std::hash<std::string_view>{}(key), fnv};
}

// Groups of identical things (reports, findings) by key, among the last
// kRecent different keys: a storm of one oops is one group, and memory stays
// bounded on a log of a million different ones. An older key's group is
// handed to `retire` when it leaves; the same key later starts a new group.
template <typename Group>
class RecentGroups {
 public:
  static constexpr size_t kRecent = 4096;

  // The key's group, and whether it is new.
  template <typename Retire>
  std::pair<Group*, bool> find_or_add(const Digest& key, Retire retire) {
    if (auto it = current_.find(key); it != current_.end()) return {&it->second, false};
    if (auto it = previous_.find(key); it != previous_.end()) {
      auto node = previous_.extract(it);
      return {&current_.insert(std::move(node)).position->second, false};
    }
    if (current_.size() >= kRecent) {
      for (auto& [k, g] : previous_) retire(g);
      evicted_ |= !previous_.empty();
      previous_ = std::move(current_);
      current_.clear();
    }
    return {&current_.try_emplace(key).first->second, true};
  }
  // The groups still held, in no order.
  template <typename Retire>
  void retire_all(Retire retire) {
    for (auto& [k, g] : previous_) retire(g);
    for (auto& [k, g] : current_) retire(g);
    previous_.clear();
    current_.clear();
  }
  // Whether a group left before the end: "in all" no longer holds.
  bool evicted() const { return evicted_; }

 private:
  std::unordered_map<Digest, Group, DigestHash> current_, previous_;
  bool evicted_ = false;
};

// Every finding; the same finding about several reports once, with a count.
// Two passes over the findings: the first counts each group's members, the
// second prints each group where its first member is.
class FindingGroups {
 public:
  explicit FindingGroups(const FindingSource& findings) : findings_(findings) {
    RecentGroups<Group> recent;
    auto retire = [&](Group& g) {
      if (g.members > 1) repeated_.emplace(g.first, std::move(g));
    };
    for (size_t i = 0; i < findings.size(); ++i) {
      const Finding f = findings.at(i);
      auto [g, fresh] = recent.find_or_add(digest(finding_key(f)), retire);
      if (fresh) g->first = i;
      ++g->members;
      for (size_t r : f.reports) g->reports.add(r);
    }
    recent.retire_all(retire);
    evicted_ = recent.evicted();
  }
  bool evicted() const { return evicted_; }

  void render(const Style& st, std::ostream& out) const {
    struct Seen {};
    RecentGroups<Seen> recent;  // the first pass again: the same groups start at the same findings
    for (size_t i = 0; i < findings_.size(); ++i) {
      const Finding f = findings_.at(i);
      if (!recent.find_or_add(digest(finding_key(f)), [](Seen&) {}).second) continue;
      out << '\n';
      auto g = repeated_.find(i);
      if (g == repeated_.end()) {
        render_finding(f, i == 0, st, out);
        continue;
      }
      render_finding(f, i == 0, st, out,
                     fmt::format("{} ({} {}: the same finding for each; evidence of the first)", g->second.reports.text(),
                                 st.bold(fmt::format("\u00d7{}", g->second.members)), evicted_ ? "nearby" : "in all"));
    }
  }

 private:
  struct Group {
    size_t first = 0;
    size_t members = 0;
    Runs reports;
  };
  const FindingSource& findings_;
  std::unordered_map<size_t, Group> repeated_;  // groups of several, by first member
  bool evicted_ = false;
};

// --fetch-debuginfo: the files found, or that the analysis has none.
void render_fetch(const FetchReport& f, const Style& st, std::ostream& out) {
  for (const FetchedFile& file : f.files) {
    out << fmt::format("debug info: {} {} from {}\n", file.role == "vmlinux" ? "vmlinux" : "module " + file.name,
                       file.path, file.source);
  }
  if (f.files.empty()) out << st.red("debug info: none could be fetched; the analysis below has no source lines") << '\n';
  for (const std::string& p : f.problems) out << st.red(fmt::format("debug info: {}", p)) << '\n';
}

// `text` reflowed into lines of at most `width` columns (a longer word has
// a line of its own), the first after `lead` and the rest indented as deep;
// a blank line in it starts a new paragraph.
std::string wrapped(std::string_view text, std::string_view lead, size_t width) {
  const std::string indent(lead.size(), ' ');
  std::string out, line(lead);
  bool line_empty = true;
  auto flush = [&] {
    out += line + '\n';
    line = indent;
    line_empty = true;
  };
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i).starts_with("\n\n") && !line_empty) {
      flush();
      out += '\n';
    }
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i) break;
    std::string_view word = text.substr(i, j - i);
    if (!line_empty && line.size() + 1 + word.size() > width) flush();
    if (!line_empty) line += ' ';
    line += word;
    line_empty = false;
    i = j;
  }
  if (!line_empty) flush();
  return out;
}

void render_kb(const Analysis& a, const Style& st, std::ostream& out) {
  if (a.kb_matches.empty()) return;
  const KbKernel& kernel = a.kb_summary.kernel;
  out << '\n' << st.bold("Known bugs that match") << '\n';
  if (std::string summary = kb_summary_text(a.kb_matches, a.kb_summary); !summary.empty())
    out << fmt::format("  {}\n", summary);
  for (const KbMatch& m : a.kb_matches) {
    std::string tag(to_string(m.verdict));
    if (m.strength == KbStrength::similar) tag += ", similar";
    out << fmt::format("  [{}] {}: {}\n", tag, m.id, m.title);
    if (!m.commit.empty())
      out << fmt::format("      fix: {} \"{}\"{}\n", m.commit, m.subject,
                         m.fixed_in.empty() ? "" : fmt::format(" (upstream {})", m.fixed_in));
    if (std::string carried = kb_carried_by_text(m, kernel); !carried.empty())
      out << fmt::format("      carried by: {}\n", carried);
    // Why an imported entry matched (a hand-written one matched all its conditions).
    if (!m.cve.empty() && !m.reasons.empty()) {
      std::string why;
      for (const KbReason& r : m.reasons) why += (why.empty() ? "" : "; ") + kb_reason_text(r);
      out << fmt::format("      matched on: {}\n", why);
    }
    if (std::string verdict = kb_verdict_text(m, kernel); !verdict.empty()) out << fmt::format("      {}\n", verdict);
    // Advice is written as paragraphs to reflow: 78 columns, or the terminal's if narrower.
    if (!m.advice.empty()) out << wrapped(m.advice, "      -> ", st.width ? std::min<size_t>(st.width, 78) : 78);
    for (const std::string& r : m.references) out << st.dim(fmt::format("      see {}", r)) << '\n';
  }
}

// A report's text but for its first line (its number and title) and its
// lines: with the title, what makes two reports "the same" to a reader.
std::string without_number_and_lines(std::string_view text) {
  std::string out;
  size_t at = text.find('\n');
  if (at == std::string_view::npos) return out;
  for (size_t next; at + 1 < text.size(); at = next) {
    next = text.find('\n', at + 1);
    if (next == std::string_view::npos) next = text.size();
    std::string_view line = text.substr(at + 1, next - at - 1);
    if (!line.starts_with("  lines ")) out.append(line).push_back('\n');
  }
  return out;
}

// Every report; identical ones (but for their number and lines) once, with
// a count: a log of the same oops 8000 times reads as one report "x8000".
// The reports come a window at a time; each group's first report is
// written to `spool` when it comes, the count after it at the end.
class ReportGroups {
 public:
  void add(const Report& r, const ReportDetails& d, size_t index, std::string_view source, const Style& st,
           support::Spool& spool) {
    std::ostringstream s;
    render_report(r, d, index, source, st, s);
    const std::string text = std::move(s).str();
    auto [g, fresh] = recent_.find_or_add(digest(r.title + '\n' + without_number_and_lines(text)),
                                          [&](Group& old) { retire(old); });
    if (fresh) {
      spool.append("\n");
      spool.append(text);
      g->end = spool.size();
    }
    g->reports.add(index);
    g->last = r.span;
  }

  // Whether identical reports far apart were shown apart.
  bool evicted() const { return recent_.evicted(); }

  void write(const support::Spool& spool, const Style& st, std::ostream& out) {
    recent_.retire_all([&](Group& g) { retire(g); });
    std::sort(repeated_.begin(), repeated_.end(), [](const Group& a, const Group& b) { return a.end < b.end; });
    uint64_t at = 0;
    for (const Group& g : repeated_) {
      spool.copy_to(out, at, g.end);
      at = g.end;
      out << fmt::format("  {:<14} {} {}: reports {}, the same but for their lines (the last: {}-{})\n", "repeated",
                         st.bold(fmt::format("\u00d7{}", g.reports.count())), evicted() ? "nearby" : "in all",
                         g.reports.text(), g.last.first_line, g.last.last_line);
    }
    spool.copy_to(out, at, spool.size());
  }

 private:
  struct Group {
    uint64_t end = 0;  // of the first report's text in the spool
    Runs reports;
    Span last;
  };
  void retire(Group& g) {
    if (g.reports.count() > 1) repeated_.push_back(std::move(g));
  }
  RecentGroups<Group> recent_;
  std::vector<Group> repeated_;  // groups of several that left recent_
};

// The lines above the findings: inputs, kernel, debug files.
void render_head(const Analysis& head, size_t reports, const std::vector<DebugInfoFile>& refused,
                 const std::vector<DebugInfoFile>& used, bool grouped_nearby, const Style& st, std::ostream& out) {
  const std::string inputs = head.sources.size() > 1 ? fmt::format("{} inputs", head.sources.size()) : head.source;
  out << st.bold(fmt::format("{}: {} crash report{}\n", inputs, reports, reports == 1 ? "" : "s"));
  if (!head.kernel_version.empty()) out << fmt::format("kernel version: {}\n", head.kernel_version);
  for (const DebugInfoFile& f : refused) out << st.red(mismatch_text(f)) << '\n';
  // Which files every location below comes from, once.
  for (const DebugInfoFile& f : used) {
    std::string notes = f.has_dwarf ? "" : ", symbols only";
    if (f.match == DebugMatch::mismatch) notes += fmt::format(", may not match ({})", to_string(f.confidence));
    out << fmt::format("debug info: {} {}{}\n", f.role == "module" ? "module " + f.name + ":" : f.role, f.path, notes);
  }
  if (head.debuginfo_fetch) render_fetch(*head.debuginfo_fetch, st, out);
  if (grouped_nearby)
    out << fmt::format("identical reports and findings are grouped among the last {} different ones: a repeat "
                       "further apart is shown again\n",
                       RecentGroups<int>::kRecent);
}

std::string_view report_source(const Analysis& a) {
  return a.sources.size() > 1 ? std::string_view() : std::string_view(a.source);
}

}  // namespace

void render_text(const Analysis& analysis, const RenderOptions& options, std::ostream& out) {
  Style st{options.color, options.width};
  if (analysis.reports.empty()) {
    const std::string inputs =
        analysis.sources.size() > 1 ? fmt::format("{} inputs", analysis.sources.size()) : analysis.source;
    out << fmt::format("{}: no crash reports found\n", inputs);
    return;
  }
  static const ReportDetails kNoDetails;
  support::Spool spool;
  ReportGroups groups;
  for (size_t i = 0; i < analysis.reports.size(); ++i)
    groups.add(analysis.reports[i], i < analysis.details.size() ? analysis.details[i] : kNoDetails, i,
               report_source(analysis), st, spool);
  const FindingList list(analysis.findings);
  const FindingGroups findings(list);
  render_head(analysis, analysis.reports.size(), analysis.refused_debuginfo(), analysis.used_debuginfo(),
              groups.evicted() || findings.evicted(), st, out);
  findings.render(st, out);
  render_kb(analysis, st, out);
  groups.write(spool, st, out);
}

// --- A log analysed in windows --------------------------------------------

struct ReportStream::State {
  ReportFormat format;
  Style style;
  std::vector<std::string> sources;
  support::Spool spool;
  ReportGroups groups;  // text
};

ReportStream::ReportStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
ReportStream::ReportStream(ReportStream&&) noexcept = default;
ReportStream& ReportStream::operator=(ReportStream&&) noexcept = default;
ReportStream::~ReportStream() = default;

Expected<ReportStream> ReportStream::open(ReportFormat format, const RenderOptions& options,
                                          std::vector<std::string> sources) {
  if (format != ReportFormat::text && format != ReportFormat::json)
    return Error{"only text and JSON are written window by window"};
  Expected<support::Spool> spoolOrErr = support::Spool::file();
  if (!spoolOrErr) return spoolOrErr.error();
  auto st = std::make_unique<State>(State{format, Style{options.color, options.width}, std::move(sources),
                                          std::move(*spoolOrErr), {}});
  return ReportStream(std::move(st));
}

void ReportStream::window(const Analysis& window, size_t first) {
  State& st = *state_;
  if (st.format == ReportFormat::json) return render_stream::json_window(window, first, st.spool);
  static const ReportDetails kNoDetails;
  const std::string_view source = st.sources.size() > 1 ? std::string_view() : std::string_view(window.source);
  for (size_t i = 0; i < window.reports.size(); ++i)
    st.groups.add(window.reports[i], i < window.details.size() ? window.details[i] : kNoDetails, first + i, source,
                  st.style, st.spool);
}

Expected<bool> ReportStream::finish(const Analysis& head, size_t reports, const FindingSource& findings,
                                    const std::vector<DebugInfoFile>& used, const std::vector<DebugInfoFile>& refused,
                                    std::ostream& out) {
  State& st = *state_;
  if (!st.spool.error().empty()) return Error{st.spool.error()};
  if (st.format == ReportFormat::json) {
    render_stream::json_finish(head, reports, findings, st.spool, out);
  } else if (reports == 0) {
    const std::string inputs = head.sources.size() > 1 ? fmt::format("{} inputs", head.sources.size()) : head.source;
    out << fmt::format("{}: no crash reports found\n", inputs);
  } else {
    const FindingGroups groups(findings);
    render_head(head, reports, refused, used, st.groups.evicted() || groups.evicted(), st.style, out);
    groups.render(st.style, out);
    render_kb(head, st.style, out);
    st.groups.write(st.spool, st.style, out);
  }
  if (!st.spool.error().empty()) return Error{st.spool.error()};
  return true;
}

}  // namespace ktriage

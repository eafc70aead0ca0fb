// Streaming orchestration: split input into lines, find report headers with
// a cheap literal prefilter, collect each report's lines, and turn finished
// reports into Report values (classification here, fields in fields.cc).
//
// Boundaries follow syzkaller's reading of console logs so that the first
// report and its title agree with syzbot: lines are attributed by printk
// caller context ([T123]/[C1]); questionable ("?") frames are left out of
// the title text; the title text ends where the next report starts, except
// for messages printed in the middle of a report (invalid opcode, Kernel
// panic, ...). Unlike syzkaller we list every report, not only the first.
#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ktriage/logparse.h"
#include "logparse/detectors.h"
#include "logparse/fields.h"
#include "logparse/lines.h"
#include "logparse/titles.h"

namespace ktriage {
namespace {

using logparse::Detector;
using logparse::LogLine;
using logparse::Notice;

constexpr std::string_view kConsole = "console";
constexpr size_t kMaxOpenReports = 8;
constexpr size_t kMaxQueued = 64;
constexpr size_t kMaxTitleTextBytes = 512 * 1024;
constexpr size_t kMaxReportLineBytes = 1024 * 1024;
// A report whose trace went quiet this many lines ago is over.
constexpr uint32_t kQuietLines = 150;
// Lines read for the title after the report itself ended (caller-context logs).
constexpr uint32_t kTitleTailLines = 200;
// A panic or console hangup concerns reports that started this recently.
constexpr uint32_t kRecentLines = 2000;

bool has(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// Newlines in `s`: the fast path skips megabytes of filler and still has to
// number the lines it skipped.
size_t count_newlines(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  size_t i = 0;
  size_t count = 0;
#ifdef __SSE2__
  const __m128i nl = _mm_set1_epi8('\n');
  while (i + 16 <= n) {
    // Per-byte counters (0 or -1 per match) summed for at most 255 blocks.
    __m128i acc = _mm_setzero_si128();
    size_t blocks = std::min<size_t>((n - i) / 16, 255);
    for (size_t b = 0; b < blocks; ++b, i += 16)
      acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), nl));
    __m128i sums = _mm_sad_epu8(acc, _mm_setzero_si128());
    count += static_cast<size_t>(_mm_cvtsi128_si32(sums)) +
             static_cast<size_t>(_mm_cvtsi128_si32(_mm_unpackhi_epi64(sums, sums)));
  }
#endif
  for (; i < n; ++i) count += p[i] == '\n';
  return count;
}

// syzkaller's notion of a line's context: "" without a dmesg timestamp,
// "console" with one, or the printk caller id ("[  T123]") when printed.
// Parses "<N>[ 12.345678][ T123] " at `s`; returns the context or nullopt.
std::optional<std::string_view> timestamp_context(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < s.size() && s[i] == '<') {
    ++i;
    if (!digits() || i >= s.size() || s[i] != '>') return std::nullopt;
    ++i;
  }
  if (i >= s.size() || s[i] != '[') return std::nullopt;
  ++i;
  while (i < s.size() && s[i] == ' ') ++i;
  if (!digits() || i >= s.size() || s[i] != '.') return std::nullopt;
  ++i;
  if (!digits() || i >= s.size() || s[i] != ']') return std::nullopt;
  ++i;
  std::string_view ctx = kConsole;
  if (i < s.size() && s[i] == '[') {
    size_t open = i++;
    while (i < s.size() && s[i] == ' ') ++i;
    if (i < s.size() && (s[i] == 'C' || s[i] == 'T')) {
      ++i;
      if (digits() && i < s.size() && s[i] == ']') {
        ++i;
        ctx = s.substr(open, i - open);
      } else {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  if (i >= s.size() || s[i] != ' ') return std::nullopt;
  return ctx;
}

// syzkaller's notion of a line's context: "" without a dmesg timestamp,
// "console" with one, or the printk caller id ("[  T123]") when printed.
std::string_view line_context(std::string_view raw) {
  if (raw.find(']') == std::string_view::npos) return "";
  std::string_view s = raw;
  static constexpr std::string_view kDropped = "** ";
  if (s.starts_with(kDropped)) {
    static const RE2 dropped(R"(^\*\* [0-9]+ printk messages dropped \*\* )", RE2::Latin1);
    re2::StringPiece in(s.data(), s.size());
    if (RE2::Consume(&in, dropped)) s = std::string_view(in.data(), in.size());
  }
  if (auto ctx = timestamp_context(s)) return *ctx;
  // "host login: [  12.3] ..." (the console shared with a getty): the
  // timestamp may follow any " login: ".
  for (size_t at = s.rfind(" login: "); at != std::string_view::npos;
       at = at ? s.rfind(" login: ", at - 1) : std::string_view::npos) {
    if (auto ctx = timestamp_context(s.substr(at + 8))) return *ctx;
    if (at == 0) break;
  }
  return "";
}

// A console line whose prefix is stripped (clean_line) only when needed:
// lines read only for the title text do without. Cleans into `line`, a
// buffer the parser reuses from line to line.
struct LazyLine {
  std::string_view raw;
  uint64_t offset;
  uint64_t length;
  uint32_t number;
  bool cut;
  LogLine& line;
  bool done = false;

  LogLine& get() {
    if (!done) {
      logparse::clean_line(raw, line);
      line.offset = offset;
      line.length = length;
      line.number = number;
      line.cut = cut;
      done = true;
    }
    return line;
  }
};

bool is_caller_context(std::string_view ctx) { return !ctx.empty() && ctx != kConsole; }
bool is_cpu_context(std::string_view ctx) { return ctx.find('C') != std::string_view::npos; }

// An open report's lines. Reports come and go by the thousand, each with a
// few hundred lines: cleared stores keep their slots, and a slot's string
// buffers, for the next report instead of freeing and allocating them again.
class LineStore {
 public:
  void push(const LogLine& line) {
    if (used_ < slots_.size()) slots_[used_] = line;
    else slots_.push_back(line);
    ++used_;
  }
  void clear() {
    // Unless a report of very long lines left big buffers behind.
    size_t bytes = 0;
    for (size_t i = 0; i < used_; ++i) bytes += slots_[i].text.capacity();
    if (bytes > kMaxKeptBytes) slots_ = {};
    used_ = 0;
  }
  size_t size() const { return used_; }
  const LogLine& front() const { return slots_.front(); }
  const LogLine& back() const { return slots_[used_ - 1]; }
  std::span<const LogLine> all() const { return {slots_.data(), used_}; }

 private:
  static constexpr size_t kMaxKeptBytes = 1 << 20;
  std::vector<LogLine> slots_;
  size_t used_ = 0;
};

struct OpenReport {
  const Detector* detector = nullptr;
  std::string context;
  LineStore lines;               // for extract_fields
  std::string text;              // syzkaller report text (stripped, '\n' joined)
  size_t title_end = 0;          // syzkaller reportEnd
  uint32_t header_line = 0;
  uint64_t header_offset = 0;
  bool fields_open = true;
  bool title_frozen = false;     // a second report started: title text ends here
  bool text_open = true;
  bool skip_text = false;
  bool cpu_traceback = false;
  bool is_warning = false;
  uint32_t text_lines = 0;
  uint32_t min_lines = 22;
  uint32_t last_trace_line = 0;  // last line that looked like part of a trace
  uint32_t fields_closed_at = 0;
  bool truncated = false;
  bool panicked = false;         // a "Kernel panic" line came after the header
  bool follows_report = false;   // started inside another report of its stream
  bool cut_off = false;          // input ended or the machine rebooted mid-report
  bool hangup = false;           // the console disconnected after the header
  size_t line_bytes = 0;
  std::vector<Anomaly> anomalies;
};

// WARN() output ("WARNING: at file:line", "WARNING: CPU: 0 PID: 1 at ..."),
// not a printk that merely starts with "WARNING:".
bool is_real_warning(std::string_view text) {
  static const RE2 re(R"((?:WARNING: .*at [^ ]+:[0-9]+|WARNING: [^ ]+:[0-9]+ at |Badness at ))", RE2::Latin1);
  return RE2::PartialMatch(text, re);
}

bool from_user_space(std::string_view raw) {
  static const RE2 re(R"(^(?:<[0-9]+>)?[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ ([^ :\[]+)(?:\[[0-9]+\])?: )",
                      RE2::Latin1);
  std::string program;
  return RE2::PartialMatch(raw, re, &program) && program != "kernel";
}

// "func+0x4" or "func+0x4d/" with the size missing: the line was cut.
bool ends_mid_frame(std::string_view text) {
  static const RE2 re(R"(\+0x[0-9a-fA-F]*/?(?:0x?)?[0-9a-fA-F]*$)", RE2::Latin1);
  static const RE2 whole(R"(\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+(?: \[[^\]]*\])?\s*$)", RE2::Latin1);
  return RE2::PartialMatch(text, re) && !RE2::PartialMatch(text, whole);
}

// Where " ? " starts in `s`, or npos. Looks for the rare '?' rather than
// stopping at every space as string_view::find(" ? ") does.
size_t find_spaced_question_mark(std::string_view s) {
  for (size_t q = s.find('?'); q != std::string_view::npos; q = s.find('?', q + 1))
    if (q > 0 && q + 1 < s.size() && s[q - 1] == ' ' && s[q + 1] == ' ') return q - 1;
  return std::string_view::npos;
}

// has(s, " at: ") by its colons.
bool has_at_colon(std::string_view s) {
  for (size_t c = s.find(':'); c != std::string_view::npos; c = s.find(':', c + 1))
    if (c >= 3 && c + 1 < s.size() && s.compare(c - 3, 3, " at") == 0 && s[c + 1] == ' ') return true;
  return false;
}

bool looks_like_report_line(const LogLine& line) {
  static constexpr logparse::Needle kMarks[] = {"+0x",    "[<",    "Call Trace",     "RIP:",          "Code:",
                                                "<IRQ>", "<EOI>", "Modules linked", "Hardware name", "Tainted:"};
  for (const logparse::Needle& n : kMarks)
    if (line.bytes.covers(n.bytes) && has(line.text, n.text)) return true;
  static constexpr logparse::ByteSet kAtColon(" at:");
  return line.bytes.covers(kAtColon) && has_at_colon(line.text);
}

}  // namespace

struct LogParser::Impl {
  ParseOptions options;
  Sink sink;
  std::vector<Report> reports;

  std::string pending;           // partial line across feed() calls (capped)
  uint64_t pending_raw_len = 0;  // true length of the partial line
  bool pending_cut = false;
  uint64_t offset = 0;           // offset of the next line to start
  uint32_t line_number = 0;

  // A header waits one line: syzkaller ignores headers that are immediately
  // replayed ("** replaying previous printk message **").
  bool held = false;
  std::string held_raw;
  uint64_t held_offset = 0;
  uint64_t held_len = 0;
  uint32_t held_number = 0;
  bool held_cut = false;

  std::deque<OpenReport> open;
  LogLine scratch_line;  // LazyLine's buffer
  // Finished reports wait here (as small Report values) until the reports
  // before them are finished too and the log-wide flags are known.
  struct Done {
    uint64_t header_offset;
    uint32_t header_line;
    Report report;
    bool panicked = false;
    bool hangup = false;
    bool syzkaller = true;  // a family syzkaller reports (not a distro-era extra)
  };
  bool delivered_any = false;
  std::vector<Done> done;
  bool log_suppressed = false;

  bool idle() const { return open.empty() && !held && pending.empty(); }

  // --- line intake -------------------------------------------------------

  void raw_line(std::string_view raw, uint64_t line_offset, uint64_t raw_len, bool cut) {
    uint32_t number = ++line_number;
    while (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    bool interesting = logparse::literal_scanner().any(raw);
    if (held) {
      bool replayed = interesting && has(raw, "** replaying previous printk message **");
      std::string h = std::move(held_raw);
      held = false;
      process(h, held_offset, held_len, held_number, held_cut, /*header_ok=*/!replayed, true);
    }
    if (interesting) {
      held = true;
      held_raw.assign(raw);
      held_offset = line_offset;
      held_len = raw_len;
      held_number = number;
      held_cut = cut;
      return;
    }
    if (!open.empty()) process(raw, line_offset, raw_len, number, cut, true, false);
  }

  // `interesting`: the line holds a watched literal (see LiteralScanner);
  // without one, no header or marker checks are needed.
  void process(std::string_view raw, uint64_t line_offset, uint64_t raw_len, uint32_t number,
               bool cut, bool header_ok, bool interesting) {
    LazyLine lazy{raw, line_offset, raw_len, number, cut, scratch_line};
    std::string_view ctx = line_context(raw);
    std::string_view stripped = ctx.empty() ? std::string_view(lazy.get().text) : std::string_view();
    bool questionable = false;
    if (!ctx.empty()) {
      size_t start = raw.find("] ");
      stripped = raw.substr(start + 2);
      // syzkaller's questionable-frame pattern, "(\[<[0-9a-f]+>\])? \? ",
      // matches wherever " ? " occurs.
      size_t q = find_spaced_question_mark(stripped);
      bool unreliable = q == std::string_view::npos && stripped.ends_with(" (unreliable)");
      if ((q != std::string_view::npos || unreliable) && !has(stripped, "<EOI>")) {
        if (unreliable) stripped.remove_suffix(13);
        else stripped = stripped.substr(q + 2);
        questionable = true;
      }
    }

    unsigned notices = 0;
    const Detector* det = nullptr;
    if (interesting) {
      notices = logparse::literal_scanner().notices(raw);
      // A panic or a console hangup concerns the reports before it (in a
      // long capture, not those of the next boot).
      if (notices & (1u << unsigned(Notice::panic))) mark_recent(&OpenReport::panicked, &Done::panicked);
      if (notices & (1u << unsigned(Notice::hangup))) mark_recent(&OpenReport::hangup, &Done::hangup);
      if (notices & (1u << unsigned(Notice::suppress))) log_suppressed = true;
      if (header_ok && (notices & (1u << unsigned(Notice::header))))
        det = logparse::match_header(raw);
    }

    // A syslog line from a user-space program is not a kernel report.
    if (det && from_user_space(raw)) det = nullptr;
    bool continues = det && !det->continues_report.empty() && has(raw, det->continues_report);
    bool ends_title = (det && det->syzkaller && !continues) ||
                      (notices & (1u << unsigned(Notice::cut)));

    // Does this header open a report of its own in our output?
    bool starts = det != nullptr;
    if (det && !det->own_report_inside) {
      for (auto it = open.rbegin(); it != open.rend(); ++it) {
        if (!it->fields_open || !same_stream(*it, ctx)) continue;
        // "invalid opcode" after "kernel BUG at", "Internal error" after
        // "Unable to handle": the same report continues.
        if (continues) starts = false;
        // A header-like line right after a WARNING is the warning's message.
        if (it->is_warning && number - it->header_line <= 3 && !is_real_warning(lazy.get().text))
          starts = false;
        for (const std::string& a : it->detector->absorbs)
          if (has(raw, a)) starts = false;
        break;
      }
    }

    if (notices & (1u << unsigned(Notice::reboot))) {
      for (OpenReport& r : open) {
        if (!r.fields_open) continue;
        r.cut_off = true;
        close_fields(r, number);
        r.title_frozen = true;
      }
    }
    bool inside_report = std::any_of(open.begin(), open.end(), [&](const OpenReport& o) {
      return o.fields_open && same_stream(o, ctx);
    });
    for (OpenReport& r : open) {
      if (ends_title && !is_caller_context(r.context)) r.title_frozen = true;
      if (starts && r.fields_open && (same_stream(r, ctx) || !is_caller_context(std::string_view(ctx))))
        close_fields(r, number);
      append(r, lazy, ctx, stripped, questionable, number, interesting);
    }

    if (starts) {
      OpenReport r;
      if (!spare_text.empty()) {
        r.text = std::move(spare_text.back());
        spare_text.pop_back();
        r.lines = std::move(spare_lines.back());
        spare_lines.pop_back();
      }
      r.detector = det;
      r.context = std::string(ctx);
      r.header_line = number;
      r.header_offset = line_offset;
      r.last_trace_line = number;
      LogLine& ll = lazy.get();
      r.is_warning = is_real_warning(ll.text);
      r.min_lines = has(raw, "BUG: KMSAN:") ? 16 : 22;
      r.text_lines = 1;
      r.text.append(stripped).push_back('\n');
      r.title_end = r.text.size();
      r.panicked = (notices & (1u << unsigned(Notice::panic))) != 0;
      r.follows_report = inside_report;
      r.hangup = (notices & (1u << unsigned(Notice::hangup))) != 0;
      r.lines.push(ll);
      open.push_back(std::move(r));
      while (open.size() > kMaxOpenReports) {
        finish_report(std::move(open.front()));
        open.pop_front();
      }
    }
    retire();
  }

  void mark_recent(bool OpenReport::*open_flag, bool Done::*done_flag) {
    for (OpenReport& r : open) r.*open_flag = true;
    // Only reports shortly before: a long capture holds many boots.
    for (Done& d : done)
      if (line_number - d.header_line < kRecentLines) d.*done_flag = true;
  }

  bool same_stream(const OpenReport& r, std::string_view ctx) const {
    if (!is_caller_context(r.context)) return true;
    return r.context == ctx;
  }

  void close_fields(OpenReport& r, uint32_t number) {
    r.fields_open = false;
    r.fields_closed_at = number;
  }

  void append(OpenReport& r, LazyLine& lazy, std::string_view ctx, std::string_view stripped,
              bool questionable, uint32_t number, bool interesting) {
    // Lines for the structured fields: the report's own stream, "?" frames included.
    if (r.fields_open) {
      bool mine = same_stream(r, ctx) || (r.cpu_traceback && is_cpu_context(ctx));
      if (mine) {
        const LogLine& ll = lazy.get();
        if (r.lines.size() >= options.max_report_lines || r.line_bytes > kMaxReportLineBytes) {
          r.truncated = true;
          r.anomalies.push_back({number, "report longer than " +
                                             std::to_string(options.max_report_lines) + " lines or " +
                                             std::to_string(kMaxReportLineBytes) +
                                             " bytes; rest ignored"});
          close_fields(r, number);
        } else {
          r.lines.push(ll);
          r.line_bytes += ll.text.size();
          if (looks_like_report_line(ll)) r.last_trace_line = number;
          if (interesting && has(ll.text, "---[ end ")) close_fields(r, number);
          else if (number - r.last_trace_line > kQuietLines) close_fields(r, number);
        }
      }
    }
    // syzkaller's report text, for the title.
    if (!r.text_open) return;
    bool ctx_ok = ctx == std::string_view(r.context) ||
                  (r.cpu_traceback && is_cpu_context(ctx) && is_caller_context(ctx));
    if (questionable || !ctx_ok) return;
    ++r.text_lines;
    bool skip = r.skip_text;
    std::string_view text = stripped;
    if (!interesting) {
      // None of the markers below.
    } else if (has(text, "Disabling lock debugging due to kernel taint")) {
      skip = true;
    } else if (has(text, "Sending NMI from CPU")) {
      r.cpu_traceback = true;
    } else if ((has(text, "Kernel panic - not syncing") ||
                has(text, "WARNING: possible circular locking dependency detected")) &&
               r.text_lines > r.min_lines) {
      // panic_on_warn and lockdep-on-oops repeat what the report already has.
      r.skip_text = true;
      skip = true;
    }
    if (skip) return;
    if (r.text.size() + text.size() + 1 > kMaxTitleTextBytes) {
      r.text_open = false;
      return;
    }
    r.text.append(text).push_back('\n');
    if (!r.title_frozen) r.title_end = r.text.size();
  }

  // Moves reports that are complete to the done list.
  void retire() {
    for (auto it = open.begin(); it != open.end();) {
      bool over = !it->fields_open &&
                  (it->title_frozen || !it->text_open ||
                   line_number - it->fields_closed_at > kTitleTailLines);
      if (!over && line_number - it->header_line >= options.max_report_lines) {
        over = true;
        if (it->fields_open) {
          it->truncated = true;
          it->anomalies.push_back({line_number, "report still open after " +
                                                    std::to_string(options.max_report_lines) +
                                                    " lines; closed"});
        }
      }
      if (over) {
        finish_report(std::move(*it));
        it = open.erase(it);
      } else {
        ++it;
      }
    }
    deliver(false);
  }

  void finish_report(OpenReport&& r) {
    uint64_t at = r.header_offset;
    done.push_back({at, r.header_line, build(r), r.panicked, r.hangup, r.detector->syzkaller});
    // Keep the big buffers: fresh ones cost page faults on every report.
    if (spare_text.size() < kMaxOpenReports) {
      r.text.clear();
      spare_text.push_back(std::move(r.text));
      r.lines.clear();
      spare_lines.push_back(std::move(r.lines));
    }
  }

  std::vector<std::string> spare_text;
  std::vector<LineStore> spare_lines;

  // Hands finished reports on in input order. Held back a little because
  // "panicked" and "suppressed" are properties of the whole log.
  void deliver(bool all) {
    if (done.empty()) return;
    if (!all && done.size() <= kMaxQueued) return;
    std::sort(done.begin(), done.end(),
              [](const Done& a, const Done& b) { return a.header_offset < b.header_offset; });
    size_t n = done.size();
    if (!all) {
      uint64_t limit = UINT64_MAX;
      for (const OpenReport& o : open) limit = std::min(limit, o.header_offset);
      n = 0;
      while (n < done.size() && n + kMaxQueued / 2 < done.size() && done[n].header_offset < limit) ++n;
    }
    // The first report listed is the one syzkaller would report: distro-era
    // extras (page allocation failure, irq nobody cared, ...) that precede
    // it move behind it. Otherwise reports stay in input order.
    if (!delivered_any && n > 0 && !done[0].syzkaller) {
      for (size_t i = 1; i < done.size(); ++i) {
        if (!done[i].syzkaller) continue;
        if (i >= n) n = i + 1;
        std::rotate(done.begin(), done.begin() + static_cast<std::ptrdiff_t>(i),
                    done.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        break;
      }
    }
    if (n > 0) delivered_any = true;
    for (size_t i = 0; i < n; ++i) {
      Report rep = std::move(done[i].report);
      // Log-wide facts, as syzkaller judges them on the whole console output.
      rep.suppressed = log_suppressed;
      rep.panicked = done[i].panicked;
      if (done[i].hangup && !rep.corrupted) {
        rep.corrupted = true;
        rep.corrupted_reason = "console disconnected";
      }
      inherit_log_facts(rep);
      if (sink) sink(std::move(rep));
      else reports.push_back(std::move(rep));
    }
    done.erase(done.begin(), done.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // A report that did not print its kernel or arch (a header-only "BUG:
  // scheduling while atomic", a second report of the same boot) takes them
  // from the report before it in the log.
  std::string last_release, last_version;
  Arch last_arch = Arch::unknown;
  void inherit_log_facts(Report& rep) {
    if (!rep.kernel_release.empty()) {
      last_release = rep.kernel_release;
      last_version = rep.kernel_version;
    } else if (!last_release.empty()) {
      logparse::inherit_kernel(rep, last_release, last_version);
    }
    if (rep.arch != Arch::unknown) last_arch = rep.arch;
    else rep.arch = last_arch;
  }

  Report build(OpenReport& o) {
    Report r;
    const LogLine& head = o.lines.front();
    r.header = head.text;
    r.timestamp = head.timestamp;
    std::string_view text = o.text;
    logparse::TitleResult t =
        logparse::make_title(*o.detector, text.substr(0, std::max(o.title_end, size_t{1})), text);
    r.title = std::move(t.title);
    r.alt_titles = std::move(t.alt_titles);
    r.type = std::move(t.type);
    r.frame = std::move(t.frame);
    r.corrupted = t.corrupted;
    r.corrupted_reason = std::move(t.corrupted_reason);
    // "Kernel panic - not syncing: Fatal exception" alone means the report
    // that caused it was lost; right after that report it is just the end.
    if (o.follows_report && o.detector->own_report_inside &&
        r.corrupted_reason == "report format is marked as corrupted") {
      r.corrupted = false;
      r.corrupted_reason.clear();
    }
    if (o.cut_off && !r.corrupted && ends_mid_frame(o.lines.back().text)) {
      r.corrupted = true;
      r.corrupted_reason = "trace cut off mid-frame";
      r.anomalies.push_back({o.lines.back().number, "report cut off in the middle of a frame"});
    }
    if (o.truncated && !r.corrupted) {
      r.corrupted = true;
      r.corrupted_reason = "report cut at the line limit";
    }
    r.kind = logparse::kind_for_report(r.header, text);
    const LogLine& last = o.lines.back();
    r.span.begin = head.offset;
    r.span.end = last.offset + last.length;
    r.span.first_line = head.number;
    r.span.last_line = last.number;
    r.anomalies = std::move(o.anomalies);
    logparse::extract_fields(o.lines.all(), r);
    if (r.frames.size() > options.max_frames) {
      r.anomalies.push_back({last.number, fmt::format("call trace cut at {} of {} frames", options.max_frames,
                                                      r.frames.size())});
      r.frames.resize(options.max_frames);
    }
    return r;
  }

  // --- chunk intake ------------------------------------------------------

  void feed(std::string_view bytes) {
    while (!bytes.empty()) {
      if (idle()) {
        // Fast path: nothing open, skip straight to the next literal hit.
        size_t hit = logparse::literal_scanner().find(bytes);
        size_t line_start;
        if (hit == std::string_view::npos) {
          // Keep the last 3 bytes' line: a literal may straddle the chunk end.
          size_t last_nl = bytes.rfind('\n');
          if (last_nl == std::string_view::npos) {
            append_pending(bytes);
            return;
          }
          line_start = last_nl + 1;
        } else {
          size_t nl = bytes.rfind('\n', hit);
          line_start = nl == std::string_view::npos ? 0 : nl + 1;
        }
        std::string_view skipped = bytes.substr(0, line_start);
        line_number += static_cast<uint32_t>(count_newlines(skipped));
        offset += skipped.size();
        bytes.remove_prefix(line_start);
        if (hit == std::string_view::npos) {
          append_pending(bytes);
          return;
        }
      }
      size_t nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        append_pending(bytes);
        return;
      }
      if (pending.empty() && pending_raw_len == 0) {
        std::string_view line = bytes.substr(0, nl);
        bool cut = line.size() > options.max_line_bytes;
        if (cut) line = line.substr(0, options.max_line_bytes);
        raw_line(line, offset, nl, cut);
        offset += nl + 1;
      } else {
        append_pending(bytes.substr(0, nl));
        offset += flush_pending() + 1;
      }
      bytes.remove_prefix(nl + 1);
    }
  }

  // Processes the line assembled across chunks; returns its raw length.
  uint64_t flush_pending() {
    std::string line = std::move(pending);
    pending.clear();
    uint64_t len = pending_raw_len;
    bool cut = pending_cut;
    pending_raw_len = 0;
    pending_cut = false;
    raw_line(line, offset, len, cut);
    return len;
  }

  void append_pending(std::string_view bytes) {
    pending_raw_len += bytes.size();
    size_t room = options.max_line_bytes > pending.size() ? options.max_line_bytes - pending.size() : 0;
    if (bytes.size() > room) pending_cut = true;
    pending.append(bytes.substr(0, std::min(room, bytes.size())));
  }

  void finish() {
    if (pending_raw_len > 0) {
      // The last line has no newline: a report still open there was cut off.
      for (OpenReport& r : open)
        if (r.fields_open) r.cut_off = true;
      offset += flush_pending();
    }
    if (held) {
      std::string h = std::move(held_raw);
      held = false;
      process(h, held_offset, held_len, held_number, held_cut, true, true);
    }
    for (OpenReport& r : open) finish_report(std::move(r));
    open.clear();
    deliver(true);
  }
};

LogParser::LogParser(ParseOptions options, Sink sink) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  if (impl_->options.max_line_bytes == 0) impl_->options.max_line_bytes = 1;
  if (impl_->options.max_report_lines == 0) impl_->options.max_report_lines = 1;
  impl_->sink = std::move(sink);
}
LogParser::~LogParser() = default;
LogParser::LogParser(LogParser&&) noexcept = default;
LogParser& LogParser::operator=(LogParser&&) noexcept = default;

void LogParser::feed(std::string_view bytes) { impl_->feed(bytes); }
void LogParser::finish() { impl_->finish(); }
std::vector<Report> LogParser::take_reports() { return std::move(impl_->reports); }

std::vector<Report> parse_log(std::string_view text, const ParseOptions& options) {
  LogParser parser(options);
  parser.feed(text);
  parser.finish();
  return parser.take_reports();
}

}  // namespace ktriage

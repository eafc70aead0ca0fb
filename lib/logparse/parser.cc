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
#include "logparse/notes.h"
#include "logparse/text.h"
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
// A report ended without a trace by a header at most this many lines below
// its own may take that report's trace (lend_traces).
constexpr uint32_t kLendLines = 64;

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
  LogLine& last() { return slots_[used_ - 1]; }
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
  std::vector<Note> notes;       // printed before the header: verdicts just before, module taint in the boot
  bool saw_call_trace = false;   // a "Call Trace:" line of its own came
  uint32_t closed_by_header = 0; // the line of the next report's header, which ended this one
  bool no_stack_trace = false;   // its title format has no call trace by nature (set by build)
  bool stack_ended = false;      // its last line was "</TASK>": the stack dump is over
  size_t indent = 0;             // blanks before the header's text: the quote's indentation
  // The boot it is in, and what the boot told about its kernel.
  uint32_t boot = 0;
  std::string boot_release, boot_version;
  std::optional<int64_t> kernel_offset;
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

// A header is text: random bytes that happen to hold "BUG:" are not a
// crash. A console line is printable ASCII or UTF-8 but for a few bytes
// (serial noise, a task name of raw bytes); random data is mostly not.
bool printable_line(std::string_view raw) {
  size_t bad = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    auto c = static_cast<unsigned char>(raw[i]);
    if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\x1b' || c == '\r') continue;
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool utf8 = n > 0 && i + n <= raw.size();
    for (size_t k = 1; utf8 && k < n; ++k) utf8 = (static_cast<unsigned char>(raw[i + k]) & 0xc0) == 0x80;
    if (utf8) {
      i += n - 1;
    } else {
      ++bad;
    }
  }
  return bad <= 4 || bad * 8 <= raw.size();
}

// "Kernel Offset: 0x13200000 from 0xffffffff81000000 (relocation range: ...)",
// "Kernel Offset: disabled".
std::optional<int64_t> kernel_offset(std::string_view text) {
  size_t at = text.find("Kernel Offset: ");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view v = text.substr(at + 15);
  if (v.starts_with("disabled")) return 0;
  size_t used = 0;
  std::optional<uint64_t> off = logparse::leading_hex(v, &used);
  if (!off || used < 3 || !v.starts_with("0x")) return std::nullopt;
  return static_cast<int64_t>(*off);
}

// The release a boot's banner or command line names: "Linux version
// 2.6.32-431.el6.x86_64 (mockbuild@...) (gcc ...) #1 SMP Fri Nov 22 ...",
// "Command line: BOOT_IMAGE=/vmlinuz-6.1.0-26-amd64 root=...".
void boot_banner(std::string_view text, std::string& release, std::string& version) {
  if (auto a = logparse::after(text, "Linux version ")) {
    std::string_view rest = *a;
    size_t sp = rest.find(' ');
    release.assign(rest.substr(0, sp));
    // The version is what follows the compiler's parentheses: "#1 SMP ...".
    for (size_t p = rest.find('#'); p != std::string_view::npos; p = rest.find('#', p + 1)) {
      if (p + 1 < rest.size() && logparse::is_digit(rest[p + 1]) && rest[p - 1] == ' ') {
        version.assign(logparse::trim(rest.substr(p)));
        break;
      }
    }
    return;
  }
  if (auto a = logparse::after(text, "BOOT_IMAGE=")) {
    std::string_view image = a->substr(0, a->find(' '));
    size_t v = image.rfind("vmlinuz-");
    if (v == std::string_view::npos) return;
    std::string_view r = image.substr(v + 8);
    if (!r.empty() && logparse::is_digit(r.front()) && release.empty()) release.assign(r);
  }
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
    // Ended without a trace by the header of the report at this line, whose
    // trace may be its own (see lend_traces); 0 when it wants none.
    uint32_t trace_from = 0;
  };
  bool delivered_any = false;
  std::vector<Done> done;
  // Notes made by lines outside reports (logparse/notes.h): the last few
  // checks' verdicts, and this boot's module taint lines.
  std::deque<Note> recent_notes;
  std::vector<Note> boot_notes;
  static constexpr size_t kMaxOutsideNotes = 8;

  void remember(Note n) {
    if (n.kind == NoteKind::module_taint) {
      if (boot_notes.size() >= kMaxOutsideNotes) return;
      for (const Note& b : boot_notes)
        if (b.text == n.text) return;
      boot_notes.push_back(std::move(n));
      return;
    }
    recent_notes.push_back(std::move(n));
    if (recent_notes.size() > kMaxOutsideNotes) recent_notes.pop_front();
  }

  std::vector<Note> notes_before(uint32_t header_line) const {
    std::vector<Note> out = boot_notes;
    for (const Note& n : recent_notes)
      if (n.line < header_line && header_line - n.line <= logparse::kVerdictLinesBefore) out.push_back(n);
    return out;
  }
  bool log_suppressed = false;

  // --- boots -------------------------------------------------------------
  // A log may hold several boots; each report belongs to one (Report::boot)
  // and takes its kernel from its own boot only.
  uint32_t boot = 0;
  uint32_t boot_line = 0;          // where the boot began (0: the input's start)
  bool boot_has_reports = false;
  std::string boot_release, boot_version;
  std::optional<int64_t> boot_offset;
  double boot_max_ts = 0;
  // "---[ end Kernel panic": the machine stopped; what follows is the next
  // boot unless it is printed right after, timestamped no earlier.
  bool boot_panicked = false;
  uint32_t panic_end_line = 0;
  std::optional<double> panic_end_ts;
  // Task dumps (sysrq-t, hung-task follow-ups): their traces are no fragments.
  uint32_t headerless_tasks = 0;   // task lines since the last report header
  bool in_task_dump = false;
  uint32_t last_cut_line = 0;      // dump_stack() after FAULT_INJECTION, vmalloc failures
  // x86 prints the fault's registers again after "---[ end trace": they
  // are the report's, no fragment.
  uint32_t end_trace_line = 0;

  void new_boot(uint32_t number) {
    if (boot_has_reports || number > boot_line + 10) ++boot;
    boot_line = number;
    boot_has_reports = false;
    boot_release.clear();
    boot_version.clear();
    boot_offset.reset();
    boot_max_ts = 0;
    boot_panicked = false;
    in_task_dump = false;
    boot_notes.clear();
    recent_notes.clear();
  }

  // Facts a boot prints once: the banner, the command line, the KASLR offset.
  void boot_fact(std::string_view text) {
    if (has(text, "Linux version ") || has(text, "Command line: ")) {
      std::string release, version;
      boot_banner(text, release, version);
      if (!release.empty() && (boot_release.empty() || has(text, "Linux version "))) {
        boot_release = std::move(release);
        boot_version = std::move(version);
      }
      return;
    }
    std::optional<int64_t> off = kernel_offset(text);
    if (!off) return;
    boot_offset = off;
    // The footer comes after the report it belongs to.
    for (OpenReport& r : open)
      if (r.boot == boot) r.kernel_offset = off;
    for (Done& d : done)
      if (d.report.boot == boot) d.report.kernel_offset = off;
  }

  // Whether a report starting now (header at `number`, timestamp `ts`) is in
  // a new boot: the last one ended with a panic, or the clock went back.
  void boot_boundary_before(uint32_t number, std::optional<double> ts) {
    bool restarted = ts && boot_max_ts > 10 && *ts + 10 < boot_max_ts;
    bool after_panic =
        boot_panicked && (!ts || !panic_end_ts || *ts < *panic_end_ts || number > panic_end_line + 200);
    if (restarted || after_panic) new_boot(number);
    if (ts) boot_max_ts = std::max(boot_max_ts, *ts);
  }

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

    // A syslog line from a user-space program is not a kernel report, nor
    // binary junk that holds a header's words, nor a panic's end marker.
    if (det && (from_user_space(raw) || !printable_line(raw))) det = nullptr;
    if (det && has(raw, "---[ end ")) det = nullptr;
    if (notices & (1u << unsigned(Notice::cut))) last_cut_line = number;
    if (notices & (1u << unsigned(Notice::task_dump))) {
      // "sysrq: Show State", or a second task without a header: a dump of
      // tasks, whose traces are no fragments (the first may be: a hung task
      // quoted without its "INFO: task ... blocked" line).
      // Another task's stack: the report before it is over.
      for (OpenReport& r : open)
        if (r.fields_open && r.saw_call_trace && number - r.header_line > 2) close_fields(r, number);
      if (has(raw, "how ") || (headerless_tasks++ > 0 && !inside_any_report())) in_task_dump = true;
    }
    if (notices & (1u << unsigned(Notice::user_fault))) {
      // A user task's segfault message (and the Code: line it brings) after
      // a report's stack has ended is no part of that report.
      for (OpenReport& r : open)
        if (r.fields_open && r.saw_call_trace && r.stack_ended) close_fields(r, number);
    }
    if (det && det->fragment && !fragment_starts(*det, lazy.get(), number)) det = nullptr;
    if (det && !det->fragment) {
      in_task_dump = false;
      headerless_tasks = 0;
    }
    if (interesting && has(raw, "---[ end trace")) end_trace_line = number;
    if (interesting && has(raw, "---[ end Kernel panic")) {
      boot_panicked = true;
      panic_end_line = number;
      panic_end_ts = lazy.get().timestamp;
    }
    bool continues = det && logparse::continues_report(raw);
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
    } else if (det && continues) {
      // panic_on_warn: "Kernel panic - not syncing: panic_on_warn set" right
      // under the WARNING's header, then the trace. The trace is the
      // warning's (syzkaller reads it so); the panic is no report of its own.
      for (auto it = open.rbegin(); it != open.rend(); ++it) {
        if (!it->fields_open || !same_stream(*it, ctx)) continue;
        if (number - it->header_line <= 3 && !it->saw_call_trace && it->detector->own_report_inside == false)
          starts = false;
        break;
      }
    }

    if (notices & (1u << unsigned(Notice::note))) {
      const LogLine& ll = lazy.get();
      if (std::optional<Note> n = logparse::note_for_line(ll.text, ll.bytes, number)) remember(std::move(*n));
    }
    if (notices & (1u << unsigned(Notice::reboot))) {
      for (OpenReport& r : open) {
        if (!r.fields_open) continue;
        r.cut_off = true;
        close_fields(r, number);
        r.title_frozen = true;
      }
      new_boot(number);
      boot_fact(lazy.get().text);
    }
    if (notices & (1u << unsigned(Notice::boot_fact))) {
      const LogLine& ll = lazy.get();
      // A command line not right after the banner: a boot whose banner was lost.
      if (has(ll.text, "Command line: ") && number > boot_line + 10 && !inside_any_report()) new_boot(number);
      boot_fact(ll.text);
    }
    bool inside_report = std::any_of(open.begin(), open.end(), [&](const OpenReport& o) {
      return o.fields_open && same_stream(o, ctx);
    });
    for (OpenReport& r : open) {
      if (ends_title && !is_caller_context(r.context)) r.title_frozen = true;
      // A header without any console prefix among lines that carry caller
      // ids is no kernel line (syzkaller's "SYZFAIL:"): it ends no report of theirs.
      bool foreign = ctx.empty() && is_caller_context(r.context);
      if (starts && r.fields_open && !foreign && (same_stream(r, ctx) || !is_caller_context(std::string_view(ctx)))) {
        close_fields(r, number);
        if (!r.saw_call_trace && number - r.header_line <= kLendLines) r.closed_by_header = number;
      }
      append(r, lazy, ctx, stripped, questionable, number, interesting);
    }

    if (starts) {
      boot_boundary_before(number, lazy.get().timestamp);
      boot_has_reports = true;
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
      size_t lead = 0;
      while (lead < ll.text.size() && (ll.text[lead] == ' ' || ll.text[lead] == '\t')) ++lead;
      r.indent = lead;
      std::string_view head_text = stripped;
      for (size_t k = 0; k < lead && !head_text.empty() && (head_text.front() == ' ' || head_text.front() == '\t'); ++k)
        head_text.remove_prefix(1);
      r.text.append(head_text).push_back('\n');
      r.title_end = r.text.size();
      r.panicked = (notices & (1u << unsigned(Notice::panic))) != 0;
      r.follows_report = inside_report;
      r.hangup = (notices & (1u << unsigned(Notice::hangup))) != 0;
      r.notes = notes_before(number);
      r.boot = boot;
      r.boot_release = boot_release;
      r.boot_version = boot_version;
      r.kernel_offset = boot_offset;
      r.lines.push(ll);
      unindent(r, r.lines);
      open.push_back(std::move(r));
      while (open.size() > kMaxOpenReports) {
        finish_report(std::move(open.front()));
        open.pop_front();
      }
    }
    retire();
  }

  bool inside_any_report() const {
    return std::any_of(open.begin(), open.end(), [](const OpenReport& o) { return o.fields_open; });
  }

  // A fragment header ("Call Trace:" ...) starts a report only outside all
  // others, at the start of its line, and not in a task dump or the stack a
  // fault injection or allocation failure prints.
  bool fragment_starts(const Detector& det, const LogLine& line, uint32_t number) const {
    if (inside_any_report() || in_task_dump) return false;
    if (last_cut_line && number - last_cut_line <= 12) return false;
    if (end_trace_line && number - end_trace_line <= 16) return false;
    return logparse::ltrim(line.text).starts_with(det.header);
  }

  // A quote indented as a whole ("    BUG: ...", "\tCall Trace:") keeps the
  // kernel's own indentation under it: each line loses up to the header's
  // indentation, so every line of the report is read the same way.
  void unindent(const OpenReport& r, LineStore& lines) {
    if (r.indent == 0 || lines.size() == 0) return;
    LogLine& l = lines.last();
    size_t k = 0;
    while (k < r.indent && k < l.text.size() && (l.text[k] == ' ' || l.text[k] == '\t')) ++k;
    if (k == 0) return;
    l.text.erase(0, k);
    l.bytes = logparse::ByteSet(l.text);
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
          unindent(r, r.lines);
          r.line_bytes += ll.text.size();
          if (interesting && (has(ll.text, "Call Trace:") || has(ll.text, "Call trace:"))) r.saw_call_trace = true;
          r.stack_ended = ll.text.ends_with("</TASK>");
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
    for (size_t k = 0; k < r.indent && !text.empty() && (text.front() == ' ' || text.front() == '\t'); ++k)
      text.remove_prefix(1);
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
    Report built = build(r);
    uint32_t trace_from = built.frames.empty() && !r.no_stack_trace ? r.closed_by_header : 0;
    done.push_back({at, r.header_line, std::move(built), r.panicked, r.hangup, r.detector->syzkaller, trace_from});
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

  // Is `lender`'s trace the stack of `message`, printed under the next header?
  // When that header is what a message is followed by in the kernel: a
  // WARN/BUG after it, or the panic of panic_on_warn. Or when the lender is a
  // fault inside the code that printed the message (lockdep's checks fault
  // while printing a lock). Not for any fault that follows: the founding
  // case's "scheduling while atomic" is followed by an oops in another path.
  static bool dumps_for(const Report& message, const Report& lender) {
    std::string_view h = lender.header;
    if (has(h, "WARNING:") || has(h, "kernel BUG at") || has(h, "Kernel panic - not syncing") ||
        has(h, "Internal error: Oops - BUG"))
      return true;
    static constexpr std::string_view kLockdep[] = {"__lock_acquire", "lock_acquire", "lock_release"};
    static constexpr std::string_view kSchedule[] = {"__schedule_bug"};
    static constexpr std::string_view kSleep[] = {"__might_resched", "___might_sleep", "__might_sleep"};
    std::span<const std::string_view> printers;
    switch (message.kind) {
      case CrashKind::lockdep: printers = kLockdep; break;
      case CrashKind::scheduling_while_atomic: printers = kSchedule; break;
      case CrashKind::sleeping_in_atomic: printers = kSleep; break;
      default: return false;
    }
    return std::any_of(lender.frames.begin(), lender.frames.end(), [&](const Frame& f) {
      return std::find(printers.begin(), printers.end(), f.function) != printers.end();
    });
  }

  // A message printed just before the event that dumps the stack (a WARNING
  // and its panic_on_warn panic, "BUG: Dentry still in use" and its WARN_ON,
  // an arm64 assertion and its BUG) ends where that event's header starts,
  // before any trace: the trace under the next header is its own too, when
  // nothing says it is another task's. Resolved back to front, so a chain of
  // such headers all get the trace; a report whose lender has not finished
  // waits (deliver).
  void lend_traces() {
    for (size_t i = done.size(); i-- > 0;) {
      Done& d = done[i];
      if (d.trace_from == 0) continue;
      // Sorted by offset: the lender is among the next few.
      auto lender = std::find_if(done.begin() + static_cast<std::ptrdiff_t>(i) + 1, done.end(),
                                 [&](const Done& o) { return o.header_line >= d.trace_from; });
      if (lender == done.end() || lender->header_line != d.trace_from || lender->trace_from != 0)
        continue;  // not finished, or waits itself
      const Report& from = lender->report;
      Report& to = d.report;
      bool same_task = (!to.pid || !from.pid || *to.pid == *from.pid) &&
                       (!to.cpu || !from.cpu || *to.cpu == *from.cpu);
      if (same_task && !from.frames.empty() && dumps_for(to, from)) {
        to.frames = from.frames;
        to.anomalies.push_back({d.trace_from, fmt::format("call trace printed under the next report's header "
                                                          "(line {}), before any trace of its own",
                                                          d.trace_from)});
      }
      d.trace_from = 0;
    }
  }

  // Hands finished reports on in input order. Held back a little because
  // "panicked" and "suppressed" are properties of the whole log.
  void deliver(bool all) {
    if (done.empty()) return;
    if (!all && done.size() <= kMaxQueued) return;
    // Reports mostly finish in input order: moving whole reports around to
    // sort what is sorted already cost 15% of a log of many short reports.
    auto by_offset = [](const Done& a, const Done& b) { return a.header_offset < b.header_offset; };
    if (!std::is_sorted(done.begin(), done.end(), by_offset)) std::sort(done.begin(), done.end(), by_offset);
    lend_traces();
    size_t n = done.size();
    if (!all) {
      uint64_t limit = UINT64_MAX;
      for (const OpenReport& o : open) limit = std::min(limit, o.header_offset);
      n = 0;
      // A report waiting for its lender's trace holds the queue, up to a bound.
      bool hold = done.size() <= 2 * kMaxQueued;
      while (n < done.size() && n + kMaxQueued / 2 < done.size() && done[n].header_offset < limit &&
             !(hold && done[n].trace_from != 0))
        ++n;
    }
    // The first report listed is the one syzkaller would report: distro-era
    // extras (page allocation failure, irq nobody cared, ...) that precede
    // it move behind it. Otherwise reports stay in input order.
    size_t first = 0;
    if (!delivered_any && n > 0 && !done[0].syzkaller) {
      for (size_t i = 1; i < done.size(); ++i) {
        if (!done[i].syzkaller) continue;
        if (i >= n) n = i + 1;
        first = i;
        break;
      }
    }
    // Kernel and arch from the report before, in input order.
    for (size_t i = 0; i < n; ++i) inherit_log_facts(done[i].report);
    if (first > 0)
      std::rotate(done.begin(), done.begin() + static_cast<std::ptrdiff_t>(first),
                  done.begin() + static_cast<std::ptrdiff_t>(first) + 1);
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
  uint32_t last_boot = 0;
  void inherit_log_facts(Report& rep) {
    if (rep.boot != last_boot) {  // another boot: maybe another kernel
      last_boot = rep.boot;
      last_release.clear();
      last_version.clear();
      last_arch = Arch::unknown;
    }
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
    o.no_stack_trace = t.no_stack_trace;
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
    if (o.detector->fragment) {
      r.corrupted = true;
      r.corrupted_reason = "fragment without a header";
    }
    r.boot = o.boot;
    r.kernel_offset = o.kernel_offset;
    r.kind = logparse::kind_for_report(*o.detector, r.header, text);
    const LogLine& last = o.lines.back();
    r.span.begin = head.offset;
    r.span.end = last.offset + last.length;
    r.span.first_line = head.number;
    r.span.last_line = last.number;
    r.anomalies = std::move(o.anomalies);
    r.notes = std::move(o.notes);
    logparse::extract_fields(o.lines.all(), r);
    if (!o.boot_release.empty()) logparse::inherit_kernel(r, o.boot_release, o.boot_version);
    if (r.frames.size() > options.max_frames) {
      r.anomalies.push_back({last.number, fmt::format("call trace cut at {} of {} frames", options.max_frames,
                                                      r.frames.size())});
      r.frames.resize(options.max_frames);
    }
    return r;
  }

  // --- chunk intake ------------------------------------------------------

  // Old Mac and some serial captures end lines with '\r' alone: decided on
  // the first 64 KiB (a '\r' and no '\n'), then each '\r' ends a line. The
  // input's head is held until a '\n' or 64 KiB of it came, so the decision
  // does not depend on how it was cut into chunks (a pipe's first read can
  // end between a CRLF's '\r' and its '\n').
  static constexpr size_t kLineEndsHead = 64 * 1024;
  enum class LineEnds : uint8_t { unknown, lf, cr } line_ends = LineEnds::unknown;
  std::string head_buffer;
  std::string cr_buffer;

  // Decides on the held head (at most kLineEndsHead bytes) and parses it.
  void decide_line_ends() {
    bool cr = head_buffer.find('\r') != std::string::npos && head_buffer.find('\n') == std::string::npos;
    line_ends = cr ? LineEnds::cr : LineEnds::lf;
    const std::string held_head = std::move(head_buffer);
    head_buffer.clear();
    feed(held_head);
  }

  void feed(std::string_view bytes) {
    if (line_ends == LineEnds::unknown) {
      // Only the head is copied, never a whole (in-memory) input.
      const size_t take = std::min(bytes.size(), kLineEndsHead - head_buffer.size());
      head_buffer.append(bytes.substr(0, take));
      if (head_buffer.find('\n') == std::string::npos && head_buffer.size() < kLineEndsHead) return;
      decide_line_ends();
      bytes.remove_prefix(take);
      if (bytes.empty()) return;
    }
    if (line_ends == LineEnds::cr) {
      cr_buffer.assign(bytes);
      std::replace(cr_buffer.begin(), cr_buffer.end(), '\r', '\n');
      bytes = cr_buffer;
    }
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
    if (line_ends == LineEnds::unknown) decide_line_ends();  // all of it was shorter than a line
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

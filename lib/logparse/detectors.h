// The table of crash detectors: every console message that starts a kernel
// crash report, and how syzkaller titles it.
//
// One Detector per header literal (the text every report of the family
// contains on its first line), holding the title formats tried on the
// report text, in order. The table itself is data in detectors.cc; this
// header only describes its shape and the cheap literal prefilter the
// streaming parser runs over all input.
#pragma once

#include <re2/re2.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/report.h"
#include "logparse/bytes.h"

namespace ktriage::logparse {

// An RE2 compiled the first time it is used. The tables below hold a few
// hundred patterns and a log usually needs a handful of them: compiling all
// of them up front cost more than parsing and symbolizing a typical log.
// Safe to use from several threads (std::call_once); movable until first use.
class LazyRE2 {
 public:
  enum class Syntax : uint8_t {
    placeholders,  // compile_pattern(): {{FUNC}}, {{PC}}, ... expanded
    plain,         // RE2 as written (Latin-1)
  };
  LazyRE2() = default;
  explicit LazyRE2(std::string_view source, Syntax syntax = Syntax::placeholders);

  // False for a default-constructed (absent) pattern.
  explicit operator bool() const { return state_ != nullptr; }
  const RE2& get() const;
  const RE2& operator*() const { return get(); }
  const RE2* operator->() const { return &get(); }
  const std::string& source() const;
  // Whether get() has run (for tests of the lazy behaviour).
  bool compiled() const;

  // Every match contains one of `texts`: lines without any of them need no
  // regex. On construction a pattern gets the literal text it starts with,
  // or for a plain alternation ("a b|c d") that of each alternative.
  void set_required(std::vector<std::string> texts);
  // False only when no match is possible (no required text in `line`).
  bool may_match(std::string_view line) const;
  bool may_match(const ScannedLine& line) const;

 private:
  struct State {
    std::string source;
    Syntax syntax;
    std::vector<std::string> required;  // any one of them; empty: unknown
    std::vector<ByteSet> required_bytes;  // of each
    std::once_flag once;
    std::unique_ptr<RE2> re;
    std::atomic<bool> done{false};
  };
  std::unique_ptr<State> state_;
};

// How the guilty frame is chosen from the frames a StackSpec collected.
enum class FrameChooser {
  first,      // first frame not matching a skip pattern
  stall,      // the frame just above the first "entry point" frame (RCU stalls, soft lockups)
  hung_task,  // lock/wait anchors first, then the first frame that is not scheduling
};

// Where to find the guilty frame. Parts are matched in order against the
// report's lines; a null part means "parse a stack trace from here".
struct StackSpec {
  std::vector<const LazyRE2*> parts;
  std::vector<const LazyRE2*> parts2;  // tried when `parts` finds nothing
  std::vector<std::unique_ptr<LazyRE2>> owned;  // the parts not shared between formats
  const LazyRE2* common_skip = nullptr;         // frames no format blames
  LazyRE2 skip;                                 // this format's own frames to pass over
  FrameChooser chooser = FrameChooser::first;

  // Whether `frame` (a function name) is passed over.
  bool skips(std::string_view frame) const;
};

// One way to title a report. `title` is searched in the report text; when
// `report` is set it must match too (else the report is corrupted) and its
// captures are the format arguments. `fmt` refers to arguments as {1}, {2}..:
// the captures, then one guilty frame per stack trace in `stack`.
struct TitleFormat {
  LazyRE2 title;
  LazyRE2 report;
  std::string title_literal;        // every match of `title` starts with it ("" = unknown)
  std::string report_literal;
  std::string fmt;
  std::vector<std::string> alt;
  std::unique_ptr<StackSpec> stack;
  bool no_stack_trace = false;      // the report has no call trace by nature
  bool corrupted = false;           // matching this format means the report is damaged
};

struct Detector {
  std::string header;                          // literal searched in each line
  // The kind of a report it heads: the first rule whose wording the header
  // matches (an empty wording matches any).
  struct KindRule {
    LazyRE2 wording;
    CrashKind kind;
  };
  std::vector<KindRule> kinds;
  // syzkaller's crash type of a title it produced: the first rule with a
  // prefix the title starts with ("" when none).
  struct TypeRule {
    std::string type;
    std::vector<std::string> title_prefixes;
  };
  std::vector<TypeRule> types;
  std::vector<LazyRE2> suppress;               // lines containing the header that are not reports
  std::vector<TitleFormat> formats;
  // A line containing this literal does not end the report it appears in
  // (e.g. "invalid opcode: 0000" printed after "kernel BUG at").
  std::string continues_report;
  // Still listed as a report of its own even inside another report
  // (a standalone "Kernel panic - not syncing" line).
  bool own_report_inside = false;
  // Headers that, inside a report of this detector, are part of it (the
  // "INFO: Allocated in" lines of a SLUB report).
  std::vector<std::string> absorbs;
  // Part of syzkaller's table. Distro-era extras (Badness at, irq nobody
  // cared, ...) are listed as reports but never change syzkaller titles.
  bool syzkaller = true;
  // The header is a line from a report's body: it starts a report only
  // outside every other report, at the start of its line (see table::D).
  bool fragment = false;
};

// The table; building it compiles no regex (see LazyRE2).
const std::vector<Detector>& detector_table();

// The detector whose header `line` (console prefix stripped) carries, or
// nullptr. Applies the detector's suppressions.
const Detector* match_header(std::string_view line);
// The line holds a detector's continues_report literal: it does not end the
// report it appears in, whichever header it matched (syzkaller's
// reportStartIgnores: "Internal error: Oops - BUG: 0" also matches "BUG:").
bool continues_report(std::string_view line);

// Root-cause-neutral kind of a report `detector` heads, from its header line
// and (for a header cut short) its first lines.
CrashKind kind_for_report(const Detector& detector, std::string_view header, std::string_view text);

// syzkaller crash type ("KASAN-READ", "HANG", ...) of a final title `detector` produced.
std::string_view crash_type(const Detector& detector, std::string_view title);

// Shared pieces of the stack-trace grammar.
struct StackGrammar {
  std::vector<std::unique_ptr<RE2>> stack_start;  // "Call Trace:", "Allocated by task N:", ...
  std::unique_ptr<RE2> any_stack_start;           // all of stack_start in one pattern
  std::vector<std::string> stack_start_literal;   // text each stack_start match contains
  // Frame lines: see frame_names(). `frame` holds its two patterns, the
  // spec the hand-written matcher follows (and is tested against).
  std::vector<std::unique_ptr<RE2>> frame;
  std::vector<std::unique_ptr<RE2>> corrupted_line;
  std::string corrupted_literal;                  // every corrupted_line contains it
  std::vector<std::string> strip_prefixes;        // syscall wrappers: __x64_sys_, SyS_, ...
  const RE2* riscv_stack_start = nullptr;
};
const StackGrammar& stack_grammar();

// The function names a call-trace line gives, innermost first: one for
// `^ *(?:{{PC}} ){0,2}{{FUNC}}` (x86, arm64, ppc, ...), two for arm's
// "[<pc>] (func) from [<pc>] (caller+0x..)"; none when it is no frame.
// The first shape is matched by hand: every line of every report's text
// passes here, and a capturing regex costs far more than the test.
struct FrameNames {
  std::string_view name[2];
  int count = 0;
};
FrameNames frame_names(std::string_view line);

// Literals the streaming parser must notice on any line.
enum class Notice : uint8_t {
  header,       // a detector header (verify with match_header)
  cut,          // info message with a stack: ends syzkaller's title text
  panic,        // "Kernel panic - not syncing": every report of the log panicked
  suppress,     // the log is one syzkaller does not report (OOM of the executor, ...)
  hangup,       // console disconnected: reports are likely cut short
  marker,       // text the report collector reacts to (end of trace, NMI backtrace, ...)
  reboot,       // a new boot: whatever report was open got cut off
  note,         // a line that makes a note for the reports around it (logparse/notes.h)
  boot_fact,    // a fact of the whole boot: "Command line:", "Kernel Offset:"
  task_dump,    // one task of a task dump (sysrq, hung-task follow-ups): not the report's stack
  user_fault,   // "sh[96]: segfault at ...": a user task's own fault, no kernel report
};

// Finds the literals above in bulk without looking at every byte: literals
// of 9+ bytes are found by hashing the 4-byte gram at every 6th position
// (each occurrence fully contains one such gram), the few short ones
// ("BUG:", "WARNING:", ...) all end in ':' and are checked at each colon.
class LiteralScanner {
 public:
  LiteralScanner();
  // True when `line` contains any watched literal.
  bool any(std::string_view line) const;
  // Offset of the start of the first watched literal in `text`, or npos.
  size_t find(std::string_view text) const;
  // Notices on a line (bit set of 1 << Notice).
  unsigned notices(std::string_view line) const;

 private:
  struct Literal {
    std::string text;
    Notice notice;
    LazyRE2 confirm;  // optional regex that must match the line
  };
  struct GramUse {
    uint32_t gram;
    uint16_t literal;
    uint16_t offset;  // where the gram sits in the literal
  };
  size_t find_in(std::string_view text, size_t from, size_t to) const;
  // The first short literal (earlier than `best`) starting in [from, to)
  // and ending at text[colon]; else `best`.
  size_t short_literal_ending_at(std::string_view text, size_t colon, size_t from, size_t to, size_t best) const;

  std::vector<Literal> literals_;
  std::vector<uint16_t> short_;        // literal indices, each ending in ':'
  uint64_t short_tail_bits_[16] = {};  // hashed last 4 bytes of each
  bool short_any_tail_ = false;        // one is shorter than 4 bytes: check every colon
  std::vector<uint64_t> bitmap_;       // 2^16 bits over hashed grams of long literals
  std::vector<uint32_t> bucket_start_; // per hash: range in uses_
  std::vector<GramUse> uses_;
  size_t max_gram_offset_ = 0;         // largest GramUse::offset
};

const LiteralScanner& literal_scanner();

// The literal text a pattern starts with (up to its first operator), so
// matches can be searched for only where that text occurs.
std::string leading_literal(std::string_view pattern);

// RE2 with syzkaller's placeholders expanded: {{ADDR}}, {{PC}}, {{FUNC}},
// {{SRC}}, {{TASK}}. Latin-1, so arbitrary bytes never trip it.
std::unique_ptr<RE2> compile_pattern(std::string_view pattern);

}  // namespace ktriage::logparse

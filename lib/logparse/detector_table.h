// Internal to logparse: the notation the detector table is written in
// (detector_table.cc, data only) and what detectors.cc reads of it.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "logparse/detectors.h"

namespace ktriage::logparse::table {

// ---------------------------------------------------------------------------
// Table notation. Patterns are RE2 with placeholders (see compile_pattern);
// "<trace>" in a stack part list means "parse a call trace from here",
// "<rip>" the faulting-IP line of any architecture, "<calltrace>" the line
// that opens a call trace. Formats refer to captures and frames as {1}, {2}.


inline constexpr std::string_view kTrace = "<trace>";
inline constexpr std::string_view kRip = "<rip>";
inline constexpr std::string_view kCallTrace = "<calltrace>";

inline constexpr std::string_view kRipPattern =
    R"((?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\)))";
inline constexpr std::string_view kCallTracePattern = R"((?:Call (?:T|t)race:)|(?:Backtrace:))";

struct S {
  std::vector<std::string_view> parts;
  std::vector<std::string_view> parts2;
  std::vector<std::string_view> skip;
  FrameChooser chooser = FrameChooser::first;
};

struct F {
  std::string_view title;
  std::string_view report;
  std::string_view fmt;
  std::vector<std::string_view> alt;
  std::optional<S> stack;
  bool no_stack_trace = false;
  bool corrupted = false;
};

// A header's wording refines its detector's kind: the first rule whose
// pattern (RE2) the header line matches wins; "" matches any header.
struct K {
  std::string_view wording;
  CrashKind kind;
};

// syzkaller's crash type of a title the detector produced: the first rule
// with a prefix the title starts with. The order is syzkaller's.
struct T {
  std::string_view type;
  std::vector<std::string_view> title_prefixes;
};

struct D {
  std::string_view header;
  std::vector<K> kinds;
  std::vector<T> types;
  std::vector<F> formats;
  std::vector<std::string_view> suppress;
  std::string_view continues_report;
  bool own_report_inside = false;
  bool syzkaller = true;
  std::vector<std::string_view> absorbs = {};
  // A line of a report's body ("Call Trace:", "RIP:") that, outside any
  // report, starts a report pasted without its header: listed corrupted
  // ("fragment without a header"), never as syzkaller's report.
  bool fragment = false;
};

// The detectors, in the order headers are tried.
const std::vector<D>& entries();

// Frames no format blames: reporting machinery, allocators, locking and
// string helpers (an alternation each).
const std::vector<std::string_view>& common_skips();

}  // namespace ktriage::logparse::table

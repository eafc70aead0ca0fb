// Lines the analyses need that no Report field holds (Report::notes): debug
// checks' verdicts, lockdep's lock lists, the atomic-context lines of
// might_sleep(), module taint at load time; and the source line an assertion
// printed. One table, used for a report's own lines (the extractor) and for
// the lines the parser sees around reports (verdicts printed just before a
// header, module loads earlier in the boot).
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "ktriage/report.h"
#include "logparse/bytes.h"

namespace ktriage::logparse {

// The note a cleaned console line makes, if any. `bytes` describes `text`.
std::optional<Note> note_for_line(std::string_view text, const ByteSet& bytes, uint32_t line);

// Literals that make a note outside a report (for the literal prefilter):
// each is the start of one rule of note_for_line().
std::span<const std::string_view> note_literals();

// How many lines before a report header a check's verdict still belongs to
// it ("list_add corruption. ..." then "[ cut here ]" then "kernel BUG at").
constexpr uint32_t kVerdictLinesBefore = 3;

// "kernel BUG at mm/slub.c:419!", "WARNING: CPU: 0 PID: 1 at fs/x.c:12 f+0x1/0x2":
// the first " at FILE:LINE" of `text` whose FILE has a '.'.
std::optional<SourceSite> assertion_site(std::string_view text);

}  // namespace ktriage::logparse

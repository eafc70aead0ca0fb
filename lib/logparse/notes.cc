#include "logparse/notes.h"

#include <array>
#include <charconv>
#include <span>

#include "logparse/extractor.h"

namespace ktriage::logparse {
namespace {

struct NoteRule {
  Needle literal;
  NoteKind kind;
  bool from_literal;  // the note's text starts at the literal (the kernel's message, not its subsystem prefix)
  bool outside;       // also read outside reports (see note_literals())
};

// First match wins. A lock line ("#0: ... (&lock){+.+.}-{3:3}, at: ...") is
// recognised by its "){" below the table.
constexpr std::array<NoteRule, 11> kRules{{
    {"refcount_t: ", NoteKind::refcount_check, true, true},
    {"usercopy: ", NoteKind::usercopy_check, true, true},
    {"list_add corruption", NoteKind::list_check, true, true},
    {"list_del corruption", NoteKind::list_check, true, true},
    {"detected hard LOCKUP", NoteKind::hard_lockup, false, true},
    {": loading out-of-tree module taints kernel", NoteKind::module_taint, false, true},
    {": module verification failed", NoteKind::module_taint, false, true},
    {": module license '", NoteKind::module_taint, false, true},
    {"in_atomic()", NoteKind::atomic_context, false, false},
    {"preempt_count:", NoteKind::atomic_context, false, false},
    {" held by ", NoteKind::locks_held, false, false},
}};

constexpr std::array<std::string_view, 8> kOutside{{
    "refcount_t: ", "usercopy: ", "list_add corruption", "list_del corruption", "detected hard LOCKUP",
    ": loading out-of-tree module taints kernel", ": module verification failed", ": module license '"}};

}  // namespace

std::span<const std::string_view> note_literals() { return kOutside; }

std::optional<Note> note_for_line(std::string_view text, const ByteSet& bytes, uint32_t line) {
  for (const NoteRule& rule : kRules) {
    if (!bytes.covers(rule.literal.bytes)) continue;
    size_t at = text.find(rule.literal.text);
    if (at == std::string_view::npos) continue;
    // "2 locks held by kworker/0:1/31:", "1 lock held by ...".
    if (rule.kind == NoteKind::locks_held && !has(text.substr(0, at), "lock")) continue;
    return Note{rule.kind, std::string(rule.from_literal ? text.substr(at) : text), line};
  }
  static constexpr Needle kLockClass("){");
  if (bytes.covers(kLockClass.bytes)) {
    size_t at = text.find(kLockClass.text);
    if (at != std::string_view::npos && text.find('}', at) != std::string_view::npos)
      return Note{NoteKind::lock, std::string(text), line};
  }
  return std::nullopt;
}

std::optional<SourceSite> assertion_site(std::string_view text) {
  for (size_t at = text.find(" at "); at != std::string_view::npos; at = text.find(" at ", at + 4)) {
    std::string_view rest = text.substr(at + 4);
    std::string_view loc = rest.substr(0, rest.find_first_of(" !"));
    size_t colon = loc.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 >= loc.size()) continue;
    uint32_t number = 0;
    auto [p, ec] = std::from_chars(loc.data() + colon + 1, loc.data() + loc.size(), number);
    if (ec == std::errc() && p == loc.data() + loc.size() && has(loc.substr(0, colon), "."))
      return SourceSite{std::string(loc.substr(0, colon)), number};
  }
  return std::nullopt;
}

// A report's own lines: notes, the assertion's source line, format marks.
void Extractor::notes_and_marks(std::string_view t) {
  if (std::optional<Note> n = note_for_line(t, bytes_, line_); n && r_.notes.size() < kMaxNotes)
    r_.notes.push_back(std::move(*n));
  if (!r_.assertion) {
    static constexpr Needle kBugAt("kernel BUG at ");
    if (index_ == 0) r_.assertion = assertion_site(t);
    else if (auto a = after_marker(t, kBugAt)) r_.assertion = assertion_site(t.substr(t.size() - a->size() - 4));
  }
  FormatMarks& m = r_.marks;
  static constexpr Needle kSysfs("last sysfs file:"), kBracketedIp("IP: [<"), kRip("RIP: "), kEip("EIP: "),
      kWide("[<ffffffff");
  if (!m.last_sysfs_file && holds(t, kSysfs)) m.last_sysfs_file = line_;
  if (!m.bracketed_ip && holds(t, kBracketedIp)) m.bracketed_ip = line_;
  if (!m.x86_64_text) {
    m.x86_64_text = holds(t, kRip);
    if (auto a = after_marker(t, kWide); a && !a->empty() && (a->front() == '8' || a->front() == 'a' || a->front() == 'c'))
      m.x86_64_text = true;
  }
  m.i386_text = m.i386_text || holds(t, kEip);
}

}  // namespace ktriage::logparse

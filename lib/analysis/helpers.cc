// Small helpers shared by the analyses: evidence builders, fields read from a
// report with fallbacks to its header, and trace-shape measures.
#include "analysis/helpers.h"

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ktriage::analysis {


std::optional<uint32_t> header_line(const Report& r) {
  if (r.span.first_line == 0) return std::nullopt;
  return r.span.first_line;
}

Evidence log_line(size_t report, const Report& r, std::string text) {
  return Evidence{"log_line", std::move(text), report, header_line(r)};
}

Evidence line_at(size_t report, uint32_t line, std::string text) {
  return Evidence{"log_line", std::move(text), report, line ? std::optional<uint32_t>(line) : std::nullopt};
}

Evidence figure(size_t report, std::string text) {
  return Evidence{"figure", std::move(text), report, std::nullopt};
}

Evidence kernel_fact(std::string text) {
  return Evidence{"kernel", std::move(text), std::nullopt, std::nullopt};
}

Finding make_finding(std::string id, std::string cause, std::string title, double confidence,
             std::string reason, size_t report) {
  Finding f;
  f.id = std::move(id);
  f.cause = std::move(cause);
  f.title = std::move(title);
  f.confidence = confidence;
  f.confidence_reason = std::move(reason);
  f.reports = {report};
  return f;
}

// Where the report says the CPU was: the printed IP, else the first reliable frame.
std::string where(const Report& r) {
  if (r.ip && !r.ip->function.empty()) return r.ip->function;
  for (const Frame& f : r.frames)
    if (f.reliable && !f.function.empty()) return f.function;
  return "";
}

std::string in_where(const Report& r) {
  std::string w = where(r);
  return w.empty() ? "" : " in " + w;
}

// The x86 page-fault error code, from "#PF: error_code(0x...)" or, on older
// kernels, the four hex digits after "Oops:" of a page fault.
std::optional<PageFaultError> page_fault_error(const Report& r, Arch arch) {
  if (r.error_code) return r.error_code;
  bool page_fault = r.kind == CrashKind::oops_paging || r.kind == CrashKind::null_deref;
  if (!page_fault || (arch != Arch::x86_64 && arch != Arch::i386 && arch != Arch::unknown)) return std::nullopt;
  std::string_view code = r.oops_code;
  if (code.size() < 4) return std::nullopt;
  uint32_t value = 0;
  auto [p, ec] = std::from_chars(code.data(), code.data() + 4, value, 16);
  if (ec != std::errc() || p != code.data() + 4) return std::nullopt;
  return PageFaultError{value};
}

// Parses a hex number at the start of s (with or without 0x).
std::optional<uint64_t> leading_hex(std::string_view s) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || p == s.data()) return std::nullopt;
  return v;
}

// The address the report could not access: the parsed field, else the header.
std::optional<uint64_t> fault_address_of(const Report& r) {
  if (r.fault_address) return r.fault_address;
  for (std::string_view key : {"non-canonical address ", "address: ", "paging request at ", "dereference at "}) {
    size_t at = r.header.find(key);
    if (at != std::string::npos) return leading_hex(std::string_view(r.header).substr(at + key.size()));
  }
  return std::nullopt;
}

// The preempt count: the parsed field, else the last "/0x..." of
// "BUG: scheduling while atomic: comm/pid/0xffff8811".
std::optional<uint64_t> preempt_count_of(const Report& r) {
  if (r.preempt_count) return r.preempt_count;
  if (r.kind != CrashKind::scheduling_while_atomic && !contains(r.header, "scheduling while atomic")) return std::nullopt;
  size_t slash = r.header.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string_view tail = std::string_view(r.header).substr(slash + 1);
  if (!tail.starts_with("0x")) return std::nullopt;
  return leading_hex(tail);
}

// "comm/pid" of "scheduling while atomic: comm/pid/count" when the parser left it out.
std::string atomic_task(const Report& r) {
  if (!r.comm.empty()) return fmt::format("{}{}", r.comm, r.pid ? fmt::format("/{}", *r.pid) : "");
  size_t at = r.header.find("atomic:");
  size_t slash = r.header.rfind('/');
  if (at == std::string::npos || slash == std::string::npos || slash <= at + 7) return "";
  std::string task = r.header.substr(at + 7, slash - at - 7);
  while (!task.empty() && task.front() == ' ') task.erase(0, 1);
  return task;
}

std::optional<uint64_t> reg(const Report& r, std::string_view name) {
  for (const RegisterSet& set : r.registers)
    if (auto v = set.get(name)) return v;
  return std::nullopt;
}

bool all_frames_unreliable(const Report& r) {
  if (r.frames.size() < 3) return false;
  return std::none_of(r.frames.begin(), r.frames.end(), [](const Frame& f) { return f.reliable; });
}

// The function most repeated in the trace and how often.
std::pair<std::string, size_t> most_repeated(const Report& r) {
  std::map<std::string, size_t> count;
  for (const Frame& f : r.frames)
    if (!f.function.empty()) ++count[f.function];
  std::pair<std::string, size_t> best{"", 0};
  for (const auto& [fn, n] : count)
    if (n > best.second) best = {fn, n};
  return best;
}

// Kernel scheduler, sleep and reporting primitives: frames to look past when
// asking "which caller did this".
bool is_core_primitive(std::string_view fn) {
  static constexpr std::string_view kPrefixes[] = {
      "dump_stack", "__schedule", "schedule", "__dump_stack", "show_stack", "panic",
      "msleep", "usleep", "ssleep", "mutex_lock", "__mutex_lock", "mutex_lock_killable",
      "down", "__down", "rwsem_down", "wait_for_completion", "__wait_for_common",
      "wait_for_common", "io_schedule", "__cond_resched", "_cond_resched", "__might_sleep",
      "__might_resched", "___might_sleep", "might_sleep", "folio_wait", "wait_on_page",
      "__wait_on_bit", "out_of_line_wait_on_bit", "do_nanosleep", "hrtimer_nanosleep",
      "__x64_sys", "do_syscall", "entry_SYSCALL", "warn_slowpath", "__warn", "report_bug",
      "handle_bug", "exc_invalid_op", "asm_exc", "do_error_trap", "do_trap", "die",
      "oops_end", "__die", "__schedule_bug", "preempt_schedule", "__kmem_cache_free",
      "kfree", "kmem_cache_free", "__slab_free", "__list_add_valid", "__list_del_entry_valid"};
  for (std::string_view p : kPrefixes)
    if (fn.starts_with(p)) return true;
  return false;
}

// The first frame past the primitives: the code that asked for the sleep,
// wait, free or list operation.
const Frame* first_caller(const Report& r) {
  for (const Frame& f : r.frames)
    if (f.reliable && !f.function.empty() && !is_core_primitive(f.function)) return &f;
  return nullptr;
}

// A module that dominates the trace: {module, frames in it}.
std::pair<std::string, size_t> dominant_module(const Report& r) {
  std::map<std::string, size_t> count;
  for (const Frame& f : r.frames)
    if (!f.module.empty()) ++count[f.module];
  std::pair<std::string, size_t> best{"", 0};
  for (const auto& [m, n] : count)
    if (n > best.second) best = {m, n};
  return best;
}

// "a → b → c", outermost caller first, consecutive repeats folded.
std::string chain(const Report& r, std::string_view module) {
  std::vector<std::string> names;
  for (auto it = r.frames.rbegin(); it != r.frames.rend(); ++it) {
    if (it->module != module || it->function.empty()) continue;
    if (names.empty() || names.back() != it->function) names.push_back(it->function);
  }
  return fmt::format("{}", fmt::join(names, " → "));
}

bool io_completion_like(const Report& r, std::string_view module) {
  for (const Frame& f : r.frames) {
    if (f.module != module) continue;
    if (contains(f.function, "iodone") || contains(f.function, "end_io") ||
        contains(f.function, "complet") || contains(f.function, "callback"))
      return true;
  }
  return false;
}

bool is_primary(const Context& c, size_t i) { return !c.consequence[i]; }

std::string where(const Context& c, size_t i) { return where(c.reports[i]); }

std::string in_where(const Context& c, size_t i) {
  std::string w = where(c, i);
  return w.empty() ? "" : " in " + w;
}

std::optional<PageFaultError> page_fault_error_of(const Context& c, size_t i) {
  return page_fault_error(c.reports[i], c.kernel.arch);
}

std::string ip_function_of(const Report& r) { return r.ip ? r.ip->function : ""; }

std::vector<const Note*> notes_of(const Report& r, NoteKind kind) {
  std::vector<const Note*> out;
  for (const Note& n : r.notes)
    if (n.kind == kind) out.push_back(&n);
  return out;
}

bool has_note(const Report& r, NoteKind kind) {
  return std::any_of(r.notes.begin(), r.notes.end(), [kind](const Note& n) { return n.kind == kind; });
}

Evidence note_line(size_t report, const Note& n) { return line_at(report, n.line, n.text); }

}  // namespace ktriage::analysis

// Assertions and traps with a fixed meaning (BUG_ON, WARN_ON, stack protector,
// divide error, lockdep, refcount_t, ...), explicit panics, and the mechanism
// fallback.
#include "analysis/analyses.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/helpers.h"

namespace ktriage::analysis {

// --- assertions: BUG_ON() and WARN_ON() with their source line -------------

void assertions(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    const std::optional<SourceSite>& loc = r.assertion;
    bool bug = r.kind == CrashKind::bug_at || r.header.starts_with("kernel BUG at") ||
               (loc && r.kind == CrashKind::invalid_opcode);
    bool warn = r.kind == CrashKind::warning;
    if (!bug && !warn) continue;
    std::string at = loc ? fmt::format(" at {}:{}", loc->file, loc->line) : "";
    std::string fn = where(c, i);
    std::string mod = r.ip && !r.ip->module.empty() ? " [" + r.ip->module + "]" : "";
    Finding f;
    if (bug) {
      f = make_finding("assertion.bug_on", "bug_at", fmt::format("BUG_ON() assertion failed{}{}{}", at, fn.empty() ? "" : " in " + fn, mod), 0.75,
               "the kernel stopped on an explicit assertion, whose source line it printed", i);
      f.explanation = "Code asserted a condition with BUG()/BUG_ON() and it was true. The source line names the check; the question is how the state it guards became wrong.";
      f.actions = {loc ? fmt::format("Read {}:{} to see the condition that failed.", loc->file, loc->line) : "Symbolize the IP to find the BUG_ON() line.",
                   "Trace back how the checked state became invalid (refcount, list, flag)."};
    } else {
      f = make_finding("assertion.warn_on", "warning", fmt::format("WARN_ON() triggered{}{}{}", at, fn.empty() ? "" : " in " + fn, mod), 0.7,
               "the kernel printed a warning with its source line; it kept running", i);
      f.explanation = "A WARN()/WARN_ON() condition was true. The kernel continued (unless panic_on_warn is set) and marked itself tainted W.";
      f.actions = {loc ? fmt::format("Read {}:{} to see the warning's condition.", loc->file, loc->line) : "Symbolize the IP to find the WARN_ON() line.",
                   "Decide whether the warning is the root cause of anything that follows in the log."};
    }
    f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
    if (r.ip && !r.ip->function.empty()) f.evidence.push_back(Evidence{"frame", "IP " + frame_name(*r.ip), i, std::nullopt});
    out.push_back(std::move(f));
  }
}

// --- traps and detectors with a fixed meaning ------------------------------

namespace {

// "[ INFO: possible recursive locking detected ]" / "WARNING: possible circular
// locking dependency detected" -> "possible recursive locking detected".
std::string lockdep_verdict(std::string_view h) {
  for (std::string_view prefix : {"[ INFO:", "INFO:", "WARNING:", "["}) {
    while (h.starts_with(" ")) h.remove_prefix(1);
    if (h.starts_with(prefix)) h.remove_prefix(prefix.size());
  }
  while (h.starts_with(" ")) h.remove_prefix(1);
  while (h.ends_with(" ") || h.ends_with("]")) h.remove_suffix(1);
  return std::string(h);
}

}  // namespace

void traps(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    std::string_view h = r.header;
    Finding f;
    std::vector<const Note*> usercopy = notes_of(r, NoteKind::usercopy_check);
    if (!usercopy.empty()) {
      // The last verdict printed before the report, else the report's own.
      std::string msg;
      for (const Note* n : usercopy)
        if (n->line < r.span.first_line || msg.empty()) msg = n->text;
      bool overwrite = contains(msg, "overwrite") || contains(h, "overwrite");
      const Frame* caller = first_caller(r);
      f = make_finding("trap.usercopy", "bug_at",
               fmt::format("hardened usercopy stopped a {}{}", overwrite ? "heap buffer overflow (copy_from_user past the object)" : "kernel memory exposure (copy_to_user past the object)",
                           caller ? " in " + caller->function : ""),
               0.8, "CONFIG_HARDENED_USERCOPY compared the copy length with the object size and BUG()ed", i);
      if (!msg.empty()) f.evidence.push_back(Evidence{"log_line", msg, i, std::nullopt});
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      if (caller) f.evidence.push_back(Evidence{"frame", "the copy was made by " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
      f.explanation = "A copy between user space and a kernel object was longer than the object (the message names the slab cache, offset and size). Without the check it would have overflowed (or leaked) kernel heap memory.";
      f.actions = {"Bound the copy length by the buffer size in the caller (or allocate the buffer from the length)."};
    } else if (contains(h, "stack-protector") || r.kind == CrashKind::stack_protector) {
      std::string fn;
      size_t at = h.find("corrupted in:");
      if (at != std::string_view::npos) {
        fn = std::string(h.substr(at + 13));
        while (!fn.empty() && fn.front() == ' ') fn.erase(0, 1);
      }
      f = make_finding("trap.stack_protector", "stack_protector",
               "stack buffer overflow detected by the stack protector" + (fn.empty() ? std::string() : " in " + fn), 0.85,
               "the stack canary of a function was overwritten before it returned", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "A function wrote past the end of a local array (or through a bad pointer into its own frame) and destroyed the canary the compiler placed before the return address.";
      f.actions = {"Audit the on-stack buffers of " + (fn.empty() ? std::string("the named function") : fn) + " and every copy into them (lengths from user space or hardware)."};
    } else if (r.kind == CrashKind::divide_error || h.starts_with("divide error")) {
      f = make_finding("trap.divide_error", "divide_error", "integer division by zero" + in_where(c, i), 0.8,
               "the CPU raised #DE: a divide by zero (or a quotient overflow)", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "An integer division had a zero divisor (or its quotient did not fit). The divisor usually comes from a configuration value, hardware, or a count that can be zero.";
      f.actions = {"Find the divisor at the faulting instruction and the path where it can be zero."};
    } else if ((r.kind == CrashKind::invalid_opcode || h.starts_with("invalid opcode")) && r.code && r.code->faulting_offset &&
               *r.code->faulting_offset + 1 < r.code->bytes.size() && r.code->bytes[*r.code->faulting_offset] == 0x0f &&
               r.code->bytes[*r.code->faulting_offset + 1] == 0x0b) {
      f = make_finding("trap.bug_ud2", "bug_at", "BUG() hit" + in_where(c, i) + " (no location printed)", 0.65,
               "the faulting instruction is ud2, the instruction BUG() compiles to", i);
      f.evidence.push_back(Evidence{"instruction", "the marked Code: bytes are 0f 0b (ud2): a BUG()/BUG_ON() without CONFIG_DEBUG_BUGVERBOSE", i, std::nullopt});
      f.explanation = "A BUG_ON() fired; the kernel was built without the option that prints its file and line.";
      f.actions = {"Symbolize the IP with vmlinux to find the BUG_ON() line."};
    } else if (r.kind == CrashKind::bad_page || contains(h, "Bad page state") || contains(h, "Bad page map")) {
      f = make_finding("trap.bad_page", "bad_page", "page in a bad state" + in_where(c, i), 0.75,
               "the page allocator found a page whose flags, mapping or counts are wrong", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "A page was freed or allocated while still mapped, referenced or flagged: typically a double free or use-after-free of a page, or memory corruption of struct page.";
      f.actions = {"Read the page dump (flags, mapcount, refcount) under the report; enable page_owner to see who freed it."};
    } else if (r.kind == CrashKind::lockdep || contains(h, "possible circular locking dependency") ||
               contains(h, "possible recursive locking") || contains(h, "inconsistent lock state") ||
               contains(h, "possible irq lock inversion")) {
      f = make_finding("trap.lockdep", "lockdep", "lockdep: " + lockdep_verdict(h), 0.8,
               "lockdep proved a possible deadlock from the locking order it observed", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      for (const Note* n : notes_of(r, NoteKind::lock)) f.evidence.push_back(note_line(i, *n));
      f.explanation = "Two code paths take the same locks in opposite orders (or a lock is taken in IRQ and non-IRQ context unsafely). It has not deadlocked yet, but can.";
      f.actions = {"Read the two chains lockdep printed and make one of them take the locks in the other's order."};
    } else if (std::vector<const Note*> refcount = notes_of(r, NoteKind::refcount_check);
               r.kind == CrashKind::refcount || !refcount.empty()) {
      bool uaf = contains(h, "use-after-free") ||
                 std::any_of(refcount.begin(), refcount.end(), [](const Note* n) { return contains(n->text, "use-after-free"); });
      f = make_finding(uaf ? "trap.refcount_uaf" : "trap.refcount", uaf ? "use_after_free" : "refcount",
               uaf ? "refcount underflow on a freed object (use-after-free)" + in_where(c, i) : "refcount_t saturated: leaking memory" + in_where(c, i),
               0.75, "refcount_t checks caught an impossible transition and said what it means", i);
      for (const Note* n : refcount)
        if (n->line < r.span.first_line) f.evidence.push_back(note_line(i, *n));
      if (contains(h, "refcount_t: ")) f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      for (const Note* n : refcount)
        if (n->line >= r.span.first_line) f.evidence.push_back(note_line(i, *n));
      f.explanation = uaf ? "A reference count went from 0 to -1 or was incremented from 0: the object had already dropped its last reference (and may be freed). Someone put a reference they did not hold."
                          : "A reference count overflowed and was saturated; the object will never be freed.";
      f.actions = {"Pair every get with a put on the path in the trace; look for an extra put (or a missing get) on error paths."};
    } else if (r.kind == CrashKind::ubsan || h.starts_with("UBSAN:")) {
      f = make_finding("trap.ubsan", "ubsan", std::string(h), 0.75, "the undefined-behaviour sanitizer caught it at a source line", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "The code did something the C standard leaves undefined (out-of-bounds index, shift too large, overflow).";
      f.actions = {"Read the source line UBSAN names."};
    } else if (r.kind == CrashKind::kasan && !icontains(h, "use-after-free") && !icontains(h, "double-free") && !icontains(h, "invalid-free")) {
      f = make_finding("trap.kasan", "kasan", std::string(h), 0.85, "KASAN caught an invalid access at its source", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "KASAN caught an out-of-bounds or otherwise invalid memory access at the instruction that made it.";
      f.actions = {"Read the allocation stack and the object description KASAN printed under the report."};
    } else if (r.kind == CrashKind::double_fault) {
      f = make_finding("trap.double_fault", "double_fault", "double fault" + in_where(c, i), 0.6,
               "a fault while delivering a fault: often a kernel stack overflow or a corrupted stack pointer", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      if (auto rsp = reg(r, "rsp"))
        f.evidence.push_back(Evidence{"register", fmt::format("RSP {} ({})", hex(*rsp), to_string(classify_address(*rsp, c.kernel.arch).cls)), i, std::nullopt});
      f.explanation = "The CPU faulted while trying to handle an exception, usually because the stack itself was unusable.";
      f.actions = {"Check RSP against the task's stack bounds; look for deep recursion in the trace."};
    } else {
      continue;
    }
    out.push_back(std::move(f));
  }
}

// --- panic: a deliberate or standalone panic --------------------------------

void panic_reason(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (r.kind != CrashKind::panic || !is_primary(c, i)) continue;
    if (c.incident[i] < i) continue;  // an earlier report of its incident says why
    std::string reason = r.header;
    size_t at = reason.find("not syncing:");
    if (at != std::string::npos) reason = reason.substr(at + 12);
    while (!reason.empty() && reason.front() == ' ') reason.erase(0, 1);
    const Frame* caller = first_caller(r);
    Finding f = make_finding("panic.explicit", "panic", fmt::format("kernel panic: {}", reason), 0.7,
                     "panic() was called directly, not as the end of an earlier oops", i);
    f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
    if (caller) f.evidence.push_back(Evidence{"frame", "panic() was called from " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
    f.explanation = "Code called panic() on purpose: the reason string says why.";
    f.actions = {"Read the panic reason and the caller's code; it names the condition the caller could not handle."};
    out.push_back(std::move(f));
  }
}

// --- mechanism: the report's own class, when nothing better is known --------

namespace {

std::string cause_of_kind(const Report& r) {
  if (r.kind == CrashKind::kasan) {
    if (icontains(r.header, "use-after-free")) return "use_after_free";
    if (icontains(r.header, "double-free")) return "double_free";
    if (icontains(r.header, "null-ptr-deref")) return "null_deref";
  }
  return std::string(to_string(r.kind));
}

}  // namespace

void mechanism(const Context& c, std::vector<Finding>& out) {
  std::vector<bool> seen(c.reports.size(), false);
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i) || seen[c.incident[i]]) continue;
    seen[c.incident[i]] = true;
    Finding f = make_finding("mechanism." + std::string(to_string(r.kind)), cause_of_kind(r),
                     r.title.empty() ? r.header : r.title, 0.4,
                     "how the kernel reported it; no analysis explained more", i);
    f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
    f.explanation = "The class of the report as the kernel printed it.";
    out.push_back(std::move(f));
  }
}

}  // namespace ktriage::analysis

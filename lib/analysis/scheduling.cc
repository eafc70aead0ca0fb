// Atomic-context bugs and lockups: scheduling/sleeping while atomic, soft and
// hard lockups, hung tasks, RCU stalls.
#include "analysis/analyses.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/helpers.h"

namespace ktriage::analysis {

// --- atomic context: scheduling while atomic, sleeping in atomic ------------

void atomic_context(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (r.kind != CrashKind::scheduling_while_atomic && r.kind != CrashKind::sleeping_in_atomic) continue;
    const Frame* caller = first_caller(r);
    std::string task = atomic_task(r);
    if (r.kind == CrashKind::sleeping_in_atomic) {
      if (!is_primary(c, i)) continue;
      const std::optional<SourceSite>& loc = r.assertion;
      Finding f = make_finding("atomic.sleeping", "sleeping_in_atomic",
                       fmt::format("sleeping function called from atomic context{}{}", loc ? fmt::format(" at {}:{}", loc->file, loc->line) : "",
                                   caller ? " by " + caller->function : ""),
                       0.8, "might_sleep() caught a sleep in atomic context", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      for (const Note* n : notes_of(r, NoteKind::atomic_context)) f.evidence.push_back(note_line(i, *n));
      if (caller) f.evidence.push_back(Evidence{"frame", "the sleeping call comes from " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
      f.explanation = "Code that may sleep (mutex, allocation with GFP_KERNEL, msleep, copy_from_user) was called with a spinlock held, preemption or interrupts disabled, or in interrupt context.";
      f.actions = {"Find the lock or atomic section held by the caller; move the sleeping call outside it or use a non-sleeping variant."};
      out.push_back(std::move(f));
      continue;
    }
    auto count = preempt_count_of(r);
    if (!count) {
      if (!is_primary(c, i)) continue;
      Finding f = make_finding("atomic.scheduling", "scheduling_while_atomic",
                       fmt::format("scheduling while atomic{}{}", task.empty() ? "" : ": " + task, caller ? " in " + caller->function : ""),
                       0.7, "the scheduler was entered from atomic context", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      out.push_back(std::move(f));
      continue;
    }
    PreemptCount pc = decode_preempt_count(*count);
    if (!pc.plausible && !pc.underflow) {
      // The count is garbage: the stack_overflow analysis explains it.
      Finding f = make_finding("atomic.garbage_count", "scheduling_while_atomic",
                       fmt::format("scheduling while atomic reported for {}, but the preempt count is garbage", task.empty() ? "a task" : task),
                       0.3, "the report is a symptom: the count itself was overwritten", i);
      f.evidence.push_back(log_line(i, r, fmt::format("preempt count {}", pc.meaning)));
      f.explanation = "The scheduler saw a non-zero preempt count, but the value is not a count at all; see the finding about what overwrote it.";
      out.push_back(std::move(f));
      continue;
    }
    if (!is_primary(c, i)) continue;
    Finding f = make_finding("atomic.scheduling", "scheduling_while_atomic",
                     fmt::format("scheduling while atomic: {} slept with preempt count {:#x}{}", task.empty() ? "a task" : task, *count,
                                 caller ? " in " + caller->function : ""),
                     0.8, "the scheduler was entered with a plausible non-zero preempt count: a real atomic-context sleep", i);
    f.evidence.push_back(log_line(i, r, fmt::format("preempt count {}", pc.meaning)));
    if (caller) f.evidence.push_back(Evidence{"frame", "the sleep was requested by " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
    for (size_t j : c.incident_of(i))
      if (j > i && c.reports[j].kind == CrashKind::scheduling_while_atomic)
        f.evidence.push_back(log_line(j, c.reports[j], fmt::format("report #{} repeats it for the same task (\"{}\"): a cascade of the first", c.number(j), c.reports[j].header)));
    f.explanation = "The task called a function that sleeps (schedule()) while preemption was disabled, typically with a spinlock held. The count says how deep: each spin_lock() adds one.";
    f.actions = {caller ? "In " + caller->function + ", find the spinlock/preempt_disable() held around the sleeping call and move the sleep out of it (or use a non-sleeping primitive)."
                        : "Find the spinlock held around the sleeping call and move the sleep out of it.",
                 "CONFIG_DEBUG_ATOMIC_SLEEP reports the exact sleeping call with might_sleep()."};
    out.push_back(std::move(f));
  }
}

// --- lockups and hangs ------------------------------------------------------

namespace {

std::string wait_kind(const Report& r) {
  for (const Frame& f : r.frames) {
    std::string_view fn = f.function;
    if (contains(fn, "mutex_lock")) return "a mutex";
    if (contains(fn, "rwsem") || fn.starts_with("down_read") || fn.starts_with("down_write")) return "a read-write semaphore";
    if (contains(fn, "wait_for_completion") || contains(fn, "wait_for_common")) return "a completion";
    if (contains(fn, "io_schedule") || contains(fn, "folio_wait") || contains(fn, "wait_on_page") || contains(fn, "wait_on_bit")) return "I/O (a page or buffer)";
    if (fn == "down" || fn.starts_with("__down")) return "a semaphore";
  }
  return "";
}

// "INFO: task sh:97 blocked ..." / "... stuck for 13s! [sh:97]" -> "sh:97".
std::string task_from_header(std::string_view h) {
  size_t at = h.find("INFO: task ");
  if (at != std::string_view::npos) {
    std::string_view rest = h.substr(at + 11);
    return std::string(rest.substr(0, rest.find(" blocked")));
  }
  size_t open = h.rfind('[');
  size_t close = h.rfind(']');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open + 1 &&
      contains(h.substr(open, close - open), ":"))
    return std::string(h.substr(open + 1, close - open - 1));
  return "";
}

}  // namespace

void lockups(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    std::string task = task_from_header(r.header);
    if (task.empty() && !r.comm.empty()) task = fmt::format("{}{}", r.comm, r.pid ? fmt::format(":{}", *r.pid) : "");
    Finding f;
    // The kind, else the watchdogs' own words (a parser may leave kind `other`).
    std::string_view h = r.header;
    bool soft_lockup = r.kind == CrashKind::soft_lockup || contains(h, "soft lockup - CPU#");
    // Old kernels print "Watchdog detected hard LOCKUP on cpu N" as a WARNING's message.
    bool hard_lockup = r.kind == CrashKind::hard_lockup || contains(h, "hard LOCKUP") || has_note(r, NoteKind::hard_lockup);
    bool hung = r.kind == CrashKind::hung_task || (contains(h, "INFO: task ") && contains(h, "blocked for more than"));
    bool rcu = r.kind == CrashKind::rcu_stall || contains(h, "detected stalls on CPUs") || contains(h, "self-detected stall");
    if (soft_lockup || hard_lockup) {
      bool soft = soft_lockup;
      std::string at = where(c, i);
      f = make_finding(soft ? "lockup.soft" : "lockup.hard", soft ? "soft_lockup" : "hard_lockup",
               fmt::format("{} lockup{}{}{}", soft ? "soft" : "hard", r.cpu ? fmt::format(" on CPU {}", *r.cpu) : "",
                           task.empty() ? "" : ": " + task, at.empty() ? "" : " spinning in " + at),
               0.8, "the lockup watchdog fired", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      if (!at.empty()) f.evidence.push_back(Evidence{"frame", "the CPU was executing " + at + " when the watchdog sampled it", i, std::nullopt});
      f.explanation = soft ? "A CPU ran kernel code for longer than the watchdog threshold without scheduling: an endless loop, a spinlock never released, or a very long loop without cond_resched()."
                           : "A CPU stopped taking interrupts for too long: a loop with interrupts disabled or a deadlock on an IRQ-safe lock.";
      f.actions = {"Look at the loop around the sampled IP; check the exit condition and any spinlock it waits for.",
                   "If it waits for a lock, find the holder (sysrq-l / NMI backtraces of other CPUs)."};
    } else if (hung) {
      std::string waiting = wait_kind(r);
      const Frame* caller = first_caller(r);
      f = make_finding("lockup.hung_task", "hung_task",
               fmt::format("hung task {}{}{}", task.empty() ? "" : task + " ",
                           waiting.empty() ? "blocked in D state" : "blocked waiting on " + waiting,
                           caller ? " in " + caller->function : ""),
               0.8, "khungtaskd found a task in uninterruptible sleep past the timeout", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      if (caller) f.evidence.push_back(Evidence{"frame", "it waits in " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
      for (const Note& n : r.notes)
        if (n.kind == NoteKind::locks_held || (n.kind == NoteKind::lock && contains(n.text, "#")))
          f.evidence.push_back(note_line(i, n));
      f.explanation = "The task sleeps uninterruptibly on something nobody releases or signals: a lock held by another (possibly hung) task, a completion never completed, or I/O that never finishes.";
      f.actions = {"Find the holder of what it waits on (lockdep's lock list, sysrq-w / sysrq-d).",
                   "For a completion: find who is supposed to call complete() and why it did not."};
    } else if (rcu) {
      f = make_finding("lockup.rcu_stall", "rcu_stall", "RCU stall" + in_where(c, i), 0.8, "the RCU stall detector fired", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "A CPU or task stayed in an RCU read-side critical section (or with preemption off) for too long.";
      f.actions = {"Look at the stalled CPU's backtrace for the loop holding it."};
    } else {
      continue;
    }
    out.push_back(std::move(f));
  }
}

}  // namespace ktriage::analysis

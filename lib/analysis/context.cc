#include "analysis/context.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace ktriage::analysis {

// --- Formatting -----------------------------------------------------------

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

std::string frame_name(const Symbol& s) {
  std::string out = s.function.empty() && s.address ? hex(*s.address) : s.function;
  if (!s.function.empty() && s.offset) {
    out += fmt::format("+{:#x}", *s.offset);
    if (s.size) out += fmt::format("/{:#x}", *s.size);
  }
  if (!s.module.empty()) out += " [" + s.module + "]";
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool icontains(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                    std::tolower(static_cast<unsigned char>(b)); });
  return it != haystack.end();
}

// --- Kernel versions ------------------------------------------------------

RunningKernel KernelFacts::running() const {
  RunningKernel id{arch, release, "", "", "", kasan};
  if (!release.empty()) return id;
  if (era_pre_3) {
    id.before = "3.0";
    id.era = "the marks of a 2.6-era kernel";
  } else if (era_pre_4) {
    id.before = "4.0";
    id.era = "the report format of kernels before 4.x";
  } else if (era_modern) {
    id.since = "4.15";
    id.era = "the report format of 4.15+ kernels";
  }
  return id;
}

// --- Addresses ------------------------------------------------------------

PreemptCount decode_preempt_count(uint64_t v) {
  PreemptCount p;
  p.value = v;
  uint64_t v32 = v & 0xffffffffull;
  if (v > 0xffffffffull || (v32 >> 16) == 0xffff) {
    if (v32 >= 0xfffffff0u) {
      p.plausible = false;
      p.underflow = true;
      p.meaning = fmt::format("{:#010x} is a small negative number: preempt_count underflowed "
                              "(more preempt_enable() than preempt_disable())", v32);
      return p;
    }
    p.plausible = false;
    p.pointer_like = (v32 & 0xffff) >= 0x8000;
    if (p.pointer_like) {
      p.meaning = fmt::format("{:#010x} is pointer-like: the top half of a kernel address {:#x}xxxxxxxx "
                              "(x86_64 direct map), not a count", v32, v32);
      return p;
    }
  }
  // Real counts: preempt depth in bits 0-7, softirq 8-15, hardirq 16-19, NMI 20,
  // PREEMPT_ACTIVE (old kernels) 0x10000000, PREEMPT_NEED_RESCHED bit 31.
  constexpr uint64_t kKnownBits = 0x001fffffull | 0x10000000ull | 0x80000000ull;
  if (!p.plausible || (v & ~kKnownBits) != 0) {
    p.plausible = false;
    p.meaning = fmt::format("{:#x} has bits no preempt count uses: garbage, not a count", v);
    return p;
  }
  std::vector<std::string> parts;
  if (v & 0xff) parts.push_back(fmt::format("preemption disabled {} time(s) (spinlock or preempt_disable)", v & 0xff));
  if (v & 0xff00) parts.push_back(fmt::format("softirq count {:#x} (in softirq or bottom halves disabled)", (v >> 8) & 0xff));
  if (v & 0xf0000) parts.push_back(fmt::format("hardirq count {}", (v >> 16) & 0xf));
  if (v & 0x100000) parts.push_back("in NMI");
  if ((v & 0xff) > 64) {
    p.plausible = false;
    parts.push_back("a preemption depth this large is not plausible");
  }
  if (parts.empty()) parts.push_back("zero: not atomic by the count itself (the task may have disabled interrupts or an earlier imbalance was reported)");
  p.meaning = fmt::format("{:#010x}: {}", v, fmt::join(parts, ", "));
  return p;
}

// --- Context --------------------------------------------------------------

std::vector<size_t> Context::incident_of(size_t r) const {
  // An incident is a run of consecutive reports (make_context): its size,
  // not the log's, is the cost.
  std::vector<size_t> out;
  for (size_t i = incident[r]; i < reports.size() && incident[i] == incident[r]; ++i) out.push_back(i);
  return out;
}

namespace {

// Panic reasons that only say an earlier report was fatal.
bool is_follow_on_panic(const Report& r) {
  if (r.kind != CrashKind::panic) return false;
  static constexpr std::string_view kReasons[] = {
      "Fatal exception", "softlockup: hung tasks", "hung_task: blocked tasks",
      "Hard LOCKUP", "panic_on_warn", "panic_on_oops", "rcu_stall", "RCU Stall",
      "Fatal machine check"};
  for (std::string_view reason : kReasons)
    if (contains(r.header, reason) || contains(r.title, reason)) return true;
  return false;
}

// "Kernel panic - not syncing: scheduling while atomic" right after a
// "BUG: scheduling while atomic" report (panic_on_* sysctls) restates it.
bool panic_restates(const Report& a, const Report& b) {
  if (b.kind != CrashKind::panic) return false;
  size_t at = b.header.find("not syncing:");
  if (at == std::string::npos) return false;
  std::string_view reason = std::string_view(b.header).substr(at + 12);
  while (reason.starts_with(" ")) reason.remove_prefix(1);
  while (reason.ends_with(" ") || reason.ends_with(".") || reason.ends_with("!")) reason.remove_suffix(1);
  return reason.size() >= 8 && icontains(a.header, reason);
}

bool follows_as_panic(const Report& a, const Report& b) { return is_follow_on_panic(b) || panic_restates(a, b); }

constexpr double kSameTaskSeconds = 5;

std::string link_reason(const Report& a, const Report& b) {
  // Another input or another boot: never the same incident, whatever the
  // line numbers and timestamps (both start again) say.
  if (a.source != b.source || a.boot != b.boot) return "";
  bool pid_differs = a.pid && b.pid && *a.pid != *b.pid;
  bool cpu_differs = a.cpu && b.cpu && *a.cpu != *b.cpu;
  std::optional<double> gap;
  if (a.timestamp && b.timestamp) gap = *b.timestamp - *a.timestamp;
  if (follows_as_panic(a, b) && (!gap || (*gap >= -1 && *gap < 30)))
    return "the panic that follows only reports the earlier failure as fatal";
  if (pid_differs || cpu_differs) return "";
  // The same task seconds apart: one incident. A WARNING long before an oops
  // of the same task is not tied to it by anything the log says.
  if (a.pid && b.pid && (!gap || (*gap >= -1 && *gap < kSameTaskSeconds)))
    return fmt::format("same task {}/{}{}", b.comm.empty() ? a.comm : b.comm, *b.pid,
                       gap ? fmt::format(", {:.3f} s apart", *gap) : "");
  if (gap && *gap >= -0.01 && *gap < 1.0) return fmt::format("printed {:.3f} s apart with no conflicting task or CPU", *gap);
  if (!gap && a.span.last_line && b.span.first_line && b.span.first_line >= a.span.last_line &&
      b.span.first_line - a.span.last_line <= 2)
    return "printed back to back with no conflicting task or CPU";
  return "";
}

}  // namespace

constexpr size_t kMaxIncidentReports = 32;

namespace {

// Incidents: runs of linked reports.
void link_incidents(Context& c) {
  const std::vector<Report>& reports = c.reports;
  const size_t n = reports.size();
  c.incident.resize(n);
  c.link_reason.resize(n);
  c.consequence.assign(n, false);
  std::vector<CrashKind> kinds;  // of the incident so far
  for (size_t i = 0; i < n; ++i) {
    c.incident[i] = i;
    // A storm of reports (a log of the same oops a thousand times, back to
    // back) is many incidents, not one: each cause finding lists its whole
    // incident. The longest real one in the corpora is 18 reports.
    const bool full = i > 0 && i - c.incident[i - 1] >= kMaxIncidentReports;
    std::string why = i > 0 && !full ? link_reason(reports[i - 1], reports[i]) : "";
    if (why.empty()) {
      kinds.assign(1, reports[i].kind);
      continue;
    }
    c.incident[i] = c.incident[i - 1];
    c.link_reason[i] = why;
    if (follows_as_panic(reports[i - 1], reports[i])) c.consequence[i] = true;
    // A repeat of the same kind on the same task is a cascade of the first.
    if (std::find(kinds.begin(), kinds.end(), reports[i].kind) != kinds.end()) c.consequence[i] = true;
    else kinds.push_back(reports[i].kind);
  }
}

}  // namespace

Context make_context(const std::vector<Report>& reports, const DiagnoseOptions& options) {
  Context c{reports, options, {}, {}, {}, {}};
  const size_t n = reports.size();
  link_incidents(c);

  if (options.log) {
    c.kernel = log_facts_for(*options.log, reports, options);
  } else {
    std::vector<ReportFacts> facts;
    facts.reserve(n);
    for (size_t i = 0; i < n; ++i) facts.push_back(ReportFacts::of(reports[i], i));
    c.kernel = kernel_facts(facts, options.kernel_version);
  }
  return c;
}

}  // namespace ktriage::analysis

namespace ktriage {

size_t incident_start(const std::vector<Report>& reports, size_t from) {
  const DiagnoseOptions options;
  analysis::Context c{reports, options, {}, {}, {}, {}};
  analysis::link_incidents(c);
  for (size_t i = from; i < reports.size(); ++i)
    if (c.incident[i] == i) return i;
  return reports.size();
}

}  // namespace ktriage

// stack_overflow: direct signs (guard page, corrupted stack end) and indirect
// ones (a garbage preempt count, with THREAD_SIZE and where thread_info lives).
#include "analysis/analyses.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/helpers.h"

namespace ktriage::analysis {

// --- stack_overflow: direct and indirect signs ------------------------------

namespace {

bool direct_overflow_sign(const Report& r, std::string& what) {
  static constexpr std::string_view kSigns[] = {
      "stack guard page was hit", "corrupted stack end detected", "Thread overran stack",
      "kernel stack overflow", "stack guard page"};
  for (std::string_view s : kSigns)
    if (contains(r.header, s) || contains(r.title, s)) { what = std::string(s); return true; }
  if (r.kind == CrashKind::stack_overflow) { what = r.header; return true; }
  return false;
}

void add_stack_facts(const Context& c, Finding& f) {
  StackFacts sf = stack_facts(c.kernel);
  if (!c.kernel.arch_reason.empty())
    f.evidence.push_back(kernel_fact(fmt::format("architecture {}: {}", to_string(c.kernel.arch), c.kernel.arch_reason)));
  for (const Evidence& e : c.kernel.era_evidence) f.evidence.push_back(e);
  f.evidence.push_back(Evidence{"figure", "THREAD_SIZE " + sf.assumption, std::nullopt, std::nullopt});
}

}  // namespace

void stack_overflow(const Context& c, std::vector<Finding>& out) {
  StackFacts sf = stack_facts(c.kernel);
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    std::string sign;
    if (direct_overflow_sign(r, sign)) {
      auto [fn, n] = most_repeated(r);
      bool recursion = n >= 8 && n * 2 >= r.frames.size();
      Finding f = make_finding("stack_overflow.direct", "stack_overflow",
                       recursion ? fmt::format("kernel stack overflow: unbounded recursion in {}", fn)
                                 : "kernel stack overflow" + in_where(c, i),
                       0.95, "the kernel itself detected the overflow", i);
      f.evidence.push_back(log_line(i, r, fmt::format("the kernel reports it: \"{}\"", r.header)));
      if (recursion)
        f.evidence.push_back(figure(i, fmt::format("{} repeats {} times in the {}-frame trace: unbounded recursion", fn, n, r.frames.size())));
      else if (r.frames.size() >= 40)
        f.evidence.push_back(figure(i, fmt::format("very deep call trace: {} frames", r.frames.size())));
      auto cr2 = r.fault_address ? r.fault_address : reg(r, "cr2");
      auto rsp = reg(r, "rsp");
      if (cr2 && rsp)
        f.evidence.push_back(Evidence{"register", fmt::format("CR2 {} is {} bytes below RSP {}: the access ran off the stack into the guard page",
                                                              hex(*cr2), *rsp >= *cr2 ? *rsp - *cr2 : 0, hex(*rsp)), i, std::nullopt});
      else if (cr2)
        f.evidence.push_back(Evidence{"register", fmt::format("CR2 {}: the guard-page address ({})", hex(*cr2), to_string(classify_address(*cr2, c.kernel.arch))), i, std::nullopt});
      add_stack_facts(c, f);
      f.explanation = recursion
          ? "A function called itself without bound until the task's kernel stack ran into its guard page. With VMAP_STACK the overflow is caught before it corrupts neighbouring memory."
          : "The task's kernel stack ran out: the kernel detected the overflow directly.";
      f.actions = {recursion ? "Bound the recursion in " + fn + " (or make it iterative)."
                             : "Find the deepest frames and their stack usage (large on-stack buffers, deep call chains).",
                   "Check large local variables in the frames on the trace (objdump: sub $N,%rsp)."};
      out.push_back(std::move(f));
      continue;
    }

    auto count = preempt_count_of(r);
    if (!count) continue;
    PreemptCount pc = decode_preempt_count(*count);
    if (pc.plausible || pc.underflow) continue;

    // Indirect: a garbage preempt count. Where does the count live on this kernel?
    std::vector<Evidence> ev;
    ev.push_back(log_line(i, r, fmt::format("preempt count {}", pc.meaning)));
    int support = 0;
    std::vector<size_t> incident = c.incident_of(i);
    for (size_t j : incident) {
      const Report& o = c.reports[j];
      if (auto a = fault_address_of(o)) {
        AddressClass cls = classify_address(*a, c.kernel.arch);
        if (cls == AddressClass::user || cls == AddressClass::non_canonical) {
          auto pf = page_fault_error_of(c, j);
          std::string access = pf ? (pf->write() ? "write" : pf->instruction_fetch() ? "instruction fetch" : "read") : "access";
          ev.push_back(log_line(j, o, fmt::format("kernel {} of {} {}{} (report #{}): a garbage pointer, as expected when fields of thread_info (such as cpu) are overwritten",
                                                  access, to_string(cls), hex(*a), in_where(c, j), j + 1)));
          ++support;
        }
      }
      if (all_frames_unreliable(o)) {
        ev.push_back(figure(j, fmt::format("all {} frames of report #{} are marked '?' (unreliable): the unwinder found no consistent frame chain on this stack", o.frames.size(), j + 1)));
        ++support;
      }
      auto [mod, n] = dominant_module(o);
      if (n >= 5 && n * 5 >= o.frames.size() * 2) {
        ev.push_back(figure(j, fmt::format("deep {} {}chain: {} of {} frames in {} ({})", mod,
                                           io_completion_like(o, mod) ? "I/O-completion " : "", n, o.frames.size(), mod, chain(o, mod))));
        ++support;
      } else if (o.frames.size() >= 40) {
        ev.push_back(figure(j, fmt::format("very deep call trace: {} frames", o.frames.size())));
        ++support;
      }
      if (o.cpu && *o.cpu >= 8192) {
        ev.push_back(log_line(j, o, fmt::format("CPU number {} is implausible (NR_CPUS is at most 8192)", *o.cpu)));
        ++support;
      }
    }

    bool per_cpu_count = sf.preempt_count_in_thread_info == false;
    bool ti_off_stack = sf.thread_info_on_stack == false;
    if (per_cpu_count || ti_off_stack) {
      Finding f = make_finding("memory_corruption.preempt_count", "memory_corruption",
                       "preempt count overwritten with pointer-like data: memory corruption", 0.75,
                       "the count is garbage, and on this kernel it does not live on the task stack", i);
      f.evidence = ev;
      f.evidence.push_back(kernel_fact(per_cpu_count ? sf.preempt_count_reason : sf.thread_info_reason));
      f.reports = incident;
      f.explanation = "A value that looks like half of a kernel pointer was written over the preempt count. On this kernel the count is not at the bottom of the task's stack, so a stack overflow cannot explain it: something wrote through a bad pointer.";
      f.actions = {"Enable KASAN or slub_debug to catch the corrupting write.", "Look for other corrupted per-CPU or task data in the same log."};
      out.push_back(std::move(f));
      continue;
    }

    bool known = sf.thread_info_on_stack.value_or(false);
    double confidence = known ? std::min(0.95, 0.8 + 0.04 * support) : std::min(0.7, 0.5 + 0.05 * support);
    Finding f = make_finding("stack_overflow.thread_info", "stack_overflow", "kernel stack overflow corrupted thread_info", confidence,
                     known ? fmt::format("pointer-like data in thread_info on a kernel that keeps thread_info at the stack bottom, with {} supporting sign(s)", support)
                           : "assumes an older kernel with thread_info on the stack; the kernel version is unknown",
                     i);
    f.evidence = ev;
    add_stack_facts(c, f);
    if (!sf.thread_info_reason.empty()) f.evidence.push_back(kernel_fact(sf.thread_info_reason));
    if (!sf.preempt_count_reason.empty()) f.evidence.push_back(kernel_fact(sf.preempt_count_reason));
    f.evidence.push_back(kernel_fact("no vmlinux given: per-frame stack usage along the trace was not computed"));
    f.reports = incident;
    f.explanation = fmt::format(
        "The task's kernel stack grew past its end and overwrote thread_info, which sits at the bottom of the stack on this kernel. "
        "The corrupted preempt_count explains \"scheduling while atomic\", and other corrupted thread_info fields (e.g. cpu) explain "
        "the bad addresses that follow. Stack size: {}.",
        sf.assumption);
    f.actions = {"Reduce stack depth on the deep path in the trace (move work to a workqueue, shrink on-stack buffers).",
                 "Use a kernel with larger kernel stacks (x86_64: 16 KiB since 3.15, or a distribution backport).",
                 "With vmlinux, estimate per-frame stack usage along the trace to find the biggest consumers."};
    out.push_back(std::move(f));
    if (!known) {
      Finding alt = make_finding("memory_corruption.preempt_count", "memory_corruption",
                         "preempt count overwritten with pointer-like data: memory corruption", 0.45,
                         "the alternative when thread_info is not on the stack (kernel version unknown)", i);
      alt.evidence = ev;
      alt.reports = incident;
      alt.explanation = "If this kernel keeps preempt_count off the stack, a stray write through a bad pointer corrupted it instead.";
      alt.actions = {"Give the kernel version (--kernel-version) to decide between the two."};
      out.push_back(std::move(alt));
    }
  }
}

}  // namespace ktriage::analysis

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

// The per-frame estimate for report i, when the caller gave debug-info results.
const StackUsage* usage_of(const Context& c, size_t i) {
  const std::vector<ReportDetails>* d = c.options.details;
  if (d == nullptr || i >= d->size() || !(*d)[i].stack_usage) return nullptr;
  return &*(*d)[i].stack_usage;
}

std::string kib(uint64_t bytes) {
  return bytes % 1024 == 0 ? fmt::format("{} KiB", bytes / 1024) : fmt::format("{:.1f} KiB", bytes / 1024.0);
}

// How far the estimate can be trusted and what it says against THREAD_SIZE.
struct DepthVerdict {
  bool confident = false;   // most frames measured and THREAD_SIZE known
  bool near_full = false;   // >= 85% of THREAD_SIZE
  bool shallow = false;     // < 50% of THREAD_SIZE
  double fill = 0;
};

DepthVerdict judge(const StackUsage& u, std::optional<unsigned> thread_size) {
  DepthVerdict v;
  const size_t considered = u.measured + u.unmeasured;
  if (!thread_size || *thread_size == 0 || u.measured == 0) return v;
  v.fill = static_cast<double>(u.total) / *thread_size;
  v.confident = u.measured * 5 >= considered * 4;  // at least 80% of the frames measured
  v.near_full = v.fill >= 0.85;
  v.shallow = v.fill < 0.5;
  return v;
}

// "frames on the trace use ~7.4 KiB of the 8 KiB stack (28 of 31 frames measured)" and the biggest frames.
void add_usage_evidence(size_t i, const StackUsage& u, std::optional<unsigned> thread_size, std::vector<Evidence>& ev) {
  const size_t considered = u.measured + u.unmeasured;
  std::string methods;
  bool prologue = false, regs = false;
  for (const FrameStackUsage& f : u.frames) {
    prologue |= f.method == "prologue";
    regs |= f.method == "pt_regs";
  }
  methods = prologue && regs ? "function prologues and the saved pt_regs" : prologue ? "function prologues" : "the saved pt_regs";
  std::string of = thread_size ? fmt::format(" of the {} stack ({:.0f}%)", kib(*thread_size), 100.0 * u.total / *thread_size)
                               : " (THREAD_SIZE unknown)";
  ev.push_back(figure(i, fmt::format("frames on the {} stack use ~{}{}: {} of {} frames measured from {}{}", u.stack,
                                     kib(u.total), of, u.measured, considered, methods,
                                     u.unmeasured ? ", so this is a lower bound" : "")));
  // Biggest frames, one entry per function (a recursion repeats one frame).
  std::vector<std::string> parts;
  std::map<std::string, size_t> times;
  for (const FrameStackUsage& f : u.frames)
    if (f.measured()) ++times[f.function];
  for (const FrameStackUsage& f : u.biggest(u.frames.size())) {
    auto it = times.find(f.function);
    if (it == times.end()) continue;
    parts.push_back(it->second > 1 ? fmt::format("{}: {:#x} bytes (x{})", f.function, f.bytes, it->second)
                                   : fmt::format("{}: {:#x} bytes", f.function, f.bytes));
    times.erase(it);
    if (parts.size() == 3) break;
  }
  if (!parts.empty()) ev.push_back(figure(i, fmt::format("biggest frames: {}", fmt::join(parts, ", "))));
}

void add_stack_facts(const Context& c, Finding& f) {
  StackGeometry sf = stack_geometry(c.kernel.running());
  if (!c.kernel.arch_reason.empty())
    f.evidence.push_back(kernel_fact(fmt::format("architecture {}: {}", to_string(c.kernel.arch), c.kernel.arch_reason)));
  for (const Evidence& e : c.kernel.era_evidence) f.evidence.push_back(e);
  f.evidence.push_back(Evidence{"figure", "THREAD_SIZE " + sf.assumption, std::nullopt, std::nullopt});
}

}  // namespace

void stack_overflow(const Context& c, std::vector<Finding>& out) {
  StackGeometry sf = stack_geometry(c.kernel.running());
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
        f.evidence.push_back(Evidence{"register", fmt::format("CR2 {}: the guard-page address ({})", hex(*cr2), to_string(classify_address(*cr2, c.kernel.arch).cls)), i, std::nullopt});
      add_stack_facts(c, f);
      const StackUsage* usage = usage_of(c, i);
      if (usage) add_usage_evidence(i, *usage, sf.thread_size, f.evidence);
      f.explanation = recursion
          ? "A function called itself without bound until the task's kernel stack ran into its guard page. With VMAP_STACK the overflow is caught before it corrupts neighbouring memory."
          : "The task's kernel stack ran out: the kernel detected the overflow directly.";
      f.actions = {recursion ? "Bound the recursion in " + fn + " (or make it iterative)."
                             : "Find the deepest frames and their stack usage (large on-stack buffers, deep call chains).",
                   usage && usage->measured ? fmt::format("Shrink the biggest frames on the trace ({}).", usage->biggest(1).front().function)
                                            : "Check large local variables in the frames on the trace (objdump: sub $N,%rsp)."};
      out.push_back(std::move(f));
      continue;
    }

    const StackUsage* usage = usage_of(c, i);
    DepthVerdict depth = usage ? judge(*usage, sf.thread_size) : DepthVerdict{};
    auto count = preempt_count_of(r);
    PreemptCount pc = count ? decode_preempt_count(*count) : PreemptCount{};
    if (!count || pc.plausible || pc.underflow) {
      // No corrupted count; a trace that by itself nearly fills the stack is
      // still worth saying (a shallow one says nothing).
      if (usage && depth.confident && depth.near_full) {
        Finding f = make_finding("stack_overflow.depth", "stack_overflow",
                                 "call trace nearly fills the kernel stack" + in_where(c, i), depth.fill >= 1.0 ? 0.7 : 0.55,
                                 "per-frame stack usage measured from the functions' code, with no direct sign of an overflow", i);
        add_usage_evidence(i, *usage, sf.thread_size, f.evidence);
        add_stack_facts(c, f);
        f.explanation = "The frames on this trace use almost all of the task's kernel stack; one more deep call (an interrupt, a nested allocation) overflows it.";
        f.actions = {fmt::format("Shrink the biggest frames on the trace ({}), or move the deep work to a workqueue.", usage->biggest(1).front().function)};
        out.push_back(std::move(f));
      }
      continue;
    }

    // Indirect: a garbage preempt count. Where does the count live on this kernel?
    std::vector<Evidence> ev;
    ev.push_back(log_line(i, r, fmt::format("preempt count {}", pc.meaning)));
    int support = 0;
    std::vector<size_t> incident = c.incident_of(i);
    for (size_t j : incident) {
      const Report& o = c.reports[j];
      if (auto a = fault_address_of(o)) {
        AddressClass cls = classify_address(*a, c.kernel.arch).cls;
        if (cls == AddressClass::user || cls == AddressClass::non_canonical) {
          auto pf = page_fault_error_of(c, j);
          std::string access = pf ? (pf->write() ? "write" : pf->instruction_fetch() ? "instruction fetch" : "read") : "access";
          ev.push_back(log_line(j, o, fmt::format("kernel {} of {} {}{} (report #{}): a garbage pointer, as expected when fields of thread_info (such as cpu) are overwritten",
                                                  access, to_string(cls), hex(*a), in_where(c, j), c.number(j))));
          ++support;
        }
      }
      if (all_frames_unreliable(o)) {
        ev.push_back(figure(j, fmt::format("all {} frames of report #{} are marked '?' (unreliable): the unwinder found no consistent frame chain on this stack", o.frames.size(), c.number(j))));
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

    // The estimate along this report's own trace: near-full supports an
    // overflow; shallow counts against one, though weakly (the overflow may
    // have happened deeper, before this report was printed).
    double depth_adjust = 0;
    if (usage && usage->measured) {
      add_usage_evidence(i, *usage, sf.thread_size, ev);
      if (depth.confident && depth.near_full) {
        support += 2;
      } else if (depth.confident && depth.shallow) {
        depth_adjust = -0.15;
        ev.push_back(figure(i, "against an overflow: this trace itself is shallow (the overflow would have to have happened in a deeper call chain that has since returned)"));
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
    double confidence = (known ? std::min(0.95, 0.8 + 0.04 * support) : std::min(0.7, 0.5 + 0.05 * support)) + depth_adjust;
    Finding f = make_finding("stack_overflow.thread_info", "stack_overflow", "kernel stack overflow corrupted thread_info", confidence,
                     known ? fmt::format("pointer-like data in thread_info on a kernel that keeps thread_info at the stack bottom, with {} supporting sign(s)", support)
                           : "assumes an older kernel with thread_info on the stack; the kernel version is unknown",
                     i);
    f.evidence = ev;
    add_stack_facts(c, f);
    if (!sf.thread_info_reason.empty()) f.evidence.push_back(kernel_fact(sf.thread_info_reason));
    if (!sf.preempt_count_reason.empty()) f.evidence.push_back(kernel_fact(sf.preempt_count_reason));
    if (!usage) f.evidence.push_back(kernel_fact("no vmlinux given: per-frame stack usage along the trace was not computed"));
    else if (!usage->measured) f.evidence.push_back(kernel_fact(fmt::format("per-frame stack usage: none of the trace's frames could be measured ({} unreliable or on another stack)", usage->skipped)));
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

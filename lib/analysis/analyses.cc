// The analyses: each a small named unit reading the reports of one log and
// emitting findings with the evidence behind them. They reason from what the
// kernel printed (addresses, counts, error codes, detector messages, trace
// shape), not from what the crashing functions happen to be called.
#include "analysis/analyses.h"

#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ktriage::analysis {
namespace {

// --- Small helpers ----------------------------------------------------------

std::optional<uint32_t> header_line(const Report& r) {
  if (r.span.first_line == 0) return std::nullopt;
  return r.span.first_line;
}

Evidence log_line(size_t report, const Report& r, std::string text) {
  return Evidence{"log_line", std::move(text), report, header_line(r)};
}

Evidence figure(size_t report, std::string text) {
  return Evidence{"figure", std::move(text), report, std::nullopt};
}

Evidence kernel_fact(std::string text) {
  return Evidence{"kernel", std::move(text), std::nullopt, std::nullopt};
}

Finding make(std::string id, std::string cause, std::string title, double confidence,
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

// "kernel BUG at FILE:LINE!" from the header, else from the report's own lines
// (the parser may head the report with "invalid opcode:" or a cut-here line).
std::optional<SourceLocation> bug_location_of(const Context& c, size_t i) {
  const Report& r = c.reports[i];
  if (auto loc = bug_location(r.header)) return loc;
  for (std::string_view line : c.lines_of(i)) {
    size_t at = line.find("kernel BUG at ");
    if (at != std::string_view::npos) return bug_location(line.substr(at));
  }
  return std::nullopt;
}

// --- fault_address: what kind of address the kernel tripped over ------------

void fault_address(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    if (r.kind == CrashKind::stack_overflow || contains(r.header, "stack guard page")) continue;
    auto addr = fault_address_of(r);
    if (!addr) continue;
    Arch arch = c.kernel.arch;
    AddressClass cls = classify_address(*addr, arch);
    auto pf = page_fault_error(r, arch);
    std::string access = "access";
    if (pf) access = pf->instruction_fetch() ? "instruction fetch" : pf->write() ? "write" : "read";
    std::string mech = r.kind == CrashKind::gpf ? "gpf" : "oops_paging";

    std::vector<Evidence> ev;
    ev.push_back(log_line(i, r, fmt::format("fault address {}: {}", hex(*addr), to_string(cls))));
    if (pf) ev.push_back(figure(i, fmt::format("page-fault error code {:#06x}: {}", pf->code, pf->describe())));
    if (pf && pf->user()) continue;  // a user-mode fault is not a kernel bug by itself

    Finding f;
    switch (cls) {
      case AddressClass::null_page: {
        bool call = (pf && pf->instruction_fetch()) || (r.ip && r.ip->function.empty() && r.ip->address && *r.ip->address == *addr);
        if (call) {
          f = make("fault_address.null_call", "null_deref",
                   fmt::format("call through a NULL function pointer (instruction fetch at {})", hex(*addr)), 0.9,
                   "the CPU tried to execute at a NULL page address", i);
          ev.push_back(figure(i, "instruction fetch from the NULL page: an indirect call or jump through a NULL (or NULL + offset) function pointer; the first trace frame is the caller"));
        } else {
          f = make("fault_address.null", "null_deref",
                   *addr == 0 ? "NULL pointer dereference" + in_where(r)
                              : fmt::format("NULL pointer dereference{}: {} at offset {}", in_where(r), access, hex(*addr)),
                   0.9, "the fault address lies in the first page, which is never mapped", i);
          if (*addr != 0)
            ev.push_back(figure(i, fmt::format("offset {} from NULL: the {} of a field at that offset in a structure whose pointer was NULL", hex(*addr), access)));
        }
        f.explanation = "The kernel followed a NULL pointer. The fault address is NULL plus the offset of the field that was accessed; find which pointer at the faulting instruction can be NULL and why.";
        f.actions = {"Find the pointer that is NULL at the faulting instruction (symbolize the IP with vmlinux/module debug info).",
                     "Check the code path that should have initialized it, and error paths that leave it NULL."};
        break;
      }
      case AddressClass::user:
        f = make("fault_address.user", mech,
                 fmt::format("kernel {} of user-space address {}{}", access, hex(*addr), in_where(r)), 0.6,
                 "a kernel-mode access to a user-space address outside the uaccess helpers", i);
        ev.push_back(figure(i, fmt::format("{} is a user-space address accessed in kernel mode: the kernel never touches such an address on purpose outside copy_{{from,to}}_user, so this is a kernel bug (a garbage pointer), not a hardware or user-space problem", hex(*addr))));
        f.explanation = "The kernel dereferenced a value that is a user-space address. Kernel code never does that by design; the pointer (or an index used to build it) was garbage.";
        f.actions = {"Find where the bad pointer was loaded from (disassemble the faulting instruction with vmlinux).",
                     "Suspect memory corruption of the structure it came from."};
        break;
      case AddressClass::non_canonical:
        f = make("fault_address.non_canonical", "gpf",
                 fmt::format("general protection fault on non-canonical address {}{}", hex(*addr), in_where(r)), 0.6,
                 "a non-canonical address is never a valid pointer", i);
        ev.push_back(figure(i, fmt::format("{} is non-canonical (bits 63..47 differ): a corrupted or uninitialized pointer", hex(*addr))));
        f.explanation = "The CPU refused an address that no valid pointer can have. The pointer was corrupted, uninitialized or computed from garbage.";
        f.actions = {"Look at which register holds the bad address at the faulting instruction and where it was loaded from."};
        break;
      case AddressClass::slab_poison_free:
        f = make("fault_address.poison_free", "use_after_free",
                 fmt::format("use-after-free: pointer read from a freed slab object (POISON_FREE {}){}", hex(*addr), in_where(r)), 0.9,
                 "0x6b is the byte SLUB/SLAB poisoning writes over freed objects", i);
        ev.push_back(figure(i, "the address is made of 0x6b bytes (POISON_FREE, written over an object when it is freed with slab poisoning on): the pointer was read from an object after it was freed"));
        f.explanation = "The code loaded a pointer from a slab object that had already been freed; slab poisoning had filled it with 0x6b, and dereferencing that value faulted.";
        f.actions = {"Find the object the pointer was loaded from and who freed it (slub_debug=FZPU keeps alloc/free traces; KASAN pinpoints it).",
                     "Check reference counting and lifetime of that object on this path."};
        break;
      case AddressClass::slab_poison_inuse:
        f = make("fault_address.poison_inuse", "memory_corruption",
                 fmt::format("pointer read from an uninitialized slab object (POISON_INUSE {}){}", hex(*addr), in_where(r)), 0.7,
                 "0x5a is the byte slab poisoning writes into newly allocated objects", i);
        ev.push_back(figure(i, "the address is made of 0x5a bytes (POISON_INUSE): a field of a freshly allocated object was used before being initialized"));
        f.explanation = "A pointer field of a slab object was used before anything was stored in it.";
        f.actions = {"Find the allocation of the object and the missing initialization (kzalloc, or set the field)."};
        break;
      case AddressClass::slab_poison_end:
      case AddressClass::page_poison:
        f = make("fault_address.poison", cls == AddressClass::page_poison ? "use_after_free" : "memory_corruption",
                 fmt::format("pointer made of poison bytes ({}){}", hex(*addr), in_where(r)), 0.7,
                 "the address is a kernel poison pattern, not a pointer", i);
        ev.push_back(figure(i, fmt::format("{}: {}", hex(*addr), to_string(cls))));
        f.explanation = "The pointer was read from memory the kernel had poisoned (freed or past an object's end).";
        f.actions = {"Find the object the pointer came from and its lifetime."};
        break;
      case AddressClass::list_poison1:
      case AddressClass::list_poison2: {
        bool first = cls == AddressClass::list_poison1;
        f = make(first ? "fault_address.list_poison1" : "fault_address.list_poison2", mech,
                 fmt::format("{} dereference of {} {}: a list entry used after list_del(){}",
                             mech == "gpf" ? "general protection fault:" : "paging fault:",
                             first ? "LIST_POISON1" : "LIST_POISON2", hex(*addr), in_where(r)),
                 0.75, "list_del() stores exactly these values in a removed entry's next/prev", i);
        uint64_t base = *addr >= 0xdead000000000000ull ? 0xdead000000000000ull + (first ? 0x100 : 0x122)
                                                       : (first ? 0x00100100 : 0x00200200);
        ev.push_back(figure(i, fmt::format("{} is {} + {}: list_del() writes it into the {} pointer of a removed entry, so the pointer came from a list entry that was already deleted (possibly freed)",
                                           hex(*addr), first ? "LIST_POISON1" : "LIST_POISON2", hex(*addr - base),
                                           first ? "next" : "prev")));
        f.explanation = "The code followed a next/prev pointer of a list entry after the entry had been removed with list_del(). Either the entry is still referenced after removal, or it was removed twice, or the pointer was taken from a stale copy.";
        f.actions = {"Find where the pointer was loaded from and which list the entry belonged to.",
                     "Check locking around list_del() and every reader of that list."};
        break;
      }
      case AddressClass::kasan_shadow: {
        uint64_t original = (*addr - 0xdffffc0000000000ull) << 3;
        bool null = original < 0x10000;
        f = make(null ? "fault_address.kasan_null" : "fault_address.kasan_wild", null ? "null_deref" : "gpf",
                 null ? "NULL pointer dereference caught by KASAN's shadow check" + in_where(r)
                      : fmt::format("wild memory access to {} caught by KASAN's shadow check{}", hex(original), in_where(r)),
                 0.85, "the faulting address is KASAN's shadow of the real access", i);
        ev.push_back(figure(i, fmt::format("{} is the KASAN shadow (0xdffffc0000000000 + addr/8) of {}", hex(*addr), hex(original))));
        f.explanation = "KASAN instrumentation looked up the shadow byte of a bad address; the shadow address itself is invalid, so the real access was to the address shown.";
        f.actions = {"Treat it as an access to the original address in the faulting function."};
        break;
      }
      default: {
        if (pf && pf->present() && pf->write()) {
          f = make("fault_address.write_protected", "oops_paging",
                   fmt::format("write to read-only kernel memory at {} ({}){}", hex(*addr), to_string(cls), in_where(r)), 0.75,
                   "the error code says the page is present and the write was refused", i);
          ev.push_back(figure(i, "present page + write access: a protection violation, the page is mapped read-only (const data, rodata, text)"));
          f.explanation = "The kernel wrote to memory mapped read-only: data declared const or __ro_after_init, module rodata or text.";
          f.actions = {"Find the object at the fault address (System.map / module sections) and why it is written."};
        } else if (pf && pf->present() && pf->instruction_fetch()) {
          f = make("fault_address.nx", "oops_paging",
                   fmt::format("execution of non-executable kernel memory at {}", hex(*addr)), 0.7,
                   "instruction fetch from a present, non-executable page", i);
          f.explanation = "The CPU jumped into data: a corrupted function pointer or return address.";
          f.actions = {"Find the indirect call or return that jumped there (first trace frame)."};
        } else {
          f = make("fault_address.kernel_unmapped", mech,
                   fmt::format("kernel {} of unmapped kernel address {} ({}){}", access, hex(*addr), to_string(cls), in_where(r)), 0.55,
                   "a kernel address that is not mapped: stale or corrupted pointer", i);
          f.explanation = "The kernel followed a pointer into kernel address space that is not mapped: typically a stale pointer to freed memory (vmalloc, module) or a corrupted one.";
          f.actions = {"Find where the pointer was loaded from; check the lifetime of the object it points to."};
        }
        break;
      }
    }
    f.evidence.insert(f.evidence.begin(), ev.begin(), ev.end());
    out.push_back(std::move(f));
  }
}

// --- stack_overflow: direct and indirect signs ------------------------------

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

void stack_overflow(const Context& c, std::vector<Finding>& out) {
  StackFacts sf = stack_facts(c.kernel);
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    std::string sign;
    if (direct_overflow_sign(r, sign)) {
      auto [fn, n] = most_repeated(r);
      bool recursion = n >= 8 && n * 2 >= r.frames.size();
      Finding f = make("stack_overflow.direct", "stack_overflow",
                       recursion ? fmt::format("kernel stack overflow: unbounded recursion in {}", fn)
                                 : "kernel stack overflow" + in_where(r),
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
          auto pf = page_fault_error(o, c.kernel.arch);
          std::string access = pf ? (pf->write() ? "write" : pf->instruction_fetch() ? "instruction fetch" : "read") : "access";
          ev.push_back(log_line(j, o, fmt::format("kernel {} of {} {}{} (report #{}): a garbage pointer, as expected when fields of thread_info (such as cpu) are overwritten",
                                                  access, to_string(cls), hex(*a), in_where(o), j + 1)));
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
      Finding f = make("memory_corruption.preempt_count", "memory_corruption",
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
    Finding f = make("stack_overflow.thread_info", "stack_overflow", "kernel stack overflow corrupted thread_info", confidence,
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
      Finding alt = make("memory_corruption.preempt_count", "memory_corruption",
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

// --- slab misuse: use-after-free and double free ----------------------------

void slab_misuse(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    std::string_view h = r.header;
    bool uaf = icontains(h, "use-after-free") || contains(h, "Poison overwritten");
    bool dfree = icontains(h, "double-free") || icontains(h, "double free") || contains(h, "Object already free") ||
                 icontains(h, "invalid-free") || contains(h, "KFENCE: invalid free");
    // SLUB debug and KFENCE verdicts about writes outside an object.
    bool overflow = contains(h, "Redzone overwritten") || contains(h, "Padding overwritten") ||
                    contains(h, "Freepointer corrupt") || contains(h, "KFENCE: out-of-bounds") ||
                    contains(h, "KFENCE: memory corruption");
    if (overflow && !uaf && !dfree) {
      Finding f = make("slab.out_of_bounds", "memory_corruption", "heap memory corruption around a slab object" + in_where(r), 0.8,
                       "the slab debugger (SLUB red zones / KFENCE guard pages) found bytes written outside an object", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "Something wrote past the end (or before the start) of a heap object, over the guard bytes the debugger keeps around it.";
      f.actions = {"Read the object's allocation stack printed with the report; look for a length or index bug in code that fills it."};
      out.push_back(std::move(f));
      continue;
    }
    if (uaf || dfree) {
      Finding f = make(dfree ? "slab.double_free" : "slab.use_after_free", dfree ? "double_free" : "use_after_free",
                       (dfree ? "double free" : "use-after-free") + in_where(r), 0.9,
                       "the memory debugger (KASAN/KFENCE/SLUB) reported it explicitly", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = dfree ? "The same object was freed twice (or a pointer that was never allocated was freed)."
                            : "Memory was accessed after it was freed.";
      f.actions = {"Read the allocation and free stacks the detector printed below the report.",
                   "Check reference counting and ownership of the object on this path."};
      out.push_back(std::move(f));
      continue;
    }
    // A BUG in the slab allocator raised while freeing: SLUB's freelist check.
    if (auto loc = bug_location_of(c, i)) {
      bool slab = loc->file.ends_with("mm/slub.c") || loc->file.ends_with("mm/slab.c") || loc->file.ends_with("mm/slab_common.c");
      std::string ip = r.ip ? r.ip->function : "";
      bool freeing = contains(ip, "free");
      for (size_t k = 0; k < r.frames.size() && k < 3 && !freeing; ++k)
        freeing = contains(r.frames[k].function, "free");
      if (slab && freeing) {
        const Frame* caller = first_caller(r);
        Finding f = make("slab.double_free", "double_free",
                         "double free" + (caller ? " in " + caller->function : in_where(r)), 0.8,
                         "the slab allocator's own consistency check fired while freeing", i);
        f.evidence.push_back(log_line(i, r, fmt::format("kernel BUG at {}:{}: an assertion inside the slab allocator", loc->file, loc->line)));
        f.evidence.push_back(figure(i, fmt::format("raised on the free path ({}): SLUB's freelist check (the freed object equals the freelist head) fires when an object is freed twice", ip.empty() ? "free" : ip)));
        if (caller) f.evidence.push_back(Evidence{"frame", "the free was called from " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
        f.explanation = "An object was freed while it was already on the slab freelist: a double free. The second kfree() is the one in the trace; the first one happened earlier.";
        f.actions = {"Find the earlier free of the same object (slub_debug=U records free stacks; KASAN reports both).",
                     "Clear the pointer after freeing it, and check ownership on error paths."};
        out.push_back(std::move(f));
        continue;
      }
    }
    // A slab-poison value in a register of a crashing context.
    bool crash = r.kind == CrashKind::gpf || r.kind == CrashKind::oops_paging || r.kind == CrashKind::null_deref;
    auto addr = fault_address_of(r);
    bool addr_poison = addr && classify_address(*addr, c.kernel.arch) == AddressClass::slab_poison_free;
    if (crash && !addr_poison && !r.registers.empty()) {
      for (const Register& g : r.registers.front().regs) {
        if (g.name == "cr2" || g.name == "cr3" || g.name == "cr4" || g.name == "cr0") continue;
        if (is_repeated_byte(g.value, 0x6b, true) && (g.value >> 32) != 0) {
          Finding f = make("slab.poison_register", "use_after_free",
                           fmt::format("use-after-free: {} holds slab poison {}{}", g.name, hex(g.value), in_where(r)), 0.7,
                           "a register holds POISON_FREE bytes read from a freed object", i);
          f.evidence.push_back(Evidence{"register", fmt::format("{} = {}: 0x6b is POISON_FREE, the fill of freed slab objects", g.name, hex(g.value)), i,
                                        r.registers.front().line ? std::optional<uint32_t>(r.registers.front().line) : std::nullopt});
          f.explanation = "A value loaded from a freed object (poisoned with 0x6b) is in a register at the crash.";
          f.actions = {"Find the object this value was loaded from and who freed it."};
          out.push_back(std::move(f));
          break;
        }
      }
    }
  }
}

// --- list_corruption: CONFIG_DEBUG_LIST reports -----------------------------

void list_corruption(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    auto loc = bug_location_of(c, i);
    bool by_loc = loc && loc->file.ends_with("list_debug.c");
    bool by_msg = icontains(r.header, "list_add corruption") || icontains(r.header, "list_del corruption") ||
                  icontains(r.header, "list corruption");
    std::string message;
    // CONFIG_DEBUG_LIST prints its verdict on the line just before "kernel BUG at".
    if (!by_msg) {
      for (std::string_view line : c.lines_before(i, 3)) {
        if (icontains(line, "list_add corruption") || icontains(line, "list_del corruption")) {
          message = std::string(line.substr(line.find("list_")));
          break;
        }
      }
    }
    if (!(by_loc || by_msg || r.kind == CrashKind::list_corruption || !message.empty())) continue;
    const Frame* caller = first_caller(r);
    Finding f = make("list_corruption.debug_list", "list_corruption",
                     "linked-list corruption detected by CONFIG_DEBUG_LIST" + (caller ? " in " + caller->function : std::string()),
                     0.9, "the kernel's list debugging checks caught an inconsistent list", i);
    if (by_msg || r.kind == CrashKind::list_corruption) f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
    if (!message.empty()) f.evidence.push_back(Evidence{"log_line", fmt::format("\"{}\"", message), i, std::nullopt});
    if (by_loc) f.evidence.push_back(log_line(i, r, fmt::format("kernel BUG at {}:{}: the list-debugging check (BUG_ON_DATA_CORRUPTION)", loc->file, loc->line)));
    std::string text = r.header + " " + message;
    if (icontains(text, "dead000000000122") || icontains(text, "00200200"))
      f.evidence.push_back(figure(i, "a pointer equals LIST_POISON2 (prev of a deleted entry): the entry had already been removed with list_del()"));
    if (icontains(text, "dead000000000100") || icontains(text, "00100100"))
      f.evidence.push_back(figure(i, "a pointer equals LIST_POISON1 (next of a deleted entry): the entry had already been removed with list_del()"));
    if (caller) f.evidence.push_back(Evidence{"frame", "list operation called from " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
    f.explanation = "A list_add()/list_del() found neighbouring pointers that do not agree: an entry was deleted twice, added twice, used after removal or freeing, or the list was modified without its lock.";
    f.actions = {"Check the locking of the list and the lifetime of its entries on the path in the trace.",
                 "An entry whose pointers are LIST_POISON was already deleted: look for a second list_del() or a re-add after delete."};
    out.push_back(std::move(f));
  }
}

// --- assertions: BUG_ON() and WARN_ON() with their source line -------------

void assertions(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    auto loc = bug_location_of(c, i);
    bool bug = r.kind == CrashKind::bug_at || r.header.starts_with("kernel BUG at") ||
               (loc && r.kind == CrashKind::invalid_opcode);
    bool warn = r.kind == CrashKind::warning;
    if (!bug && !warn) continue;
    std::string at = loc ? fmt::format(" at {}:{}", loc->file, loc->line) : "";
    std::string fn = where(r);
    std::string mod = r.ip && !r.ip->module.empty() ? " [" + r.ip->module + "]" : "";
    Finding f;
    if (bug) {
      f = make("assertion.bug_on", "bug_at", fmt::format("BUG_ON() assertion failed{}{}{}", at, fn.empty() ? "" : " in " + fn, mod), 0.75,
               "the kernel stopped on an explicit assertion, whose source line it printed", i);
      f.explanation = "Code asserted a condition with BUG()/BUG_ON() and it was true. The source line names the check; the question is how the state it guards became wrong.";
      f.actions = {loc ? fmt::format("Read {}:{} to see the condition that failed.", loc->file, loc->line) : "Symbolize the IP to find the BUG_ON() line.",
                   "Trace back how the checked state became invalid (refcount, list, flag)."};
    } else {
      f = make("assertion.warn_on", "warning", fmt::format("WARN_ON() triggered{}{}{}", at, fn.empty() ? "" : " in " + fn, mod), 0.7,
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

// --- atomic context: scheduling while atomic, sleeping in atomic ------------

void atomic_context(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (r.kind != CrashKind::scheduling_while_atomic && r.kind != CrashKind::sleeping_in_atomic) continue;
    const Frame* caller = first_caller(r);
    std::string task = atomic_task(r);
    if (r.kind == CrashKind::sleeping_in_atomic) {
      if (!is_primary(c, i)) continue;
      auto loc = bug_location(r.header);
      Finding f = make("atomic.sleeping", "sleeping_in_atomic",
                       fmt::format("sleeping function called from atomic context{}{}", loc ? fmt::format(" at {}:{}", loc->file, loc->line) : "",
                                   caller ? " by " + caller->function : ""),
                       0.8, "might_sleep() caught a sleep in atomic context", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      for (std::string_view line : c.lines_of(i))
        if (contains(line, "in_atomic()") || contains(line, "preempt_count:"))
          f.evidence.push_back(Evidence{"log_line", std::string(line), i, std::nullopt});
      if (caller) f.evidence.push_back(Evidence{"frame", "the sleeping call comes from " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
      f.explanation = "Code that may sleep (mutex, allocation with GFP_KERNEL, msleep, copy_from_user) was called with a spinlock held, preemption or interrupts disabled, or in interrupt context.";
      f.actions = {"Find the lock or atomic section held by the caller; move the sleeping call outside it or use a non-sleeping variant."};
      out.push_back(std::move(f));
      continue;
    }
    auto count = preempt_count_of(r);
    if (!count) {
      if (!is_primary(c, i)) continue;
      Finding f = make("atomic.scheduling", "scheduling_while_atomic",
                       fmt::format("scheduling while atomic{}{}", task.empty() ? "" : ": " + task, caller ? " in " + caller->function : ""),
                       0.7, "the scheduler was entered from atomic context", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      out.push_back(std::move(f));
      continue;
    }
    PreemptCount pc = decode_preempt_count(*count);
    if (!pc.plausible && !pc.underflow) {
      // The count is garbage: the stack_overflow analysis explains it.
      Finding f = make("atomic.garbage_count", "scheduling_while_atomic",
                       fmt::format("scheduling while atomic reported for {}, but the preempt count is garbage", task.empty() ? "a task" : task),
                       0.3, "the report is a symptom: the count itself was overwritten", i);
      f.evidence.push_back(log_line(i, r, fmt::format("preempt count {}", pc.meaning)));
      f.explanation = "The scheduler saw a non-zero preempt count, but the value is not a count at all; see the finding about what overwrote it.";
      out.push_back(std::move(f));
      continue;
    }
    if (!is_primary(c, i)) continue;
    Finding f = make("atomic.scheduling", "scheduling_while_atomic",
                     fmt::format("scheduling while atomic: {} slept with preempt count {:#x}{}", task.empty() ? "a task" : task, *count,
                                 caller ? " in " + caller->function : ""),
                     0.8, "the scheduler was entered with a plausible non-zero preempt count: a real atomic-context sleep", i);
    f.evidence.push_back(log_line(i, r, fmt::format("preempt count {}", pc.meaning)));
    if (caller) f.evidence.push_back(Evidence{"frame", "the sleep was requested by " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
    for (size_t j : c.incident_of(i))
      if (j > i && c.reports[j].kind == CrashKind::scheduling_while_atomic)
        f.evidence.push_back(log_line(j, c.reports[j], fmt::format("report #{} repeats it for the same task (\"{}\"): a cascade of the first", j + 1, c.reports[j].header)));
    f.explanation = "The task called a function that sleeps (schedule()) while preemption was disabled, typically with a spinlock held. The count says how deep: each spin_lock() adds one.";
    f.actions = {caller ? "In " + caller->function + ", find the spinlock/preempt_disable() held around the sleeping call and move the sleep out of it (or use a non-sleeping primitive)."
                        : "Find the spinlock held around the sleeping call and move the sleep out of it.",
                 "CONFIG_DEBUG_ATOMIC_SLEEP reports the exact sleeping call with might_sleep()."};
    out.push_back(std::move(f));
  }
}

// --- lockups and hangs ------------------------------------------------------

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

void lockups(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    std::string task = task_from_header(r.header);
    if (task.empty() && !r.comm.empty()) task = fmt::format("{}{}", r.comm, r.pid ? fmt::format(":{}", *r.pid) : "");
    Finding f;
    if (r.kind == CrashKind::soft_lockup || r.kind == CrashKind::hard_lockup) {
      bool soft = r.kind == CrashKind::soft_lockup;
      std::string at = where(r);
      f = make(soft ? "lockup.soft" : "lockup.hard", soft ? "soft_lockup" : "hard_lockup",
               fmt::format("{} lockup{}{}{}", soft ? "soft" : "hard", r.cpu ? fmt::format(" on CPU {}", *r.cpu) : "",
                           task.empty() ? "" : ": " + task, at.empty() ? "" : " spinning in " + at),
               0.8, "the lockup watchdog fired", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      if (!at.empty()) f.evidence.push_back(Evidence{"frame", "the CPU was executing " + at + " when the watchdog sampled it", i, std::nullopt});
      f.explanation = soft ? "A CPU ran kernel code for longer than the watchdog threshold without scheduling: an endless loop, a spinlock never released, or a very long loop without cond_resched()."
                           : "A CPU stopped taking interrupts for too long: a loop with interrupts disabled or a deadlock on an IRQ-safe lock.";
      f.actions = {"Look at the loop around the sampled IP; check the exit condition and any spinlock it waits for.",
                   "If it waits for a lock, find the holder (sysrq-l / NMI backtraces of other CPUs)."};
    } else if (r.kind == CrashKind::hung_task) {
      std::string waiting = wait_kind(r);
      const Frame* caller = first_caller(r);
      f = make("lockup.hung_task", "hung_task",
               fmt::format("hung task {}{}{}", task.empty() ? "" : task + " ",
                           waiting.empty() ? "blocked in D state" : "blocked waiting on " + waiting,
                           caller ? " in " + caller->function : ""),
               0.8, "khungtaskd found a task in uninterruptible sleep past the timeout", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      if (caller) f.evidence.push_back(Evidence{"frame", "it waits in " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
      for (std::string_view line : c.lines_of(i))
        if (contains(line, "lock held by") || contains(line, "locks held by") ||
            (contains(line, "#") && contains(line, "){") && contains(line, "}")))
          f.evidence.push_back(Evidence{"log_line", std::string(line), i, std::nullopt});
      f.explanation = "The task sleeps uninterruptibly on something nobody releases or signals: a lock held by another (possibly hung) task, a completion never completed, or I/O that never finishes.";
      f.actions = {"Find the holder of what it waits on (lockdep's lock list, sysrq-w / sysrq-d).",
                   "For a completion: find who is supposed to call complete() and why it did not."};
    } else if (r.kind == CrashKind::rcu_stall) {
      f = make("lockup.rcu_stall", "rcu_stall", "RCU stall" + in_where(r), 0.8, "the RCU stall detector fired", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "A CPU or task stayed in an RCU read-side critical section (or with preemption off) for too long.";
      f.actions = {"Look at the stalled CPU's backtrace for the loop holding it."};
    } else {
      continue;
    }
    out.push_back(std::move(f));
  }
}

// --- traps and detectors with a fixed meaning ------------------------------

bool any_line(const Context& c, size_t i, std::string_view needle) {
  if (contains(c.reports[i].header, needle)) return true;
  for (std::string_view l : c.lines_before(i, 3))
    if (contains(l, needle)) return true;
  for (std::string_view l : c.lines_of(i))
    if (contains(l, needle)) return true;
  return false;
}

void traps(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    std::string_view h = r.header;
    Finding f;
    if (any_line(c, i, "usercopy: Kernel memory")) {
      std::string msg;
      for (std::string_view l : c.lines_before(i, 3))
        if (contains(l, "usercopy: ")) msg = std::string(l.substr(l.find("usercopy: ")));
      if (msg.empty() && contains(h, "usercopy: ")) msg = std::string(h.substr(h.find("usercopy: ")));
      bool overwrite = contains(msg, "overwrite") || contains(h, "overwrite");
      const Frame* caller = first_caller(r);
      f = make("trap.usercopy", "bug_at",
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
      f = make("trap.stack_protector", "stack_protector",
               "stack buffer overflow detected by the stack protector" + (fn.empty() ? std::string() : " in " + fn), 0.85,
               "the stack canary of a function was overwritten before it returned", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "A function wrote past the end of a local array (or through a bad pointer into its own frame) and destroyed the canary the compiler placed before the return address.";
      f.actions = {"Audit the on-stack buffers of " + (fn.empty() ? std::string("the named function") : fn) + " and every copy into them (lengths from user space or hardware)."};
    } else if (r.kind == CrashKind::divide_error || h.starts_with("divide error")) {
      f = make("trap.divide_error", "divide_error", "integer division by zero" + in_where(r), 0.8,
               "the CPU raised #DE: a divide by zero (or a quotient overflow)", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "An integer division had a zero divisor (or its quotient did not fit). The divisor usually comes from a configuration value, hardware, or a count that can be zero.";
      f.actions = {"Find the divisor at the faulting instruction and the path where it can be zero."};
    } else if ((r.kind == CrashKind::invalid_opcode || h.starts_with("invalid opcode")) && r.code && r.code->faulting_offset &&
               *r.code->faulting_offset + 1 < r.code->bytes.size() && r.code->bytes[*r.code->faulting_offset] == 0x0f &&
               r.code->bytes[*r.code->faulting_offset + 1] == 0x0b) {
      f = make("trap.bug_ud2", "bug_at", "BUG() hit" + in_where(r) + " (no location printed)", 0.65,
               "the faulting instruction is ud2, the instruction BUG() compiles to", i);
      f.evidence.push_back(Evidence{"instruction", "the marked Code: bytes are 0f 0b (ud2): a BUG()/BUG_ON() without CONFIG_DEBUG_BUGVERBOSE", i, std::nullopt});
      f.explanation = "A BUG_ON() fired; the kernel was built without the option that prints its file and line.";
      f.actions = {"Symbolize the IP with vmlinux to find the BUG_ON() line."};
    } else if (r.kind == CrashKind::bad_page || contains(h, "Bad page state") || contains(h, "Bad page map")) {
      f = make("trap.bad_page", "bad_page", "page in a bad state" + in_where(r), 0.75,
               "the page allocator found a page whose flags, mapping or counts are wrong", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "A page was freed or allocated while still mapped, referenced or flagged: typically a double free or use-after-free of a page, or memory corruption of struct page.";
      f.actions = {"Read the page dump (flags, mapcount, refcount) under the report; enable page_owner to see who freed it."};
    } else if (r.kind == CrashKind::lockdep || contains(h, "possible circular locking dependency") ||
               contains(h, "possible recursive locking") || contains(h, "inconsistent lock state") ||
               contains(h, "possible irq lock inversion")) {
      f = make("trap.lockdep", "lockdep", "lock ordering problem found by lockdep: " + std::string(h.substr(h.find(':') == std::string_view::npos ? 0 : h.find(':') + 1)), 0.8,
               "lockdep proved a possible deadlock from the locking order it observed", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      for (std::string_view line : c.lines_of(i))
        if (contains(line, "){") && contains(line, "}"))
          f.evidence.push_back(Evidence{"log_line", std::string(line), i, std::nullopt});
      f.explanation = "Two code paths take the same locks in opposite orders (or a lock is taken in IRQ and non-IRQ context unsafely). It has not deadlocked yet, but can.";
      f.actions = {"Read the two chains lockdep printed and make one of them take the locks in the other's order."};
    } else if (r.kind == CrashKind::refcount || any_line(c, i, "refcount_t: ")) {
      bool uaf = any_line(c, i, "use-after-free");
      f = make(uaf ? "trap.refcount_uaf" : "trap.refcount", uaf ? "use_after_free" : "refcount",
               uaf ? "refcount underflow on a freed object (use-after-free)" + in_where(r) : "refcount_t saturated: leaking memory" + in_where(r),
               0.75, "refcount_t checks caught an impossible transition and said what it means", i);
      for (std::string_view line : c.lines_before(i, 3))
        if (contains(line, "refcount_t: ")) f.evidence.push_back(Evidence{"log_line", std::string(line.substr(line.find("refcount_t: "))), i, std::nullopt});
      if (contains(h, "refcount_t: ")) f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      for (std::string_view line : c.lines_of(i))
        if (contains(line, "refcount_t: ")) f.evidence.push_back(Evidence{"log_line", std::string(line.substr(line.find("refcount_t: "))), i, std::nullopt});
      f.explanation = uaf ? "A reference count went from 0 to -1 or was incremented from 0: the object had already dropped its last reference (and may be freed). Someone put a reference they did not hold."
                          : "A reference count overflowed and was saturated; the object will never be freed.";
      f.actions = {"Pair every get with a put on the path in the trace; look for an extra put (or a missing get) on error paths."};
    } else if (r.kind == CrashKind::ubsan || h.starts_with("UBSAN:")) {
      f = make("trap.ubsan", "ubsan", std::string(h), 0.75, "the undefined-behaviour sanitizer caught it at a source line", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "The code did something the C standard leaves undefined (out-of-bounds index, shift too large, overflow).";
      f.actions = {"Read the source line UBSAN names."};
    } else if (r.kind == CrashKind::kasan && !icontains(h, "use-after-free") && !icontains(h, "double-free") && !icontains(h, "invalid-free")) {
      f = make("trap.kasan", "kasan", std::string(h), 0.85, "KASAN caught an invalid access at its source", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "KASAN caught an out-of-bounds or otherwise invalid memory access at the instruction that made it.";
      f.actions = {"Read the allocation stack and the object description KASAN printed under the report."};
    } else if (r.kind == CrashKind::double_fault) {
      f = make("trap.double_fault", "double_fault", "double fault" + in_where(r), 0.6,
               "a fault while delivering a fault: often a kernel stack overflow or a corrupted stack pointer", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      if (auto rsp = reg(r, "rsp"))
        f.evidence.push_back(Evidence{"register", fmt::format("RSP {} ({})", hex(*rsp), to_string(classify_address(*rsp, c.kernel.arch))), i, std::nullopt});
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
    bool earlier = false;
    for (size_t j : c.incident_of(i)) earlier |= j < i;
    if (earlier) continue;
    std::string reason = r.header;
    size_t at = reason.find("not syncing:");
    if (at != std::string::npos) reason = reason.substr(at + 12);
    while (!reason.empty() && reason.front() == ' ') reason.erase(0, 1);
    const Frame* caller = first_caller(r);
    Finding f = make("panic.explicit", "panic", fmt::format("kernel panic: {}", reason), 0.7,
                     "panic() was called directly, not as the end of an earlier oops", i);
    f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
    if (caller) f.evidence.push_back(Evidence{"frame", "panic() was called from " + frame_name(*caller), i, caller->line ? std::optional<uint32_t>(caller->line) : std::nullopt});
    f.explanation = "Code called panic() on purpose: the reason string says why.";
    f.actions = {"Read the panic reason and the caller's code; it names the condition the caller could not handle."};
    out.push_back(std::move(f));
  }
}

// --- mechanism: the report's own class, when nothing better is known --------

std::string cause_of_kind(const Report& r) {
  if (r.kind == CrashKind::kasan) {
    if (icontains(r.header, "use-after-free")) return "use_after_free";
    if (icontains(r.header, "double-free")) return "double_free";
    if (icontains(r.header, "null-ptr-deref")) return "null_deref";
  }
  return std::string(to_string(r.kind));
}

void mechanism(const Context& c, std::vector<Finding>& out) {
  std::vector<bool> seen(c.reports.size(), false);
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i) || seen[c.incident[i]]) continue;
    seen[c.incident[i]] = true;
    Finding f = make("mechanism." + std::string(to_string(r.kind)), cause_of_kind(r),
                     r.title.empty() ? r.header : r.title, 0.4,
                     "how the kernel reported it; no analysis explained more", i);
    f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
    f.explanation = "The class of the report as the kernel printed it.";
    out.push_back(std::move(f));
  }
}

// --- context: taint, module vs core kernel, linked reports ------------------

void tainted_modules(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i) || r.taint.flags.empty()) continue;
    std::string_view flags = r.taint.flags;
    bool proprietary = contains(flags, "P"), out_of_tree = contains(flags, "O"), unsigned_mod = contains(flags, "E");
    bool warned = contains(flags, "W");
    if (!proprietary && !out_of_tree && !unsigned_mod && !warned) continue;
    // "Modules linked in: crashzoo(OE) crc_itu_t": flags in parentheses.
    std::vector<std::string> flagged, in_trace;
    for (const std::string& m : r.modules) {
      size_t p = m.find('(');
      if (p == std::string::npos) continue;
      std::string name = m.substr(0, p), mf = m.substr(p);
      if (contains(mf, "P") || contains(mf, "O") || contains(mf, "E")) {
        flagged.push_back(m);
        for (const Frame& f : r.frames)
          if (f.module == name) { in_trace.push_back(name); break; }
        if (r.ip && r.ip->module == name && (in_trace.empty() || in_trace.back() != name)) in_trace.push_back(name);
      }
    }
    std::vector<std::string> what;
    if (proprietary) what.push_back("proprietary (P)");
    if (out_of_tree) what.push_back("out-of-tree (O)");
    if (unsigned_mod) what.push_back("unsigned (E)");
    std::string title;
    if (!in_trace.empty())
      title = fmt::format("{} module {} is in the call trace", fmt::join(what, ", "), fmt::join(in_trace, ", "));
    else if (!flagged.empty())
      title = fmt::format("kernel tainted by {} module(s): {}", fmt::join(what, ", "), fmt::join(flagged, ", "));
    else if (!what.empty())
      title = fmt::format("kernel tainted: {} module loaded", fmt::join(what, ", "));
    else
      title = "kernel tainted W: an earlier warning was printed";
    Finding f = make("context.taint", "other", title, in_trace.empty() ? 0.2 : 0.3,
                     "context for the headline, not a cause by itself", i);
    f.evidence.push_back(log_line(i, r, fmt::format("Tainted: {}", r.taint.flags)));
    for (const std::string& m : r.taint.meanings) f.evidence.push_back(Evidence{"kernel", m, i, std::nullopt});
    if (!flagged.empty()) f.evidence.push_back(log_line(i, r, fmt::format("flagged in Modules linked in: {}", fmt::join(flagged, " "))));
    if (warned) f.evidence.push_back(log_line(i, r, "taint W: a WARNING was printed before this report; it may be the first sign of the problem"));
    f.explanation = "Code the kernel community cannot see or did not build is part of this crash; its authors are the first to ask.";
    f.actions = {in_trace.empty() ? "Reproduce without the tainting modules if possible." : "Report to the maintainers of " + fmt::format("{}", fmt::join(in_trace, ", ")) + " first."};
    out.push_back(std::move(f));
  }
}

void crash_location(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    const Symbol* at = r.ip && (!r.ip->function.empty() || r.ip->address) ? &*r.ip : nullptr;
    if (!at) {
      for (const Frame& f : r.frames)
        if (f.reliable && !f.function.empty()) { at = &f; break; }
    }
    if (!at) continue;
    const Frame* mod_frame = nullptr;
    for (const Frame& f : r.frames)
      if (f.reliable && !f.module.empty()) { mod_frame = &f; break; }
    Finding f;
    if (!at->module.empty()) {
      f = make("context.in_module", "other", fmt::format("crash inside module {} ({})", at->module, frame_name(*at)), 0.25,
               "where the CPU was, not why", i);
      f.explanation = "The faulting code belongs to a loadable module, not the core kernel.";
    } else if (mod_frame) {
      f = make("context.core_from_module", "other",
               fmt::format("crash in the core kernel ({}), called from module {} ({})", frame_name(*at), mod_frame->module, frame_name(*mod_frame)),
               0.25, "where the CPU was, not why", i);
      f.explanation = "The fault is in core kernel code, reached from a module: the module may have passed it bad data.";
    } else {
      continue;
    }
    f.evidence.push_back(Evidence{"frame", frame_name(*at), i, std::nullopt});
    out.push_back(std::move(f));
  }
}

void linked_reports(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    if (i > 0 && c.incident[i] == c.incident[i - 1]) continue;
    std::vector<size_t> members = c.incident_of(i);
    if (members.size() < 2) continue;
    std::vector<std::string> names;
    for (size_t j : members) names.push_back(fmt::format("#{} {}", j + 1, c.reports[j].title.empty() ? c.reports[j].header : c.reports[j].title));
    Finding f = make("context.linked_reports", "other",
                     fmt::format("{} reports are one incident: {}", members.size(), fmt::join(names, "; ")), 0.3,
                     "same task or CPU, close together, nothing contradicting", i);
    f.reports = members;
    for (size_t j : members)
      if (!c.link_reason[j].empty())
        f.evidence.push_back(log_line(j, c.reports[j], fmt::format("report #{} joins report #{}: {}", j + 1, j, c.link_reason[j])));
    f.explanation = "Reports printed together by the same task or CPU usually share one cause; the headline finding explains them together.";
    out.push_back(std::move(f));
  }
}

}  // namespace

const std::vector<Analyzer>& analyzers() {
  static const std::vector<Analyzer> kAnalyses = {
      {"stack_overflow", stack_overflow},
      {"slab_misuse", slab_misuse},
      {"list_corruption", list_corruption},
      {"fault_address", fault_address},
      {"atomic_context", atomic_context},
      {"lockups", lockups},
      {"traps", traps},
      {"assertions", assertions},
      {"panic", panic_reason},
      {"mechanism", mechanism},
      {"linked_reports", linked_reports},
      {"tainted_modules", tainted_modules},
      {"crash_location", crash_location},
  };
  return kAnalyses;
}

}  // namespace ktriage::analysis

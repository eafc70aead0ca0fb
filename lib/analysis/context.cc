#include "analysis/context.h"

#include <algorithm>
#include <cctype>
#include <charconv>

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

std::optional<KernelVersion> parse_kernel_version(std::string_view s) {
  KernelVersion v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  size_t i = 0;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  for (; i < 3 && p < end; ++i) {
    auto [next, ec] = std::from_chars(p, end, *parts[i]);
    if (ec != std::errc() || *parts[i] < 0 || *parts[i] > 1000) break;
    p = next;
    if (p == end || *p != '.') { ++i; break; }
    ++p;
  }
  if (i < 2 || v.major < 2 || v.major > 20) return std::nullopt;
  return v;
}

namespace {

// RHEL 6 kernels are 2.6.32-NNN.el6; Red Hat backported the 16 KiB x86_64
// stack (upstream 6538b8e, 3.15) in 2.6.32-520.el6.
std::optional<int> el6_build(std::string_view release) {
  if (!release.starts_with("2.6.32-") || !contains(release, ".el6")) return std::nullopt;
  int build = 0;
  std::string_view rest = release.substr(7);
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), build);
  if (ec != std::errc()) return std::nullopt;
  return build;
}

}  // namespace

StackFacts stack_facts(const KernelFacts& k) {
  StackFacts f;
  const auto& v = k.version;
  std::string on = v ? fmt::format("{}.{}", v->major, v->minor)
                     : k.era_pre_3 ? "a 2.6-era kernel" : "";
  switch (k.arch) {
    case Arch::x86_64: {
      auto el6 = el6_build(k.release);
      if (el6 && *el6 >= 520) {
        f.thread_size = 16384;
        f.assumption = fmt::format("16 KiB: {} carries Red Hat's backport of the 16 KiB x86_64 stack (2.6.32-520.el6)", k.release);
      } else if (v) {
        f.thread_size = v->before(3, 15) ? 8192 : 16384;
        f.assumption = fmt::format("{} KiB: x86_64 THREAD_SIZE is 8 KiB before 3.15 and 16 KiB since; this is {}",
                                   *f.thread_size / 1024, k.release.empty() ? on : k.release);
      } else if (k.era_pre_3) {
        f.thread_size = 8192;
        f.assumption = "8 KiB: x86_64 THREAD_SIZE is 8 KiB before 3.15 (16 KiB since), and this log has the marks of a 2.6-era kernel";
      } else if (k.era_modern) {
        f.thread_size = 16384;
        f.assumption = "16 KiB: x86_64 THREAD_SIZE since 3.15, and this log has the report format of 4.15+ kernels";
      } else {
        f.assumption = "unknown: x86_64 THREAD_SIZE is 8 KiB before 3.15 and 16 KiB since; the kernel version is not known";
      }
      if (k.kasan && f.thread_size) {
        *f.thread_size *= 2;
        f.assumption += "; doubled because KASAN is enabled";
      }
      if (v || k.era_pre_3 || k.era_pre_4 || k.era_modern) {
        bool on_stack = v ? v->before(4, 9) : !k.era_modern;
        f.thread_info_on_stack = on_stack;
        f.thread_info_reason = on_stack
            ? "x86 keeps thread_info at the bottom of the kernel stack before 4.9 (THREAD_INFO_IN_TASK): an overflow overwrites it first"
            : "x86 moved thread_info into task_struct in 4.9 (THREAD_INFO_IN_TASK): a stack overflow cannot reach it";
        bool in_ti = v ? v->before(3, 13) : k.era_pre_3;
        if (v || k.era_pre_3 || k.era_modern) {
          f.preempt_count_in_thread_info = in_ti;
          f.preempt_count_reason = in_ti
              ? "x86 keeps preempt_count in thread_info before 3.13"
              : "x86 keeps preempt_count in a per-CPU variable since 3.13, not on the stack";
        }
      }
      break;
    }
    case Arch::i386:
      f.thread_size = 8192;
      f.assumption = "8 KiB: i386 THREAD_SIZE (4 KiB with CONFIG_4KSTACKS on older kernels)";
      if (v) {
        f.thread_info_on_stack = v->before(4, 9);
        f.thread_info_reason = *f.thread_info_on_stack ? "x86 keeps thread_info at the stack bottom before 4.9"
                                                       : "x86 moved thread_info into task_struct in 4.9";
        f.preempt_count_in_thread_info = v->before(3, 13);
        f.preempt_count_reason = *f.preempt_count_in_thread_info ? "x86 keeps preempt_count in thread_info before 3.13"
                                                                 : "x86 keeps preempt_count per-CPU since 3.13";
      }
      break;
    case Arch::arm64:
      f.thread_size = k.kasan ? 32768 : 16384;
      f.assumption = k.kasan ? "32 KiB: arm64 THREAD_SIZE 16 KiB, doubled by KASAN" : "16 KiB: arm64 THREAD_SIZE";
      if (v) {
        f.thread_info_on_stack = v->before(4, 10);
        f.thread_info_reason = *f.thread_info_on_stack ? "arm64 keeps thread_info at the stack bottom before 4.10"
                                                       : "arm64 moved thread_info into task_struct in 4.10 (THREAD_INFO_IN_TASK)";
        f.preempt_count_in_thread_info = *f.thread_info_on_stack;
        f.preempt_count_reason = "arm64 keeps preempt_count in thread_info";
      }
      break;
    case Arch::arm:
      f.thread_size = 8192;
      f.assumption = "8 KiB: 32-bit arm THREAD_SIZE";
      break;
    case Arch::ppc64:
    case Arch::s390:
    case Arch::riscv64:
      f.thread_size = 16384;
      f.assumption = fmt::format("16 KiB: usual {} THREAD_SIZE", to_string(k.arch));
      break;
    default:
      f.assumption = "unknown: architecture not known";
  }
  return f;
}

// --- Addresses ------------------------------------------------------------

bool is_repeated_byte(uint64_t value, uint8_t byte, bool is64) {
  // Ignore the low byte: a field offset is added to the poisoned pointer.
  uint64_t pattern = 0x0101010101010101ull * byte;
  if (!is64) return (value >> 32) == 0 && (value & 0xffffff00u) == (pattern & 0xffffff00u);
  return (value & ~0xffull) == (pattern & ~0xffull);
}

std::string_view to_string(AddressClass c) {
  switch (c) {
    case AddressClass::null_page: return "NULL + small offset (below 64 KiB)";
    case AddressClass::user: return "user-space address";
    case AddressClass::non_canonical: return "non-canonical address";
    case AddressClass::slab_poison_free: return "slab poison POISON_FREE (0x6b)";
    case AddressClass::slab_poison_inuse: return "slab poison POISON_INUSE (0x5a)";
    case AddressClass::slab_poison_end: return "slab poison POISON_END (0xa5)";
    case AddressClass::page_poison: return "page poison PAGE_POISON (0xaa)";
    case AddressClass::list_poison1: return "LIST_POISON1";
    case AddressClass::list_poison2: return "LIST_POISON2";
    case AddressClass::kasan_shadow: return "KASAN shadow";
    case AddressClass::direct_map: return "kernel direct map";
    case AddressClass::vmalloc: return "vmalloc area";
    case AddressClass::kernel_text: return "kernel image";
    case AddressClass::module: return "module area";
    case AddressClass::kernel_other: return "kernel address";
  }
  return "address";
}

AddressClass classify_address(uint64_t a, Arch arch) {
  bool is64 = arch != Arch::i386 && arch != Arch::arm && arch != Arch::ppc && arch != Arch::mips;
  // Nothing can be mapped below mmap_min_addr (64 KiB by default): NULL plus a field offset.
  if (a < 0x10000) return AddressClass::null_page;
  if (is_repeated_byte(a, 0x6b, is64)) return AddressClass::slab_poison_free;
  if (is_repeated_byte(a, 0x5a, is64)) return AddressClass::slab_poison_inuse;
  if (is_repeated_byte(a, 0xa5, is64)) return AddressClass::slab_poison_end;
  if (is_repeated_byte(a, 0xaa, is64)) return AddressClass::page_poison;
  // LIST_POISON1/2 are 0x100/0x122 plus POISON_POINTER_DELTA (0xdead000000000000 on 64-bit).
  uint64_t delta = is64 ? 0xdead000000000000ull : 0;
  if (a >= delta + 0x100 && a < delta + 0x100 + 0x20) return AddressClass::list_poison1;
  if (a >= delta + 0x122 && a < delta + 0x122 + 0x20) return AddressClass::list_poison2;
  // Older kernels (and 32-bit ones without a delta) used these.
  if (a >= 0x00100100 && a < 0x00100100 + 0x20) return AddressClass::list_poison1;
  if (a >= 0x00200200 && a < 0x00200200 + 0x20) return AddressClass::list_poison2;
  if (!is64) {
    if (arch == Arch::i386 && a < 0xc0000000ull) return AddressClass::user;
    return AddressClass::kernel_other;
  }
  if (arch == Arch::x86_64 || arch == Arch::unknown) {
    uint64_t top = a >> 47;
    if (top != 0 && top != 0x1ffff) {
      if (a >= 0xdffffc0000000000ull && a < 0xe000000000000000ull) return AddressClass::kasan_shadow;
      return AddressClass::non_canonical;
    }
    if (top == 0) return AddressClass::user;
    if (a >= 0xffff880000000000ull && a < 0xffffc80000000000ull) return AddressClass::direct_map;
    if (a >= 0xffffc90000000000ull && a < 0xffffe90000000000ull) return AddressClass::vmalloc;
    if (a >= 0xffffec0000000000ull && a < 0xfffffc0000000000ull) return AddressClass::kasan_shadow;
    if (a >= 0xffffffff80000000ull && a < 0xffffffffa0000000ull) return AddressClass::kernel_text;
    if (a >= 0xffffffffa0000000ull && a < 0xffffffffff000000ull) return AddressClass::module;
    return AddressClass::kernel_other;
  }
  if (arch == Arch::ppc64) return a < 0xc000000000000000ull ? AddressClass::user : AddressClass::kernel_other;
  if (arch == Arch::arm64 || arch == Arch::riscv64) {
    if ((a >> 48) == 0) return AddressClass::user;
    return AddressClass::kernel_other;
  }
  return AddressClass::kernel_other;
}

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

std::optional<BugLocation> bug_location(std::string_view header) {
  // "kernel BUG at FILE:LINE!" (also "BUG at", "WARNING: ... at FILE:LINE func").
  size_t at = header.find(" at ");
  while (at != std::string_view::npos) {
    std::string_view rest = header.substr(at + 4);
    size_t end = rest.find_first_of(" !");
    std::string_view loc = rest.substr(0, end);
    size_t colon = loc.rfind(':');
    if (colon != std::string_view::npos && colon > 0 && colon + 1 < loc.size()) {
      uint32_t line = 0;
      auto [p, ec] = std::from_chars(loc.data() + colon + 1, loc.data() + loc.size(), line);
      if (ec == std::errc() && p == loc.data() + loc.size() && contains(loc.substr(0, colon), "."))
        return BugLocation{std::string(loc.substr(0, colon)), line};
    }
    at = header.find(" at ", at + 4);
  }
  return std::nullopt;
}

// --- Context --------------------------------------------------------------

std::vector<size_t> Context::incident_of(size_t r) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < reports.size(); ++i)
    if (incident[i] == incident[r]) out.push_back(i);
  return out;
}

std::vector<std::string_view> Context::lines_of(size_t r) const {
  std::vector<std::string_view> out;
  std::string_view text = options.log_text;
  const Span& s = reports[r].span;
  if (text.empty() || s.begin >= text.size() || s.end <= s.begin) return out;
  std::string_view body = text.substr(s.begin, std::min<uint64_t>(s.end, text.size()) - s.begin);
  while (!body.empty()) {
    size_t nl = body.find('\n');
    out.push_back(body.substr(0, nl));
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  return out;
}

std::vector<std::string_view> Context::lines_before(size_t r, size_t n) const {
  std::vector<std::string_view> out;
  std::string_view text = options.log_text;
  uint64_t begin = reports[r].span.begin;
  if (text.empty() || begin == 0 || begin > text.size()) return out;
  std::string_view before = text.substr(0, begin);
  if (before.ends_with('\n')) before.remove_suffix(1);
  while (!before.empty() && out.size() < n) {
    size_t nl = before.rfind('\n');
    size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    out.push_back(before.substr(start));
    if (nl == std::string_view::npos) break;
    before = before.substr(0, nl);
  }
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

std::string link_reason(const Report& a, const Report& b) {
  bool pid_differs = a.pid && b.pid && *a.pid != *b.pid;
  bool cpu_differs = a.cpu && b.cpu && *a.cpu != *b.cpu;
  std::optional<double> gap;
  if (a.timestamp && b.timestamp) gap = *b.timestamp - *a.timestamp;
  if (follows_as_panic(a, b) && (!gap || (*gap >= -1 && *gap < 30)))
    return "the panic that follows only reports the earlier failure as fatal";
  if (pid_differs || cpu_differs) return "";
  if (a.pid && b.pid && (!gap || (*gap >= -1 && *gap < 60)))
    return fmt::format("same task {}/{}{}", b.comm.empty() ? a.comm : b.comm, *b.pid,
                       gap ? fmt::format(", {:.3f} s apart", *gap) : "");
  if (gap && *gap >= -0.01 && *gap < 1.0) return fmt::format("printed {:.3f} s apart with no conflicting task or CPU", *gap);
  if (!gap && a.span.last_line && b.span.first_line && b.span.first_line >= a.span.last_line &&
      b.span.first_line - a.span.last_line <= 2)
    return "printed back to back with no conflicting task or CPU";
  return "";
}

}  // namespace

Context make_context(const std::vector<Report>& reports, const DiagnoseOptions& options) {
  Context c{reports, options, {}, {}, {}, {}};
  size_t n = reports.size();
  c.incident.resize(n);
  c.link_reason.resize(n);
  c.consequence.assign(n, false);
  for (size_t i = 0; i < n; ++i) {
    c.incident[i] = i;
    if (i == 0) continue;
    std::string why = link_reason(reports[i - 1], reports[i]);
    if (why.empty()) continue;
    c.incident[i] = c.incident[i - 1];
    c.link_reason[i] = why;
    if (follows_as_panic(reports[i - 1], reports[i])) c.consequence[i] = true;
    // A repeat of the same kind on the same task is a cascade of the first.
    for (size_t j : c.incident_of(i))
      if (j < i && reports[j].kind == reports[i].kind) c.consequence[i] = true;
  }

  // What is known about the kernel.
  KernelFacts& k = c.kernel;
  for (const Report& r : reports) {
    if (k.arch == Arch::unknown) k.arch = r.arch;
    if (k.release.empty()) k.release = r.kernel_release;
    if (r.kind == CrashKind::kasan || contains(r.header, "KASAN")) k.kasan = true;
  }
  if (!options.kernel_version.empty()) k.release = options.kernel_version;
  if (!k.release.empty()) k.version = parse_kernel_version(k.release);
  if (k.arch == Arch::unknown && !k.release.empty()) {
    if (contains(k.release, "x86_64") || contains(k.release, "amd64")) k.arch = Arch::x86_64;
    else if (contains(k.release, "aarch64") || contains(k.release, "arm64")) k.arch = Arch::arm64;
    if (k.arch != Arch::unknown) k.arch_reason = "from the kernel release " + k.release;
  }
  if (k.arch == Arch::unknown) {
    // x86_64 puts kernel text at 0xffffffff80000000 and modules just above.
    for (size_t i = 0; i < n && k.arch == Arch::unknown; ++i) {
      const Report& r = reports[i];
      size_t hits = 0, total = 0;
      auto look = [&](const Symbol& s) {
        if (!s.address) return;
        ++total;
        if (*s.address >= 0xffffffff80000000ull) ++hits;
      };
      if (r.ip) look(*r.ip);
      for (const Frame& f : r.frames) look(f);
      // Tolerate a mistyped address or two (the seed has a 15-digit one).
      if (total >= 2 && hits * 4 >= total * 3) {
        k.arch = Arch::x86_64;
        k.arch_reason = "inferred: kernel text and module addresses 0xffffffff8.../0xffffffffa... are the x86_64 layout";
      }
    }
  }

  if (k.arch == Arch::unknown) {
    // From the raw text: x86_64 prints 16-digit [<ffffffff8...>] addresses and RIP, i386 EIP.
    for (size_t i = 0; i < n && k.arch == Arch::unknown; ++i) {
      for (std::string_view line : c.lines_of(i)) {
        if (contains(line, "[<ffffffff8") || contains(line, "[<ffffffffa") || contains(line, "[<ffffffffc") ||
            contains(line, "RIP: ")) {
          k.arch = Arch::x86_64;
          k.arch_reason = "inferred from the log's 64-bit x86 address and register format";
          break;
        }
        if (contains(line, "EIP: ")) {
          k.arch = Arch::i386;
          k.arch_reason = "inferred from the log's EIP register line";
          break;
        }
      }
    }
  }

  // Era marks when no release was printed or given.
  if (!k.version) {
    for (size_t i = 0; i < n; ++i) {
      for (std::string_view line : c.lines_of(i)) {
        if (!k.era_pre_3 && contains(line, "last sysfs file:")) {
          k.era_pre_3 = k.era_pre_4 = true;
          k.era_evidence.push_back({"kernel",
              "the `last sysfs file:` line is printed only by 2.6-era kernels (dropped early in 3.x): a pre-3.x kernel",
              i, std::nullopt});
        }
        if (!k.era_pre_4 && contains(line, "IP: [<")) {
          k.era_pre_4 = true;
          k.era_evidence.push_back({"kernel",
              "the `IP: [<address>] symbol` form of the fault line is the old x86 format (before 4.x)", i, std::nullopt});
        }
      }
      const Report& r = reports[i];
      if (!k.era_pre_4 && r.ip && r.ip->address && k.arch == Arch::x86_64 &&
          contains(r.header, "unable to handle kernel paging request at")) {
        k.era_pre_4 = true;
        k.era_evidence.push_back({"kernel",
            "the fault line prints a raw `[<address>]` with the symbol and the header says "
            "`unable to handle kernel paging request at`: the old x86 format (before 4.x)",
            i, r.span.first_line ? std::optional<uint32_t>(r.span.first_line) : std::nullopt});
      }
    }
    if (!k.era_pre_4) {
      for (size_t i = 0; i < n && !k.era_modern; ++i) {
        const Report& r = reports[i];
        if (contains(r.oops_code, "PTI") || r.header.starts_with("BUG: unable to handle page fault for address:") ||
            r.header.starts_with("BUG: kernel NULL pointer dereference, address:")) {
          k.era_modern = true;
          k.era_evidence.push_back({"kernel",
              "the report format (`PTI`/`NOPTI` in the Oops line, or the `unable to handle page fault for address:` wording) "
              "is that of x86 kernels since 4.15",
              i, r.span.first_line ? std::optional<uint32_t>(r.span.first_line) : std::nullopt});
        }
      }
    }
    if (k.era_pre_3 || k.era_pre_4 || k.era_modern)
      k.era_evidence.insert(k.era_evidence.begin(), {"kernel", "the log prints no kernel release; its era is inferred from the report format", std::nullopt, std::nullopt});
  }
  return c;
}

}  // namespace ktriage::analysis

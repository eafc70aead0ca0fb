// The crashing task and its kernel: CPU/PID/comm lines, taint flags, the
// release and version (`Tainted:`/`Not tainted` lines, `Linux version`),
// and the architecture the report's lines point at.
#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "logparse/extractor.h"
#include "logparse/fields.h"
#include "logparse/symbols.h"

namespace ktriage::logparse {
namespace {

// --- taint -------------------------------------------------------------------

struct TaintLetter {
  char letter;
  std::string_view meaning;
};

// include/linux/panic.h taint_flags, in the kernel's own words.
constexpr std::array<TaintLetter, 20> kTaint{{
    {'P', "proprietary module loaded"},
    {'F', "module force loaded"},
    {'S', "kernel running on an out-of-specification system"},
    {'R', "module force unloaded"},
    {'M', "machine check exception occurred"},
    {'B', "bad page referenced or unexpected page flags"},
    {'U', "taint requested by userspace"},
    {'D', "kernel died recently (OOPS or BUG)"},
    {'A', "ACPI table overridden by user"},
    {'W', "kernel issued warning"},
    {'C', "staging driver loaded"},
    {'I', "workaround for bug in platform firmware applied"},
    {'O', "out-of-tree module loaded"},
    {'E', "unsigned module loaded"},
    {'L', "soft lockup occurred"},
    {'K', "kernel has been live patched"},
    {'X', "auxiliary taint (distribution-defined)"},
    {'T', "kernel built with the struct randomization plugin"},
    {'N', "in-kernel test has been run"},
    {'J', "userspace used a mutating debug operation in fwctl"},
}};

bool looks_like_release(std::string_view t) {
  if (t.empty()) return false;
  if (t.front() == '<' && t.back() == '>') return true;  // "<KERNEL_VERSION>" placeholders
  return is_digit(t.front()) && (has(t, ".") || has(t, "-")) && t.size() <= 128;
}

// "#1 SMP ..." starts at a '#' followed by a digit.
size_t version_hash(std::string_view s) {
  for (size_t p = s.find('#'); p != std::string_view::npos; p = s.find('#', p + 1))
    if (p + 1 < s.size() && is_digit(s[p + 1]) && (p == 0 || is_blank(s[p - 1]))) return p;
  return std::string_view::npos;
}

// CONFIG_STACKTRACE_BUILD_ID prints vmlinux's build-id after the version's
// "#N" ("6.1.0 #1 3b43fad5...c0af6a5fab235"): it is not part of the version.
// Takes it out of `version` (with the space before it) and returns it.
std::string take_build_id(std::string& version) {
  for (size_t from = 0; from < version.size();) {
    const size_t end = std::min(version.find(' ', from), version.size());
    const std::string_view word = std::string_view(version).substr(from, end - from);
    if (word.size() == 40 && word.find_first_not_of("0123456789abcdef") == std::string_view::npos) {
      std::string id(word);
      version.erase(from > 0 ? from - 1 : from, end - from + 1);
      return id;
    }
    from = end + 1;
  }
  return {};
}

}  // namespace

void Extractor::task(std::string_view t) {
  if (starts(t, "CPU: ") && has(t, "PID: ")) {
    if (!r_.cpu) r_.cpu = leading_u32(t.substr(5));
    if (auto a = after(t, "PID: "); a && !r_.pid) r_.pid = leading_u32(*a);
    if (auto a = after(t, "Comm: ")) {
      size_t e = std::min(a->find(" Not tainted"), a->find(" Tainted: "));
      if (r_.comm.empty()) r_.comm.assign(rtrim(a->substr(0, e)));
    }
    taint_line(t, false);
    return;
  }
  if (holds(t, ", comm: ") && (starts(t, "Pid: ") || has(t, "ainted"))) {
    if (auto a = after(t, ": "); a && !r_.pid) r_.pid = leading_u32(*a);
    if (auto a = after(t, ", comm: ")) {
      size_t e = std::min(a->find(" Not tainted"), a->find(" Tainted: "));
      if (r_.comm.empty()) r_.comm.assign(rtrim(a->substr(0, e)));
    }
    taint_line(t, true);
    return;
  }
  if (starts(t, "Process ") && has(t, " (pid: ")) {
    size_t p = t.find(" (pid: ");
    if (r_.comm.empty()) r_.comm.assign(t.substr(8, p - 8));
    if (!r_.pid) r_.pid = leading_u32(t.substr(p + 7));
    return;
  }
  if (starts(t, "in_atomic(): ")) {
    if (auto a = after(t, " pid: "); a && !r_.pid) r_.pid = leading_u32(*a);
    if (auto a = after(t, " name: "); a && r_.comm.empty()) r_.comm.assign(trim(*a));
    return;
  }
  if (starts(t, "preempt_count: ") && !r_.preempt_count) {
    r_.preempt_count = leading_hex(t.substr(15));
    return;
  }
  // Old WARNINGs: "(Not tainted)" / "(Tainted: P W)" at the end of a line.
  if (r_.taint.flags.empty()) {
    if (auto a = after_marker(t, "(Tainted: ")) {
      std::string_view f = a->substr(0, a->find(')'));
      r_.taint.flags.assign(trim(f));
    }
  }
  if (holds(t, " Tainted: ") && has(t, "REGS: ")) taint_line(t, false);  // ppc register header
  // hung task: "      Tainted: G         C    3.16.0-4-amd64 #1"; 6.x "Tainted: [W]=WARN" is a legend.
  if ((starts(t, "Tainted: ") && !has(t, "]=")) || starts(t, "Not tainted ")) taint_line(t, false);
}

// After "Tainted: " or "Not tainted": flags, release, "#N ..." version.
void Extractor::taint_line(std::string_view t, bool pid_style) {
  bool tainted = false;
  std::string_view rest;
  if (auto a = after(t, "Not tainted")) {
    rest = *a;
  } else if (auto b = after(t, "Tainted: ")) {
    rest = *b;
    tainted = true;
  } else {
    return;
  }
  rest = trim(rest);
  std::string_view flags, release, version, extra;
  // "(3.10.0-33.el7.ppc64)": the release in parentheses; 6.x "PREEMPT(full)"
  // after the version is not one.
  size_t lp = rest.find('(');
  if (lp != std::string_view::npos && lp + 1 < rest.size() && !is_digit(rest[lp + 1])) lp = std::string_view::npos;
  if (lp != std::string_view::npos && rest.find(')', lp) != std::string_view::npos) {
    // "G W -------------- (3.10.0-33.el7.ppc64)", "(2.6.32-5-686 #1) VirtualBox"
    size_t rp = rest.find(')', lp);
    std::string_view inside = trim(rest.substr(lp + 1, rp - lp - 1));
    flags = rest.substr(0, lp);
    extra = trim(rest.substr(rp + 1));
    size_t h = version_hash(inside);
    release = trim(inside.substr(0, h));
    if (h != std::string_view::npos) version = inside.substr(h);
    if (!looks_like_release(release)) release = {};
  } else {
    size_t h = version_hash(rest);
    std::string_view before = rtrim(rest.substr(0, h));
    if (h != std::string_view::npos) version = rest.substr(h);
    size_t sp = before.find_last_of(" \t");
    std::string_view last = sp == std::string_view::npos ? before : before.substr(sp + 1);
    if (looks_like_release(last)) {
      release = last;
      flags = before.substr(0, before.size() - last.size());
    } else {
      flags = before;
    }
  }
  if (pid_style && !version.empty()) {
    // 2.6 "Pid:" lines: "#1 Dell Inc. PowerEdge R610" — the rest is the machine.
    size_t sp = version.find(' ');
    if (sp != std::string_view::npos) {
      extra = trim(version.substr(sp + 1));
      version = version.substr(0, sp);
    }
  }
  if (tainted && r_.taint.flags.empty()) r_.taint.flags.assign(trim(flags));
  if (!release.empty() && (r_.kernel_release.empty() || release_from_linux_version_)) {
    r_.kernel_release.assign(release);
    release_from_linux_version_ = false;
  }
  if (!version.empty()) {
    std::string v(trim(version));
    std::string id = take_build_id(v);
    if (r_.kernel_build_id.empty()) r_.kernel_build_id = std::move(id);
    if (r_.kernel_version.empty()) r_.kernel_version = std::move(v);
  }
  if (!extra.empty() && pid_line_hardware_.empty()) pid_line_hardware_.assign(extra);
}

void Extractor::release(std::string_view t) {
  if (auto a = after_marker(t, "Linux version ")) {
    std::string_view rest = *a;
    std::string_view rel = rest.substr(0, rest.find(' '));
    if (looks_like_release(rel) && r_.kernel_release.empty()) {
      r_.kernel_release.assign(rel);
      release_from_linux_version_ = true;
      size_t h = version_hash(rest);
      if (h != std::string_view::npos && r_.kernel_version.empty()) r_.kernel_version.assign(trim(rest.substr(h)));
    }
    return;
  }
  // lockdep: "3.1.0-0.rc0.git19.1.fc17.x86_64 #1" / "6.1.0-rc4 #0 Not tainted" on its own line.
  if (!r_.kernel_release.empty() || t.empty() || !is_digit(t.front())) return;
  size_t sp = t.find(' ');
  if (sp == std::string_view::npos) return;
  std::string_view rel = t.substr(0, sp);
  std::string_view rest = ltrim(t.substr(sp));
  if (looks_like_release(rel) && rest.size() >= 2 && rest[0] == '#' && is_digit(rest[1]) && has(rel, ".")) {
    r_.kernel_release.assign(rel);
    if (r_.kernel_version.empty()) r_.kernel_version.assign(rest.substr(0, rest.find(' ')));
    if (auto b = after(rest, "Tainted: "); b && r_.taint.flags.empty()) r_.taint.flags.assign(trim(*b));
  }
}

// Traces without addresses or registers (KASAN, modern WARNINGs) still end
// in the arch's own entry code.
Arch Extractor::arch_from_entry_symbols() const {
  struct EntrySymbol {
    std::string_view prefix;
    Arch arch;
  };
  static constexpr std::array<EntrySymbol, 22> kEntry{{
      {"entry_SYSCALL_64", Arch::x86_64},  {"do_syscall_64", Arch::x86_64},
      {"__x64_sys_", Arch::x86_64},         {"x64_sys_call", Arch::x86_64},
      {"asm_exc_", Arch::x86_64},           {"asm_sysvec_", Arch::x86_64},
      {"asm_common_interrupt", Arch::x86_64}, {"system_call_fastpath", Arch::x86_64},
      {"x86_64_start_kernel", Arch::x86_64}, {"sysenter_do_call", Arch::i386},
      {"syscall_call", Arch::i386},         {"entry_INT80_32", Arch::i386},
      {"i386_start_kernel", Arch::i386},    {"el0_svc", Arch::arm64},
      {"el0t_64_", Arch::arm64},            {"el1h_64_", Arch::arm64},
      {"__arm64_sys_", Arch::arm64},        {"ret_fast_syscall", Arch::arm},
      {"__irq_svc", Arch::arm},             {"do_trap_ecall_u", Arch::riscv64},
      {"__s390x_sys_", Arch::s390},         {"system_call_exception", Arch::ppc64},
  }};
  for (auto it = r_.frames.rbegin(); it != r_.frames.rend(); ++it)
    for (const EntrySymbol& e : kEntry)
      if (it->function.starts_with(e.prefix)) return e.arch;
  return Arch::unknown;
}

Arch Extractor::decide_arch() const {
  if (Arch a = arch_from_release(r_.kernel_release); a != Arch::unknown) return a;
  const ArchVotes& v = votes_;
  if (v.s390) return Arch::s390;
  if (v.mips) return Arch::mips;
  if (v.x86_64) return Arch::x86_64;
  if (v.i386) return Arch::i386;
  if (v.arm64) return Arch::arm64;
  if (v.ppc64) return Arch::ppc64;
  if (v.ppc) return Arch::ppc;
  if (v.riscv) return Arch::riscv64;
  if (v.arm) return Arch::arm;
  if (Arch a = arch_from_entry_symbols(); a != Arch::unknown) return a;
  // Addresses alone (vote_address() keeps only those no other arch uses
  // for kernel text in that format; 0xffff88... is x86_64's direct map).
  if (v.wide_x86_frames || v.x86_64_direct_map) return Arch::x86_64;
  if (v.narrow_frames) return Arch::i386;
  return Arch::unknown;
}

std::vector<std::string> taint_meanings(std::string_view flags) {
  std::vector<std::string> out;
  for (char c : flags) {
    for (const TaintLetter& t : kTaint) {
      if (t.letter != c) continue;
      std::string m = std::string(1, c) + ": " + std::string(t.meaning);
      if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(std::move(m));
    }
  }
  return out;
}

Arch arch_from_release(std::string_view release) {
  struct Suffix {
    std::string_view word;
    Arch arch;
  };
  static constexpr std::array<Suffix, 24> kSuffixes{{
      {"x86_64", Arch::x86_64}, {"amd64", Arch::x86_64},  {"i686", Arch::i386},     {"i586", Arch::i386},
      {"i386", Arch::i386},     {"686", Arch::i386},      {"PAE", Arch::i386},      {"686-pae", Arch::i386},
      {"armv7hl", Arch::arm},   {"armv7l", Arch::arm},    {"armv6l", Arch::arm},    {"armmp", Arch::arm},
      {"armhf", Arch::arm},     {"aarch64", Arch::arm64}, {"arm64", Arch::arm64},   {"ppc64le", Arch::ppc64},
      {"ppc64", Arch::ppc64},   {"ppc64p7", Arch::ppc64}, {"powerpc64le", Arch::ppc64}, {"ppc", Arch::ppc},
      {"s390x", Arch::s390},    {"s390", Arch::s390},     {"riscv64", Arch::riscv64}, {"mips", Arch::mips},
  }};
  // Split at '.', '-', '+' and look at the words from the end.
  size_t end = release.size();
  while (end > 0) {
    size_t b = end;
    while (b > 0 && release[b - 1] != '.' && release[b - 1] != '-' && release[b - 1] != '+') --b;
    std::string_view word = release.substr(b, end - b);
    for (const Suffix& s : kSuffixes)
      if (word == s.word) return s.arch;
    if (b == 0) break;
    end = b - 1;
  }
  return Arch::unknown;
}

void inherit_kernel(Report& report, std::string_view release, std::string_view version) {
  if (!report.kernel_release.empty()) return;
  report.kernel_release.assign(release);
  if (report.kernel_version.empty()) report.kernel_version.assign(version);
  if (report.arch == Arch::unknown) report.arch = arch_from_release(release);
}

}  // namespace ktriage::logparse

#include "ktriage/report.h"

#include <array>
#include <utility>

namespace ktriage {
namespace {

constexpr std::array<std::pair<CrashKind, std::string_view>, 28> kKindNames{{
    {CrashKind::other, "other"},
    {CrashKind::oops_paging, "oops_paging"},
    {CrashKind::null_deref, "null_deref"},
    {CrashKind::gpf, "gpf"},
    {CrashKind::bug_at, "bug_at"},
    {CrashKind::warning, "warning"},
    {CrashKind::soft_lockup, "soft_lockup"},
    {CrashKind::hard_lockup, "hard_lockup"},
    {CrashKind::hung_task, "hung_task"},
    {CrashKind::rcu_stall, "rcu_stall"},
    {CrashKind::scheduling_while_atomic, "scheduling_while_atomic"},
    {CrashKind::sleeping_in_atomic, "sleeping_in_atomic"},
    {CrashKind::panic, "panic"},
    {CrashKind::double_fault, "double_fault"},
    {CrashKind::stack_overflow, "stack_overflow"},
    {CrashKind::list_corruption, "list_corruption"},
    {CrashKind::bad_page, "bad_page"},
    {CrashKind::kasan, "kasan"},
    {CrashKind::kmsan, "kmsan"},
    {CrashKind::kcsan, "kcsan"},
    {CrashKind::kfence, "kfence"},
    {CrashKind::ubsan, "ubsan"},
    {CrashKind::lockdep, "lockdep"},
    {CrashKind::memory_leak, "memory_leak"},
    {CrashKind::divide_error, "divide_error"},
    {CrashKind::invalid_opcode, "invalid_opcode"},
    {CrashKind::stack_protector, "stack_protector"},
    {CrashKind::refcount, "refcount"},
}};

constexpr std::array<std::pair<Arch, std::string_view>, 10> kArchNames{{
    {Arch::unknown, "unknown"},
    {Arch::x86_64, "x86_64"},
    {Arch::i386, "i386"},
    {Arch::arm64, "arm64"},
    {Arch::arm, "arm"},
    {Arch::ppc64, "ppc64"},
    {Arch::ppc, "ppc"},
    {Arch::s390, "s390"},
    {Arch::riscv64, "riscv64"},
    {Arch::mips, "mips"},
}};

}  // namespace

std::string_view to_string(CrashKind kind) {
  for (const auto& [k, name] : kKindNames)
    if (k == kind) return name;
  return "other";
}

std::optional<CrashKind> crash_kind_from_string(std::string_view name) {
  for (const auto& [k, n] : kKindNames)
    if (n == name) return k;
  return std::nullopt;
}

std::string_view to_string(Arch arch) {
  for (const auto& [a, name] : kArchNames)
    if (a == arch) return name;
  return "unknown";
}

std::string_view to_string(NoteKind kind) {
  switch (kind) {
    case NoteKind::list_check: return "list_check";
    case NoteKind::refcount_check: return "refcount_check";
    case NoteKind::usercopy_check: return "usercopy_check";
    case NoteKind::hard_lockup: return "hard_lockup";
    case NoteKind::lock: return "lock";
    case NoteKind::locks_held: return "locks_held";
    case NoteKind::atomic_context: return "atomic_context";
    case NoteKind::module_taint: return "module_taint";
  }
  return "note";
}

std::optional<uint64_t> RegisterSet::get(std::string_view name) const {
  for (const Register& r : regs)
    if (r.name == name) return r.value;
  return std::nullopt;
}

std::string PageFaultError::describe() const {
  // Worded like the kernel's own "#PF: supervisor read access in kernel mode".
  std::string s = user() ? "user " : "supervisor ";
  s += instruction_fetch() ? "instruction fetch" : write() ? "write access" : "read access";
  s += user() ? " in user mode" : " in kernel mode";
  s += present() ? ", protection violation" : ", page not present";
  if (reserved_bit()) s += ", reserved bit set";
  if (protection_key()) s += ", protection key";
  if (shadow_stack()) s += ", shadow stack";
  if (sgx()) s += ", SGX";
  return s;
}

}  // namespace ktriage

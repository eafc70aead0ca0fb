// What a bad pointer looks like, from its value alone: the coarse classes of
// the fault explanation over the address table of lib/kernel; and where a
// report keeps its fault registers, architecture and fault address.
#include <fmt/format.h>

#include "ktriage/kernel_facts.h"

#include "disasm/report_regs.h"
#include "disasm/semantics.h"

namespace ktriage {

std::string_view to_string(PointerClass c) {
  switch (c) {
    case PointerClass::plausible: return "plausible";
    case PointerClass::null: return "null";
    case PointerClass::near_null: return "near_null";
    case PointerClass::user_space: return "user_space";
    case PointerClass::non_canonical: return "non_canonical";
    case PointerClass::poison: return "poison";
  }
  return "plausible";
}

PointerVerdict classify_pointer(uint64_t value, Arch arch) {
  AddressVerdict a = classify_address(value, arch);
  switch (a.cls) {
    case AddressClass::null_page:
      return {value == 0 || (pointer_bytes(arch) == 4 && (value & 0xffffffffu) == 0) ? PointerClass::null
                                                                                      : PointerClass::near_null,
              std::move(a.meaning)};
    case AddressClass::user: return {PointerClass::user_space, std::move(a.meaning)};
    case AddressClass::non_canonical: return {PointerClass::non_canonical, std::move(a.meaning)};
    case AddressClass::kasan_shadow:
      // The non-canonical shadow of a bad address, or an ordinary shadow address.
      if (a.meaning.empty()) return {PointerClass::plausible, ""};
      return {PointerClass::non_canonical, std::move(a.meaning)};
    case AddressClass::slab_poison_free:
    case AddressClass::slab_poison_inuse:
    case AddressClass::slab_poison_end:
    case AddressClass::slab_red_active:
    case AddressClass::slab_red_inactive:
    case AddressClass::page_poison:
    case AddressClass::list_poison1:
    case AddressClass::list_poison2:
    case AddressClass::pointer_poison: return {PointerClass::poison, std::move(a.meaning)};
    default: return {PointerClass::plausible, ""};
  }
}

std::optional<RegisterClasses> classify_fault_registers(const Report& report) {
  const RegisterSet* regs = disasm::fault_registers(report);
  const Arch arch = disasm::report_arch(report);
  if (!regs || arch == Arch::unknown) return std::nullopt;
  RegisterClasses out;
  out.set = static_cast<size_t>(regs - report.registers.data());
  for (const Register& r : regs->regs) {
    // General-purpose (names of the whole register only) and the program counter.
    const std::optional<RegisterInfo> info = register_info(r.name, arch);
    if (!(info && info->bytes == pointer_bytes(arch)) && r.name != "pc") continue;
    out.registers.push_back({r.name, classify_pointer(r.value, arch)});
  }
  return out;
}

namespace disasm {

const RegisterSet* fault_registers(const Report& report) {
  for (const RegisterSet& s : report.registers) {
    for (std::string_view n : {"rax", "eax", "x0", "r0", "pc", "rip"}) {
      if (s.get(n)) return &s;
    }
  }
  return report.registers.empty() ? nullptr : &report.registers.front();
}

Arch report_arch(const Report& report) {
  if (report.arch != Arch::unknown) return report.arch;
  if (const RegisterSet* s = fault_registers(report)) {
    if (s->get("rax") || s->get("r15")) return Arch::x86_64;
    if (s->get("eax")) return Arch::i386;
    if (s->get("x0") || s->get("x29")) return Arch::arm64;
    if (s->get("r0")) return Arch::arm;
  }
  return Arch::unknown;
}

std::optional<uint64_t> report_fault_address(const Report& report) {
  if (report.fault_address) return report.fault_address;
  // CR2 only means something for a page fault; after a GPF or a trap it is
  // whatever the last page fault (often in user space) left there.
  // A stack guard-page hit (and the double fault it may become) is a page
  // fault too; its headline prints hashed pointers, so CR2 is the address.
  const bool page_fault = report.error_code || report.kind == CrashKind::oops_paging ||
                          report.kind == CrashKind::null_deref || report.kind == CrashKind::stack_overflow ||
                          report.kind == CrashKind::double_fault;
  for (const RegisterSet& s : report.registers) {
    if (auto v = s.get("far")) return v;
    if (page_fault) {
      if (auto v = s.get("cr2")) return v;
    }
  }
  return std::nullopt;
}

}  // namespace disasm
}  // namespace ktriage

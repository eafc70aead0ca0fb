// What a bad pointer looks like, from its value alone. Poison values are the
// kernel's (include/linux/poison.h): freed slab objects are filled with 0x6b,
// uninitialised ones with 0x5a, SLUB red zones are 0xbb/0xcc, list_del()
// leaves LIST_POISON1/2 = POISON_POINTER_DELTA + 0x100/0x122.
#include <fmt/format.h>

#include "disasm/report_regs.h"
#include "disasm/semantics.h"

namespace ktriage {
namespace {

// Below this, an address is "NULL plus a field offset" (mmap_min_addr is 64 KiB).
constexpr uint64_t kNearNull = 0x10000;

struct PoisonByte {
  uint8_t byte;
  const char* meaning;
};
constexpr PoisonByte kPoisonBytes[] = {
    {0x6b, "POISON_FREE: slab object used after free"},
    {0x5a, "POISON_INUSE: uninitialised slab object"},
    {0xa5, "POISON_END: end of a poisoned slab object"},
    {0xcc, "SLUB_RED_ACTIVE: slab red zone, out-of-bounds access"},
    {0xbb, "SLUB_RED_INACTIVE: red zone of a free slab object"},
    {0xaa, "PAGE_POISON: freed page"},
};

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

}  // namespace

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
  const unsigned bytes = disasm::pointer_bytes(arch);
  const uint64_t v = bytes == 4 ? value & 0xffffffffu : value;
  if (v == 0) return {PointerClass::null, "NULL"};

  // Poison: all bytes above the low 16 bits are one poison byte (a field
  // offset may have been added to a poisoned pointer).
  for (const PoisonByte& p : kPoisonBytes) {
    uint64_t pattern = 0;
    for (unsigned i = 0; i < bytes; ++i) pattern = (pattern << 8) | p.byte;
    if ((v >> 16) == (pattern >> 16)) {
      return {PointerClass::poison, fmt::format("{} (pattern 0x{:02x}{:02x}...)", p.meaning, p.byte, p.byte)};
    }
  }
  if (bytes == 8 && (v >> 48) == 0xdead && (v & 0x0000ffffffffffffULL) < kNearNull) {
    uint64_t low = v & 0xffff;
    if (low == 0x100) return {PointerClass::poison, "LIST_POISON1 (0xdead000000000100): the entry was removed by list_del()"};
    if (low == 0x122) return {PointerClass::poison, "LIST_POISON2 (0xdead000000000122): the entry was removed by list_del()"};
    return {PointerClass::poison, fmt::format("POISON_POINTER_DELTA + {} (a poisoned list/hlist pointer)", hex(low))};
  }
  if (v < kNearNull) {
    std::string d = fmt::format("NULL + {}", hex(v));
    if (bytes == 4 && (v == 0x100 || v == 0x122)) d += fmt::format(" (or LIST_POISON{} on 32-bit)", v == 0x100 ? 1 : 2);
    return {PointerClass::near_null, d};
  }
  switch (arch) {
    case Arch::x86_64: {
      uint64_t top = v >> 47;  // 4-level paging: bits 63..47 must all be equal
      if (top != 0 && top != 0x1ffff) return {PointerClass::non_canonical, "non-canonical address (bits 63..47 differ)"};
      if (top == 0) return {PointerClass::user_space, "user-space address"};
      break;
    }
    case Arch::arm64: {
      // Top byte is ignored (tags); bit 55 selects the user/kernel half.
      uint64_t bits = (v >> 48) & 0xff;  // bits 55..48
      bool kernel_half = (v >> 55) & 1;
      if (bits != (kernel_half ? 0xffu : 0u)) {
        return {PointerClass::non_canonical, "not a valid virtual address (bits 55..48 differ)"};
      }
      if (!kernel_half) return {PointerClass::user_space, "user-space address"};
      break;
    }
    case Arch::i386:
    case Arch::arm:
      // Every usual split (3G/1G, 2G/2G) keeps the low 2 GiB for user space.
      if (v < 0x80000000u) return {PointerClass::user_space, "user-space address"};
      break;
    default: break;
  }
  return {PointerClass::plausible, ""};
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

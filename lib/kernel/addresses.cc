// What an address is on each architecture: the NULL page, the kernel's
// poison patterns (include/linux/poison.h), canonical form, and the layout of
// the kernel's address space (Documentation/arch/x86/x86_64/mm.rst and the
// arm/i386 memory splits). One table for every stage that judges a value.
#include <elf.h>

#include <array>

#include <fmt/format.h>

#include "ktriage/kernel_facts.h"

namespace ktriage {
namespace {

// Below this an address is NULL plus a field offset (mmap_min_addr, 64 KiB).
constexpr uint64_t kNullPage = 0x10000;
// POISON_POINTER_DELTA on 64-bit kernels; list_del() leaves DELTA + 0x100/0x122.
constexpr uint64_t kPoisonDelta = 0xdead000000000000ull;
// A poisoned list pointer plus a member offset up to this is still one.
constexpr uint64_t kListMemberSlack = 0x20;

struct PoisonByte {
  uint8_t byte;
  AddressClass cls;
  std::string_view meaning;
};
constexpr std::array<PoisonByte, 6> kPoisonBytes{{
    {0x6b, AddressClass::slab_poison_free, "POISON_FREE: slab object used after free"},
    {0x5a, AddressClass::slab_poison_inuse, "POISON_INUSE: uninitialised slab object"},
    {0xa5, AddressClass::slab_poison_end, "POISON_END: end of a poisoned slab object"},
    {0xcc, AddressClass::slab_red_active, "SLUB_RED_ACTIVE: slab red zone, out-of-bounds access"},
    {0xbb, AddressClass::slab_red_inactive, "SLUB_RED_INACTIVE: red zone of a free slab object"},
    {0xaa, AddressClass::page_poison, "PAGE_POISON: freed page"},
}};

// A range of an architecture's layout. Where the default and a common
// alternative memory split disagree (32-bit 3G/1G vs 2G/2G), the range says
// so in `meaning` rather than claiming either.
struct Region {
  Arch arch;
  uint64_t begin, end;  // [begin, end)
  AddressClass cls;
  std::string_view meaning;
};
constexpr std::array<Region, 12> kRegions{{
    {Arch::x86_64, 0xffff880000000000ull, 0xffffc80000000000ull, AddressClass::direct_map, ""},
    {Arch::x86_64, 0xffffc90000000000ull, 0xffffe90000000000ull, AddressClass::vmalloc, ""},
    {Arch::x86_64, 0xffffec0000000000ull, 0xfffffc0000000000ull, AddressClass::kasan_shadow, ""},
    {Arch::x86_64, 0xffffffff80000000ull, 0xffffffffa0000000ull, AddressClass::kernel_text, ""},
    {Arch::x86_64, 0xffffffffa0000000ull, 0xffffffffff000000ull, AddressClass::module, ""},
    {Arch::i386, 0x80000000ull, 0xc0000000ull, AddressClass::kernel_other,
     "user space on the default 3G/1G split, kernel memory on a 2G/2G split"},
    // 32-bit arm puts modules in the 16 MiB below PAGE_OFFSET.
    {Arch::arm, 0x7f000000ull, 0x80000000ull, AddressClass::kernel_other,
     "user space on the default 3G/1G split, the module area on a 2G/2G split"},
    {Arch::arm, 0x80000000ull, 0xbf000000ull, AddressClass::kernel_other,
     "user space on the default 3G/1G split, kernel memory on a 2G/2G split"},
    {Arch::arm, 0xbf000000ull, 0xc0000000ull, AddressClass::module, ""},
    {Arch::i386, 0xc0000000ull, 0x100000000ull, AddressClass::kernel_other, ""},
    {Arch::arm, 0xc0000000ull, 0x100000000ull, AddressClass::kernel_other, ""},
    {Arch::ppc64, 0xc000000000000000ull, 0xffffffffffffffffull, AddressClass::kernel_other, ""},
}};

// Where user space certainly ends (below every common split).
std::optional<uint64_t> user_end(Arch arch) {
  switch (arch) {
    case Arch::x86_64: return 0x0000800000000000ull;
    case Arch::i386: return 0x80000000ull;
    case Arch::arm: return 0x7f000000ull;
    case Arch::ppc64: return 0xc000000000000000ull;
    case Arch::riscv64: return 0x0001000000000000ull;
    default: return std::nullopt;
  }
}

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

}  // namespace

uint16_t elf_machine(Arch arch) {
  switch (arch) {
    case Arch::x86_64: return EM_X86_64;
    case Arch::i386: return EM_386;
    case Arch::arm64: return EM_AARCH64;
    case Arch::arm: return EM_ARM;
    case Arch::ppc64: return EM_PPC64;
    case Arch::ppc: return EM_PPC;
    case Arch::mips: return EM_MIPS;
    case Arch::s390: return EM_S390;
    case Arch::riscv64: return EM_RISCV;
    default: return 0;
  }
}

unsigned pointer_bytes(Arch arch) {
  switch (arch) {
    case Arch::i386:
    case Arch::arm:
    case Arch::ppc:
    case Arch::mips: return 4;
    default: return 8;
  }
}

bool is_repeated_byte(uint64_t value, uint8_t byte, unsigned bytes, unsigned ignored_bits) {
  const unsigned bits = bytes * 8;
  if (bits < 64 && (value >> bits) != 0) return false;
  uint64_t pattern = 0;
  for (unsigned i = 0; i < bytes; ++i) pattern = (pattern << 8) | byte;
  return (value >> ignored_bits) == (pattern >> ignored_bits);
}

std::string_view to_string(AddressClass c) {
  switch (c) {
    case AddressClass::null_page: return "NULL + small offset (below 64 KiB)";
    case AddressClass::user: return "user-space address";
    case AddressClass::non_canonical: return "non-canonical address";
    case AddressClass::slab_poison_free: return "slab poison POISON_FREE (0x6b)";
    case AddressClass::slab_poison_inuse: return "slab poison POISON_INUSE (0x5a)";
    case AddressClass::slab_poison_end: return "slab poison POISON_END (0xa5)";
    case AddressClass::slab_red_active: return "slab red zone SLUB_RED_ACTIVE (0xcc)";
    case AddressClass::slab_red_inactive: return "slab red zone SLUB_RED_INACTIVE (0xbb)";
    case AddressClass::page_poison: return "page poison PAGE_POISON (0xaa)";
    case AddressClass::list_poison1: return "LIST_POISON1";
    case AddressClass::list_poison2: return "LIST_POISON2";
    case AddressClass::pointer_poison: return "POISON_POINTER_DELTA";
    case AddressClass::kasan_shadow: return "KASAN shadow";
    case AddressClass::direct_map: return "kernel direct map";
    case AddressClass::vmalloc: return "vmalloc area";
    case AddressClass::kernel_text: return "kernel image";
    case AddressClass::module: return "module area";
    case AddressClass::kernel_other: return "kernel address";
  }
  return "address";
}

AddressVerdict classify_address(uint64_t a, Arch arch) {
  const unsigned bytes = pointer_bytes(arch);
  const uint64_t v = bytes == 4 ? a & 0xffffffffu : a;
  if (v < kNullPage) {
    if (v == 0) return {AddressClass::null_page, "NULL"};
    std::string m = fmt::format("NULL + {}", hex(v));
    if (bytes == 4 && (v == 0x100 || v == 0x122)) m += fmt::format(" (or LIST_POISON{} on 32-bit)", v == 0x100 ? 1 : 2);
    return {AddressClass::null_page, m};
  }
  for (const PoisonByte& p : kPoisonBytes)
    if (is_repeated_byte(v, p.byte, bytes))
      return {p.cls, fmt::format("{} (pattern 0x{:02x}{:02x}...)", p.meaning, p.byte, p.byte)};
  // list_del(): next = DELTA + 0x100, prev = DELTA + 0x122 (a 0 delta on
  // 32-bit kernels); old kernels used 0x00100100 and 0x00200200.
  const uint64_t delta = bytes == 8 ? kPoisonDelta : 0;
  const std::array<std::pair<uint64_t, uint64_t>, 2> kListPoisons{{{delta + 0x100, delta + 0x122},
                                                                   {0x00100100, 0x00200200}}};
  for (const auto& [p1, p2] : kListPoisons) {
    for (int which : {1, 2}) {
      const uint64_t p = which == 1 ? p1 : p2;
      if (v < p || v >= p + kListMemberSlack) continue;
      const AddressClass cls = which == 1 ? AddressClass::list_poison1 : AddressClass::list_poison2;
      if (v == p) return {cls, fmt::format("LIST_POISON{} ({}): the entry was removed by list_del()", which, hex(p))};
      return {cls, fmt::format("LIST_POISON{} + {} ({}): a member of an entry removed by list_del()", which,
                               hex(v - p), hex(v))};
    }
  }
  if (bytes == 8 && (v >> 48) == 0xdead && (v & 0x0000ffffffffffffull) < kNullPage)
    return {AddressClass::pointer_poison,
            fmt::format("POISON_POINTER_DELTA + {} (a poisoned list/hlist pointer)", hex(v & 0xffff))};

  if (arch == Arch::x86_64) {
    const uint64_t top = v >> 47;  // 4-level paging: bits 63..47 all equal
    if (top != 0 && top != 0x1ffff) {
      AddressClass cls = v >= 0xdffffc0000000000ull && v < 0xe000000000000000ull ? AddressClass::kasan_shadow
                                                                                 : AddressClass::non_canonical;
      return {cls, "non-canonical address (bits 63..47 differ)"};
    }
  }
  if (arch == Arch::arm64) {
    // The top byte is a tag; bit 55 selects the user or kernel half.
    const bool kernel_half = (v >> 55) & 1;
    if (((v >> 48) & 0xff) != (kernel_half ? 0xffu : 0u))
      return {AddressClass::non_canonical, "not a valid virtual address (bits 55..48 differ)"};
    if (!kernel_half) return {AddressClass::user, "user-space address"};
    return {AddressClass::kernel_other, ""};
  }
  if (std::optional<uint64_t> end = user_end(arch); end && v < *end) return {AddressClass::user, "user-space address"};
  // Unknown architecture: the x86_64 regions are distinctive enough to name,
  // but nothing is called user space or non-canonical.
  const Arch layout = arch == Arch::unknown ? Arch::x86_64 : arch;
  for (const Region& r : kRegions)
    if (r.arch == layout && v >= r.begin && v < r.end) return {r.cls, std::string(r.meaning)};
  return {AddressClass::kernel_other, ""};
}

}  // namespace ktriage

// Facts about Linux kernels that every stage reasons with, kept as tables in
// one place (lib/kernel): what an address is on each architecture (layout,
// poison patterns), the registers of each architecture, and which kernels
// have which THREAD_SIZE and keep thread_info where.
//
//   AddressVerdict v = classify_address(0x6b6b6b6b6b6b6b6b, Arch::x86_64);
//   // v.cls == AddressClass::slab_poison_free, v.meaning == "POISON_FREE: ..."
//   RegisterInfo r = register_info("eax", Arch::x86_64);   // {"rax", 4}
//   StackGeometry s = stack_geometry({Arch::x86_64, "2.6.32-431.el6.x86_64"});
//   // s.thread_size == 8192 (Red Hat's 16 KiB backport came in 2.6.32-520.el6)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ktriage/report.h"

namespace ktriage {

// --- Addresses -------------------------------------------------------------

// What an address is, by its value alone (lib/kernel/addresses.cc has the
// per-architecture table).
enum class AddressClass {
  null_page,          // below 64 KiB (mmap_min_addr): NULL plus a field offset
  user,               // user-space address
  non_canonical,      // not a valid virtual address (x86_64 bits 63..47, arm64 bits 55..48 differ)
  slab_poison_free,   // 0x6b... POISON_FREE: a freed slab object
  slab_poison_inuse,  // 0x5a... POISON_INUSE: an uninitialised slab object
  slab_poison_end,    // 0xa5... POISON_END
  slab_red_active,    // 0xcc... SLUB_RED_ACTIVE: a red zone
  slab_red_inactive,  // 0xbb... SLUB_RED_INACTIVE
  page_poison,        // 0xaa... PAGE_POISON: a freed page
  list_poison1,       // LIST_POISON1 (POISON_POINTER_DELTA + 0x100, + small offset)
  list_poison2,       // LIST_POISON2 (POISON_POINTER_DELTA + 0x122)
  pointer_poison,     // another POISON_POINTER_DELTA value (hlist, ...)
  kasan_shadow,       // x86_64 KASAN shadow
  direct_map,         // kernel direct mapping (slab, page cache)
  vmalloc,            // vmalloc / vmap stacks
  kernel_text,        // the kernel image
  module,             // the module area
  kernel_other,       // another kernel address
};
// The class in a few words: "slab poison POISON_FREE (0x6b)", "user-space address".
std::string_view to_string(AddressClass c);

struct AddressVerdict {
  AddressClass cls = AddressClass::kernel_other;
  // What this value means, for people: "NULL + 0x18", "LIST_POISON1
  // (0xdead000000000100): the entry was removed by list_del()"; "" for an
  // ordinary kernel address.
  std::string meaning;
};

// Never fails. Arch::unknown: only what holds everywhere (NULL page, poison
// patterns); any other value is kernel_other.
AddressVerdict classify_address(uint64_t address, Arch arch);

// The value is one byte repeated in all bytes above the low `ignored_bits`
// (a field offset added to a poisoned pointer).
bool is_repeated_byte(uint64_t value, uint8_t byte, unsigned pointer_bytes, unsigned ignored_bits = 16);

// Pointer width in bytes of an architecture (8 for unknown).
unsigned pointer_bytes(Arch arch);

// The ELF e_machine of an architecture's kernel images (EM_X86_64, ...);
// 0 for unknown.
uint16_t elf_machine(Arch arch);

}  // namespace ktriage

namespace ktriage {

// --- Registers -------------------------------------------------------------

// A general-purpose register as a name names it: its family (the full-width
// name the kernel's register dump prints: "rax", "x29", "fp"), how many bytes
// this name views, and its DWARF register number (-1 when none).
struct RegisterInfo {
  std::string_view family;
  unsigned bytes = 0;
  int dwarf = -1;
};

// Any name a register dump or a disassembler gives a register of `arch`
// ("eax", "r8d", "w19", "lr", "sb"); nullopt for others (and for arm64's
// zero register).
std::optional<RegisterInfo> register_info(std::string_view name, Arch arch);

// The value of `family`'s register in a dump that may print it under
// another of its names (arm64 "lr" for x30, arm "sb" for r9).
std::optional<uint64_t> register_value(const RegisterSet& regs, std::string_view family, Arch arch);

}  // namespace ktriage

namespace ktriage {

// --- Stacks ----------------------------------------------------------------

// What is known of the crashed kernel: its release as printed or given, or,
// when there is none, the range of upstream versions the log's report format
// allows (an era: "before 3.0" for 2.6-era marks, "since 4.15" for PTI-era ones).
struct RunningKernel {
  Arch arch = Arch::unknown;
  std::string release;        // "2.6.32-431.el6.x86_64", "" when unknown
  std::string since, before;  // the era's upstream bounds, "" when open
  std::string era;            // how the era reads: "the marks of a 2.6-era kernel"
  bool kasan = false;         // KASAN doubles THREAD_SIZE where the table says
};

// Where a kernel stands against an upstream version.
enum class VersionRelation { before, since, unknown };
VersionRelation version_relation(const RunningKernel& kernel, std::string_view upstream);

// THREAD_SIZE and what lives at the bottom of the task stack, each with the
// assumption stated (lib/kernel/stacks.cc has the per-architecture tables,
// upstream changes and distribution backports).
struct StackGeometry {
  std::optional<unsigned> thread_size;   // bytes, nullopt when unknown
  std::string assumption;                // "8 KiB: x86_64 THREAD_SIZE is 8 KiB before 3.15 ..."
  std::optional<bool> thread_info_on_stack;  // before THREAD_INFO_IN_TASK
  std::string thread_info_reason;
  // preempt_count lives in thread_info (so on the stack while thread_info is):
  // x86 before 3.13, arm64 always.
  std::optional<bool> preempt_count_in_thread_info;
  std::string preempt_count_reason;
};
StackGeometry stack_geometry(const RunningKernel& kernel);

// A distribution kernel line that carries an upstream change from a given
// release on (RHEL 6 has the 16 KiB x86_64 stack since 2.6.32-520.el6).
struct Backport {
  std::string_view line;     // classify_kernel_release()'s line: "rhel6"
  std::string_view version;  // first release carrying it: "2.6.32-520.el6"
  std::string_view vendor;   // "Red Hat"
};

// A THREAD_SIZE change of an architecture: the size from `since` on (""
// for the oldest size kept), the upstream commit, and its backports.
struct ThreadSizeChange {
  Arch arch;
  unsigned bytes;
  std::string_view since;    // upstream version, "" for the base size
  std::string_view commit;   // upstream commit, "" for the base size
  std::string_view note;     // a configuration caveat, "" when none
  std::array<Backport, 1> backports{};
};
std::span<const ThreadSizeChange> thread_size_changes();

}  // namespace ktriage

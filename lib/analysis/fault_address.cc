// fault_address: what kind of address the kernel tripped over, and the
// decoded page-fault error code.
#include "analysis/analyses.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/helpers.h"

namespace ktriage::analysis {

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
    auto pf = page_fault_error_of(c, i);
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
          f = make_finding("fault_address.null_call", "null_deref",
                   fmt::format("call through a NULL function pointer (instruction fetch at {})", hex(*addr)), 0.9,
                   "the CPU tried to execute at a NULL page address", i);
          ev.push_back(figure(i, "instruction fetch from the NULL page: an indirect call or jump through a NULL (or NULL + offset) function pointer; the first trace frame is the caller"));
        } else {
          f = make_finding("fault_address.null", "null_deref",
                   *addr == 0 ? "NULL pointer dereference" + in_where(c, i)
                              : fmt::format("NULL pointer dereference{}: {} at offset {}", in_where(c, i), access, hex(*addr)),
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
        f = make_finding("fault_address.user", mech,
                 fmt::format("kernel {} of user-space address {}{}", access, hex(*addr), in_where(c, i)), 0.6,
                 "a kernel-mode access to a user-space address outside the uaccess helpers", i);
        ev.push_back(figure(i, fmt::format("{} is a user-space address accessed in kernel mode: the kernel never touches such an address on purpose outside copy_{{from,to}}_user, so this is a kernel bug (a garbage pointer), not a hardware or user-space problem", hex(*addr))));
        f.explanation = "The kernel dereferenced a value that is a user-space address. Kernel code never does that by design; the pointer (or an index used to build it) was garbage.";
        f.actions = {"Find where the bad pointer was loaded from (disassemble the faulting instruction with vmlinux).",
                     "Suspect memory corruption of the structure it came from."};
        break;
      case AddressClass::non_canonical:
        f = make_finding("fault_address.non_canonical", "gpf",
                 fmt::format("general protection fault on non-canonical address {}{}", hex(*addr), in_where(c, i)), 0.6,
                 "a non-canonical address is never a valid pointer", i);
        ev.push_back(figure(i, fmt::format("{} is non-canonical (bits 63..47 differ): a corrupted or uninitialized pointer", hex(*addr))));
        f.explanation = "The CPU refused an address that no valid pointer can have. The pointer was corrupted, uninitialized or computed from garbage.";
        f.actions = {"Look at which register holds the bad address at the faulting instruction and where it was loaded from."};
        break;
      case AddressClass::slab_poison_free:
        f = make_finding("fault_address.poison_free", "use_after_free",
                 fmt::format("use-after-free: pointer read from a freed slab object (POISON_FREE {}){}", hex(*addr), in_where(c, i)), 0.9,
                 "0x6b is the byte SLUB/SLAB poisoning writes over freed objects", i);
        ev.push_back(figure(i, "the address is made of 0x6b bytes (POISON_FREE, written over an object when it is freed with slab poisoning on): the pointer was read from an object after it was freed"));
        f.explanation = "The code loaded a pointer from a slab object that had already been freed; slab poisoning had filled it with 0x6b, and dereferencing that value faulted.";
        f.actions = {"Find the object the pointer was loaded from and who freed it (slub_debug=FZPU keeps alloc/free traces; KASAN pinpoints it).",
                     "Check reference counting and lifetime of that object on this path."};
        break;
      case AddressClass::slab_poison_inuse:
        f = make_finding("fault_address.poison_inuse", "memory_corruption",
                 fmt::format("pointer read from an uninitialized slab object (POISON_INUSE {}){}", hex(*addr), in_where(c, i)), 0.7,
                 "0x5a is the byte slab poisoning writes into newly allocated objects", i);
        ev.push_back(figure(i, "the address is made of 0x5a bytes (POISON_INUSE): a field of a freshly allocated object was used before being initialized"));
        f.explanation = "A pointer field of a slab object was used before anything was stored in it.";
        f.actions = {"Find the allocation of the object and the missing initialization (kzalloc, or set the field)."};
        break;
      case AddressClass::slab_poison_end:
      case AddressClass::page_poison:
        f = make_finding("fault_address.poison", cls == AddressClass::page_poison ? "use_after_free" : "memory_corruption",
                 fmt::format("pointer made of poison bytes ({}){}", hex(*addr), in_where(c, i)), 0.7,
                 "the address is a kernel poison pattern, not a pointer", i);
        ev.push_back(figure(i, fmt::format("{}: {}", hex(*addr), to_string(cls))));
        f.explanation = "The pointer was read from memory the kernel had poisoned (freed or past an object's end).";
        f.actions = {"Find the object the pointer came from and its lifetime."};
        break;
      case AddressClass::list_poison1:
      case AddressClass::list_poison2: {
        bool first = cls == AddressClass::list_poison1;
        f = make_finding(first ? "fault_address.list_poison1" : "fault_address.list_poison2", mech,
                 fmt::format("{} dereference of {} {}: a list entry used after list_del(){}",
                             mech == "gpf" ? "general protection fault:" : "paging fault:",
                             first ? "LIST_POISON1" : "LIST_POISON2", hex(*addr), in_where(c, i)),
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
        f = make_finding(null ? "fault_address.kasan_null" : "fault_address.kasan_wild", null ? "null_deref" : "gpf",
                 null ? "NULL pointer dereference caught by KASAN's shadow check" + in_where(c, i)
                      : fmt::format("wild memory access to {} caught by KASAN's shadow check{}", hex(original), in_where(c, i)),
                 0.85, "the faulting address is KASAN's shadow of the real access", i);
        ev.push_back(figure(i, fmt::format("{} is the KASAN shadow (0xdffffc0000000000 + addr/8) of {}", hex(*addr), hex(original))));
        f.explanation = "KASAN instrumentation looked up the shadow byte of a bad address; the shadow address itself is invalid, so the real access was to the address shown.";
        f.actions = {"Treat it as an access to the original address in the faulting function."};
        break;
      }
      default: {
        if (pf && pf->present() && pf->write()) {
          f = make_finding("fault_address.write_protected", "oops_paging",
                   fmt::format("write to read-only kernel memory at {} ({}){}", hex(*addr), to_string(cls), in_where(c, i)), 0.75,
                   "the error code says the page is present and the write was refused", i);
          ev.push_back(figure(i, "present page + write access: a protection violation, the page is mapped read-only (const data, rodata, text)"));
          f.explanation = "The kernel wrote to memory mapped read-only: data declared const or __ro_after_init, module rodata or text.";
          f.actions = {"Find the object at the fault address (System.map / module sections) and why it is written."};
        } else if (pf && pf->present() && pf->instruction_fetch()) {
          f = make_finding("fault_address.nx", "oops_paging",
                   fmt::format("execution of non-executable kernel memory at {}", hex(*addr)), 0.7,
                   "instruction fetch from a present, non-executable page", i);
          f.explanation = "The CPU jumped into data: a corrupted function pointer or return address.";
          f.actions = {"Find the indirect call or return that jumped there (first trace frame)."};
        } else {
          f = make_finding("fault_address.kernel_unmapped", mech,
                   fmt::format("kernel {} of unmapped kernel address {} ({}){}", access, hex(*addr), to_string(cls), in_where(c, i)), 0.55,
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

}  // namespace ktriage::analysis

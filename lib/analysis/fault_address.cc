// fault_address: what kind of address the kernel tripped over, and the
// decoded page-fault error code.
#include "analysis/analyses.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/helpers.h"
#include "ktriage/disasm.h"

namespace ktriage::analysis {

namespace {

// The faulting instruction explained: what the pipeline made of it (with
// debug info, over the whole function and in source terms), else from the
// Code: bytes and registers alone (lib/disasm).
std::optional<FaultExplanation> explain(const Context& c, size_t i) {
  if (const std::vector<ReportDetails>* d = c.options.details;
      d && i < d->size() && (*d)[i].fault && !(*d)[i].fault->instruction.text.empty()) {
    return (*d)[i].fault;
  }
  const Report& r = c.reports[i];
  if (!r.code || !r.code->decodable || r.code->bytes.empty()) return std::nullopt;
  try {  // the disassembler reports errors as values; this only guards the stage boundary
    Expected<FaultExplanation> faultOrErr = explain_report_fault(r);
    if (faultOrErr) return std::move(*faultOrErr);
  } catch (...) {
  }
  return std::nullopt;
}

// An XOR-encoded (CONFIG_SLAB_FREELIST_HARDENED) freelist pointer looks random:
// non-canonical, no repeated pattern, many distinct nibbles.
bool random_looking(uint64_t v) {
  uint64_t top = v >> 48;
  if (top == 0 || top == 0xffff || top == 0xdead) return false;
  for (uint8_t b : {0x6b, 0x5a, 0xa5, 0xaa, 0x41, 0xcc}) if (is_repeated_byte(v, b, 8, 8)) return false;
  bool seen[16] = {};
  int distinct = 0;
  for (int k = 0; k < 16; ++k) {
    unsigned nib = (v >> (4 * k)) & 0xf;
    if (!seen[nib]) { seen[nib] = true; ++distinct; }
  }
  return distinct >= 6;
}

// Since 5.7 SLUB keeps a free object's freelist pointer in its middle
// (object_size / 2); before, at offset 0. Returns the kmalloc cache whose
// free-pointer slot is at `disp`, or "" when none is.
std::string freelist_slot_cache(uint64_t disp, const KernelFacts& k) {
  // A 4.15+ report format without a release: most such kernels are 5.7+.
  VersionRelation rel = version_relation(k.running(), "5.7");
  bool middle = rel == VersionRelation::since || (rel == VersionRelation::unknown && k.era_modern);
  if (!middle) return disp == 0 ? "any slab cache (offset 0 before 5.7)" : "";
  static constexpr std::pair<uint64_t, std::string_view> kSlots[] = {
      {0x8, "kmalloc-16"}, {0x10, "kmalloc-32"}, {0x20, "kmalloc-64"}, {0x30, "kmalloc-96"},
      {0x40, "kmalloc-128"}, {0x60, "kmalloc-192"}, {0x80, "kmalloc-256"}, {0x100, "kmalloc-512"},
      {0x200, "kmalloc-1k"}, {0x400, "kmalloc-2k"}, {0x800, "kmalloc-4k"}};
  for (const auto& [d, name] : kSlots)
    if (d == disp) return std::string(name);
  return "";
}

// A non-canonical pointer loaded from the free-pointer slot of a slab object:
// the object had been freed and the load read SLUB's encoded freelist pointer.
void freed_object_pointer(const Context& c, size_t i, const FaultExplanation& e, std::vector<Finding>& out) {
  const Report& r = c.reports[i];
  if (c.kernel.arch != Arch::x86_64 || !e.bad_value || e.chain.empty()) return;
  uint64_t v = *e.bad_value;
  if (classify_address(v, c.kernel.arch).cls != AddressClass::non_canonical || !random_looking(v)) return;
  // The bad value was loaded from base + displacement: a slab object's field.
  const ChainStep& load = e.chain.front();
  if (load.kind != StepKind::load || !load.operand || load.operand->base.empty() || !load.operand->index.empty() ||
      load.operand->displacement < 0)
    return;
  const std::string& base_register = load.operand->base;
  const uint64_t displacement = static_cast<uint64_t>(load.operand->displacement);
  std::string cache = freelist_slot_cache(displacement, c.kernel);
  if (cache.empty()) return;
  Finding f = make_finding("fault_address.freed_object_pointer", "use_after_free",
                           fmt::format("use-after-free: pointer read from the free-pointer slot of a freed slab object ({} + {:#x}){}",
                                       base_register, displacement, in_where(c, i)),
                           0.65, "the bad pointer is a random-looking value loaded from where SLUB keeps a free object's encoded freelist pointer", i);
  f.evidence.push_back(Evidence{"instruction", fmt::format("`{}` loaded {} = {}: {}", load.instruction.text, e.bad_register, hex(v), step_expression(load)), i, std::nullopt});
  f.evidence.push_back(figure(i, fmt::format("{} is non-canonical and random-looking, as a CONFIG_SLAB_FREELIST_HARDENED (XOR-encoded) freelist pointer is", hex(v))));
  f.evidence.push_back(figure(i, fmt::format("offset {:#x} is the free-pointer slot of a {} object (SLUB stores it at object_size/2 since 5.7)", displacement, cache)));
  if (auto bv = reg(r, base_register); bv && classify_address(*bv, c.kernel.arch).cls == AddressClass::direct_map)
    f.evidence.push_back(Evidence{"register", fmt::format("{} = {}: a slab (direct-map) address", base_register, hex(*bv)), i, std::nullopt});
  f.explanation = "The code read a pointer field from a slab object after the object was freed: SLUB had stored its (encoded) freelist pointer in that slot, and following it faulted. Booting with slub_debug=P would turn the value into 0x6b6b6b6b6b6b6b6b.";
  f.actions = {"Find who frees the object before this read (slub_debug=FZPU or KASAN give the free stack).",
               "Check the object's lifetime and reference counting on this path."};
  out.push_back(std::move(f));
}

}  // namespace

// --- fault_address: what kind of address the kernel tripped over ------------

void fault_address(const Context& c, std::vector<Finding>& out) {
  for (size_t i = 0; i < c.reports.size(); ++i) {
    const Report& r = c.reports[i];
    if (!is_primary(c, i)) continue;
    if (r.kind == CrashKind::stack_overflow || contains(r.header, "stack guard page")) continue;
    auto addr = fault_address_of(r);
    if (!addr) continue;
    Arch arch = c.kernel.arch;
    AddressClass cls = classify_address(*addr, arch).cls;
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
    std::optional<FaultExplanation> e = explain(c, i);
    if (const std::string source = e ? source_expression_text(*e) : ""; !source.empty()) {
      // DWARF named the access: point the first action at it.
      const std::string location = source_location_text(*e);
      const std::string at = location.empty() ? "" : " (" + location + ")";
      std::erase_if(f.actions, [](const std::string& a) { return contains(a, "vmlinux"); });
      f.actions.insert(f.actions.begin(),
                       cls == AddressClass::null_page
                           ? fmt::format("The faulting access is `{}`{}: find why the pointer it goes through is NULL there.", source, at)
                           : fmt::format("The faulting access is `{}`{}: find where the bad value in it came from.", source, at));
    }
    if (e)
      for (const std::string& sentence : fault_sentences(*e)) f.evidence.push_back(Evidence{"instruction", sentence, i, std::nullopt});
    out.push_back(std::move(f));
    if (e && cls == AddressClass::non_canonical) freed_object_pointer(c, i, *e, out);
  }
}

}  // namespace ktriage::analysis

// Heap and list misuse: use-after-free, double free, slab debug verdicts,
// CONFIG_DEBUG_LIST reports.
#include "analysis/analyses.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/helpers.h"

namespace ktriage::analysis {

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
      Finding f = make_finding("slab.out_of_bounds", "memory_corruption", "heap memory corruption around a slab object" + in_where(c, i), 0.8,
                       "the slab debugger (SLUB red zones / KFENCE guard pages) found bytes written outside an object", i);
      f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
      f.explanation = "Something wrote past the end (or before the start) of a heap object, over the guard bytes the debugger keeps around it.";
      f.actions = {"Read the object's allocation stack printed with the report; look for a length or index bug in code that fills it."};
      out.push_back(std::move(f));
      continue;
    }
    if (uaf || dfree) {
      Finding f = make_finding(dfree ? "slab.double_free" : "slab.use_after_free", dfree ? "double_free" : "use_after_free",
                       (dfree ? "double free" : "use-after-free") + in_where(c, i), 0.9,
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
    if (const std::optional<SourceSite>& loc = r.assertion) {
      bool slab = loc->file.ends_with("mm/slub.c") || loc->file.ends_with("mm/slab.c") || loc->file.ends_with("mm/slab_common.c");
      std::string ip = ip_function_of(r);
      bool freeing = contains(ip, "free");
      for (size_t k = 0; k < r.frames.size() && k < 3 && !freeing; ++k)
        freeing = contains(r.frames[k].function, "free");
      if (slab && freeing) {
        const Frame* caller = first_caller(r);
        Finding f = make_finding("slab.double_free", "double_free",
                         "double free" + (caller ? " in " + caller->function : in_where(c, i)), 0.8,
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
    bool addr_poison = addr && classify_address(*addr, c.kernel.arch).cls == AddressClass::slab_poison_free;
    if (crash && !addr_poison && !r.registers.empty()) {
      for (const Register& g : r.registers.front().regs) {
        if (g.name == "cr2" || g.name == "cr3" || g.name == "cr4" || g.name == "cr0") continue;
        if (is_repeated_byte(g.value, 0x6b, 8, 8) && (g.value >> 32) != 0) {
          Finding f = make_finding("slab.poison_register", "use_after_free",
                           fmt::format("use-after-free: {} holds slab poison {}{}", g.name, hex(g.value), in_where(c, i)), 0.7,
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
    const std::optional<SourceSite>& loc = r.assertion;
    bool by_loc = loc && loc->file.ends_with("list_debug.c");
    bool by_msg = icontains(r.header, "list_add corruption") || icontains(r.header, "list_del corruption") ||
                  icontains(r.header, "list corruption");
    std::string message;
    uint32_t message_line = 0;
    // CONFIG_DEBUG_LIST prints its verdict on the line just before "kernel BUG at".
    if (!by_msg) {
      for (const Note* n : notes_of(r, NoteKind::list_check)) {
        if (n->line < r.span.first_line) {
          message = n->text;
          message_line = n->line;
          break;
        }
      }
    }
    if (!(by_loc || by_msg || r.kind == CrashKind::list_corruption || !message.empty())) continue;
    const Frame* caller = first_caller(r);
    Finding f = make_finding("list_corruption.debug_list", "list_corruption",
                     "linked-list corruption detected by CONFIG_DEBUG_LIST" + (caller ? " in " + caller->function : std::string()),
                     0.9, "the kernel's list debugging checks caught an inconsistent list", i);
    if (by_msg || r.kind == CrashKind::list_corruption) f.evidence.push_back(log_line(i, r, fmt::format("\"{}\"", r.header)));
    if (!message.empty()) f.evidence.push_back(line_at(i, message_line, fmt::format("\"{}\"", message)));
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

}  // namespace ktriage::analysis

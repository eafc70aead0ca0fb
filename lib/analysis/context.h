// Internal to the analysis stage: what every analysis can read (the reports,
// how they group into incidents, what is known about the kernel), and small
// helpers for facts about addresses, preempt counts and kernel versions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ktriage/analysis.h"
#include "ktriage/diagnose.h"
#include "ktriage/report.h"

namespace ktriage::analysis {

// An upstream kernel version, from a release string like
// "2.6.32-431.el6.x86_64" or "6.1.0-56-cloud-amd64".
struct KernelVersion {
  int major = 0, minor = 0, patch = 0;
  bool before(int ma, int mi) const { return major < ma || (major == ma && minor < mi); }
};
std::optional<KernelVersion> parse_kernel_version(std::string_view release);

// What the log (or the user) tells us about the running kernel.
struct KernelFacts {
  Arch arch = Arch::unknown;
  std::string arch_reason;             // "" when the parser said so
  std::optional<KernelVersion> version;
  std::string release;                 // as given, "" when unknown
  bool era_pre_3 = false;              // inferred 2.6-era kernel (no release printed)
  bool era_pre_4 = false;              // inferred pre-4.x kernel
  bool era_modern = false;             // inferred 4.15+ x86 kernel (PTI era report format)
  std::vector<Evidence> era_evidence;  // why we believe the era
  bool kasan = false;                  // KASAN reports seen (doubles THREAD_SIZE)
};

// THREAD_SIZE for the kernel, with the assumption stated.
struct StackFacts {
  std::optional<unsigned> thread_size;  // bytes, nullopt when unknown
  std::string assumption;               // "8 KiB: x86_64 before 3.15 ..."
  std::optional<bool> thread_info_on_stack;  // before THREAD_INFO_IN_TASK
  std::string thread_info_reason;
  std::optional<bool> preempt_count_in_thread_info;
  std::string preempt_count_reason;
};
StackFacts stack_facts(const KernelFacts& kernel);

struct Context {
  const std::vector<Report>& reports;
  const DiagnoseOptions& options;
  KernelFacts kernel;
  std::vector<size_t> incident;        // per report: index of its incident (linked group)
  std::vector<std::string> link_reason;  // per report: why it joined the previous one ("" for the first)
  std::vector<bool> consequence;       // per report: a follow-on (panic after an oops, cascade)

  // Reports of the same incident as `r`, in order.
  std::vector<size_t> incident_of(size_t r) const;
  // The report's lines from the log text (empty when no text was given).
  std::vector<std::string_view> lines_of(size_t r) const;
  // Up to n lines printed just before the report (nearest first): detectors
  // such as CONFIG_DEBUG_LIST and refcount_t print their verdict there.
  std::vector<std::string_view> lines_before(size_t r, size_t n) const;
};

Context make_context(const std::vector<Report>& reports, const DiagnoseOptions& options);

// --- Facts about values -------------------------------------------------

enum class AddressClass {
  null_page,          // below 64 KiB, mmap_min_addr (NULL + small offset)
  user,               // user-space address
  non_canonical,      // x86_64: bits 63..47 not all equal
  slab_poison_free,   // 0x6b6b... POISON_FREE
  slab_poison_inuse,  // 0x5a5a... POISON_INUSE
  slab_poison_end,    // 0xa5a5... POISON_END
  page_poison,        // 0xaaaa... PAGE_POISON
  list_poison1,       // 0xdead000000000100 LIST_POISON1 (+ small offset)
  list_poison2,       // 0xdead000000000122 LIST_POISON2
  kasan_shadow,       // x86_64 KASAN shadow (0xdffffc0000000000 base)
  direct_map,         // kernel direct mapping (slab, page cache)
  vmalloc,            // vmalloc / vmap stacks
  kernel_text,        // kernel image
  module,             // module area
  kernel_other,
};
std::string_view to_string(AddressClass c);
AddressClass classify_address(uint64_t address, Arch arch);
// The 64-bit value is the repetition of one byte in its high bytes (poison), ignoring the low byte offset.
bool is_repeated_byte(uint64_t value, uint8_t byte, bool is64);

// A preempt count as printed in "scheduling while atomic: comm/pid/0x...".
struct PreemptCount {
  uint64_t value = 0;
  bool plausible = true;
  bool pointer_like = false;     // upper half of a kernel pointer (0xffff8811)
  bool underflow = false;        // 0xffffffff and friends
  std::string meaning;           // "preempt depth 2" / "looks like the top half of 0xffff8811xxxxxxxx (direct map)"
};
PreemptCount decode_preempt_count(uint64_t value);

// "kernel BUG at mm/slub.c:419!" -> {"mm/slub.c", 419}.
struct BugLocation { std::string file; uint32_t line = 0; };
std::optional<BugLocation> bug_location(std::string_view header);

// Formatting.
std::string hex(uint64_t v);
std::string frame_name(const Symbol& s);   // "xfs_buf_unlock+0x32/0x90 [xfs]"
bool contains(std::string_view haystack, std::string_view needle);
bool icontains(std::string_view haystack, std::string_view needle);

}  // namespace ktriage::analysis

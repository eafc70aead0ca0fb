// The geometry of a task's kernel stack per architecture and kernel version:
// THREAD_SIZE (with its upstream changes and distribution backports), whether
// thread_info sits at the stack's bottom, and where preempt_count lives.
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "ktriage/kernel_facts.h"
#include "ktriage/version.h"

namespace ktriage {

namespace {

constexpr ThreadSizeChange kThreadSizes[] = {
    {Arch::x86_64, 8192, "", "", ""},
    // x86_64: expand kernel stack to 16K. RHEL 6 carries it as a backport.
    {Arch::x86_64, 16384, "3.15", "6538b8ea886e472f4431db8ca1d60478f838d14b", "",
     {Backport{"rhel6", "2.6.32-520.el6", "Red Hat"}}},
    {Arch::i386, 8192, "", "", "4 KiB with CONFIG_4KSTACKS on older kernels"},
    {Arch::arm64, 16384, "", "", ""},
    {Arch::arm, 8192, "", "", ""},
    {Arch::ppc64, 16384, "", "", "the usual configuration"},
    {Arch::s390, 16384, "", "", "the usual configuration"},
    {Arch::riscv64, 16384, "", "", "the usual configuration"},
};

// KASAN's instrumentation needs deeper stacks: THREAD_SIZE doubles
// (KASAN_STACK_ORDER on x86_64, KASAN_THREAD_SHIFT on arm64).
constexpr Arch kKasanDoubles[] = {Arch::x86_64, Arch::arm64};

// A layout change: from `since` (upstream) on the fact no longer holds; ""
// when it holds on every version.
struct LayoutChange {
  Arch arch;
  std::string_view since;
  std::string_view family;  // how the reason names the architecture
};

// THREAD_INFO_IN_TASK moved thread_info from the stack bottom into task_struct.
constexpr LayoutChange kThreadInfoInTask[] = {
    {Arch::x86_64, "4.9", "x86"}, {Arch::i386, "4.9", "x86"}, {Arch::arm64, "4.10", "arm64"}};

// preempt_count left thread_info for a per-CPU variable (x86, 3.13); arm64
// keeps it in thread_info on every version.
constexpr LayoutChange kPreemptCountInThreadInfo[] = {
    {Arch::x86_64, "3.13", "x86"}, {Arch::i386, "3.13", "x86"}, {Arch::arm64, "", "arm64"}};

template <typename Row>
const Row* row_of(std::span<const Row> rows, Arch arch) {
  auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.arch == arch; });
  return it == rows.end() ? nullptr : &*it;
}

std::string kib(unsigned bytes) { return fmt::format("{} KiB", bytes / 1024); }

// "x86_64 THREAD_SIZE is 8 KiB before 3.15 and 16 KiB since"
std::string size_history(Arch arch, const std::vector<const ThreadSizeChange*>& rows) {
  std::string out = fmt::format("{} THREAD_SIZE is {}", to_string(arch), kib(rows[0]->bytes));
  for (size_t i = 1; i < rows.size(); ++i)
    out += fmt::format(" before {} and {} since", rows[i]->since, kib(rows[i]->bytes));
  if (!rows[0]->note.empty()) out += fmt::format(" ({})", rows[0]->note);
  return out;
}

// The backport of `change` the kernel carries, if any.
const Backport* carried_backport(const ThreadSizeChange& change, const RunningKernel& k) {
  if (k.release.empty()) return nullptr;
  KernelRelease release = classify_kernel_release(k.release);
  for (const Backport& b : change.backports) {
    if (b.line.empty() || release.line != b.line) continue;
    std::optional<int> c = compare_with_line_version(release, b.version);
    if (c && *c >= 0) return &b;
  }
  return nullptr;
}

void thread_size(const RunningKernel& k, StackGeometry& g) {
  std::vector<const ThreadSizeChange*> rows;
  for (const ThreadSizeChange& r : kThreadSizes)
    if (r.arch == k.arch) rows.push_back(&r);
  if (rows.empty()) {
    g.assumption = "unknown: architecture not known";
    return;
  }
  const std::string history = size_history(k.arch, rows);
  const std::string where = !k.release.empty() ? "this is " + k.release
                            : !k.era.empty()   ? "this log has " + k.era
                                               : "";
  // The newest change the kernel is known to carry (upstream or as a
  // backport); unknown when it might carry a later one.
  const ThreadSizeChange* have = rows[0];
  const Backport* via = nullptr;
  bool known = true;
  for (size_t i = 1; i < rows.size(); ++i) {
    if (const Backport* b = carried_backport(*rows[i], k)) {
      have = rows[i];
      via = b;
      continue;
    }
    VersionRelation rel = version_relation(k, rows[i]->since);
    if (rel == VersionRelation::since) {
      have = rows[i];
      continue;
    }
    known = rel == VersionRelation::before;
    break;
  }
  if (!known) {
    g.assumption = fmt::format("unknown: {}; the kernel version is not known", history);
    return;
  }
  g.thread_size = have->bytes;
  if (via)
    g.assumption = fmt::format("{}: {} carries {}'s backport of the {} {} stack ({})", kib(have->bytes), k.release,
                               via->vendor, kib(have->bytes), to_string(k.arch), via->version);
  else if (rows.size() == 1 || where.empty())
    g.assumption = fmt::format("{}: {}", kib(have->bytes), history);
  else
    g.assumption = fmt::format("{}: {}; {}", kib(have->bytes), history, where);
  if (k.kasan && g.thread_size && std::find(std::begin(kKasanDoubles), std::end(kKasanDoubles), k.arch) != std::end(kKasanDoubles)) {
    *g.thread_size *= 2;
    g.assumption += "; doubled because KASAN is enabled";
  }
}

void thread_info(const RunningKernel& k, StackGeometry& g) {
  const LayoutChange* ti = row_of<LayoutChange>(kThreadInfoInTask, k.arch);
  if (!ti) return;
  VersionRelation rel = version_relation(k, ti->since);
  if (rel == VersionRelation::unknown) return;
  g.thread_info_on_stack = rel == VersionRelation::before;
  g.thread_info_reason =
      *g.thread_info_on_stack
          ? fmt::format("{} keeps thread_info at the bottom of the kernel stack before {} (THREAD_INFO_IN_TASK): "
                        "an overflow overwrites it first", ti->family, ti->since)
          : fmt::format("{} moved thread_info into task_struct in {} (THREAD_INFO_IN_TASK): "
                        "a stack overflow cannot reach it", ti->family, ti->since);
}

void preempt_count(const RunningKernel& k, StackGeometry& g) {
  const LayoutChange* pc = row_of<LayoutChange>(kPreemptCountInThreadInfo, k.arch);
  if (!pc) return;
  if (pc->since.empty()) {
    // Always in thread_info: on the stack exactly while thread_info is.
    if (!g.thread_info_on_stack) return;
    g.preempt_count_in_thread_info = *g.thread_info_on_stack;
    g.preempt_count_reason = fmt::format("{} keeps preempt_count in thread_info", pc->family);
    return;
  }
  VersionRelation rel = version_relation(k, pc->since);
  if (rel == VersionRelation::unknown) return;
  g.preempt_count_in_thread_info = rel == VersionRelation::before;
  g.preempt_count_reason =
      *g.preempt_count_in_thread_info
          ? fmt::format("{} keeps preempt_count in thread_info before {}", pc->family, pc->since)
          : fmt::format("{} keeps preempt_count in a per-CPU variable since {}, not on the stack", pc->family, pc->since);
}

}  // namespace

VersionRelation version_relation(const RunningKernel& k, std::string_view upstream) {
  if (!k.release.empty()) {
    std::string base = classify_kernel_release(k.release).base;
    if (!base.empty())
      return compare_upstream_versions(base, upstream) < 0 ? VersionRelation::before : VersionRelation::since;
  }
  if (!k.before.empty() && compare_upstream_versions(k.before, upstream) <= 0) return VersionRelation::before;
  if (!k.since.empty() && compare_upstream_versions(k.since, upstream) >= 0) return VersionRelation::since;
  return VersionRelation::unknown;
}

StackGeometry stack_geometry(const RunningKernel& kernel) {
  StackGeometry g;
  thread_size(kernel, g);
  thread_info(kernel, g);
  preempt_count(kernel, g);
  return g;
}

std::span<const ThreadSizeChange> thread_size_changes() { return kThreadSizes; }

}  // namespace ktriage

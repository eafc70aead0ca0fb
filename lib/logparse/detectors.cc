// The detector table: one entry per crash-report header, read top to bottom.
//
// Title formats, skip lists and suppressions follow syzkaller's Linux
// conventions (pkg/report/linux.go) so that our titles match syzbot's; the
// entries marked `distro` are report families syzkaller does not title but
// distribution kernels print (2.6-era Badness, hard lockups, ...).
#include "logparse/detectors.h"

#include <algorithm>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <optional>

namespace ktriage::logparse {
namespace {

// ---------------------------------------------------------------------------
// Table notation. Patterns are RE2 with placeholders (see compile_pattern);
// "<trace>" in a stack part list means "parse a call trace from here",
// "<rip>" the faulting-IP line of any architecture, "<calltrace>" the line
// that opens a call trace. Formats refer to captures and frames as {1}, {2}.

constexpr std::string_view kTrace = "<trace>";
constexpr std::string_view kRip = "<rip>";
constexpr std::string_view kCallTrace = "<calltrace>";

constexpr std::string_view kRipPattern =
    R"((?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\)))";
constexpr std::string_view kCallTracePattern = R"((?:Call (?:T|t)race:)|(?:Backtrace:))";

struct S {
  std::vector<std::string_view> parts;
  std::vector<std::string_view> parts2;
  std::vector<std::string_view> skip;
  FrameChooser chooser = FrameChooser::first;
};

struct F {
  std::string_view title;
  std::string_view report;
  std::string_view fmt;
  std::vector<std::string_view> alt;
  std::optional<S> stack;
  bool no_stack_trace = false;
  bool corrupted = false;
};

struct D {
  std::string_view header;
  std::vector<F> formats;
  std::vector<std::string_view> suppress;
  std::string_view continues_report;
  bool own_report_inside = false;
  bool syzkaller = true;
  std::vector<std::string_view> absorbs = {};
};

// RIP line, then the call trace: the usual oops.
S fault_stack(std::vector<std::string_view> skip = {}) {
  return S{{kRip, kCallTrace, kTrace}, {}, std::move(skip)};
}
// Call trace only.
S trace_stack(std::vector<std::string_view> skip = {}) {
  return S{{kCallTrace, kTrace}, {}, std::move(skip)};
}
// WARNINGs trap: the stack starts at the RIP (x86) or "--- interrupt:" (ppc)
// line on new kernels; old kernels just print a call trace.
S warning_stack(std::vector<std::string_view> skip = {}) {
  return S{{"<warnrip>", kTrace}, {kCallTrace, kTrace}, std::move(skip)};
}

const std::vector<D>& table() {
  static const std::vector<D> t = {
      {"BUG:",
       {
           {.title = "BUG: KASAN:",
            .report = R"(BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+))",
            .fmt = "KASAN: {1} {3} in {4}",
            .alt = {"bad-access in {4}"},
            .stack = S{{R"(BUG: KASAN: (?:[a-z\-]+) in {{FUNC}})", kCallTrace, kTrace},
                       {},
                       {"kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_"}}},
           {.title = "BUG: KASAN:",
            .report = R"(BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}})",
            .fmt = "KASAN: invalid-free in {2}",
            .alt = {"invalid-free in {2}"},
            .stack = S{{R"(BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}})",
                        kCallTrace, kTrace},
                       {},
                       {"slab_", "kfree", "vunmap", "vfree"}}},
           {.title = R"(BUG: KASAN: ([a-z\-]+) on address(?:.*\n)+?.*(Read|Write) of size ([0-9]+))",
            .fmt = "KASAN: {1} {2}"},
           {.title = "BUG: KASAN: (.*)", .fmt = "KASAN: {1}", .corrupted = true},
           {.title = "BUG: KMSAN: kernel-usb-infoleak",
            .report = "BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}",
            .fmt = "KMSAN: kernel-usb-infoleak in {2}",
            .alt = {"KMSAN origin in {3}"},
            .stack = S{{kTrace, "(Local variable .* created at:|Uninit was created at:)", kTrace},
                       {},
                       {"alloc_skb", "usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg",
                        "usb_interrupt_msg", "usb_control_msg"}},
            .no_stack_trace = true},
           {.title = "BUG: KMSAN:",
            .report = R"(BUG: KMSAN: ([a-z\-]+) in {{FUNC}})",
            .fmt = "KMSAN: {1} in {3}",
            .alt = {"bad-access in {3}"},
            .stack = S{{kTrace, "(Local variable .* created at:|Uninit was created at:)", kTrace},
                       {},
                       {"alloc_skb", "netlink_ack", "netlink_rcv_skb", "_encrypt$",
                        "^(?:crypto|cipher|drbg|rng)_"}},
            .no_stack_trace = true},
           {.title = "BUG: KCSAN: data-race", .report = "BUG: KCSAN: (.*)", .fmt = "KCSAN: {1}",
            .no_stack_trace = true},
           {.title = "BUG: KCSAN:", .report = "BUG: KCSAN: (.*)", .fmt = "KCSAN: {1}",
            .no_stack_trace = true},
           {.title = "BUG: KFENCE: (use-after-free|out-of-bounds) (read|write) in {{FUNC}}",
            .fmt = "KFENCE: {1} {2} in {4}",
            .alt = {"bad-access in {4}"},
            .stack = S{{R"(BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}})", kTrace}}},
           {.title = "BUG: KFENCE: invalid free in {{FUNC}}",
            .fmt = "KFENCE: invalid free in {2}",
            .alt = {"invalid-free in {2}"},
            .stack = S{{R"(BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}})", kTrace}},
            .no_stack_trace = true},
           {.title = "BUG: KFENCE: invalid (read|write) in {{FUNC}}",
            .fmt = "KFENCE: invalid {1} in {3}",
            .alt = {"bad-access in {3}"},
            .stack = S{{R"(BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}})", kTrace}}},
           {.title = "BUG: KFENCE: memory corruption in {{FUNC}}",
            .fmt = "KFENCE: memory corruption in {2}",
            .stack = S{{R"(BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}})", kTrace}},
            .no_stack_trace = true},
           {.title = "BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)",
            .fmt = "BUG: unable to handle kernel paging request in {1}",
            .alt = {"bad-access in {1}"},
            .stack = fault_stack()},
           {.title = "BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)",
            .fmt = "BUG: unable to handle kernel NULL pointer dereference in {1}",
            .alt = {"bad-access in {1}"},
            .stack = fault_stack()},
           // The second half of this header is a separate printk and often lost.
           {.title = "BUG: (?:unable to handle kernel|Unable to handle kernel)",
            .fmt = "BUG: unable to handle kernel",
            .corrupted = true},
           {.title = "BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",
            .fmt = "BUG: {1} {2} in {3}",
            .stack = trace_stack({"spin_", "_lock", "_unlock"})},
           {.title = "BUG: soft lockup",
            .fmt = "BUG: soft lockup in {1}",
            .alt = {"stall in {1}"},
            .stack = S{{kRip, kCallTrace, kTrace}, {}, {}, FrameChooser::stall}},
           {.title = "BUG: .*still has locks held!",
            .report = R"(BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}})",
            .fmt = "BUG: still has locks held in {1}"},
           {.title = "BUG: scheduling while atomic",
            .fmt = "BUG: scheduling while atomic in {1}",
            .stack = trace_stack({"schedule"})},
           {.title = "BUG: lock held when returning to user space",
            .report = R"(BUG: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}})",
            .fmt = "BUG: lock held when returning to user space in {1}",
            .no_stack_trace = true},
           {.title = "BUG: bad unlock balance detected!",
            .fmt = "BUG: bad unlock balance in {1}",
            .stack = S{{"{{PC}} +{{FUNC}}", kCallTrace, kTrace}}},
           {.title = "BUG: held lock freed!",
            .report = R"(BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}})",
            .fmt = "BUG: held lock freed in {1}"},
           {.title = "BUG: Bad rss-counter state", .fmt = "BUG: Bad rss-counter state",
            .no_stack_trace = true},
           {.title = "BUG: non-zero nr_ptes on freeing mm", .fmt = "BUG: non-zero nr_ptes on freeing mm",
            .no_stack_trace = true},
           {.title = "BUG: non-zero nr_pmds on freeing mm", .fmt = "BUG: non-zero nr_pmds on freeing mm",
            .no_stack_trace = true},
           // Filesystem type and block device are left out: they only split buckets.
           {.title = "BUG: Dentry .* still in use",
            .report = R"(BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\])",
            .fmt = "BUG: Dentry still in use in {1}",
            .alt = {"BUG: Dentry still in use [{1} of {2}]"}},
           {.title = "BUG: Bad page (state|cache)",
            .fmt = "BUG: Bad page {1} in {2}",
            .stack = S{{"page last allocated", kTrace},
                       {},
                       {"(free|put|get|update|release)_page", "free_unref", "^_*folio",
                        "truncate_inode_pages", "page_frag_free", "alloc", "vmap", "page_owner"}}},
           {.title = "BUG: Bad page map", .fmt = "BUG: Bad page map"},
           {.title = "BUG: workqueue lockup", .fmt = "BUG: workqueue lockup", .no_stack_trace = true},
           {.title = "BUG: sleeping function called from invalid context at (.*)",
            .fmt = "BUG: sleeping function called from invalid context in {2}",
            .stack = trace_stack()},
           {.title = R"(BUG: using ([a-z_]+)\(\) in preemptible)",
            .fmt = "BUG: using {1}() in preemptible code in {2}",
            .stack = trace_stack({"dump_stack", "preemption", "preempt", "debug_", "processor_id",
                                  "this_cpu"})},
           {.title = "BUG: workqueue leaked lock or atomic",
            .report = R"(BUG: workqueue leaked lock or atomic(?:.*\n)+?.*last function: ([a-zA-Z0-9_]+)\n)",
            .fmt = "BUG: workqueue leaked lock or atomic in {1}",
            .no_stack_trace = true},
           {.title = "BUG: memory leak",
            .fmt = "memory leak in {1}",
            .stack = S{{R"(backtrace(?: \(crc [[:xdigit:]]*\))?:)", kTrace},
                       {},
                       {"kmemleak", "mmap", "kmem", "slab", "alloc", "create_object", "idr_get",
                        "list_lru_init", "kasprintf", "kvasprintf", "pcpu_create", "strdup",
                        "strndup", "memdup"}}},
           {.title = "BUG: .*stack guard page was hit at",
            .fmt = "BUG: stack guard page was hit in {1}",
            .alt = {"stack-overflow in {1}"},
            .stack = S{{kRip, kCallTrace, kTrace}, {}, {}, FrameChooser::stall}},
           // arm/arm64 print this where amd64 prints a lockdep WARNING; same title.
           {.title = "BUG: Invalid wait context",
            .fmt = "WARNING: locking bug in {1}",
            .stack = trace_stack({"lock_sock", "release_sock"})},
           {.title = R"(BUG:[[:space:]]*(?:\n|$))", .fmt = "BUG: corrupted", .corrupted = true},
       },
       {"ODEBUG:", "Boot_DEBUG:", "xlog_status:", "DEBUG:", "BUG: no syscalls can create resource"}},

      {"WARNING:",
       {
           {.title = R"(WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check|at))",
            .fmt = "WARNING: ODEBUG bug in {1}",
            .stack = warning_stack({"debug_", "rcu", "hrtimer_", "timer_", "work_", "percpu_",
                                    "vunmap", "vfree", "__free_", "debug_check", "kobject_"})},
           {.title = R"(WARNING: .*mm/usercopy\.c.* (?:usercopy_warn|at))",
            .fmt = "WARNING: bad usercopy in {1}",
            .stack = warning_stack({"usercopy", "__check"})},
           {.title = R"(WARNING: .*lib/kobject\.c.* (?:kobject_|at))",
            .fmt = "WARNING: kobject bug in {1}",
            .stack = warning_stack({"kobject_"})},
           {.title = R"(WARNING: .*fs/proc/generic\.c.* (?:proc_register|at))",
            .fmt = "WARNING: proc registration bug in {1}",
            .stack = warning_stack({"proc_"})},
           {.title = R"(WARNING: .*lib/refcount\.c.* (?:refcount_|at))",
            .fmt = "WARNING: refcount bug in {1}",
            .stack = warning_stack({"refcount", "kobject_"})},
           {.title = R"(WARNING: .*kernel/locking/lockdep\.c.*lock_)",
            .fmt = "WARNING: locking bug in {1}",
            .stack = warning_stack({"lock_sock", "release_sock"})},
           {.title = "WARNING: .*still has locks held!",
            .report = R"(WARNING: .*still has locks held!(?:.*\n)+?.*at: {{FUNC}})",
            .fmt = "WARNING: still has locks held in {1}"},
           {.title = "WARNING: Nested lock was not taken",
            .fmt = "WARNING: nested lock was not taken in {1}",
            .stack = warning_stack()},
           {.title = "WARNING: lock held when returning to user space",
            .report = R"(WARNING: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}})",
            .fmt = "WARNING: lock held when returning to user space in {1}",
            .no_stack_trace = true},
           {.title = R"(WARNING: .*mm/.*\.c.* k?.?malloc)",
            .fmt = "WARNING: kmalloc bug in {1}",
            .stack = warning_stack({"kmalloc", "krealloc", "slab", "kmem"})},
           {.title = "WARNING: .*mm/vmalloc.c.*__vmalloc_node",
            .fmt = "WARNING: zero-size vmalloc in {1}",
            .stack = warning_stack()},
           {.title = "WARNING: .* usb_submit_urb",
            .fmt = "WARNING in {1}/usb_submit_urb",
            .stack = warning_stack({"usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg",
                                    "usb_interrupt_msg", "usb_control_msg"})},
           {.title = R"(WARNING: {{SRC}} at 0x\d+, CPU#\d+)", .fmt = "WARNING in {2}",
            .stack = warning_stack()},
           {.title = "WARNING: .* at {{SRC}} {{FUNC}}", .fmt = "WARNING in {3}", .stack = warning_stack()},
           {.title = "WARNING: {{SRC}} at {{FUNC}}", .fmt = "WARNING in {3}", .stack = warning_stack()},
           {.title = R"(WARNING: \[.*\] {{SRC}} at {{FUNC}}.*)", .fmt = "WARNING in {3}",
            .stack = warning_stack()},
           {.title = "WARNING: possible circular locking dependency detected",
            .report = R"(WARNING: possible circular locking dependency detected(?:.*\n)+?.*is trying to acquire lock)",
            .fmt = "possible deadlock in {1}",
            .stack = S{{"at: (?:{{PC}} +)?{{FUNC}}", "at: (?:{{PC}} +)?{{FUNC}}", kTrace},
                       {},
                       {"process_one_work", "flush_workqueue", "drain_workqueue",
                        "destroy_workqueue"}}},
           {.title = "WARNING: possible irq lock inversion dependency detected",
            .report = R"(WARNING: possible irq lock inversion dependency detected(?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}})",
            .fmt = "possible deadlock in {1}"},
           {.title = "WARNING: .*-safe -> .*-unsafe lock order detected",
            .fmt = "possible deadlock in {1}",
            .stack = S{{"which became (?:.*) at:", kTrace}}},
           {.title = "WARNING: possible recursive locking detected",
            .report = R"(WARNING: possible recursive locking detected(?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}})",
            .fmt = "possible deadlock in {1}"},
           {.title = "WARNING: inconsistent lock state",
            .report = R"(WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}})",
            .fmt = "inconsistent lock state in {2}",
            .stack = trace_stack()},
           {.title = "WARNING: suspicious RCU usage",
            .report = R"(WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}})",
            .fmt = "WARNING: suspicious RCU usage in {2}",
            .stack = trace_stack({"rcu", "kmem", "slab"})},
           {.title = "WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value",
            .fmt = "WARNING: kernel stack regs has bad '{1}' value",
            .no_stack_trace = true},
           {.title = "WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value",
            .fmt = "WARNING: kernel stack frame pointer has bad value",
            .no_stack_trace = true},
           {.title = "WARNING: bad unlock balance detected!",
            .fmt = "WARNING: bad unlock balance in {1}",
            .stack = S{{"{{PC}} +{{FUNC}}", kCallTrace, kTrace}}},
           {.title = "WARNING: held lock freed!",
            .report = R"(WARNING: held lock freed!(?:.*\n)+?.*at:(?: {{PC}})? +{{FUNC}})",
            .fmt = "WARNING: held lock freed in {1}"},
           {.title = "WARNING: kernel stack regs .* has bad 'bp' value",
            .fmt = "WARNING: kernel stack regs has bad value",
            .no_stack_trace = true},
           {.title = "WARNING: kernel stack frame pointer .* has bad value",
            .fmt = "WARNING: kernel stack regs has bad value",
            .no_stack_trace = true},
           {.title = R"(WARNING:[[:space:]]*(?:\n|$))", .fmt = "WARNING: corrupted", .corrupted = true},
       },
       {"WARNING: /etc/ssh/moduli does not exist, using fixed modulus",
        "WARNING: workqueue cpumask: online intersect > possible intersect",
        "WARNING: [Tt]he mand mount option",
        R"(WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1)",
        "WARNING: Unprivileged eBPF is enabled with eIBRS",
        R"(WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size (\((?:\d+)x(?:\d+) vs\. (?:\d+)x(?:\d+)\)))",
        "WARNING: See https.* for mitigation options.", "WARNING: kernel not compiled with CPU_SRSO",
        R"(EXT4-[Ff][Ss](?: \(.*\))?:)",
        "(?i)warning: .* uses (deprecated v2 capabilities|wireless extensions)",
        R"(XFS \(\w+\): WARNING)"}},

      {"INFO:",
       {
           {.title = "INFO: possible circular locking dependency detected",
            .report = R"(INFO: possible circular locking dependency detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}})",
            .fmt = "possible deadlock in {1}"},
           {.title = "INFO: possible irq lock inversion dependency detected",
            .report = R"(INFO: possible irq lock inversion dependency detected \](?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}})",
            .fmt = "possible deadlock in {1}"},
           {.title = "INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
            .report = R"(INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected \](?:.*\n)+?.*is trying to acquire(?:.*\n)+?.*at: {{PC}} +{{FUNC}})",
            .fmt = "possible deadlock in {1}"},
           {.title = "INFO: possible recursive locking detected",
            .report = R"(INFO: possible recursive locking detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}})",
            .fmt = "possible deadlock in {1}"},
           {.title = "INFO: inconsistent lock state",
            .report = R"(INFO: inconsistent lock state \](?:.*\n)+?.*takes(?:.*\n)+?.*at: {{PC}} +{{FUNC}})",
            .fmt = "inconsistent lock state in {1}"},
           {.title = "INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall",
            .fmt = "INFO: rcu detected stall in {1}",
            .alt = {"stall in {1}"},
            .stack = S{{"apic_timer_interrupt", kRip, kTrace},
                       {"(?:apic_timer_interrupt|Exception stack|el1h_64_irq)", kTrace},
                       {"apic_timer_interrupt", "rcu"},
                       FrameChooser::stall}},
           {.title = "INFO: trying to register non-static key",
            .fmt = "INFO: trying to register non-static key in {1}",
            .stack = trace_stack({"stack", "lock", "IRQ"})},
           {.title = "INFO: suspicious RCU usage",
            .report = R"(INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}})",
            .fmt = "INFO: suspicious RCU usage in {2}",
            .stack = trace_stack({"rcu", "kmem", "slab"})},
           {.title = "INFO: task {{TASK}} blocked (?:in I/O wait )?for more than [0-9]+ seconds",
            .fmt = "INFO: task hung in {1}",
            .alt = {"hang in {1}"},
            .stack = S{{kCallTrace, kTrace}, {}, {}, FrameChooser::hung_task}},
           {.title = "INFO: task {{TASK}} can't die for more than .* seconds",
            .fmt = "INFO: task can't die in {1}",
            .alt = {"hang in {1}"},
            .stack = trace_stack({"schedule"})},
           // What is left of a corrupted old-style KASAN report.
           {.title = "INFO: (Freed|Allocated) in (.*)", .fmt = "INFO: {1} in {2}", .corrupted = true},
           {.title = R"(INFO:[[:space:]]*(?:\n|$))", .fmt = "INFO: corrupted", .corrupted = true},
       },
       {"INFO: lockdep is turned off", "INFO: Stall ended before state dump start",
        "INFO: NMI handler", "INFO: recovery required on readonly filesystem",
        "(handler|interrupt).*took too long", "INFO: sys_.* is not present in /proc/kallsyms",
        "INFO: no syscalls can create resource", "rmt_storage:INFO:", "_INFO:"}},

      {"Unable to handle kernel",
       {{.title = "Unable to handle kernel (paging request|NULL pointer dereference|access to user memory)",
         .fmt = "BUG: unable to handle kernel {1} in {2}",
         .alt = {"bad-access in {2}"},
         .stack = fault_stack()}}},

      {"general protection fault",
       {{.title = "general protection fault.*:",
         .fmt = "general protection fault in {1}",
         .alt = {"bad-access in {1}"},
         .stack = fault_stack()}},
       {R"(general protection fault .* error:\d+ in )"}},

      {"stack segment: ",
       {{.title = "stack segment: ", .fmt = "stack segment fault in {1}", .stack = fault_stack()}}},

      {"Kernel panic",
       {
           // Stack corruption: the kernel may fail to name the function or unwind.
           {.title = "Kernel panic - not syncing: stack-protector:",
            .report = "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}",
            .fmt = "kernel panic: stack is corrupted in {1}",
            .no_stack_trace = true},
           {.title = "Kernel panic - not syncing: stack-protector:",
            .report = "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+",
            .fmt = "kernel panic: stack is corrupted in {1}",
            .stack = trace_stack({"stack_chk"})},
           {.title = "Kernel panic - not syncing: corrupted stack end",
            .report = "Kernel panic - not syncing: corrupted stack end detected inside scheduler",
            .fmt = "kernel panic: corrupted stack end in {1}",
            .alt = {"stack-overflow in {1}"},
            .stack = S{{kCallTrace, kTrace}, {}, {"schedule", "retint_kernel"}, FrameChooser::stall}},
           {.title = "Kernel panic - not syncing: kernel stack overflow",
            .fmt = "kernel stack overflow in {1}",
            .alt = {"stack-overflow in {1}"},
            .stack = S{{kCallTrace, kTrace}, {}, {"bad_stack"}, FrameChooser::stall}},
           {.title = "Kernel panic - not syncing: Attempted to kill init!",
            .fmt = "kernel panic: Attempted to kill init!"},
           {.title = "Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+",
            .fmt = "kernel panic: Couldn't open N_TTY ldisc"},
           // These follow another report: seeing them first means its header was lost.
           {.title = "Kernel panic - not syncing: Fatal exception", .fmt = "kernel panic: Fatal exception",
            .corrupted = true},
           {.title = "Kernel panic - not syncing: panic_on_warn set", .fmt = "kernel panic: panic_on_warn set",
            .corrupted = true},
           {.title = "Kernel panic - not syncing: hung_task: blocked tasks",
            .fmt = "kernel panic: hung_task: blocked tasks",
            .corrupted = true},
           {.title = "Kernel panic - not syncing: (.*)", .fmt = "kernel panic: {1}"},
       },
       {},
       "Kernel panic - not syncing",
       true},

      {"PANIC: double fault",
       {{.title = "PANIC: double fault", .fmt = "PANIC: double fault in {1}", .stack = S{{kRip}}}},
       {},
       "PANIC: double fault"},

      {"rust_kernel: panicked",
       {{.title = "rust_kernel: panicked",
         .report = R"(rust_kernel: panicked at [^\n]*?\n(.+?)\n)",
         .fmt = "{1} in {2}",
         .stack = trace_stack({R"(__rustc::rust_begin_unwind)"})}}},

      {"kernel BUG",
       {
           {.title = "kernel BUG at mm/usercopy.c", .fmt = "BUG: bad usercopy in {1}",
            .stack = trace_stack({"usercopy", "__check"})},
           {.title = "kernel BUG at lib/list_debug.c", .fmt = "BUG: corrupted list in {1}",
            .alt = {"bad-access in {1}"}, .stack = trace_stack()},
           // skb helpers BUG_ON for their callers' mistakes.
           {.title = "kernel BUG at (.*)", .fmt = "kernel BUG in {2}", .stack = fault_stack({"^skb_"})},
       }},

      {"Kernel BUG", {{.title = "Kernel BUG (.*)", .fmt = "kernel BUG {1}"}}},

      {"BUG kmalloc-",
       {{.title = "BUG kmalloc-.*: Object already free", .fmt = "BUG: Object already free"}},
       {}, "", false, true, {"INFO:"}},

      {"divide error:", {{.title = "divide error: ", .fmt = "divide error in {1}", .stack = S{{kRip}}}}},
      // Misspelt by some kernels (x86/entry IDTENTRY conversion).
      {"divide_error:", {{.title = "divide_error: ", .fmt = "divide error in {1}", .stack = S{{kRip}}}}},

      {"invalid opcode:",
       {{.title = "invalid opcode: ", .fmt = "invalid opcode in {1}", .stack = S{{kRip}}}},
       {},
       "invalid opcode: 0000"},

      {"int3:", {{.title = "int3: ", .fmt = "int3 in {1}", .stack = fault_stack()}}},

      {"UBSAN:",
       {
           {.title = "UBSAN:", .report = "UBSAN: Undefined behaviour in",
            .fmt = "UBSAN: undefined-behaviour in {1}", .stack = trace_stack({"ubsan", "overflow"})},
           {.title = "UBSAN: array-index-out-of-bounds in", .fmt = "UBSAN: array-index-out-of-bounds in {1}",
            .alt = {"bad-access in {1}"}, .stack = trace_stack({"ubsan", "overflow"})},
           {.title = "UBSAN:", .report = "UBSAN: (.*?) in", .fmt = "UBSAN: {1} in {2}",
            .stack = trace_stack({"ubsan", "overflow"})},
       }},

      {"Booting the kernel.",
       {{.title = "^Booting the kernel", .fmt = "unexpected kernel reboot", .no_stack_trace = true}},
       {"Parsing ELF|Decompressing Linux|Unknown parameter '"}},

      {"unregister_netdevice: waiting for",
       {{.title = "unregister_netdevice: waiting for (?:.*) to become free",
         .fmt = "unregister_netdevice: waiting for DEV to become free",
         .no_stack_trace = true}},
       {},
       "unregister_netdevice: waiting for"},

      {"VFS: Close: file count is 0",
       {{.title = "VFS: Close: file count is 0", .fmt = "VFS: Close: file count is zero (use-after-free)",
         .no_stack_trace = true}}},
      {"VFS: Busy inodes after unmount",
       {{.title = "VFS: Busy inodes after unmount", .fmt = "VFS: Busy inodes after unmount (use-after-free)",
         .no_stack_trace = true}}},

      // arm64 reports some faults as synchronous external aborts where arm
      // prints "Unable to handle kernel paging request": share the alt title.
      {"Internal error:",
       {{.title = "Internal error:", .fmt = "Internal error in {1}", .alt = {"bad-access in {1}"},
         .stack = fault_stack()}},
       {},
       "Internal error:"},
      {"Unhandled fault:",
       {{.title = "Unhandled fault:", .fmt = "Unhandled fault in {1}", .alt = {"bad-access in {1}"},
         .stack = fault_stack()}}},
      {"Alignment trap:",
       {{.title = "Alignment trap:", .fmt = "Alignment trap in {1}", .stack = fault_stack()}}},

      {"trusty: panic",
       {
           {.title = "trusty: panic.* ASSERT FAILED",
            .report = R"(trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (.+))",
            .fmt = "trusty: ASSERT FAILED: {1}", .no_stack_trace = true},
           {.title = "trusty: panic.* ASSERT FAILED.*: *(.*)", .fmt = "trusty: ASSERT FAILED: {1}",
            .corrupted = true},
           {.title = "trusty: panic", .report = R"(trusty: panic \(.*?\): (.+))", .fmt = "trusty: panic: {1}",
            .no_stack_trace = true},
       }},

      {"fatal error:",
       {{.title = "fatal error:", .fmt = "go runtime error", .no_stack_trace = true}},
       {"ALSA", "fatal error: cannot create timer"}},

      // Printed by syzkaller's own executor.
      {"SYZFAIL:", {{.title = "SYZFAIL:(.*)", .fmt = "SYZFAIL:{1}", .no_stack_trace = true}}},
      {"SYZFATAL:",
       {{.title = "SYZFATAL:(.*)()", .fmt = "SYZFATAL:{1}", .alt = {"SYZFATAL{2}"}, .no_stack_trace = true}}},
      {"panic:",
       {
           {.title = "panic: Sentry detected .* stuck task", .fmt = "panic: Sentry detected stuck tasks",
            .no_stack_trace = true},
           {.title = "panic:(.*)", .fmt = "panic:{1}", .no_stack_trace = true},
       },
       {"_panic:", "xlog_status:", R"(ddb\.onpanic:)", "evtlog_status:"}},

      // ---- distro-era families syzkaller does not title --------------------
      {"Badness at",
       {{.title = "Badness at", .fmt = "WARNING in {1}", .stack = warning_stack()}},
       {}, "", false, false},
      {"double fault: ",
       {{.title = "double fault: ", .fmt = "PANIC: double fault in {1}", .stack = S{{kRip}}}},
       {"PANIC: double fault"}, "", false, false},
      {"Watchdog detected hard LOCKUP",
       {{.title = "Watchdog detected hard LOCKUP", .fmt = "BUG: hard lockup in {1}",
         .stack = S{{kRip, kCallTrace, kTrace}, {}, {}, FrameChooser::stall}}},
       {}, "", false, false},
      {"Thread overran stack", {}, {}, "", false, false},
      {"RTNL: assertion failed", {}, {}, "", false, false},
      {"page allocation failure", {}, {}, "", false, false},
      {"nobody cared", {}, {}, "", false, false},
      {"sysctl table check failed", {}, {}, "", false, false},
  };
  return t;
}

std::string expand_placeholders(std::string_view pattern) {
  static const std::pair<std::string_view, std::string_view> kPlaceholders[] = {
      {"{{ADDR}}", "0x[0-9a-f]+"},
      {"{{PC}}", R"(\[\<?(?:0x)?[0-9a-f]+\>?\])"},
      {"{{FUNC}}", R"(([a-zA-Z0-9_]+)(?:\.|\+))"},
      {"{{SRC}}", R"(([a-zA-Z0-9-_/.]+\.[a-z]+:[0-9]+))"},
      {"{{TASK}}", R"([\s\S]{0,100}?)"},
  };
  std::string out(pattern);
  for (const auto& [name, re] : kPlaceholders) {
    for (size_t pos = out.find(name); pos != std::string::npos; pos = out.find(name, pos + re.size()))
      out.replace(pos, name.size(), re);
  }
  return out;
}

// Stack-part patterns shared by many formats.
const LazyRE2* shared_part(std::string_view name) {
  auto with_required = [](std::string_view pattern, std::vector<std::string> required) {
    LazyRE2 re(pattern);
    re.set_required(std::move(required));
    return re;
  };
  // "NIP" contains "IP".
  static const LazyRE2 rip = with_required(kRipPattern, {"IP", "pc ", "PC is at"});
  static const LazyRE2 call_trace = with_required(kCallTracePattern, {"Call ", "Backtrace:"});
  static const LazyRE2 warn_rip =
      with_required(std::string("(?:").append(kRipPattern).append("|--- interrupt: [0-9]+ at {{FUNC}})"),
                    {"IP", "pc ", "PC is at", "--- interrupt: "});
  if (name == kTrace) return nullptr;
  if (name == kRip) return &rip;
  if (name == kCallTrace) return &call_trace;
  if (name == "<warnrip>") return &warn_rip;
  return nullptr;
}

std::vector<const LazyRE2*> make_parts(const std::vector<std::string_view>& parts,
                                       std::vector<std::unique_ptr<LazyRE2>>& owned) {
  std::vector<const LazyRE2*> out;
  for (std::string_view p : parts) {
    if (p == kTrace || p == kRip || p == kCallTrace || p == "<warnrip>") {
      out.push_back(shared_part(p));
      continue;
    }
    owned.push_back(std::make_unique<LazyRE2>(p));
    out.push_back(owned.back().get());
  }
  return out;
}

// Frames never worth blaming: sanitizer/reporting machinery, allocators,
// locking primitives, string and copy helpers, generic device plumbing.
const std::vector<std::string_view>& common_skips() {
  static const std::vector<std::string_view> v = {
      "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint",
      "check_memory_region", "check_heap_object", "check_object", "read_word_at_a_time",
      "(read|write)_once_.*nocheck", "print_address_description", "panic", "invalid_op",
      "report_bug", "fixup_bug", "print_report", "print_usage_bug", "do_error", "_trap$|do_trap",
      "show_stack", "dump_stack", "walk_stack", "dump_backtrace", "warn_slowpath", "warn_alloc",
      "warn_bogus", "__warn", "alloc_page", "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache",
      "allocate_slab", "__alloc_frozen_pages_noprof", "folio_(?:alloc|unlock)",
      "filemap_alloc_folio", "__filemap_get_folio", "find_or_create_page", "do_read_cache_folio",
      "read_cache_page", "pagecache_get_page", "grab_cache_page_write_begin", "slab_",
      "debug_object", "timer_is_static_object", "work_is_static_object", "__might_fault",
      "print_unlock", "imbalance_bug", "lockdep", "bh_enable", "bh_disable", "perf_trace",
      "lock_acquire", "lock_release", "lock_class", "mark_lock", "(reacquire|mark)_held_locks",
      "raw_spin_rq", "spin_lock", "spin_trylock", "spin_unlock", "read_lock", "read_trylock",
      "write_lock", "write_trylock", "read_unlock", "write_unlock", "^down$", "down_read",
      "down_write", "down_read_trylock", "down_write_trylock", "down_trylock", "up_read",
      "up_write", "^mutex_", "^__mutex_", "^rt_mutex_", "owner_on_cpu", "osq_lock", "osq_unlock",
      "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)",
      "(set|clear|change|test)_bit", "__wake_up", "^refcount_", "^kref_", "ref_tracker",
      "seqprop_assert", "memcpy", "memcmp", "memset", "memchr", "memmove", "memdup", "strcmp",
      "strncmp", "strcpy", "strlcpy", "strncpy", "strscpy", "strlen", "strstr", "strnstr",
      "strnlen", "strchr", "strdup", "strndup", "copy_to_user", "copy_from_user", "copy_to_iter",
      "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "copy_folio_to_iter",
      "^copyin$", "^copyout$", "put_user", "get_user", "might_fault", "might_sleep", "list_add",
      "list_del", "list_replace", "list_move", "list_splice", "^rb_", "^__rb_",
      "_indirect_thunk_", "string", "pointer", "snprintf", "scnprintf", "kasprintf", "kvasprintf",
      "printk", "va_format", "dev_info", "dev_notice", "dev_warn", "dev_err", "dev_alert",
      "dev_crit", "dev_emerg", "program_check_exception", "program_check_common", "del_timer",
      "flush_work", "__cancel_work_timer", "cancel_work_sync", "try_to_grab_pending",
      "flush_workqueue", "drain_workqueue", "destroy_workqueue", "queue_work", "finish_wait",
      "kthread_stop", "kobject_", "add_uevent_var", "get_device_parent", "device_add",
      "device_del", "device_unregister", "device_destroy", "device_release", "devres_release_all",
      "hwrng_unregister", "i2c_del_adapter", "__unregister_client", "device_for_each_child",
      "rollback_registered", "unregister_netdev", "sysfs_remove", "device_remove_file",
      "tty_unregister_device", "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs",
      "usb_control_msg", "usb_hcd_submit_urb", "usb_submit_urb", "^complete$",
      "wait_for_completion", "^kv?free$", "kfree_skb", "readb$", "readw$", "readl$", "readq$",
      "writeb$", "writew$", "writel$", "writeq$", "logic_in", "logic_out", R"(^crc\d+)",
      "crc_itu_t", "__might_resched", "assertfail", "^iput$", "^iput_final$", "^ihold$",
      "hex_dump_to_buffer", "print_hex_dump", "^klist_", "(trace|lockdep)_(hard|soft)irq",
      "^(un)?lock_page", "stack_trace_consume_entry", "arch_stack_walk", "stack_trace_save",
      "insert_work", "__queue_delayed_work", "queue_delayed_work_on", "ida_free",
      "do_(kernel|translation)_fault", "do_mem_abort", "el1_abort", "el1h_64_sync(?:_handler)?",
      "print_tainted", "xas_(?:start|load|find)", "find_lock_entries",
      "truncate_inode_pages_range", "__phys_addr", "__fortify_report", "cleanup_srcu_struct",
      "rhashtable_lookup", "extract_(user|iter)_to_sg", "drop_nlink", "^get_taint$",
      "^put_device$", "lock_timer_base", "__timer_delete_sync", "sk_stop_timer_sync",
      "__mod_timer", "fast_dput", "dput", "mark_buffer_dirty",
  };
  return v;
}

// The literal text a pattern starts with (up to its first operator), so
// matches can be searched for only where that text occurs. A literal
// followed by a quantifier loses its last character.
std::string leading_literal(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (std::strchr("\\.^$|?*+()[]{}", c)) {
      if ((c == '?' || c == '*' || c == '{') && !out.empty()) out.pop_back();
      break;
    }
    out.push_back(c);
  }
  return out;
}

// One alternation of all common skips: a frame is skipped when it or the
// format's own skip pattern matches (the same as one joined pattern).
const LazyRE2& common_skip() {
  static const LazyRE2 re = [] {
    std::string skip;
    for (auto s : common_skips()) {
      if (!skip.empty()) skip.push_back('|');
      skip.append(s);
    }
    return LazyRE2(skip, LazyRE2::Syntax::plain);
  }();
  return re;
}

// The table in its runtime shape. Building it copies strings and compiles
// nothing: every pattern is a LazyRE2.
const std::vector<Detector>& built_table() {
  static const std::vector<Detector>* detectors = [] {
    auto* out = new std::vector<Detector>;
    for (const D& d : table()) {
      Detector det;
      det.header = std::string(d.header);
      for (auto s : d.suppress) det.suppress.emplace_back(s);
      det.continues_report = std::string(d.continues_report);
      det.own_report_inside = d.own_report_inside;
      det.syzkaller = d.syzkaller;
      for (auto a : d.absorbs) det.absorbs.emplace_back(a);
      for (const F& f : d.formats) {
        TitleFormat tf;
        tf.title = LazyRE2(f.title);
        tf.title_literal = leading_literal(f.title);
        if (!f.report.empty()) {
          tf.report = LazyRE2(f.report);
          tf.report_literal = leading_literal(f.report);
        }
        tf.fmt = std::string(f.fmt);
        for (auto a : f.alt) tf.alt.emplace_back(a);
        tf.no_stack_trace = f.no_stack_trace;
        tf.corrupted = f.corrupted;
        if (f.stack) {
          auto spec = std::make_unique<StackSpec>();
          spec->parts = make_parts(f.stack->parts, spec->owned);
          spec->parts2 = make_parts(f.stack->parts2, spec->owned);
          spec->chooser = f.stack->chooser;
          spec->common_skip = &common_skip();
          std::string skip;
          for (auto s : f.stack->skip) {
            if (!skip.empty()) skip.push_back('|');
            skip.append(s);
          }
          if (!skip.empty()) spec->skip = LazyRE2(skip, LazyRE2::Syntax::plain);
          tf.stack = std::move(spec);
        }
        det.formats.push_back(std::move(tf));
      }
      out->push_back(std::move(det));
    }
    return out;
  }();
  return *detectors;
}

}  // namespace

std::unique_ptr<RE2> compile_pattern(std::string_view pattern) {
  RE2::Options opts(RE2::Latin1);
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(expand_placeholders(pattern), opts);
  if (!re->ok()) {
    // A bad table entry must not take the parser down: it simply never matches.
    re = std::make_unique<RE2>("$^never", opts);
  }
  return re;
}

LazyRE2::LazyRE2(std::string_view source, Syntax syntax) : state_(std::make_unique<State>()) {
  state_->source = std::string(source);
  state_->syntax = syntax;
  // Every match holds the leading literal of one top-level alternative.
  // Only for plain alternations: '(' or '[' may hide a '|', '\\' escape one.
  if (source.find_first_of("([\\") == std::string_view::npos) {
    std::vector<std::string> leads;
    for (size_t b = 0;;) {
      size_t e = source.find('|', b);
      std::string lead = leading_literal(source.substr(b, e == std::string_view::npos ? e : e - b));
      if (lead.empty()) return;  // an alternative without one: no hint at all
      leads.push_back(std::move(lead));
      if (e == std::string_view::npos) break;
      b = e + 1;
    }
    set_required(std::move(leads));
  } else if (source.find('|') == std::string_view::npos) {
    std::string lead = leading_literal(source);
    if (!lead.empty()) set_required({std::move(lead)});
  }
}

void LazyRE2::set_required(std::vector<std::string> texts) {
  state_->required = std::move(texts);
  state_->required_bytes.clear();
  for (const std::string& t : state_->required) state_->required_bytes.emplace_back(t);
}

bool LazyRE2::may_match(std::string_view line) const {
  if (state_->required.empty()) return true;
  for (const std::string& t : state_->required)
    if (line.find(t) != std::string_view::npos) return true;
  return false;
}

bool LazyRE2::may_match(const ScannedLine& line) const {
  if (state_->required.empty()) return true;
  for (size_t k = 0; k < state_->required.size(); ++k)
    if (line.bytes().covers(state_->required_bytes[k]) && line.text().find(state_->required[k]) != std::string_view::npos)
      return true;
  return false;
}

const RE2& LazyRE2::get() const {
  std::call_once(state_->once, [s = state_.get()] {
    if (s->syntax == Syntax::placeholders) s->re = compile_pattern(s->source);
    else s->re = std::make_unique<RE2>(s->source, RE2::Latin1);
    s->done.store(true, std::memory_order_release);
  });
  return *state_->re;
}

const std::string& LazyRE2::source() const { return state_->source; }

bool LazyRE2::compiled() const { return state_ && state_->done.load(std::memory_order_acquire); }

bool StackSpec::skips(std::string_view frame) const {
  if (common_skip && RE2::PartialMatch(frame, **common_skip)) return true;
  return skip && RE2::PartialMatch(frame, *skip);
}

const std::vector<Detector>& detector_table() { return built_table(); }

const Detector* match_header(std::string_view line) {
  for (const Detector& d : detector_table()) {
    if (line.find(d.header) == std::string_view::npos) continue;
    bool suppressed = false;
    for (const auto& s : d.suppress)
      if (RE2::PartialMatch(line, *s)) {
        suppressed = true;
        break;
      }
    if (!suppressed) return &d;
  }
  return nullptr;
}

const StackGrammar& stack_grammar() {
  static const StackGrammar* g = [] {
    auto* out = new StackGrammar;
    // The last one is RISC-V: show_regs() dumps the stack without a heading.
    static constexpr std::string_view kStarts[] = {
        R"(Call (?:T|t)race)", "Allocated:", "Allocated by task [0-9]+:", "Freed:",
        "Freed by task [0-9]+:", R"([^k] backtrace(?: \(crc [[:xdigit:]]*\))?:)", "Backtrace:",
        "Uninit was stored to memory at",
        "status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}"};
    std::string any;
    for (std::string_view s : kStarts) {
      out->stack_start.push_back(compile_pattern(s));
      if (!any.empty()) any.push_back('|');
      any.append("(?:").append(s).append(")");
    }
    out->any_stack_start = compile_pattern(any);
    out->stack_start_literal = {"Call ", "Allocated", "Allocated by task ", "Freed", "Freed by task ",
                                " backtrace", "Backtrace:", "Uninit was stored to memory at", "status: "};
    out->riscv_stack_start = out->stack_start.back().get();
    out->corrupted_literal = "should_fail";
    out->frame.push_back(compile_pattern("^ *(?:{{PC}} ){0,2}{{FUNC}}"));
    // arm: "[<pc>] (func) from [<pc>] (caller+0x..)" names both frames.
    out->frame.push_back(
        compile_pattern(R"(^ *{{PC}} \(([a-zA-Z0-9_.]+)\) from {{PC}} \({{FUNC}})"));
    // Fault-injection stacks interleave with reports.
    out->corrupted_line.push_back(
        compile_pattern(R"(^( \[\<?(?:0x)?[0-9a-f]+\>?\])? should_fail(slab)?(\.[a-z0-9.]+)?\+0x)"));
    out->strip_prefixes = {"SYSC_",     "SyS_",    "sys_",       "__x64_",   "__ia32_",
                           "__arm64_",  "____sys_", "___sys_",   "__sys_",   "__se_",
                           "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_"};
    return out;
  }();
  return *g;
}

namespace {
bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// `{{PC}} ` at s[i] ("[<ffffffff81058e5d>] ", "[0x1f] "): its length, or 0.
// No backtracking is needed: none of '<', '>', ']' is a hex digit.
size_t pc_and_space(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '[') return 0;
  size_t j = i + 1;
  if (j < s.size() && s[j] == '<') ++j;
  if (j + 2 < s.size() && s[j] == '0' && s[j + 1] == 'x' && is_lower_hex(s[j + 2])) j += 2;
  size_t digits = j;
  while (j < s.size() && is_lower_hex(s[j])) ++j;
  if (j == digits) return 0;
  if (j < s.size() && s[j] == '>') ++j;
  if (j + 1 >= s.size() || s[j] != ']' || s[j + 1] != ' ') return 0;
  return j + 2 - i;
}
}  // namespace

FrameNames frame_names(std::string_view line) {
  FrameNames out;
  // `^ *(?:{{PC}} ){0,2}{{FUNC}}`: a function name can never start with
  // '[', so taking every PC that matches is the regex's only way through.
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  for (int k = 0; k < 2; ++k) {
    size_t n = pc_and_space(line, i);
    if (n == 0) break;
    i += n;
  }
  size_t begin = i;
  while (i < line.size() && is_word_char(line[i])) ++i;
  if (i > begin && i < line.size() && (line[i] == '.' || line[i] == '+')) {
    out.name[out.count++] = line.substr(begin, i - begin);
    return out;
  }
  if (line.find(") from [") == std::string_view::npos) return out;
  re2::StringPiece groups[3];
  const RE2& arm = *stack_grammar().frame[1];
  if (!arm.Match(line, 0, line.size(), RE2::ANCHOR_START, groups, 3)) return out;
  for (int k = 1; k <= 2; ++k) out.name[out.count++] = std::string_view(groups[k].data(), groups[k].size());
  return out;
}

CrashKind kind_for_report(std::string_view header, std::string_view text) {
  struct Rule {
    const char* pattern;
    CrashKind kind;
  };
  static const Rule rules[] = {
      {"Kernel panic - not syncing", CrashKind::panic},
      {"KASAN:", CrashKind::kasan},
      {"KMSAN:", CrashKind::kmsan},
      {"KCSAN:", CrashKind::kcsan},
      {"KFENCE:", CrashKind::kfence},
      {"UBSAN:", CrashKind::ubsan},
      {"memory leak", CrashKind::memory_leak},
      {"circular locking|recursive locking|inconsistent lock state|lock inversion|lock order detected|"
       "bad unlock balance|held lock freed|lock held when returning|still has locks held|"
       "suspicious RCU usage|suspicious rcu_dereference|Nested lock was not taken|"
       "register non-static key|Invalid wait context|lib/locking|kernel/locking/lockdep",
       CrashKind::lockdep},
      {"NULL pointer dereference|null-ptr-deref", CrashKind::null_deref},
      {"paging request|page fault for address|Unable to handle kernel data access|"
       "Unable to handle kernel access|unable to handle kernel",
       CrashKind::oops_paging},
      {"general protection fault|stack segment", CrashKind::gpf},
      {"lib/list_debug|list_add corruption|list_del corruption", CrashKind::list_corruption},
      {"soft lockup", CrashKind::soft_lockup},
      {"hard LOCKUP", CrashKind::hard_lockup},
      {"blocked for more than|can't die for more than", CrashKind::hung_task},
      {"rcu.*stall", CrashKind::rcu_stall},
      {"scheduling while atomic", CrashKind::scheduling_while_atomic},
      {"sleeping function called from invalid context", CrashKind::sleeping_in_atomic},
      {"Bad page (state|map|cache)", CrashKind::bad_page},
      {"double fault", CrashKind::double_fault},
      {"stack guard page|corrupted stack end|stack overflow|Thread overran stack", CrashKind::stack_overflow},
      {"stack-protector", CrashKind::stack_protector},
      {"divide error|divide_error", CrashKind::divide_error},
      {"invalid opcode", CrashKind::invalid_opcode},
      {"lib/refcount|refcount_t:", CrashKind::refcount},
      {"kernel BUG at|Kernel BUG", CrashKind::bug_at},
      {"WARNING:|Badness at", CrashKind::warning},
  };
  // Rules are tried in order: only those before the first match get compiled.
  static const auto* lazy_rules = [] {
    auto* v = new std::vector<std::pair<LazyRE2, CrashKind>>;
    for (const Rule& r : rules) v->emplace_back(LazyRE2(r.pattern), r.kind);
    return v;
  }();
  for (const auto& [re, kind] : *lazy_rules) {
    if (!re.may_match(header) || !RE2::PartialMatch(header, *re)) continue;
    // "BUG: unable to handle kernel" lost its second half: the next lines say which.
    if (kind == CrashKind::oops_paging && header.find("NULL") == std::string_view::npos &&
        header.find("paging") == std::string_view::npos &&
        text.substr(0, 512).find("NULL pointer") != std::string_view::npos)
      return CrashKind::null_deref;
    return kind;
  }
  return CrashKind::other;
}

// ---------------------------------------------------------------------------
// Literal prefilter.

namespace {
inline uint32_t load4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint32_t hash4(uint32_t v) { return (v * 2654435761u) >> 16; }

// Grams are hashed at every kStride-th position: a literal of kLong bytes or
// more fully holds one of them wherever it starts. Shorter literals all end
// in ':' ("BUG:", "WARNING:") and are checked at colons instead.
constexpr size_t kStride = 6;
constexpr size_t kLong = kStride + 3;

// How unlikely a 4-byte gram is in ordinary console text: capitals, digits
// and punctuation are rarer than lower-case words and spaces.
int gram_rarity(std::string_view g) {
  static constexpr std::string_view kCommon[] = {
      "ing ", "tion", " the", "able", "rror", "erne", "rnel", "kern", "nel ", "vice", "devi",
      "evic", "port", "read", "ount", "nter", " is ", " to ", "ion ", "ted ", "ting", "ble "};
  int score = 0;
  for (char c : g) {
    if (c >= 'a' && c <= 'z') score += 1;
    else if (c == ' ') score += 0;
    else score += 3;
  }
  for (std::string_view common : kCommon)
    if (g == common) score -= 10;
  return score;
}
}  // namespace

LiteralScanner::LiteralScanner() : bitmap_(1 << 10, 0) {
  auto add = [&](std::string_view text, Notice n, std::string_view confirm = {}) {
    Literal l{std::string(text), n, confirm.empty() ? LazyRE2() : LazyRE2(confirm)};
    literals_.push_back(std::move(l));
  };
  for (const Detector& d : detector_table()) add(d.header, Notice::header);
  for (auto s : {"vmalloc: allocation failure:", "FAULT_INJECTION: forcing a failure",
                 "FAULT_FLAG_ALLOW_RETRY missing"})
    add(s, Notice::cut);
  add("Kernel panic - not syncing", Notice::panic);
  for (auto s : {"Disabling lock debugging due to kernel taint", "Sending NMI from CPU", "---[ end ",
                 "** replaying previous printk message **",
                 "WARNING: possible circular locking dependency detected"})
    add(s, Notice::marker);
  add("serialport: VM disconnected.", Notice::hangup);
  add("Linux version ", Notice::reboot, "Linux version [0-9]+\\.[0-9]+");
  // Logs syzkaller does not report: the executor or sshd ran out of memory,
  // the executor could not start, Go runtime OOMs.
  add("panic: failed to start executor binary", Notice::suppress);
  add("panic: executor failed: pthread_create failed", Notice::suppress);
  add("panic: failed to create temp dir", Notice::suppress);
  add("fatal error: unexpected signal during runtime execution", Notice::suppress);
  add("signal SIGBUS: bus error", Notice::suppress);
  add("SYZFAIL: SIGBUS", Notice::suppress);
  add("Out of memory: Kill process", Notice::suppress, R"(Out of memory: Kill process .* \((syz-executor|sshd)\))");
  add("Killed process", Notice::suppress, R"(Killed process .* \((syz-executor|sshd)\))");
  add("lowmemorykiller: Killing '", Notice::suppress, "lowmemorykiller: Killing '(syz-executor|sshd)'");
  add("INIT: PANIC: segmentation violation!", Notice::suppress);
  add("*** stack smashing detected ***: terminated", Notice::suppress);
  add("fatal error: runtime: out of memory", Notice::suppress);
  add("fatal error: runtime: cannot allocate memory", Notice::suppress);
  add("fatal error: out of memory", Notice::suppress);
  add("fatal error: newosproc", Notice::suppress);
  add("panic:", Notice::suppress, "panic: .*cannot allocate memory");
  constexpr size_t kHashes = size_t{1} << 16;
  for (size_t i = 0; i < literals_.size(); ++i) {
    const std::string& t = literals_[i].text;
    if (t.size() < kLong) {
      // Short literals must end in ':' to be found at colons.
      if (t.empty() || t.back() != ':') literals_[i].text.push_back(':');
      short_.push_back(static_cast<uint16_t>(i));
      const std::string& st = literals_[i].text;
      if (st.size() >= 4) {
        uint32_t tail_hash = hash4(load4(st.data() + st.size() - 4)) & 1023;
        short_tail_bits_[tail_hash >> 6] |= uint64_t{1} << (tail_hash & 63);
      } else {
        short_any_tail_ = true;
      }
      continue;
    }
    // An occurrence holds a stride gram at offset r, r+kStride, ... for one
    // r below kStride; per r, index only the gram least likely in ordinary text.
    for (size_t r = 0; r < kStride; ++r) {
      size_t best_off = r;
      int best_score = -1;
      for (size_t off = r; off + 4 <= t.size(); off += kStride) {
        int score = gram_rarity(std::string_view(t).substr(off, 4));
        if (score > best_score) {
          best_score = score;
          best_off = off;
        }
      }
      uint32_t gram = load4(t.data() + best_off);
      uint32_t h = hash4(gram);
      bitmap_[h >> 6] |= uint64_t{1} << (h & 63);
      uses_.push_back({gram, static_cast<uint16_t>(i), static_cast<uint16_t>(best_off)});
      max_gram_offset_ = std::max(max_gram_offset_, best_off);
    }
  }
  // Group the uses by hash (stable: literal order within a bucket) and index
  // each bucket's range.
  std::stable_sort(uses_.begin(), uses_.end(),
                   [](const GramUse& a, const GramUse& b) { return hash4(a.gram) < hash4(b.gram); });
  bucket_start_.assign(kHashes + 1, 0);
  for (const GramUse& g : uses_) ++bucket_start_[hash4(g.gram) + 1];
  for (size_t h = 0; h < kHashes; ++h) bucket_start_[h + 1] += bucket_start_[h];
}

// First literal starting in [from, to) of `text`; literals may extend past `to`.
size_t LiteralScanner::find_in(std::string_view text, size_t from, size_t to) const {
  const char* p = text.data();
  const size_t n = text.size();
  size_t best = std::string_view::npos;
  // Grams at global positions that are multiples of kStride. An occurrence
  // starting at s is indexed by the gram at s + offset of one of its uses
  // (offset <= max_gram_offset_), so probes run that far past `to`.
  size_t first = from / kStride * kStride;
  // pos < stop  <=>  pos + 4 <= n && pos <= to + max_gram_offset_
  const size_t stop = n < 4 ? 0 : std::min(n - 3, to + max_gram_offset_ + 1);
  auto hit = [&](size_t pos) {
    uint32_t h = hash4(load4(p + pos));
    return (bitmap_[h >> 6] >> (h & 63)) & 1;
  };
  for (size_t pos = first; pos < stop; pos += kStride) {
    // Two grams per test while both are in range: nearly all miss.
    if (pos + kStride < stop && !(hit(pos) | hit(pos + kStride))) {
      pos += kStride;
      continue;
    }
    if (!hit(pos)) continue;
    uint32_t h = hash4(load4(p + pos));
    for (uint32_t u = bucket_start_[h]; u < bucket_start_[h + 1]; ++u) {
      const GramUse& g = uses_[u];
      if (pos < g.offset || g.gram != load4(p + pos)) continue;
      size_t start = pos - g.offset;
      if (start < from || start >= to || start >= best) continue;
      const std::string& t = literals_[g.literal].text;
      if (start + t.size() <= n && std::memcmp(p + start, t.data(), t.size()) == 0) best = start;
    }
  }
  // Short literals end at a colon: hash the 4 bytes before each colon
  // against their tails, and compare only on a hit (rare).
  auto try_colon = [&](size_t colon) {
    if (!short_any_tail_ && colon >= 3) {
      uint32_t h = hash4(load4(p + colon - 3)) & 1023;
      if (((short_tail_bits_[h >> 6] >> (h & 63)) & 1) == 0) return;
    }
    best = short_literal_ending_at(text, colon, from, to, best);
  };
  size_t end = std::min(n, to + 8);
  size_t i = from;
#ifdef __SSE2__
  // Colons are common in console text: find them 16 bytes at a time.
  const __m128i colon = _mm_set1_epi8(':');
  for (; i + 16 <= end; i += 16) {
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), colon)));
    while (mask) {
      try_colon(i + static_cast<size_t>(__builtin_ctz(mask)));
      mask &= mask - 1;
    }
  }
#endif
  for (; i < end; ++i)
    if (p[i] == ':') try_colon(i);
  return best;
}

// Out of line: the colon loop above stays in registers.
[[gnu::noinline]] size_t LiteralScanner::short_literal_ending_at(std::string_view text, size_t colon, size_t from,
                                                              size_t to, size_t best) const {
  for (uint16_t k : short_) {
    const std::string& t = literals_[k].text;
    if (colon + 1 < t.size()) continue;
    size_t start = colon + 1 - t.size();
    if (start < from || start >= to || start >= best) continue;
    if (std::memcmp(text.data() + start, t.data(), t.size()) == 0) best = start;
  }
  return best;
}

size_t LiteralScanner::find(std::string_view text) const {
  constexpr size_t kWindow = 16 * 1024;
  for (size_t from = 0; from < text.size(); from += kWindow) {
    size_t hit = find_in(text, from, std::min(text.size(), from + kWindow));
    if (hit != std::string_view::npos) return hit;
  }
  return std::string_view::npos;
}

// Called on every line inside a report, and nearly always false: reject
// with the two bitmaps alone, and run the full search only on a candidate.
bool LiteralScanner::any(std::string_view line) const {
  const char* p = line.data();
  const size_t n = line.size();
  bool candidate = false;
  for (size_t pos = 0; pos + 4 <= n && !candidate; pos += kStride) {
    uint32_t h = hash4(load4(p + pos));
    candidate = (bitmap_[h >> 6] >> (h & 63)) & 1;
  }
  auto tail_hit = [&](size_t colon) {
    if (short_any_tail_ || colon < 3) return true;
    uint32_t tail_hash = hash4(load4(p + colon - 3)) & 1023;
    return ((short_tail_bits_[tail_hash >> 6] >> (tail_hash & 63)) & 1) != 0;
  };
  size_t i = 0;
#ifdef __SSE2__
  const __m128i colon = _mm_set1_epi8(':');
  for (; i + 16 <= n && !candidate; i += 16) {
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), colon)));
    for (; mask && !candidate; mask &= mask - 1) candidate = tail_hit(i + static_cast<size_t>(__builtin_ctz(mask)));
  }
#endif
  for (; i < n && !candidate; ++i)
    if (p[i] == ':') candidate = tail_hit(i);
  return candidate && find(line) != std::string_view::npos;
}

unsigned LiteralScanner::notices(std::string_view line) const {
  unsigned out = 0;
  for (const Literal& l : literals_) {
    if (line.find(l.text) == std::string_view::npos) continue;
    if (l.confirm && !RE2::PartialMatch(line, *l.confirm)) continue;
    out |= 1u << static_cast<unsigned>(l.notice);
  }
  return out;
}

const LiteralScanner& literal_scanner() {
  static const LiteralScanner s;
  return s;
}

}  // namespace ktriage::logparse

// Crash signatures: what stays the same when the same bug crashes again on
// another machine (title, guilty frame, top frames, kind, module), with the
// reporting machinery's own frames left out.
#include <algorithm>
#include <array>

#include "ktriage/kb_index.h"

namespace ktriage {
namespace {

// Functions that print or route a report rather than take part in the bug
// (the list, refcount and debugobjects checkers included: the caller is the
// crash site).
// Sorted (binary search; checked at compile time).
constexpr std::array<std::string_view, 92> kReportingFrames = {
    "___might_sleep",
    "__asan_load1",
    "__asan_load2",
    "__asan_load4",
    "__asan_load8",
    "__asan_store1",
    "__asan_store2",
    "__asan_store4",
    "__asan_store8",
    "__bad_area_nosemaphore",
    "__die",
    "__die_body",
    "__dump_page",
    "__dump_stack",
    "__kasan_check_read",
    "__kasan_check_write",
    "__kasan_report",
    "__list_add_valid",
    "__list_add_valid_or_report",
    "__list_del_entry_valid",
    "__list_del_entry_valid_or_report",
    "__lock_acquire",
    "__might_fault",
    "__might_resched",
    "__might_sleep",
    "__refcount_add",
    "__refcount_dec",
    "__refcount_inc",
    "__refcount_sub_and_test",
    "__warn",
    "__warn_printk",
    "arch_stack_walk",
    "asm_exc_general_protection",
    "asm_exc_int3",
    "asm_exc_invalid_op",
    "asm_exc_page_fault",
    "bad_area_nosemaphore",
    "bad_page",
    "check_flush_dependency",
    "check_memory_region",
    "check_noncircular",
    "check_prev_add",
    "check_prevs_add",
    "debug_object_assert_init",
    "debug_print_object",
    "die",
    "die_addr",
    "do_error_trap",
    "do_int3",
    "do_invalid_op",
    "do_kern_addr_fault",
    "do_trap",
    "do_user_addr_fault",
    "dump_backtrace",
    "dump_page",
    "dump_stack",
    "dump_stack_lvl",
    "exc_general_protection",
    "exc_int3",
    "exc_invalid_op",
    "exc_page_fault",
    "fixup_exception",
    "handle_bug",
    "handle_page_fault",
    "invalid_op",
    "kasan_check_range",
    "kasan_report",
    "kasan_report_invalid_free",
    "kernelmode_fixup_or_oops",
    "lock_acquire",
    "lock_release",
    "no_context",
    "oops_end",
    "page_fault",
    "page_fault_oops",
    "panic",
    "print_address_description",
    "print_bad_pte",
    "print_circular_bug",
    "print_report",
    "print_usage_bug",
    "refcount_warn_saturate",
    "report_bug",
    "show_regs",
    "show_stack",
    "show_trace_log_lvl",
    "spurious_kernel_fault",
    "ubsan_epilogue",
    "validate_chain",
    "warn_slowpath_fmt",
    "warn_slowpath_null",
    "watchdog_timer_fn",
};

// Families named by prefix: sanitizer runtimes and their hooks.
constexpr std::array<std::string_view, 8> kReportingPrefixes = {
    "__asan_", "__kasan_", "__msan_", "__sanitizer_", "__ubsan_handle_", "kasan_", "kfence_", "kmsan_",
};

// Frames every crash on a path passes through: the scheduler and waiting,
// lock slow paths, system-call and VFS dispatch, workqueue and kthread
// entry, interrupt, softirq and timer dispatch, task exit. They stay in a
// signature (they order the trace) but never identify a bug: a crash site,
// a guilty frame or a title naming one of them is not evidence. Sorted.
constexpr std::array<std::string_view, 168> kPlumbingFrames = {
    "____fput",
    "__common_interrupt",
    "__cond_resched",
    "__do_fast_syscall_32",
    "__do_softirq",
    "__down",
    "__down_common",
    "__flush_work",
    "__flush_workqueue",
    "__fput",
    "__handle_irq_event_percpu",
    "__hrtimer_run_queues",
    "__irq_exit_rcu",
    "__mutex_lock",
    "__mutex_lock_slowpath",
    "__rt_mutex_slowlock",
    "__run_timers",
    "__schedule",
    "__schedule_bug",
    "__synchronize_srcu",
    "__wait_for_common",
    "_cond_resched",
    "arch_do_signal_or_restart",
    "asm_common_interrupt",
    "call_timer_fn",
    "common_interrupt",
    "cpu_startup_entry",
    "do_basic_setup",
    "do_el0_svc",
    "do_exit",
    "do_fast_syscall_32",
    "do_group_exit",
    "do_idle",
    "do_initcalls",
    "do_int80_syscall_32",
    "do_iter_read",
    "do_iter_readv_writev",
    "do_iter_write",
    "do_nanosleep",
    "do_one_initcall",
    "do_raw_spin_lock",
    "do_readv",
    "do_signal",
    "do_softirq",
    "do_syscall_64",
    "do_syscall_x64",
    "do_wait_for_common",
    "do_writev",
    "down",
    "down_read",
    "down_write",
    "el0_da",
    "el0_svc",
    "el0_svc_common",
    "el0t_64_sync",
    "el0t_64_sync_handler",
    "el1_abort",
    "el1_interrupt",
    "el1h_64_irq",
    "el1h_64_irq_handler",
    "el1h_64_sync",
    "el1h_64_sync_handler",
    "entry_SYSCALL_64",
    "entry_SYSCALL_64_after_hwframe",
    "entry_SYSCALL_compat",
    "entry_SYSENTER_compat_after_hwframe",
    "exit_to_user_mode_loop",
    "exit_to_user_mode_prepare",
    "expire_timers",
    "filp_close",
    "flush_work",
    "flush_workqueue",
    "fput",
    "full_proxy_read",
    "full_proxy_unlocked_ioctl",
    "full_proxy_write",
    "generic_handle_irq",
    "get_signal",
    "handle_edge_irq",
    "handle_fasteoi_irq",
    "handle_irq_event",
    "handle_irq_event_percpu",
    "handle_softirqs",
    "hrtimer_interrupt",
    "hrtimer_nanosleep",
    "invoke_syscall",
    "io_schedule",
    "io_schedule_timeout",
    "irq_exit",
    "irq_exit_rcu",
    "kernel_init",
    "kernel_init_freeable",
    "kernfs_fop_read_iter",
    "kernfs_fop_write_iter",
    "ksys_ioctl",
    "ksys_pread64",
    "ksys_pwrite64",
    "ksys_read",
    "ksys_write",
    "kthread",
    "kthread_stop",
    "msleep",
    "mutex_lock",
    "mutex_lock_interruptible",
    "mutex_lock_killable",
    "mutex_lock_nested",
    "native_queued_spin_lock_slowpath",
    "new_sync_read",
    "new_sync_write",
    "preempt_schedule",
    "preempt_schedule_common",
    "preempt_schedule_irq",
    "preempt_schedule_notrace",
    "proc_reg_read",
    "proc_reg_unlocked_ioctl",
    "proc_reg_write",
    "process_one_work",
    "process_scheduled_works",
    "queued_spin_lock_slowpath",
    "rcu_core",
    "rcu_core_si",
    "rcu_do_batch",
    "rescuer_thread",
    "ret_from_fork",
    "ret_from_fork_asm",
    "rt_mutex_slowlock",
    "rt_spin_lock",
    "run_ksoftirqd",
    "run_timer_base",
    "run_timer_softirq",
    "rwsem_down_read_slowpath",
    "rwsem_down_write_slowpath",
    "schedule",
    "schedule_hrtimeout_range",
    "schedule_hrtimeout_range_clock",
    "schedule_idle",
    "schedule_preempt_disabled",
    "schedule_timeout",
    "secondary_startup_64",
    "secondary_startup_64_no_verify",
    "seq_read",
    "seq_read_iter",
    "smpboot_thread_fn",
    "start_kernel",
    "start_secondary",
    "synchronize_rcu",
    "synchronize_srcu",
    "syscall_exit_to_user_mode",
    "task_work_run",
    "tick_nohz_handler",
    "tick_sched_handle",
    "tick_sched_timer",
    "update_process_times",
    "usleep_range_state",
    "vfs_ioctl",
    "vfs_read",
    "vfs_readv",
    "vfs_write",
    "vfs_writev",
    "wait_for_common",
    "wait_for_completion",
    "wait_for_completion_interruptible",
    "wait_for_completion_io",
    "wait_for_completion_killable",
    "wait_for_completion_state",
    "wait_for_completion_timeout",
    "wait_rcu_gp",
    "worker_thread",
};

constexpr std::array<std::string_view, 15> kPlumbingPrefixes = {
    "__arm64_sys_", "__do_sys_",   "__ia32_compat_sys_", "__ia32_sys_", "__se_compat_sys_",
    "__se_sys_",    "__sysvec_",   "__x64_compat_sys_",  "__x64_sys_",  "_raw_read_",
    "_raw_spin_",   "_raw_write_", "asm_sysvec_",        "sysvec_",     "wait_for_completion",
};

static_assert(std::is_sorted(kReportingFrames.begin(), kReportingFrames.end()), "binary search needs it sorted");
static_assert(std::is_sorted(kPlumbingFrames.begin(), kPlumbingFrames.end()), "binary search needs it sorted");

}  // namespace

std::string normalize_frame(std::string_view function) {
  // Kernel function names never contain '.': what follows one is a compiler
  // clone or section suffix.
  if (size_t dot = function.find('.'); dot != std::string_view::npos && dot > 0) function = function.substr(0, dot);
  return std::string(function);
}

bool is_reporting_frame(std::string_view f) {
  if (std::binary_search(kReportingFrames.begin(), kReportingFrames.end(), f)) return true;
  return std::any_of(kReportingPrefixes.begin(), kReportingPrefixes.end(),
                     [&](std::string_view p) { return f.starts_with(p); });
}

bool is_plumbing_frame(std::string_view f) {
  if (std::binary_search(kPlumbingFrames.begin(), kPlumbingFrames.end(), f)) return true;
  return std::any_of(kPlumbingPrefixes.begin(), kPlumbingPrefixes.end(),
                     [&](std::string_view p) { return f.starts_with(p); });
}

KbSignature signature_of(const Report& r) {
  KbSignature s;
  s.kind = std::string(to_string(r.kind));
  s.type = r.type;
  s.title = r.title;
  s.frame = normalize_frame(r.frame);
  auto usable = [](std::string_view f) { return !f.empty() && !f.starts_with("0x") && !is_reporting_frame(f); };
  auto add = [&](const Symbol& sym) {
    if (s.frames.size() >= kSignatureFrames) return;
    std::string f = normalize_frame(sym.function);
    if (!usable(f) || (!s.frames.empty() && s.frames.back() == f)) return;
    s.frames.push_back(std::move(f));
    if (s.module.empty() && !sym.module.empty() && s.frames.back() == s.frame) s.module = sym.module;
  };
  if (r.ip) add(*r.ip);
  for (const Frame& f : r.frames)
    if (f.reliable) add(f);
  if (s.module.empty() && r.ip) s.module = r.ip->module;
  return s;
}

}  // namespace ktriage

// Every analysis on small hand-built reports, with negative cases.
#include <gtest/gtest.h>

#include <algorithm>

#include "ktriage/diagnose.h"
#include "ktriage/logparse.h"

namespace ktriage {
namespace {

Frame frame(std::string fn, std::string module = "", bool reliable = true) {
  Frame f;
  f.function = std::move(fn);
  f.module = std::move(module);
  f.offset = 0x10;
  f.size = 0x40;
  f.reliable = reliable;
  return f;
}

Report report(CrashKind kind, std::string header) {
  Report r;
  r.kind = kind;
  r.header = header;
  r.title = header;
  r.arch = Arch::x86_64;
  r.kernel_release = "6.1.0-56-cloud-amd64";
  r.span.first_line = 10;
  r.span.last_line = 40;
  return r;
}

// A line the parser classified (Report::notes), by default just before the report.
Note note(NoteKind kind, std::string text, uint32_t line = 9) { return Note{kind, std::move(text), line}; }

const Finding* find(const std::vector<Finding>& fs, std::string_view id) {
  for (const Finding& f : fs)
    if (f.id == id) return &f;
  return nullptr;
}

bool mentions(const Finding& f, std::string_view text) {
  for (const Evidence& e : f.evidence)
    if (e.text.find(text) != std::string::npos) return true;
  return false;
}

TEST(AnalysisFindings, EmptyInputGivesNoFindings) {
  EXPECT_TRUE(diagnose({}).empty());
}

TEST(AnalysisFindings, NullDerefWithOffset) {
  Report r = report(CrashKind::null_deref, "BUG: kernel NULL pointer dereference, address: 0000000000000018");
  r.fault_address = 0x18;
  r.error_code = PageFaultError{0};
  r.ip = Symbol{};
  r.ip->function = "zoo_sum_ids.constprop.0";
  r.ip->module = "crashzoo";
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "null_deref");
  EXPECT_EQ(fs[0].id, "fault_address.null");
  EXPECT_TRUE(mentions(fs[0], "offset 0x18"));
  EXPECT_TRUE(mentions(fs[0], "supervisor read access in kernel mode, page not present"));
  // A NULL deref is not a stack overflow.
  for (const Finding& f : fs) EXPECT_NE(f.cause, "stack_overflow") << f.id;
}

TEST(AnalysisFindings, NullFunctionPointerCall) {
  Report r = report(CrashKind::null_deref, "BUG: kernel NULL pointer dereference, address: 0000000000000000");
  r.fault_address = 0;
  r.error_code = PageFaultError{0x10};
  r.frames = {frame("zoo_nullcall", "crashzoo"), frame("zoo_trigger", "crashzoo")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "fault_address.null_call");
  EXPECT_EQ(fs[0].cause, "null_deref");
}

TEST(AnalysisFindings, SlabPoisonIsUseAfterFree) {
  Report r = report(CrashKind::gpf, "general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6b6b: 0000 [#1] PREEMPT SMP NOPTI");
  r.fault_address = 0x6b6b6b6b6b6b6b6b;
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "use_after_free");
  EXPECT_TRUE(mentions(fs[0], "POISON_FREE"));
}

TEST(AnalysisFindings, SlabPoisonFromHeaderWhenFieldMissing) {
  Report r = report(CrashKind::gpf, "general protection fault, probably for non-canonical address 0x6b6b6b6b6b6b6b73: 0000 [#1] SMP");
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "use_after_free");
}

TEST(AnalysisFindings, PoisonInRegisterIsUseAfterFree) {
  Report r = report(CrashKind::gpf, "general protection fault: 0000 [#1] SMP");
  RegisterSet regs;
  regs.regs = {{"rax", 0x6b6b6b6b6b6b6b6b}, {"rbx", 0x1}};
  r.registers = {regs};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "slab.poison_register");
  EXPECT_EQ(fs[0].cause, "use_after_free");
}

TEST(AnalysisFindings, ListPoisonGpfStaysGpf) {
  Report r = report(CrashKind::gpf, "general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] PREEMPT SMP NOPTI");
  r.fault_address = 0xdead000000000100;
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "fault_address.list_poison1");
  EXPECT_EQ(fs[0].cause, "gpf");
  EXPECT_TRUE(mentions(fs[0], "list_del()"));
}

TEST(AnalysisFindings, NonCanonicalGpf) {
  Report r = report(CrashKind::gpf, "general protection fault, probably for non-canonical address 0x1234567812345678: 0000 [#1] SMP");
  r.fault_address = 0x1234567812345678;
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "fault_address.non_canonical");
  EXPECT_EQ(fs[0].cause, "gpf");
}

TEST(AnalysisFindings, KasanShadowNearZeroIsNullDeref) {
  Report r = report(CrashKind::gpf, "general protection fault, probably for non-canonical address 0xdffffc0000000002: 0000 [#1] PREEMPT SMP KASAN");
  r.fault_address = 0xdffffc0000000002;
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "null_deref");
  EXPECT_TRUE(mentions(fs[0], "0x10"));
}

TEST(AnalysisFindings, WriteToReadOnlyMemory) {
  Report r = report(CrashKind::oops_paging, "BUG: unable to handle page fault for address: ffffffffc0209430");
  r.fault_address = 0xffffffffc0209430;
  r.error_code = PageFaultError{0x3};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "fault_address.write_protected");
  EXPECT_EQ(fs[0].cause, "oops_paging");
}

TEST(AnalysisFindings, UserAddressReadInKernelMode) {
  Report r = report(CrashKind::oops_paging, "BUG: unable to handle page fault for address: 00000000dd7ed3a8");
  r.fault_address = 0xdd7ed3a8;
  r.error_code = PageFaultError{0};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "fault_address.user");
  EXPECT_TRUE(mentions(fs[0], "never touches such an address on purpose"));
}

TEST(AnalysisFindings, GuardPageIsStackOverflowWithRecursion) {
  Report r = report(CrashKind::stack_overflow, "BUG: TASK stack guard page was hit at 00000000cae8473d (stack is 0000000009a41a84..000000003a4448fe)");
  for (int i = 0; i < 40; ++i) r.frames.push_back(frame("zoo_recurse", "crashzoo"));
  r.frames.push_back(frame("zoo_trigger", "crashzoo"));
  RegisterSet regs;
  regs.regs = {{"rsp", 0xffffc900003f7f50}, {"cr2", 0xffffc900003f7f48}};
  r.registers = {regs};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "stack_overflow");
  EXPECT_EQ(fs[0].id, "stack_overflow.direct");
  EXPECT_NE(fs[0].title.find("zoo_recurse"), std::string::npos);
  EXPECT_TRUE(mentions(fs[0], "repeats 40 times"));
  EXPECT_TRUE(mentions(fs[0], "16 KiB"));
}

TEST(AnalysisFindings, NormalPreemptCountIsNotStackOverflow) {
  Report r = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: sh/96/0x00000002");
  r.comm = "sh";
  r.pid = 96;
  r.preempt_count = 0x2;
  r.frames = {frame("dump_stack_lvl"), frame("__schedule_bug.cold"), frame("__schedule"), frame("schedule"),
              frame("schedule_timeout"), frame("msleep"), frame("zoo_sleep_atomic", "crashzoo"), frame("zoo_trigger", "crashzoo")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "scheduling_while_atomic");
  EXPECT_NE(fs[0].title.find("zoo_sleep_atomic"), std::string::npos);
  for (const Finding& f : fs) {
    EXPECT_NE(f.cause, "stack_overflow") << f.id;
    EXPECT_NE(f.cause, "memory_corruption") << f.id;
  }
}

TEST(AnalysisFindings, PointerLikePreemptCountOnModernX86IsMemoryCorruption) {
  Report r = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: kworker/1:0/27/0xffff8811");
  r.preempt_count = 0xffff8811;
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "memory_corruption");
  EXPECT_EQ(fs[0].id, "memory_corruption.preempt_count");
  for (const Finding& f : fs) EXPECT_NE(f.cause, "stack_overflow") << f.id;
}

TEST(AnalysisFindings, PointerLikePreemptCountOnOldX86IsStackOverflow) {
  Report r = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: qemu/27122/0xffff8811");
  r.preempt_count = 0xffff8811;
  r.kernel_release = "2.6.32-431.el6.x86_64";
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "stack_overflow");
  EXPECT_EQ(fs[0].title, "kernel stack overflow corrupted thread_info");
  EXPECT_TRUE(mentions(fs[0], "8 KiB"));
  EXPECT_TRUE(mentions(fs[0], "thread_info at the bottom"));
}

TEST(AnalysisFindings, KernelVersionOptionOverridesLog) {
  Report r = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: qemu/27122/0xffff8811");
  r.preempt_count = 0xffff8811;
  DiagnoseOptions old;
  old.kernel_version = "2.6.32-431.el6.x86_64";
  EXPECT_EQ(diagnose({r}, old)[0].cause, "stack_overflow");
  DiagnoseOptions modern;
  modern.kernel_version = "5.10.0";
  EXPECT_EQ(diagnose({r}, modern)[0].cause, "memory_corruption");
}

TEST(AnalysisFindings, DoubleFreeFromSlubFreelistCheck) {
  Report r = report(CrashKind::bug_at, "kernel BUG at mm/slub.c:419!");
  r.assertion = SourceSite{"mm/slub.c", 419};
  r.ip = Symbol{};
  r.ip->function = "__kmem_cache_free";
  r.frames = {frame("zoo_double_free", "crashzoo"), frame("zoo_trigger", "crashzoo")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "double_free");
  EXPECT_NE(fs[0].title.find("zoo_double_free"), std::string::npos);
}

TEST(AnalysisFindings, SlabBugOutsideFreePathIsNotDoubleFree) {
  Report r = report(CrashKind::bug_at, "kernel BUG at mm/slub.c:1234!");
  r.assertion = SourceSite{"mm/slub.c", 1234};
  r.ip = Symbol{};
  r.ip->function = "new_slab";
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "bug_at");
}

TEST(AnalysisFindings, KasanDoubleFreeAndUseAfterFree) {
  auto fs = diagnose({report(CrashKind::kasan, "BUG: KASAN: double-free in kfree+0x10/0x20")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "double_free");
  fs = diagnose({report(CrashKind::kasan, "BUG: KASAN: slab-use-after-free in foo+0x10/0x20")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "use_after_free");
}

TEST(AnalysisFindings, ListDebugBugIsListCorruption) {
  Report r = report(CrashKind::bug_at, "kernel BUG at lib/list_debug.c:27!");
  r.assertion = SourceSite{"lib/list_debug.c", 27};
  r.ip = Symbol{};
  r.ip->function = "__list_add_valid.cold";
  r.frames = {frame("zoo_list_corrupt", "crashzoo")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "list_corruption");
  EXPECT_NE(fs[0].title.find("zoo_list_corrupt"), std::string::npos);
}

TEST(AnalysisFindings, ListCorruptionMessageBeforeTheReport) {
  Report r = report(CrashKind::bug_at, "kernel BUG at lib/list_debug.c:27!");
  r.assertion = SourceSite{"lib/list_debug.c", 27};
  r.notes = {note(NoteKind::list_check,
                  "list_add corruption. next->prev should be prev (ffffffffc04410a0), but was dead000000000122. "
                  "(next=ffff8a2c5ff80fe0).")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "list_corruption");
  EXPECT_TRUE(mentions(fs[0], "LIST_POISON2"));
}

TEST(AnalysisFindings, BugOnWithSourceLine) {
  Report r = report(CrashKind::bug_at, "kernel BUG at /kernel-lab/build/crashzoo/crashzoo.c:116!");
  r.assertion = SourceSite{"/kernel-lab/build/crashzoo/crashzoo.c", 116};
  r.ip = Symbol{};
  r.ip->function = "zoo_put_session";
  r.ip->module = "crashzoo";
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "bug_at");
  EXPECT_NE(fs[0].title.find("crashzoo.c:116"), std::string::npos);
  EXPECT_NE(fs[0].title.find("zoo_put_session"), std::string::npos);
}

TEST(AnalysisFindings, WarningIsWarning) {
  Report r = report(CrashKind::warning, "WARNING: CPU: 0 PID: 96 at /kernel-lab/build/crashzoo/crashzoo.c:169 zoo_warn+0xf/0x16 [crashzoo]");
  r.assertion = SourceSite{"/kernel-lab/build/crashzoo/crashzoo.c", 169};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "warning");
  EXPECT_NE(fs[0].title.find("crashzoo.c:169"), std::string::npos);
}

TEST(AnalysisFindings, SleepingInAtomic) {
  Report r = report(CrashKind::sleeping_in_atomic, "BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580");
  r.frames = {frame("dump_stack_lvl"), frame("__might_resched"), frame("mutex_lock"), frame("mydrv_irq", "mydrv")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "sleeping_in_atomic");
  EXPECT_NE(fs[0].title.find("mydrv_irq"), std::string::npos);
}

TEST(AnalysisFindings, SoftLockupNamesCpuTaskAndPlace) {
  Report r = report(CrashKind::soft_lockup, "watchdog: BUG: soft lockup - CPU#1 stuck for 13s! [sh:97]");
  r.cpu = 1;
  r.comm = "sh";
  r.pid = 97;
  r.ip = Symbol{};
  r.ip->function = "zoo_spin";
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "soft_lockup");
  EXPECT_NE(fs[0].title.find("sh:97"), std::string::npos);
  EXPECT_NE(fs[0].title.find("zoo_spin"), std::string::npos);
}

TEST(AnalysisFindings, HungTaskSaysWhatItWaitsOn) {
  Report r = report(CrashKind::hung_task, "INFO: task sh:97 blocked for more than 5 seconds.");
  r.comm = "sh";
  r.pid = 97;
  r.frames = {frame("__schedule"), frame("schedule"), frame("schedule_timeout"), frame("__wait_for_common"),
              frame("usleep_range_state", "", false), frame("zoo_hang", "crashzoo")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "hung_task");
  EXPECT_NE(fs[0].title.find("a completion"), std::string::npos);
  EXPECT_NE(fs[0].title.find("zoo_hang"), std::string::npos);
}

TEST(AnalysisFindings, FollowOnPanicIsNotTheHeadline) {
  Report oops = report(CrashKind::bug_at, "kernel BUG at fs/foo.c:10!");
  oops.timestamp = 3.4;
  oops.pid = 97;
  Report panic = report(CrashKind::panic, "Kernel panic - not syncing: Fatal exception");
  panic.timestamp = 3.48;
  panic.span.first_line = 50;
  auto fs = diagnose({oops, panic});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "bug_at");
  for (const Finding& f : fs) EXPECT_NE(f.cause, "panic") << f.id;
}

TEST(AnalysisFindings, DeliberatePanic) {
  Report r = report(CrashKind::panic, "Kernel panic - not syncing: crashzoo: deliberate panic");
  r.frames = {frame("dump_stack_lvl"), frame("panic"), frame("zoo_trigger", "crashzoo")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "panic");
  EXPECT_EQ(fs[0].title, "kernel panic: crashzoo: deliberate panic");
  EXPECT_TRUE(mentions(fs[0], "zoo_trigger"));
}

TEST(AnalysisFindings, TaintNamesTheOutOfTreeModuleInTheTrace) {
  Report r = report(CrashKind::warning, "WARNING: CPU: 0 PID: 96 at drivers/foo.c:1 foo+0x1/0x2");
  r.taint.flags = "G           OE";
  r.modules = {"mydrv", "crc_itu_t"};
  r.module_flags = {{"mydrv", "OE"}};
  r.frames = {frame("mydrv_probe", "mydrv")};
  auto fs = diagnose({r});
  const Finding* t = find(fs, "context.taint");
  ASSERT_TRUE(t);
  EXPECT_NE(t->title.find("mydrv"), std::string::npos);
  EXPECT_NE(t->title.find("out-of-tree"), std::string::npos);
  EXPECT_NE(fs[0].id, "context.taint");
}

TEST(AnalysisFindings, ModuleVersusCoreKernel) {
  Report r = report(CrashKind::bug_at, "kernel BUG at mm/slub.c:1!");
  r.ip = Symbol{};
  r.ip->function = "kfree";
  r.frames = {frame("mydrv_remove", "mydrv")};
  auto fs = diagnose({r});
  const Finding* loc = find(fs, "context.core_from_module");
  ASSERT_TRUE(loc);
  EXPECT_NE(loc->title.find("mydrv"), std::string::npos);

  r.ip->module = "mydrv";
  fs = diagnose({r});
  EXPECT_TRUE(find(fs, "context.in_module"));
}

TEST(AnalysisFindings, UnrelatedReportsAreNotLinked) {
  Report a = report(CrashKind::warning, "WARNING: CPU: 0 PID: 1 at a.c:1 a+0x1/0x2");
  a.pid = 1;
  a.cpu = 0;
  a.timestamp = 1.0;
  Report b = report(CrashKind::null_deref, "BUG: kernel NULL pointer dereference, address: 0000000000000008");
  b.pid = 2;
  b.cpu = 1;
  b.timestamp = 100.0;
  b.fault_address = 8;
  b.span.first_line = 200;
  auto fs = diagnose({a, b});
  EXPECT_FALSE(find(fs, "context.linked_reports"));
  const Finding* n = find(fs, "fault_address.null");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->reports, std::vector<size_t>{1});
}

// A machine oopsing in a loop on one task: each repeat links to the one
// before, but an incident stops growing (a finding lists its incident, and
// thousands of repeats would make every finding list thousands).
TEST(AnalysisFindings, AStormOfRepeatsIsManyBoundedIncidents) {
  std::vector<Report> storm;
  for (uint32_t i = 0; i < 100; ++i) {
    Report r = report(CrashKind::null_deref, "BUG: kernel NULL pointer dereference, address: 0000000000000008");
    r.pid = 96;
    r.cpu = 0;
    r.timestamp = 10.0 + i;
    r.fault_address = 8;
    r.span = {0, 0, 10 + 3 * i, 12 + 3 * i};
    storm.push_back(r);
  }
  std::vector<Finding> fs = diagnose(storm);
  size_t linked = 0, covered = 0;
  for (const Finding& f : fs) {
    EXPECT_LE(f.reports.size(), 32u) << f.id;
    if (f.id == "context.linked_reports") ++linked;
    if (f.id == "fault_address.null") covered += f.reports.size();
  }
  EXPECT_EQ(linked, 4u);     // 32 + 32 + 32 + 4
  EXPECT_EQ(covered, 100u);  // one NULL finding per incident, each for its reports
}

// Issue 12.7: a WARNING 41 s before an oops of the same task, then the oops'
// panic. Nothing in the log ties the WARNING to the oops, and the panic is
// the oops' own: only the oops is credited with it.
TEST(AnalysisFindings, AnEarlierWarningIsNotCreditedWithTheOopsPanic) {
  Report w = report(CrashKind::warning, "WARNING: CPU: 0 PID: 96 at a.c:1 a+0x1/0x2");
  w.pid = 96;
  w.cpu = 0;
  w.timestamp = 3.0;
  w.span = {0, 0, 10, 30};
  Report oops = report(CrashKind::null_deref, "BUG: kernel NULL pointer dereference, address: 0000000000000008");
  oops.pid = 96;
  oops.cpu = 0;
  oops.timestamp = 44.0;
  oops.fault_address = 8;
  oops.span = {0, 0, 200, 240};
  Report panic = report(CrashKind::panic, "Kernel panic - not syncing: Fatal exception");
  panic.pid = 96;
  panic.cpu = 0;
  panic.timestamp = 44.02;
  panic.span = {0, 0, 241, 243};
  auto fs = diagnose({w, oops, panic});
  for (const Finding& f : fs) {
    SCOPED_TRACE(f.id);
    const bool about_warning = f.reports.front() == 0;
    EXPECT_EQ(mentions(f, "then the kernel panicked"), f.id == "fault_address.null");
    if (about_warning) {
      EXPECT_EQ(f.reports, std::vector<size_t>{0});
    }
  }
  const Finding* n = find(fs, "fault_address.null");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->reports, (std::vector<size_t>{1, 2}));

  // Close together, the same task's WARNING and oops are one incident; the
  // panic still follows the oops, not the WARNING.
  w.timestamp = 43.9;
  fs = diagnose({w, oops, panic});
  ASSERT_TRUE(find(fs, "context.linked_reports"));
  ASSERT_TRUE(find(fs, "assertion.warn_on"));
  EXPECT_FALSE(mentions(*find(fs, "assertion.warn_on"), "then the kernel panicked"));
  ASSERT_TRUE(find(fs, "fault_address.null"));
  EXPECT_TRUE(mentions(*find(fs, "fault_address.null"), "then the kernel panicked"));
}

TEST(AnalysisFindings, StackProtector) {
  Report r = report(CrashKind::panic, "Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: zoo_stack_smash+0x50/0x50 [crashzoo]");
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "stack_protector");
  EXPECT_NE(fs[0].title.find("zoo_stack_smash"), std::string::npos);
}

TEST(AnalysisFindings, DivideError) {
  Report r = report(CrashKind::divide_error, "divide error: 0000 [#1] PREEMPT SMP NOPTI");
  r.ip = Symbol{};
  r.ip->function = "zoo_wq_fn";
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "divide_error");
  EXPECT_NE(fs[0].title.find("zoo_wq_fn"), std::string::npos);
}

TEST(AnalysisFindings, Ud2WithoutLocationIsBug) {
  Report r = report(CrashKind::invalid_opcode, "invalid opcode: 0000 [#1] SMP");
  r.code = CodeBytes{};
  r.code->bytes = {0x48, 0x89, 0xc7, 0x0f, 0x0b, 0x90};
  r.code->faulting_offset = 3;
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "bug_at");
  EXPECT_EQ(fs[0].id, "trap.bug_ud2");
  // Other bytes at the IP: no BUG() claim.
  r.code->bytes[4] = 0x90;
  fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_NE(fs[0].id, "trap.bug_ud2");
}

TEST(AnalysisFindings, BadPageAndLockdep) {
  auto fs = diagnose({report(CrashKind::bad_page, "BUG: Bad page state in process sh  pfn:1f3c2")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "bad_page");
  fs = diagnose({report(CrashKind::warning, "WARNING: possible circular locking dependency detected")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "lockdep");
}

TEST(AnalysisFindings, RefcountUnderflowSaysUseAfterFree) {
  Report r = report(CrashKind::warning, "WARNING: CPU: 1 PID: 97 at lib/refcount.c:28 refcount_warn_saturate+0xba/0x110");
  Report with = r;
  with.notes = {note(NoteKind::refcount_check, "refcount_t: underflow; use-after-free.", 8)};
  auto fs = diagnose({with});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "use_after_free");
  EXPECT_TRUE(mentions(fs[0], "refcount_t: underflow"));
  // Without the message it is just a warning.
  EXPECT_EQ(diagnose({r})[0].cause, "warning");
}

TEST(AnalysisFindings, PointerLikeCountWithModernFormatButNoRelease) {
  Report r = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: sh/97/0xffff8881");
  r.kernel_release.clear();
  r.preempt_count = 0xffff8881;
  r.oops_code = "0000 [#1] PREEMPT SMP NOPTI";
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "memory_corruption");
}

TEST(AnalysisFindings, PreemptCountAndTaskFromHeaderWhenFieldsMissing) {
  Report r = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: kworker/0:1/27/0x00000101");
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "atomic.scheduling");
  EXPECT_NE(fs[0].title.find("kworker/0:1/27"), std::string::npos);
  EXPECT_TRUE(mentions(fs[0], "softirq"));
}

TEST(AnalysisFindings, HardenedUsercopy) {
  Report r = report(CrashKind::bug_at, "kernel BUG at mm/usercopy.c:99!");
  r.assertion = SourceSite{"mm/usercopy.c", 99};
  r.notes = {note(NoteKind::usercopy_check,
                  "usercopy: Kernel memory overwrite attempt detected to SLUB object 'kmalloc-16' (offset 0, size 64)!", 8)};
  r.frames = {frame("usercopy_abort"), frame("__check_heap_object"), frame("zoo_usercopy", "crashzoo")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "trap.usercopy");
  EXPECT_EQ(fs[0].cause, "bug_at");
  EXPECT_TRUE(mentions(fs[0], "kmalloc-16"));
}

TEST(AnalysisFindings, CorruptedStackEndPanicIsStackOverflowEvenAfterAnotherReport) {
  Report warn = report(CrashKind::warning, "WARNING: CPU: 0 PID: 5 at a.c:1 a+0x1/0x2");
  warn.timestamp = 1.0;
  Report panic = report(CrashKind::panic, "Kernel panic - not syncing: corrupted stack end detected inside scheduler");
  panic.timestamp = 1.2;
  panic.span.first_line = 60;
  auto fs = diagnose({warn, panic});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "stack_overflow");
}

TEST(AnalysisFindings, SlubDebugVerdicts) {
  auto fs = diagnose({report(CrashKind::other, "BUG kmalloc-64 (Tainted: G           OE     ): Poison overwritten")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "use_after_free");
  fs = diagnose({report(CrashKind::other, "BUG kmalloc-64 (Not tainted): Object already free")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "double_free");
  fs = diagnose({report(CrashKind::other, "BUG kmalloc-16 (Not tainted): Right Redzone overwritten")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "memory_corruption");
}

TEST(AnalysisFindings, BugLocationFromTheReportLines) {
  Report r = report(CrashKind::invalid_opcode, "invalid opcode: 0000 [#1] PREEMPT SMP NOPTI");
  r.assertion = SourceSite{"mm/slub.c", 419};  // from the "kernel BUG at" line under the header
  r.ip = Symbol{};
  r.ip->function = "__kmem_cache_free";
  r.frames = {frame("zoo_double_free", "crashzoo")};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "double_free");
}

// "3d 40 <48> 8b" -> bytes with the <xx> byte marked as faulting.
CodeBytes code_bytes(std::string_view text) {
  CodeBytes c;
  c.text = std::string(text);
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos >= text.size()) break;
    bool marked = text[pos] == '<';
    if (marked) {
      c.faulting_offset = static_cast<uint32_t>(c.bytes.size());
      ++pos;
    }
    c.bytes.push_back(static_cast<uint8_t>(std::stoul(std::string(text.substr(pos, 2)), nullptr, 16)));
    pos += marked ? 3 : 2;
  }
  return c;
}

// zoo_uaf without slub_debug: s->ops at offset 0x20 of a freed kmalloc-64
// object holds SLUB's encoded freelist pointer; following it is a GPF.
Report freed_slot_gpf(uint64_t loaded) {
  Report r = report(CrashKind::gpf, "general protection fault, probably for non-canonical address 0x...: 0000 [#1] PREEMPT SMP NOPTI");
  r.fault_address = loaded;
  r.ip = Symbol{};
  r.ip->function = "zoo_uaf";
  r.ip->module = "crashzoo";
  r.code = code_bytes(
      "3d 40 7d 1a c2 e8 2b 03 0a c1 48 85 c0 74 24 48 c7 40 20 20 94 20 c0 48 89 c3 48 89 c7 e8 63 07 0a c1 "
      "48 8b 43 20 48 89 df 5b <48> 8b 00 e9 23 92 bf c1 cc b8 f4 ff ff ff 5b c3 cc cc cc cc 0f 1f");
  RegisterSet regs;
  regs.regs = {{"rax", loaded}, {"rbx", 0x4}, {"rcx", 0xdce4000b3bccc405}, {"rdi", 0xffff88801ff89500}};
  r.registers = {regs};
  return r;
}

TEST(AnalysisFindings, NonCanonicalPointerFromFreePointerSlotIsUseAfterFree) {
  auto fs = diagnose({freed_slot_gpf(0x9c1b4e7f2a3d5e61)});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].id, "fault_address.freed_object_pointer");
  EXPECT_EQ(fs[0].cause, "use_after_free");
  EXPECT_TRUE(mentions(fs[0], "kmalloc-64"));
  // The generic GPF finding carries the faulting instruction from Code:.
  const Finding* gpf = find(fs, "fault_address.non_canonical");
  ASSERT_TRUE(gpf);
  EXPECT_TRUE(mentions(*gpf, "movq (%rax), %rax"));
}

TEST(AnalysisFindings, PatternedNonCanonicalPointerIsNotCalledUseAfterFree) {
  auto fs = diagnose({freed_slot_gpf(0x4141414141414141)});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "gpf");
  EXPECT_FALSE(find(fs, "fault_address.freed_object_pointer"));
}

TEST(AnalysisFindings, WatchdogsRecognisedByTheirWordsWhenKindIsOther) {
  auto fs = diagnose({report(CrashKind::other, "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "rcu_stall");
  fs = diagnose({report(CrashKind::other, "INFO: task kworker/0:1:27 blocked for more than 120 seconds.")});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "hung_task");
  EXPECT_NE(fs[0].title.find("kworker/0:1:27"), std::string::npos);
}

TEST(AnalysisFindings, HardLockupFromOldWarningMessage) {
  Report r = report(CrashKind::warning, "WARNING: at kernel/watchdog.c:245 watchdog_overflow_callback+0x9c/0xd0()");
  r.notes = {note(NoteKind::hard_lockup, "Watchdog detected hard LOCKUP on cpu 0", 11)};
  auto fs = diagnose({r});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "hard_lockup");
}

// The parser reads the faulting function from the IP line; an EIP line
// without a symbol names none.
TEST(AnalysisFindings, IpFunctionFromOldRegisterLines) {
  auto fs = diagnose(parse_log("BUG: unable to handle kernel paging request at 00000000dd7ed3a8\n"
                               "IP: [<ffffffff81058e5d>] task_rq_lock+0x4d/0xa8\n"));
  ASSERT_FALSE(fs.empty());
  EXPECT_NE(fs[0].title.find("in task_rq_lock"), std::string::npos) << fs[0].title;
  fs = diagnose(parse_log("BUG: unable to handle kernel paging request at 00000000dd7ed3a8\n"
                          "EIP: 0060:[<c04d3ba6>] EFLAGS: 00010246 CPU: 0\n"));
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].title.find("EFLAGS"), std::string::npos) << fs[0].title;
}

TEST(AnalysisFindings, PanicRestatingTheReportIsAFollowOn) {
  Report atomic = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: syz-executor.4/21395/0x00000201");
  atomic.preempt_count = 0x201;
  atomic.timestamp = 1181.71;
  Report panic = report(CrashKind::panic, "Kernel panic - not syncing: scheduling while atomic");
  panic.timestamp = 1181.73;
  panic.span.first_line = 80;
  auto fs = diagnose({atomic, panic});
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "scheduling_while_atomic");
  for (const Finding& f : fs) EXPECT_NE(f.cause, "panic") << f.id;
}

TEST(AnalysisFindings, TaintFlagsFromTheModulesLineAndLoadMessage) {
  Report r = report(CrashKind::bug_at, "kernel BUG at /kernel-lab/build/crashzoo/crashzoo.c:116!");
  r.taint.flags = "G           OE";
  r.modules = {"crashzoo", "crc_itu_t"};
  r.module_flags = {{"crashzoo", "OE"}};
  r.notes = {note(NoteKind::module_taint, "crashzoo: loading out-of-tree module taints kernel.", 3)};
  r.frames = {frame("zoo_trigger", "crashzoo")};
  auto fs = diagnose({r});
  const Finding* t = find(fs, "context.taint");
  ASSERT_TRUE(t);
  EXPECT_NE(t->title.find("crashzoo is in the call trace"), std::string::npos) << t->title;
  EXPECT_TRUE(mentions(*t, "loading out-of-tree module taints kernel"));
  // No IP printed: no claim about where it crashed.
  EXPECT_FALSE(find(fs, "context.in_module"));
  EXPECT_FALSE(find(fs, "context.core_from_module"));
}

TEST(AnalysisFindings, HostileSpansAndHeadersDoNotBreakIt) {
  std::vector<Report> reports;
  for (const char* h : {"kernel BUG at :99999999999999999999!", "BUG: scheduling while atomic: /", "BUG: scheduling while atomic: x/1/0x",
                        "general protection fault, probably for non-canonical address 0x: 0000", "INFO: task ", "watchdog: BUG: soft lockup - CPU#",
                        "Kernel panic - not syncing:", "refcount_t: ", "", "[", "UBSAN:"}) {
    Report r = report(CrashKind::other, h);
    r.span.begin = 1000;
    r.span.end = 10;
    r.preempt_count = ~0ull;
    r.frames = {frame("")};
    reports.push_back(r);
  }
  reports[1].span = {0, 1u << 30, 1, 2};
  reports[2].code = CodeBytes{};
  reports[2].code->faulting_offset = 7;  // past the (empty) bytes
  auto fs = diagnose(reports);
  EXPECT_FALSE(fs.empty());
}

}  // namespace
}  // namespace ktriage

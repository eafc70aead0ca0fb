// extract_fields(): each field reader on the formats the kernel has printed,
// table-driven, then garbled and hostile reports.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "logparse/fields.h"
#include "logparse/lines.h"
#include "logparse/notes.h"
#include "ktriage/logparse.h"

namespace ktriage::logparse {
namespace {

// Cleans `text` line by line (as the parser does) and extracts the fields.
Report extract(std::string_view text, CrashKind kind = CrashKind::other) {
  std::vector<LogLine> lines;
  uint32_t n = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    LogLine l;
    clean_line(raw, l);
    l.number = ++n;
    lines.push_back(std::move(l));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  Report r;
  r.kind = kind;
  extract_fields(lines, r);
  return r;
}

std::string frames_of(const Report& r) {
  std::string s;
  for (const Frame& f : r.frames) {
    if (!s.empty()) s += ' ';
    if (!f.reliable) s += '?';
    s += f.function;
    if (!f.module.empty()) s += "[" + f.module + "]";
  }
  return s;
}

// --- IP ---------------------------------------------------------------------

struct IpCase {
  const char* name;
  const char* text;
  const char* function;
  uint64_t offset;
  const char* module;
  std::optional<uint64_t> address;
};

void PrintTo(const IpCase& c, std::ostream* os) { *os << c.name; }

class Ip : public testing::TestWithParam<IpCase> {};

TEST_P(Ip, IsRead) {
  const IpCase& c = GetParam();
  Report r = extract(c.text);
  ASSERT_TRUE(r.ip) << c.text;
  EXPECT_EQ(r.ip->function, c.function);
  if (c.offset) {
    EXPECT_EQ(r.ip->offset, c.offset);
  }
  EXPECT_EQ(r.ip->module, c.module);
  EXPECT_EQ(r.ip->address, c.address);
}

const IpCase kIps[] = {
    {"x86_64_2_6", "BUG: x\nIP: [<ffffffff81058e5d>] task_rq_lock+0x4d/0xa8\n", "task_rq_lock", 0x4d, "",
     0xffffffff81058e5d},
    {"x86_64_old_rip",
     "BUG: x\nRIP: 0010:[<ffffffffa01010e7>]  [<ffffffffa01010e7>] radeon_invalid_rreg+0x17/0x20 [radeon]\n",
     "radeon_invalid_rreg", 0x17, "radeon", 0xffffffffa01010e7},
    {"x86_64_modern", "BUG: x\nRIP: 0010:do_sys_open+0x1d/0x40\nRSP: 0018:ffffc90000003e48 EFLAGS: 00010246\n",
     "do_sys_open", 0x1d, "", std::nullopt},
    {"x86_64_modern_module", "WARNING: x\nRIP: 0010:qxl_bo_free+0x1d/0x40 [qxl]\n", "qxl_bo_free", 0x1d, "qxl",
     std::nullopt},
    {"user_rip_is_not_the_ip", "BUG: x\nRIP: 0033:0x7f4a1b2c3d4e\nRIP: 0010:f+0x1/0x2\n", "f", 1, "", std::nullopt},
    {"i386_eip", "BUG: x\nEIP: 0060:[<c04ac80f>] EFLAGS: 00010046 CPU: 1\nEIP is at __remove_from_page_cache+0x4d/0xab\n",
     "__remove_from_page_cache", 0x4d, "", 0xc04ac80f},
    {"i386_eip_module", "BUG: x\nEIP: 0060:[<f8e40765>] EFLAGS: 00210246 CPU: 1\nEIP is at wdev_priv.part.8+0x3/0x5 [wl]\n",
     "wdev_priv.part.8", 3, "wl", 0xf8e40765},
    {"i386_4_x", "BUG: x\nEIP: qxl_draw+0x2/0x40 [qxl]\n", "qxl_draw", 2, "qxl", std::nullopt},
    {"x86_64_klogd_module", "BUG: x\nIP: [<f88dec25>] :radeon:radeon_cp_init_ring_buffer+0x90/0x302\n",
     "radeon_cp_init_ring_buffer", 0x90, "radeon", 0xf88dec25},
    {"arm64", "Unable to handle x\npc : do_sys_open+0x1d/0x40 [foo]\nlr : do_sys_open+0x10/0x40 [foo]\n",
     "do_sys_open", 0x1d, "foo", std::nullopt},
    {"arm", "Unable to handle x\nPC is at shmem_getpage_gfp+0x584/0x72c\nLR is at x+0x1/0x2\npc : [<c0333330>]    lr : [<c0333200>]    psr: 80070113\n",
     "shmem_getpage_gfp", 0x584, "", 0xc0333330},
    {"ppc64", "Unable to handle x\nNIP [d0000000008cb4dc] .ipr_pci_error_detected+0x18c/0x220 [ipr]\n",
     ".ipr_pci_error_detected", 0x18c, "ipr", 0xd0000000008cb4dc},
    {"s390", "kernel BUG at x!\nKrnl PSW : 0404c00180000000 0000000000431f8e (scsi_alloc_sgtable+0x62/0x7c)\n",
     "scsi_alloc_sgtable", 0x62, "", 0x431f8e},
    {"s390_module", "WARNING: at x.c:11\nKrnl PSW : 0704f00180000000 000003ff8086d03a (will_oops_init+0x3a/0x1000 [will_oops])\n",
     "will_oops_init", 0x3a, "will_oops", 0x3ff8086d03a},
    {"warning_header", "WARNING: CPU: 0 PID: 37 at drivers/gpu/drm/radeon/radeon_gart.c:235 radeon_gart_unbind+0xca/0xe0 [radeon]()\n",
     "radeon_gart_unbind", 0xca, "radeon", std::nullopt},
    {"warning_next_line", "WARNING: at arch/x86/kernel/cpu/mtrr/generic.c:467\ngeneric_get_mtrr+0x11e/0x140() (Not tainted)\n",
     "generic_get_mtrr", 0x11e, "", std::nullopt},
    {"warning_module_from_trace", "WARNING: at /tmp/oops.c:5 modinit() (Not tainted)\n [<e024e03d>] modinit+0x38/0x3f [oops]\n",
     "modinit", 0, "oops", std::nullopt},
    {"registers_beat_the_header", "WARNING: CPU: 1 PID: 2 at a.c:1 f+0x1/0x2\nRIP: 0010:g+0x3/0x4\n", "g", 3, "",
     std::nullopt},
    {"x86_64_2_6_9", "BUG: x\nRIP: 0010:[<ffffffff8010e0a4>] <ffffffff8010e0a4>{do_page_fault+1220}\n", "do_page_fault",
     1220, "", 0xffffffff8010e0a4},
    {"rip_summary_alone", "BUG: x\nRIP  [<ffffffff8141cd77>] do_page_fault+0x17/0x299\n", "do_page_fault", 0x17, "",
     0xffffffff8141cd77},
};

INSTANTIATE_TEST_SUITE_P(All, Ip, testing::ValuesIn(kIps),
                         [](const testing::TestParamInfo<IpCase>& i) { return std::string(i.param.name); });

TEST(Ip, NoneWhenNotPrinted) {
  Report r = extract("INFO: task khungtaskd:27 blocked for more than 120 seconds.\nCall Trace:\n schedule+0x1/0x2\n");
  EXPECT_FALSE(r.ip);
}

// --- frames -----------------------------------------------------------------

struct TraceCase {
  const char* name;
  const char* text;
  const char* frames;  // "?f[mod] g"
  CrashKind kind = CrashKind::other;
};

void PrintTo(const TraceCase& c, std::ostream* os) { *os << c.name; }

class Trace : public testing::TestWithParam<TraceCase> {};

TEST_P(Trace, IsRead) {
  const TraceCase& c = GetParam();
  Report r = extract(c.text, c.kind);
  EXPECT_EQ(frames_of(r), c.frames);
}

const TraceCase kTraces[] = {
    {"x86_64_old", "BUG: x\nCall Trace:\n [<ffffffff81662d11>] dump_stack+0x45/0x56\n [<ffffffffa00e7546>] ? ttm_bo_mem_space+0x116/0x340 [ttm]\n",
     "dump_stack ?ttm_bo_mem_space[ttm]"},
    {"modern", "BUG: x\nCall Trace:\n <TASK>\n dump_stack_lvl+0x4d/0x70\n ? f+0x1/0x2 [mod 0123abcd0123abcd]\n </TASK>\n",
     "dump_stack_lvl ?f[mod]"},
    {"arm64", "Unable to handle x\nCall trace:\n do_sys_open+0x1d/0x40\n el0_svc+0x8/0xc [foo]\n", "do_sys_open el0_svc[foo]"},
    // 6.14+: where the unwinder found each frame (task, pc, link register, ftrace graph).
    {"arm64_unwind_sources",
     "Unable to handle x\nCall trace:\n __switch_to+0x2b0/0x6e0 (T)\n __schedule+0x1b74/0x2d24\n"
     " el1_abort+0x3c/0x5c (P)\n el1h_64_sync+0x6c/0x70 (LF)\n f+0x1/0x2 (F)\n g+0x1/0x2 (X)\n",
     "__switch_to __schedule el1_abort el1h_64_sync f"},
    {"arm_from_pairs",
     "Unable to handle x\n[<c0333330>] (shmem_getpage_gfp) from [<c031c7a0>] (generic_perform_write+0xa8/0x1c0)\n"
     "[<c031c7a0>] (generic_perform_write) from [<c031e698>] (__generic_file_write_iter+0x31c/0x38c)\n",
     "shmem_getpage_gfp generic_perform_write __generic_file_write_iter"},
    {"arm_old_with_offsets",
     "BUG: x\nBacktrace:\n[<c0014990>] (unwind_backtrace+0x0/0xf4) from [<c005ccb8>] (__lock_acquire+0x14f8/0x1b98)\n"
     " r7:df912310 r6:df912140\n"
     "[<c005ccb8>] (__lock_acquire+0x14f8/0x1b98) from [<bf054120>] (f+0x18/0xdc [mxs_mmc])\n",
     "unwind_backtrace __lock_acquire f[mxs_mmc]"},
    {"ppc64",
     "Unable to handle x\nCall Trace:\n[c000000010ff3a30] [c000000010ff3ad0] 0xc000000010ff3ad0 (unreliable)\n"
     "[c000000010ff3ad0] [c00000000806b258] .eeh_report_error+0x98/0x110\n",
     "?0xc000000010ff3ad0 .eeh_report_error"},
    {"s390",
     "kernel BUG at x!\nCall Trace:\n([<00000000027f8000>] 0x27f8000)\n [<000000000043c6fc>] scsi_init_io+0x3c/0x130\n"
     " [<000003ff8086d036>] sd_prep_fn+0x36/0x100 [sd_mod]\nLast Breaking-Event-Address:\n [<000003ff8086d036>] will_oops_init+0x36/0x1000\n",
     "?0x27f8000 scsi_init_io sd_prep_fn[sd_mod]"},
    {"contexts_on_frame_lines",
     "BUG: x\nCall Trace:\n <IRQ>  [<ffffffff81067c33>] ? warn_slowpath_common+0x83/0xc0\n <EOI>  [<ffffffff81000001>] f+0x1/0x2\n",
     "?warn_slowpath_common f"},
    // An e-mail client wrapped the source line to a line of its own; a
    // wrapped header's source line is no frame.
    {"wrapped_source_lines",
     "BUG: KASAN: use-after-free in f+0x94f/0x9b0\nnet/tipc/name_distr.c:413\nCall Trace:\n"
     " print_address_description.constprop.0.cold+0xeb/0x495\nmm/kasan/report.c:313\n"
     " kasan_report.cold+0xf4/0x1c6 mm/kasan/report.c:491\n",
     "print_address_description.constprop.0.cold kasan_report.cold"},
    {"interrupted_trace",
     "BUG: x\nCall Trace:\n [<ffffffff81000001>] a+0x1/0x2\nhub 1-1:1.0: USB hub found\n [<ffffffff81000002>] b+0x1/0x2\n",
     "a b"},
    {"lockdep_uses_stack_backtrace",
     "[ INFO: possible recursive locking detected ]\n #0:  (&m){+.+.+.}, at: [<ffffffff81175edb>] x+0x1/0x2\n"
     "       [<ffffffff810a7d59>] lock_acquire+0x1/0x2\nstack backtrace:\nPid: 1, comm: sh Not tainted 3.1.0 #1\n"
     "Call Trace:\n [<ffffffff81000001>] dump_stack+0x1/0x2\n",
     "dump_stack", CrashKind::lockdep},
    // No "stack backtrace:" (a quote cut short, "trying to register non-static
    // key"): the last chain's frames stand in, with an anomaly that says so.
    {"lockdep_without_backtrace_takes_the_chain", "[ INFO: possible circular locking dependency detected ]\n       [<c01b89c8>] __lock_acquire+0x940/0x9f8\n",
     "__lock_acquire", CrashKind::lockdep},
    {"bare_hex_function", "BUG: x\n [<f7a39000>] ? 0xf7a38fff\n", "?0xf7a38fff"},
    {"klogd_decimal_copy", "WARNING: at a.c:1 f+0x1/0x2\n [warn_on_slowpath+71/115] warn_on_slowpath+0x47/0x73\n",
     "warn_on_slowpath"},
    {"several_per_line", "BUG: x\n [<c0101234>] a+0x1/0x2 [<c0105678>] b+0x3/0x4\n", "a b"},
    {"trace_on_the_header_line", "BUG: x\nCall Trace: [<c0101234>] a+0x1/0x2 [<c0105678>] b+0x3/0x4 [m]\n", "a b[m]"},
    {"x86_64_2_6_9_braces",
     "BUG: x\nCall Trace:<ffffffff8010e0a4>{do_page_fault+1220} <ffffffffa0012345>{:jbd:journal_commit_transaction+456}\n"
     "       <ffffffff80110d91>{error_exit+0}\n",
     "do_page_fault journal_commit_transaction[jbd] error_exit"},
    {"end_trace_stops", "BUG: x\n a+0x1/0x2\n---[ end trace 0123 ]---\n b+0x1/0x2\n", "a"},
    {"summary_lines_are_not_frames",
     "BUG: x\nRIP: 0010:[<ffffffff8141cd77>]  [<ffffffff8141cd77>] f+0x17/0x299\nCall Trace:\n [<ffffffff81000001>] g+0x1/0x2\n"
     "RIP  [<ffffffff8141cd77>] f+0x17/0x299\nEIP: [<c04ac80f>] h+0x4d/0xab SS:ESP 0068:d6959e28\n",
     "g"},
};

INSTANTIATE_TEST_SUITE_P(All, Trace, testing::ValuesIn(kTraces),
                         [](const testing::TestParamInfo<TraceCase>& i) { return std::string(i.param.name); });

TEST(Trace, FrameDetails) {
  Report r = extract(
      "BUG: x\nCall Trace:\n <IRQ>\n [<ffffffffa033ae76>] ? xfs_buf_iodone_work+0x26/0x50 [xfs]\n </IRQ>\n"
      " <NMI>\n f+0x1/0x2 [mod 0123456789abcdef]\n");
  ASSERT_EQ(r.frames.size(), 2u);
  const Frame& a = r.frames[0];
  EXPECT_EQ(a.address, 0xffffffffa033ae76u);
  EXPECT_EQ(a.function, "xfs_buf_iodone_work");
  EXPECT_EQ(a.offset, 0x26u);
  EXPECT_EQ(a.size, 0x50u);
  EXPECT_EQ(a.module, "xfs");
  EXPECT_FALSE(a.reliable);
  EXPECT_EQ(a.context, "IRQ");
  EXPECT_EQ(a.line, 4u);
  EXPECT_EQ(r.frames[1].context, "NMI");
  EXPECT_EQ(r.frames[1].module_build_id, "0123456789abcdef");
}

// --- registers ----------------------------------------------------------------

TEST(Registers, X86_64DumpAndASecondOne) {
  Report r = extract(
      "BUG: x\nRIP: 0010:[<ffffffff81058e5d>]  [<ffffffff81058e5d>] f+0x4d/0xa8\n"
      "RSP: 0018:ffff88014f057818  EFLAGS: 00010046\n"
      "RAX: 0000000000000000 RBX: ffff880093480c48 RCX: 0000000000000001\n"
      "R08: 0000000000000002 R15: ffffffffffffffff\n"
      "FS:  00007f8a12345678(0000) GS:ffff88003fc00000(0000) knlGS:0000000000000000\n"
      "CS:  0010 DS: 0000 ES: 0000 CR0: 000000008005003b\n"
      "CR2: 00000000dd7ed3a8 CR3: 0000000001a05000 CR4: 00000000000006f0\n"
      "Call Trace:\n"
      "RIP: 0033:0x7f0000001000\nRSP: 002b:00007ffe00000000 EFLAGS: 00000246 ORIG_RAX: 0000000000000010\n"
      "RAX: ffffffffffffffda RBX: 0000000000000001\n"
      "CR2: 00000000dd7ed3a8\n");
  ASSERT_EQ(r.registers.size(), 2u);
  const RegisterSet& s = r.registers[0];
  EXPECT_EQ(s.line, 2u);
  EXPECT_EQ(s.get("rip"), 0xffffffff81058e5du);
  EXPECT_EQ(s.get("rsp"), 0xffff88014f057818u);
  EXPECT_EQ(s.get("eflags"), 0x10046u);
  EXPECT_EQ(s.get("rbx"), 0xffff880093480c48u);
  EXPECT_EQ(s.get("r8"), 2u);
  EXPECT_EQ(s.get("r15"), 0xffffffffffffffffu);
  EXPECT_EQ(s.get("fs"), 0x7f8a12345678u);
  EXPECT_EQ(s.get("gs"), 0xffff88003fc00000u);
  EXPECT_EQ(s.get("cr0"), 0x8005003bu);
  EXPECT_EQ(s.get("cr2"), 0xdd7ed3a8u);
  EXPECT_EQ(s.get("cr4"), 0x6f0u);
  EXPECT_EQ(r.registers[1].get("rip"), 0x7f0000001000u);
  EXPECT_EQ(r.registers[1].get("orig_rax"), 0x10u);
  EXPECT_EQ(r.registers[1].get("rax"), 0xffffffffffffffdau);
  EXPECT_EQ(r.arch, Arch::x86_64);
}

TEST(Registers, I386) {
  Report r = extract(
      "BUG: x\nEIP: 0060:[<c04ac80f>] EFLAGS: 00010046 CPU: 1\nEIP is at f+0x4d/0xab\n"
      "EAX: 00000000 EBX: f52d3d00 ECX: d6959d07 EDX: 00000009\n DS: 007b ES: 007b FS: 00d8 GS: 00e0 SS: 0068\n");
  ASSERT_EQ(r.registers.size(), 1u);
  EXPECT_EQ(r.registers[0].get("eip"), 0xc04ac80fu);
  EXPECT_EQ(r.registers[0].get("ebx"), 0xf52d3d00u);
  EXPECT_EQ(r.registers[0].get("ss"), 0x68u);
  EXPECT_EQ(r.cpu, 1u);
  EXPECT_EQ(r.arch, Arch::i386);
}

TEST(Registers, Arm64) {
  Report r = extract(
      "Unable to handle x\npc : f+0x1d/0x40\nlr : g+0x10/0x40\nsp : ffff800012343d50\n"
      "x29: ffff800012343d50 x28: ffff000012345678\nx1 : 0000000000000000 x0 : 0000000000000001\n");
  ASSERT_EQ(r.registers.size(), 1u);
  EXPECT_EQ(r.registers[0].get("sp"), 0xffff800012343d50u);
  EXPECT_EQ(r.registers[0].get("x29"), 0xffff800012343d50u);
  EXPECT_EQ(r.registers[0].get("x0"), 1u);
  EXPECT_EQ(r.arch, Arch::arm64);
}

TEST(Registers, ArmAndPpc) {
  Report arm = extract(
      "Unable to handle x\npc : [<c0333330>]    lr : [<c0333200>]    psr: 80070113\n"
      "sp : e8a59dd8  ip : 2d2f9000  fp : 00000000\nr10: e89fa198  r9 : 00000001  r8 : 000200da\n"
      "r3 : ee1a44a0  r2 : 00000009  r1 : 00000000  r0 : 00000000\n");
  ASSERT_EQ(arm.registers.size(), 1u);
  EXPECT_EQ(arm.registers[0].get("pc"), 0xc0333330u);
  EXPECT_EQ(arm.registers[0].get("psr"), 0x80070113u);
  EXPECT_EQ(arm.registers[0].get("ip"), 0x2d2f9000u);
  EXPECT_EQ(arm.registers[0].get("r2"), 9u);
  EXPECT_EQ(arm.arch, Arch::arm);

  Report ppc = extract(
      "Unable to handle x\nNIP: d0000000008cb4dc LR: d0000000008cb4d8 CTR: c0000000084af4e0\n"
      "MSR: 8000000000009032 <SF,EE,ME,IR,DR,RI> CR: 88000028 XER: 20000009\n"
      "DAR: 00000000000012e0, DSISR: 40000000\n"
      "GPR00: c00000000806b258 c000000010ff3a30 d0000000008e3bb8 0000000000000000\n"
      "GPR04: 0000000000000002 0000000000000000 8000010019990500 0000000000000007\n");
  ASSERT_EQ(ppc.registers.size(), 1u);
  EXPECT_EQ(ppc.registers[0].get("nip"), 0xd0000000008cb4dcu);
  EXPECT_EQ(ppc.registers[0].get("xer"), 0x20000009u);
  EXPECT_EQ(ppc.registers[0].get("dar"), 0x12e0u);
  EXPECT_EQ(ppc.registers[0].get("gpr1"), 0xc000000010ff3a30u);
  EXPECT_EQ(ppc.registers[0].get("gpr7"), 7u);
  EXPECT_EQ(ppc.arch, Arch::ppc64);
}

TEST(Registers, OrdinaryMessagesAreNotRegisters) {
  Report r = extract("BUG: x\nSP: setting up\nStatus: 0x1\nip: link up\nCS: 0010\n");
  EXPECT_TRUE(r.registers.empty());
}

// --- task, taint, release --------------------------------------------------------

struct TaskCase {
  const char* name;
  const char* text;
  std::optional<uint32_t> cpu;
  std::optional<uint32_t> pid;
  const char* comm;
  const char* taint;
  const char* release;
  const char* version;
  const char* hardware = "";
};

void PrintTo(const TaskCase& c, std::ostream* os) { *os << c.name; }

class Task : public testing::TestWithParam<TaskCase> {};

TEST_P(Task, IsRead) {
  const TaskCase& c = GetParam();
  Report r = extract(c.text);
  EXPECT_EQ(r.cpu, c.cpu);
  EXPECT_EQ(r.pid, c.pid);
  EXPECT_EQ(r.comm, c.comm);
  EXPECT_EQ(r.taint.flags, c.taint);
  EXPECT_EQ(r.kernel_release, c.release);
  EXPECT_EQ(r.kernel_version, c.version);
  EXPECT_EQ(r.hardware, c.hardware);
}

const TaskCase kTasks[] = {
    {"modern_not_tainted", "BUG: x\nCPU: 0 PID: 1 Comm: sh Not tainted 4.2.0 #1\nHardware name: QEMU Standard PC (i440FX + PIIX, 1996)\n",
     0, 1, "sh", "", "4.2.0", "#1", "QEMU Standard PC (i440FX + PIIX, 1996)"},
    {"modern_tainted", "BUG: x\nCPU: 1 PID: 796 Comm: EMT Tainted: G        W  OE   4.2.0-rc2-satori #1\n", 1, 796,
     "EMT", "G        W  OE", "4.2.0-rc2-satori", "#1"},
    {"debian_version", "BUG: x\nCPU: 11 PID: 63 Comm: ksoftirqd/11 Tainted: G         C    3.16.0-4-amd64 #1 Debian 3.16.7-ckt20-1+deb8u3\n",
     11, 63, "ksoftirqd/11", "G         C", "3.16.0-4-amd64", "#1 Debian 3.16.7-ckt20-1+deb8u3"},
    {"comm_with_space", "BUG: x\nCPU: 2 UID: 1000 PID: 77 Comm: Web Content Not tainted 6.12.0 #1\n", 2, 77,
     "Web Content", "", "6.12.0", "#1"},
    {"rhel_taint", "BUG: x\nCPU: 0 PID: 32037 Comm: insmod Tainted: GF          O--------------   3.10.0-54.0.1.el7.s390x #1\n",
     0, 32037, "insmod", "GF          O--------------", "3.10.0-54.0.1.el7.s390x", "#1"},
    {"pid_line", "BUG: x\nPid: 19703, comm: make Tainted: P      D    2.6.31.5-127.fc12.x86_64 #1 Latitude E6430\n",
     std::nullopt, 19703, "make", "P      D", "2.6.31.5-127.fc12.x86_64", "#1", "Latitude E6430"},
    {"pid_line_parenthesised", "BUG: x\nPid: 1224, comm: VBoxService Not tainted (2.6.32-5-686 #1) VirtualBox\n",
     std::nullopt, 1224, "VBoxService", "", "2.6.32-5-686", "#1", "VirtualBox"},
    {"hung_task", "INFO: task docker:20744 blocked for more than 120 seconds.\n      Tainted: G         C    3.16.0-4-amd64 #1\n",
     std::nullopt, 20744, "docker", "G         C", "3.16.0-4-amd64", "#1"},
    {"lockdep_release_line", "[ INFO: possible recursive locking detected ]\n3.5.0-rc5 #2 Not tainted\n", std::nullopt,
     std::nullopt, "", "", "3.5.0-rc5", "#2"},
    {"lockdep_tainted_release_line", "[ BUG: lock held ]\n3.4.0-rc5-next-20120501-sasha #104 Tainted: G        W\n",
     std::nullopt, std::nullopt, "", "G        W", "3.4.0-rc5-next-20120501-sasha", "#104"},
    {"linux_version", "BUG: x\nLinux version 3.10.0-49.el7.x86_64 (mockbuild@x) (gcc version 4.8.2 (GCC) ) #1 SMP Tue Nov 12 2013\n",
     std::nullopt, std::nullopt, "", "", "3.10.0-49.el7.x86_64", "#1 SMP Tue Nov 12 2013"},
    {"ppc_regs_line", "Unable to handle x\nREGS: c000000010ff37b0 TRAP: 0300 Tainted: G W -------------- (3.10.0-33.el7.ppc64)\n",
     std::nullopt, std::nullopt, "", "G W --------------", "3.10.0-33.el7.ppc64", ""},
    {"old_warning_taint", "WARNING: at a.c:1 f+0x1/0x2() (Tainted: P W)\n", std::nullopt, std::nullopt, "", "P W", "", ""},
    {"process_line", "BUG: x\nProcess rm (pid: 4008, ti=d6958000 task=f0f09920 task.ti=d6958000)\n", std::nullopt, 4008,
     "rm", "", "", ""},
    {"soft_lockup", "BUG: soft lockup - CPU#3 stuck for 22s! [kworker/3:1:1234]\n", 3, 1234, "kworker/3:1", "", "", ""},
    {"sleeping_in_atomic", "BUG: sleeping function called from invalid context at mm/slab.c:1\n"
                           "in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 12, name: kworker/0:1\n",
     std::nullopt, 12, "kworker/0:1", "", "", ""},
    {"truncated_pid_line", "BUG: x\nid: 17706, comm: fio Not tainted 3.4.0+ #288\n", std::nullopt, 17706, "fio", "",
     "3.4.0+", "#288"},
};

INSTANTIATE_TEST_SUITE_P(All, Task, testing::ValuesIn(kTasks),
                         [](const testing::TestParamInfo<TaskCase>& i) { return std::string(i.param.name); });

// CONFIG_STACKTRACE_BUILD_ID: vmlinux's build-id after the version's "#N"
// (lib/dump_stack.c prints " %20phN"); not part of the version string.
TEST(Task, VmlinuxBuildIdAfterTheVersion) {
  const std::string id = "3b43fad5034874490492495d552c0af6a5fab235";
  Report r = extract("BUG: x\nCPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-rc4 #1 " + id + "\n");
  EXPECT_EQ(r.kernel_release, "6.1.0-rc4");
  EXPECT_EQ(r.kernel_version, "#1");
  EXPECT_EQ(r.kernel_build_id, id);
  // Debian appends its version after the build-id.
  r = extract("BUG: x\nCPU: 2 PID: 9 Comm: sh Tainted: G  OE  6.1.0-56-cloud-amd64 #1 " + id + " Debian 6.1.192-2\n");
  EXPECT_EQ(r.kernel_version, "#1 Debian 6.1.192-2");
  EXPECT_EQ(r.kernel_build_id, id);
  // Not 40 hex digits: part of the version.
  r = extract("BUG: x\nCPU: 0 PID: 1 Comm: sh Not tainted 6.1.0 #1 3b43fad50348\n");
  EXPECT_EQ(r.kernel_version, "#1 3b43fad50348");
  EXPECT_EQ(r.kernel_build_id, "");
}

TEST(Task, SchedulingWhileAtomicPreemptCount) {
  Report r = extract("BUG: scheduling while atomic:qemu-system-x86/27122/0xffff8811\n");
  EXPECT_EQ(r.comm, "qemu-system-x86");
  EXPECT_EQ(r.pid, 27122u);
  EXPECT_EQ(r.preempt_count, 0xffff8811u);
  Report slash = extract("BUG: scheduling while atomic: kworker/0:1/123/0x00000002\n");
  EXPECT_EQ(slash.comm, "kworker/0:1");
  EXPECT_EQ(slash.pid, 123u);
  EXPECT_EQ(slash.preempt_count, 2u);
}

TEST(Taint, Meanings) {
  EXPECT_EQ(taint_meanings("G        W  OE"),
            (std::vector<std::string>{"W: kernel issued warning", "O: out-of-tree module loaded",
                                      "E: unsigned module loaded"}));
  EXPECT_EQ(taint_meanings("P    B D    O").size(), 4u);
  EXPECT_TRUE(taint_meanings("G --------------").empty());
  Report r = extract("BUG: x\nCPU: 0 PID: 1 Comm: sh Tainted: G D 4.2.0 #1\n");
  EXPECT_EQ(r.taint.meanings, (std::vector<std::string>{"D: kernel died recently (OOPS or BUG)"}));
}

// --- arch ---------------------------------------------------------------------------

TEST(Arch, FromReleaseSuffix) {
  struct C {
    const char* release;
    Arch arch;
  };
  const C cases[] = {
      {"2.6.32-431.el6.x86_64", Arch::x86_64}, {"3.16.0-4-amd64", Arch::x86_64},
      {"4.0.5-300.fc22.x86_64+debug", Arch::x86_64}, {"3.0.0-3.fc16.i686.PAE", Arch::i386},
      {"3.15.10-201.fc20.i686+PAE", Arch::i386}, {"2.6.32-5-686", Arch::i386},
      {"3.17.8-300.fc21.armv7hl", Arch::arm}, {"5.10.0-8-arm64", Arch::arm64},
      {"4.18.0-80.el8.aarch64", Arch::arm64}, {"3.10.0-33.el7.ppc64", Arch::ppc64},
      {"4.18.0-80.el8.ppc64le", Arch::ppc64}, {"3.10.0-54.0.1.el7.s390x", Arch::s390},
      {"2.6.27.56-0.1-default", Arch::unknown}, {"", Arch::unknown}, {"-.-+.", Arch::unknown},
  };
  for (const C& c : cases) EXPECT_EQ(arch_from_release(c.release), c.arch) << c.release;
}

TEST(Arch, InheritKernel) {
  Report r = extract("BUG: spinlock lockup suspected on CPU#0, a/73\n");
  inherit_kernel(r, "3.10.0-33.el7.ppc64", "#1");
  EXPECT_EQ(r.kernel_release, "3.10.0-33.el7.ppc64");
  EXPECT_EQ(r.kernel_version, "#1");
  EXPECT_EQ(r.arch, Arch::ppc64);
  Report own = extract("BUG: x\nCPU: 0 PID: 1 Comm: sh Not tainted 4.2.0 #1\n");
  inherit_kernel(own, "3.10.0-33.el7.ppc64", "#9");
  EXPECT_EQ(own.kernel_release, "4.2.0");
  EXPECT_EQ(own.kernel_version, "#1");
}

TEST(Arch, FromFormats) {
  EXPECT_EQ(extract("BUG: x\n [<ffffffff81000001>] a+0x1/0x2\n").arch, Arch::x86_64);
  EXPECT_EQ(extract("BUG: x\n [<c0101234>] a+0x1/0x2\n").arch, Arch::i386);
  EXPECT_EQ(extract("BUG: x\n[<c0101234>] (a) from [<c0105678>] (b+0x1/0x2)\n").arch, Arch::arm);
  EXPECT_EQ(extract("BUG: x\nKrnl PSW : 0404c00180000000 0000000000431f8e (f+0x62/0x7c)\n").arch, Arch::s390);
  EXPECT_EQ(extract("Unable to handle kernel pointer dereference in virtual kernel address space\nCall Trace:\n"
                    " [<000003ff7fc3d47e>] f+0x16/0x28 [aes_s390]\nLast Breaking-Event-Address:\n"
                    " [<000003ff7fc3e6b4>] g+0x104/0xa68 [aes_s390]\n").arch,
            Arch::s390);
  EXPECT_EQ(extract("BUG: x\n#0: (m){+.+.}, at: [<bf00b850>] f+0x64/0x138 [ks8851]\n").arch, Arch::arm);
  EXPECT_EQ(extract("BUG: KASAN: x\nCall Trace:\n kasan_report+0x1/0x2\n do_syscall_64+0x3/0x4\n"
                    " entry_SYSCALL_64_after_hwframe+0x63/0xcd\n").arch,
            Arch::x86_64);
  EXPECT_EQ(extract("BUG: x\nCall trace:\n f+0x1/0x2\n el0_svc+0x8/0xc\n").arch, Arch::arm64);
  EXPECT_EQ(extract("BUG: x\nCall Trace:\n f+0x1/0x2\n").arch, Arch::unknown);
  // The release wins over formats.
  EXPECT_EQ(extract("BUG: x\nCPU: 0 PID: 1 Comm: sh Not tainted 3.0.0-3.fc16.i686.PAE #1\n [<ffffffff81000001>] a+0x1/0x2\n").arch,
            Arch::i386);
}

// --- fault --------------------------------------------------------------------------------

struct FaultCase {
  const char* name;
  const char* text;
  std::optional<uint64_t> address;
};

void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name; }

class Fault : public testing::TestWithParam<FaultCase> {};

TEST_P(Fault, AddressIsRead) { EXPECT_EQ(extract(GetParam().text).fault_address, GetParam().address); }

const FaultCase kFaults[] = {
    {"x86_paging", "BUG: unable to handle kernel paging request at 00000000dd7ed3a8\n", 0xdd7ed3a8},
    {"x86_null_old", "BUG: unable to handle kernel NULL pointer dereference at (null)\n", 0},
    {"x86_null", "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008\n", 8},
    {"x86_5_x", "BUG: unable to handle page fault for address: ffffed1003c7bc01\n", 0xffffed1003c7bc01},
    {"x86_5_x_null", "BUG: kernel NULL pointer dereference, address: 0000000000000010\n", 0x10},
    {"arm", "Unable to handle kernel NULL pointer dereference at virtual address 00000009\n", 9},
    {"arm64", "Unable to handle kernel paging request at virtual address ffff800012345678\n", 0xffff800012345678},
    {"ppc", "Unable to handle kernel paging request for data at address 0x000012e0\n", 0x12e0},
    {"gpf", "general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1]\n",
     0xdffffc0000000001},
    {"kasan", "BUG: KASAN: use-after-free in f+0x1/0x2\nRead of size 8 at addr ffff88806a4e0e80 by task a/1\n",
     0xffff88806a4e0e80},
    {"s390", "Unable to handle kernel pointer dereference in virtual kernel address space\nFailing address: 0000000000000000 TEID: 0000000000000483\n",
     0},
    {"none", "WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n", std::nullopt},
    {"garbage", "BUG: unable to handle kernel paging request at zzzz\n", std::nullopt},
};

INSTANTIATE_TEST_SUITE_P(All, Fault, testing::ValuesIn(kFaults),
                         [](const testing::TestParamInfo<FaultCase>& i) { return std::string(i.param.name); });

TEST(Fault, Cr2) {
  Report from_cr2 = extract("BUG: unable to handle kernel paging request\nRIP: 0010:f+0x1/0x2\n"
                            "RAX: 0000000000000000 RBX: 0000000000000001\nCR2: 00000000dd7ed3a8 CR3: 0000000001a05000\n",
                            CrashKind::oops_paging);
  EXPECT_EQ(from_cr2.fault_address, 0xdd7ed3a8u);
  EXPECT_TRUE(from_cr2.anomalies.empty());
  Report differs = extract("BUG: unable to handle kernel paging request at 00000000dd7ed3a8\nRIP: 0010:f+0x1/0x2\n"
                           "CR2: 00000000dd7ed3a0 CR3: 0000000001a05000\n",
                           CrashKind::oops_paging);
  EXPECT_EQ(differs.fault_address, 0xdd7ed3a8u);
  ASSERT_EQ(differs.anomalies.size(), 1u);
  EXPECT_NE(differs.anomalies[0].message.find("CR2 0xdd7ed3a0"), std::string::npos);
  Report gpf = extract("general protection fault: 0000 [#1]\nCR2: 00007f0000001000 CR3: 0000000001a05000\n",
                       CrashKind::gpf);
  EXPECT_FALSE(gpf.fault_address);  // CR2 is stale after a GPF
}

TEST(Fault, OopsCodeAndErrorCode) {
  Report old = extract("BUG: unable to handle kernel paging request at 0000000000001000\nOops: 0002 [#3] SMP\n"
                       " [<ffffffff81000001>] a+0x1/0x2\n",
                       CrashKind::oops_paging);
  EXPECT_EQ(old.oops_code, "0002 [#3] SMP");
  EXPECT_EQ(old.oops_number, 3u);
  ASSERT_TRUE(old.error_code);
  EXPECT_TRUE(old.error_code->write());

  Report modern = extract("BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
                          "#PF: supervisor read access in kernel mode\n#PF: error_code(0x0000) - not-present page\n"
                          "Oops: 0000 [#1] PREEMPT SMP NOPTI\n",
                          CrashKind::null_deref);
  ASSERT_TRUE(modern.error_code);
  EXPECT_EQ(modern.error_code->code, 0u);
  EXPECT_EQ(modern.oops_code, "0000 [#1] PREEMPT SMP NOPTI");

  Report seed = extract("BUG: unable to handle kernel paging request at 00000000dd7ed3a8\nOops:0000 [#1] SMP\n");
  EXPECT_EQ(seed.oops_code, "0000 [#1] SMP");

  Report arm = extract("Unable to handle kernel NULL pointer dereference at virtual address 00000009\n"
                       "Internal error: Oops: 805 [#1] SMP ARM\nCPU: 1 PID: 431 Comm: a Not tainted 3.17.8-300.fc21.armv7hl #1\n",
                       CrashKind::null_deref);
  EXPECT_EQ(arm.oops_code, "805 [#1] SMP ARM");
  EXPECT_FALSE(arm.error_code);  // an arm FSR, not an x86 error code

  Report ppc = extract("Unable to handle x\nOops: Kernel access of bad area, sig: 11 [#1]\n");
  EXPECT_EQ(ppc.oops_code, "Kernel access of bad area, sig: 11 [#1]");

  Report gpf = extract("general protection fault: 0000 [#1] SMP \n");
  EXPECT_EQ(gpf.oops_code, "0000 [#1] SMP");
  EXPECT_FALSE(gpf.error_code);
}

// --- modules and Code: ------------------------------------------------------------------------

TEST(Modules, WrappedListsAndFlags) {
  Report r = extract(
      "BUG: x\nModules linked in: tcp_lp fuse 8021q garp p4_clockmod stp llc ip6t_REJECT radeon(+)(U) vboxdrv(OE)\n"
      "nf_conntrack_ipv6 nf_defrag_ipv6 [last unloaded: mperf]\nPid: 4008, comm: rm Not tainted 2.6.38 #1\n");
  EXPECT_EQ(r.modules, (std::vector<std::string>{"tcp_lp", "fuse", "8021q", "garp", "p4_clockmod", "stp", "llc",
                                                 "ip6t_REJECT", "radeon", "vboxdrv", "nf_conntrack_ipv6",
                                                 "nf_defrag_ipv6"}));
  EXPECT_EQ(r.pid, 4008u);
  Report indented = extract("BUG: x\nModules linked in: a b\n c_d e\nregistering preempt_notifier while disabled\n");
  EXPECT_EQ(indented.modules, (std::vector<std::string>{"a", "b", "c_d", "e"}));
}

TEST(Code, WrappedBytesAreJoined) {
  Report r = extract(
      "BUG: x\nCode: c7 43 10 00 00 00 00 ff 4e 30 e8 bc 14 01 00 8b 03 a9 00 00 08 00 74 0c\n"
      "ba 16 00 00 00 89 d8 e8 a7 14 01 00 8b 43 08 85 c0 78 02 <0f> 0b 8b 03 a8 10 74\n"
      "51 8b 46 40\nEIP: [<c04ac80f>] f+0x4d/0xab SS:ESP 0068:d6959e28\n");
  ASSERT_TRUE(r.code);
  EXPECT_TRUE(r.code->decodable) << r.code->problem;
  EXPECT_EQ(r.code->bytes.size(), 24u + 26u + 4u);
  EXPECT_EQ(r.code->faulting_offset, 24u + 19u);
}

// The registers of the user-mode entry frame come with the task's own Code:
// (kernel-lab atomicsleep.log): user code at the syscall is not the fault.
TEST(Code, UserModeCodeIsNotTheFaultingCode) {
  const std::string user =
      "BUG: scheduling while atomic: init/1/0x00000002\nCall Trace:\n <TASK>\n dump_stack_lvl+0x44/0x5c\n"
      " </TASK>\nRIP: 0033:0x47b7a0\n"
      "Code: 40 00 48 c7 c2 e0 ff ff ff f7 d8 64 89 02 0f 05 <48> 3d 00 f0 ff ff 77 58 c3\n"
      "RSP: 002b:00007ffd5d4b0a58 EFLAGS: 00000246 ORIG_RAX: 0000000000000023\n";
  EXPECT_FALSE(extract(user).code);
  // A kernel Code: before the user registers stays the report's.
  Report both = extract(
      "BUG: unable to handle page fault for address: 0000000000000008\nRIP: 0010:f+0x1/0x2\n"
      "Code: 0f 1f 44 00 00 <48> 8b 47 08 c3\nRSP: 0018:ffffc90000003e48 EFLAGS: 00010246\n" +
      user.substr(user.find("RIP:")));
  ASSERT_TRUE(both.code);
  EXPECT_EQ(both.code->bytes.size(), 10u);
  // A user task's segfault message carries its Code: too.
  EXPECT_FALSE(extract("BUG: x\nsh[96]: segfault at 427700 ip 0000000000427700 sp 00007fff8056dc68 error 14 in "
                       "busybox[401000+184000] likely on CPU 0 (core 0, socket 0)\n"
                       "Code: Unable to access opcode bytes at 0x4276d6.\n")
                   .code);
  // The Code: of a kernel RIP after a user one is read.
  Report later = extract("BUG: x\nRIP: 0033:0x47b7a0\nRSP: 002b:00007ffd5d4b0a58 EFLAGS: 00000246\n"
                         "RIP: 0010:f+0x1/0x2\nCode: 0f 1f 44 00 00 <48> 8b 47 08 c3\n");
  ASSERT_TRUE(later.code);
  EXPECT_EQ(later.code->faulting_offset, 5u);
}

// The lab's atomicsleep.log: a report's stack ends, then a user task's
// segfault message and its Code: line, then the next report. The first
// report ends at its "</TASK>" (it ran on over the segfault lines).
TEST(Code, AUserSegfaultAfterTheStackEndsTheReport) {
  const std::string log =
      "[    3.2] BUG: scheduling while atomic: sh/96/0x00000002\n"
      "[    3.2] Call Trace:\n"
      "[    3.2]  <TASK>\n"
      "[    3.2]  dump_stack_lvl+0x44/0x5c\n"
      "[    3.2]  __schedule_bug.cold+0x4b/0x57\n"
      "[    3.2]  </TASK>\n"
      "[    3.3] sh[96]: segfault at 427700 ip 0000000000427700 sp 00007fff8056dc68 error 14 in "
      "busybox[401000+184000] likely on CPU 0 (core 0, socket 0)\n"
      "[    3.3] Code: Unable to access opcode bytes at 0x4276d6.\n"
      "[    3.4] BUG: scheduling while atomic: sh/96/0x00000000\n"
      "[    3.4] Call Trace:\n"
      "[    3.4]  <TASK>\n"
      "[    3.4]  dump_stack_lvl+0x44/0x5c\n"
      "[    3.4]  </TASK>\n";
  std::vector<Report> reports = parse_log(log);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].span.last_line, 6u);
  EXPECT_EQ(reports[0].frames.size(), 2u);
  EXPECT_EQ(reports[1].span.first_line, 9u);
}

// --- damaged and hostile input -------------------------------------------------------------------

TEST(Damaged, SeedTyposAreReadAndRecorded) {
  Report r = extract(
      "BUG: unable to handle kernel paging request at 00000000dd7ed3a8\n"
      "IP: [<fffffff81058e5d>] task_rq_lock+0x4d/0xa8\n"
      "[<ffffffffa032326d>] ? xlog_cli_committed+0x0x3d/0x100 [xfs]\n");
  ASSERT_TRUE(r.ip);
  EXPECT_EQ(r.ip->address, 0xfffffff81058e5du);
  EXPECT_EQ(r.ip->function, "task_rq_lock");
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0].function, "xlog_cli_committed");
  EXPECT_EQ(r.frames[0].offset, 0x3du);
  EXPECT_EQ(r.frames[0].size, 0x100u);
  EXPECT_EQ(r.frames[0].module, "xfs");
  ASSERT_EQ(r.anomalies.size(), 2u);
  EXPECT_EQ(r.anomalies[0].line, 2u);
  EXPECT_NE(r.anomalies[0].message.find("15 hex digits"), std::string::npos);
  EXPECT_EQ(r.anomalies[1].line, 3u);
  EXPECT_NE(r.anomalies[1].message.find("0x"), std::string::npos);
}

TEST(Damaged, PartialFramesAreKept) {
  Report r = extract(
      "BUG: x\n [<ffffffff81000001>] a+0xzz/0x2\n [<ffffffff8100000100000>] b+0x1/0x2\n [<ffffffff81000003>]\n"
      " [<ffffffff81000004>] c+\n");
  ASSERT_EQ(r.frames.size(), 4u);
  EXPECT_EQ(r.frames[0].function, "a");
  EXPECT_FALSE(r.frames[0].offset);
  EXPECT_EQ(r.frames[1].function, "b");
  EXPECT_FALSE(r.frames[1].address);
  EXPECT_EQ(r.frames[2].function, "");
  EXPECT_EQ(r.frames[2].address, 0xffffffff81000003u);
  EXPECT_EQ(r.frames[3].function, "c");
  EXPECT_FALSE(r.anomalies.empty());
}

TEST(Damaged, RandomLinesNeverCrash) {
  const char* pieces[] = {"RIP: ", "0010:", "[<", ">]", "ffffffff81000000", "+0x", "/0x", " [", "]", " ? ",
                          "Call Trace:", "<IRQ>", "(", ")", " from ", "Tainted: ", "Not tainted", " #1",
                          "CPU: ", " PID: ", " Comm: ", "Code: ", "<0f>", "Modules linked in:", "GPR00:",
                          "Krnl PSW : ", "pc : ", "x0 : ", "NIP [", "Oops: ", "[#", "scheduling while atomic:",
                          "/", ":", " ", "\t", "\xff", "0x0x", "stack backtrace:", "---[ end trace"};
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    int lines = 1 + static_cast<int>(rng() % 12);
    for (int l = 0; l < lines; ++l) {
      int n = static_cast<int>(rng() % 10);
      for (int k = 0; k < n; ++k) text += pieces[rng() % std::size(pieces)];
      text += '\n';
    }
    Report r = extract(text, rng() % 2 ? CrashKind::oops_paging : CrashKind::lockdep);
    for (const Frame& f : r.frames) ASSERT_GE(f.line, 1u);
    ASSERT_LE(r.registers.size(), 32u);
  }
}

TEST(Damaged, HugeTraceIsCapped) {
  std::string text = "BUG: x\nCall Trace:\n";
  for (int i = 0; i < 3000; ++i) text += " f+0x1/0x2\n";
  Report r = extract(text);
  EXPECT_EQ(r.frames.size(), 1024u);
  EXPECT_FALSE(r.anomalies.empty());
}

TEST(Symbol, ParseSymbol) {
  Symbol s;
  ASSERT_TRUE(parse_symbol("  xfs_buf_unlock+0x32/0x90 [xfs]", s));
  EXPECT_EQ(s.function, "xfs_buf_unlock");
  EXPECT_EQ(s.offset, 0x32u);
  EXPECT_EQ(s.size, 0x90u);
  EXPECT_EQ(s.module, "xfs");
  Symbol none;
  EXPECT_FALSE(parse_symbol("", none));
  EXPECT_FALSE(parse_symbol("+0x1/0x2", none));
  EXPECT_FALSE(parse_symbol("(foo)", none));
}

TEST(AssertionSite, FromBugAndWarningLines) {
  auto a = assertion_site("kernel BUG at mm/slub.c:419!");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->file, "mm/slub.c");
  EXPECT_EQ(a->line, 419u);
  auto b = assertion_site("WARNING: CPU: 0 PID: 96 at /kernel-lab/build/crashzoo/crashzoo.c:169 zoo_warn+0xf/0x16 [crashzoo]");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->file, "/kernel-lab/build/crashzoo/crashzoo.c");
  EXPECT_EQ(b->line, 169u);
  EXPECT_FALSE(assertion_site("BUG: unable to handle kernel paging request at 00000000dd7ed3a8"));
  EXPECT_FALSE(assertion_site("kernel BUG at :!"));
}

TEST(Notes, ClassifiesLines) {
  struct Case {
    const char* line;
    std::optional<NoteKind> kind;
    const char* text;  // the note's text
  } cases[] = {
      {"list_add corruption. next->prev should be prev (ffff8880), but was 0000.", NoteKind::list_check, nullptr},
      {"refcount_t: underflow; use-after-free.", NoteKind::refcount_check, nullptr},
      {"usercopy: Kernel memory exposure attempt detected from SLUB object 'kmalloc-64' (offset 0, size 128)!",
       NoteKind::usercopy_check, nullptr},
      {"crashzoo: loading out-of-tree module taints kernel.", NoteKind::module_taint, nullptr},
      {"in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 96, name: sh", NoteKind::atomic_context, nullptr},
      {"2 locks held by kworker/0:1/31:", NoteKind::locks_held, nullptr},
      {" #0: ffff88800e8d0d48 ((wq_completion)events){+.+.}-{0:0}, at: process_one_work+0x1c4/0x3c0",
       NoteKind::lock, nullptr},
      {"NMI watchdog: Watchdog detected hard LOCKUP on cpu 1", NoteKind::hard_lockup, nullptr},
      {"mm: held by nobody", std::nullopt, nullptr},
      {"usb 1-1: new device", std::nullopt, nullptr},
  };
  for (const Case& c : cases) {
    std::optional<Note> n = note_for_line(c.line, ByteSet(c.line), 7);
    ASSERT_EQ(n.has_value(), c.kind.has_value()) << c.line;
    if (!n) continue;
    EXPECT_EQ(n->kind, *c.kind) << c.line;
    EXPECT_EQ(n->line, 7u);
  }
}

// A check's verdict printed just before the report, and a module's taint
// earlier in the boot, reach the report as notes; a verdict farther away or
// a module of the previous boot does not.
TEST(Notes, LinesAroundTheReport) {
  const char* log =
      "[    1.0] Linux version 6.1.0 (gcc) #1 SMP\n"
      "[    2.0] old: loading out-of-tree module taints kernel.\n"
      "[    3.0] Linux version 6.1.0 (gcc) #1 SMP\n"
      "[    4.0] crashzoo: loading out-of-tree module taints kernel.\n"
      "[    5.0] list_del corruption. far away\n"
      "[    5.1] filler\n"
      "[    5.2] filler\n"
      "[    5.3] filler\n"
      "[    6.0] list_add corruption. next->prev should be prev\n"
      "[    6.1] ------------[ cut here ]------------\n"
      "[    6.2] kernel BUG at lib/list_debug.c:30!\n"
      "[    6.3] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI\n";
  std::vector<Report> reports = parse_log(log);
  ASSERT_EQ(reports.size(), 1u);
  const Report& r = reports[0];
  std::vector<std::string> texts;
  for (const Note& n : r.notes) texts.push_back(std::string(to_string(n.kind)) + ":" + n.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"module_taint:crashzoo: loading out-of-tree module taints kernel.",
                                             "list_check:list_add corruption. next->prev should be prev"}));
  ASSERT_TRUE(r.assertion);
  EXPECT_EQ(r.assertion->file, "lib/list_debug.c");
}

}  // namespace
}  // namespace ktriage::logparse

// The detector table, the literal prefilter and report boundaries:
// which lines start reports, which do not, chunking invariance, the seed
// case, and hostile input (garbage, NULs, endless lines and traces).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ktriage/logparse.h"
#include "logparse/detectors.h"

namespace {

using ktriage::CrashKind;
using ktriage::Report;
namespace lp = ktriage::logparse;

std::vector<Report> parse_chunked(std::string_view text, size_t chunk) {
  ktriage::LogParser parser;
  for (size_t i = 0; i < text.size(); i += chunk) parser.feed(text.substr(i, chunk));
  parser.finish();
  return parser.take_reports();
}

TEST(Detectors, HeadersAndSuppressions) {
  struct Case {
    const char* line;
    const char* header;  // nullptr: not a report header
  } cases[] = {
      {"BUG: unable to handle kernel NULL pointer dereference at 0000000000000008", "BUG:"},
      {"ODEBUG: free active (active state 0) object type: timer_list", nullptr},
      {"WARNING: CPU: 1 PID: 2 at mm/slab.c:1 f+0x1/0x2", "WARNING:"},
      {"WARNING: /etc/ssh/moduli does not exist, using fixed modulus", nullptr},
      {"INFO: lockdep is turned off.", nullptr},
      {"general protection fault: 0000 [#1] SMP", "general protection fault"},
      {"traps: a.out[1] general protection fault ip:1 sp:2 error:0 in a.out[400000+1000]", nullptr},
      {"skb_over_panic: text:ffffffff", nullptr},
      {"Kernel panic - not syncing: Fatal exception", "Kernel panic"},
      {"Badness at drivers/char/tty_ldisc.c:738", "Badness at"},
      {"usb 1-1: new high-speed USB device number 2 using ehci-pci", nullptr},
  };
  for (const Case& c : cases) {
    const lp::Detector* d = lp::match_header(c.line);
    if (!c.header) {
      EXPECT_EQ(d, nullptr) << c.line;
    } else {
      ASSERT_NE(d, nullptr) << c.line;
      EXPECT_EQ(d->header, c.header) << c.line;
    }
  }
}

TEST(Detectors, EveryFormatBelongsToItsHeader) {
  // Titles are searched only where the detector's header occurs.
  for (const lp::Detector& d : lp::detector_table()) {
    for (const lp::TitleFormat& f : d.formats) {
      EXPECT_TRUE(f.title->ok()) << d.header << ": " << f.title->pattern();
      if (!f.title_literal.empty()) {
        EXPECT_EQ(f.title_literal.rfind(d.header, 0), 0u) << f.title->pattern();
      }
      if (f.report) {
        EXPECT_TRUE(f.report->ok()) << f.report->pattern();
      }
    }
  }
}

TEST(LiteralScanner, FindsLiteralsAtAnyAlignment) {
  const lp::LiteralScanner& s = lp::literal_scanner();
  for (const char* lit : {"BUG:", "INFO:", "general protection fault", "Kernel panic", "UBSAN:", "int3:", "WARNING:",
                          "---[ end ", "Kernel BUG", "SYZFATAL:"}) {
    for (size_t pad = 0; pad < 14; ++pad) {
      std::string text = std::string(pad, 'x') + lit + " tail";
      EXPECT_EQ(s.find(text), pad) << lit << " at " << pad;
    }
  }
  // find() scans in windows of 16 KiB: literals straddling a window edge.
  for (const char* lit : {"BUG:", "WARNING:", "---[ end ", "general protection fault"}) {
    for (size_t at = 16384 - 30; at <= 16384 + 2; ++at) {
      std::string text = std::string(at, 'x') + lit + " tail";
      EXPECT_EQ(s.find(text), at) << lit << " at " << at;
    }
  }
  EXPECT_EQ(s.find("an ordinary line: nothing to see, debug: ok"), std::string_view::npos);
  EXPECT_FALSE(s.any(""));
  EXPECT_FALSE(s.any("BUG"));
}

// frame_names() is a hand-written matcher for the grammar's frame patterns:
// it must give what the patterns give, on edge cases and on every line of
// the shared corpus (when present).
lp::FrameNames frame_names_by_regex(std::string_view line) {
  lp::FrameNames out;
  for (const auto& re : lp::stack_grammar().frame) {
    re2::StringPiece groups[3];
    int n = std::min(re->NumberOfCapturingGroups() + 1, 3);
    if (!re->Match(line, 0, line.size(), RE2::UNANCHORED, groups, n)) continue;
    for (int k = 1; k < n; ++k) out.name[out.count++] = std::string_view(groups[k].data(), groups[k].size());
    return out;
  }
  return out;
}

void expect_same_frame_names(std::string_view line) {
  lp::FrameNames got = lp::frame_names(line), want = frame_names_by_regex(line);
  ASSERT_EQ(got.count, want.count) << line;
  for (int k = 0; k < want.count; ++k) EXPECT_EQ(got.name[k], want.name[k]) << line;
}

TEST(FrameNames, AgreeWithTheFramePatterns) {
  for (const char* line : {
           " [<ffffffff81058e5d>] task_rq_lock+0x4d/0xa8", "[<ffffffff81058e5d>] ? xfs_iomap+0x0x3d/0x2a0",
           " [<ffffffff81058e5d>] [<ffffffff81058e5d>] f.isra.0+0x1/0x2", "  do_syscall_64+0x3d/0x90",
           "[0x1f] f+0x1", "[<0x1f>] f+0x1", "[0x] f+0x1", "[<>] f+0x1", "[0x0x1] f+0x1", "[<1f> f+0x1",
           "[<1f>]f+0x1", "[<1F>] f+0x1", "[<1f>] [<2f>] [<3f>] f+0x1", "[<1f>]  f+0x1", "ata3.00: configured",
           "f", "f+", "+0x1", "", " ", "[", "[<", "[<1f>] ", "\xe9" "f+0x1", "? f+0x1",
           "[<c0123456>] (dump_backtrace) from [<c0123457>] (show_stack+0x10/0x14)",
           "[<c0123456>] (dump_backtrace+0x0/0x10) from [<c0123457>] (show_stack+0x10/0x14)",
           " [<c0123456>] (a.b) from [<c0123457>] (c.constprop.0)", "[<c0123456>] (a) from [<c01>] (c)",
       }) {
    SCOPED_TRACE(line);
    expect_same_frame_names(line);
  }
  namespace fs = std::filesystem;
  const fs::path corpus = fs::path(KTRIAGE_SHARED_DIR) / "corpus";
  if (!fs::is_directory(corpus)) GTEST_SKIP() << "no shared corpus: edge cases only";
  size_t lines = 0;
  for (const auto& e : fs::recursive_directory_iterator(corpus)) {
    if (!e.is_regular_file() || e.file_size() > (8 << 20)) continue;
    std::ifstream in(e.path(), std::ios::binary);
    for (std::string line; std::getline(in, line); ++lines) {
      expect_same_frame_names(line);
      if (HasFailure()) FAIL() << e.path();
    }
  }
  EXPECT_GT(lines, 10000u);
}

// LazyRE2::may_match() may only say no where the pattern cannot match.
TEST(RequiredText, AlternativesAndLeadingLiterals) {
  lp::LazyRE2 alt("general protection fault|stack segment");
  EXPECT_TRUE(alt.may_match("stack segment: 0000 [#1] SMP"));
  EXPECT_TRUE(alt.may_match("x general protection fault y"));
  EXPECT_FALSE(alt.may_match("general protection"));
  lp::LazyRE2 quantified("rcu.*stall");
  EXPECT_TRUE(quantified.may_match("rcu: INFO: rcu_sched self-detected stall"));
  EXPECT_FALSE(quantified.may_match("RCU stall"));
  // '(' may hide a '|': no hint, everything may match.
  lp::LazyRE2 grouped("Bad page (state|map)|x");
  EXPECT_TRUE(grouped.may_match("nothing alike"));
  lp::LazyRE2 anchored("^foo|bar");
  EXPECT_TRUE(anchored.may_match("baz"));
}

TEST(RequiredText, NeverRejectsALineTheStackPartMatches) {
  namespace fs = std::filesystem;
  std::vector<const lp::LazyRE2*> parts;
  for (const lp::Detector& d : lp::detector_table())
    for (const lp::TitleFormat& f : d.formats)
      if (f.stack)
        for (const auto* list : {&f.stack->parts, &f.stack->parts2})
          for (const lp::LazyRE2* p : *list)
            if (p && std::find(parts.begin(), parts.end(), p) == parts.end()) parts.push_back(p);
  ASSERT_GT(parts.size(), 10u);
  const fs::path logs = fs::path(KTRIAGE_SHARED_DIR) / "corpus" / "syzkaller" / "linux" / "report";
  if (!fs::is_directory(logs)) GTEST_SKIP() << "no shared corpus";
  size_t checked = 0, matched = 0;
  for (const auto& e : fs::directory_iterator(logs)) {
    std::ifstream in(e.path(), std::ios::binary);
    for (std::string line; std::getline(in, line);) {
      for (const lp::LazyRE2* p : parts) {
        if (!RE2::PartialMatch(line, **p)) continue;
        ++matched;
        ASSERT_TRUE(p->may_match(line)) << p->source() << "\n" << line;
        ASSERT_TRUE(p->may_match(lp::ScannedLine(line))) << p->source() << "\n" << line;
      }
      ++checked;
    }
  }
  EXPECT_GT(matched, 1000u) << checked << " lines";
}

TEST(Kinds, FromHeaders) {
  struct Case {
    const char* header;
    CrashKind kind;
  } cases[] = {
      {"BUG: unable to handle kernel NULL pointer dereference at 0000000000000078", CrashKind::null_deref},
      {"BUG: unable to handle kernel paging request at ffff88000", CrashKind::oops_paging},
      {"Unable to handle kernel paging request for data at address 0x000012e0", CrashKind::oops_paging},
      {"general protection fault: 0000 [#1] SMP", CrashKind::gpf},
      {"kernel BUG at mm/filemap.c:125!", CrashKind::bug_at},
      {"kernel BUG at lib/list_debug.c:53!", CrashKind::list_corruption},
      {"WARNING: at kernel/watchdog.c:245 watchdog_overflow_callback+0x9c/0xd0()", CrashKind::warning},
      {"[ INFO: possible circular locking dependency detected ]", CrashKind::lockdep},
      {"BUG: soft lockup - CPU#1 stuck for 22s! [X:5189]", CrashKind::soft_lockup},
      {"INFO: task docker:20744 blocked for more than 120 seconds.", CrashKind::hung_task},
      {"INFO: rcu_sched self-detected stall on CPU", CrashKind::rcu_stall},
      {"BUG: scheduling while atomic: swapper/0/0/0x00000002", CrashKind::scheduling_while_atomic},
      {"BUG: sleeping function called from invalid context at mm/slab.c:1", CrashKind::sleeping_in_atomic},
      {"Kernel panic - not syncing: hung_task: blocked tasks", CrashKind::panic},
      {"double fault: 0000 [#3] SMP", CrashKind::double_fault},
      {"BUG: KASAN: use-after-free in f+0x1/0x2", CrashKind::kasan},
      {"BUG: spinlock lockup on CPU#0, swapper/0", CrashKind::other},
      // ppc64's watchdog, old and 5.16+ wording.
      {"Watchdog CPU:71 detected Hard LOCKUP other CPUS:42", CrashKind::hard_lockup},
      {"watchdog: CPU 15 Hard LOCKUP", CrashKind::hard_lockup},
      {"watchdog: CPU 3 self-detected hard LOCKUP @ queued_spin_lock_slowpath+0x1184/0x1490", CrashKind::hard_lockup},
      {"watchdog: CPU 3 detected hard LOCKUP on other CPUs 42", CrashKind::hard_lockup},
      {"Kernel panic - not syncing: Hard LOCKUP", CrashKind::panic},
  };
  for (const Case& c : cases) {
    const lp::Detector* d = lp::match_header(c.header);
    ASSERT_NE(d, nullptr) << c.header;
    EXPECT_EQ(lp::kind_for_report(*d, c.header, c.header), c.kind) << c.header;
  }
}

const char kTwoReports[] =
    "[    1.000000] usb 1-1: new device\n"
    "[    2.000000] WARNING: CPU: 0 PID: 1 at net/core/dev.c:100 dev_watchdog+0x254/0x260\n"
    "[    2.000001] Modules linked in: e1000\n"
    "[    2.000002] Call Trace:\n"
    "[    2.000003]  [<ffffffff81000001>] dump_stack+0x1/0x2\n"
    "[    2.000004]  [<ffffffff81000002>] dev_watchdog+0x254/0x260\n"
    "[    2.000005] ---[ end trace 0123456789abcdef ]---\n"
    "[    3.000000] some filler\n"
    "[    4.000000] BUG: unable to handle kernel NULL pointer dereference at 0000000000000008\n"
    "[    4.000001] IP: [<ffffffff81000003>] foo_bar+0x10/0x20\n"
    "[    4.000002] Call Trace:\n"
    "[    4.000003]  [<ffffffff81000004>] baz+0x1/0x2\n"
    "[    4.000004] Kernel panic - not syncing: Fatal exception\n";

TEST(Boundaries, EveryReportListedInOrder) {
  auto reports = ktriage::parse_log(kTwoReports);
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_EQ(reports[0].title, "WARNING in dev_watchdog");
  EXPECT_EQ(reports[0].span.first_line, 2u);
  EXPECT_EQ(reports[1].title, "BUG: unable to handle kernel NULL pointer dereference in foo_bar");
  EXPECT_EQ(reports[1].kind, CrashKind::null_deref);
  EXPECT_EQ(reports[2].kind, CrashKind::panic);  // a panic line is its own report
  for (const Report& r : reports) EXPECT_TRUE(r.panicked);
  EXPECT_EQ(reports[1].timestamp.value_or(0), 4.0);
}

TEST(Boundaries, ChunkingDoesNotMatter) {
  auto whole = ktriage::parse_log(kTwoReports);
  for (size_t chunk : {1, 2, 3, 7, 64}) {
    auto parts = parse_chunked(kTwoReports, chunk);
    ASSERT_EQ(parts.size(), whole.size()) << chunk;
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(parts[i].title, whole[i].title) << chunk;
      EXPECT_EQ(parts[i].span.begin, whole[i].span.begin) << chunk;
      EXPECT_EQ(parts[i].span.end, whole[i].span.end) << chunk;
      EXPECT_EQ(parts[i].span.last_line, whole[i].span.last_line) << chunk;
    }
  }
}

TEST(Boundaries, ContinuationHeadersStayInTheirReport) {
  auto reports = ktriage::parse_log(
      "kernel BUG at fs/buffer.c:1270!\n"
      "invalid opcode: 0000 [#1] SMP\n"
      "RIP: 0010:[<ffffffff811c1f84>]  [<ffffffff811c1f84>] __find_get_block+0x1/0x2\n"
      "Call Trace:\n"
      " [<ffffffff811c1f85>] __getblk+0x1/0x2\n");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].title, "kernel BUG in __find_get_block");
}

// arm64's BUG() dies with "Internal error: Oops - BUG:", which also holds
// "BUG:": like x86's "invalid opcode" it continues the kernel BUG report
// (syzkaller decompile/arm64/0.in).
TEST(Boundaries, Arm64BugInternalErrorContinuesTheReport) {
  auto reports = ktriage::parse_log(
      "kernel BUG at kernel/power/snapshot.c:257!\n"
      "Internal error: Oops - BUG: 0 [#1] PREEMPT SMP\n"
      "pc : memory_bm_free+0x260/0x320 kernel/power/snapshot.c:726\n"
      "Call trace:\n"
      " memory_bm_free+0x260/0x320 kernel/power/snapshot.c:726\n"
      " free_basic_memory_bitmaps+0x3c/0x90 kernel/power/snapshot.c:1173\n"
      "Code: cb000260 d34cfc00 97fcf6fe 35fffc20 (d4210000)\n");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].title, "kernel BUG in memory_bm_free");
  EXPECT_EQ(reports[0].frames.size(), 2u);
}

// i386's exc_double_fault prints its PANIC line, then die()'s header (6.x
// wording; no real excerpt found): one report.
TEST(Boundaries, I386DoubleFaultIsOneReport) {
  auto reports = ktriage::parse_log(
      "traps: PANIC: double fault, error_code: 0x0\n"
      "Oops: double fault: 0000 [#1] PREEMPT SMP\n"
      "CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-13-686-pae #1 Debian 6.1.55-1\n"
      "EIP: do_something+0x1e/0x40\n"
      "Call Trace:\n"
      " do_something+0x1e/0x40\n"
      " kernel_init+0x1/0x2\n");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].kind, CrashKind::double_fault);
  EXPECT_EQ(reports[0].title, "PANIC: double fault in do_something");
  EXPECT_EQ(reports[0].arch, ktriage::Arch::i386);
}

std::vector<std::string> functions(const Report& r) {
  std::vector<std::string> out;
  for (const auto& f : r.frames) out.push_back(f.function);
  return out;
}

// A message followed by the WARN, BUG or panic_on_warn panic whose trace is
// its stack: the trace under the next header is lent to it, said in an
// anomaly, down a chain of such headers.
TEST(Boundaries, AMessageTakesTheTraceOfTheWarningThatFollows) {
  auto reports = ktriage::parse_log(
      "[   20.1][  T367] BUG: Dentry ffff888119d8a000{i=0,n=.index}  still in use (1) [unmount of ramfs ramfs]\n"
      "[   20.2][  T367] WARNING: CPU: 0 PID: 367 at fs/dcache.c:1616 umount_check+0x18d/0x1d0\n"
      "[   20.3][  T367] Kernel panic - not syncing: panic_on_warn set ...\n"
      "[   20.4][  T367] CPU: 0 PID: 367 Comm: syz-executor388 Not tainted 5.10.75 #0\n"
      "[   20.5][  T367] Call Trace:\n"
      "[   20.6][  T367]  d_walk+0x309/0x540\n"
      "[   20.7][  T367]  shrink_dcache_for_umount+0x8e/0x1b0\n");
  ASSERT_GE(reports.size(), 2u);
  EXPECT_EQ(reports[0].title, "BUG: Dentry still in use in unmount");
  EXPECT_EQ(functions(reports[0]), (std::vector<std::string>{"d_walk", "shrink_dcache_for_umount"}));
  ASSERT_EQ(reports[0].anomalies.size(), 1u);
  EXPECT_EQ(reports[0].anomalies[0].line, 2u);
  EXPECT_EQ(functions(reports[1]), functions(reports[0]));
}

TEST(Boundaries, NoTraceIsLentAcrossTasksOrToAFaultThatFollows) {
  // Another task's WARNING.
  auto reports = ktriage::parse_log(
      "BUG: scheduling while atomic: kworker/0:1/31/0x00000002\n"
      "WARNING: CPU: 1 PID: 99 at net/core/dev.c:100 dev_watchdog+0x254/0x260\n"
      "CPU: 1 PID: 99 Comm: ksoftirqd/1 Not tainted 6.1.0 #1\n"
      "Call Trace:\n"
      " dev_watchdog+0x254/0x260\n"
      " call_timer_fn+0x1/0x2\n");
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_TRUE(reports[0].frames.empty());
  // The founding case's shape: an oops in another code path, not the
  // message's own stack dump.
  reports = ktriage::parse_log(
      "BUG: scheduling while atomic:qemu-system-x86/27122/0xffff8811\n"
      "BUG: unable to handle kernel paging request at 00000000dd7ed3a8\n"
      "IP: [<ffffffff81058e5d>] task_rq_lock+0x4d/0xa0\n"
      "Call Trace:\n"
      " [<ffffffff81058e5d>] ? task_rq_lock+0x4d/0xa0\n"
      " [<ffffffff8106195c>] ? try_to_wake_up+0x3c/0x3e0\n");
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_TRUE(reports[0].frames.empty());
  EXPECT_TRUE(reports[0].anomalies.empty());
}

// A line without any console prefix among lines with caller ids is no
// kernel line (syzkaller's executor): it ends no report (syzkaller 726).
TEST(Boundaries, AnUnprefixedHeaderDoesNotEndACallerIdReport) {
  auto reports = ktriage::parse_log(
      "[  360.5][ T8978] BUG: Bad page state in process syz.3.584  pfn:7071f\n"
      "SYZFAIL: failed to recv rpc\n"
      "[  360.8][ T8978] Call Trace:\n"
      "[  360.8][ T8978]  dump_stack_lvl+0x241/0x360\n"
      "[  360.8][ T8978]  bad_page+0x18e/0x200\n");
  ASSERT_GE(reports.size(), 1u);
  EXPECT_EQ(functions(reports[0]), (std::vector<std::string>{"dump_stack_lvl", "bad_page"}));
}

TEST(Boundaries, UserSpaceWarningIsNotAReport) {
  auto reports = ktriage::parse_log(
      "Nov  9 10:19:35 ohm openvpn[1118]: WARNING: Make sure you understand the semantics\n");
  EXPECT_TRUE(reports.empty());
}

TEST(Seed, TwoReports) {
  namespace fs = std::filesystem;
  for (const char* name : {"xfs-panic.log", "xfs-stack-overflow-article.zh.txt"}) {
    fs::path p = fs::path(KTRIAGE_SHARED_DIR) / "seed" / name;
    if (!fs::exists(p)) GTEST_SKIP() << "no " << p;
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto reports = ktriage::parse_log(ss.str());
    ASSERT_EQ(reports.size(), 2u) << name;
    EXPECT_EQ(reports[0].kind, CrashKind::scheduling_while_atomic);
    EXPECT_EQ(reports[0].header.rfind("BUG: scheduling while atomic:", 0), 0u) << reports[0].header;
    EXPECT_EQ(reports[1].kind, CrashKind::oops_paging);
    EXPECT_EQ(reports[1].header, "BUG: unable to handle kernel paging request at 00000000dd7ed3a8");
    EXPECT_EQ(reports[1].title, "BUG: unable to handle kernel paging request in task_rq_lock");
  }
}

TEST(Hostile, GarbageAndNulsDoNotCrash) {
  std::mt19937 rng(42);
  std::string junk(1 << 20, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  // Sprinkle headers into the garbage so the slow paths run too.
  for (size_t at = 1000; at + 64 < junk.size(); at += 50000) junk.replace(at, 5, "\nBUG:");
  auto reports = parse_chunked(junk, 4096);
  for (const Report& r : reports) EXPECT_LE(r.title.size(), 120u);
}

TEST(Hostile, EndlessLineIsCut) {
  std::string line(50 << 20, 'A');
  line.replace(100, 4, "BUG:");
  ktriage::LogParser parser;
  for (size_t i = 0; i < line.size(); i += 1 << 20) parser.feed(std::string_view(line).substr(i, 1 << 20));
  parser.finish();
  auto reports = parser.take_reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_LE(reports[0].header.size(), ktriage::ParseOptions{}.max_line_bytes);
  EXPECT_EQ(reports[0].span.end, line.size());
}

TEST(Hostile, EndlessTraceIsClosedAndFlagged) {
  std::string log = "BUG: unable to handle kernel paging request at 0000000000001000\nCall Trace:\n";
  for (int i = 0; i < 100000; ++i) log += " [<ffffffff81000000>] some_function+0x10/0x20\n";
  auto reports = parse_chunked(log, 1 << 16);
  ASSERT_GE(reports.size(), 1u);
  EXPECT_TRUE(reports[0].corrupted);
  EXPECT_LE(reports[0].span.last_line - reports[0].span.first_line,
            ktriage::ParseOptions{}.max_report_lines);
}

TEST(Hostile, ReportCutMidFrame) {
  auto reports = ktriage::parse_log("general protection fault: 0000 [#1] SMP\nRIP: 0010:fo");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].corrupted);
}

}  // namespace

namespace {

TEST(Boundaries, SyzkallerReportIsListedFirst) {
  // An allocation-failure warning (a distro-era extra) before a KASAN report:
  // both are listed, the one syzkaller would report first.
  auto reports = ktriage::parse_log(
      "[    1.0] syz-executor: page allocation failure: order:0, mode:0x24000c2\n"
      "[    1.1] Call Trace:\n"
      "[    1.2]  warn_alloc+0x1/0x2\n"
      "[    2.0] BUG: KASAN: use-after-free in foo+0x1/0x2\n"
      "[    2.1] Read of size 8 at addr ffff8880129d6be0 by task syz/123\n"
      "[    2.2] Call Trace:\n"
      "[    2.3]  foo+0x1/0x2\n");
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].title, "KASAN: use-after-free Read in foo");
  EXPECT_EQ(reports[1].kind, ktriage::CrashKind::other);
}

}  // namespace

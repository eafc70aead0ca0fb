// The founding case: the XFS stack overflow on a 2.6.32 x86_64 kernel.
// First on reports built by hand the way the parser reads the excerpt, then
// through the real parser (ktriage::parse_log) on shared/seed/xfs-panic.log.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ktriage/diagnose.h"
#include "ktriage/logparse.h"

namespace ktriage {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool mentions(const Finding& f, std::string_view text) {
  for (const Evidence& e : f.evidence)
    if (e.text.find(text) != std::string::npos) return true;
  return false;
}

std::string all_evidence(const Finding& f) {
  std::string s;
  for (const Evidence& e : f.evidence) s += "  [" + e.what + "] " + e.text + "\n";
  return s;
}

// The two reports of examples/xfs-panic.log, as the parser should fill them.
std::vector<Report> seed_reports(std::string_view text) {
  Report atomic;
  atomic.kind = CrashKind::scheduling_while_atomic;
  atomic.header = "BUG: scheduling while atomic:qemu-system-x86/27122/0xffff8811";
  atomic.title = "BUG: scheduling while atomic";
  atomic.comm = "qemu-system-x86";
  atomic.pid = 27122;
  atomic.preempt_count = 0xffff8811;
  atomic.span = {text.find("BUG: scheduling"), text.find("BUG: unable"), 2, 2};

  Report oops;
  oops.kind = CrashKind::oops_paging;
  oops.header = "BUG: unable to handle kernel paging request at 00000000dd7ed3a8";
  oops.title = "BUG: unable to handle kernel paging request in task_rq_lock";
  oops.fault_address = 0xdd7ed3a8;
  oops.oops_code = "0000 [#1] SMP";
  // As published: a 15-digit IP address (a typo the analyses must survive).
  oops.ip = Symbol{0xfffffff81058e5dull, "task_rq_lock", 0x4d, 0xa8, "", ""};
  struct F { uint64_t a; const char* fn; uint64_t off, size; const char* mod; };
  const F frames[] = {
      {0xffffffff81058e5d, "task_rq_lock", 0x4d, 0xa0, ""},
      {0xffffffff8106195c, "try_to_wakeup", 0x3c, 0x3e0, ""},
      {0xffffffff81061d55, "wake_up_process", 0x15, 0x20, ""},
      {0xffffffff810a0f62, "__up", 0x2a, 0x40, ""},
      {0xffffffffa03394c2, "xfs_buf_unlock", 0x32, 0x90, "xfs"},
      {0xffffffffa030297f, "xfs_buf_item_unpin", 0xcf, 0x1a0, "xfs"},
      {0xffffffffa032f18c, "xfs_trans_committed_bulk", 0x29c, 0x2b0, "xfs"},
      {0xffffffff81069f15, "enqueue_entity", 0x125, 0x450, ""},
      {0xffffffff81060aa3, "perf_event_task_sched_out", 0x33, 0x70, ""},
      {0xffffffff81069973, "dequeue_entity", 0x113, 0x2e0, ""},
      {0xffffffffa032326d, "xlog_cli_committed", 0x3d, 0x100, "xfs"},
      {0xffffffffa031f79d, "xlog_state_do_callback", 0x15d, 0x2b0, "xfs"},
      {0xffffffffa031f96e, "xlog_state_done_syncing", 0x7e, 0xb0, "xfs"},
      {0xffffffffa03200e9, "xlog_iodone", 0x59, 0xb0, "xfs"},
      {0xffffffffa033ae50, "xfs_buf_iodone_work", 0x0, 0x50, "xfs"},
      {0xffffffffa033ae76, "xfs_buf_iodone_work", 0x26, 0x50, "xfs"},
  };
  uint32_t line = 9;
  for (const F& f : frames) {
    Frame fr;
    fr.address = f.a;
    fr.function = f.fn;
    fr.offset = f.off;
    fr.size = f.size;
    fr.module = f.mod;
    fr.reliable = false;
    fr.line = line++;
    oops.frames.push_back(fr);
  }
  oops.span = {text.find("BUG: unable"), text.size(), 3, 24};
  // What the parser marks in the oops' lines: the 2.6-era format.
  oops.marks.bracketed_ip = 4;
  oops.marks.last_sysfs_file = 7;
  oops.marks.x86_64_text = true;
  return {atomic, oops};
}

std::string seed_text() {
  return read(std::string(KTRIAGE_SOURCE_DIR) + "/examples/xfs-panic.log");
}

void expect_seed_headline(const std::vector<Finding>& fs, const std::vector<Report>& reports) {
  ASSERT_FALSE(fs.empty());
  const Finding& top = fs[0];
  EXPECT_EQ(top.title, "kernel stack overflow corrupted thread_info");
  EXPECT_EQ(top.cause, "stack_overflow");
  EXPECT_GE(top.confidence, 0.8) << top.confidence_reason;
  EXPECT_TRUE(mentions(top, "0xffff8811")) << all_evidence(top);
  EXPECT_TRUE(mentions(top, "pointer-like")) << all_evidence(top);
  EXPECT_TRUE(mentions(top, "user-space address 0xdd7ed3a8 in task_rq_lock")) << all_evidence(top);
  EXPECT_TRUE(mentions(top, "all 16 frames")) << all_evidence(top);
  EXPECT_TRUE(mentions(top, "deep xfs")) << all_evidence(top);
  EXPECT_TRUE(mentions(top, "xlog_iodone")) << all_evidence(top);
  EXPECT_TRUE(mentions(top, "8 KiB")) << all_evidence(top);
  EXPECT_TRUE(mentions(top, "last sysfs file")) << all_evidence(top);
  EXPECT_TRUE(mentions(top, "2.6")) << all_evidence(top);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(top.reports, (std::vector<size_t>{0, 1}));
  bool linked = false;
  for (const Finding& f : fs) linked |= f.id == "context.linked_reports";
  EXPECT_TRUE(linked);
}

TEST(AnalysisSeed, HandBuiltReports) {
  std::string text = seed_text();
  if (text.empty()) GTEST_SKIP() << "examples/xfs-panic.log not found";
  std::vector<Report> reports = seed_reports(text);
  std::vector<Finding> fs = diagnose(reports);
  for (const Finding& f : fs) std::printf("%.2f %-34s %-22s %s\n", f.confidence, f.id.c_str(), f.cause.c_str(), f.title.c_str());
  if (!fs.empty()) std::printf("%s", all_evidence(fs[0]).c_str());
  expect_seed_headline(fs, reports);
  // The scheduling-while-atomic report is a symptom, not the cause.
  for (const Finding& f : fs)
    if (f.cause == "scheduling_while_atomic") {
      EXPECT_LT(f.confidence, 0.5);
    }
}

// Without the marks that date the format, the pointer-like preempt count and
// the user-space fault still make the overflow the headline.
TEST(AnalysisSeed, HandBuiltReportsWithoutFormatMarks) {
  std::string text = seed_text();
  if (text.empty()) GTEST_SKIP() << "examples/xfs-panic.log not found";
  std::vector<Report> reports = seed_reports(text);
  for (Report& r : reports) r.marks = {};
  std::vector<Finding> fs = diagnose(reports);
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "stack_overflow");
  EXPECT_EQ(fs[0].title, "kernel stack overflow corrupted thread_info");
}

TEST(AnalysisSeed, KernelVersionDecides) {
  std::string text = seed_text();
  if (text.empty()) GTEST_SKIP() << "examples/xfs-panic.log not found";
  DiagnoseOptions o;
  o.kernel_version = "2.6.32-431.el6.x86_64";
  auto fs = diagnose(seed_reports(text), o);
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "stack_overflow");
  EXPECT_TRUE(mentions(fs[0], "8 KiB"));
  o.kernel_version = "2.6.32-573.el6.x86_64";
  fs = diagnose(seed_reports(text), o);
  EXPECT_TRUE(mentions(fs[0], "16 KiB"));
}

TEST(AnalysisSeed, ThroughTheParser) {
  std::string text = read(std::string(KTRIAGE_SHARED_DIR) + "/seed/xfs-panic.log");
  if (text.empty()) GTEST_SKIP() << "shared/seed/xfs-panic.log not found";
  std::vector<Report> reports = parse_log(text);
  bool classified = false;
  for (const Report& r : reports) classified |= r.kind != CrashKind::other;
  if (!classified) GTEST_SKIP() << "the log parser does not classify reports yet (placeholder parser)";
  std::vector<Finding> fs = diagnose(reports);
  for (const Finding& f : fs) std::printf("%.2f %-34s %-22s %s\n", f.confidence, f.id.c_str(), f.cause.c_str(), f.title.c_str());
  expect_seed_headline(fs, reports);
}

// The founding case's boot (RHEL 6, 2.6.32) and a Debian 6.1 boot in one log,
// in either order: each boot's reports are reasoned about with its own
// kernel, and the evidence numbers reports as the log does.
TEST(AnalysisSeed, EachBootIsDiagnosedWithItsOwnKernel) {
  const std::string log = read(KTRIAGE_SOURCE_DIR "/tests/golden/data/two-boots.log");
  const size_t debian = log.find("[    0.000000] Linux version 6.1.0");
  ASSERT_NE(debian, std::string::npos);
  const std::string rhel_first = log, debian_first = log.substr(debian) + log.substr(0, debian);
  for (const std::string& text : {rhel_first, debian_first}) {
    std::vector<Report> reports = parse_log(text);
    ASSERT_EQ(reports.size(), 4u);
    std::vector<size_t> seed;
    for (size_t i = 0; i < reports.size(); ++i)
      if (reports[i].kernel_release.starts_with("2.6.32")) seed.push_back(i);
    ASSERT_EQ(seed.size(), 2u);
    const std::vector<Finding> findings = diagnose(reports);
    const Finding* overflow = nullptr;
    for (const Finding& f : findings)
      if (f.reports.size() >= 2 && f.reports[0] == seed[0] && f.cause != "other" && !overflow) overflow = &f;
    ASSERT_NE(overflow, nullptr);
    EXPECT_EQ(overflow->cause, "stack_overflow") << all_evidence(*overflow);
    EXPECT_TRUE(mentions(*overflow, "x86 keeps preempt_count in thread_info before 3.13")) << all_evidence(*overflow);
    EXPECT_TRUE(mentions(*overflow, "report #" + std::to_string(seed[1] + 1))) << all_evidence(*overflow);
    for (const Evidence& e : overflow->evidence) {
      if (!e.report) continue;
      EXPECT_TRUE(*e.report == seed[0] || *e.report == seed[1]) << e.text;
    }
  }
}

}  // namespace
}  // namespace ktriage

// The stack-overflow analysis with and without a per-frame stack estimate
// (DiagnoseOptions::details): a near-full estimate strengthens the overflow
// finding, a shallow one with a plausible preempt count creates none.
#include <gtest/gtest.h>

#include "ktriage/diagnose.h"

namespace ktriage {
namespace {

Frame frame(std::string fn) {
  Frame f;
  f.function = std::move(fn);
  f.offset = 0x10;
  f.size = 0x40;
  f.context = "task";
  return f;
}

Report report(CrashKind kind, std::string header, std::string release) {
  Report r;
  r.kind = kind;
  r.header = header;
  r.title = header;
  r.arch = Arch::x86_64;
  r.kernel_release = std::move(release);
  r.span.first_line = 10;
  r.span.last_line = 40;
  return r;
}

// An estimate of `frames` frames of `bytes` each, `unmeasured` more not measured.
StackUsage usage(size_t frames, uint64_t bytes, size_t unmeasured = 0) {
  StackUsage u;
  u.arch = Arch::x86_64;
  u.stack = "task";
  for (size_t i = 0; i < frames + unmeasured; ++i) {
    FrameStackUsage f;
    f.index = i;
    f.function = i == 0 ? "xfs_bmapi_allocate" : "frame" + std::to_string(i);
    if (i < frames) {
      f.bytes = i == 0 ? bytes * 2 : bytes;
      f.method = "prologue";
      u.total += f.bytes;
      ++u.measured;
    } else {
      f.note = "not symbolized";
      ++u.unmeasured;
    }
    u.frames.push_back(f);
  }
  return u;
}

const Finding* find_cause(const std::vector<Finding>& fs, std::string_view cause) {
  for (const Finding& f : fs)
    if (f.cause == cause) return &f;
  return nullptr;
}

bool mentions(const Finding& f, std::string_view text) {
  for (const Evidence& e : f.evidence)
    if (e.text.find(text) != std::string::npos) return true;
  return false;
}

Report garbage_preempt_count_on_old_kernel() {
  Report r = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: qemu/27122/0xffff8811",
                    "2.6.32-431.el6.x86_64");
  r.preempt_count = 0xffff8811;
  for (int i = 0; i < 31; ++i) r.frames.push_back(frame("f" + std::to_string(i)));
  return r;
}

TEST(AnalysisStackUsage, NearFullEstimateStrengthensTheOverflowFinding) {
  Report r = garbage_preempt_count_on_old_kernel();
  std::vector<Finding> without = diagnose({r});
  const Finding* before = find_cause(without, "stack_overflow");
  ASSERT_NE(before, nullptr);
  EXPECT_TRUE(mentions(*before, "no vmlinux given"));

  std::vector<ReportDetails> details(1);
  details[0].stack_usage = usage(28, 264, 3);  // ~7.5 KiB of 8 KiB, 28 of 31 measured
  DiagnoseOptions options;
  options.details = &details;
  std::vector<Finding> with = diagnose({r}, options);
  ASSERT_FALSE(with.empty());
  EXPECT_EQ(with[0].cause, "stack_overflow");
  EXPECT_GT(with[0].confidence, before->confidence);
  EXPECT_TRUE(mentions(with[0], "of the 8 KiB stack"));
  EXPECT_TRUE(mentions(with[0], "28 of 31 frames measured"));
  EXPECT_TRUE(mentions(with[0], "xfs_bmapi_allocate: 0x210 bytes"));
  EXPECT_FALSE(mentions(with[0], "no vmlinux given"));
}

TEST(AnalysisStackUsage, ShallowEstimateWeakensButDoesNotHideTheOverflow) {
  Report r = garbage_preempt_count_on_old_kernel();
  std::vector<Finding> without = diagnose({r});
  ASSERT_NE(find_cause(without, "stack_overflow"), nullptr);
  double before = find_cause(without, "stack_overflow")->confidence;
  std::vector<ReportDetails> details(1);
  details[0].stack_usage = usage(10, 64);  // < 1 KiB
  DiagnoseOptions options;
  options.details = &details;
  std::vector<Finding> fs = diagnose({r}, options);
  const Finding* f = find_cause(fs, "stack_overflow");
  ASSERT_NE(f, nullptr);
  EXPECT_LT(f->confidence, before);
  EXPECT_TRUE(mentions(*f, "against an overflow"));
}

TEST(AnalysisStackUsage, ShallowEstimateAndPlausiblePreemptCountGiveNoOverflow) {
  Report r = report(CrashKind::scheduling_while_atomic, "BUG: scheduling while atomic: sh/96/0x00000002",
                    "6.1.0-56-cloud-amd64");
  r.preempt_count = 0x2;
  for (int i = 0; i < 12; ++i) r.frames.push_back(frame("f" + std::to_string(i)));
  std::vector<ReportDetails> details(1);
  details[0].stack_usage = usage(12, 64);
  DiagnoseOptions options;
  options.details = &details;
  std::vector<Finding> fs = diagnose({r}, options);
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "scheduling_while_atomic");
  for (const Finding& f : fs) EXPECT_NE(f.cause, "stack_overflow") << f.id;
}

TEST(AnalysisStackUsage, NearFullTraceAloneIsAFindingButNotTheHeadline) {
  Report r = report(CrashKind::null_deref, "BUG: kernel NULL pointer dereference, address: 0000000000000018",
                    "6.1.0-56-cloud-amd64");
  r.fault_address = 0x18;
  r.error_code = PageFaultError{0};
  for (int i = 0; i < 40; ++i) r.frames.push_back(frame("f" + std::to_string(i)));
  std::vector<ReportDetails> details(1);
  details[0].stack_usage = usage(40, 400);  // ~15.6 KiB of 16 KiB
  DiagnoseOptions options;
  options.details = &details;
  std::vector<Finding> fs = diagnose({r}, options);
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "null_deref");
  const Finding* depth = find_cause(fs, "stack_overflow");
  ASSERT_NE(depth, nullptr);
  EXPECT_EQ(depth->id, "stack_overflow.depth");
  EXPECT_TRUE(mentions(*depth, "of the 16 KiB stack"));

  // The same trace with most frames unmeasured says nothing.
  details[0].stack_usage = usage(10, 1500, 30);
  for (const Finding& f : diagnose({r}, options)) EXPECT_NE(f.cause, "stack_overflow") << f.id;
}

TEST(AnalysisStackUsage, DirectOverflowCitesTheBiggestFrames) {
  Report r = report(CrashKind::stack_overflow, "BUG: TASK stack guard page was hit at 00000000cae8473d",
                    "6.1.0-56-cloud-amd64");
  for (int i = 0; i < 8; ++i) r.frames.push_back(frame("f" + std::to_string(i)));
  std::vector<ReportDetails> details(1);
  details[0].stack_usage = usage(8, 2000);
  DiagnoseOptions options;
  options.details = &details;
  std::vector<Finding> fs = diagnose({r}, options);
  ASSERT_FALSE(fs.empty());
  EXPECT_EQ(fs[0].cause, "stack_overflow");
  EXPECT_TRUE(mentions(fs[0], "biggest frames: xfs_bmapi_allocate: 0xfa0 bytes"));
}

TEST(AnalysisStackUsage, StackLimitFollowsTheKernel) {
  Report old = garbage_preempt_count_on_old_kernel();
  EXPECT_EQ(stack_limit({old}, 0).thread_size, 8192u);
  Report modern = report(CrashKind::warning, "WARNING: CPU: 0 PID: 1 at x.c:1", "6.1.0-56-cloud-amd64");
  EXPECT_EQ(stack_limit({modern}, 0).thread_size, 16384u);
  EXPECT_FALSE(stack_limit({modern}, 0).assumption.empty());
  EXPECT_FALSE(stack_limit({modern}, 3).thread_size);
  // thread_info at the stack bottom before THREAD_INFO_IN_TASK (x86: 4.9).
  EXPECT_EQ(stack_limit({old}, 0).thread_info_on_stack, std::optional<bool>(true));
  EXPECT_EQ(stack_limit({modern}, 0).thread_info_on_stack, std::optional<bool>(false));
  EXPECT_FALSE(stack_limit({old}, 0).thread_info_reason.empty());
}

}  // namespace
}  // namespace ktriage

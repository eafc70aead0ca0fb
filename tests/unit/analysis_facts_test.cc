// Table-driven tests of the small facts the analyses reason with.
#include <gtest/gtest.h>

#include "analysis/context.h"

namespace ktriage::analysis {
namespace {

TEST(AnalysisFacts, DecodesPreemptCounts) {
  PreemptCount seed = decode_preempt_count(0xffff8811);
  EXPECT_FALSE(seed.plausible);
  EXPECT_TRUE(seed.pointer_like);
  EXPECT_NE(seed.meaning.find("pointer-like"), std::string::npos);

  PreemptCount spin = decode_preempt_count(0x2);
  EXPECT_TRUE(spin.plausible);
  EXPECT_FALSE(spin.pointer_like);
  EXPECT_NE(spin.meaning.find("2 time"), std::string::npos);

  EXPECT_TRUE(decode_preempt_count(0x0).plausible);
  EXPECT_TRUE(decode_preempt_count(0x10201).plausible);      // hardirq + softirq + depth 1
  EXPECT_TRUE(decode_preempt_count(0x10000001).plausible);   // old PREEMPT_ACTIVE
  EXPECT_FALSE(decode_preempt_count(0x4c3a0000).plausible);  // huge
  PreemptCount under = decode_preempt_count(0xffffffff);
  EXPECT_TRUE(under.underflow);
  EXPECT_FALSE(under.pointer_like);
}

}  // namespace
}  // namespace ktriage::analysis
